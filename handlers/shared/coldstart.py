"""A service's cold start as one construct: `coldstart.service(__name__)`, the only statement of its package's
`__init__` (the first of its modules Lambda imports, on the way to `handlers.<service>.app`).

It arranges that, when the service's app module is imported:

- the cycle collector is paused while the module runs. Importing a service allocates some 80,000 objects
  (modules, botocore's service model, pydantic's validators) that all live as long as the container; the
  collector, which runs every few hundred allocations, would walk this growing heap again and again and free
  next to nothing: about an eighth of the cold start. At the end, `gc.freeze()` moves what the import built
  out of every later collection, so warm requests do not walk it either. Pause and resume are one
  `try/finally` around the module's execution: whether the import succeeds or fails, collection resumes.
- Powertools' packages that import every resolver and every event class they offer (AppSync, Bedrock, VPC
  Lattice, asyncio, some 60 event classes) are registered without running their `__init__` (`lean_packages`):
  each name such an `__init__` would import is imported from its own submodule when first asked for, so the
  module's import pulls in only what it uses: about a quarter of what the handlers add to the SDK's floor.
  A name that `__init__` does not import runs it after all, so nothing a caller asks for is missing.
- once the module has run, the SnapStart hooks are registered (handlers.shared.snapstart): a new service gets
  them by the same statement that gives it the pause.

Both happen only for the app module and only when it is imported: importing the package for its models
(a test, the schema generator) changes nothing.
"""

from __future__ import annotations

import ast
import gc
import importlib
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

APP_MODULE = "app"  # handlers.<service>.app: the module the functions' handler strings name
# Parents before children: registering a package imports its parent.
LEAN_PACKAGES = (
    "aws_lambda_powertools",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.data_classes",
)


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
            lean_packages()
            self._loader.exec_module(module)
        from handlers.shared import snapstart

        snapstart.install(getattr(module, "app", None))  # the service's resolver, by the handlers' convention


def lean_packages() -> None:
    """Register LEAN_PACKAGES without running their `__init__` (those already imported stay as they are)."""
    if LEAN_PACKAGES[0] not in sys.modules:
        for name in LEAN_PACKAGES:
            _lazy_package(name)
        # What the root package's __init__ does besides importing: Powertools' own log records go nowhere unless
        # POWERTOOLS_DEBUG is set, and SDK calls carry Powertools' user agent.
        from aws_lambda_powertools.package_logger import set_package_logger_handler
        from aws_lambda_powertools.shared.user_agent import inject_user_agent

        set_package_logger_handler()
        inject_user_agent()


def _lazy_package(name: str) -> None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.origin is None or name in sys.modules:
        return
    exports = _imported_names(spec.origin, name)
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def __getattr__(attr: str) -> Any:  # noqa: N807 - a module's attribute hook (PEP 562)
        if attr in exports:
            module, original = exports[attr]
            value = getattr(importlib.import_module(module), original)
        else:
            try:
                value = importlib.import_module(f"{name}.{attr}")  # a submodule, as `from package import sub`
            except ModuleNotFoundError as error:
                if error.name != f"{name}.{attr}":
                    raise
                # Neither imported by __init__ nor a submodule: whatever else __init__ defines. Run it after all.
                del package.__getattr__
                loader.exec_module(package)
                return getattr(package, attr)
        setattr(package, attr, value)
        return value

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, package)


def _imported_names(path: str, package: str) -> dict[str, tuple[str, str]]:
    """name -> (submodule, its name there) for each `from <submodule of package> import ...` at the top of `path`."""
    names: dict[str, tuple[str, str]] = {}
    with open(path, encoding="utf-8") as source:
        tree = ast.parse(source.read(), path)
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom):
            continue
        base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        module = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
        if module.startswith(f"{package}."):
            names.update((alias.asname or alias.name, (module, alias.name)) for alias in node.names)
    return names
