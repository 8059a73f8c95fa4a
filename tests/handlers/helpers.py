"""Small builders shared by the handler tests (the events themselves come from tests.kit.events)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tests.kit.events import LambdaContext

if TYPE_CHECKING:
    from tests.handlers.conftest import Stack


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


def invoke(module: ModuleType, event: dict[str, Any]) -> Reply:
    response = module.handler(event, LambdaContext())
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    return Reply(int(response["statusCode"]), headers, body)


def delivered(stack: Stack, checkout_id: str, count: int = 1, deadline_s: float = 10.0) -> Any:
    """The SQS bodies the stack's rule delivered for this checkout (polls the queue until a deadline)."""
    found: list[str] = []
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


def orders_of(call: Callable[..., Reply], user: str) -> list[dict[str, Any]]:
    reply = call("GET", f"/order/{user}")
    assert reply.status == 200, f"GET /order/{user}: {reply}"
    return list(reply.json["items"])
