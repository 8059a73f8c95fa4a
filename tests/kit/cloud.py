"""The local cloud as a user starts it (`python -m localcloud up --port <free>`, a subprocess), for the e2e tests
and the benchmarks' whole-path section.

It counts as started once it printed its URLs and `ready`; it is stopped as a user stops it (SIGTERM), and whatever
a failed stop left behind is killed with its process group.
"""

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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3
import requests

from localcloud import emulator
from localcloud.front import OUTPUTS_PATH
from localcloud.users import Users
from tests.kit import processes

PROJECT_DIR = Path(__file__).resolve().parents[2]
# Graph capture, MiniStack's start and deploying every resource: seconds when idle, minutes on a saturated machine.
START_DEADLINE_S = 180.0
STOP_DEADLINE_S = 20.0


class LocalCloudError(RuntimeError):
    """The local cloud exited, or printed nothing expected, before it was ready."""


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
        response = requests.get(f"{self.api}{OUTPUTS_PATH}", timeout=60)
        if response.status_code != 200:
            raise LocalCloudError(f"GET {OUTPUTS_PATH}: {response.status_code} {response.text}")
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
                raise LocalCloudError(
                    f"local cloud printed no line matching {pattern!r} within {deadline:.0f} s: {self.lines[-40:]}"
                ) from None
            if line is None:
                raise LocalCloudError(f"local cloud exited ({self.process.wait()}) before {pattern!r}: {self.lines}")
            self.lines.append(line)
            if match := re.search(pattern, line):
                return match

    def client(self, service: str) -> Any:
        return boto3.Session(region_name="us-east-1").client(service, endpoint_url=self.aws)

    def descendants(self) -> set[int]:
        """Every process below the local cloud's (MiniStack and its Lambda workers)."""
        return processes.descendants(self.process.pid)


def _pump(process: subprocess.Popen[str], into: queue.Queue[str | None], log: IO[str] | None) -> None:
    """Read what the process prints as it prints it (a full pipe would stall it), into the queue and the log."""
    assert process.stdout is not None
    for line in process.stdout:
        into.put(line.rstrip("\n"))
        if log is not None:
            log.write(line)
            log.flush()
    into.put(None)
    if log is not None:
        log.close()


def start_local_cloud(
    *args: str,
    port: int | None = None,
    cwd: Path = PROJECT_DIR,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    deadline: float = START_DEADLINE_S,
) -> LocalCloud:
    """Start the CLI on a free port and return once it printed its URLs and `ready`.

    `cwd`: a copy of the project; `env`: the process's whole environment (default: ours); `log`: a file that
    keeps everything it prints, for after the run."""
    port = port or emulator.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "localcloud", "up", "--port", str(port), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so a failed run can still take down the whole tree
    )
    cloud = LocalCloud(process=process)
    log_file = log.open("w") if log is not None else None
    threading.Thread(target=_pump, args=(process, cloud._queue, log_file), daemon=True).start()
    try:
        cloud.api = cloud.read_until(r"^\s+API\s+(http://\S+?)/?$", deadline).group(1)
        cloud.aws = cloud.read_until(r"^\s+AWS\s+(http://\S+)", 5).group(1)
        cloud.read_until(r"^ready in", deadline)
    except BaseException:
        stop_local_cloud(cloud)
        raise
    return cloud


def stop_local_cloud(cloud: LocalCloud) -> None:
    """SIGTERM, as a service manager stops it (the local cloud then stops MiniStack); its group killed if it hangs."""
    if cloud.process.poll() is None:
        cloud.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            cloud.process.wait(timeout=STOP_DEADLINE_S)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(cloud.process.pid, signal.SIGKILL)  # whatever a failed stop left behind


@contextlib.contextmanager
def running_local_cloud(*args: str, **kwargs: Any) -> Iterator[LocalCloud]:
    """`start_local_cloud` for the block, stopped after it however it ends."""
    cloud = start_local_cloud(*args, **kwargs)
    try:
        yield cloud
    finally:
        stop_local_cloud(cloud)
