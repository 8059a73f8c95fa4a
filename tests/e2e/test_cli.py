"""How the local cloud starts and stops: loud on what it cannot do, and nothing left behind."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests

from localcloud import emulator
from localcloud.deploy import UnknownResourceTypeError, deploy
from localcloud.graph import Resource, capture
from localcloud.users import Users
from tests.kit import processes
from tests.kit.cloud import PROJECT_DIR, start_local_cloud, stop_local_cloud
from tests.kit.polling import eventually

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
        assert requests.get(f"{cloud.api}/product", timeout=30).status_code == 200, "GET /product"
        started = cloud.descendants()
        assert started, "the local cloud runs MiniStack in a child process"
        # (its scratch folder holds the emulator's log and the folders each Lambda worker's code is unpacked in)
        scratch = list(Path(tempfile.gettempdir()).glob(f"localcloud-{cloud.process.pid}-*"))
        assert len(scratch) == 1, f"one scratch folder of pid {cloud.process.pid}: {scratch}"
        assert list(scratch[0].glob("ministack-*.log")), f"the emulator's log in {scratch[0]}"
        assert list(scratch[0].glob("tmp/ministack-lambda-*")), f"the Lambda workers' folders in {scratch[0]}"
        # When it receives SIGTERM
        cloud.process.send_signal(signal.SIGTERM)
        exit_code = cloud.process.wait(timeout=30)
        # Then it exits cleanly and none of its processes is left
        assert exit_code == 0, f"exit code {exit_code}: {cloud.lines[-5:]}"

        def all_gone() -> bool | None:
            alive = {pid for pid in started if processes.alive(pid)}
            return True if not alive else None

        eventually(all_gone, deadline=10, what=f"processes {sorted(started)} gone after SIGTERM")
        # And nothing of that run is left on disk: no worker folder, no emulator log
        assert not scratch[0].exists(), f"left behind: {sorted(p.name for p in scratch[0].rglob('*'))[:10]}"
    finally:
        stop_local_cloud(cloud)


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


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localcloud", *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60
    )


def test_outputs_prints_the_stack_outputs_of_the_running_local_cloud(local_cloud, dev_graph) -> None:
    # Given a running local cloud, When `outputs` is asked on its port
    port = local_cloud.api.rsplit(":", 1)[1]
    printed = _cli("outputs", "--port", port)
    assert printed.returncode == 0, f"outputs: {printed.returncode} {printed.stderr}"
    outputs = json.loads(printed.stdout)
    # Then it has every export of the program, by the names `pulumi stack output --json` gives, with local values
    assert set(dev_graph.outputs) <= set(outputs), f"missing: {set(dev_graph.outputs) - set(outputs)}"
    assert outputs["api_url"] == f"{local_cloud.api}/", outputs["api_url"]
    assert outputs["issuer"] == f"https://cognito-idp.{outputs['region']}.amazonaws.com/{outputs['user_pool_id']}"
    # And the emulator's endpoint and credentials, which reach the pool the outputs name (the client a user of the
    # outputs builds from them)
    cognito = Users.from_outputs(outputs).cognito
    pool = cognito.describe_user_pool(UserPoolId=outputs["user_pool_id"])["UserPool"]
    client = cognito.describe_user_pool_client(UserPoolId=pool["Id"], ClientId=outputs["user_pool_client_id"])
    assert client["UserPoolClient"]["ClientId"] == outputs["user_pool_client_id"]


def test_token_signs_in_a_demo_user_whose_token_the_api_accepts(local_cloud) -> None:
    # Given the demo users the local cloud announced
    port = local_cloud.api.rsplit(":", 1)[1]
    assert any(line.strip().startswith("users admin / ") for line in local_cloud.lines), local_cloud.lines[:20]
    # When `token` is asked for the customer and for the admin
    tokens = {user: _cli("token", user, "--port", port) for user in ("customer", "admin")}
    for user, printed in tokens.items():
        assert printed.returncode == 0 and printed.stdout.count(".") == 2, f"token {user}: {printed.stderr}"
    bearer = {user: {"Authorization": f"Bearer {printed.stdout.strip()}"} for user, printed in tokens.items()}
    # Then the API takes each as its user: the customer reads their basket, only the admin lists the orders
    own = requests.get(f"{local_cloud.api}/basket/customer", headers=bearer["customer"], timeout=30)
    assert own.status_code in (200, 404), f"GET /basket/customer as customer: {own.status_code} {own.text}"
    assert requests.get(f"{local_cloud.api}/order", headers=bearer["customer"], timeout=30).status_code == 403
    assert requests.get(f"{local_cloud.api}/order", headers=bearer["admin"], timeout=30).status_code == 200
    # And a wrong password is a one-line refusal
    refused = _cli("token", "customer", "--password", "not-the-password", "--port", port)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, repr(refused.stderr)
    assert "customer cannot sign in" in refused.stderr and "Traceback" not in refused.stderr


@pytest.mark.parametrize("command", [["outputs"], ["token", "customer"]])
def test_without_a_running_local_cloud_outputs_and_token_say_so_in_one_line(command: list[str]) -> None:
    port = str(emulator.free_port())
    printed = _cli(*command, "--port", port)
    assert printed.returncode == 1, f"{command}: {printed.returncode} {printed.stdout}"
    assert printed.stderr.count("\n") == 1 and f"no local cloud is running on port {port}" in printed.stderr, repr(
        printed.stderr
    )
