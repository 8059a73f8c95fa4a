"""Builders for the fast tier: payload 2.0 events for a resolver called in this process, and a service module
imported with a made-up environment (no AWS call happens at import)."""

from __future__ import annotations

import importlib
import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any


@dataclass
class LambdaContext:
    function_name: str = "unit-fn"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:unit-fn"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def http_event(
    method: str,
    path: str,
    *,
    body: str | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API event (payload format 2.0) with no authorizer claims."""
    all_headers = {"content-type": "application/json", **(headers or {})} if body is not None else dict(headers or {})
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": all_headers,
        **({"queryStringParameters": dict(query)} if query else {}),
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "api",
            "domainName": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2025:00:00:00 +0000",
            "timeEpoch": 1735689600000,
        },
        **({"body": body, "isBase64Encoded": False} if body is not None else {"isBase64Encoded": False}),
    }


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
