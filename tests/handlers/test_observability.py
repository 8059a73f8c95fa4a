"""Business metrics, as the EMF lines CloudWatch reads from the functions' logs; the consumer's log correlation;
the trace annotations."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.handlers.helpers import Reply, contact, delivered, product_body
from tests.kit.events import LambdaContext, sqs_record, unique

pytestmark = pytest.mark.handlers


def emf(output: str) -> list[dict[str, Any]]:
    """The embedded-metric-format records among the printed lines."""
    records = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            record = json.loads(line)
            if "CloudWatchMetrics" in record["_aws"]:
                records.append(record)
    return records


def values(records: list[dict[str, Any]], name: str, **dimensions: str) -> list[float]:
    found: list[float] = []
    for record in records:
        if all(record.get(k) == v for k, v in dimensions.items()) and name in record:
            value = record[name]
            found.extend(value if isinstance(value, list) else [value])
    return found


def _basket_of_one(call: Callable[..., Reply], prefix: str, name: str, price: float, quantity: int = 1) -> str:
    """A new user whose basket holds `quantity` of a new product `name` at `price`; returns the user's name."""
    product = call("POST", "/product", product_body(name=name, price=price)).json
    user = unique(prefix)
    reply = call("POST", "/basket", {"userName": user, "items": [{"productId": product["id"], "quantity": quantity}]})
    assert reply.status == 200, f"POST /basket of {user}: {reply}"
    return user


def test_a_checkout_and_its_order_publish_value_count_and_lag_once(call, stack, services, capsys) -> None:
    user = _basket_of_one(call, "m", "Metric lamp", 2.5, quantity=2)
    capsys.readouterr()
    # When the basket is checked out
    reply = call("POST", "/basket/checkout", contact(user))
    assert reply.status == 202, f"checkout of {user}: {reply}"
    records = emf(capsys.readouterr().out)
    # Then the basket function published one accepted checkout of 5.00, under the stack's dimension
    assert values(records, "CheckoutsAccepted", stack=stack.environment["STACK_NAME"]) == [1.0], (
        f"EMF after checkout: {records}"
    )
    assert values(records, "CheckoutValue") == [5.0], f"EMF after checkout: {records}"
    assert all(r["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ecommerce" for r in records), records

    # When the consumer places its order, and then receives the same event again
    body = delivered(stack, reply.json["checkoutId"])
    services.ordering.handler({"Records": [sqs_record(body, "m1")]}, LambdaContext())
    placed = emf(capsys.readouterr().out)
    services.ordering.handler({"Records": [sqs_record(body, "m2")]}, LambdaContext())
    duplicate = emf(capsys.readouterr().out)
    # Then one order placed with its lag from the checkout, and nothing for the duplicate
    assert values(placed, "OrdersPlaced") == [1.0], f"EMF after the order: {placed}"
    (lag,) = values(placed, "OrderLagMs")
    assert lag >= 0, f"OrderLagMs {lag}"
    assert values(duplicate, "OrdersPlaced") == [], f"EMF after a duplicate delivery: {duplicate}"


def test_refused_checkouts_are_counted_by_reason(call, capsys) -> None:
    nobody = unique("nobody")
    capsys.readouterr()
    # When a user without a basket checks out
    assert call("POST", "/basket/checkout", contact(nobody)).status == 404
    # Then one refused checkout with the reason the client was told
    records = emf(capsys.readouterr().out)
    assert values(records, "CheckoutsRefused", reason="NOT_FOUND") == [1.0], f"EMF after a 404 checkout: {records}"


def test_each_consumed_record_logs_under_its_checkout_id(call, stack, services, monkeypatch) -> None:
    user = _basket_of_one(call, "c", "Traced lamp", 1.5)
    reply = call("POST", "/basket/checkout", contact(user))
    assert reply.status == 202, f"checkout of {user}: {reply}"
    body = delivered(stack, reply.json["checkoutId"])
    logger = services.ordering.logger
    logged: list[tuple[str, str | None]] = []
    info = logger.info

    def recording(message: str, *args: Any, **kwargs: Any) -> None:
        logged.append((message, logger.get_correlation_id()))
        info(message, *args, **kwargs)

    monkeypatch.setattr(logger, "info", recording)
    # When the consumer places the order from the SQS record
    services.ordering.handler({"Records": [sqs_record(body, "c1")]}, LambdaContext())
    # Then its "order placed" line is logged under the checkoutId as the correlation id, and the id is cleared after
    assert ("order placed", reply.json["checkoutId"]) in logged, (
        f"consumer log lines (message, correlation id): {logged}"
    )
    assert logger.get_correlation_id() is None, "the record's correlation id outlived the record"


class FakeTracer:
    """What handlers.shared.tracing asks of Powertools' Tracer, recording the annotations per (sub)segment."""

    def __init__(self) -> None:
        self.annotations: list[tuple[str, str, str]] = []  # (segment, key, value)
        self.provider = self

    def put_annotation(self, key: str, value: str) -> None:
        self.annotations.append(("handler", key, value))

    @contextlib.contextmanager
    def in_subsegment(self, name: str) -> Iterator[Any]:
        tracer = self

        class Segment:
            def put_annotation(self, key: str, value: str) -> None:
                tracer.annotations.append((name, key, value))

        yield Segment()


def test_with_tracing_on_the_checkout_and_each_consumed_record_carry_the_checkout_id(
    call, stack, services, monkeypatch
) -> None:
    from handlers.shared import tracing

    user = _basket_of_one(call, "t", "Annotated lamp", 3.0)
    # Given tracing on (a tracer the helpers find)
    fake = FakeTracer()
    monkeypatch.setattr(tracing, "tracer", lambda: fake)
    # When the basket is checked out and the consumer places its order
    reply = call("POST", "/basket/checkout", contact(user))
    assert reply.status == 202, f"checkout of {user}: {reply}"
    checkout_id = reply.json["checkoutId"]
    body = delivered(stack, checkout_id)
    services.ordering.handler({"Records": [sqs_record(body, "t1")]}, LambdaContext())
    # Then the checkout's segment and the record's own subsegment are annotated with the checkoutId
    assert ("handler", "checkoutId", checkout_id) in fake.annotations, fake.annotations
    assert ("## place_order", "checkoutId", checkout_id) in fake.annotations, fake.annotations
