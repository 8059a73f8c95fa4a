"""Requests and data the sections share: valid bodies, seeding through the handlers, a real checkout event.

Data is created through the handlers themselves (or cloned from an item they wrote), so the benchmarks
never guess the shape of a stored item.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.client import BaseClient

from bench.harness import Context
from bench.invoke import Handlers, Response, http_event


def product_body(i: int, category: str = "bench") -> dict[str, Any]:
    return {
        "name": f"Bench product {i}",
        "description": "A product created by the benchmarks, long enough to look like a real description.",
        "imageFile": f"product-{i}.png",
        "price": 19.99,
        "category": category,
    }


def checkout_body(user: str) -> dict[str, Any]:
    return {
        "userName": user,
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": "ada@example.com",
        "address": "12 Analytical Row, London",
        "paymentMethod": "CARD",
    }


def expect(response: Response, status: int, what: str) -> Response:
    if response.status != status:
        raise RuntimeError(f"{what} answered {response.status} (expected {status}): {response.body}")
    return response


def create_product(handlers: Handlers, i: int, category: str = "bench") -> str:
    response = handlers.call("product", http_event("POST", "POST /product", body=product_body(i, category)))
    return str(expect(response, 201, "POST /product").body["id"])


def create_basket(handlers: Handlers, user: str, product_id: str, lines: int = 1) -> None:
    items = [{"productId": product_id, "quantity": q + 1} for q in range(lines)]
    response = handlers.call("basket", http_event("POST", "POST /basket", body={"userName": user, "items": items}))
    expect(response, 200, f"POST /basket for {user}")


@contextmanager
def captured(service: str, operation: str) -> Iterator[list[dict[str, Any]]]:
    """The parameters of every `service` `operation` call made by any botocore client in the block."""
    calls: list[dict[str, Any]] = []
    original = BaseClient._make_api_call

    def capturing(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == service and operation_name == operation:
            calls.append(copy.deepcopy(api_params))
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = capturing
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original


def checkout_envelope(ctx: Context, handlers: Handlers) -> dict[str, Any]:
    """An EventBridge event exactly as checkout publishes it, in the envelope the rule puts on the queue."""

    def build() -> dict[str, Any]:
        product_id = create_product(handlers, 0)
        user = f"template-{uuid.uuid4().hex[:8]}"
        create_basket(handlers, user, product_id)
        with captured("events", "PutEvents") as calls:
            response = handlers.call("basket", http_event("POST", "POST /basket/checkout", body=checkout_body(user)))
        expect(response, 202, "POST /basket/checkout")
        if len(calls) != 1 or len(calls[0]["Entries"]) != 1:
            raise RuntimeError(f"checkout published {calls!r}, expected one PutEvents with one entry")
        entry = calls[0]["Entries"][0]
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "account": "000000000000",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "us-east-1",
            "resources": [],
            "detail": json.loads(entry["Detail"]),
        }

    return ctx.cached("checkout_envelope", build)


def order_message(template: dict[str, Any], user: str, i: int) -> dict[str, Any]:
    """A distinct checkout for `user` cloned from a real one: new checkout id, a later time."""
    message = copy.deepcopy(template)
    message["id"] = str(uuid.uuid4())
    detail = message["detail"]
    # Checkout ids are uuid5 (derived from basket and version, ARCHITECTURE.md); the consumer checks the form.
    detail["checkoutId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench:{message['id']}"))
    detail["userName"] = user
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i, microseconds=i)
    stamp = at.isoformat(timespec="microseconds")
    # Keep the template's spelling of UTC ("Z" or "+00:00"): the consumer may validate it.
    detail["checkedOutAt"] = (
        stamp.replace("+00:00", "Z") if str(detail.get("checkedOutAt", "")).endswith("Z") else stamp
    )
    return message
