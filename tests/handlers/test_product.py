"""Product routes (README, The API: the catalogue under /product) against MiniStack."""

from __future__ import annotations

import base64

import pytest

from tests.handlers.helpers import product_body
from tests.kit.events import unique

pytestmark = pytest.mark.handlers


def _cursor(key_json: str) -> str:
    """A cursor as the API encodes one (base64url of the key's JSON, unpadded), around any JSON text."""
    return base64.urlsafe_b64encode(key_json.encode()).decode().rstrip("=")


def test_create_then_get_returns_the_stored_product(call):
    # Given a new product
    created = call("POST", "/product", product_body(price=0.1))
    # Then it is 201 with a server-assigned id and a Location
    assert created.status == 201, f"POST /product: {created}"
    product = created.json
    assert created.headers["location"] == f"/product/{product['id']}"
    # When it is read back, it is what was stored, money exact
    fetched = call("GET", f"/product/{product['id']}")
    assert fetched.status == 200, f"GET /product/{product['id']}: {fetched}"
    assert fetched.json == product
    assert str(fetched.json["price"]) == "0.1"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "price": 1, "category": "c", "id": "chosen"},  # id is the server's
        {"name": "x", "price": -1, "category": "c"},
        {"name": "x", "price": 1.001, "category": "c"},
        {"name": "x", "price": "NaN", "category": "c"},
        {"name": "x", "price": "12.50", "category": "c"},  # money is a JSON number, not a string
        {"name": "", "price": 1, "category": "c"},
        {"name": "x", "price": 1},
        {"name": "x", "price": 1, "category": "c", "cardNumber": "4111"},
        [],
    ],
)
def test_create_rejects_an_invalid_body_with_422_and_details(call, body):
    reply = call("POST", "/product", body)
    assert reply.status == 422, f"POST /product {body}: {reply}"
    assert reply.json["error"] == "VALIDATION_ERROR" and reply.json["details"], reply


def test_update_changes_only_the_given_fields(call):
    product = call("POST", "/product", product_body()).json
    reply = call("PUT", f"/product/{product['id']}", {"price": 3, "category": "garden"})
    assert reply.status == 200, f"PUT /product/{product['id']}: {reply}"
    assert reply.json == {**product, "price": 3, "category": "garden"}


def test_update_of_an_absent_product_is_404_and_creates_nothing(call):
    missing = unique("missing")
    reply = call("PUT", f"/product/{missing}", {"price": 3})
    assert reply.status == 404 and reply.json["error"] == "NOT_FOUND", f"PUT /product/{missing}: {reply}"
    assert call("GET", f"/product/{missing}").status == 404


@pytest.mark.parametrize("raw", ["0.0", "0", "1.5", "true", "[]", '"text"'])
@pytest.mark.parametrize(("method", "path"), [("PUT", "/product/p1"), ("POST", "/product"), ("POST", "/basket")])
def test_a_body_that_is_json_but_not_an_object_is_422(call, method, path, raw):
    # Given a body that parses as JSON but is not an object (0.0 once passed as an empty product update)
    # When it is sent to a route that takes a body
    reply = call(method, path, raw_body=raw)
    # Then it is refused as an invalid body, naming why
    assert reply.status == 422 and reply.json["error"] == "VALIDATION_ERROR", f"{method} {path} body {raw}: {reply}"


@pytest.mark.parametrize("body", [{}, {"id": "other"}, {"price": None}, {"price": -2}])
def test_update_rejects_empty_null_or_id_changes(call, body):
    product = call("POST", "/product", product_body()).json
    reply = call("PUT", f"/product/{product['id']}", body)
    assert reply.status == 422, f"PUT /product/{product['id']} {body}: {reply}"
    assert call("GET", f"/product/{product['id']}").json == product


def test_delete_is_204_then_404(call):
    product = call("POST", "/product", product_body()).json
    first = call("DELETE", f"/product/{product['id']}")
    assert first.status == 204 and first.text == "", f"DELETE /product/{product['id']}: {first}"
    again = call("DELETE", f"/product/{product['id']}")
    assert again.status == 404, f"second DELETE /product/{product['id']}: {again}"
    assert call("GET", f"/product/{product['id']}").status == 404


@pytest.mark.parametrize(
    "path",
    ["/product/has space", "/product/" + "x" * 65, "/product/a%2Fb", "/product/%00", "/product/caf%C3%A9"],
    ids=["space", "65 characters", "encoded slash", "NUL", "non-ASCII"],
)
def test_a_malformed_id_is_400(call, path):
    # Given an id no product can have (ids are 1-64 of A-Z a-z 0-9 . _ -), When it is asked for
    reply = call("GET", path)
    # Then it is a malformed request, 400 in the API's error shape: not a 404 that would say "no such product"
    assert reply.status == 400, f"GET {path}: {reply}"
    assert reply.json["error"] == "BAD_REQUEST" and reply.json["message"], f"GET {path}: {reply}"


def test_listing_by_category_queries_the_index_and_reads_only_that_category(call, services, monkeypatch):
    # Given a category with 7 products among 20 others
    category = unique("cat")
    ours = {call("POST", "/product", product_body(category=category)).json["id"] for _ in range(7)}
    for _ in range(20):
        call("POST", "/product", product_body(category=unique("other")))
    # And a record of every read the product handler makes on its table
    table = services.product.table
    reads: list[tuple[str, dict, dict]] = []

    def recording(operation, read):
        def _read(**params):
            result = read(**params)
            reads.append((operation, params, result))
            return result

        return _read

    monkeypatch.setattr(table, "query", recording("Query", table.query))
    monkeypatch.setattr(table, "scan", recording("Scan", table.scan))
    # When the category is listed 3 at a time, page after page
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        query = {"category": category, "limit": "3", **({"cursor": cursor} if cursor else {})}
        reply = call("GET", "/product", query=query)
        assert reply.status == 200, f"GET /product?{query}: {reply}"
        assert all(item["category"] == category for item in reply.json["items"]), reply
        seen += [item["id"] for item in reply.json["items"]]
        cursor = reply.json["nextCursor"]
        if cursor is None:
            break
    # Then each product of the category was listed exactly once
    assert sorted(seen) == sorted(ours), f"pages of category {category}"
    # And the handler only queried the category index: no Scan, and no item of another category read
    assert reads and {operation for operation, _, _ in reads} == {"Query"}, f"reads of {table.name}: {reads}"
    for _, params, result in reads:
        assert params["IndexName"] == "category-index", f"Query on {table.name}: {params}"
        assert result["ScannedCount"] == result["Count"], f"Query on {table.name} read other items: {result}"
    assert sum(result["Count"] for _, _, result in reads) == len(ours), f"items read from {table.name}: {reads}"


def test_paging_the_whole_catalogue_visits_every_product_once(call):
    created = {call("POST", "/product", product_body(category=unique("p"))).json["id"] for _ in range(12)}
    seen: list[str] = []
    cursor = None
    while True:
        reply = call("GET", "/product", query={"limit": "5", **({"cursor": cursor} if cursor else {})})
        assert reply.status == 200, reply
        assert len(reply.json["items"]) <= 5
        seen += [item["id"] for item in reply.json["items"]]
        cursor = reply.json["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a product was listed twice"
    assert created <= set(seen), "a product was never listed"


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"category": ""},
        {"cursor": "not-a-cursor"},
        {"cursor": "eyJpZCI6MX0"},  # {"id":1}: not a key of the table
        {"category": "a", "cursor": "eyJjYXRlZ29yeSI6ImIiLCJpZCI6IngifQ"},  # a cursor of category b
        {"cursor": _cursor('{"id":"\\ud800"}')},  # a lone surrogate: not a string DynamoDB takes
        {"cursor": _cursor('{"id":"' + "é" * 513 + '"}')},  # 513 characters, but 1026 bytes of UTF-8
    ],
)
def test_bad_limit_category_or_cursor_is_400(call, query):
    # Given a page request whose limit, category or cursor this API never issues
    # When the catalogue is listed with it
    reply = call("GET", "/product", query=query)
    # Then it is a 400 in the error shape, not a DynamoDB ValidationException turned into a 500
    assert reply.status == 400, f"GET /product?{query}: {reply}"
    assert reply.json["error"] == "BAD_REQUEST", f"GET /product?{query}: {reply}"


def test_malformed_json_is_400(call):
    reply = call("POST", "/product", raw_body='{"name": ')
    assert reply.status == 400 and reply.json["error"] == "BAD_REQUEST", reply


def test_a_form_body_is_415(call):
    reply = call(
        "POST",
        "/product",
        raw_body="name=x&price=1&category=c",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 415 and reply.json["error"] == "UNSUPPORTED_MEDIA_TYPE", reply
    reply = call("POST", "/product", raw_body="hello", headers={"content-type": "text/plain"})
    assert reply.status == 415, reply


def test_a_body_over_64_kib_is_413(call):
    reply = call("POST", "/product", product_body(description="x" * (64 * 1024)))
    assert reply.status == 413 and reply.json["error"] == "PAYLOAD_TOO_LARGE", reply


def test_a_base64_body_that_is_not_utf8_is_400(call, services):
    from tests.handlers.helpers import invoke
    from tests.kit.events import ADMIN, claims_of, http_event

    event = http_event("POST", "/product", raw_body="x", claims=claims_of(ADMIN, admin=True))
    event.update(body="//79/A==", isBase64Encoded=True)
    reply = invoke(services.product, event)
    assert reply.status == 400, reply


def test_an_unknown_route_is_404_in_the_error_shape(call):
    reply = call("GET", "/product/a/b")
    assert reply.status == 404 and set(reply.json) == {"error", "message"}, reply
