"""What an on-call engineer does after a consumer bug, with `python -m ops` against a running local cloud.

The stack is the dev graph with a 1 s consumer timeout (so the checkout queue's visibility timeout is 6 s) and
maxReceiveCount 2: a failing checkout reaches the DLQ in seconds. The functions' AWS calls go through a
FaultProxy, so a test can break the consumer's order write and then mend it, as a bug and its fix would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests

from localcloud import emulator
from localcloud.deploy import Deployment
from localcloud.front import Front
from localcloud.users import Users
from tests.kit.cloud import LocalCloud
from tests.kit.faults import FaultProxy, aws_error, on_table
from tests.kit.polling import eventually
from tests.kit.stacks import faulty_stack

pytestmark = pytest.mark.e2e

PROJECT_DIR = Path(__file__).resolve().parents[2]
MAX_RECEIVE_COUNT = 2
CONFIG = {"functions": {"ordering": {"timeoutSeconds": 1}}, "maxReceiveCount": MAX_RECEIVE_COUNT}
ORDER_WRITE = "DynamoDB_20120810.PutItem"
BUYER = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "address": "1 Loop St"}


def ops(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """`python -m ops <args>` as an operator runs it, from the project folder."""
    command = [sys.executable, "-m", "ops", *args]
    return subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=timeout, check=False)


@dataclass
class Shop:
    deployment: Deployment
    proxy: FaultProxy
    front: Front
    users: Users
    outputs: dict[str, Any]
    http: requests.Session

    @property
    def port(self) -> int:
        return int(self.front.url.rsplit(":", 1)[1])

    def client(self, service: str) -> Any:
        return self.deployment.client(service)

    def ops(self, *args: str) -> dict[str, Any]:
        """`python -m ops <args> --local <port> --json`, as an operator runs it; its JSON report."""
        done = ops(*args, "--local", str(self.port), "--json", timeout=300)
        assert done.returncode == 0, f"ops {' '.join(args)} --json: exit {done.returncode}: {done.stderr}"
        return dict(json.loads(done.stdout))

    def checkout(self, product_id: str) -> tuple[str, str]:
        """A new user's basket of one product, checked out: (user, checkoutId)."""
        user = f"ops-{uuid.uuid4().hex[:12]}"
        auth = self.users.bearer(user)
        basket: dict[str, Any] = {"userName": user, "items": [{"productId": product_id, "quantity": 2}]}
        created = self.http.post(f"{self.front.url}/basket", json=basket, headers=auth, timeout=30)
        assert created.status_code == 200, f"POST /basket for {user}: {created.status_code} {created.text}"
        checkout: dict[str, Any] = {"userName": user, **BUYER, "paymentMethod": "card"}
        accepted = self.http.post(f"{self.front.url}/basket/checkout", json=checkout, headers=auth, timeout=30)
        assert accepted.status_code == 202, f"POST /basket/checkout for {user}: {accepted.status_code} {accepted.text}"
        return user, str(accepted.json()["checkoutId"])

    def orders(self, user: str) -> list[dict[str, Any]]:
        response = self.http.get(f"{self.front.url}/order/{user}", headers=self.users.admin_bearer(), timeout=30)
        assert response.status_code == 200, f"GET /order/{user}: {response.status_code} {response.text}"
        return list(response.json()["items"])

    def placed(self, user: str) -> list[dict[str, Any]] | None:
        """The user's orders once there is one (None until then)."""
        return self.orders(user) or None

    def depth(self, url: str) -> int:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    with faulty_stack(CONFIG, tmp_path_factory.mktemp("ministack")) as stack, requests.Session() as http:
        yield Shop(stack.deployment, stack.proxy, stack.front, Users.of(stack.deployment), stack.outputs, http)


@pytest.fixture(scope="module")
def product_id(shop: Shop) -> str:
    body: dict[str, Any] = {
        "name": "Lamp",
        "description": "A lamp",
        "imageFile": "lamp.png",
        "price": 12.5,
        "category": "ops",
    }
    created = shop.http.post(f"{shop.front.url}/product", json=body, headers=shop.users.admin_bearer(), timeout=30)
    assert created.status_code == 201, f"POST /product: {created.status_code} {created.text}"
    return str(created.json()["id"])


def test_ops_refuses_a_stack_it_cannot_find() -> None:
    # Given no local cloud on a port
    port = emulator.free_port()
    for command in (["status"], ["redrive", "--dry-run"], ["replay", "--from", "2026-01-01T00:00:00Z", "--to", "now"]):
        # When an operator points a command at it
        done = ops(*command, "--local", str(port), timeout=60)
        # Then it exits 2 with one line saying so
        assert done.returncode == 2, f"ops {command} on port {port}: exit {done.returncode}, {done.stderr}"
        assert done.stderr.count("\n") == 1 and f"port {port}" in done.stderr, f"ops {command}: {done.stderr!r}"


def test_checkouts_dead_lettered_by_a_consumer_bug_become_one_order_each_after_redrive(
    shop: Shop, product_id: str
) -> None:
    order_table = shop.outputs["order_table"]
    dlq_url, queue_url = shop.outputs["checkout_dlq_url"], shop.outputs["checkout_queue_url"]
    # Given the consumer cannot write orders (every PutItem on the order table refused: a bug in the write)
    fault = shop.proxy.inject(ORDER_WRITE, aws_error(400, "ValidationException"), when=on_table(order_table))
    try:
        # When three users check out
        checkouts = dict(shop.checkout(product_id) for _ in range(3))

        # Then after maxReceiveCount tries each checkout is in the DLQ, and none became an order
        def dead_lettered() -> dict[str, Any] | None:
            # Both the sample and the queue's (approximate) count, which the emulator updates a moment apart.
            report = shop.ops("status")
            found = {m["checkout_id"] for m in report["dead_letters"]["sample"]}
            settled = set(checkouts.values()) <= found and report["dead_letters"]["count"] == len(checkouts)
            return report if settled else None

        report = eventually(dead_lettered, deadline=90, interval=1.0, what=f"checkouts {checkouts} in {dlq_url}")
    finally:
        shop.proxy.remove(fault)
    assert report["dead_letters"]["count"] == len(checkouts), f"ops status: {dlq_url} holds {report['dead_letters']}"
    for user in checkouts:
        assert shop.orders(user) == [], f"GET /order/{user}: an order although its checkout is dead-lettered"
    # And ops status shows each one with the reason the consumer logged, and the DLQ's alarm among the alarms
    for message in report["dead_letters"]["sample"]:
        assert message["reason"] and "ValidationException" in message["reason"], f"ops status: {message}"
    assert any("checkout-dlq" in alarm["name"] for alarm in report["alarms"]), f"ops status: {report['alarms']}"
    assert report["queues"]["checkout-dlq"]["oldest_age_seconds"] is not None, f"ops status: {report['queues']}"

    # When the fix is deployed (the fault removed) and an operator first asks what a redrive would do
    dry = shop.ops("redrive", "--dry-run")
    # Then the dry run moves nothing
    assert dry["would_move"] == len(checkouts), f"ops redrive --dry-run: {dry}"
    assert shop.depth(dlq_url) == len(checkouts), f"{dlq_url} after a dry run: {shop.depth(dlq_url)} messages"

    # When the operator redrives one message first, then the rest
    first = shop.ops("redrive", "--max", "1")
    assert first["moved"] == 1, f"ops redrive --max 1: {first}"
    rest = shop.ops("redrive")
    assert rest["moved"] == len(checkouts) - 1, f"ops redrive after --max 1: {rest}"

    # Then every checkout becomes exactly one order, and the DLQ and the queue are empty
    for user, checkout_id in checkouts.items():
        placed = eventually(partial(shop.placed, user), deadline=60, what=f"the order of {checkout_id}")
        assert [o["orderId"] for o in placed] == [checkout_id], f"GET /order/{user}: {placed}"
    eventually(lambda: shop.depth(queue_url) == 0 or None, deadline=30, what=f"{queue_url} drained")
    assert shop.depth(dlq_url) == 0, f"{dlq_url} after redrive: {shop.depth(dlq_url)} messages"


def test_replaying_a_window_that_already_became_orders_creates_no_new_order(shop: Shop, product_id: str) -> None:
    # Given two checkouts that became orders, in a window of the archive
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    checkouts = dict(shop.checkout(product_id) for _ in range(2))
    for user, checkout_id in checkouts.items():
        eventually(partial(shop.placed, user), deadline=60, what=f"the order of {checkout_id}")
    # The archive stamps events to the second: the window ends past the second of the last one.
    end = datetime.now(UTC) + timedelta(seconds=1)
    logs = shop.client("logs")
    group = f"/aws/lambda/{shop.outputs['ordering_function']}"

    # When an operator asks what the replay would do, then replays the window onto the bus
    dry = shop.ops("replay", "--from", start.isoformat(), "--to", end.isoformat(), "--dry-run")
    assert dry["archived_events"] >= len(checkouts), f"ops replay --dry-run: {dry}"
    replayed = shop.ops("replay", "--from", start.isoformat(), "--to", end.isoformat())
    assert replayed["state"] == "COMPLETED", f"ops replay: {replayed}"

    # Then the consumer receives each event again and recognises the order it already placed
    def recognised(checkout_id: str) -> bool | None:
        found = logs.filter_log_events(logGroupName=group, filterPattern=f'"duplicate delivery" "{checkout_id}"')
        return True if found["events"] else None

    for checkout_id in checkouts.values():
        eventually(partial(recognised, checkout_id), deadline=60, what=f"replayed {checkout_id} seen in {group}")
    # And each user still has exactly one order
    for user, checkout_id in checkouts.items():
        placed = shop.orders(user)
        assert [o["orderId"] for o in placed] == [checkout_id], f"GET /order/{user} after replay: {placed}"


def test_the_local_cloud_creates_the_archive_and_the_dashboard(shop: Shop) -> None:
    # Given the stack deployed on the emulator
    events, cloudwatch = shop.client("events"), shop.client("cloudwatch")
    # Then its bus is archived for the configured retention
    archive = events.describe_archive(ArchiveName=shop.outputs["event_archive"])
    assert archive["EventSourceArn"] == shop.outputs["event_bus_arn"], f"archive {archive['ArchiveName']}: {archive}"
    assert archive["RetentionDays"] == 7, f"archive {archive['ArchiveName']}: {archive['RetentionDays']} days"
    # And its dashboard exists, showing the stack's functions by name
    body = json.loads(cloudwatch.get_dashboard(DashboardName=shop.outputs["dashboard"])["DashboardBody"])
    shown = json.dumps(body)
    for key in ("product_function", "basket_function", "ordering_function"):
        assert shop.outputs[key] in shown, f"dashboard {shop.outputs['dashboard']} does not show {shop.outputs[key]}"


def test_ops_status_reads_the_local_cloud_a_user_started(local_cloud: LocalCloud) -> None:
    # Given `python -m localcloud up` running on its port
    port = local_cloud.api.rsplit(":", 1)[1]
    # When an operator asks for the status, as the README says
    done = ops("status", "--local", port, timeout=120)
    # Then it prints the queues, the dead letters and the stack's alarms
    assert done.returncode == 0, f"ops status --local {port}: exit {done.returncode}: {done.stderr}"
    assert "checkout-dlq" in done.stdout and "dead letters:" in done.stdout, f"ops status: {done.stdout}"
    assert "ecommerce-dev-order-lag" in done.stdout, f"ops status lists no order-lag alarm: {done.stdout}"
