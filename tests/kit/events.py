"""The events and context Lambda hands a function, built in this process: API Gateway HTTP API (payload 2.0) events
with the JWT authorizer's claims, SQS records and batches, EventBridge envelopes, and the context object.

The handler tests call the handlers with them directly; the benchmarks time the same calls (bench/invoke.py).
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from handlers.shared.models import USER_NAME_PATTERN
from localcloud.users import ADMIN as DEMO_ADMIN

ACCOUNT_ID = "000000000000"
REGION = "us-east-1"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:checkout"
# The admin a request is made by when no user is its subject: the local cloud's demo admin.
ADMIN = DEMO_ADMIN.name
_USER_NAME = re.compile(USER_NAME_PATTERN)


def to_json(value: Any) -> str:
    """JSON as a client writes it: Decimal money as a JSON number (never a string, which the API refuses)."""
    return json.dumps(value, default=lambda v: float(v) if isinstance(v, Decimal) else str(v))


def caller_of(path: str, body: Any = None) -> str:
    """The user a request is normally made by: the user it is about (the body's `userName`, or the `{userName}` of
    /basket/{userName} and /order/{userName}), else ADMIN (the catalogue, the listings, a name no user can have).
    Tests of the access rules name their caller instead."""
    parts = urlsplit(path).path.strip("/").split("/")
    user = body.get("userName") if isinstance(body, dict) else None
    if user is None and len(parts) == 2 and parts[0] in ("basket", "order") and parts[1] != "checkout":
        user = unquote(parts[1])
    return user if isinstance(user, str) and _USER_NAME.fullmatch(user) else ADMIN


def unique(prefix: str) -> str:
    """A name (a user's, a category's) no other test, or earlier run on the same emulator, uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def claims_of(user: str, *, admin: bool = False) -> dict[str, str]:
    """The claims API Gateway's JWT authorizer hands a function for a Cognito access token: every claim a string,
    a list claim as its items in brackets."""
    now = int(time.time())
    return {
        "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, user)),
        "iss": f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_Local0000",
        "client_id": "local0client0id0000000000",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": str(now),
        "iat": str(now),
        "exp": str(now + 3600),
        "jti": str(uuid.uuid4()),
        "username": user,
        **({"cognito:groups": "[admin]"} if admin else {}),
    }


def caller_claims(path: str, body: Any = None) -> dict[str, str]:
    """The claims of the caller such a request is normally made by (`caller_of`)."""
    user = caller_of(path, body)
    return claims_of(user, admin=user == ADMIN)


def http_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    route: str = "$default",
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API event, payload format 2.0, as the service integration delivers it: with the claims
    of the access token its JWT authorizer verified (None: an anonymous request), and the route it matched."""
    text = raw_body if raw_body is not None else (None if body is None else to_json(body))
    all_headers = {"host": "localhost", "user-agent": "tests", **(headers or {})}
    if text is not None:
        all_headers = {"content-type": "application/json", **all_headers}
        if base64_body:
            text = base64.b64encode(text.encode("utf-8", "surrogatepass")).decode()
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": all_headers,
        **({"queryStringParameters": dict(query)} if query else {}),
        **({"pathParameters": dict(path_params)} if path_params else {}),
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "api",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
            **({"authorizer": {"jwt": {"claims": claims, "scopes": []}}} if claims is not None else {}),
            "requestId": str(uuid.uuid4()),
            "routeKey": route,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        **({"body": text, "isBase64Encoded": base64_body} if text is not None else {"isBase64Encoded": False}),
    }


def route_path(route: str, path_params: dict[str, str] | None = None) -> str:
    """The path of `route` (e.g. "GET /product/{id}") with its parameters filled in."""
    path = route.split(" ", 1)[1]
    for key, value in (path_params or {}).items():
        path = path.replace("{" + key + "}", value)
    return path


def route_event(
    route: str, path_params: dict[str, str] | None = None, body: Any = None, **kwargs: Any
) -> dict[str, Any]:
    """`http_event` for `route` (e.g. "GET /product/{id}") with its path parameters filled in."""
    method = route.split(" ", 1)[0]
    return http_event(method, route_path(route, path_params), body, route=route, path_params=path_params, **kwargs)


def sqs_record(body: Any, message_id: str | None = None, queue_arn: str = QUEUE_ARN) -> dict[str, Any]:
    """One SQS record as the event source mapping hands it to the function."""
    sent = str(int(time.time() * 1000))
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": uuid.uuid4().hex,
        "body": body if isinstance(body, str) else to_json(body),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": sent,
            "SenderId": ACCOUNT_ID,
            "ApproximateFirstReceiveTimestamp": sent,
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def sqs_event(bodies: list[Any], queue_arn: str = QUEUE_ARN) -> dict[str, Any]:
    """An SQS batch as the event source mapping delivers it to the ordering function."""
    return {"Records": [sqs_record(body, queue_arn=queue_arn) for body in bodies]}


def envelope(detail: dict[str, Any]) -> dict[str, Any]:
    """An EventBridge event as the rule delivers it to the queue."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CheckoutBasket",
        "source": "ecommerce.basket",
        "account": ACCOUNT_ID,
        "time": "2025-01-01T00:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


class LambdaContext:
    """The attributes of Lambda's context object that Powertools and the handlers read."""

    def __init__(self, function_name: str = "test-fn", memory_mb: int = 256, timeout_s: float = 10.0) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
