"""The CheckoutBasket contract: one model for producer, consumer and schema, and every accepted basket an order."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import jsonschema
import pytest
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from handlers.shared import contract, events
from tests.handlers.helpers import contact, delivered, orders_of, product_body
from tests.kit.events import LambdaContext, envelope, sqs_record, unique

pytestmark = pytest.mark.handlers

PRICES = st.decimals(min_value=0, max_value=contract.MAX_UNIT_PRICE, places=2, allow_nan=False, allow_infinity=False)
QUANTITIES = st.integers(min_value=1, max_value=contract.MAX_QUANTITY)
COLOURS = [f"colour-{i}" for i in range(contract.MAX_LINES)]


@hypothesis_settings(max_examples=12)
@given(
    prices=st.lists(PRICES, min_size=1, max_size=3),
    lines=st.lists(st.tuples(st.integers(0, 2), st.integers(0, contract.MAX_LINES - 1), QUANTITIES), min_size=1),
)
# The largest basket the API accepts: 50 lines of 99 units at the highest unit price.
@example(prices=[contract.MAX_UNIT_PRICE], lines=[(0, i, contract.MAX_QUANTITY) for i in range(contract.MAX_LINES)])
# A total of 10 digits, which the consumer once refused after the producer had accepted it.
@example(prices=[Decimal("1000000.00")], lines=[(0, 0, 10)])
def test_every_basket_the_api_accepts_becomes_an_order_with_its_total(call, stack, services, prices, lines):
    # Given products at these prices, and a basket of these lines (product, colour, quantity), as the API takes it
    products = [call("POST", "/product", product_body(price=price)).json["id"] for price in prices]
    items = {(products[p % len(products)], COLOURS[c]): q for p, c, q in lines}  # one line per product and colour
    user = unique("big")
    body = {"userName": user, "items": [{"productId": p, "color": c, "quantity": q} for (p, c), q in items.items()]}
    basket = call("POST", "/basket", body)
    assert basket.status == 200, f"POST /basket of {len(items)} lines for {user}: {basket}"
    # When it is checked out and the event the rule delivers is consumed
    accepted = call("POST", "/basket/checkout", contact(user))
    assert accepted.status == 202, f"checkout of {user}: {accepted}"
    record = delivered(stack, accepted.json["checkoutId"])
    failures = services.ordering.handler({"Records": [sqs_record(record, "m")]}, LambdaContext())["batchItemFailures"]
    # Then it is exactly one order, with the total the client was told
    assert failures == [], f"checkout {accepted.json['checkoutId']} of {user} refused by the consumer"
    (order,) = orders_of(call, user)
    price_of = dict(zip(products, prices, strict=False))
    expected = sum((price_of[p] * q for (p, _), q in items.items()), Decimal("0"))
    assert order["totalPrice"] == accepted.json["totalPrice"] == expected, f"order of {user}: {order['totalPrice']}"
    jsonschema.Draft202012Validator(events.json_schema()).validate(json.loads(record)["detail"])


def test_a_basket_that_cannot_become_an_order_is_refused_and_kept(call, stack, services):
    # Given a basket stored under older limits: a line of 150 units, which no order may have
    product = call("POST", "/product", product_body(price=1)).json
    user = unique("legacy")
    line = {"productId": product["id"], "productName": product["name"], "quantity": 150, "price": Decimal("1")}
    stack.table("basket").put_item(
        Item={"userName": user, "basketId": unique("b"), "version": 1, "items": [line], "totalPrice": Decimal("150")}
    )
    bus = services.basket.events()
    published = []
    bus.put_events = lambda **kwargs: published.append(kwargs)
    try:
        # When it is checked out
        reply = call("POST", "/basket/checkout", contact(user))
    finally:
        del bus.put_events
    # Then the checkout is refused with a 422 naming the line, nothing is published, and the basket is kept
    assert reply.status == 422 and reply.json["error"] == "VALIDATION_ERROR", f"checkout of {user}: {reply}"
    assert any("quantity" in problem["loc"] for problem in reply.json["details"]), f"checkout of {user}: {reply}"
    assert published == [], f"checkout of {user} published {published}"
    assert call("GET", f"/basket/{user}").json["items"][0]["quantity"] == 150, f"basket of {user} after the 422"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_the_consumer_logs_each_failed_record_with_its_checkout_id_and_reason(services):
    # Given a batch with a record whose total is not the sum of its lines, and one that is not JSON
    detail = {
        "schemaVersion": 1,
        "checkoutId": "00000000-0000-5000-8000-00000000beef",
        "userName": unique("u"),
        "items": [{"productId": "p1", "productName": "P", "quantity": 3, "price": Decimal("0.10")}],
        "totalPrice": Decimal("0.31"),
        "firstName": "A",
        "lastName": "B",
        "email": "a@b.co",
        "address": "x",
        "paymentMethod": "CARD",
        "checkedOutAt": "2025-01-01T00:00:00.000000Z",
    }
    captured = _Records()
    services.ordering.logger.addHandler(captured)
    try:
        # When the consumer processes it
        response = services.ordering.handler(
            {"Records": [sqs_record(envelope(detail), "wrong-total"), sqs_record("{oops", "not-json")]}, LambdaContext()
        )
    finally:
        services.ordering.logger.removeHandler(captured)
    # Then both are reported back, and each is logged at WARNING with its checkoutId and the reason
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == ["wrong-total", "not-json"]
    warnings = {r.__dict__.get("messageId"): r for r in captured.records if r.levelno == logging.WARNING}
    assert set(warnings) == {"wrong-total", "not-json"}, f"WARNING records: {[r.__dict__ for r in captured.records]}"
    assert warnings["wrong-total"].__dict__["checkoutId"] == detail["checkoutId"]
    assert "totalPrice is not the sum" in warnings["wrong-total"].__dict__["reason"]
    assert warnings["not-json"].__dict__["checkoutId"] is None
    assert "invalid" in warnings["not-json"].__dict__["reason"].lower(), warnings["not-json"].__dict__["reason"]
