"""Where a stack's resources are: its outputs, from `pulumi stack output --json` or a running local cloud.

The commands need nothing else: every queue, bus, archive, function and the alarm topic are stack outputs, and
the local cloud's outputs add how to reach the emulator (endpoint, region, its credentials).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import Any

import boto3
import requests

LOCAL_HOST = "127.0.0.1"
OUTPUTS_PATH = "/_localcloud/outputs"  # what the local cloud's front serves (localcloud/front.py)
# What every command reads; a stack older than the archive lacks event_archive_arn, and replay says so.
REQUIRED = ("checkout_queue_url", "checkout_dlq_url", "ordering_function", "alarm_topic")


class StackNotFoundError(RuntimeError):
    """The named stack, or the local cloud, is not there (or is not this program's): exit code 2."""


@dataclass(frozen=True)
class Stack:
    name: str  # "dev", or "local:<port>"
    outputs: dict[str, Any]

    def output(self, key: str) -> str:
        value = self.outputs.get(key)
        if not value:
            raise StackNotFoundError(f"stack {self.name} has no output {key!r} (deploy the current program)")
        return str(value)

    def session(self) -> boto3.Session:
        """AWS credentials from the usual chain; the local cloud's own when the outputs carry them."""
        return boto3.Session(
            aws_access_key_id=self.outputs.get("aws_access_key_id"),
            aws_secret_access_key=self.outputs.get("aws_secret_access_key"),
            region_name=self.outputs.get("region") or _region_of(self.outputs),
        )

    def client(self, service: str) -> Any:
        return self.session().client(service, endpoint_url=self.outputs.get("aws_endpoint_url"))


def _region_of(outputs: dict[str, Any]) -> str | None:
    """The region in the queue URL (https://sqs.<region>.amazonaws.com/...): the stack's, not the profile's."""
    host = str(outputs.get("checkout_queue_url", "")).split("/")[2:3]
    parts = host[0].split(".") if host else []
    return parts[1] if len(parts) > 2 and parts[0] == "sqs" else None


def _checked(name: str, outputs: Any) -> Stack:
    if not isinstance(outputs, dict) or any(not outputs.get(key) for key in REQUIRED):
        missing = [key for key in REQUIRED if not isinstance(outputs, dict) or not outputs.get(key)]
        raise StackNotFoundError(f"stack {name} is not this program's (outputs lack {', '.join(missing)})")
    return Stack(name, outputs)


def from_pulumi(stack: str) -> Stack:
    """The outputs of a deployed stack, as `pulumi stack output --json --stack NAME` prints them."""
    try:
        done = subprocess.run(  # noqa: S603 - the Pulumi CLI, the stack name as one argument (no shell)
            ["pulumi", "stack", "output", "--json", "--stack", stack],  # noqa: S607 - the CLI the user installed
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except FileNotFoundError:
        raise StackNotFoundError("the pulumi CLI is not on PATH (needed to read a deployed stack's outputs)") from None
    if done.returncode != 0:
        detail = " ".join((done.stderr or done.stdout).split())[:300]
        raise StackNotFoundError(f"no stack {stack!r}: pulumi stack output failed: {detail}")
    try:
        outputs = json.loads(done.stdout or "{}")
    except json.JSONDecodeError:
        raise StackNotFoundError(f"stack {stack!r}: pulumi printed no JSON outputs") from None
    return _checked(stack, outputs)


def from_local_cloud(port: int) -> Stack:
    """The outputs of the local cloud whose front listens on `port` (`python -m localcloud outputs`)."""
    url = f"http://{LOCAL_HOST}:{port}{OUTPUTS_PATH}"
    try:
        response = requests.get(url, timeout=10)
    except requests.RequestException:
        raise StackNotFoundError(f"no local cloud is running on port {port} (start one with `make dev`)") from None
    if response.status_code != 200 or "json" not in response.headers.get("Content-Type", ""):
        raise StackNotFoundError(f"port {port} answers {url} with {response.status_code}: not a local cloud")
    return _checked(f"local:{port}", response.json())
