"""What `python -m localcloud up` prints while it runs: one line per request, the functions' records, queue events.

A request through the front is one line, printed when the function's invocation that served it has ended:

    http     | POST /basket/checkout -> 202 (41 ms) basket 3f2a9c1e

and the records that invocation wrote carry the same id (`basket   3f2a9c1e | INFO ...`), so a request and
its function's lines read together. The invocation is found by function (the route's) and time (it ran inside
the request); a request no function served (no route, an authorizer's 401) prints after a short wait without one.
Invocations not made by a request (the queue consumer) print `done in ...` lines of their own. A message
landing in a dead-letter queue and an alarm changing state are WARNING lines (`QueueWatch`).

Verbosity: `quiet` prints request lines, WARNING and ERROR records and queue events only; the default adds
every INFO record; `verbose` adds DEBUG records, business metrics and every invocation's duration.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Self

from localcloud.deploy import Deployment
from localcloud.logs import render
from localcloud.periodic import Periodic

QUIET, NORMAL, VERBOSE = 0, 1, 2
_HOLD_S = 2.0  # how long a request line waits for the invocation that served it
_SLACK_MS = 50  # clocks: the front times a request, MiniStack stamps the records
_LATE_MS = 1500  # how long after the answer an invocation's records may be stamped
_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "WARN": 30, "ERROR": 40, "CRITICAL": 50, "EXCEPTION": 40}


@dataclass
class _Request:
    method: str
    path: str
    status: int
    seconds: float
    function: str | None
    start_ms: float
    end_ms: float
    held_since: float


@dataclass
class _Invocation:
    function: str
    request_id: str
    start_ms: float
    end_ms: float
    duration: str
    seen_at: float


def route_matcher(routes: Iterable[tuple[str, str, str]]) -> Callable[[str, str], str | None]:
    """(method, path, function) rows -> a function naming the function serving `method path` (None: no route)."""
    compiled = []
    fallback = None
    for method, path, function in routes:
        if method == "$default":  # the API's catch-all route: whatever no other route takes
            fallback = function
            continue
        pattern = re.sub(r"\\\{[^}]+?\\\+\\\}", ".+", re.escape(path))  # {proxy+}
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
        compiled.append((method, re.compile(f"^{pattern}$"), function))

    def match(method: str, path: str) -> str | None:
        bare = path.split("?", 1)[0]
        for route_method, pattern, function in compiled:
            if route_method in (method, "ANY") and pattern.match(bare):
                return function
        return fallback

    return match


def level_of(message: str) -> int:
    """The record's level: a JSON record's `level`, a Lambda runtime's `[ERROR]`, a traceback; INFO otherwise."""
    text = message.strip()
    if text.startswith("{"):
        try:
            record = json.loads(text)
        except ValueError:
            return _LEVELS["INFO"]
        if isinstance(record, dict):
            if isinstance(record.get("_aws"), dict):
                return _LEVELS["DEBUG"]  # business metrics: shown with --verbose
            return _LEVELS.get(str(record.get("level", "INFO")).upper(), _LEVELS["INFO"])
    head = text[:40].upper()
    if text.startswith("Traceback") or "[ERROR]" in head or head.startswith("ERROR"):
        return _LEVELS["ERROR"]
    if "[WARNING]" in head or head.startswith("WARNING"):
        return _LEVELS["WARNING"]
    if "[DEBUG]" in head:
        return _LEVELS["DEBUG"]
    return _LEVELS["INFO"]


class Console(Periodic):
    """Thread-safe printer joining the front's requests with the invocations the log follower reads."""

    def __init__(
        self,
        say: Callable[[str], None],
        names: Iterable[str],
        routes: Iterable[tuple[str, str, str]] = (),
        verbosity: int = NORMAL,
    ) -> None:
        super().__init__("console", 0.25)
        self.say = say
        self.verbosity = verbosity
        self._width = max([len(n) for n in names] + [len("reload"), len("http")])
        routes = list(routes)
        self._route = route_matcher(routes)
        self._api_functions = {function for _, _, function in routes}
        self._lock = threading.Lock()
        self._pending: list[_Request] = []
        self._ended: list[_Invocation] = []
        self._streams: dict[tuple[str, str], tuple[str, float]] = {}  # -> (request id, START time)

    def tick(self) -> None:
        self.flush()

    def stop(self) -> None:
        super().stop()
        self.flush(everything=True)

    def line(self, name: str, text: str, request_id: str = "") -> None:
        with self._lock:
            self.say(f"{name:<{self._width}} {request_id[:8]:<8} | {text}")

    # -- the front's side ---------------------------------------------------------------------------------------
    def request(self, method: str, path: str, status: int, seconds: float) -> None:
        """A request the front answered (its `on_request`)."""
        now = time.time() * 1000
        held = _Request(method, path, status, seconds, self._route(method, path), now - seconds * 1000, now, 0.0)
        held.held_since = time.monotonic()
        with self._lock:
            if held.function is not None:
                invocation = next((i for i in self._ended if _served(held, i)), None)
                if invocation is None:
                    self._pending.append(held)
                    return
                self._ended.remove(invocation)
            else:
                invocation = None
        self._print_request(held, invocation)

    def _print_request(self, request: _Request, invocation: _Invocation | None) -> None:
        served = f" {invocation.function} {invocation.request_id[:8]}" if invocation else ""
        if invocation is None and request.function:
            served = f" {request.function} (no invocation seen)"
        took = f"{request.seconds * 1000:.0f} ms"
        self.line("http", f"{request.method} {request.path} -> {request.status} ({took}){served}")

    # -- the log follower's side --------------------------------------------------------------------------------
    def records(self, name: str, stream: str, events: list[dict[str, Any]]) -> None:
        """The records of one function's log stream read by one poll (`LogFollower(sink=...)`)."""
        for event in events:
            message = str(event["message"])
            text = message.rstrip()
            key = (name, stream)
            if text.startswith("START RequestId:"):
                request_id = text.split("RequestId:", 1)[1].split()[0]
                self._streams[key] = (request_id, float(event["timestamp"]))
                continue
            request_id, started = self._streams.get(key, ("", float(event["timestamp"])))
            if text.startswith("END RequestId:") or not text:
                continue
            if text.startswith("REPORT RequestId:"):
                fields = dict(part.split(": ", 1) for part in text.split("\t") if ": " in part)
                request_id = fields.get("REPORT RequestId", request_id).strip()
                duration = fields.get("Duration", "?")
                self._ended_invocation(
                    _Invocation(name, request_id, started, float(event["timestamp"]), duration, time.monotonic())
                )
                self._streams.pop(key, None)
                continue
            level = level_of(text)
            wanted = _LEVELS["WARNING"] if self.verbosity == QUIET else _LEVELS["INFO"]
            if self.verbosity == VERBOSE or level >= wanted:
                shown = render(message)
                if shown is not None:
                    self.line(name, shown, request_id)

    def _ended_invocation(self, invocation: _Invocation) -> None:
        if invocation.function not in self._api_functions:
            # Not a request's (a queue's batch, an event): its own line, the end of its records.
            if self.verbosity > QUIET:
                self.line(invocation.function, f"done in {invocation.duration}", invocation.request_id)
            return
        with self._lock:
            request = next((r for r in self._pending if _served(r, invocation)), None)
            if request is not None:
                self._pending.remove(request)
            elif any(r.function == invocation.function for r in self._pending):
                self._ended.append(invocation)  # perhaps a request's whose line comes next
                return
        if request is not None:
            self._print_request(request, invocation)
        elif self.verbosity > QUIET:  # no request waits for it: a queue's batch (ordering), a direct invoke
            self.line(invocation.function, f"done in {invocation.duration}", invocation.request_id)

    def flush(self, everything: bool = False) -> None:
        """Print the requests no invocation claimed in time; forget invocations no request claimed."""
        now = time.monotonic()
        with self._lock:
            due = [r for r in self._pending if everything or now - r.held_since > _HOLD_S]
            self._pending = [r for r in self._pending if r not in due]
            unclaimed = [i for i in self._ended if everything or now - i.seen_at > _HOLD_S]
            self._ended = [i for i in self._ended if i not in unclaimed]
        for request in due:
            self._print_request(request, None)
        if self.verbosity > QUIET:
            for invocation in unclaimed:  # not a request's: a queue's batch (ordering), a direct invoke
                self.line(invocation.function, f"done in {invocation.duration}", invocation.request_id)


def _served(request: _Request, invocation: _Invocation) -> bool:
    # MiniStack stamps an invocation's records when it stores them, at its end, which may come a moment after
    # the gateway answered (later still on a busy machine): the end is looked for inside the request or after it.
    return (
        request.function == invocation.function
        and request.start_ms - _SLACK_MS <= invocation.end_ms <= request.end_ms + _LATE_MS
    )


class QueueWatch(Periodic):
    """Prints a WARNING line when messages land in a dead-letter queue and when an alarm changes state."""

    def __init__(self, deployment: Deployment, console: Console, interval: float = 1.0) -> None:
        super().__init__("queue-watch", interval)
        self.sqs = deployment.client("sqs")
        self.cloudwatch = deployment.client("cloudwatch")
        self.console = console
        queues = {
            str(deployment.outputs[q.urn]["arn"]): deployment.outputs[q.urn]
            for q in deployment.resources("aws:sqs/queue:Queue")
        }
        dead: set[str] = set()
        for outputs in queues.values():
            policy = outputs.get("redrivePolicy")
            policy = json.loads(policy) if isinstance(policy, str) and policy else policy
            if isinstance(policy, Mapping) and policy.get("deadLetterTargetArn"):
                dead.add(str(policy["deadLetterTargetArn"]))
        for target in deployment.resources("aws:cloudwatch/eventTarget:EventTarget"):
            arn = (deployment.outputs[target.urn].get("deadLetterConfig") or {}).get("arn")
            if arn:
                dead.add(str(arn))
        self.dlqs = {str(queues[a]["name"]): str(queues[a]["url"]) for a in dead if a in queues}
        self.alarms = [
            str(deployment.outputs[a.urn]["name"])
            for a in deployment.resources("aws:cloudwatch/metricAlarm:MetricAlarm")
        ]
        self._depths: dict[str, int] = {}
        self._states: dict[str, str] = {}

    def start(self) -> Self:
        self.sample(announce=False)
        return super().start()

    def tick(self) -> None:
        self.sample()

    def failed(self, error: Exception) -> None:
        pass  # the emulator is busy: the next tick samples again

    def sample(self, announce: bool = True) -> None:
        for name, url in self.dlqs.items():
            attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            depth = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
            before = self._depths.get(name, 0)
            if announce and depth > before:
                self.console.line("dlq", f"WARNING {depth - before} message(s) landed in {name} (depth {depth})")
            self._depths[name] = depth
        if not self.alarms:
            return
        for alarm in self.cloudwatch.describe_alarms(AlarmNames=self.alarms)["MetricAlarms"]:
            name, state = alarm["AlarmName"], alarm["StateValue"]
            was = self._states.get(name)
            if announce and was is not None and was != state and "ALARM" in (was, state):
                level = "WARNING" if state == "ALARM" else "INFO"
                reason = alarm.get("StateReason", "")
                self.console.line("alarm", f"{level} {name} {was} -> {state}: {reason}")
            self._states[name] = state
