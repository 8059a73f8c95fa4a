"""Faults on the running system: the bus, DynamoDB and the consumer fail; nothing is lost and nothing duplicated.

Faults reach the functions through the FaultProxy their AWS calls go through; the test's own clients go to the
emulator directly, so they see the truth.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from handlers.shared.aws import SDK_ATTEMPTS
from tests.kit.events import unique
from tests.kit.faults import aws_error, failed_entries, on_table, throttled
from tests.kit.polling import eventually
from tests.kit.processes import kill_workers
from tests.reliability.reliability_kit import Cloud

PUT_EVENTS = "AWSEvents.PutEvents"
PUT_ITEM = "DynamoDB_20120810.PutItem"
GET_ITEM = "DynamoDB_20120810.GetItem"
UPDATE_ITEM = "DynamoDB_20120810.UpdateItem"


def _basket(cloud: Cloud, prefix: str, price: str = "12.50", quantity: int = 2) -> tuple[str, dict[str, Any]]:
    user = unique(prefix)
    product = cloud.api.create_product(price)
    return user, cloud.api.set_basket(user, [(product, quantity)])


def _assert_unavailable(response: Any, what: str) -> None:
    assert response.status_code == 503, f"{what}: {response.status_code} {response.text}"
    assert response.json()["error"] == "SERVICE_UNAVAILABLE", f"{what}: {response.text}"


def _assert_kept(cloud: Cloud, user: str, basket: dict[str, Any]) -> None:
    kept = cloud.api.get(f"/basket/{user}")
    assert kept.status_code == 200, f"basket of {user} after a refused checkout: {kept.status_code} {kept.text}"
    body = kept.json(parse_float=Decimal)
    assert (body["version"], body["items"]) == (basket["version"], basket["items"]), f"basket of {user} changed"


def _accepted(response: Any, what: str) -> str:
    assert response.status_code == 202, f"{what}: {response.status_code} {response.text}"
    return str(response.json()["checkoutId"])


def test_bus_rejecting_the_entry_answers_503_keeps_the_basket_and_the_retry_becomes_one_order(cloud: Cloud) -> None:
    # Given a basket of 2 x 12.50
    user, basket = _basket(cloud, "bus-rejects")
    # When the bus answers PutEvents with FailedEntryCount=1
    with cloud.report.expecting_503(), cloud.proxy.injecting(PUT_EVENTS, failed_entries()) as rule:
        refused = cloud.api.checkout(user)
    # Then the checkout is refused with a 503 (a 200 with failed entries is not retried by the SDK), the basket kept
    _assert_unavailable(refused, f"checkout of {user} while the bus rejects entries")
    assert rule.matched == 1, f"PutEvents calls answered with a failed entry: {rule.matched}"
    _assert_kept(cloud, user, basket)
    # And when the client retries once the bus accepts again, the checkout becomes exactly one order
    checkout_id = _accepted(cloud.api.checkout(user), f"retried checkout of {user}")
    order = cloud.exactly_one_order(user, checkout_id)
    assert Decimal(order["totalPrice"]) == Decimal("25.00"), f"order {checkout_id}: {order}"


@pytest.mark.parametrize("forward", [False, True], ids=["the bus is down", "the bus's answers are lost"])
def test_a_failed_publish_is_a_503_that_keeps_the_basket_and_the_retry_is_one_order(
    cloud: Cloud, forward: bool
) -> None:
    # Given a basket
    user, basket = _basket(cloud, "publish-failed")
    # When every PutEvents fails with 500 InternalFailure: without reaching the bus, or after the event went out
    with (
        cloud.report.expecting_503(),
        cloud.proxy.injecting(PUT_EVENTS, aws_error(500, "InternalFailure"), forward=forward) as rule,
    ):
        refused = cloud.api.checkout(user)
    # Then the function retried as configured, then answered 503 and kept the basket (although, when the answers
    # were lost, SDK_ATTEMPTS identical events are on the bus)
    _assert_unavailable(refused, f"checkout of {user} while PutEvents fails (reaching the bus: {forward})")
    assert rule.matched == SDK_ATTEMPTS, f"PutEvents attempts: {rule.matched}, configured {SDK_ATTEMPTS}"
    _assert_kept(cloud, user, basket)
    # And when the client retries, it gets one checkout, and all those events are one order
    checkout_id = _accepted(cloud.api.checkout(user), f"retried checkout of {user}")
    cloud.exactly_one_order(user, checkout_id)
    cloud.drained()
    assert len(cloud.orders_of(user)) == 1, f"orders of {user}: {cloud.orders_of(user)}"


def test_transient_throttling_is_absorbed_by_the_sdk_retries(cloud: Cloud) -> None:
    # Given a basket
    user, _ = _basket(cloud, "throttled-once")
    # When the basket table throttles the next two writes (UpdateItem)
    rule = cloud.proxy.inject(UPDATE_ITEM, throttled(), times=2, when=on_table(cloud.tables["basket"]))
    response = cloud.api.checkout(user)
    # Then the client never notices: 202 and one order
    assert rule.matched == 2, f"throttled UpdateItem calls: {rule.matched}"
    checkout_id = _accepted(response, f"checkout of {user} under transient throttling")
    cloud.exactly_one_order(user, checkout_id)


@pytest.mark.parametrize("code", ["ThrottlingException", "ProvisionedThroughputExceededException"])
def test_a_throttled_basket_table_answers_503_and_loses_nothing(cloud: Cloud, code: str) -> None:
    # Given a basket
    user, basket = _basket(cloud, "throttled")
    # When the basket table throttles every write
    with (
        cloud.report.expecting_503(),
        cloud.proxy.injecting(UPDATE_ITEM, throttled(code), when=on_table(cloud.tables["basket"])),
    ):
        refused = cloud.api.checkout(user)
    # Then checkout answers 503 with nothing published, and the basket is kept
    _assert_unavailable(refused, f"checkout of {user} while the basket table throttles ({code})")
    _assert_kept(cloud, user, basket)
    # And once the table recovers, the checkout becomes one order
    checkout_id = _accepted(cloud.api.checkout(user), f"retried checkout of {user}")
    cloud.exactly_one_order(user, checkout_id)


def test_a_throttled_product_table_answers_503_and_creates_nothing(cloud: Cloud) -> None:
    # Given a category of its own
    category = unique("throttled-category")
    # When the product table throttles every PutItem
    with (
        cloud.report.expecting_503(),
        cloud.proxy.injecting(
            PUT_ITEM, throttled("ProvisionedThroughputExceededException"), when=on_table(cloud.tables["product"])
        ),
    ):
        refused = cloud.api.post("/product", {"name": "Ghost", "price": 1, "category": category})
    # Then the client is told 503 and no product exists
    _assert_unavailable(refused, "POST /product while the product table throttles")
    listed = cloud.api.get("/product", params={"category": category})
    assert listed.status_code == 200 and listed.json()["items"] == [], f"category {category}: {listed.text}"


def test_a_throttled_order_table_delays_the_order_and_loses_nothing(cloud: Cloud) -> None:
    # Given the order table throttles every PutItem
    rule = cloud.proxy.inject(PUT_ITEM, throttled(), when=on_table(cloud.tables["ordering"]))
    user, _ = _basket(cloud, "consumer-throttled")
    # When a checkout is accepted and the consumer has tried (and failed) to write its order
    checkout_id = _accepted(cloud.api.checkout(user), f"checkout of {user}")
    eventually(lambda: rule.matched >= SDK_ATTEMPTS or None, what="the consumer's PutItem attempts", deadline=20)
    assert cloud.orders_of(user) == [], f"an order of {user} was written through the throttle"
    assert cloud.depth(cloud.queue_url) >= 1, "the failed event left the queue"
    # Then once the table recovers, the redelivered event becomes exactly one order
    cloud.proxy.remove(rule)
    cloud.exactly_one_order(user, checkout_id, deadline=60)


def test_an_event_delivered_twice_becomes_one_order(cloud: Cloud) -> None:
    # Given a checkout whose published event we keep
    published = cloud.proxy.record(PUT_EVENTS)
    user, _ = _basket(cloud, "duplicated")
    checkout_id = _accepted(cloud.api.checkout(user), f"checkout of {user}")
    (entry,) = [e for body in published for e in body["Entries"] if checkout_id in e["Detail"]]
    # When the bus delivers the very same event twice more
    events = cloud.client("events")
    for _ in range(2):
        result = events.put_events(Entries=[{k: entry[k] for k in ("Source", "DetailType", "Detail", "EventBusName")}])
        assert result["FailedEntryCount"] == 0, f"republishing {checkout_id}: {result}"
    # Then there is still exactly one order
    cloud.exactly_one_order(user, checkout_id)
    cloud.drained()
    assert len(cloud.orders_of(user)) == 1, f"orders of {user}: {cloud.orders_of(user)}"


def test_the_consumer_killed_mid_batch_loses_and_duplicates_nothing(cloud: Cloud) -> None:
    lambda_ = cloud.client("lambda")
    # Given five accepted checkouts waiting in the queue (the consumer paused, so they form one batch)
    lambda_.update_event_source_mapping(UUID=cloud.mapping_uuid, Enabled=False)
    try:
        checkouts = {}
        for _ in range(5):
            user, _ = _basket(cloud, "crash")
            checkouts[user] = _accepted(cloud.api.checkout(user), f"checkout of {user}")
        eventually(lambda: cloud.depth(cloud.queue_url) >= 5 or None, what="five events queued")
        # When the consumer's first order write is in flight and its worker is SIGKILLed
        hold = cloud.proxy.hold(PUT_ITEM, when=on_table(cloud.tables["ordering"]))
    finally:
        lambda_.update_event_source_mapping(UUID=cloud.mapping_uuid, Enabled=True)
    hold.wait_for_held(1)
    killed = kill_workers(cloud.emulator.process.pid, cloud.consumer_name)
    # ...and the write it had sent still lands (the crash came between the write and the acknowledgement)
    hold.release(forward=True)
    assert killed, f"no worker of {cloud.consumer_name} to kill"
    # Then after the visibility timeout the batch is redelivered, and every checkout is exactly one order
    for user, checkout_id in checkouts.items():
        cloud.exactly_one_order(user, checkout_id, deadline=60)
    cloud.drained()
    for user in checkouts:
        assert len(cloud.orders_of(user)) == 1, f"orders of {user}: {cloud.orders_of(user)}"


def test_a_poison_event_is_tried_max_receive_count_times_then_dead_lettered(cloud: Cloud) -> None:
    # Given an order
    user, _ = _basket(cloud, "poisoned")
    checkout_id = _accepted(cloud.api.checkout(user), f"checkout of {user}")
    order = cloud.exactly_one_order(user, checkout_id)
    # When an event of another checkout claims the same order key (user and checkout time): it can never succeed
    poison = str(uuid.uuid5(uuid.NAMESPACE_URL, f"poison:{uuid.uuid4()}"))  # a well-formed checkoutId
    cloud.report.poisons.add(poison)
    detail = {
        "schemaVersion": 1,
        "checkoutId": poison,
        "userName": user,
        "items": [{"productId": "p-1", "productName": "Poison", "quantity": 1, "price": 1}],
        "totalPrice": 1,
        "firstName": "Eve",
        "lastName": "Mallory",
        "email": "eve@example.org",
        "address": "nowhere",
        "paymentMethod": "CARD",
        "checkedOutAt": order["orderDate"],
    }
    tries = cloud.proxy.record(GET_ITEM)
    result = cloud.client("events").put_events(
        Entries=[
            {
                "Source": "ecommerce.basket",
                "DetailType": "CheckoutBasket",
                "Detail": json.dumps(detail),
                "EventBusName": cloud.bus_name,
            }
        ]
    )
    assert result["FailedEntryCount"] == 0, f"publishing the poison: {result}"

    # Then it reaches the DLQ after maxReceiveCount receives, never tried more often (each try that reaches the
    # handler reads the order that holds the key; on a saturated machine a receive can also end in the consumer's
    # 1 s timeout during a cold start, before the read: SQS counts that receive, the table sees no try)
    def in_dlq() -> dict[str, Any] | None:
        messages = [m for m in cloud.peek(cloud.dlq_url) if poison in m["Body"]]
        return messages[0] if messages else None

    dead = eventually(in_dlq, what=f"poison {poison} in the DLQ", deadline=30 + 15 * cloud.max_receive_count)
    reads = [body for body in tries if body.get("TableName") == cloud.tables["ordering"]]
    assert 1 <= len(reads) <= cloud.max_receive_count, (
        f"the poison was tried {len(reads)} times, maxReceiveCount {cloud.max_receive_count}"
    )
    assert int(dead["Attributes"]["ApproximateReceiveCount"]) >= cloud.max_receive_count, dead["Attributes"]
    # And the order that holds the key is untouched, and the poison made no order
    (kept,) = cloud.orders_of(user)
    assert kept == order, f"order of {user} changed: {kept}"
