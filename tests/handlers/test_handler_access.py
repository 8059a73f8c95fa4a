"""Who may call what, enforced by the handlers themselves (defence in depth behind the API's JWT authorizer)."""

from __future__ import annotations

import pytest

from tests.access_matrix import CASE_IDS, CASES, Case, body_for
from tests.handlers.helpers import product_body
from tests.kit.events import ADMIN, claims_of, unique

pytestmark = pytest.mark.handlers


def _claims(caller: str, a: str, b: str) -> dict[str, str] | None:
    return {
        "anonymous": None,  # no claims: the route was reached without its authorizer
        "customer A": claims_of(a),
        "customer B": claims_of(b),
        "admin": claims_of(ADMIN, admin=True),
    }[caller]


@pytest.mark.parametrize(("case", "caller", "expected"), CASES, ids=CASE_IDS)
def test_each_route_answers_each_caller_as_the_rules_say(call, case: Case, caller: str, expected: int) -> None:
    # Given a product, and a basket of customer A's
    a, b = unique("a"), unique("b")
    product = call("POST", "/product", product_body(price=2)).json["id"]
    basket = call("POST", "/basket", {"userName": a, "items": [{"productId": product, "quantity": 1}]})
    assert basket.status == 200, f"basket of {a}: {basket}"
    # When the caller makes the request
    path = case.path.format(product=product, a=a)
    reply = call(case.method, path, body_for(case.body, a, product), claims=_claims(caller, a, b))
    # Then the answer is the one the rules give, and a refusal is in the API's error shape
    assert reply.status == expected, f"{case.method} {path} as {caller}: {reply}"
    if expected in (401, 403):
        assert reply.json["error"] == {401: "UNAUTHORIZED", 403: "FORBIDDEN"}[expected], reply


def test_a_basket_written_without_a_user_name_is_the_callers(call):
    # Given a signed-in customer and a product
    user = unique("u")
    product = call("POST", "/product", product_body(price=3)).json["id"]
    # When they write a basket and check out without naming a user
    written = call("POST", "/basket", {"items": [{"productId": product, "quantity": 2}]}, claims=claims_of(user))
    contact = {k: v for k, v in (body_for("checkout", user, product) or {}).items() if k != "userName"}
    accepted = call("POST", "/basket/checkout", contact, claims=claims_of(user))
    # Then the basket and the checkout are theirs
    assert (written.status, written.json["userName"]) == (200, user), f"POST /basket as {user}: {written}"
    assert (accepted.status, accepted.json["userName"]) == (202, user), f"checkout as {user}: {accepted}"


def test_an_admin_is_refused_another_users_basket_writes_and_checkouts(call):
    # Given a product and a customer
    user = unique("u")
    product = call("POST", "/product", product_body(price=3)).json["id"]
    admin = claims_of(ADMIN, admin=True)
    # When an admin writes or checks out that customer's basket, Then both are refused (own basket only)
    for path, kind in (("/basket", "basket"), ("/basket/checkout", "checkout")):
        reply = call("POST", path, body_for(kind, user, product), claims=admin)
        assert reply.status == 403 and reply.json["error"] == "FORBIDDEN", f"POST {path} for {user} as admin: {reply}"
