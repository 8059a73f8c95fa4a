"""A model of the shop, and hypothesis driving the real one over HTTP beside it.

Rules create, reprice and delete products, set and delete baskets, check out (again, as a client that lost
the answer does), retry a checkout the bus refused, and race two checkouts of one basket. After every step the
baskets are what the model says and every answer was the one the model expected (never a 5xx); at the end, once
the queue has drained, every accepted checkout is exactly one order with the model's total.

Each example has its own users and category, so examples share the stack without interfering.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

import requests
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.kit.faults import failed_entries
from tests.reliability.reliability_kit import Cloud

PRICES = st.decimals(min_value=0, max_value=500, places=2, allow_nan=False, allow_infinity=False)
QUANTITIES = st.integers(min_value=1, max_value=99)
USERS = st.integers(min_value=0, max_value=1)
# (index into the products created so far, quantity); an index with no product yet names one that never existed.
LINES = st.lists(st.tuples(st.integers(min_value=0, max_value=20), QUANTITIES), min_size=1, max_size=3)
MISSING_PRODUCT = "never-created"
MAX_UNITS = 99  # of one product in a basket


@dataclass
class Basket:
    lines: list[tuple[str, int]]
    prices: list[Decimal]  # unit prices when it was written: a basket shows those, a checkout reprices
    version: int

    @property
    def total(self) -> Decimal:
        return sum((price * q for price, (_, q) in zip(self.prices, self.lines, strict=True)), Decimal("0"))


@dataclass(frozen=True)
class Expected:
    user: str
    checkout_id: str
    total: Decimal


class Shop(RuleBasedStateMachine):
    cloud: ClassVar[Cloud]
    accepted: ClassVar[list[Expected]] = []

    def __init__(self) -> None:
        super().__init__()
        tag = uuid.uuid4().hex[:10]
        self.users = [f"model-{tag}-{i}" for i in range(2)]
        self.category = f"model-{tag}"
        self.products: list[str] = []  # every product created, deleted ones too
        self.prices: dict[str, Decimal] = {}  # live products only
        self.baskets: dict[str, Basket] = {}
        self.checked_out: dict[str, Expected] = {}  # users whose basket was checked out and not written since
        self.versions: dict[str, int] = {}  # each user's last basket version: a checkout keeps counting, a delete not
        self.dirty: set[str] = set()  # users whose basket the next invariant check reads
        self.cloud.report.examples["model"] += 1

    # --- the catalogue ---

    @initialize(prices=st.lists(PRICES, min_size=1, max_size=3), picks=LINES)
    def open_the_shop(self, prices: list[Decimal], picks: list[tuple[int, int]]) -> None:
        # Ten steps are few: starting with a catalogue and a basket leaves them for what can go wrong.
        for price in prices:
            self.create_product(price)
        self.set_basket(0, picks)

    @rule(price=PRICES)
    def create_product(self, price: Decimal) -> None:
        response = self.cloud.api.post("/product", {"name": "Thing", "price": price, "category": self.category})
        self._expect(response, 201)
        product = response.json(parse_float=Decimal)
        assert Decimal(product["price"]) == price, f"created {product}, asked for price {price}"
        self.products.append(product["id"])
        self.prices[product["id"]] = price
        self.dirty.update(self.baskets)

    @precondition(lambda self: self.products)
    @rule(pick=st.integers(min_value=0), price=PRICES)
    def reprice_product(self, pick: int, price: Decimal) -> None:
        product = self.products[pick % len(self.products)]
        response = self.cloud.api.put(f"/product/{product}", {"price": price})
        self._expect(response, 200 if product in self.prices else 404)
        if product in self.prices:
            self.prices[product] = price
        self.dirty.update(self.baskets)

    @precondition(lambda self: self.products)
    @rule(pick=st.integers(min_value=0))
    def delete_product(self, pick: int) -> None:
        product = self.products[pick % len(self.products)]
        self._expect(self.cloud.api.delete(f"/product/{product}"), 204 if product in self.prices else 404)
        self.prices.pop(product, None)
        self.dirty.update(self.baskets)

    # --- baskets ---

    @rule(user=USERS, picks=LINES)
    def set_basket(self, user: int, picks: list[tuple[int, int]]) -> None:
        name = self.users[user]
        self.dirty.add(name)
        sent = [(self._product(i), q) for i, q in picks]
        body = {"userName": name, "items": [{"productId": p, "quantity": q} for p, q in sent]}
        response = self.cloud.api.post("/basket", body)
        # The basket merges the lines of one product, in the order they first appear; 1-99 units of it in all.
        merged: dict[str, int] = {}
        for product, quantity in sent:
            merged[product] = merged.get(product, 0) + quantity
        lines = list(merged.items())
        if any(p not in self.prices or q > MAX_UNITS for p, q in lines):
            self._expect(response, 422)
            return
        self._expect(response, 200)
        self.checked_out.pop(name, None)
        self.versions[name] = self.versions.get(name, 0) + 1
        self.baskets[name] = Basket(lines, [self.prices[p] for p, _ in lines], self.versions[name])

    @rule(user=USERS)
    def empty_basket(self, user: int) -> None:
        self.set_basket(user, [])

    @rule(user=USERS)
    def delete_basket(self, user: int) -> None:
        name = self.users[user]
        self.dirty.add(name)
        self._expect(self.cloud.api.delete(f"/basket/{name}"), 204 if name in self.baskets else 404)
        if self.baskets.pop(name, None) is not None:
            self.versions.pop(name, None)

    # --- checkout ---

    @rule(user=USERS)
    def check_out(self, user: int) -> None:
        name = self.users[user]
        self._settle(name, [self.cloud.api.checkout(name)])

    @precondition(lambda self: self._checkoutable())
    @rule(user=USERS)
    def retry_a_checkout_the_bus_refused(self, user: int) -> None:
        name = self._checkoutable()[user % len(self._checkoutable())]
        with self.cloud.report.expecting_503(), self.cloud.proxy.injecting("AWSEvents.PutEvents", failed_entries()):
            self._expect(self.cloud.api.checkout(name), 503)
        self._settle(name, [self.cloud.api.checkout(name)])

    @precondition(lambda self: self.baskets)
    @rule(user=USERS)
    def race_two_checkouts(self, user: int) -> None:
        name = sorted(self.baskets)[user % len(self.baskets)]
        start = threading.Barrier(2)
        responses: list[requests.Response] = []

        def attempt() -> None:
            start.wait()
            responses.append(self.cloud.api.checkout(name))

        threads = [threading.Thread(target=attempt) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self._settle(name, responses)

    # --- invariants ---

    @invariant()
    def baskets_are_what_the_model_says(self) -> None:
        # Only what the last step could have changed: the baskets it wrote, or all after a catalogue change
        # (which must leave stored baskets as they are). Teardown checks every basket once more.
        for name in sorted(self.dirty):
            response = self.cloud.api.get(f"/basket/{name}")
            basket = self.baskets.get(name)
            if basket is None:
                self._expect(response, 404)
                continue
            self._expect(response, 200)
            stored = response.json(parse_float=Decimal)
            lines = [(line["productId"], line["quantity"]) for line in stored["items"]]
            prices = [Decimal(line["price"]) for line in stored["items"]]
            assert (lines, prices, stored["version"]) == (basket.lines, basket.prices, basket.version), (
                f"basket of {name}: stored {lines} at {prices} v{stored['version']}, model {basket}"
            )
            assert Decimal(stored["totalPrice"]) == basket.total, f"basket of {name}: {stored['totalPrice']}"
        self.dirty.clear()

    def teardown(self) -> None:
        self.dirty.update(self.users)
        self.baskets_are_what_the_model_says()
        # The orders are awaited once for all examples, after the last (test_checkouts_become_exactly_one_order);
        # what can be checked now without waiting is that none is duplicated or unexpected.
        mine = {e.checkout_id for e in self.accepted if e.user in self.users}
        for name in self.users:
            orders = [o["orderId"] for o in self.cloud.orders_of(name)]
            assert len(orders) == len(set(orders)) and set(orders) <= mine, f"orders of {name}: {orders}"

    # --- the model's side ---

    def _product(self, index: int) -> str:
        return self.products[index % len(self.products)] if self.products else MISSING_PRODUCT

    def _checkoutable(self) -> list[str]:
        return [name for name in self.users if self._refusal(name) is None]

    def _refusal(self, name: str) -> int | None:
        """The status a checkout of `name`'s basket gets, or None if it is accepted."""
        basket = self.baskets.get(name)
        if basket is None:
            return 404
        if not basket.lines or any(p not in self.prices for p, _ in basket.lines):
            return 409
        return None

    def _settle(self, name: str, responses: list[requests.Response]) -> None:
        """Check concurrent checkouts of `name` against the model: one accepted checkout at most, the model's total."""
        self.dirty.add(name)
        if name not in self.baskets and name in self.checked_out:
            # Checked out before: every checkout is told that same checkout again, and nothing new is accepted.
            done = self.checked_out[name]
            for response in responses:
                self._expect(response, 202)
                body = response.json(parse_float=Decimal)
                assert (body["checkoutId"], Decimal(str(body["totalPrice"]))) == (done.checkout_id, done.total), (
                    f"checkout of {name} again: {body}, model {done}"
                )
            return
        refusal = self._refusal(name)
        if refusal is not None:
            for response in responses:
                self._expect(response, refusal)
            return
        basket = self.baskets.pop(name)
        total = sum((self.prices[p] * q for p, q in basket.lines), Decimal("0"))
        accepted = {r.json()["checkoutId"] for r in responses if r.status_code == 202}
        statuses = [r.status_code for r in responses]
        # One checkout is accepted; one racing it sees the same checkout, or the basket gone (404) or changed (409).
        assert set(statuses) <= {202, 404, 409} and len(accepted) == 1, f"checkouts of {name}: {statuses} {accepted}"
        for response in responses:
            if response.status_code == 202:
                assert Decimal(str(response.json()["totalPrice"])) == total, (
                    f"checkout of {name}: total {response.json()['totalPrice']}, model {total}"
                )
        self.accepted.append(Expected(name, accepted.pop(), total))
        self.checked_out[name] = self.accepted[-1]

    def _expect(self, response: requests.Response, status: int) -> None:
        request = response.request
        assert response.status_code == status, (
            f"{request.method} {request.path_url} {request.body!r:.200}: {response.status_code} (model: {status})"
            f" {response.text[:300]}"
        )


def test_the_shop_behaves_like_its_model(cloud: Cloud, slow: bool) -> None:
    Shop.cloud = cloud
    run_state_machine_as_test(
        Shop,
        settings=settings(
            max_examples=500 if slow else 100,
            stateful_step_count=20 if slow else 10,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_every_checkout_the_model_accepted_became_exactly_one_order(cloud: Cloud) -> None:
    assert Shop.accepted, "the model accepted no checkout: the state machine explores too little"
    cloud.drained()
    for expected in Shop.accepted:
        order = cloud.exactly_one_order(expected.user, expected.checkout_id)
        assert Decimal(order["totalPrice"]) == expected.total, f"order {expected.checkout_id}: {order}, {expected}"
    for user in {e.user for e in Shop.accepted}:
        ids = [o["orderId"] for o in cloud.orders_of(user)]
        assert sorted(ids) == sorted(e.checkout_id for e in Shop.accepted if e.user == user), f"orders of {user}"
