"""A sample catalogue and a basket, loaded through the API as a client would (so validated like any request)."""

from __future__ import annotations

from typing import Any

import requests

# Prices are what a client sends: JSON numbers with at most two decimals.
CATALOGUE: list[dict[str, Any]] = [
    {"name": "IPhone X", "category": "Smart Phone", "price": 950.40, "imageFile": "product-1.png"},
    {"name": "Samsung 10", "category": "Smart Phone", "price": 840.00, "imageFile": "product-2.png"},
    {"name": "Huawei Plus", "category": "White Appliances", "price": 650.00, "imageFile": "product-3.png"},
    {"name": "Xiaomi Mi 9", "category": "White Appliances", "price": 470.00, "imageFile": "product-4.png"},
    {"name": "HTC U11+ Plus", "category": "Smart Phone", "price": 380.00, "imageFile": "product-5.png"},
    {"name": "LG G7 ThinQ", "category": "Home Kitchen", "price": 240.00, "imageFile": "product-6.png"},
]


def seed(base_url: str, admin_token: str, session: requests.Session | None = None) -> list[dict[str, Any]]:
    """POST every sample product as an admin (the catalogue is theirs to change); returns the created products."""
    http = session or requests.Session()
    created = []
    for product in CATALOGUE:
        body = {**product, "description": f"A sample of {product['category'].lower()}"}
        headers = {"Authorization": f"Bearer {admin_token}"}
        response = http.post(f"{base_url}/product", json=body, headers=headers, timeout=30)
        if response.status_code != 201:
            raise RuntimeError(f"seeding {product['name']!r} failed: {response.status_code} {response.text}")
        created.append(response.json())
    return created


def sample_basket(
    base_url: str, token: str, user: str, products: list[dict[str, Any]], session: requests.Session | None = None
) -> dict[str, Any]:
    """PUT a basket of the first two products (2 and 1 units) as `user`, ready to check out; returns it."""
    http = session or requests.Session()
    items = [{"productId": p["id"], "quantity": q} for p, q in zip(products[:2], (2, 1), strict=False)]
    response = http.post(
        f"{base_url}/basket",
        json={"userName": user, "items": items},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    if response.status_code != 200:
        raise RuntimeError(f"the sample basket of {user} failed: {response.status_code} {response.text}")
    return dict(response.json())
