"""Deployment packages: each function ships its own service's code and the shared package, nothing else."""

from __future__ import annotations

from pathlib import Path

import pulumi

PROJECT_DIR = Path(__file__).resolve().parent.parent
HANDLERS_DIR = PROJECT_DIR / "handlers"


def handler_string(service: str) -> str:
    return f"handlers.{service}.app.handler"


def handler_archive(service: str) -> pulumi.AssetArchive:
    """`handlers/__init__.py`, `handlers/shared/**` and `handlers/<service>/**`, keyed by their path in the zip.

    Files are listed one by one (rather than whole directories) so bytecode caches left by local runs
    never reach the package, which would change its hash and redeploy an unchanged function.
    """
    files = [HANDLERS_DIR / "__init__.py"]
    for package in ("shared", service):
        root = HANDLERS_DIR / package
        if not (root / "__init__.py").is_file():
            raise FileNotFoundError(f"{root} is not a Python package; the {service} function cannot be packaged")
        files.extend(
            path
            for path in sorted(root.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")
        )
    # Paths relative to the project directory (where `pulumi up` runs the program): the state then
    # holds no machine-specific paths, and the same program previews identically in CI.
    relative = [path.relative_to(PROJECT_DIR).as_posix() for path in files]
    return pulumi.AssetArchive({path: pulumi.FileAsset(path) for path in relative})
