"""The local cloud's console: one line per request naming the function and the invocation that served it."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.kit.cloud import LocalCloud

pytestmark = pytest.mark.e2e


def test_a_request_is_one_line_with_its_status_duration_function_and_invocation(
    local_cloud: LocalCloud, http: requests.Session
) -> None:
    # Given a request the product function answers
    category = f"console-{uuid.uuid4().hex[:8]}"
    assert http.get(f"{local_cloud.api}/product", params={"category": category}, timeout=30).status_code == 200
    # Then it is one line: method, path, status, duration, the function's name and its invocation's request id
    served = local_cloud.read_until(
        rf"^http\s+\| GET /product\?category={category} -> 200 \(\d+ ms\) product ([0-9a-f]{{8}})$", deadline=15
    )
    # And a request no route takes is one line too
    assert http.get(f"{local_cloud.api}/no-such-route-{category}", timeout=30).status_code == 404
    # (or, where the API has a $default route, the function behind it)
    local_cloud.read_until(rf"^http\s+\| GET /no-such-route-{category} -> 404 \(\d+ ms\)( \w+ [0-9a-f]{{8}})?$", 15)
    assert served.group(1), served.group(0)
