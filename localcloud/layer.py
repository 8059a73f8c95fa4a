"""The functions' dependency layer, built locally from the packages installed in this virtualenv.

On AWS the functions import Powertools and pydantic from a layer. Locally the emulator runs them with
this interpreter, so the layer must hold builds for this interpreter (pydantic-core is compiled): the
installed distributions named in requirements-layer.txt, with their runtime dependencies, copied into a
Lambda layer's `python/` folder. The zip is cached under build/, keyed by the distributions' versions.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from importlib import metadata
from pathlib import Path

from localcloud.graph import PROJECT_DIR

REQUIREMENTS = PROJECT_DIR / "requirements-layer.txt"
CACHE_DIR = PROJECT_DIR / "build" / "localcloud"

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
# What the Lambda runtime provides itself; a layer that shipped them would shadow the runtime's.
_RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(path: Path = REQUIREMENTS) -> list[str]:
    names = []
    for line in path.read_text().splitlines():
        match = _NAME.match(line.split("#", 1)[0])
        if match:
            names.append(match.group(1))
    return names


def _closure(roots: list[str]) -> list[metadata.Distribution]:
    """The installed distributions `roots` need at run time (no extras), runtime-provided ones left out."""
    found: dict[str, metadata.Distribution] = {}
    pending = list(roots)
    while pending:
        name = _canonical(pending.pop())
        if name in found or name in _RUNTIME_PROVIDED:
            continue
        dist = metadata.distribution(name)
        found[name] = dist
        for requirement in dist.requires or []:
            # A marker means an extra or another platform here; the layer takes the plain requirements.
            if ";" in requirement:
                continue
            match = _NAME.match(requirement)
            if match:
                pending.append(match.group(1))
    return sorted(found.values(), key=lambda d: _canonical(d.metadata["Name"]))


def layer_zip(requirements: Path = REQUIREMENTS, cache_dir: Path = CACHE_DIR) -> bytes:
    """The layer's zip: `python/<package files>` of every distribution in the closure. Cached."""
    dists = _closure(requirement_names(requirements))
    key = hashlib.sha256(
        "\n".join(f"{d.metadata['Name']}=={d.version}@{d.locate_file('')}" for d in dists).encode()
    ).hexdigest()[:16]
    cached = cache_dir / f"layer-{key}.zip"
    if cached.exists():
        return cached.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for dist in dists:
            for file in dist.files or []:
                if file.suffix == ".pyc" or "__pycache__" in file.parts or file.parts[0].startswith(".."):
                    continue
                source = Path(str(dist.locate_file(file)))
                if source.is_file():
                    zf.write(source, f"python/{file.as_posix()}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".tmp")
    partial.write_bytes(buffer.getvalue())
    partial.replace(cached)  # atomic, so two concurrent first runs never read half a zip
    return buffer.getvalue()
