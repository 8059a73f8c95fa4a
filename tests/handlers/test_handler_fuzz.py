"""Whatever a client sends to any route, the answer is never a 5xx, and every error has the error shape."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.shared.routes import ROUTES as API_ROUTES
from tests.handlers.helpers import invoke
from tests.kit.events import ADMIN, claims_of, http_event

pytestmark = pytest.mark.handlers

# Every route of the API, its path parameter a placeholder the test fills in, with the function that serves it.
SERVICE_OF_PATH = {"product": "product", "basket": "basket", "order": "ordering"}
ROUTES = sorted(
    (SERVICE_OF_PATH[path.split("/")[1]], method, re.sub(r"\{[^}]+\}", "{}", path))
    for method, path in (route.split(" ", 1) for route in API_ROUTES)
)

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["name", "price", "category", "userName", "items", "productId", "quantity", "email", "id"])
            | st.text(max_size=8),
            inner,
            max_size=6,
        )
    ),
    max_leaves=20,
)
bodies = json_values.map(json.dumps) | st.text(max_size=200) | st.binary(max_size=50).map(lambda b: b.decode("latin-1"))
segments = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="/?#"), min_size=1, max_size=70
)
queries = st.dictionaries(
    st.sampled_from(["limit", "cursor", "category", "orderDate", "x"]), st.text(max_size=30), max_size=3
)
# Mostly an admin, who may call every route, so that requests reach the validation and the table.
callers = st.sampled_from([claims_of(ADMIN, admin=True), claims_of(ADMIN, admin=True), claims_of("fuzz-user"), None])
content_types = st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""])


def _assert_clean(reply, what):
    assert reply.status < 500, f"{what}: {reply}"
    if reply.status >= 400:
        body = json.loads(reply.text)
        assert {"error", "message"} <= set(body) <= {"error", "message", "details"}, f"{what}: {reply}"
        assert "Traceback" not in reply.text


@pytest.mark.parametrize(("service", "method", "template"), ROUTES, ids=[f"{m} {t}" for _, m, t in ROUTES])
@given(body=bodies, segment=segments, query=queries, content_type=content_types, caller=callers)
def test_any_request_is_answered_without_a_5xx(
    services, service, method, template, body, segment, query, content_type, caller
):
    path = template.format(segment)
    event = http_event(
        method,
        path,
        raw_body=body if method in ("POST", "PUT") else None,
        query=query,
        headers={"content-type": content_type} if content_type else {},
        claims=caller,
    )
    _assert_clean(invoke(getattr(services, service), event), f"{method} {path}?{query} body={body[:80]!r}")
