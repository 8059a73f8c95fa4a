"""Hot reload: a saved change under `handlers/` reaches the running functions in about a second.

A thread polls the modification times of the program's files (no watcher dependency; a poll of a few hundred
files costs well under a millisecond). When one under `handlers/` changed, each function's package is built again
from the archive the program declares (localcloud/archive.py, as `pulumi up` would upload it); a function whose
package differs gets it through UpdateFunctionCode with a new published version, and its aliases (`live`, which
the API and the queue's event source invoke) move to that version. A change to what shapes the graph (components/,
__main__.py, Pulumi.*.yaml) is not applied: the console says a restart is needed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from localcloud import archive
from localcloud.deploy import Deployment
from localcloud.periodic import Periodic

_SKIPPED_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


class Reloader(Periodic):
    """Polls the project's files every `interval` s; `say(line)` reports what it did."""

    def __init__(
        self, deployment: Deployment, project_dir: Path, say: Callable[[str], None], interval: float = 0.3
    ) -> None:
        super().__init__("reload", interval)
        self.deployment = deployment
        self.project_dir = project_dir
        self.say = say
        self.lambda_ = deployment.client("lambda")
        self.functions: list[tuple[str, str, Any]] = []  # (short name, function name, declared code archive)
        for fn in deployment.resources("aws:lambda/function:Function"):
            code = fn.inputs.get("code")
            if code is not None:
                self.functions.append((deployment.service_of(fn), str(deployment.outputs[fn.urn]["name"]), code))
        self.aliases: dict[str, list[str]] = {}  # function name -> its aliases
        for alias in deployment.resources("aws:lambda/alias:Alias"):
            parts = str(deployment.outputs[alias.urn]["arn"]).split(":")  # arn:aws:lambda:r:a:function:NAME:ALIAS
            self.aliases.setdefault(parts[6], []).append(parts[7])
        self._packages = {name: self._digest(code) for _, name, code in self.functions}
        self._seen = self._snapshot()

    def tick(self) -> None:
        self.check()

    def failed(self, error: Exception) -> None:
        # The emulator refused the update: say so, keep watching.
        self.say(f"ERROR reload failed: {' '.join(str(error).split())}")

    def _digest(self, code: Any) -> str:
        return hashlib.sha256(archive.zip_bytes(code, self.project_dir)).hexdigest()

    def _files(self) -> Iterator[Path]:
        for folder in ("handlers", "components"):
            for path in (self.project_dir / folder).rglob("*"):
                if path.is_file() and not _SKIPPED_DIRS & set(path.parts) and not path.name.endswith((".pyc", "~")):
                    yield path
        yield self.project_dir / "__main__.py"
        yield from self.project_dir.glob("Pulumi*.yaml")

    def _snapshot(self) -> dict[Path, tuple[int, int]]:
        seen = {}
        for path in self._files():
            try:
                stat = path.stat()
            except OSError:
                continue  # removed while listed
            seen[path] = (stat.st_mtime_ns, stat.st_size)
        return seen

    def check(self) -> None:
        """Apply what changed since the previous check."""
        now = self._snapshot()
        changed = sorted(p for p in now.keys() | self._seen.keys() if now.get(p) != self._seen.get(p))
        self._seen = now
        if not changed:
            return
        names = [str(p.relative_to(self.project_dir)) for p in changed]
        shaping = [n for n in names if not n.startswith("handlers/")]
        if shaping:
            self.say(f"WARNING {', '.join(shaping)} changed: restart the local cloud to apply it (Ctrl-C, make dev)")
        if len(shaping) < len(names):
            self._reload([n for n in names if n.startswith("handlers/")])

    def _reload(self, names: list[str]) -> None:
        started = time.perf_counter()
        updated = []
        for short, function, code in self.functions:
            try:
                package = archive.zip_bytes(code, self.project_dir)
            except (OSError, ValueError) as error:
                self.say(f"ERROR cannot package {short}: {error}")
                continue
            digest = hashlib.sha256(package).hexdigest()
            if digest == self._packages.get(function):
                continue
            version = self.lambda_.update_function_code(FunctionName=function, ZipFile=package, Publish=True)
            for alias in self.aliases.get(function, []):
                self.lambda_.update_alias(FunctionName=function, Name=alias, FunctionVersion=version["Version"])
            self._packages[function] = digest
            updated.append(f"{short} (version {version['Version']})")
        took = time.perf_counter() - started
        what = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        if updated:
            self.say(f"{what} changed: reloaded {', '.join(updated)} in {took:.1f} s")
        else:
            self.say(f"{what} changed: no function's package differs")
