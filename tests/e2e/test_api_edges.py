"""Through the local cloud (front, API Gateway on MiniStack, functions): every answer to a request the API does not
serve is a 4xx in the API's error shape, whoever gives it (the `$default` route's function, a function, the front)."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.access_matrix import WRONG_METHODS
from tests.kit.cloud import LocalCloud

pytestmark = pytest.mark.e2e


def _raw(cloud: LocalCloud, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `request` as written (no client library to encode it) and read the one answer."""
    target = urlsplit(cloud.api)
    with socket.create_connection((target.hostname, target.port), timeout=30) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
            head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
            headers = dict(
                (name.strip().lower(), value.strip())
                for name, _, value in (line.decode("latin-1").partition(":") for line in head.split(b"\r\n")[1:])
            )
            if b"\r\n\r\n" in b"".join(chunks) and len(body) >= int(headers.get("content-length", 0)):
                break
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, headers, body


def _error_of(response: requests.Response) -> Any:
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    return response.json()["error"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/nope"), ("POST", "/nope/deeper"), ("GET", "/"), ("DELETE", "/products"), ("GET", "/product/a/b")],
)
def test_a_path_no_route_has_is_404_not_found(local_cloud: LocalCloud, http: requests.Session, method, path) -> None:
    response = http.request(method, f"{local_cloud.api}{path}", timeout=30)
    assert response.status_code == 404 and _error_of(response) == "NOT_FOUND", f"{method} {path}: {response.text}"


@pytest.mark.parametrize(("method", "path", "allow"), WRONG_METHODS)
def test_a_known_path_with_another_method_is_405_with_allow(
    local_cloud: LocalCloud, http: requests.Session, method, path, allow
) -> None:
    response = http.request(method, f"{local_cloud.api}{path}", json={}, timeout=30)
    assert response.status_code == 405 and _error_of(response) == "METHOD_NOT_ALLOWED", f"{method} {path}: {response}"
    assert response.headers["Allow"] == allow, response.headers


def test_an_encoded_slash_in_a_name_is_a_4xx_in_the_apis_shape(local_cloud: LocalCloud, http: requests.Session) -> None:
    response = http.get(f"{local_cloud.api}/basket/a%2Fb", headers=local_cloud.admin(), timeout=30)
    assert response.status_code in (400, 404) and _error_of(response) in ("BAD_REQUEST", "NOT_FOUND"), response.text


@pytest.mark.parametrize("name", ["%00", "Jos%C3%A9", "%0A", "a%20b"])
def test_an_invalid_user_name_is_400(local_cloud: LocalCloud, http: requests.Session, name: str) -> None:
    response = http.get(f"{local_cloud.api}/basket/{name}", headers=local_cloud.admin(), timeout=30)
    assert response.status_code == 400 and _error_of(response) == "BAD_REQUEST", f"/basket/{name}: {response.text}"


def test_head_is_get_without_a_body_with_the_same_authorization(
    local_cloud: LocalCloud, http: requests.Session
) -> None:
    for path in ("/product", "/product/no-such-product"):
        get = http.get(f"{local_cloud.api}{path}", timeout=30)
        head = http.head(f"{local_cloud.api}{path}", timeout=30)
        assert head.status_code == get.status_code, f"HEAD {path}: {head.status_code}, GET {get.status_code}"
        assert head.content == b"" and head.headers["Content-Type"] == get.headers["Content-Type"], path
    # A protected route's HEAD is behind the same authorizer: without a token, the gateway's 401
    assert http.head(f"{local_cloud.api}/order", timeout=30).status_code == 401
    assert http.head(f"{local_cloud.api}/order", headers=local_cloud.admin(), timeout=30).status_code == 200


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "application/jsonx", "text/plain"]
)
def test_media_types_are_compared_whole(local_cloud: LocalCloud, http: requests.Session, content_type: str) -> None:
    body = {"name": "Lamp", "description": "", "imageFile": "", "price": 1, "category": "edges"}
    response = http.post(
        f"{local_cloud.api}/product",
        data=json.dumps(body),
        headers={**local_cloud.admin(), "Content-Type": content_type},
        timeout=30,
    )
    expected = 201 if content_type.split(";")[0].lower() == "application/json" else 415
    assert response.status_code == expected, f"{content_type}: {response.status_code} {response.text}"


def test_a_limit_not_in_digits_is_400(local_cloud: LocalCloud, http: requests.Session) -> None:
    response = http.get(f"{local_cloud.api}/product?limit=5_0", timeout=30)
    assert response.status_code == 400 and _error_of(response) == "BAD_REQUEST", response.text


def test_a_raw_non_ascii_path_is_answered_not_dropped(local_cloud: LocalCloud) -> None:
    # `GET /basket/José` as some clients send it: UTF-8 bytes on the request line, unencoded
    token = local_cloud.admin()["Authorization"]
    request = f"GET /basket/José HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n\r\n"
    status, _, body = _raw(local_cloud, request.encode())
    assert status == 400 and json.loads(body)["error"] == "BAD_REQUEST", (status, body)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /product HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n", 431),
        (b"GET /product HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(120)) + b"\r\n", 431),
        (b"GET /basket/a b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET /product HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ],
    ids=["long-path", "big-header", "many-headers", "raw-space", "http-2-line"],
)
def test_the_fronts_own_refusals_are_json(local_cloud: LocalCloud, request_bytes: bytes, status: int) -> None:
    got, headers, body = _raw(local_cloud, request_bytes)
    assert got == status and headers["content-type"] == "application/json", (got, headers, body[:200])
    assert set(json.loads(body)) == {"error", "message"}, body
    assert headers["x-content-type-options"] == "nosniff" and "python" not in headers["server"].lower(), headers


def test_a_long_path_the_front_takes_is_the_apis_404(local_cloud: LocalCloud, http: requests.Session) -> None:
    response = http.get(f"{local_cloud.api}/{'a' * 8000}", timeout=30)
    assert 400 <= response.status_code < 500, response.status_code
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:200]


@pytest.mark.parametrize("path", ["/product", "/nope", "/docs", "/openapi.json"])
def test_every_answer_says_nosniff_and_no_python_version(
    local_cloud: LocalCloud, http: requests.Session, path: str
) -> None:
    response = http.get(f"{local_cloud.api}{path}", timeout=30)
    assert response.headers["X-Content-Type-Options"] == "nosniff", (path, response.headers)
    assert "python" not in response.headers["Server"].lower(), (path, response.headers["Server"])
