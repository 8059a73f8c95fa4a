"""The local front sends each request to the emulator once: a request that may have been applied is never re-sent."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from localcloud.front import Front

pytestmark = pytest.mark.e2e


class _Upstream:
    """A loopback HTTP server that answers the first request and drops the connection after reading the second,
    as an emulator that applied a request and then lost the connection would."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests_seen = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as reader:
            while True:
                lines = []
                while (line := reader.readline()) not in (b"\r\n", b""):
                    lines.append(line)
                if not lines:
                    return
                length = next(
                    (int(v) for k, _, v in (x.decode().partition(":") for x in lines) if k.lower() == "content-length"),
                    0,
                )
                reader.read(length)
                self.requests_seen += 1
                if self.requests_seen > 1:
                    return  # applied, then the connection is lost before the answer
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def upstream() -> Iterator[_Upstream]:
    server = _Upstream()
    yield server
    server.close()


def test_a_request_whose_connection_fails_is_answered_502_and_never_sent_twice(upstream: _Upstream) -> None:
    # Given the front in front of an upstream, with a kept-alive connection from a first request
    front = Front(0, f"http://127.0.0.1:{upstream.port}/", openapi=lambda: None).start()
    try:
        with requests.Session() as client:
            first = client.post(f"{front.url}/basket", json={"userName": "a"}, timeout=10)
            assert first.status_code == 200, f"first POST /basket through the front: {first.status_code}"
            # When the upstream reads the next request and drops the connection without answering
            second = client.post(f"{front.url}/basket", json={"userName": "b"}, timeout=10)
    finally:
        front.stop()
    # Then the client is told 502 in the API's error shape, and the upstream saw that request once
    assert second.status_code == 502 and second.json()["error"] == "BAD_GATEWAY", f"second POST: {second.text}"
    assert upstream.requests_seen == 2, f"requests the upstream read: {upstream.requests_seen} (a re-send makes 3)"
