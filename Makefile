# The two commands a fresh machine needs: `make dev` runs the system locally, `make test` runs all tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STACK  ?= dev
PORT   ?= 3000
# make test-stress: stress-ng's own deadline, only a safety net (the target stops it when pytest ends).
STRESS_TIMEOUT ?= 3600

.PHONY: help dev test test-fast test-stress lint bench bench-smoke schemas clean

# uv installs the same pins as pip, several times faster, from its cache once warm. It comes from PyPI at this
# version, fetched once per machine into UV_HOME (a user cache, like uv's own and pip's) by the system's pip, so a
# fresh clone creates .venv without pip (ensurepip alone took 30 s on a loaded 2-core machine) and copies uv in.
# Where it cannot be had, the venv gets pip and pip does the install.
UV_VERSION ?= 0.13.8
UV_HOME    ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/ecommerce-uv/$(UV_VERSION)
# `make dev` installs only what the local cloud runs (requirements-local.txt); the test tools come with the first
# target that needs them (requirements-dev.txt: make test, lint, ...).
LOCAL_STAMP := $(VENV)/.installed-local
# Progress lines: seconds since the step began, so a slow first run says where it spends them.
STEP = t0=$$(date +%s); step() { echo "make: [$$(( $$(date +%s) - t0 )) s] $$*"; }

$(LOCAL_STAMP): requirements.txt requirements-layer.txt requirements-local.txt
	@$(STEP); \
	step "creating $(VENV) and installing requirements-local.txt (once; make clean starts over)"; \
	$(PYTHON) -m venv --without-pip $(VENV) || exit 1; \
	if [ ! -x $(UV_HOME)/bin/uv ] && $(PYTHON) -m pip --version >/dev/null 2>&1; then \
		step "fetching uv $(UV_VERSION) from PyPI into $(UV_HOME) (once per machine)"; \
		partial=$(UV_HOME).partial-$$$$; \
		$(PYTHON) -m pip install --quiet --disable-pip-version-check --target $$partial uv==$(UV_VERSION) \
			&& { mv -T $$partial $(UV_HOME) 2>/dev/null || true; }; rm -rf $$partial; \
	fi; \
	if [ -x $(UV_HOME)/bin/uv ] && cp $(UV_HOME)/bin/uv $(BIN)/uv; then \
		$(BIN)/uv pip install --quiet --python $(BIN)/python "$$(grep -o '^pip==[^ ]*' requirements-local.txt)" || exit 1; \
		step "building the functions' dependency layers in the background (log: $(VENV)/prebuild.log)"; \
		$(BIN)/python -m localcloud.prebuild --stack $(STACK) >$(VENV)/prebuild.log 2>&1 & prebuild=$$!; \
		step "installing requirements-local.txt with uv $(UV_VERSION)"; \
		$(BIN)/uv pip install --python $(BIN)/python -r requirements-local.txt; \
	else \
		step "uv $(UV_VERSION) unavailable: installing with pip (a minute or two)"; \
		$(BIN)/python -m ensurepip --upgrade >/dev/null || exit 1; \
		$(BIN)/python -m localcloud.prebuild --stack $(STACK) >$(VENV)/prebuild.log 2>&1 & prebuild=$$!; \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-local.txt; \
	fi; status=$$?; \
	step "waiting for the layers"; \
	wait $$prebuild || echo "prebuilding the layers failed (see $(VENV)/prebuild.log); they are built when needed"; \
	sed 's/^/make:   /' $(VENV)/prebuild.log; \
	step "done"; \
	exit $$status
	@touch $(LOCAL_STAMP)

$(STAMP): $(LOCAL_STAMP) requirements-dev.txt
	@$(STEP); step "installing the test tools (requirements-dev.txt)"; \
	if [ -x $(BIN)/uv ]; then $(BIN)/uv pip install --python $(BIN)/python -r requirements-dev.txt; \
	else $(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt; fi && step "done"
	@touch $(STAMP)

dev: $(LOCAL_STAMP)  ## run the whole stack on MiniStack at http://127.0.0.1:$(PORT) (ARGS=--persist keeps its data)
	PORT=$(PORT) $(BIN)/python -m localcloud up --stack $(STACK) --port $(PORT) $(ARGS)

test: lint  ## lint, then every test suite: unit, infra graph, handlers, e2e, reliability, bench smoke
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The fast tier loads no plugin it has no use for: schemathesis' pytest plugin alone is about half its start-up.
test-fast: $(STAMP)  ## pure logic in this process (tests/unit: pricing, cursors, settings, events, errors), no emulator
	$(BIN)/python -m pytest tests/unit -q -p no:schemathesis -p no:anyio $(PYTEST_ARGS)

test-stress: $(STAMP)  ## the e2e and reliability suites while stress-ng keeps every core busy (apt-get install stress-ng)
	@command -v stress-ng >/dev/null 2>&1 || { echo "make test-stress needs stress-ng: apt-get install stress-ng" >&2; exit 1; }
	@stress-ng --cpu $$(nproc) --timeout $(STRESS_TIMEOUT) --quiet & stress=$$!; \
	trap 'kill $$stress 2>/dev/null; wait $$stress 2>/dev/null' EXIT; trap 'exit 130' INT; trap 'exit 143' TERM; \
	echo "stress-ng: $$(nproc) CPU workers (pid $$stress), stopped when pytest ends"; \
	$(BIN)/python -m pytest -m "e2e or reliability" $(PYTEST_ARGS); status=$$?; \
	kill -0 $$stress 2>/dev/null || echo "warning: stress-ng ended before pytest (STRESS_TIMEOUT=$(STRESS_TIMEOUT) s)" >&2; \
	exit $$status

lint: $(STAMP)  ## ruff (lint + format) and mypy, as configured in pyproject.toml
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)  ## full benchmarks -> bench/results.json and bench/RESULTS.md (about 2 minutes)
	$(BIN)/python -m bench

bench-smoke: $(STAMP)  ## the benchmarks at tiny sizes, into build/ (what the bench test suite runs)
	$(BIN)/python -m bench --smoke --out build/bench/results.json

schemas: $(STAMP)  ## regenerate schemas/checkout-basket.v1.json from the CheckoutBasket model (a test compares them)
	$(BIN)/python -m handlers.shared.events --write

help:  ## list the targets
	@awk -F ':.*## ' '/^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

clean:  ## remove .venv, the tools' caches and build/
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache build
