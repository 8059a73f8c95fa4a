"""What the local front and the tests' fault proxy share: a threaded loopback server, a handler that relays an
upstream answer, and kept-alive connections to the emulator (urllib3's pool)."""

from __future__ import annotations

import sys
import threading
import time
import weakref
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

import urllib3
from urllib3.connection import HTTPConnection
from urllib3.util import SKIP_HEADER, Retry

from localcloud.emulator import HOST

# Hop-by-hop headers belong to one connection, not to the request (RFC 9110 §7.6.1); Date and Server are
# written by the relaying server itself.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "date", "server"}
)
# Well under the emulator's keep-alive timeout (75 s), so a proxy never sends on a connection the emulator is closing.
_MAX_IDLE_SECONDS = 20.0
# Idle connections kept per upstream; a burst's connections beyond that are closed once answered.
_POOL_SIZE = 32


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: a burst of clients overflows it, the kernel drops their
    # handshakes and they retry a second later (20 parallel requests took 1.3 s instead of 0.15 s).
    request_queue_size = 128
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up before its answer (it timed out, was stopped, or was a killed Lambda worker) is no
        # fault of the proxy's: no traceback for it on the console the functions' logs go to.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class _Pool(urllib3.HTTPConnectionPool):
    """urllib3 leaves out a pooled connection the emulator has closed (its socket is readable); this pool also one
    idle long enough that the emulator may be closing it right now."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port, maxsize=_POOL_SIZE, timeout=60.0)
        self._idle_since: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        idle_since = self._idle_since.pop(conn, None)
        if idle_since is not None and time.monotonic() - idle_since > _MAX_IDLE_SECONDS:
            conn.close()  # urllib3 connects it again for the request
        return conn

    def _put_conn(self, conn: Any) -> None:
        if isinstance(conn, HTTPConnection):
            self._idle_since[conn] = time.monotonic()
        super()._put_conn(conn)


class Upstream:
    """Kept-alive connections to the HTTP server at `url`, shared by every serving thread.

    A client that opens a connection per request (curl, `requests.get`) does not make the emulator accept a new one
    each time too. Stale connections, the usual reason a send fails, are left out before sending. With `resend`
    False a request is sent once and never again: one that failed may have reached the emulator and been applied (a
    basket written, a checkout published), so re-sending it could apply it twice; `send` raises instead.
    """

    def __init__(self, url: str, *, resend: bool = False) -> None:
        target = urlsplit(url)
        self.host = target.hostname or HOST
        self.port = target.port or 80
        self.prefix = target.path.rstrip("/")
        self._pool = _Pool(self.host, self.port)
        # One more try on a new connection, whatever the method; never on an answer (a 503's Retry-After included).
        self._retries = Retry(total=1, allowed_methods=None, redirect=False, respect_retry_after_header=False)
        self._resend = resend

    def send(self, method: str, target: str, body: bytes | None, headers: dict[str, str]) -> Answer:
        """The answer to one request, its body read whole; urllib3.exceptions.HTTPError if none came."""
        if not any(k.lower() == "user-agent" for k in headers):
            headers = {**headers, "User-Agent": SKIP_HEADER}  # the client's headers, not urllib3's
        response = self._pool.urlopen(
            method,
            self.prefix + target,
            body=body,
            headers=headers,
            retries=self._retries if self._resend else False,
            redirect=False,
            assert_same_host=False,
            decode_content=False,  # the body goes on as the emulator encoded it, with its Content-Encoding
        )
        return Answer(response.status, list(response.headers.items()), response.data)

    def close(self) -> None:
        self._pool.close()


class Proxy:
    """A threaded HTTP server on 127.0.0.1:`port` whose `handler` relays requests to `upstream`."""

    def __init__(
        self, port: int, upstream: str, handler: type[BaseHTTPRequestHandler], name: str, *, resend: bool = False
    ) -> None:
        self.upstream = Upstream(upstream, resend=resend)
        self.server = _Server((HOST, port), handler)
        self._thread = threading.Thread(target=self.server.serve_forever, name=name, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.upstream.close()


class Handler(BaseHTTPRequestHandler):
    """Request handling both proxies share: HTTP/1.1 keep-alive, no access log, an answer relayed or sent whole."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's delayed ACK, which added
    # 40 ms to every request on Linux (found by the reliability suite).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def read_body(self) -> bytes | None:
        """The request's body (None if it has none); ValueError if its framing is malformed."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)  # not a number: ValueError
        if length < 0:
            raise ValueError(f"negative Content-Length {length}")
        return self.rfile.read(length) if length else None

    def request_headers(self, body: bytes | None) -> dict[str, str]:
        """The client's end-to-end headers, with the length of `body` as it goes on (its chunks joined)."""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"content-length"}}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        return headers

    def relay(self, answer: Answer, extra: tuple[tuple[str, str], ...] = ()) -> None:
        kept = [(k, v) for k, v in answer.headers if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
        self.answer(answer.status, [*kept, *extra], answer.body)

    def answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
