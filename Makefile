# The two commands a fresh machine needs: `make dev` runs the system locally, `make test` runs all tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STACK  ?= dev
PORT   ?= 3000

.PHONY: dev test lint bench bench-smoke clean

$(STAMP): requirements.txt requirements-layer.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

dev: $(STAMP)  ## run the whole stack on MiniStack at http://127.0.0.1:$(PORT)
	PORT=$(PORT) $(BIN)/python -m localcloud up --stack $(STACK) --port $(PORT) $(ARGS)

test: lint  ## lint, then every test suite: infra graph, handlers, e2e, reliability, bench smoke
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff (lint + format) and mypy, as configured in pyproject.toml
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)  ## full benchmarks -> bench/results.json and bench/RESULTS.md (about 2 minutes)
	$(BIN)/python -m bench

bench-smoke: $(STAMP)  ## the benchmarks at tiny sizes, into build/ (what the bench test suite runs)
	$(BIN)/python -m bench --smoke --out build/bench/results.json

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache build
