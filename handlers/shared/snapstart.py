"""SnapStart: what must not be carried from the snapshot into the execution environments restored from it.

With SnapStart, Lambda initialises a function version once, snapshots the memory of that environment and starts
every later environment from a copy. Two things of an initialised service must not be copied that way:

- open connections. A botocore client keeps its HTTPS connections in a pool; one opened before the snapshot is
  dead after a restore, and the first call on it would fail and retry. So the pools are closed before the
  snapshot (the clients themselves are kept: the next call opens a new connection).
- the state of `random`, seeded from the OS when the interpreter started. Every environment restored from one
  snapshot would draw the same numbers: botocore's retry jitter (so throttled environments retry in lockstep)
  and Powertools' log sampling. So it is seeded again from the OS after each restore. (uuid4 and `secrets` read
  the OS's generator on every call and need nothing.)

Before the snapshot, the service is also primed: what its routes' first requests would otherwise build in every
restored environment (each route's parameter and body validation, which Powertools builds on a route's first
request: about half of a first request's own time) is built once, into the snapshot.

The hooks come from `snapshot_restore_py`, which only Lambda's Python runtime (3.12+) provides; elsewhere
(tests, the local cloud, a function without SnapStart) there is nothing to register and `install()` does nothing.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from handlers.shared import aws

try:
    from snapshot_restore_py import register_after_restore, register_before_snapshot
except ImportError:  # not the Lambda runtime
    register_before_snapshot = register_after_restore = None

_installed = False
_log = logging.getLogger(__name__)


def before_snapshot() -> None:
    aws.close_connections()


def prime(resolver: Any) -> int:
    """Build each route's request validation now (Powertools builds it on the route's first request); the number
    of routes primed. Priming is an optimisation: a failure is logged, never allowed to fail the snapshot."""
    routes = [*getattr(resolver, "_static_routes", ()), *getattr(resolver, "_dynamic_routes", ())]
    try:
        for route in routes:
            _ = route.dependant, route.body_field
    except Exception:  # whatever it is: see the docstring
        _log.warning("priming the routes before the snapshot failed", exc_info=True)
        return 0
    return len(routes)


def after_restore() -> None:
    random.seed()  # from os.urandom: each restored environment its own sequence


def install(resolver: Any = None) -> bool:
    """Register the hooks once per process (priming `resolver`'s routes, when given); False where the runtime has no
    SnapStart hooks."""
    global _installed
    if register_before_snapshot is None or register_after_restore is None:
        return False
    if not _installed:
        register_before_snapshot(before_snapshot)
        if resolver is not None:
            register_before_snapshot(prime, resolver)  # run first: the runtime runs these in reverse order
        register_after_restore(after_restore)
        _installed = True
    return True
