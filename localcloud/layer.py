"""The dependency layer the local cloud publishes: requirements-layer.txt built for this interpreter.

The program declares a layer built for the stack's runtime and architecture (python3.12 on arm64, say),
but the emulator runs every function with its own Python, this interpreter, whatever the function
declares. pydantic-core is compiled, so wheels for another Python or machine would not import here: the
local cloud publishes the same pins built for this interpreter's version and platform instead
(`components.layer_build`, the build the program uses; the tests prove both builds hold the same
distributions at the same versions).
"""

from __future__ import annotations

from pathlib import Path

from components.layer_build import host_target
from localcloud.prebuild import obtain


def layer_path() -> Path:
    """The host build's zip under build/layers/: built on first use (that needs PyPI) unless the user's cache of
    layers has it from another clone (localcloud.prebuild), then cached."""
    return obtain(host_target())[0]


def layer_zip() -> bytes:
    return layer_path().read_bytes()
