"""A shopper's whole journey over real HTTP: catalogue, basket, checkout, and the order the event becomes."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
import requests

from localcloud.seed import CATALOGUE
from tests.kit.cloud import LocalCloud
from tests.kit.polling import eventually

pytestmark = pytest.mark.e2e


def _create_product(cloud: LocalCloud, http: requests.Session, name: str, price: str, category: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "description": "e2e",
        "imageFile": f"{name}.png",
        "price": float(price),
        "category": category,
    }
    response = http.post(f"{cloud.api}/product", json=body, headers=cloud.admin(), timeout=30)
    assert response.status_code == 201, f"POST /product {body}: {response.status_code} {response.text}"
    assert response.headers["Location"].endswith(response.json()["id"]), "POST /product: Location names the new id"
    return response.json()


def test_seed_loads_the_sample_catalogue(local_cloud: LocalCloud, http: requests.Session) -> None:
    # Given the local cloud started with --seed
    category = CATALOGUE[0]["category"]
    # When a client lists that category
    response = http.get(f"{local_cloud.api}/product", params={"category": category, "limit": 100}, timeout=30)
    # Then every sample product of it is there
    assert response.status_code == 200, f"GET /product?category={category}: {response.text}"
    names = {p["name"] for p in response.json()["items"]}
    expected = {p["name"] for p in CATALOGUE if p["category"] == category}
    assert expected <= names, f"GET /product?category={category}: seeded {expected}, listed {names}"


def test_checkout_becomes_exactly_one_order(local_cloud: LocalCloud, http: requests.Session) -> None:
    api = local_cloud.api
    # Given two products of a category no other test uses
    category = f"e2e-{uuid.uuid4().hex[:8]}"
    pen = _create_product(local_cloud, http, "pen", "1.10", category)
    ink = _create_product(local_cloud, http, "ink", "2.35", category)
    listed = http.get(f"{api}/product", params={"category": category}, timeout=30)
    assert listed.status_code == 200, f"GET /product?category={category}: {listed.text}"
    assert {p["id"] for p in listed.json()["items"]} == {pen["id"], ink["id"]}, f"GET /product?category={category}"

    # And a signed-in user's basket of 3 pens and 1 ink, priced by the catalogue
    user = f"e2e-{uuid.uuid4().hex[:12]}"
    signed_in = local_cloud.auth(user)
    items = [{"productId": pen["id"], "quantity": 3}, {"productId": ink["id"], "quantity": 1}]
    basket = http.post(f"{api}/basket", json={"userName": user, "items": items}, headers=signed_in, timeout=30)
    assert basket.status_code == 200, f"POST /basket: {basket.text}"
    expected_total = Decimal("1.10") * 3 + Decimal("2.35")
    assert basket.json(parse_float=Decimal)["totalPrice"] == expected_total, f"POST /basket: {basket.text}"

    # When the user checks out
    buyer = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "address": "1 Loop St"}
    checkout = http.post(
        f"{api}/basket/checkout",
        json={"userName": user, **buyer, "paymentMethod": "card"},
        headers=signed_in,
        timeout=30,
    )

    # Then the checkout is accepted, the basket is gone, and exactly one order appears with the basket's total
    assert checkout.status_code == 202, f"POST /basket/checkout: {checkout.status_code} {checkout.text}"
    accepted = checkout.json(parse_float=Decimal)
    assert accepted["status"] == "ACCEPTED" and accepted["totalPrice"] == expected_total, checkout.text
    gone = http.get(f"{api}/basket/{user}", headers=signed_in, timeout=30)
    assert gone.status_code == 404, f"GET /basket/{user} after checkout: {gone.status_code} {gone.text}"

    def orders() -> list[dict] | None:
        response = http.get(f"{api}/order/{user}", headers=signed_in, timeout=30)
        assert response.status_code == 200, f"GET /order/{user}: {response.text}"
        return response.json(parse_float=Decimal)["items"] or None

    placed = eventually(orders, deadline=30, what=f"an order for {user} (checkout {accepted['checkoutId']})")
    assert len(placed) == 1, f"GET /order/{user}: one checkout, {len(placed)} orders: {placed}"
    order = placed[0]
    assert order["orderId"] == accepted["checkoutId"], f"GET /order/{user}: {order}"
    assert order["totalPrice"] == expected_total, f"GET /order/{user}: {order}"
    assert [(line["productId"], line["quantity"]) for line in order["items"]] == [
        (pen["id"], 3),
        (ink["id"], 1),
    ], f"GET /order/{user}: {order}"
    # And the console shows the consumer's record of it, one readable line prefixed with the function
    # (and the id of the invocation that wrote it)
    local_cloud.read_until(rf"^ordering\s+[0-9a-f]{{8}} \| INFO order placed orderId={order['orderId']}$", deadline=10)
