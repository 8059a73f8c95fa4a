"""Security: oversized bodies, injection through paths and queries, and least privilege in the graph."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests

from handlers.shared.jsonio import MAX_BODY_BYTES
from localcloud.graph import Graph, capture
from tests.kit.events import unique
from tests.reliability.reliability_kit import Cloud, leaks

# --- bodies -----------------------------------------------------------------------------------------------

BODY_ROUTES = [("POST", "/product"), ("PUT", "/product/{id}"), ("POST", "/basket"), ("POST", "/basket/checkout")]
MIB = 1024 * 1024


def _padded(size: int) -> bytes:
    """A well-formed JSON object of exactly `size` bytes: only its size is wrong."""
    frame = b'{"name":""}'
    return frame[:9] + b"x" * (size - len(frame)) + frame[9:]


@pytest.fixture(scope="module")
def product_id(cloud: Cloud) -> str:
    return cloud.api.create_product("1.00")


def _send(cloud: Cloud, method: str, path: str, body: bytes, product_id: str) -> requests.Response:
    return cloud.api.request(
        method, path.format(id=product_id), data=body, headers={"Content-Type": "application/json"}
    )


def _assert_error(response: requests.Response, statuses: set[int], what: str, echoed: tuple[str, ...] = ()) -> None:
    assert response.status_code in statuses, f"{what}: {response.status_code} {response.text[:300]}"
    body = response.json()
    if set(body) == {"message"}:
        # Answered by API Gateway itself, before any function (no route matches): its own shape, as on AWS.
        assert response.status_code == 404, f"{what}: {response.status_code} {body}"
    else:
        assert {"error", "message"} <= set(body) <= {"error", "message", "details"}, f"{what}: {body}"
    assert not leaks(response.text, echoed), f"{what} leaks {leaks(response.text, echoed)}: {response.text[:300]}"


@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, MIB, 5 * MIB], ids=["limit+1", "1MiB", "5MiB"])
@pytest.mark.parametrize(("method", "path"), BODY_ROUTES, ids=[f"{m} {p}" for m, p in BODY_ROUTES])
def test_an_oversized_body_is_413(cloud: Cloud, product_id: str, method: str, path: str, size: int) -> None:
    response = _send(cloud, method, path, _padded(size), product_id)
    _assert_error(response, {413}, f"{method} {path} with {size} bytes")
    assert response.json()["error"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES, ids=[f"{m} {p}" for m, p in BODY_ROUTES])
def test_a_body_at_the_limit_is_read_and_judged_on_its_content(
    cloud: Cloud, product_id: str, method: str, path: str
) -> None:
    response = _send(cloud, method, path, _padded(MAX_BODY_BYTES), product_id)
    _assert_error(response, {422}, f"{method} {path} with {MAX_BODY_BYTES} bytes")


# --- paths and queries ---------------------------------------------------------------------------------

# Each would, in a careless service, reach another record, another table, the file system or a header.
SEGMENTS = [
    "..%2F..%2Fbasket",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%5C..%5Cwindows",
    quote("' OR '1'='1"),
    quote('" OR ""="'),
    quote("1; DROP TABLE product"),
    quote('{"$ne": null}'),
    quote("${jndi:ldap://127.0.0.1/a}"),
    quote("{{7*7}}"),
    quote("<script>alert(1)</script>"),
    "a%00b",
    "a%0d%0aSet-Cookie:%20x=1",
    "%25",
    "%ff%fe",
    quote("é" * 10),
    "a" * 65,
    "a" * 5000,
    "*",
]
PATHS = {"/product/{}": ("GET", "PUT", "DELETE"), "/basket/{}": ("GET", "DELETE"), "/order/{}": ("GET",)}


def _injections() -> Iterator[Any]:
    for template, methods in PATHS.items():
        for method in methods:
            for segment in SEGMENTS:
                path = template.format(segment)
                yield pytest.param(method, path, id=f"{method} {path[:40]}")


@pytest.mark.parametrize(("method", "path"), list(_injections()))
def test_a_path_injection_is_a_4xx_that_reveals_nothing(cloud: Cloud, method: str, path: str) -> None:
    response = cloud.api.request(method, path, json={"name": "x"} if method == "PUT" else None)
    _assert_error(response, {400, 404, 405}, f"{method} {path}")


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PROPFIND", "PATCH"])
def test_an_undeclared_method_is_a_405_with_allow(cloud: Cloud, method: str) -> None:
    # No route has this method: the API's $default route answers from its route table, in the API's shape.
    response = cloud.api.request(method, "/product")
    assert response.status_code == 405, f"{method} /product: {response.status_code} {response.text[:200]}"
    assert response.json()["error"] == "METHOD_NOT_ALLOWED", f"{method} /product: {response.text[:200]}"
    assert response.headers["Allow"] == "GET, HEAD, POST", response.headers


def _cursor(key: Any) -> str:
    """A page cursor as the API writes one (URL-safe base64 of JSON, unpadded), around any JSON value."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


QUERIES = [
    ("/product", {"limit": "0"}),
    ("/product", {"limit": "-1"}),
    ("/product", {"limit": "101"}),
    ("/product", {"limit": "1e9"}),
    ("/product", {"limit": "1; DROP TABLE product"}),
    ("/product", {"limit": "99999999999999999999999999"}),
    ("/product", {"cursor": "not-a-cursor!"}),
    ("/product", {"cursor": _cursor({"userName": "victim"})}),  # a key of the basket table
    ("/product", {"cursor": _cursor({"id": {"S": "x"}})}),  # a raw DynamoDB attribute value
    ("/product", {"cursor": _cursor({"id": "x", "extra": "y"})}),
    ("/product", {"cursor": _cursor(["id"])}),
    ("/product", {"cursor": "W" * 5000}),
    ("/product", {"category": "c", "cursor": _cursor({"id": "x", "category": "other"})}),  # another category's
    ("/product", {"category": "x" * 101}),
    ("/basket", {"cursor": _cursor({"id": "x"})}),
    ("/order", {"cursor": _cursor({"userName": "victim"})}),
    ("/order/alice", {"cursor": _cursor({"userName": "victim", "orderDate": "2020-01-01T00:00:00.000000Z"})}),
    ("/order/alice", {"orderDate": "' OR '1'='1"}),
    ("/order/alice", {"orderDate": '{"$gt": ""}'}),
    ("/order/alice", {"limit": "0x10"}),
]


@pytest.mark.parametrize(("path", "params"), QUERIES, ids=[f"{p}?{q}"[:60] for p, q in QUERIES])
def test_a_query_injection_is_a_400_that_reveals_nothing(cloud: Cloud, path: str, params: dict[str, str]) -> None:
    response = cloud.api.get(path, params=params)
    _assert_error(response, {400}, f"GET {path}?{params}")


@pytest.mark.parametrize("category", ["' OR '1'='1", '{"$ne": null}', "*", "%"])
def test_an_injected_category_is_just_a_category_with_no_products(cloud: Cloud, category: str) -> None:
    # Given products in some category
    cloud.api.create_product("2.00", category=unique("real"))
    # When a client lists a "category" that would match everything in a query language
    response = cloud.api.get("/product", params={"category": category})
    # Then it is taken literally: no product has that category
    assert response.status_code == 200, f"GET /product?category={category}: {response.status_code} {response.text}"
    assert response.json()["items"] == [], f"category {category!r} matched {response.json()['items']}"


def test_a_cursor_of_one_user_does_not_continue_another_users_orders(cloud: Cloud) -> None:
    stolen = _cursor({"userName": "victim", "orderDate": "2020-01-01T00:00:00.000000Z"})
    response = cloud.api.get("/order/mallory", params={"cursor": stolen})
    _assert_error(response, {400}, "GET /order/mallory with victim's cursor")


# --- least privilege in the graph ------------------------------------------------------------------------

TABLE = "aws:dynamodb/table:Table"
FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
# X-Ray segments have no resource ARN: AWS accepts only "*" for these.
XRAY_ACTIONS = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
# What "may read the product table" allows the basket function.
TABLE_READS = frozenset({"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:DescribeTable"})
# The one cross-service grant the design allows: (function's service, table's service) -> actions allowed.
CROSS_SERVICE = {("basket", "product"): TABLE_READS}


@pytest.fixture(scope="module", params=["dev", "prod"])
def graph(request: pytest.FixtureRequest) -> Graph:
    return capture(request.param)


def _statements(graph: Graph) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(service of the function, policy URN, statement) for every statement of every function's role."""
    service_of_role = {
        str(fn.inputs["role"]).rsplit("/", 1)[-1]: str(fn.inputs["tags"]["service"]) for fn in graph.of_type(FUNCTION)
    }
    for policy in graph.of_type(ROLE_POLICY):
        document = policy.inputs["policy"]
        document = json.loads(document) if isinstance(document, str) else document
        statements = document["Statement"]
        for statement in statements if isinstance(statements, list) else [statements]:
            yield service_of_role[str(policy.inputs["role"])], policy.urn, statement


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def test_every_function_role_has_a_policy(graph: Graph) -> None:
    roles = {str(fn.inputs["role"]).rsplit("/", 1)[-1] for fn in graph.of_type(FUNCTION)}
    with_policy = {str(p.inputs["role"]) for p in graph.of_type(ROLE_POLICY)}
    assert roles and roles <= with_policy, f"{graph.stack}: roles without an inline policy: {roles - with_policy}"
    assert not graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"), (
        f"{graph.stack}: a managed policy is attached to a role; managed policies grant on every resource"
    )


def test_no_policy_has_a_wildcard_action_or_resource(graph: Graph) -> None:
    arns = {str(r.outputs["arn"]) for r in graph.resources if r.custom and r.outputs.get("arn")}
    for _, urn, statement in _statements(graph):
        assert statement.get("Effect") == "Allow" and "NotAction" not in statement and "NotResource" not in statement
        actions = _listed(statement["Action"])
        assert all("*" not in action for action in actions), f"{urn}: wildcard action in {statement}"
        for resource in _listed(statement["Resource"]):
            if resource == "*":
                assert set(actions) <= XRAY_ACTIONS, f"{urn}: Resource '*' for {actions}"
                continue
            # Every resource is one of the graph's, or a part of one (a log group's streams, a table's index).
            owner = next((arn for arn in arns if resource == arn or resource.startswith((arn + ":", arn + "/"))), None)
            assert owner is not None, f"{urn}: {resource} is not a resource of the {graph.stack} graph"
            assert "*" not in owner, f"{urn}: {resource}"


def test_no_function_touches_another_services_table(graph: Graph) -> None:
    tables = {str(t.outputs["arn"]): str(t.inputs["tags"]["service"]) for t in graph.of_type(TABLE)}
    for service, urn, statement in _statements(graph):
        for resource in _listed(statement["Resource"]):
            table = next((arn for arn in tables if resource == arn or resource.startswith(arn + "/")), None)
            if table is None or tables[table] == service:
                continue
            allowed = CROSS_SERVICE.get((service, tables[table]), frozenset())
            granted = set(_listed(statement["Action"]))
            assert granted <= allowed, (
                f"{urn}: the {service} function may {sorted(granted - allowed)} on the {tables[table]} table {resource}"
            )
