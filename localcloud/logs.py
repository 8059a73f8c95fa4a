"""Follow the functions' CloudWatch log groups and print one readable line per record.

MiniStack writes what a function prints (and Powertools' JSON lines) to `/aws/lambda/<name>`, or to the
function's `loggingConfig.logGroup`, framed by START/END/REPORT lines, as Lambda does. The framing is
dropped, REPORT becomes a short duration line, and JSON records become `LEVEL message key=value ...`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from localcloud.deploy import Deployment
from localcloud.periodic import Periodic

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
        group = (outputs.get("loggingConfig") or {}).get("logGroup") or f"/aws/lambda/{outputs['name']}"
        groups[str(group)] = deployment.service_of(fn)
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
        if isinstance(record, dict) and isinstance(record.get("_aws"), dict):
            return _metrics_line(record)
        extra = " ".join(f"{k}={_short(v)}" for k, v in record.items() if k not in _STANDARD_KEYS)
        return " ".join(part for part in (str(record.get("level", "")), str(record.get("message", "")), extra) if part)
    return text


def _metrics_line(record: dict[str, Any]) -> str:
    """An EMF record (business metrics, handlers.shared.metrics) as `metrics Name=value ... [dim=value ...]`."""
    directives = record["_aws"].get("CloudWatchMetrics") or [{}]
    names = [m.get("Name") for d in directives for m in d.get("Metrics", [])]
    dimensions = {key for d in directives for group in d.get("Dimensions", []) for key in group}
    values = []
    for name in names:
        value = record.get(name)
        shown = value if not isinstance(value, list) else (value[0] if len(value) == 1 else value)
        values.append(f"{name}={_short(shown)}")
    where = " ".join(f"{key}={record.get(key)}" for key in sorted(dimensions))
    return f"metrics {' '.join(values)}" + (f" [{where}]" if where else "")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 400 else text[:400] + "…"


# Streams whose newest record is at most this much older than the previous poll are listed again: a
# record's time is taken when it is written, a moment before it can be read (MiniStack stamps a function's
# records, then stores them). Those read already and unchanged since cost no read.
_GRACE_MS = 1000
_STREAMS_PAGE = 50  # DescribeLogStreams' largest page
_EVENTS_PAGE = 10_000  # GetLogEvents' largest page: a shorter one was the end of the stream


@dataclass
class _Position:
    """Where the last read of one stream stopped."""

    ingested: int | None  # the stream's lastIngestionTime as listed then: unchanged means nothing new
    token: str  # GetLogEvents' nextForwardToken: the next read starts after the last record printed


class LogFollower(Periodic):
    """A daemon thread printing, every `interval` s, the records written to the log groups since it started.

    A poll costs what is new, not the history. MiniStack writes each invocation to a stream of its own, and
    FilterLogEvents walks every stream of the group (3 ms per 1,000 streams per poll), so a long session got
    steadily slower. Here DescribeLogStreams, newest first, lists only the streams written since the previous
    poll (one page, usually; MiniStack still sorts all the group's streams for it, about 0.7 ms per 1,000),
    and GetLogEvents reads each changed stream on from where the previous read stopped.
    """

    def __init__(
        self,
        client: Any,
        groups: Mapping[str, str],
        emit: Callable[[str], None],
        interval: float = 0.3,
        sink: Callable[[str, str, list[dict[str, Any]]], None] | None = None,
    ) -> None:
        """`client`: a CloudWatch Logs client; `groups`: log group -> the name its lines are prefixed with.

        With a `sink`, each stream's new records go to `sink(name, stream, events)` raw (framing included, in
        the stream's order; streams by their first new record) instead of one `emit` line per record.
        """
        super().__init__("logs", interval)
        self.client = client
        self.sink = sink
        self.groups = dict(groups)
        self.emit = emit
        started = _now_ms()
        # A stream first seen is read from this time on: what was written before the follower started is
        # history, and a stream forgotten (see `_poll`) had nothing after it.
        self._floor = dict.fromkeys(self.groups, started)
        self._polled = dict.fromkeys(self.groups, started)
        self._positions: dict[str, dict[str, _Position]] = {group: {} for group in self.groups}
        self._width = max((len(name) for name in self.groups.values()), default=0)

    def tick(self) -> None:
        self.poll()

    def poll(self) -> None:
        """Print what every group received since the previous poll, one line per record, in time order."""
        for group, name in self.groups.items():
            try:
                self._poll(group, name)
            except Exception as error:  # the emulator is shutting down, or the group is not there yet
                if self._stop.is_set():
                    return
                if "ResourceNotFound" not in repr(error):
                    self.emit(f"{'logs':<{self._width}} | cannot read {group}: {error}")

    def _poll(self, group: str, name: str) -> None:
        began = _now_ms()
        cutoff = self._polled[group] - _GRACE_MS
        positions = self._positions[group]
        # Nothing is kept before every read succeeded: a failed poll is repeated whole by the next.
        listed: set[str] = set()
        moved: dict[str, _Position] = {}
        events: list[dict[str, Any]] = []
        per_stream: list[tuple[str, list[dict[str, Any]]]] = []
        for stream in self._streams_since(group, cutoff):
            stream_name = stream["logStreamName"]
            listed.add(stream_name)
            known = moved.get(stream_name) or positions.get(stream_name)
            if known is not None and known.ingested == stream.get("lastIngestionTime"):
                continue
            read, token = self._read(group, stream_name, known.token if known else None)
            events.extend(read)
            if read:
                per_stream.append((stream_name, read))
            moved[stream_name] = _Position(stream.get("lastIngestionTime"), token)
        if self.sink is not None:
            for stream_name, read in sorted(per_stream, key=lambda s: (s[1][0]["timestamp"], s[0])):
                self.sink(name, stream_name, read)
        else:
            for event in sorted(events, key=lambda e: (e["timestamp"], e.get("ingestionTime", 0))):
                line = render(event["message"])
                if line is not None:
                    self.emit(f"{name:<{self._width}} | {line}")
        positions.update(moved)
        # A stream no longer listed has no record after `cutoff`: its position is not needed any more.
        for stream_name in positions.keys() - listed:
            del positions[stream_name]
        self._floor[group] = max(self._floor[group], cutoff)
        self._polled[group] = began

    def _streams_since(self, group: str, cutoff: int) -> Iterator[dict[str, Any]]:
        """The group's streams whose newest record is at or after `cutoff`, newest first."""
        kwargs: dict[str, Any] = {
            "logGroupName": group,
            "orderBy": "LastEventTime",
            "descending": True,
            "limit": _STREAMS_PAGE,
        }
        while True:
            page = self.client.describe_log_streams(**kwargs)
            for stream in page.get("logStreams", []):
                if stream.get("lastEventTimestamp", 0) < cutoff:
                    return
                yield stream
            if not page.get("nextToken"):
                return
            kwargs["nextToken"] = page["nextToken"]

    def _read(self, group: str, stream: str, token: str | None) -> tuple[list[dict[str, Any]], str]:
        """The stream's records after `token` (from the floor when None), and the token after them."""
        kwargs: dict[str, Any] = {
            "logGroupName": group,
            "logStreamName": stream,
            "startFromHead": True,
            "limit": _EVENTS_PAGE,
        }
        if token is None:
            kwargs["startTime"] = self._floor[group]
        else:
            kwargs["nextToken"] = token
        events: list[dict[str, Any]] = []
        while True:
            page = self.client.get_log_events(**kwargs)
            events.extend(page["events"])
            if len(page["events"]) < _EVENTS_PAGE:
                return events, str(page["nextForwardToken"])
            kwargs["nextToken"] = page["nextForwardToken"]


def _now_ms() -> int:
    return int(time.time() * 1000)
