"""What a checkout costs in AWS calls: the basket is read and pinned in one UpdateItem, never read first.

Each call is a round trip on the checkout's latency; the guarantees (404, 409, 422 with the basket kept, a retry
told the same checkout) are tested in test_basket_and_orders.py and test_checkout_contract.py.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

pytestmark = pytest.mark.handlers

CONTACT = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "email": "ada@example.com",
    "address": "1 Analytical St",
    "paymentMethod": "CARD",
}


@contextmanager
def counted(*clients: Any) -> Iterator[Counter[str]]:
    """Counts the API calls the clients send (by operation name) while inside."""
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    for client in clients:
        client.meta.events.register("before-call", count)
    try:
        yield calls
    finally:
        for client in clients:
            client.meta.events.unregister("before-call", count)


def _basket(call: Any) -> str:
    product = call(
        "POST", "/product", {"name": "Tea", "description": "", "imageFile": "", "price": 2.5, "category": "drinks"}
    )
    assert product.status == 201, f"POST /product: {product}"
    user = f"rt-{uuid.uuid4().hex[:8]}"
    basket = call("POST", "/basket", {"userName": user, "items": [{"productId": product.json["id"], "quantity": 2}]})
    assert basket.status == 200, f"POST /basket of {user}: {basket}"
    return user


def test_a_checkout_reads_and_pins_the_basket_in_one_update(call, services):
    # Given a filled basket
    user = _basket(call)
    basket_client, bus = services.basket.baskets.client, services.basket.events()
    # When it is checked out
    with counted(basket_client, bus) as calls:
        reply = call("POST", "/basket/checkout", {"userName": user, **CONTACT})
    # Then it is accepted after four calls: pin (returning the basket), price, publish, mark; no read before the pin
    assert reply.status == 202, f"checkout of {user}: {reply}"
    assert dict(calls) == {"UpdateItem": 2, "BatchGetItem": 1, "PutEvents": 1}, f"checkout of {user} called {calls}"


def test_a_retried_checkout_is_answered_from_the_one_update(call, services):
    # Given a basket checked out already
    user = _basket(call)
    first = call("POST", "/basket/checkout", {"userName": user, **CONTACT})
    assert first.status == 202, f"checkout of {user}: {first}"
    # When the client retries it
    with counted(services.basket.baskets.client, services.basket.events()) as calls:
        second = call("POST", "/basket/checkout", {"userName": user, **CONTACT})
    # Then the refused pin's answer (the marker) tells the same checkout, and nothing else is called
    assert (second.status, second.json) == (202, first.json), f"checkouts of {user}: {first} then {second}"
    assert dict(calls) == {"UpdateItem": 1}, f"retried checkout of {user} called {calls}"
