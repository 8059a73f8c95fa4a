"""The plain `http://127.0.0.1:<port>/` a user calls: the HTTP API's `$default` stage, plus /docs.

MiniStack serves an HTTP API under `/_aws/execute-api/<api id>/...` (or on a `<api id>.execute-api.localhost`
host, which most machines do not resolve). This small threaded proxy puts the API at the root, as API
Gateway does, and passes method (any method: the API answers those it has no route for), path, query, headers and body
through unchanged, both ways. It also answers `GET /_localcloud/outputs` with the stack's outputs.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import sys
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from localcloud.emulator import HOST

# Hop-by-hop headers belong to one connection, not to the request (RFC 9110 §7.6.1); Date and Server
# are written by this server itself.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "date",
    "server",
}
# Well under the emulator's keep-alive timeout (75 s), so the front never sends on a connection it is closing.
_MAX_IDLE_SECONDS = 20.0
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


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: a burst of clients overflows it, the kernel drops their
    # handshakes and they retry a second later (20 parallel requests took 1.3 s instead of 0.15 s).
    request_queue_size = 128
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up before its answer (it timed out, or was stopped) is no fault of the front's:
        # no traceback for it on the console the functions' logs go to.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Front:
    """A ThreadingHTTPServer on 127.0.0.1:`port` forwarding to the API at `upstream` (an execute-api base URL)."""

    def __init__(
        self,
        port: int,
        upstream: str,
        openapi: Callable[[], dict[str, Any] | None],
        on_request: Callable[[str, str, int, float], None] | None = None,
    ) -> None:
        target = urlsplit(upstream)
        self.upstream_host = target.hostname or HOST
        self.upstream_port = target.port or 80
        self.upstream_prefix = target.path.rstrip("/")
        self._openapi = openapi
        self.on_request = on_request or (lambda method, path, status, seconds: None)
        # Served at /_localcloud/outputs once set: the stack's outputs, for `python -m localcloud outputs` and clients.
        self.outputs: dict[str, Any] | None = None
        self._openapi_body: bytes | None = None
        # (connection, idle since): last in, first out, so the warmest first.
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []
        self._pool_lock = threading.Lock()
        self.server = _Server((HOST, port), _handler_class(self))
        self._thread = threading.Thread(target=self.server.serve_forever, name="front", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}"

    def start(self) -> Front:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def openapi_body(self) -> bytes | None:
        if self._openapi_body is None:
            document = self._openapi()
            if document is None:
                return None
            self._openapi_body = json.dumps({**document, "servers": [{"url": self.url}]}).encode()
        return self._openapi_body

    def forward(
        self, method: str, target: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[http.client.HTTPResponse, bytes]:
        """Send one request to the emulator on a kept-alive connection; the response and its whole body.

        Connections are shared by all serving threads, so a client that opens a connection per request
        (curl, `requests.get`) does not make the emulator accept a new one each time too. A request is sent
        once and never again: one that failed may have reached the emulator and been applied (a basket
        written, a checkout published), so re-sending it could apply it twice. The client is told 502 and
        decides. Stale connections, the usual reason a send fails, are left out before sending instead.
        """
        conn = self._idle_connection() or http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except BaseException:
            conn.close()
            raise
        if response.will_close:
            conn.close()
        else:
            with self._pool_lock:
                self._idle.append((conn, time.monotonic()))
        return response, payload

    def _idle_connection(self) -> http.client.HTTPConnection | None:
        """The most recently used idle connection the emulator has not closed, or None."""
        while True:
            with self._pool_lock:
                if not self._idle:
                    return None
                conn, idle_since = self._idle.pop()
            # The emulator closes a connection idle for its keep-alive timeout (75 s); one idle far less than that
            # and with nothing to read (a peer's close makes the socket readable) is still open.
            if time.monotonic() - idle_since < _MAX_IDLE_SECONDS and conn.sock is not None and not _readable(conn.sock):
                return conn
            conn.close()


def _readable(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def _ascii(target: str) -> str:
    """The request target as it goes upstream: bytes outside printable ASCII percent-encoded, as a browser sends them.

    The request line is read as Latin-1, one character per byte; http.client sends ASCII only (a raw `/basket/José`
    raised UnicodeEncodeError and dropped the connection). Encoded, it reaches the API as `/basket/Jos%C3%A9` does.
    """
    return "".join(c if 0x20 < ord(c) < 0x7F else f"%{ord(c):02X}" for c in target)


def _handler_class(front: Front) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "localcloud"
        # Headers and body go out in two writes; with Nagle on, the body waits for the client's delayed ACK,
        # which added 40 ms to every request on Linux (found by the reliability suite).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass  # forwarded requests are reported through on_request, in the same stream as the functions' logs

        def version_string(self) -> str:
            return self.server_version  # not BaseHTTPRequestHandler's "<name> Python/3.x": no version to a client

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            # What the standard library refuses before a request reaches this front's code (a request line over
            # 64 KiB: 414; a header line too long or too many headers: 431; a malformed request line, such as a
            # raw space in the path: 400; an unsupported HTTP version: 505) is answered in the API's error shape
            # instead of its HTML page.
            status = HTTPStatus(code)
            self.close_connection = True
            # A request line it could not read leaves the version at HTTP/0.9, which has no status line nor headers.
            if self.request_version == "HTTP/0.9":
                self.request_version = "HTTP/1.0"
            self.send_response(code, message)
            body = json.dumps({"error": status.name, "message": message or status.phrase}).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
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
                body = self._read_body()
            except ValueError:
                # Where this request's body ends is unknown, so the connection cannot carry another one.
                self.close_connection = True
                self._error(400, "BAD_REQUEST", "malformed Content-Length or chunked body")
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP and k.lower() != "host"}
            headers["Host"] = f"{front.upstream_host}:{front.upstream_port}"
            if body is not None:
                headers["Content-Length"] = str(len(body))
            try:
                response, payload = front.forward(
                    self.command, front.upstream_prefix + _ascii(self.path), body, headers
                )
            except (ConnectionError, http.client.HTTPException, TimeoutError):
                # Not sent again: the emulator may have applied it (see Front.forward).
                self._error(502, "BAD_GATEWAY", "the local emulator did not answer; the request may have been applied")
                return
            self.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            if "x-content-type-options" not in {name.lower() for name, _ in response.getheaders()}:
                self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            front.on_request(self.command, self.path, response.status, time.perf_counter() - started)

        def _read_body(self) -> bytes | None:
            """The request's body (None if it has none); ValueError if its framing is malformed."""
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)  # not a number: ValueError, a 400
            if length < 0:
                raise ValueError(f"negative Content-Length {length}")
            return self.rfile.read(length) if length else None

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _error(self, status: int, code: str, message: str) -> None:
            self._answer(status, "application/json", json.dumps({"error": code, "message": message}).encode())

    return Handler
