"""`python -m localcloud.prebuild [--stack dev]`: build the dependency layers a first `up` needs, ahead of time.

A first run spends most of its time downloading the layers' wheels: the layer the program declares (the stack's
runtime and architecture) and the one the local cloud publishes (built for this interpreter). `make` runs this
in the background while it installs the virtualenv's requirements, so the two waits overlap. Only the standard
library and components.layer_build are imported: it runs before the requirements are installed. A failure only
means `up` builds them itself (and reports why).

A build takes a minute or more (pip downloads every wheel: its HTTP cache does not help on every network), and a
fresh clone has no build/layers/. So each built archive is also kept in the user's cache (SHARED, outside the
project, like pip's and uv's caches) and a later clone copies it instead of building: an archive's name holds the
hash of everything its bytes depend on (pins, target, builder), so a copy is exactly what a build would give.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from components.layer_build import Target, archive_path, build, host_target, lambda_target

PROJECT_DIR = Path(__file__).resolve().parent.parent
# LOCALCLOUD_LAYER_CACHE moves it (or turns it off: an empty value); XDG_CACHE_HOME is where user caches go.
SHARED = Path(
    os.environ.get(
        "LOCALCLOUD_LAYER_CACHE", Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ecommerce-layers"
    )
)


def _copy(source: Path, target: Path) -> None:
    """Copy whole-or-nothing: a concurrent reader (another clone, `up`) never sees half an archive."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(handle)
    try:
        shutil.copyfile(source, partial)
        os.chmod(partial, 0o644)  # as a build writes it (mkstemp makes it private)
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


def obtain(target: Target, shared: Path = SHARED) -> tuple[Path, str]:
    """The target's archive under build/layers/, and how it came: already there, copied from `shared`, or built."""
    path = archive_path(target)
    kept = shared / path.name if str(shared) not in ("", ".") else None
    if path.is_file():
        how = "cached"
    elif kept is not None and kept.is_file():
        _copy(kept, path)
        return path, f"copied from {shared}"
    else:
        path, how = build(target), "built"
    if kept is not None and not kept.is_file():
        try:
            _copy(path, kept)
        except OSError as error:  # a read-only home only costs the next clone a build
            print(f"layer {target.name}: not kept in {shared}: {error}", file=sys.stderr)
    return path, how


def _setting(stack: str, key: str, default: str) -> str:
    """A plain `ecommerce:<key>: value` line of Pulumi.<stack>.yaml (no YAML parser is installed yet)."""
    path = PROJECT_DIR / f"Pulumi.{stack}.yaml"
    text = path.read_text() if path.is_file() else ""
    found = re.search(rf"^\s+ecommerce:{re.escape(key)}:\s*['\"]?([\w.-]+)", text, re.MULTILINE)
    return found.group(1) if found else default


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud.prebuild", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev")
    args = parser.parse_args(argv)
    declared = lambda_target(
        _setting(args.stack, "lambdaRuntime", "python3.12"), _setting(args.stack, "lambdaArchitecture", "arm64")
    )
    failures: list[str] = []

    def one(target: Target) -> None:
        started = time.monotonic()
        try:
            path, how = obtain(target)
            print(f"layer {target.name}: {how} in {time.monotonic() - started:.1f} s: {path}", flush=True)
        except Exception as error:
            failures.append(f"layer {target.name}: {error}")

    threads = [threading.Thread(target=one, args=(t,)) for t in (host_target(), declared)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
