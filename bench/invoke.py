"""Call the handlers in this process the way Lambda does: an API Gateway HTTP API (payload 2.0) or SQS event,
built by tests.kit.events, the builders the handler tests use.

Measuring in-process isolates the handler's own cost from the emulator's HTTP front; the local cloud
section measures the whole path.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from bench.stack import Function, handler_env
from tests.kit import events
from tests.kit.environment import environ
from tests.kit.events import sqs_event as sqs_event  # the benchmarks' sections take it from here


class LambdaContext(events.LambdaContext):
    """Lambda's context object for one invocation of `fn`, its deadline `timeout_s` away."""

    def __init__(self, fn: Function, timeout_s: int) -> None:
        super().__init__(fn.name, fn.memory_mb, timeout_s)


def http_event(
    method: str,
    route: str,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The event of `route` (e.g. "GET /product/{id}") with its parameters filled in, as the API hands it to the
    function after its JWT authorizer accepted the token of `claims` (default: the caller the rules expect)."""
    claims = claims or events.caller_claims(events.route_path(route, path_params), body)
    return events.route_event(route, path_params, body, query=query, claims=claims)


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str]


def parse(result: Any) -> Response:
    if not isinstance(result, dict) or "statusCode" not in result:
        return Response(status=-1, body=result, headers={})
    raw = result.get("body")
    try:
        body = json.loads(raw) if raw else None
    except (TypeError, ValueError):
        body = raw
    return Response(status=int(result["statusCode"]), body=body, headers=dict(result.get("headers") or {}))


_DEVNULL: list[Any] = []


def _devnull() -> Any:
    # One handle for the life of the process: the loggers that captured it keep writing to it.
    if not _DEVNULL:
        _DEVNULL.append(open(os.devnull, "w"))  # noqa: SIM115
    return _DEVNULL[0]


class Handlers:
    """The three handler modules imported once into this process, each under its function's environment."""

    def __init__(self, functions: dict[str, Function], endpoint: str) -> None:
        self.functions = functions
        self.endpoint = endpoint
        self._modules: dict[str, ModuleType] = {}

    def env(self, service: str) -> dict[str, str]:
        return handler_env(self.functions[service], self.endpoint)

    @contextlib.contextmanager
    def as_function(self, service: str) -> Iterator[None]:
        """Run the block with `service`'s environment, as its Lambda worker would."""
        with environ(self.env(service)):
            yield

    def module(self, service: str) -> ModuleType:
        if service not in self._modules:
            fn = self.functions[service]
            with self.as_function(service):
                # Loggers bind sys.stdout when they are built at import; binding them to /dev/null keeps
                # per-request log formatting in the figures (Lambda pays it) without flooding the terminal.
                saved = sys.stdout
                sys.stdout = _devnull()
                try:
                    self._modules[service] = importlib.import_module(fn.module)
                finally:
                    sys.stdout = saved
        return self._modules[service]

    def handler(self, service: str) -> Callable[[dict[str, Any], Any], Any]:
        fn = self.functions[service]
        return getattr(self.module(service), fn.handler.rsplit(".", 1)[1])

    def invoke(self, service: str, event: dict[str, Any]) -> Any:
        """The handler's raw result for `event`, under its function's environment."""
        fn = self.functions[service]
        with self.as_function(service):
            return self.handler(service)(event, LambdaContext(fn, fn.timeout_s))

    def call(self, service: str, event: dict[str, Any]) -> Response:
        return parse(self.invoke(service, event))
