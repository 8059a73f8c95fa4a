"""Basket routes, checkout and the ordering consumer: exactly one order per accepted checkout."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
import requests
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.stub import Stubber

from localcloud.graph import PROJECT_DIR
from tests.handlers.helpers import Reply, contact, delivered, orders_of, product_body
from tests.kit.events import LambdaContext, envelope, sqs_record, unique

pytestmark = pytest.mark.handlers

SCHEMA = json.loads((PROJECT_DIR / "schemas" / "checkout-basket.v1.json").read_text())


@pytest.fixture
def products(call):
    """Two catalogue products: 0.10 and 0.20."""
    return [call("POST", "/product", product_body(name=f"P{price}", price=price)).json for price in (0.1, 0.2)]


def fill(call, user, products, quantities=(3, 1)):
    items = [{"productId": p["id"], "quantity": q} for p, q in zip(products, quantities, strict=True)]
    reply = call("POST", "/basket", {"userName": user, "items": items})
    assert reply.status == 200, f"POST /basket for {user}: {reply}"
    return reply.json


def consume(services, *bodies):
    records = [sqs_record(body, f"m{i}") for i, body in enumerate(bodies)]
    response = services.ordering.handler({"Records": records}, LambdaContext())
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def test_basket_is_priced_from_the_catalogue_exactly(call, products):
    user = unique("u")
    # 3 x 0.10 + 1 x 0.20 = 0.50, exactly
    basket = fill(call, user, products)
    assert basket["totalPrice"] == Decimal("0.5"), f"basket of {user}: {basket}"
    lines = [(i["productName"], i["price"]) for i in basket["items"]]
    assert lines == [("P0.1", Decimal("0.1")), ("P0.2", Decimal("0.2"))], f"basket of {user}: {basket}"
    assert basket["version"] == 1
    # Replacing it keeps the basket id and bumps the version
    again = fill(call, user, products, (1, 1))
    assert (again["basketId"], again["version"]) == (basket["basketId"], 2)
    assert call("GET", f"/basket/{user}").json == again


@contextlib.contextmanager
def _hooked(client: Any, event: str, hook: Callable[..., None]) -> Iterator[None]:
    """`hook` runs first on botocore's `event` (e.g. before-send.dynamodb.UpdateItem) of `client`, for the block."""
    client.meta.events.register_first(event, hook)
    try:
        yield
    finally:
        client.meta.events.unregister(event, hook)


def _answer_lost_once(client, then=None):
    """A botocore hook on the basket writes: the first UpdateItem reaches DynamoDB but its answer is lost (so the SDK
    sends it again), and `then()` runs between the lost answer and the re-send. Returns (hook, sends)."""
    sends = []

    def hook(request, **_):
        sends.append(request.body)
        if len(sends) == 1:
            requests.request(request.method, request.url, headers=dict(request.headers), data=request.body, timeout=5)
            if then is not None:
                then()
            raise ReadTimeoutError(endpoint_url=request.url)

    return hook, sends


def test_a_basket_write_sent_twice_by_the_sdk_is_one_version(call, services, products, stack):
    # Given a basket write whose first send reaches DynamoDB but whose answer is lost, so the SDK sends it again
    user = unique("u")
    client = services.basket.baskets.client
    hook, sends = _answer_lost_once(client)
    with _hooked(client, "before-send.dynamodb.UpdateItem", hook):
        # When the basket is written
        basket = fill(call, user, products)
    # Then both sends reached the table, yet the basket is at its first version, as answered
    assert len(sends) == 2, f"UpdateItem sends for the basket of {user}: {len(sends)}"
    stored = stack.table("basket").get_item(Key={"userName": user})["Item"]
    assert basket["version"] == stored["version"] == 1, f"basket of {user}: answered {basket}, stored {stored}"
    assert not [key for key in basket if key.startswith("write")], f"basket of {user} shows its bookkeeping: {basket}"


def test_an_old_write_re_sent_after_a_newer_write_is_not_applied_again(call, services, products, stack):
    # Given a basket write A whose answer is lost, and another write B of the same basket applied before the SDK
    # re-sends A (under load the re-send of a late write can arrive after newer ones)
    user = unique("u")
    client = services.basket.baskets.client
    newer = []

    def write_b():
        newer.append(
            call("POST", "/basket", {"userName": user, "items": [{"productId": products[1]["id"], "quantity": 7}]})
        )

    hook, sends = _answer_lost_once(client, then=write_b)
    with _hooked(client, "before-send.dynamodb.UpdateItem", hook):
        # When A is written
        a = fill(call, user, products)
    (b,) = newer
    # Then A was sent twice, A is answered as version 1 and B as version 2
    assert len(sends) == 3, f"UpdateItem sends for the basket of {user} (A, B, A again): {len(sends)}"
    assert (a["version"], b.status, b.json["version"]) == (1, 200, 2), f"basket of {user}: A {a}, B {b}"
    # And the basket is B, at version 2: A's late re-send did not apply A a second time
    stored = call("GET", f"/basket/{user}").json
    assert (stored["version"], stored["items"]) == (2, b.json["items"]), f"basket of {user}: {stored}"


def test_a_write_racing_another_is_applied_on_top_of_it(call, services, products):
    # Given a write A of a new basket, and a write B of the same basket that lands just before A's
    user = unique("u")
    client = services.basket.baskets.client
    newer: list[Reply] = []

    started: list[bool] = []

    def b_first(**_):
        if not started:  # A's first send; B's own send passes
            started.append(True)
            body = {"userName": user, "items": [{"productId": products[1]["id"], "quantity": 2}]}
            newer.append(call("POST", "/basket", body))

    with _hooked(client, "before-send.dynamodb.UpdateItem", b_first):
        # When A is written
        a = fill(call, user, products)
    # Then B created the basket (version 1) and A was applied on top of it (version 2), neither retried
    (b,) = newer
    assert (b.status, b.json["version"], a["version"]) == (200, 1, 2), f"basket of {user}: B {b}, A {a}"
    assert a["basketId"] == b.json["basketId"], f"basket of {user} got two basketIds: B {b}, A {a}"
    stored = call("GET", f"/basket/{user}").json
    assert stored == a, f"basket of {user}: stored {stored}, A answered {a}"


def test_writes_conditioned_on_an_etag(call, products):
    # Given a basket and its ETag
    user = unique("u")
    item = [{"productId": products[0]["id"], "quantity": 1}]
    created = call("POST", "/basket", {"userName": user, "items": item}, headers={"if-none-match": "*"})
    assert created.status == 200 and created.headers.get("etag"), f"POST /basket If-None-Match: * for {user}: {created}"
    etag = created.headers["etag"]
    assert call("GET", f"/basket/{user}").headers.get("etag") == etag, f"GET /basket/{user} ETag"
    # When it is written again on that ETag, Then the write applies and the ETag changes
    second = call("POST", "/basket", {"userName": user, "items": item * 1}, headers={"if-match": etag})
    assert second.status == 200 and second.headers["etag"] != etag, f"POST /basket If-Match {etag}: {second}"
    # When a write is conditioned on the old ETag, or on there being no basket, Then it is refused with 412
    for headers in ({"if-match": etag}, {"if-none-match": "*"}):
        stale = call("POST", "/basket", {"userName": user, "items": []}, headers=headers)
        assert stale.status == 412 and stale.json["error"] == "PRECONDITION_FAILED", f"POST /basket {headers}: {stale}"
    # And the basket is the second write
    stored = call("GET", f"/basket/{user}")
    assert (stored.json["version"], stored.headers["etag"]) == (2, second.headers["etag"]), (
        f"basket of {user}: {stored}"
    )
    # And If-Match may name several ETags (weak ones too), one of which is current
    listed = call(
        "POST",
        "/basket",
        {"userName": user, "items": item},
        headers={"if-match": f'"x.1", W/{etag}, {second.headers["etag"]}'},
    )
    assert listed.status == 200, f"POST /basket If-Match with the current ETag among others: {listed}"
    # And If-Match on a user with no basket is 412 too
    nobody = unique("nobody")
    reply = call("POST", "/basket", {"userName": nobody, "items": item}, headers={"if-match": "*"})
    assert reply.status == 412, f"POST /basket If-Match: * for {nobody}, who has no basket: {reply}"


def test_old_write_entries_are_forgotten_and_recent_ones_kept(call, products, stack):
    # Given a basket carrying 20 write entries of two minutes ago and one of now (its last write)
    user = unique("u")
    fill(call, user, products)
    table = stack.table("basket")
    item = table.get_item(Key={"userName": user})["Item"]
    (recent,) = [key for key in item if key.startswith("write:")]
    old = {f"write:2000-01-01T00:00:{i:02d}.000000Z:old{i}": i for i in range(20)}
    table.put_item(Item={**item, **old})
    # When the basket is written again
    again = fill(call, user, products, (2, 2))
    # Then the old entries are gone, the recent ones kept, and the write applied once
    entries = {key for key in table.get_item(Key={"userName": user})["Item"] if key.startswith("write:")}
    assert not entries & set(old) and recent in entries and len(entries) == 2, f"write entries of {user}: {entries}"
    assert again["version"] == 2, f"basket of {user}: {again}"


def test_lines_of_one_product_and_colour_are_merged_within_the_limit(call, products):
    user = unique("u")
    first, second = (p["id"] for p in products)
    # Given lines that repeat a product (and a colour)
    items = [
        {"productId": first, "quantity": 60},
        {"productId": second, "quantity": 1, "color": "red"},
        {"productId": first, "quantity": 30},
        {"productId": second, "quantity": 2, "color": "red"},
        {"productId": second, "quantity": 4, "color": "blue"},
    ]
    # When the basket is written, Then each product and colour is one line with the summed quantity
    reply = call("POST", "/basket", {"userName": user, "items": items})
    assert reply.status == 200, f"POST /basket {items}: {reply}"
    lines = [(i["productId"], i.get("color"), i["quantity"]) for i in reply.json["items"]]
    assert lines == [(first, None, 90), (second, "red", 3), (second, "blue", 4)], f"basket of {user}: {lines}"
    assert reply.json["totalPrice"] == Decimal("10.40"), f"basket of {user}: {reply.json}"
    # And 60 + 60 of one product is 120 units: refused, as a single line of 120 would be
    too_many = [{"productId": first, "quantity": 60}, {"productId": first, "quantity": 60}]
    reply = call("POST", "/basket", {"userName": user, "items": too_many})
    assert reply.status == 422 and "120" in reply.json["message"] + str(reply.json.get("details")), (
        f"POST /basket {too_many}: {reply}"
    )
    assert call("GET", f"/basket/{user}").json["version"] == 1, f"basket of {user} changed by a refused write"


def test_client_prices_and_unknown_products_are_rejected(call, products):
    user = unique("u")
    sneaky = call(
        "POST", "/basket", {"userName": user, "items": [{"productId": products[0]["id"], "quantity": 1, "price": 0}]}
    )
    assert sneaky.status == 422, f"POST /basket with a client price: {sneaky}"
    missing = unique("nope")
    unknown = call("POST", "/basket", {"userName": user, "items": [{"productId": missing, "quantity": 1}]})
    assert unknown.status == 422 and missing in unknown.json["message"], f"POST /basket with {missing}: {unknown}"
    assert call("GET", f"/basket/{user}").status == 404


@pytest.mark.parametrize("quantity", [0, 100, 1.5, "2"])
def test_quantity_must_be_1_to_99(call, products, quantity):
    reply = call(
        "POST", "/basket", {"userName": unique("u"), "items": [{"productId": products[0]["id"], "quantity": quantity}]}
    )
    assert reply.status == 422, f"quantity {quantity!r}: {reply}"


def test_basket_list_get_delete(call, products):
    user = unique("u")
    fill(call, user, products)
    assert any(b["userName"] == user for b in _all(call, "/basket")), f"{user} not listed by GET /basket"
    assert call("DELETE", f"/basket/{user}").status == 204
    assert call("DELETE", f"/basket/{user}").status == 404
    assert call("GET", f"/basket/{user}").status == 404
    assert call("GET", "/basket/bad name!").status == 400


def _all(call, path):
    items, cursor = [], None
    while True:
        reply = call("GET", path, query={"limit": "100", **({"cursor": cursor} if cursor else {})})
        assert reply.status == 200, f"GET {path}: {reply}"
        items += reply.json["items"]
        cursor = reply.json["nextCursor"]
        if cursor is None:
            return items


def test_checkout_publishes_a_valid_event_that_becomes_exactly_one_order(call, stack, services, products):
    user = unique("u")
    fill(call, user, products)
    # When the basket is checked out
    reply = call("POST", "/basket/checkout", contact(user))
    assert reply.status == 202, f"checkout of {user}: {reply}"
    assert reply.json["status"] == "ACCEPTED" and reply.json["totalPrice"] == Decimal("0.5")
    assert call("GET", f"/basket/{user}").status == 404, "basket kept after checkout"
    # Then the stack's rule delivered the event to the queue, and its detail validates against the schema
    body = delivered(stack, reply.json["checkoutId"])
    event = json.loads(body)
    assert (event["source"], event["detail-type"]) == ("ecommerce.basket", "CheckoutBasket")
    assert event["source"] in stack.rule_pattern["source"] and event["detail-type"] in stack.rule_pattern["detail-type"]
    jsonschema.Draft202012Validator(SCHEMA).validate(event["detail"])
    # And consuming it twice makes one order
    assert consume(services, body) == []
    assert consume(services, body, body) == []
    orders = orders_of(call, user)
    assert len(orders) == 1, f"orders of {user}: {orders}"
    order = orders[0]
    assert order["orderId"] == reply.json["checkoutId"] and order["status"] == "PLACED"
    assert order["totalPrice"] == Decimal("0.5") and order["email"] == "ada@example.com"
    assert call("GET", f"/order/{user}", query={"orderDate": order["orderDate"]}).json["items"] == [order]


def test_a_retried_checkout_publishes_the_same_event_and_makes_one_order(call, stack, services, products):
    user = unique("u")
    fill(call, user, products)
    published = []
    bus = services.basket.events()
    real = bus.put_events

    def put_then_fail(**kwargs):
        published.append(real(**kwargs))
        raise bus.exceptions.InternalException({"Error": {"Code": "InternalException"}}, "PutEvents")

    # Given a PutEvents that delivered but answered with an error (the client cannot know which)
    bus.put_events = put_then_fail
    try:
        first = call("POST", "/basket/checkout", contact(user))
    finally:
        del bus.put_events
    assert first.status == 503 and first.json["error"] == "SERVICE_UNAVAILABLE", f"first checkout: {first}"
    assert call("GET", f"/basket/{user}").status == 200, "basket lost after a failed publish"
    # When the client retries
    second = call("POST", "/basket/checkout", contact(user))
    assert second.status == 202, f"retried checkout: {second}"
    # Then both deliveries carry the same event, and they make one order
    first_body, second_body = delivered(stack, second.json["checkoutId"], count=2)
    assert json.loads(first_body)["detail"] == json.loads(second_body)["detail"]
    assert consume(services, first_body, second_body) == []
    assert [o["orderId"] for o in orders_of(call, user)] == [second.json["checkoutId"]]


@pytest.mark.parametrize("fault", ["raises", "failed-entry"])
def test_bus_unavailable_is_503_and_keeps_the_basket(call, services, products, fault):
    user = unique("u")
    basket = fill(call, user, products)
    with Stubber(services.basket.events()) as stub:
        if fault == "raises":
            stub.add_client_error("put_events", "ThrottlingException", http_status_code=400)
        else:
            stub.add_response(
                "put_events",
                {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]},
            )
        reply = call("POST", "/basket/checkout", contact(user))
    assert reply.status == 503 and set(reply.json) == {"error", "message"}, f"checkout with PutEvents {fault}: {reply}"
    kept = call("GET", f"/basket/{user}").json
    assert (kept["version"], kept["items"]) == (basket["version"], basket["items"])


def test_a_basket_table_down_after_publishing_still_accepts_the_checkout(call, services, products):
    # Given a basket, and a basket table that fails the write following the published event (which replaces the
    # basket by the marker of its checkout)
    user = unique("u")
    fill(call, user, products)
    client = services.basket.baskets.client

    def unavailable(params, **_):
        if b":checkoutId" in params["body"]:
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "test"}}
            raise ClientError(error, "UpdateItem")

    with _hooked(client, "before-call.dynamodb.UpdateItem", unavailable):
        # When the user checks out
        first = call("POST", "/basket/checkout", contact(user))
    # Then the checkout is accepted, since the event is out, and the basket stays
    assert first.status == 202, f"checkout of {user} with the basket table down after publishing: {first}"
    assert call("GET", f"/basket/{user}").status == 200, f"basket of {user} after its accepted checkout"
    # And checking it out again publishes the same checkout, not a second one
    second = call("POST", "/basket/checkout", contact(user))
    assert second.status == 202, f"second checkout of {user}: {second}"
    assert second.json["checkoutId"] == first.json["checkoutId"], f"checkouts of {user}: {first} then {second}"


def test_dynamodb_throttling_is_503(call, services):
    with Stubber(services.product.table.client) as stub:
        stub.add_client_error("get_item", "ProvisionedThroughputExceededException", http_status_code=400)
        reply = call("GET", "/product/p1")
    assert reply.status == 503 and reply.json["error"] == "SERVICE_UNAVAILABLE", reply


def test_checkout_errors(call, products):
    # Given no basket, an empty basket, and a filled one
    nobody = unique("nobody")
    reply = call("POST", "/basket/checkout", contact(nobody))
    assert reply.status == 404, f"checkout of {nobody}, who has no basket: {reply}"
    empty = unique("u")
    reply = call("POST", "/basket", {"userName": empty, "items": []})
    assert reply.status == 200, f"POST /basket of {empty} with no items: {reply}"
    reply = call("POST", "/basket/checkout", contact(empty))
    assert reply.status == 409, f"checkout of the empty basket of {empty}: {reply}"
    user = unique("u")
    fill(call, user, products)
    bad_contacts = (
        {"email": "not-an-email"},
        {"email": "a\x00b@example.com"},  # a control character, which the pattern's \s does not cover
        {"cardNumber": "4111111111111111"},
        {"paymentMethod": "4111 1111"},
    )
    for bad in bad_contacts:
        # When it is checked out with bad contact or payment data, Then that is a 422
        reply = call("POST", "/basket/checkout", contact(user, **bad))
        assert reply.status == 422, f"checkout of {user} with {bad}: {reply}"
    # And the basket is still there to check out properly
    reply = call("GET", f"/basket/{user}")
    assert reply.status == 200, f"GET /basket/{user} after refused checkouts: {reply}"


def test_a_retried_checkout_after_its_answer_was_lost_is_told_the_same_checkout(call, stack, services, products):
    # Given a basket checked out (202) whose answer the client lost
    user = unique("u")
    fill(call, user, products)
    first = call("POST", "/basket/checkout", contact(user))
    assert first.status == 202, f"checkout of {user}: {first}"
    # When the client retries the checkout
    second = call("POST", "/basket/checkout", contact(user))
    # Then it is told the same checkout, while the basket is gone
    assert (second.status, second.json) == (202, first.json), f"checkouts of {user}: {first} then {second}"
    assert call("GET", f"/basket/{user}").status == 404, f"basket of {user} after its checkout"
    assert call("DELETE", f"/basket/{user}").status == 404, f"DELETE /basket/{user} after its checkout"
    assert user not in {b["userName"] for b in _all(call, "/basket")}, f"{user} listed by GET /basket after checkout"
    # And one event was published, which makes one order
    assert consume(services, delivered(stack, first.json["checkoutId"])) == []
    assert len(orders_of(call, user)) == 1
    with pytest.raises(AssertionError):
        delivered(stack, first.json["checkoutId"], deadline_s=2)
    # And the user's next basket is a new version, which checks out as a new checkout
    basket = fill(call, user, products)
    assert basket["version"] == 2, f"next basket of {user} after a checkout: {basket}"
    third = call("POST", "/basket/checkout", contact(user))
    assert third.status == 202 and third.json["checkoutId"] != first.json["checkoutId"], f"third checkout: {third}"


def test_a_batch_reports_only_the_bad_record(call, services, products):
    user = unique("u")
    good = [envelope(_detail(user, f"2025-01-0{day}T00:00:00.000000Z")) for day in (1, 2)]
    bad = envelope({**_detail(user, "2025-01-03T00:00:00.000000Z"), "totalPrice": 99})
    response = services.ordering.handler(
        {"Records": [sqs_record(good[0], "g1"), sqs_record(bad, "bad"), sqs_record(good[1], "g2")]}, LambdaContext()
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert len(orders_of(call, user)) == 2
    string_money = {**_detail(user, "2025-01-04T00:00:00.000000Z"), "totalPrice": "0.30"}
    assert consume(services, "not json", envelope({"nope": 1}), envelope(string_money)) == ["m0", "m1", "m2"]


def test_another_order_on_the_same_key_is_a_failure_not_a_drop(call, services):
    user = unique("u")
    at = "2025-02-01T00:00:00.000000Z"
    assert consume(services, envelope(_detail(user, at))) == []
    other = {**_detail(user, at), "checkoutId": "00000000-0000-5000-8000-000000000001"}
    assert consume(services, envelope(other)) == ["m0"]


def test_orders_newest_first_and_paged(call, services):
    user = unique("u")
    dates = [f"2025-03-0{d}T00:00:00.000000Z" for d in range(1, 6)]
    assert consume(services, *(envelope(_detail(user, at)) for at in dates)) == []
    pages, cursor = [], None
    while True:
        reply = call("GET", f"/order/{user}", query={"limit": "2", **({"cursor": cursor} if cursor else {})})
        assert reply.status == 200, reply
        pages += [o["orderDate"] for o in reply.json["items"]]
        cursor = reply.json["nextCursor"]
        if cursor is None:
            break
    assert pages == sorted(dates, reverse=True)
    assert call("GET", f"/order/{user}", query={"orderDate": "yesterday"}).status == 400
    assert call("GET", "/order", query={"limit": "0"}).status == 400
    assert call("GET", "/order").status == 200


def test_a_cursor_of_another_order_date_is_400_not_500(call, services):
    # Given a user with two orders, and a cursor positioned at the first one
    user = unique("u")
    first, second = "2025-04-01T00:00:00.000000Z", "2025-04-02T00:00:00.000000Z"
    assert consume(services, envelope(_detail(user, first)), envelope(_detail(user, second))) == [], f"orders of {user}"
    key = json.dumps({"orderDate": first, "userName": user}).encode()
    cursor = base64.urlsafe_b64encode(key).decode().rstrip("=")
    # When it is sent with ?orderDate= of the other order (DynamoDB refuses a start key outside the key condition)
    query = {"orderDate": second, "cursor": cursor}
    reply = call("GET", f"/order/{user}", query=query)
    # Then the cursor is refused as not one of this listing's
    assert reply.status == 400 and reply.json["error"] == "BAD_REQUEST", f"GET /order/{user}?{query}: {reply}"


def _detail(user: str, at: str) -> dict:
    import uuid

    return {
        "schemaVersion": 1,
        "checkoutId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{user}{at}")),
        "userName": user,
        "items": [{"productId": "p1", "productName": "P", "quantity": 3, "price": Decimal("0.10")}],
        "totalPrice": Decimal("0.30"),
        "firstName": "A",
        "lastName": "B",
        "email": "a@b.co",
        "address": "x",
        "paymentMethod": "CARD",
        "checkedOutAt": at,
    }
