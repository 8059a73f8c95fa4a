"""Waiting for an outcome of the event flow: poll with a deadline, never sleep a fixed long time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], *, what: str, deadline: float = 30.0, interval: float = 0.1) -> T:
    """Call `probe` until it returns something other than None; after `deadline` s raise TimeoutError naming `what`."""
    end = time.monotonic() + deadline
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > end:
            raise TimeoutError(f"{what}: not within {deadline:.0f} s")
        time.sleep(interval)
