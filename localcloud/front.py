"""The plain `http://127.0.0.1:<port>/` a user calls: the HTTP API's `$default` stage, plus /docs.

MiniStack serves an HTTP API under `/_aws/execute-api/<api id>/...` (or on a `<api id>.execute-api.localhost`
host, which most machines do not resolve). This small threaded proxy puts the API at the root, as API
Gateway does, and passes method (any method: the API answers those it has no route for), path, query, headers and body
through unchanged, both ways. It also answers `GET /_localcloud/outputs` with the stack's outputs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import urllib3

from localcloud import proxy

_NOSNIFF = (("X-Content-Type-Options", "nosniff"),)
OUTPUTS_PATH = "/_localcloud/outputs"  # no route of the API starts with an underscore
# Swagger UI 5 (it reads OpenAPI 3.1, the document's version), vendored from npm's swagger-ui-dist: the page loads
# nothing from off the machine (localcloud/swagger_ui/README.md).
SWAGGER_UI_VERSION = "5.35.0"
_SWAGGER_DIR = Path(__file__).resolve().parent / "swagger_ui"
_SWAGGER_FILES = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
# validatorUrl null: Swagger UI otherwise sends the document to validator.swagger.io for its badge.
# persistAuthorization: the token given to Authorize survives a reload of the page.
_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>ecommerce API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"><link rel="icon" href="/docs/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, validatorUrl: null,
  persistAuthorization: true});</script>
</body>
</html>
"""


class Front(proxy.Proxy):
    """A ThreadingHTTPServer on 127.0.0.1:`port` forwarding to the API at `upstream` (an execute-api base URL)."""

    def __init__(
        self,
        port: int,
        upstream: str,
        openapi: Callable[[], dict[str, Any] | None],
        on_request: Callable[[str, str, int, float], None] | None = None,
    ) -> None:
        self._openapi = openapi
        self.on_request = on_request or (lambda method, path, status, seconds: None)
        # Served at /_localcloud/outputs once set: the stack's outputs, for `python -m localcloud outputs` and clients.
        self.outputs: dict[str, Any] | None = None
        self._openapi_body: bytes | None = None
        # No resend: a request that failed may have been applied (proxy.Upstream).
        super().__init__(port, upstream, _handler_class(self), "front")

    def openapi_body(self) -> bytes | None:
        if self._openapi_body is None:
            document = self._openapi()
            if document is None:
                return None
            self._openapi_body = json.dumps({**document, "servers": [{"url": self.url}]}).encode()
        return self._openapi_body


def _ascii(target: str) -> str:
    """The request target as it goes upstream: bytes outside printable ASCII percent-encoded, as a browser sends them.

    The request line is read as Latin-1, one character per byte; http.client sends ASCII only (a raw `/basket/José`
    raised UnicodeEncodeError and dropped the connection). Encoded, it reaches the API as `/basket/Jos%C3%A9` does.
    urllib3 then percent-encodes the ASCII a request target may not hold raw (`"`, `{`, ...): the same path to the API.
    """
    return "".join(c if 0x20 < ord(c) < 0x7F else f"%{ord(c):02X}" for c in target)


def _handler_class(front: Front) -> type[proxy.Handler]:
    class Handler(proxy.Handler):
        server_version = "localcloud"

        # log_message stays silent: forwarded requests are reported through on_request, in the same stream as
        # the functions' logs.

        def version_string(self) -> str:
            return self.server_version  # not BaseHTTPRequestHandler's "<name> Python/3.x": no version to a client

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            # What the standard library refuses before a request reaches this front's code (a request line over
            # 64 KiB: 414; a header line too long or too many headers: 431; a malformed request line, such as a
            # raw space in the path: 400; an unsupported HTTP version: 505) is answered in the API's error shape
            # instead of its HTML page.
            self.close_connection = True
            # A request line it could not read leaves the version at HTTP/0.9, which has no status line nor headers.
            if self.request_version == "HTTP/0.9":
                self.request_version = "HTTP/1.0"
            self._error(code, HTTPStatus(code).name, message or HTTPStatus(code).phrase, [("Connection", "close")])

        def do_GET(self) -> None:  # noqa: N802 - the name BaseHTTPRequestHandler calls
            path = urlsplit(self.path).path
            if path in ("/docs", "/docs/"):
                self._answer(200, "text/html; charset=utf-8", _DOCS_PAGE.encode())
            elif path.startswith("/docs/") and path.removeprefix("/docs/") in _SWAGGER_FILES:
                name = path.removeprefix("/docs/")
                self._answer(200, _SWAGGER_FILES[name], (_SWAGGER_DIR / name).read_bytes())
            elif path == OUTPUTS_PATH:
                if front.outputs is None:
                    self._error(404, "NOT_FOUND", "this front serves no stack outputs")
                else:
                    self._answer(200, "application/json", json.dumps(front.outputs).encode())
            elif path == "/openapi.json":
                body = front.openapi_body()
                if body is None:
                    self._error(503, "SERVICE_UNAVAILABLE", "the OpenAPI document is not available (handlers.openapi)")
                else:
                    self._answer(200, "application/json", body)
            else:
                self._forward()

        def __getattr__(self, name: str) -> Callable[[], None]:
            # BaseHTTPRequestHandler answers a method it has no `do_<METHOD>` for with its own 501 HTML page.
            # API Gateway takes every method to its routes and answers one no route has with its 404
            # `{"message":"Not Found"}` (so does MiniStack): every method but GET goes through, and the API,
            # not the front, says what it does not serve, in the shape the deployed API will.
            if name.startswith("do_"):
                return self._forward
            raise AttributeError(name)

        def _forward(self) -> None:
            started = time.perf_counter()
            try:
                body = self.read_body()
            except ValueError:
                # Where this request's body ends is unknown, so the connection cannot carry another one.
                self.close_connection = True
                self._error(400, "BAD_REQUEST", "malformed Content-Length or chunked body")
                return
            headers = {k: v for k, v in self.request_headers(body).items() if k.lower() != "host"}
            headers["Host"] = f"{front.upstream.host}:{front.upstream.port}"
            try:
                answer = front.upstream.send(self.command, _ascii(self.path), body, headers)
            except urllib3.exceptions.HTTPError:
                # Not sent again: the emulator may have applied it (proxy.Upstream).
                self._error(502, "BAD_GATEWAY", "the local emulator did not answer; the request may have been applied")
                return
            sniff = any(name.lower() == "x-content-type-options" for name, _ in answer.headers)
            self.relay(answer, () if sniff else _NOSNIFF)
            front.on_request(self.command, self.path, answer.status, time.perf_counter() - started)

        def _answer(
            self, status: int, content_type: str, body: bytes, extra: list[tuple[str, str]] | None = None
        ) -> None:
            self.answer(status, [("Content-Type", content_type), *_NOSNIFF, *(extra or [])], body)

        def _error(self, status: int, code: str, message: str, extra: list[tuple[str, str]] | None = None) -> None:
            body = json.dumps({"error": code, "message": message}).encode()
            self._answer(status, "application/json", body, extra)

    return Handler
