"""`python -m localcloud.prebuild [--stack dev]`: build the dependency layers a first `up` needs, ahead of time.

A first run spends most of its time downloading the layers' wheels: the layer the program declares (the stack's
runtime and architecture) and the one the local cloud publishes (built for this interpreter). `make` runs this
in the background while it installs the virtualenv's requirements, so the two waits overlap. Only the standard
library and components.layer_build are imported: it runs before the requirements are installed. A failure only
means `up` builds them itself (and reports why).
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
from pathlib import Path

from components.layer_build import Target, build, host_target, lambda_target

PROJECT_DIR = Path(__file__).resolve().parent.parent


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
        try:
            print(f"layer {target.name}: {build(target)}", flush=True)
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
