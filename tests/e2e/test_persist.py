"""`python -m localcloud up --persist`: the data outlives a restart, the demo users are not made twice, and
`python -m localcloud reset` starts over. The local cloud is started and stopped as a user does (Ctrl-C is SIGINT);
its kept state goes to a folder of the test's own (LOCALCLOUD_STATE_DIR), never the developer's .localcloud/."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from localcloud import emulator
from localcloud.front import OUTPUTS_PATH
from localcloud.users import ADMIN, CUSTOMER, Users

pytestmark = pytest.mark.e2e

PROJECT_DIR = Path(__file__).resolve().parents[2]
START_DEADLINE = 120.0  # seconds: imports, the Pulumi program, MiniStack and three functions on a loaded machine
STOP_DEADLINE = 90.0  # MiniStack writes its state while it stops


@dataclass
class _Run:
    """One `python -m localcloud up --persist`: its process and what it printed."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    printed: queue.Queue[str | None] = field(default_factory=queue.Queue)
    api: str = ""

    def read_until(self, pattern: str, deadline: float = START_DEADLINE) -> re.Match[str]:
        end = time.monotonic() + deadline
        while True:
            try:
                line = self.printed.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no line matching {pattern!r} within {deadline:.0f} s: {self.lines[-20:]}")
            if line is None:
                pytest.fail(f"the local cloud exited ({self.process.wait()}) before {pattern!r}: {self.lines[-20:]}")
            self.lines.append(line)
            if match := re.search(pattern, line):
                return match

    def users(self) -> Users:
        return Users.from_outputs(requests.get(f"{self.api}{OUTPUTS_PATH}", timeout=30).json())

    def interrupt(self) -> int:
        """Ctrl-C, as a user stops it; the exit code once it has stopped (and saved)."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=STOP_DEADLINE)
        self.lines.extend(line for line in iter(self.printed.get, None))
        return code


def _start(env: dict[str, str]) -> _Run:
    process = subprocess.Popen(
        [sys.executable, "-m", "localcloud", "up", "--persist", "--port", str(emulator.free_port())],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so a failed test can take down the whole tree
    )
    run = _Run(process)

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            run.printed.put(line.rstrip("\n"))
        run.printed.put(None)

    threading.Thread(target=pump, daemon=True).start()
    run.api = run.read_until(r"^\s+API\s+(http://\S+?)/?$").group(1)
    run.read_until(r"^ready in")
    return run


def _kill(run: _Run) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(run.process.pid, signal.SIGKILL)  # only what a failed test left running


@pytest.fixture
def kept_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "LOCALCLOUD_STATE_DIR": str(tmp_path / "kept")}


def _pool_user_names(users: Users) -> list[str]:
    pages = users.cognito.get_paginator("list_users").paginate(UserPoolId=users.pool_id)
    return sorted(u["Username"] for page in pages for u in page["Users"])


def test_data_survives_a_restart_with_persist_and_reset_deletes_it(kept_env: dict[str, str]) -> None:
    kept = Path(kept_env["LOCALCLOUD_STATE_DIR"]) / "dev"
    # Given a local cloud started with --persist, a product created by the admin and a basket put by the customer
    first = _start(kept_env)
    try:
        users = first.users()
        product: dict[str, Any] = {
            "name": "Kept lamp",
            "category": "Lighting",
            "price": 12.5,
            "description": "survives restarts",
        }
        created = requests.post(f"{first.api}/product", json=product, headers=users.admin_bearer(), timeout=30)
        assert created.status_code == 201, f"POST /product: {created.status_code} {created.text}"
        product_id = created.json()["id"]
        customer_token = users.sign_in(CUSTOMER.name, CUSTOMER.password)
        basket: dict[str, Any] = {"userName": CUSTOMER.name, "items": [{"productId": product_id, "quantity": 2}]}
        put = requests.post(
            f"{first.api}/basket", json=basket, headers={"Authorization": f"Bearer {customer_token}"}, timeout=30
        )
        assert put.status_code == 200, f"POST /basket: {put.status_code} {put.text}"
        # When it is stopped with Ctrl-C
        assert first.interrupt() == 0, f"exit code of the first run: {first.lines[-10:]}"
    finally:
        _kill(first)
    # Then the data services' state is in the folder, and nothing of the rebuilt wiring (functions, API, ...)
    saved = sorted(p.name for p in kept.iterdir())
    assert {"dynamodb.json", "cognito.json"} <= set(saved), f"saved in {kept}: {saved}"
    assert not {"lambda.json", "apigateway.json", "lambda-blobs"} & set(saved), f"saved in {kept}: {saved}"
    assert not list(Path(tempfile.gettempdir()).glob(f"localcloud-{first.process.pid}-*")), "scratch left in /tmp"

    # When it is started again with --persist
    second = _start(kept_env)
    try:
        assert any(line.startswith("kept from the last run") for line in second.lines), second.lines[-20:]
        # Then the API answers, and the product and the basket are there
        listed = requests.get(f"{second.api}/product", timeout=30)
        assert listed.status_code == 200, f"GET /product after the restart: {listed.status_code} {listed.text}"
        assert product_id in {p["id"] for p in listed.json()["items"]}, f"product {product_id}: {listed.json()}"
        fetched = requests.get(f"{second.api}/product/{product_id}", timeout=30)
        assert fetched.status_code == 200 and fetched.json()["name"] == "Kept lamp", f"GET /product/{product_id}"
        # (read with the token taken before the restart: the pool, its app client and signing keys were kept)
        read = requests.get(
            f"{second.api}/basket/{CUSTOMER.name}", headers={"Authorization": f"Bearer {customer_token}"}, timeout=30
        )
        assert read.status_code == 200, f"GET /basket/{CUSTOMER.name} after the restart: {read.status_code} {read.text}"
        assert [(i["productId"], i["quantity"]) for i in read.json()["items"]] == [(product_id, 2)], read.json()
        # And the demo users exist once each, in the one pool of that name
        users = second.users()
        assert _pool_user_names(users) == sorted([ADMIN.name, CUSTOMER.name]), "users of the kept pool"
        outputs = requests.get(f"{second.api}{OUTPUTS_PATH}", timeout=30).json()
        cognito = boto3.client(
            "cognito-idp",
            endpoint_url=outputs["aws_endpoint_url"],
            region_name=outputs["region"],
            aws_access_key_id=outputs["aws_access_key_id"],
            aws_secret_access_key=outputs["aws_secret_access_key"],
        )
        pools = cognito.list_user_pools(MaxResults=60)["UserPools"]
        assert [p["Id"] for p in pools] == [outputs["user_pool_id"]], f"user pools after the restart: {pools}"
        # And reset is refused while it runs
        refused = _cli("reset", env=kept_env)
        assert refused.returncode != 0 and "in use" in refused.stderr, f"reset while running: {refused.stderr}"
        assert kept.is_dir(), "reset while running deleted the kept state"
        assert second.interrupt() == 0, f"exit code of the second run: {second.lines[-10:]}"
    finally:
        _kill(second)

    # When the developer resets the stack's kept state
    reset = _cli("reset", env=kept_env)
    # Then the folder is gone (the next --persist start begins empty)
    assert reset.returncode == 0, f"reset: {reset.returncode} {reset.stderr}"
    assert not kept.exists(), f"{kept} after reset: {sorted(p.name for p in kept.iterdir())}"


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localcloud", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
