"""Races: many clients at once on one basket."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import requests

from tests.kit.events import unique
from tests.reliability.reliability_kit import Cloud

FUNCTION = "aws:lambda/function:Function"
UPDATE_ITEM = "DynamoDB_20120810.UpdateItem"
WARM_UP_ROUNDS = 3
THROTTLED_FOR_AT_MOST = 120.0  # seconds a thread keeps re-sending a throttled request: bounded, never a hang
BACK_OFF_BASE, BACK_OFF_CAP = 0.1, 2.0  # seconds


def _all_at_once(count: int, call: Callable[[int], requests.Response]) -> list[requests.Response]:
    """`call(0..count-1)` from `count` threads released together, so the requests really overlap.

    A request the basket function's reserved concurrency throttles (429) never ran: each thread sends it again,
    as a client of the real API should, after an exponential back-off with full jitter (AWS's advice), so the
    throttled threads do not flood the emulator that is busy with the ones running.
    """
    start = threading.Barrier(count)

    def run(i: int) -> requests.Response:
        start.wait()
        response = call(i)
        deadline = time.monotonic() + THROTTLED_FOR_AT_MOST
        attempt = 0
        while response.status_code == 429 and time.monotonic() < deadline:
            time.sleep(random.uniform(0, min(BACK_OFF_CAP, BACK_OFF_BASE * 2**attempt)))
            attempt += 1
            response = call(i)
        return response

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def _basket_concurrency(cloud: Cloud) -> int:
    """How many basket functions may run at once: the reservation the deployed graph gives it."""
    function = next(
        f for f in cloud.deployment.resources(FUNCTION) if (f.inputs.get("tags") or {}).get("service") == "basket"
    )
    return int(function.inputs["reservedConcurrentExecutions"])


def _warm_basket_workers(cloud: Cloud, user: str) -> None:
    """Rounds of concurrent reads of `user`'s basket, as many as may run at once, until one round is served whole.

    The race under test is on the basket table. Without this, the first requests of the burst also start new
    function workers at once, which on 2 busy cores can take longer than the function's timeout: that measures
    the machine, not the race. The warm-up's own failures are the machine's too, so they are not counted as bugs.
    """
    count = _basket_concurrency(cloud)
    with cloud.report.expecting(502, 503, 504):
        for _ in range(WARM_UP_ROUNDS):
            statuses = _all_at_once(count, lambda _: cloud.api.get(f"/basket/{user}"))
            if all(response.status_code < 500 for response in statuses):
                return


def test_twenty_parallel_checkouts_of_one_basket_become_exactly_one_order(cloud: Cloud) -> None:
    # Given one basket of 3 x 4.20
    user = unique("race-checkout")
    cloud.api.set_basket(user, [(cloud.api.create_product("4.20"), 3)])
    _warm_basket_workers(cloud, user)
    # When 20 clients check it out at the same moment
    responses = _all_at_once(20, lambda _: cloud.api.checkout(user))
    # Then every answer is 202 (the same checkout), 404 (already gone) or 409 (changed under it), never a 5xx
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {202, 404, 409}, f"checkout of {user} x20: {statuses}"
    accepted = {(r.json()["checkoutId"], r.json()["totalPrice"]) for r in responses if r.status_code == 202}
    assert len(accepted) == 1, f"checkout of {user} x20 accepted as {accepted}"
    ((checkout_id, total),) = accepted
    assert Decimal(str(total)) == Decimal("12.60"), f"checkout {checkout_id} total {total}"
    # And exactly one order exists, once the queue has drained
    cloud.exactly_one_order(user, checkout_id)
    cloud.drained()
    assert len(cloud.orders_of(user)) == 1, f"orders of {user}: {cloud.orders_of(user)}"


def test_fifty_parallel_writes_of_one_basket_leave_one_of_them_with_a_consistent_version(cloud: Cloud) -> None:
    # Given 50 different baskets for one user who has none yet
    user = unique("race-write")
    products = [cloud.api.create_product(price) for price in ("1.00", "2.50", "9.99")]
    writes = [[(products[i % 3], 1 + i)] for i in range(50)]
    _warm_basket_workers(cloud, user)
    reaching_the_table = cloud.proxy.record(UPDATE_ITEM)

    def write(i: int) -> requests.Response:
        return cloud.api.post(
            "/basket", {"userName": user, "items": [{"productId": p, "quantity": q} for p, q in writes[i]]}
        )

    # When all 50 are written at once
    responses = _all_at_once(50, write)
    # Then each write succeeded as a version of its own: 1 to 50, however often the SDK re-sent a late write
    failed = [f"{r.status_code} {r.text[:100]}" for r in responses if r.status_code != 200]
    assert not failed, f"POST /basket for {user}: {failed}"
    answered = sorted(r.json()["version"] for r in responses)
    assert answered == list(range(1, 51)), f"versions answered for {user}: {answered}"
    stored = cloud.api.get(f"/basket/{user}").json(parse_float=Decimal)
    attempts = [w for w in reaching_the_table if w.get("Key") == {"userName": {"S": user}}]
    assert stored["version"] == 50, (
        f"basket of {user}: version {stored['version']} after 50 writes ({len(attempts)} UpdateItem sends)"
    )
    # And the stored basket is the write answered last, with that version
    last = next(r.json(parse_float=Decimal) for r in responses if r.json()["version"] == answered[-1])
    assert stored["version"] == answered[-1], f"basket of {user} is version {stored['version']}, answered {answered}"
    assert stored["items"] == last["items"] and stored["totalPrice"] == last["totalPrice"], (
        f"basket of {user} is {stored['items']}, but version {answered[-1]} was written as {last['items']}"
    )
    assert len({r.json()["basketId"] for r in responses}) == 1, f"basket of {user} got more than one basketId"
