"""Zip a Pulumi asset or archive the way the Pulumi engine does before it hands it to the AWS provider.

The local cloud must run the very package `pulumi up` would upload, so this follows the engine's rules
(sdk/go/common/resource/archive): an `AssetArchive`'s members in sorted key order, a sub-archive flattened
under its key, a directory walked in lexical order without directories, `.pulumi` folders or symlinked
directories, an existing .zip/.tar/.tgz/.jar read entry by entry, the first of two equal paths kept, every
entry deflated with the engine's constant timestamp. Relative paths are relative to the program's directory.
"""

from __future__ import annotations

import io
import os
import posixpath
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pulumi

_PULUMI_BOOKKEEPING_DIR = ".pulumi"
_ENGINE_TIMESTAMP = (1990, 1, 1, 0, 0, 0)  # the engine's constant, after the ZIP epoch of 1980


class ArchiveError(ValueError):
    """An asset or archive the local cloud cannot read (a remote one, or a missing path)."""


def zip_bytes(archive: pulumi.Archive, base_dir: Path) -> bytes:
    """The ZIP the engine would build from `archive`."""
    buffer = io.BytesIO()
    seen: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in _members(archive, base_dir):
            if name in seen:
                continue
            seen.add(name)
            info = zipfile.ZipInfo(name, date_time=_ENGINE_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buffer.getvalue()


def _members(archive: pulumi.Archive, base_dir: Path) -> Iterator[tuple[str, bytes]]:
    if isinstance(archive, pulumi.AssetArchive):
        for key in sorted(archive.assets):
            member = archive.assets[key]
            if isinstance(member, pulumi.Asset):
                yield from _asset_members(key, member, base_dir)
            else:
                for name, data in _members(member, base_dir):
                    yield posixpath.normpath(posixpath.join(key, name)), data
    elif isinstance(archive, pulumi.FileArchive):
        yield from _path_members(_resolve(archive.path, base_dir))
    else:
        raise ArchiveError(f"{type(archive).__name__} is not readable locally (only file and asset archives are)")


def _asset_members(key: str, asset: pulumi.Asset, base_dir: Path) -> Iterator[tuple[str, bytes]]:
    if isinstance(asset, pulumi.FileAsset):
        yield key, _resolve(asset.path, base_dir).read_bytes()
    elif isinstance(asset, pulumi.StringAsset):
        yield key, asset.text.encode()
    else:
        raise ArchiveError(f"{type(asset).__name__} {key!r} is not readable locally (only file and string assets are)")


def _resolve(path: str, base_dir: Path) -> Path:
    resolved = Path(path) if os.path.isabs(path) else base_dir / path
    if not resolved.exists():
        raise ArchiveError(f"archive path {resolved} does not exist")
    return resolved


def _path_members(path: Path) -> Iterator[tuple[str, bytes]]:
    name = path.name.lower()
    if path.is_dir():
        yield from _directory_members(path)
    elif name.endswith((".zip", ".jar")):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    yield posixpath.normpath(info.filename), zf.read(info)
    elif name.endswith((".tar", ".tgz", ".tar.gz")):
        with tarfile.open(path) as tf:
            for member in tf.getmembers():
                extracted = tf.extractfile(member) if member.isreg() else None
                if extracted is not None:
                    yield posixpath.normpath(member.name), extracted.read()
    else:
        raise ArchiveError(f"{path} is neither a recognized archive type nor a directory")


def _directory_members(root: Path) -> Iterator[tuple[str, bytes]]:
    # filepath.Walk visits entries in lexical order and descends depth-first, as this does.
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.name == _PULUMI_BOOKKEEPING_DIR:
            continue
        if entry.is_dir(follow_symlinks=False):
            for name, data in _directory_members(Path(entry.path)):
                yield f"{entry.name}/{name}", data
        elif entry.is_symlink() and Path(entry.path).is_dir():
            continue
        else:
            yield entry.name, Path(entry.path).read_bytes()
