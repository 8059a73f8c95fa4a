"""The local cloud as a user starts it (`python -m localcloud up --port <free>`, a subprocess), for the e2e tests."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
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
from localcloud.users import Users

PROJECT_DIR = Path(__file__).resolve().parents[2]
START_DEADLINE = 90.0  # seconds; a cold machine imports pulumi, starts MiniStack and packages three functions


@dataclass
class LocalCloud:
    """A running `python -m localcloud up`: its process, its printed URLs, and everything it printed."""

    process: subprocess.Popen[str]
    api: str = ""
    aws: str = ""
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)
    _users: Users | None = field(default=None, repr=False)

    def outputs(self) -> dict[str, Any]:
        """The stack outputs the local cloud serves (what `python -m localcloud outputs` prints)."""
        response = requests.get(f"{self.api}{OUTPUTS_PATH}", timeout=30)
        assert response.status_code == 200, f"GET {OUTPUTS_PATH}: {response.status_code} {response.text}"
        return dict(response.json())

    @property
    def users(self) -> Users:
        """The users of the local cloud's pool: any user name gets a token, the user created on first use."""
        if self._users is None:
            self._users = Users.from_outputs(self.outputs())
        return self._users

    def auth(self, user: str) -> dict[str, str]:
        """The headers of a request made by `user`."""
        return self.users.bearer(user)

    def admin(self) -> dict[str, str]:
        """The headers of a request made by an admin (the demo admin `up` created)."""
        return self.users.admin_bearer()

    def read_until(self, pattern: str, deadline: float) -> re.Match[str]:
        """Consume printed lines until one matches `pattern` (the process's exit or the deadline fails)."""
        end = time.monotonic() + deadline
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"local cloud printed no line matching {pattern!r} within {deadline:.0f} s: {self.lines}")
            if line is None:
                pytest.fail(f"local cloud exited ({self.process.wait()}) before {pattern!r}: {self.lines}")
            self.lines.append(line)
            if match := re.search(pattern, line):
                return match

    def client(self, service: str) -> Any:
        return boto3.Session(region_name="us-east-1").client(service, endpoint_url=self.aws)

    def descendants(self) -> set[int]:
        """Every process below the local cloud's (MiniStack and its Lambda workers), from /proc."""
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited while we looked
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        found: set[int] = set()
        pending = [self.process.pid]
        while pending:
            for child in children.get(pending.pop(), []):
                if child not in found:
                    found.add(child)
                    pending.append(child)
        return found


def _pump(process: subprocess.Popen[str], into: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        into.put(line.rstrip("\n"))
    into.put(None)


def start_local_cloud(*args: str, port: int | None = None, cwd: Path = PROJECT_DIR) -> LocalCloud:
    """Start the CLI on a free port and return once it printed its URLs and `ready` (`cwd`: a copy of the project)."""
    port = port or emulator.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "localcloud", "up", "--port", str(port), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so a failed test can still take down the whole tree
    )
    cloud = LocalCloud(process=process)
    threading.Thread(target=_pump, args=(process, cloud._queue), daemon=True).start()
    cloud.api = cloud.read_until(r"^\s+API\s+(http://\S+?)/?$", START_DEADLINE).group(1)
    cloud.aws = cloud.read_until(r"^\s+AWS\s+(http://\S+)", 5).group(1)
    cloud.read_until(r"^ready in", START_DEADLINE)
    return cloud


def stop_local_cloud(cloud: LocalCloud) -> None:
    if cloud.process.poll() is None:
        cloud.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            cloud.process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(cloud.process.pid, signal.SIGKILL)  # whatever a failed stop left behind
