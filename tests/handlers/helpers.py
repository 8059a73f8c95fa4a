"""Small builders shared by the handler tests."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

from handlers.shared.models import USER_NAME_PATTERN


def to_json(value: Any) -> str:
    """JSON as a client writes it: Decimal money as a JSON number (never a string, which the API refuses)."""
    return json.dumps(value, default=lambda v: float(v) if isinstance(v, Decimal) else str(v))


def product_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Lamp",
        "description": "A lamp",
        "imageFile": "lamp.png",
        "price": 12.5,
        "category": "home",
        **overrides,
    }


def contact(user_name: str, **overrides: Any) -> dict[str, Any]:
    return {
        "userName": user_name,
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": "ada@example.com",
        "address": "1 Analytical St",
        "paymentMethod": "CARD",
        **overrides,
    }


ADMIN = "admin-user"


def claims_of(user: str, *, admin: bool = False) -> dict[str, str]:
    """The claims API Gateway hands the function for a Cognito access token (every claim a string)."""
    return {"username": user, "token_use": "access", **({"cognito:groups": "[admin]"} if admin else {})}


def caller_for(path: str, body: Any) -> dict[str, str]:
    """The caller a request is normally made by: the user it is about (the body's or the path's userName), or an
    admin for the catalogue and the listings. Tests of the access rules name their caller instead."""
    parts = path.split("?")[0].strip("/").split("/")
    user = body.get("userName") if isinstance(body, dict) else None
    if user is None and len(parts) == 2 and parts[0] in ("basket", "order") and parts[1] != "checkout":
        user = parts[1]
    # A name no user can have (the fuzz's, or a malformed path) is asked about by an admin.
    if isinstance(user, str) and re.fullmatch(USER_NAME_PATTERN, user):
        return claims_of(user)
    return claims_of(ADMIN, admin=True)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def sqs_record(body: Any, message_id: str | None = None) -> dict[str, Any]:
    """One SQS record as the event source mapping hands it to the function."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "rh",
        "body": body if isinstance(body, str) else to_json(body),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "0",
            "SenderId": "x",
            "ApproximateFirstReceiveTimestamp": "0",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:checkout",
        "awsRegion": "us-east-1",
    }


def envelope(detail: dict[str, Any]) -> dict[str, Any]:
    """An EventBridge event as the rule delivers it to the queue."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "CheckoutBasket",
        "source": "ecommerce.basket",
        "account": "000000000000",
        "time": "2025-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


@dataclass
class LambdaContext:
    function_name: str = "test-fn"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:test-fn"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text, parse_float=Decimal) if self.text else None

    def __str__(self) -> str:
        return f"{self.status} {self.text[:300]}"


def http_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    query: dict[str, str] | None = None,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API event, payload format 2.0, as the service integration delivers it (with the
    claims of the access token its JWT authorizer verified, if any)."""
    text = raw_body if raw_body is not None else (None if body is None else to_json(body))
    all_headers = {"content-type": "application/json", **(headers or {})} if text is not None else dict(headers or {})
    if base64_body and text is not None:
        text = base64.b64encode(text.encode("utf-8", "surrogatepass")).decode()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": all_headers,
        **({"queryStringParameters": dict(query)} if query else {}),
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "api",
            "domainName": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
            **({"authorizer": {"jwt": {"claims": claims, "scopes": []}}} if claims is not None else {}),
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2025:00:00:00 +0000",
            "timeEpoch": 1735689600000,
        },
        **({"body": text, "isBase64Encoded": base64_body} if text is not None else {"isBase64Encoded": False}),
    }


def invoke(module: ModuleType, event: dict[str, Any]) -> Reply:
    response = module.handler(event, LambdaContext())
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    return Reply(int(response["statusCode"]), headers, body)


def delivered(stack, checkout_id, count=1, deadline_s=10.0):
    """The SQS bodies the stack's rule delivered for this checkout (polls the queue until a deadline)."""
    found = []
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        messages = stack.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in messages.get("Messages", []):
            if json.loads(message["Body"]).get("detail", {}).get("checkoutId") == checkout_id:
                stack.sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])
                found.append(message["Body"])
        if len(found) >= count:
            return found if count > 1 else found[0]
    raise AssertionError(f"{count} CheckoutBasket {checkout_id} expected on {stack.queue_url}, got {len(found)}")


def orders_of(call, user):
    reply = call("GET", f"/order/{user}")
    assert reply.status == 200, f"GET /order/{user}: {reply}"
    return reply.json["items"]
