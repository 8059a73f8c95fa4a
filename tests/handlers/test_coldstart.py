"""A service's cold start (handlers.shared.coldstart) and its SnapStart hooks (handlers.shared.snapstart).

Each test imports a service in a fresh interpreter, as Lambda does: what the import pauses, freezes and registers
is per process. No emulator: building the clients opens no connection.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.handlers

PROJECT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.parent.name for p in (PROJECT / "handlers").glob("*/app.py"))
ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "PRODUCT_TABLE_NAME": "products",
    "BASKET_TABLE_NAME": "baskets",
    "ORDER_TABLE_NAME": "orders",
    "EVENT_BUS_NAME": "bus",
}

# Records what the service registers, as the runtime's module would, and lets the test run it.
FAKE_RUNTIME_HOOKS = """
before, after = [], []
def register_before_snapshot(func, *args, **kwargs):
    before.append((func, args, kwargs))
    return func
def register_after_restore(func, *args, **kwargs):
    after.append((func, args, kwargs))
    return func
"""


def _run(script: str, *, env: dict[str, str] | None = None, pythonpath: Path | None = None) -> dict:
    # Not this process's settings: the handler tests' fixtures set the functions' variables in it.
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_")) and k not in ENV}
    environment.update(ENV if env is None else env)
    environment["PYTHONPATH"] = os.pathsep.join(str(p) for p in (pythonpath, PROJECT) if p is not None)
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, f"script failed:\n{script}\n{completed.stderr[-3000:]}"
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_every_service_package_starts_with_the_one_cold_start_construct():
    # Given every service (a package with an app module), When its package __init__ is read
    assert SERVICES, "no service found under handlers/"
    for service in SERVICES:
        tree = ast.parse((PROJECT / "handlers" / service / "__init__.py").read_text())
        calls = [ast.unparse(node.value) for node in tree.body if isinstance(node, ast.Expr)]
        # Then it calls coldstart.service(__name__), which pauses and resumes in one place
        assert "coldstart.service(__name__)" in calls, f"handlers/{service}/__init__.py calls {calls}"


@pytest.mark.parametrize("service", SERVICES)
def test_importing_a_service_collects_nothing_then_freezes_and_resumes(service):
    # Given a fresh interpreter counting the cycle collector's runs
    script = f"""
import gc, json
runs = []
gc.callbacks.append(lambda phase, info: runs.append(info["generation"]) if phase == "start" else None)
# When it imports the service's app module, as Lambda's handler string makes it (its package first)
import handlers.{service}
before = len(runs)
import handlers.{service}.app
during = len(runs) - before
gc.collect()
print(json.dumps({{"during": during, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count(), "after": len(runs)}}))
"""
    seen = _run(script)
    # Then the collector never ran during the import, what it built is frozen, and collection is on again
    assert seen["during"] == 0, f"handlers.{service}.app: {seen['during']} collections during its import"
    assert seen["frozen"] > 10_000, f"handlers.{service}.app froze only {seen['frozen']} objects"
    assert seen["enabled"] and seen["after"] > 0, f"handlers.{service}.app left the collector off: {seen}"


def test_a_failed_import_still_resumes_collection():
    # Given a deployment missing the table's name, When the product service is imported
    script = """
import gc, json
try:
    import handlers.product.app
    failed = False
except Exception:
    failed = True
print(json.dumps({"failed": failed, "enabled": gc.isenabled()}))
"""
    seen = _run(script, env={k: v for k, v in ENV.items() if k != "PRODUCT_TABLE_NAME"})
    # Then the import fails, and the collector is on again all the same
    assert seen == {"failed": True, "enabled": True}, f"import of handlers.product.app without its table: {seen}"


def test_importing_models_only_pauses_nothing():
    # Given a tool that needs a service's models only (a test, the schema generator)
    seen = _run("""
import gc, json, sys
import handlers.basket.models
app = "handlers.basket.app" in sys.modules
print(json.dumps({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count(), "app": app}))
""")
    # Then neither the collector nor the app module is touched
    assert seen == {"enabled": True, "frozen": 0, "app": False}, f"import of handlers.basket.models: {seen}"


def test_without_the_snapstart_runtime_nothing_is_registered():
    # Given this interpreter, which is not Lambda's runtime (no snapshot_restore_py), When a service is imported
    seen = _run("""
import json
import handlers.basket.app
from handlers.shared import snapstart
print(json.dumps({"installed": snapstart.install()}))
""")
    # Then there is nothing to register, and the import works as on any cold start
    assert seen == {"installed": False}, f"SnapStart hooks outside the runtime: {seen}"


@pytest.mark.parametrize("service", SERVICES)
def test_snapstart_hooks_close_connections_before_the_snapshot_and_reseed_after_restore(service, tmp_path):
    # Given the runtime's hook module, and a service imported as Lambda's SnapStart init does
    (tmp_path / "snapshot_restore_py.py").write_text(FAKE_RUNTIME_HOOKS)
    script = f"""
import json, random
import snapshot_restore_py as runtime
import handlers.{service}.app as service
from handlers.shared import aws
registered = (len(runtime.before), len(runtime.after))
routes = service.app._static_routes + service.app._dynamic_routes
unprimed = sum(route._dependant is None for route in routes)
closed = []
for client in aws._clients:
    client.close = lambda client=client: closed.append(client.meta.service_model.service_name)
# When the runtime snapshots (before-snapshot hooks run last-registered first) ...
for func, args, kwargs in reversed(runtime.before):
    func(*args, **kwargs)
# ... and restores two environments from the same snapshot
drawn = []
for _ in range(2):
    random.seed(1234)  # the state both copies carry
    for func, args, kwargs in runtime.after:
        func(*args, **kwargs)
    drawn.append(random.random())
primed = sum(route._dependant is not None for route in routes)
print(json.dumps({{"registered": registered, "clients": len(aws._clients), "closed": closed, "drawn": drawn,
                  "routes": len(routes), "unprimed": unprimed, "primed": primed}}))
"""
    seen = _run(script, pythonpath=tmp_path)
    # Then the hooks are registered once each (and the priming), every client's connections are closed before the
    # snapshot
    assert seen["registered"] == [2, 1], f"handlers.{service}.app registered {seen['registered']} hooks"
    assert seen["clients"] >= 1 and len(seen["closed"]) == seen["clients"], f"handlers.{service}.app: {seen}"
    # And every route's request validation is built into the snapshot, not by each restored environment's first request
    assert seen["unprimed"] == seen["routes"] > 0, f"handlers.{service}.app: routes built before the snapshot: {seen}"
    assert seen["primed"] == seen["routes"], f"handlers.{service}.app: routes primed: {seen}"
    # And two restored environments do not draw the same random numbers
    assert seen["drawn"][0] != seen["drawn"][1], f"handlers.{service}.app: restored copies drew {seen['drawn']}"


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_only_the_powertools_it_uses_and_the_rest_stays_reachable(service):
    # Given a fresh interpreter, When it imports the service as Lambda does
    seen = _run(f"""
import json, sys
import handlers.{service}.app
unused = [m for m in ("asyncio", "aws_lambda_powertools.event_handler.appsync",
                      "aws_lambda_powertools.utilities.data_classes.kafka_event") if m in sys.modules]
# And then asks the packages for what their __init__ offers but the service does not use
from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler import AppSyncResolver, content_types
from aws_lambda_powertools.utilities.data_classes import S3Event
import aws_lambda_powertools
print(json.dumps({{"unused": unused, "reached": [Metrics.__name__, Tracer.__name__, AppSyncResolver.__name__,
                  S3Event.__name__, content_types.APPLICATION_JSON, aws_lambda_powertools.__version__]}}))
""")
    # Then the resolvers and event classes it does not use were not imported
    assert seen["unused"] == [], f"handlers.{service}.app imported {seen['unused']}"
    # And every name the packages offer is still there when asked for
    reached = seen["reached"]
    assert reached[:5] == ["Metrics", "Tracer", "AppSyncResolver", "S3Event", "application/json"], reached
    assert reached[5], f"aws_lambda_powertools.__version__ after a lean import: {reached}"
