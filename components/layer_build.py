"""The functions' dependency layer: requirements-layer.txt installed for one platform, as a deterministic zip.

Used by the Pulumi program (`components/dependency_layer.py`, for the stack's runtime and architecture) and by
the local cloud (for this interpreter, which is what the emulator runs functions with), so it imports no Pulumi.

    path = build(lambda_target("python3.12", "arm64"))   # build/layers/deps-python3.12-arm64-<key>.zip

A build is `pip install --target --no-deps --only-binary=:all:` of the full pinned list for the target's
platform, then a zip whose bytes depend only on what was installed: entries sorted, one timestamp, one
permission, no directory entries, no paths of the building machine. So the same pins give the same archive and
`pulumi preview` shows no change. Bytecode is shipped only when this interpreter's version is the target's (a
`.pyc` is specific to a Python version): compiled with unchecked hashes (no mtimes) and file names under
/opt/python, where Lambda mounts the layer's `python/` folder, so its bytes do not depend on the build directory.

Builds are cached under build/layers/, keyed by the pins file's content, the target (platform, Python version,
whether compiled and by which interpreter) and BUILDER_VERSION. The first build of a platform downloads wheels
from PyPI (or the configured index); later ones read the cache. Files are written whole and renamed into place,
so concurrent builds (parallel tests, a preview beside the local cloud) never read half an archive.
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

PROJECT_DIR: Final = Path(__file__).resolve().parent.parent
REQUIREMENTS: Final = PROJECT_DIR / "requirements-layer.txt"
CACHE_DIR: Final = PROJECT_DIR / "build" / "layers"
# Bump when the build's steps change what goes into the archive, so cached archives are rebuilt.
BUILDER_VERSION: Final = 1

LAYER_DIR: Final = "python"  # Lambda mounts a layer at /opt, and /opt/python is on the runtime's sys.path
MOUNT_DIR: Final = f"/opt/{LAYER_DIR}"
ZIP_TIMESTAMP: Final = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold
FILE_MODE: Final = 0o644
# Lambda's Python 3.12 and 3.13 runtimes run on Amazon Linux 2023 (glibc 2.34): any manylinux wheel up to it.
GLIBC_MAX_MINOR: Final = 34
MACHINES: Final = {"arm64": "aarch64", "x86_64": "x86_64"}


class LayerBuildError(RuntimeError):
    """pip or the compiler failed; the message says what to do."""


@dataclass(frozen=True)
class Target:
    """Where the layer runs: a Python version and the platform tags pip may pick wheels for."""

    name: str  # in the archive's file name: python3.12-arm64, host-cpython-311-linux-x86_64
    python_version: str  # "3.12"
    # Wheel platform tags, best first; empty for this machine's own (pip's default for the running interpreter).
    platforms: tuple[str, ...]
    # Bytecode for the target's Python; only possible when it is this interpreter's version.
    compiled: bool
    # What else the archive's bytes depend on (the compiling interpreter, this machine's libc).
    fingerprint: str = ""

    @property
    def is_host(self) -> bool:
        return not self.platforms


def _this_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _compiles_for(python_version: str) -> bool:
    return sys.implementation.name == "cpython" and python_version == _this_python()


def lambda_target(runtime: str, architecture: str) -> Target:
    """The platform of a Lambda function: `python3.12`/`python3.13` on `arm64`/`x86_64` (Amazon Linux 2023)."""
    if not runtime.startswith("python3.") or architecture not in MACHINES:
        raise ValueError(f"no layer build for runtime {runtime!r} on {architecture!r}")
    version = runtime.removeprefix("python")
    machine = MACHINES[architecture]
    platforms = (
        *(f"manylinux_2_{minor}_{machine}" for minor in range(GLIBC_MAX_MINOR, 16, -1)),
        f"manylinux2014_{machine}",
    )
    compiled = _compiles_for(version)
    return Target(
        name=f"{runtime}-{architecture}",
        python_version=version,
        platforms=platforms,
        compiled=compiled,
        # Bytecode can change between patch releases; anything else about the builder leaves the bytes alone.
        fingerprint=f"compiled by {platform.python_version()}" if compiled else "",
    )


def host_target() -> Target:
    """This interpreter's version and platform (what the local cloud's emulator runs functions with)."""
    return Target(
        name=f"host-{sys.implementation.cache_tag}-{sysconfig.get_platform()}",
        python_version=_this_python(),
        platforms=(),
        compiled=_compiles_for(_this_python()),
        fingerprint=f"{sys.version} {'-'.join(platform.libc_ver())}",
    )


def cache_key(target: Target, requirements: Path = REQUIREMENTS) -> str:
    parts = [
        f"builder={BUILDER_VERSION}",
        f"target={target.name}",
        f"python={target.python_version}",
        f"platforms={','.join(target.platforms)}",
        f"compiled={target.compiled}",
        f"fingerprint={target.fingerprint}",
        hashlib.sha256(requirements.read_bytes()).hexdigest(),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def archive_path(target: Target, requirements: Path = REQUIREMENTS, cache_dir: Path = CACHE_DIR) -> Path:
    return cache_dir / f"deps-{target.name}-{cache_key(target, requirements)}.zip"


def build(
    target: Target,
    requirements: Path = REQUIREMENTS,
    cache_dir: Path = CACHE_DIR,
    *,
    use_cache: bool = True,
) -> Path:
    """The layer's zip for `target`, built unless the cache has it. Returns its path under `cache_dir`."""
    path = archive_path(target, requirements, cache_dir)
    if use_cache and path.is_file():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="layer-", dir=cache_dir) as work:
        root = Path(work) / LAYER_DIR
        _pip_install(target, requirements, root)
        _drop_machine_specific_files(root)
        if target.compiled:
            _compile(root)
        data = zip_tree(root)
        partial = Path(work) / path.name
        partial.write_bytes(data)
        os.replace(partial, path)  # atomic: a reader sees the old file or the whole new one
    return path


def _pip_install(target: Target, requirements: Path, root: Path) -> None:
    command = [
        sys.executable, "-m", "pip", "install",
        "--target", str(root),
        "--only-binary=:all:", "--no-deps", "--no-compile",
        "--disable-pip-version-check", "--no-input", "--quiet",
    ]  # fmt: skip
    if not target.is_host:
        version = target.python_version.replace(".", "")
        for tag in target.platforms:
            command += ["--platform", tag]
        command += ["--python-version", target.python_version, "--implementation", "cp", "--abi", f"cp{version}"]
    command += ["-r", str(requirements)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our own pip
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip().splitlines()
        raise LayerBuildError(
            f"building the dependency layer for {target.name} failed: pip exited with {result.returncode}.\n"
            f"  {' '.join(command)}\n"
            + "\n".join(f"  | {line}" for line in output[-15:])
            + f"\nThe first build for a platform downloads wheels from PyPI (or your pip index): check network "
            f"access to it, and that every pin in {requirements.name} has a wheel for {target.name}. Later builds "
            f"of the same pins come from {CACHE_DIR.relative_to(PROJECT_DIR)}/."
        )


def _drop_machine_specific_files(root: Path) -> None:
    """Remove what pip wrote for this machine rather than for the layer: console scripts and their records.

    Scripts land in bin/ with this interpreter's path in their shebang, which the functions never run; their
    rows in the distributions' RECORD (`../../bin/...`, hashed with that shebang) go with them.
    """
    shutil.rmtree(root / "bin", ignore_errors=True)
    for record in root.glob("*.dist-info/RECORD"):
        lines = record.read_text(encoding="utf-8").splitlines(keepends=True)
        record.write_text("".join(line for line in lines if not line.startswith("../")), encoding="utf-8")


def _compile(root: Path) -> None:
    # In a child with a fixed hash seed: marshal writes a frozenset constant in iteration order, which
    # string hash randomization would otherwise change from one build to the next.
    command = [
        sys.executable, "-m", "compileall", "-q", "-j", "0",
        "--invalidation-mode", "unchecked-hash", "-d", MOUNT_DIR, str(root),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        raise LayerBuildError(
            f"compiling the dependency layer's bytecode failed:\n{result.stdout}{result.stderr}"
            "\nA pinned distribution holds code this Python cannot compile; fix the pin in requirements-layer.txt."
        )


def zip_tree(root: Path) -> bytes:
    """Every file under `root.parent`'s `root.name`, as `<root.name>/<path>` entries, deterministically."""
    files = sorted(
        (path.relative_to(root.parent).as_posix(), path)
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink()
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, path in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the permission bits below are read as such
            info.external_attr = FILE_MODE << 16
            zf.writestr(info, path.read_bytes(), compresslevel=6)
    return buffer.getvalue()


def relative_to_project(path: Path) -> str:
    """`path` as the Pulumi program refers to it: relative to the project directory, where `pulumi up` runs."""
    return path.resolve().relative_to(PROJECT_DIR).as_posix()
