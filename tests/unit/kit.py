"""What the fast tier adds to tests/kit: a resolver's answer read back, and a service module imported with a
made-up environment (no AWS call happens at import)."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any

    def __str__(self) -> str:
        return f"{self.status} {self.headers} {self.body}"


def answer(response: dict[str, Any]) -> Answer:
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    text = response.get("body") or ""
    return Answer(int(response["statusCode"]), headers, json.loads(text) if text else None)


@contextmanager
def service_module(name: str, environment: dict[str, str], monkeypatch: Any) -> Iterator[ModuleType]:
    """`handlers.<name>.app`, imported with `environment`, and forgotten afterwards.

    The handler modules read their environment at import. A module imported here with made-up table names must
    not be the one a later suite (pointed at the emulator) finds in sys.modules, so every `handlers` module this
    import added is removed again; those that were there before stay as they were.
    """
    before = {key for key in sys.modules if key == "handlers" or key.startswith("handlers.")}
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    try:
        yield importlib.import_module(f"handlers.{name}.app")
    finally:
        for key in [k for k in sys.modules if (k == "handlers" or k.startswith("handlers.")) and k not in before]:
            del sys.modules[key]
