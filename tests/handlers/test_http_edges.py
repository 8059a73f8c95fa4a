"""The HTTP edges every service shares (handlers.shared.http): what no route takes (404, or 405 with Allow), HEAD as
GET without a body, media types compared whole, integer parameters in plain digits, malformed names: always a 4xx in
the API's error shape."""

from __future__ import annotations

import pytest

from tests.access_matrix import WRONG_METHODS
from tests.handlers.helpers import invoke, product_body
from tests.kit.events import claims_of, http_event

pytestmark = pytest.mark.handlers

ADMIN = claims_of("edges-admin", admin=True)


def _default_route(services, method: str, path: str, **kwargs):
    """A request as the API's `$default` route brings it to the product function: no authorizer, so no claims."""
    return invoke(services.product, http_event(method, path, claims=None, **kwargs))


@pytest.mark.parametrize("path", ["/nope", "/", "/product/a/b", "/products", "/_localcloud", "/basket/a/b/c"])
@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "HEAD"])
def test_a_path_no_route_has_is_404_in_the_apis_shape(services, method, path):
    reply = _default_route(services, method, path)
    assert reply.status == 404, f"{method} {path}: {reply}"
    if method != "HEAD":
        assert reply.json["error"] == "NOT_FOUND", f"{method} {path}: {reply}"


@pytest.mark.parametrize(("method", "path", "allow"), WRONG_METHODS)
def test_a_known_path_with_another_method_is_405_with_allow(services, method, path, allow):
    reply = _default_route(services, method, path)
    assert reply.status == 405 and reply.json["error"] == "METHOD_NOT_ALLOWED", f"{method} {path}: {reply}"
    assert reply.headers["allow"] == allow, reply.headers


def test_a_path_a_route_would_take_but_did_not_as_written_is_400(services):
    # API Gateway leaves /basket/a%2Fb to $default: an encoded slash in a parameter names nothing
    reply = _default_route(services, "GET", "/basket/a%2Fb")
    assert reply.status == 400 and reply.json["error"] == "BAD_REQUEST", str(reply)


def test_head_is_answered_as_get_without_a_body(call):
    created = call("POST", "/product", product_body())
    assert created.status == 201, str(created)
    path = f"/product/{created.json['id']}"
    get, head = call("GET", path, claims=None), call("HEAD", path, claims=None)
    assert head.status == get.status == 200, f"GET {get} / HEAD {head}"
    assert head.text == "" and get.text, f"HEAD body {head.text!r}"
    assert head.headers == get.headers, f"GET {get.headers} / HEAD {head.headers}"
    missing = call("HEAD", "/product/no-such-product", claims=None)
    assert missing.status == 404 and missing.text == "", str(missing)


def test_head_of_a_protected_route_keeps_its_authorization(call):
    # The HEAD twin of GET /order carries the same rules: an admin's listing, a customer's 403
    assert call("HEAD", "/order", claims=ADMIN).status == 200
    assert call("HEAD", "/order", claims=claims_of("edges-someone")).status == 403


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON", " application/json "])
def test_json_media_types_are_json(call, content_type):
    reply = call("POST", "/product", product_body(), headers={"content-type": content_type}, claims=ADMIN)
    assert reply.status == 201, f"{content_type!r}: {reply}"


@pytest.mark.parametrize("name", ["%00", "%0A", "Jos%C3%A9", "a%20b", "%2e%2e", "a%2Fb"])
def test_an_invalid_user_name_in_the_path_is_400(call, name):
    for method in ("GET", "DELETE"):
        reply = call(method, f"/basket/{name}", claims=ADMIN)
        assert reply.status == 400 and reply.json["error"] == "BAD_REQUEST", f"{method} /basket/{name}: {reply}"
    reply = call("GET", f"/order/{name}", claims=ADMIN)
    assert reply.status == 400 and reply.json["error"] == "BAD_REQUEST", f"GET /order/{name}: {reply}"
