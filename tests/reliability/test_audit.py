"""The run's books: after every other reliability test (conftest orders this one last), nothing lost, nothing
duplicated, nothing unexpected, no unprovoked 5xx, and the DLQ holds exactly the poison events. Run alone, it makes
checkouts of its own first, so there is always something to audit."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from decimal import Decimal

from tests.kit.polling import eventually
from tests.reliability.reliability_kit import Cloud, Report

# Checkouts the audit makes itself when the run accepted none (the audit run alone, or with -k): books with nothing
# in them would pass whatever the system does.
OWN_CHECKOUTS = 3


# A request the ordering function answers without touching data (no authorizer claims: 401), to start its worker.
_WARM_UP = {
    "version": "2.0",
    "routeKey": "GET /order",
    "rawPath": "/order",
    "rawQueryString": "",
    "headers": {},
    "requestContext": {
        "accountId": "000000000000",
        "apiId": "audit",
        "domainName": "localhost",
        "http": {"method": "GET", "path": "/order", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "a"},
        "requestId": "audit-warm-up",
        "routeKey": "GET /order",
        "stage": "$default",
        "time": "01/Jan/2025:00:00:00 +0000",
        "timeEpoch": 1735689600000,
    },
    "isBase64Encoded": False,
}


def _warm_the_consumer(cloud: Cloud) -> None:
    """The run's other tests leave the consumer warm. Alone, its first batches would be cold starts, which on a busy
    machine outlast the 1 s timeout this stack gives it: every delivery of a checkout times out, and after
    maxReceiveCount of them it is dead-lettered though its order was written. The audit is about the books, not
    cold starts (bench/ measures those), so it starts the consumer's `live` worker first, as the queue invokes it."""
    functions = cloud.client("lambda")

    def warm() -> bool | None:
        result = functions.invoke(
            FunctionName=cloud.consumer_name, Qualifier="live", Payload=json.dumps(_WARM_UP).encode()
        )
        return True if "FunctionError" not in result else None

    eventually(warm, what=f"a warm {cloud.consumer_name}", deadline=60, interval=0.5)


def _check_out_baskets_of_our_own(cloud: Cloud) -> None:
    _warm_the_consumer(cloud)
    product = cloud.api.create_product("19.99", category=f"audit-{uuid.uuid4().hex[:10]}")
    for quantity in range(1, OWN_CHECKOUTS + 1):
        user = f"audit-{uuid.uuid4().hex[:10]}"
        cloud.api.set_basket(user, [(product, quantity)])
        response = cloud.api.checkout(user)
        assert response.status_code == 202, f"checkout of {user}: {response.status_code} {response.text}"


def test_every_accepted_checkout_is_one_order_and_the_dlq_holds_only_the_poison(cloud: Cloud, report: Report) -> None:
    # Given every checkout the run's clients were told was accepted (202), some of our own if there were none,
    # once the queue has drained
    if not report.accepted:
        _check_out_baskets_of_our_own(cloud)
    assert report.accepted, "no accepted checkout to audit: the report saw no 202 from POST /basket/checkout"
    cloud.drained(deadline=90)

    def all_placed() -> list[dict] | None:
        orders = cloud.all_orders()
        placed = {o["orderId"] for o in orders}
        return orders if set(report.accepted) <= placed else None

    try:
        orders = eventually(all_placed, what="an order for every accepted checkout", deadline=30, interval=0.5)
    except TimeoutError:
        orders = cloud.all_orders()  # the books below say which are missing
    # When the order table and the dead-letter queues are read
    count = Counter(o["orderId"] for o in orders)
    totals = {o["orderId"]: Decimal(o["totalPrice"]) for o in orders}
    lost = sorted(
        f"{a.checkout_id} ({a.user_name}, {a.by})" for a in report.accepted.values() if not count[a.checkout_id]
    )
    duplicated = {checkout_id: n for checkout_id, n in count.items() if n > 1}
    unexpected = sorted(set(count) - set(report.accepted))
    wrong_total = sorted(
        f"{a.checkout_id}: accepted {a.total}, ordered {totals[a.checkout_id]}"
        for a in report.accepted.values()
        if a.checkout_id in totals and totals[a.checkout_id] != a.total
    )
    dead = sorted(json.loads(m["Body"])["detail"]["checkoutId"] for m in cloud.peek(cloud.dlq_url))
    undelivered = cloud.depth(cloud.delivery_dlq_url)
    report.audit = {
        "orders_expected": len(report.accepted),
        "orders_found": len(orders),
        "orders_lost": len(lost),
        "orders_duplicated": len(duplicated),
        "orders_unexpected": len(unexpected),
        "orders_wrong_total": len(wrong_total),
        "dlq": dead,
        "poison_published": sorted(report.poisons),
        "bus_delivery_dlq": undelivered,
    }
    # Then each accepted checkout is exactly one order, with the total the client was told
    assert not lost, f"accepted checkouts without an order: {lost}"
    assert not duplicated, f"checkouts with more than one order: {duplicated}"
    assert not unexpected, f"orders of no accepted checkout: {unexpected}"
    assert not wrong_total, f"orders whose total is not the accepted one: {wrong_total}"
    # And the DLQ holds exactly the poison, the bus delivered everything, and no 5xx was a surprise
    assert dead == sorted(report.poisons), f"DLQ holds {dead}, the run published poison {sorted(report.poisons)}"
    assert undelivered == 0, f"{undelivered} events in the bus's delivery DLQ"
    assert not report.unexpected_5xx, f"unprovoked 5xx: {report.unexpected_5xx}"
