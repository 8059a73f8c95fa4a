"""The cycle collector during a cold start: paused while a service imports, then kept off what the import built.

Importing a service allocates some 80,000 objects (modules, botocore's service model, pydantic's validators)
that all live as long as the container. The cycle collector, which runs every few hundred allocations, walks
this growing heap again and again during the import and frees next to nothing: about an eighth of the cold
start. So it is paused from the service package's `__init__` (the first of its modules Lambda imports) to the
end of its app module; `gc.freeze()` then moves what the import built out of every later collection, so warm
requests do not walk it either.
"""

from __future__ import annotations

import gc

_was_enabled = True


def begin() -> None:
    """First statement of a service package: no cycle collection until `done()`."""
    global _was_enabled
    _was_enabled = gc.isenabled()
    gc.disable()


def done() -> None:
    """Last statement of a service's app module: freeze what the import built and collect as before."""
    gc.freeze()
    if _was_enabled:
        gc.enable()
