"""Follow the functions' CloudWatch log groups and print one readable line per record.

MiniStack writes what a function prints (and Powertools' JSON lines) to `/aws/lambda/<name>`, or to the
function's `loggingConfig.logGroup`, framed by START/END/REPORT lines, as Lambda does. The framing is
dropped, REPORT becomes a short duration line, and JSON records become `LEVEL message key=value ...`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from localcloud.deploy import Deployment

# Keys every Powertools record carries; printing them on each line would hide the ones that matter.
_STANDARD_KEYS = {
    "level",
    "message",
    "timestamp",
    "service",
    "location",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "sampling_rate",
    "xray_trace_id",
    "correlation_id",
}


def log_groups(deployment: Deployment) -> dict[str, str]:
    """Log group -> the short name of the function writing to it (`product`, not `ecommerce-dev-product-fn`)."""
    groups = {}
    for fn in deployment.resources("aws:lambda/function:Function"):
        outputs = deployment.outputs[fn.urn]
        name = str(outputs["name"])
        group = (outputs.get("loggingConfig") or {}).get("logGroup") or f"/aws/lambda/{name}"
        service = ((outputs.get("environment") or {}).get("variables") or {}).get("POWERTOOLS_SERVICE_NAME")
        groups[group] = str(service or name)
    return groups


def render(message: str) -> str | None:
    """The line to print for one log record, or None for Lambda's START/END framing."""
    text = message.rstrip()
    if text.startswith(("START RequestId:", "END RequestId:")) or not text:
        return None
    if text.startswith("REPORT RequestId:"):
        fields = dict(part.split(": ", 1) for part in text.split("\t") if ": " in part)
        return f"done in {fields.get('Duration', '?')} (request {fields.get('REPORT RequestId', '?')[:8]})"
    if text.startswith("{"):
        try:
            record: dict[str, Any] = json.loads(text)
        except ValueError:
            return text
        extra = " ".join(f"{k}={_short(v)}" for k, v in record.items() if k not in _STANDARD_KEYS)
        return " ".join(part for part in (str(record.get("level", "")), str(record.get("message", "")), extra) if part)
    return text


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 400 else text[:400] + "…"


class LogFollower:
    """A daemon thread polling FilterLogEvents on every function's log group."""

    def __init__(self, deployment: Deployment, emit: Callable[[str], None], interval: float = 0.3) -> None:
        self.groups = log_groups(deployment)
        self.client = deployment.client("logs")
        self.emit = emit
        self.interval = interval
        self._stop = threading.Event()
        self._since = {group: int(time.time() * 1000) for group in self.groups}
        self._seen: dict[str, set[str]] = {group: set() for group in self.groups}
        self._width = max((len(name) for name in self.groups.values()), default=0)
        self._thread = threading.Thread(target=self._run, name="logs", daemon=True)

    def start(self) -> LogFollower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for group, name in self.groups.items():
                try:
                    self._poll(group, name)
                except Exception as error:  # the emulator is shutting down, or the group is not there yet
                    if self._stop.is_set():
                        return
                    if "ResourceNotFound" not in repr(error):
                        self.emit(f"{'logs':<{self._width}} | cannot read {group}: {error}")

    def _poll(self, group: str, name: str) -> None:
        kwargs: dict[str, Any] = {"logGroupName": group, "startTime": self._since[group]}
        events: list[dict[str, Any]] = []
        while True:
            page = self.client.filter_log_events(**kwargs)
            events.extend(page.get("events", []))
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        seen = self._seen[group]
        for event in sorted(events, key=lambda e: (e["timestamp"], e.get("ingestionTime", 0))):
            key = event.get("eventId") or f"{event['logStreamName']}/{event['timestamp']}/{event['message']}"
            if key in seen:
                continue
            seen.add(key)
            line = render(event["message"])
            if line is not None:
                self.emit(f"{name:<{self._width}} | {line}")
        if events:
            newest = max(e["timestamp"] for e in events)
            if newest > self._since[group]:
                # Records of the same millisecond may still arrive: keep that millisecond, forget older keys.
                self._since[group] = newest
                self._seen[group] = {
                    e.get("eventId") or f"{e['logStreamName']}/{e['timestamp']}/{e['message']}"
                    for e in events
                    if e["timestamp"] == newest
                }
