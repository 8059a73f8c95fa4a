"""Call the handlers in this process the way Lambda does: an API Gateway HTTP API (payload 2.0) or SQS event.

Measuring in-process isolates the handler's own cost from the emulator's HTTP front; the local cloud
section measures the whole path.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

from bench.stack import Function, handler_env

ACCOUNT_ID = "000000000000"


class LambdaContext:
    """The attributes of Lambda's context object that Powertools and handlers read."""

    def __init__(self, fn: Function, timeout_s: int) -> None:
        self.function_name = fn.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{fn.name}"
        self.memory_limit_in_mb = fn.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{fn.name}"
        self.log_stream_name = "bench"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


ADMIN = "bench-admin"


def claims_of(user: str, *, admin: bool = False) -> dict[str, str]:
    """The claims API Gateway's JWT authorizer hands a function for a Cognito access token: every claim a string,
    a list claim as its items in brackets."""
    now = int(time.time())
    return {
        "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, user)),
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Bench0000",
        "client_id": "bench0client0id0000000000",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": str(now),
        "iat": str(now),
        "exp": str(now + 3600),
        "jti": str(uuid.uuid4()),
        "username": user,
        **({"cognito:groups": "[admin]"} if admin else {}),
    }


def caller_claims(path_params: dict[str, str], body: Any) -> dict[str, str]:
    """The claims of the caller such a request is made by: the user it is about (the body's or the path's userName),
    else an admin (the catalogue and the listings)."""
    user = body.get("userName") if isinstance(body, dict) else None
    user = user or path_params.get("userName")
    return claims_of(user) if user else claims_of(ADMIN, admin=True)


def http_event(
    method: str,
    route: str,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event for `route` (e.g. "GET /product/{id}") with its parameters filled in, as the API
    hands it to the function after its JWT authorizer accepted the token of `claims` (default: `caller_claims`)."""
    path_params = path_params or {}
    template = route.split(" ", 1)[1]
    path = template
    for key, value in path_params.items():
        path = path.replace("{" + key + "}", value)
    now = time.time()
    headers = {"host": "bench.local", "user-agent": "bench", "accept": "application/json"}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "bench",
            "domainName": "bench.local",
            "domainPrefix": "bench",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "bench",
            },
            "requestId": str(uuid.uuid4()),
            "authorizer": {"jwt": {"claims": claims or caller_claims(path_params, body), "scopes": []}},
            "routeKey": route,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if path_params:
        event["pathParameters"] = dict(path_params)
    if body is not None:
        headers["content-type"] = "application/json"
        event["body"] = json.dumps(body)
    return event


def sqs_event(bodies: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """An SQS batch as an event source mapping delivers it to the ordering function."""
    records = []
    for body in bodies:
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": uuid.uuid4().hex,
                "body": json.dumps(body),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(int(time.time() * 1000)),
                    "SenderId": ACCOUNT_ID,
                    "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


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
        from bench.harness import environ

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
