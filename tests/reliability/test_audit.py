"""The run's books: after every other reliability test (conftest orders this one last), nothing lost, nothing
duplicated, nothing unexpected, no unprovoked 5xx, and the DLQ holds exactly the poison events."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal

from reliability_kit import Cloud, Report

from tests.kit.polling import eventually


def test_every_accepted_checkout_is_one_order_and_the_dlq_holds_only_the_poison(cloud: Cloud, report: Report) -> None:
    # Given every checkout the run's clients were told was accepted (202), once the queue has drained
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
