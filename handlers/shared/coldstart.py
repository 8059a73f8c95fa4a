"""A service's cold start as one construct: `coldstart.service(__name__)`, the only statement of its package's
`__init__` (the first of its modules Lambda imports, on the way to `handlers.<service>.app`).

It arranges that, when the service's app module is imported:

- the cycle collector is paused while the module runs. Importing a service allocates some 80,000 objects
  (modules, botocore's service model, pydantic's validators) that all live as long as the container; the
  collector, which runs every few hundred allocations, would walk this growing heap again and again and free
  next to nothing: about an eighth of the cold start. At the end, `gc.freeze()` moves what the import built
  out of every later collection, so warm requests do not walk it either. Pause and resume are one
  `try/finally` around the module's execution: whether the import succeeds or fails, collection resumes.
- once the module has run, the SnapStart hooks are registered (handlers.shared.snapstart): a new service gets
  them by the same statement that gives it the pause.

Both happen only for the app module and only when it is imported: importing the package for its models
(a test, the schema generator) changes nothing.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

APP_MODULE = "app"  # handlers.<service>.app: the module the functions' handler strings name


def service(package: str) -> None:
    """Pause the collector while `<package>.app` is imported, then freeze what it built and register the
    SnapStart hooks. Call once, from the service package's `__init__` (`coldstart.service(__name__)`)."""
    name = f"{package}.{APP_MODULE}"
    if name in sys.modules or any(isinstance(f, _AppFinder) and f.name == name for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _AppFinder(name))


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cycle collection inside; on leaving, what was built inside is frozen and collection resumes as before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


class _AppFinder(MetaPathFinder):
    """Finds the app module as the other finders would, and runs it through `_InitialisingLoader`. One-shot."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _InitialisingLoader(spec.loader)
                return spec
        return None


class _InitialisingLoader(Loader):
    """The app module's own loader, with the module's execution inside `collector_paused()`."""

    def __init__(self, loader: Loader) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> Any:
        # get_source, get_code, is_package...: tracebacks and tools ask the loader for these.
        return getattr(self._loader, name)

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with collector_paused():
            self._loader.exec_module(module)
        from handlers.shared import snapstart

        snapstart.install()
