"""The API's access rules as a table: for every route, the status each kind of caller gets; and the methods each
path answers.

Shared by the handler suite (claims handed to the functions in-process, and no claims at all: a route deployed
without its authorizer) and the e2e suite (real tokens through the local cloud's HTTP API and its JWT
authorizer). Each case runs on fresh state: a product, and a basket of user A's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CALLERS = ("anonymous", "customer A", "customer B", "admin")


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # {product} and {a} are filled in with the case's product id and user A's name
    body: str | None  # "product", "patch", "basket", "checkout": built by the suite for user A
    expected: tuple[int, int, int, int]  # anonymous, A, B, admin


MATRIX = (
    Case("GET", "/product", None, (200, 200, 200, 200)),
    Case("GET", "/product/{product}", None, (200, 200, 200, 200)),
    Case("POST", "/product", "product", (401, 403, 403, 201)),
    Case("PUT", "/product/{product}", "patch", (401, 403, 403, 200)),
    Case("DELETE", "/product/{product}", None, (401, 403, 403, 204)),
    Case("GET", "/basket", None, (401, 403, 403, 200)),
    Case("POST", "/basket", "basket", (401, 200, 403, 403)),
    Case("GET", "/basket/{a}", None, (401, 200, 403, 200)),
    Case("DELETE", "/basket/{a}", None, (401, 204, 403, 204)),
    Case("POST", "/basket/checkout", "checkout", (401, 202, 403, 403)),
    Case("GET", "/order", None, (401, 403, 403, 200)),
    Case("GET", "/order/{a}", None, (401, 200, 403, 200)),
)

# A path some route serves, asked with a method none of its routes has: 405, `Allow` naming the methods they have.
WRONG_METHODS = [
    ("PATCH", "/product/p1", "DELETE, GET, HEAD, PUT"),
    ("DELETE", "/product", "GET, HEAD, POST"),
    ("PUT", "/basket", "GET, HEAD, POST"),
    ("POST", "/order", "GET, HEAD"),
    ("POST", "/order/someone", "GET, HEAD"),
    ("PUT", "/basket/checkout", "DELETE, GET, HEAD, POST"),  # also /basket/{userName}'s path
]

CASES = [(case, caller, status) for case in MATRIX for caller, status in zip(CALLERS, case.expected, strict=True)]
CASE_IDS = [f"{case.method} {case.path} as {caller}" for case, caller, _ in CASES]


def body_for(kind: str | None, user: str, product_id: str) -> dict[str, Any] | None:
    """A valid body of that kind, naming user A where a body names a user."""
    if kind is None:
        return None
    bodies: dict[str, dict[str, Any]] = {
        "product": {"name": "Lamp", "price": 12.5, "category": "access"},
        "patch": {"price": 13},
        "basket": {"userName": user, "items": [{"productId": product_id, "quantity": 1}]},
        "checkout": {
            "userName": user,
            "firstName": "Ada",
            "lastName": "Lovelace",
            "email": "ada@example.com",
            "address": "1 Analytical St",
            "paymentMethod": "CARD",
        },
    }
    return bodies[kind]
