"""How the local cloud starts and stops: loud on what it cannot do, and nothing left behind."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys

import pytest
from cloud_kit import PROJECT_DIR, start_local_cloud, stop_local_cloud

from localcloud.deploy import UnknownResourceTypeError, deploy
from localcloud.graph import Resource, capture
from localcloud.polling import eventually

pytestmark = pytest.mark.e2e


def test_an_unknown_resource_type_stops_the_deployment_naming_it() -> None:
    # Given the dev graph plus a resource type the local cloud has no creator for
    graph = capture("dev")
    graph.resources.append(
        Resource(
            urn="urn:pulumi:dev::ecommerce::pulumi:pulumi:Stack$aws:ec2/instance:Instance::bastion",
            type="aws:ec2/instance:Instance",
            name="bastion",
            inputs={"instanceType": "t4g.nano"},
            outputs={},
            id="i-0123456789abcdef0",
            parent=None,
            custom=True,
            protect=False,
            retain_on_delete=False,
        )
    )
    # When it is deployed (to an endpoint nothing listens on: the check comes before any call)
    with pytest.raises(UnknownResourceTypeError) as failure:
        deploy(graph, "http://127.0.0.1:9")
    # Then the error names the type
    assert failure.value.types == ["aws:ec2/instance:Instance"], str(failure.value)
    assert "aws:ec2/instance:Instance" in str(failure.value)


def test_a_taken_port_is_a_one_line_error() -> None:
    # Given something already listening on the port
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # When the local cloud is asked for that port
        result = subprocess.run(
            [sys.executable, "-m", "localcloud", "up", "--port", str(port)],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=60,
        )
    # Then it exits non-zero with one line naming the port, and no traceback
    assert result.returncode != 0, f"exit code {result.returncode}: {result.stdout} {result.stderr}"
    assert result.stderr.count("\n") == 1 and f"port {port}" in result.stderr, repr(result.stderr)
    assert "Traceback" not in result.stderr + result.stdout


def test_sigterm_stops_everything_it_started() -> None:
    # Given a running local cloud that has started MiniStack and Lambda workers
    cloud = start_local_cloud()
    try:
        import requests

        assert requests.get(f"{cloud.api}/product", timeout=30).status_code == 200, "GET /product"
        started = cloud.descendants()
        assert started, "the local cloud runs MiniStack in a child process"
        # When it receives SIGTERM
        cloud.process.send_signal(signal.SIGTERM)
        exit_code = cloud.process.wait(timeout=30)
        # Then it exits cleanly and none of its processes is left
        assert exit_code == 0, f"exit code {exit_code}: {cloud.lines[-5:]}"

        def all_gone() -> bool | None:
            alive = {pid for pid in started if _alive(pid)}
            return True if not alive else None

        eventually(all_gone, deadline=10, what=f"processes {sorted(started)} gone after SIGTERM")
    finally:
        stop_local_cloud(cloud)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("framing", ["Content-Length: abc", "Content-Length: -1", "Transfer-Encoding: chunked"])
def test_a_badly_framed_request_is_a_400_not_a_dropped_connection(local_cloud, framing: str) -> None:
    # Given the local cloud's API port, and a request whose body framing cannot be read
    host, port = local_cloud.api.removeprefix("http://").split(":")
    body = "zz\r\n" if framing.startswith("Transfer") else ""  # a chunk size that is not hexadecimal
    request = f"POST /product HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n{body}"
    # When it is sent
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request.encode())
        # The front closes the connection after answering: where this request ended is unknown.
        answer = b"".join(iter(lambda: connection.recv(65536), b"")).decode(errors="replace")
    # Then the front answers 400 with the API's error shape
    assert answer.startswith("HTTP/1.1 400"), f"POST /product with {framing!r}: {answer[:200]!r}"
    body = json.loads(answer.partition("\r\n\r\n")[2])
    assert body["error"] == "BAD_REQUEST", f"POST /product with {framing!r}: {body}"
