"""The fast tier: pure logic in this process, no emulator, no network (`make test-fast`).

Every test here is marked `unit`. Nothing here may request the `ministack` fixture or anything built on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.unit)
