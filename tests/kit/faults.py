"""A fault-injection proxy in front of MiniStack, for the AWS calls the functions make.

Start MiniStack with `extra_env={"AWS_ENDPOINT_URL": proxy.url}`: the Lambda workers inherit that
environment, so the functions' SDK calls go through the proxy, while a test's own clients still talk to
the emulator directly. The proxy forwards every request unchanged (the Host header too, which the SigV4
signature covers) unless a rule matches its `X-Amz-Target` (the JSON protocols of DynamoDB, EventBridge
and SQS name the operation there, e.g. `DynamoDB_20120810.PutItem`, `AWSEvents.PutEvents`):

    proxy = FaultProxy(emulator_endpoint).start()
    proxy.inject("AWSEvents.PutEvents", failed_entries())               # until cleared
    proxy.inject("DynamoDB_20120810.UpdateItem", throttled(), times=2)  # the SDK retries absorb two
    proxy.inject("DynamoDB_20120810.PutItem", aws_error(500, "InternalServerError"), forward=True)  # done, answer lost
    hold = proxy.hold("DynamoDB_20120810.PutItem", when=on_table("ecommerce-dev-ordering"))
    hold.wait_for_held(1); ...; hold.release()
    proxy.clear()

Counters say what was forwarded and what was injected, so a test (and a run's report) can show it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from localcloud import proxy

TARGET_HEADER = "X-Amz-Target"
# A held request is let go after this long even if nobody releases it, so a failed test cannot hang a worker.
_MAX_HOLD_SECONDS = 30.0

Body = dict[str, Any]
Predicate = Callable[[Body], bool]


@dataclass(frozen=True)
class Reply:
    """An injected answer: status, headers and a body computed from the request's JSON body."""

    label: str  # what the counters and reports call it, e.g. "ThrottlingException"
    status: int
    body: Callable[[Body], Body]
    headers: tuple[tuple[str, str], ...] = ()


def aws_error(status: int, code: str, message: str = "injected by tests.kit.faults") -> Reply:
    """An AWS JSON-protocol error, parsed by botocore as `ClientError` with `code`."""
    return Reply(code, status, lambda _: {"__type": code, "message": message}, (("x-amzn-ErrorType", code),))


def throttled(code: str = "ThrottlingException") -> Reply:
    """DynamoDB refusing for capacity (400 ThrottlingException or ProvisionedThroughputExceededException)."""
    return aws_error(400, f"com.amazonaws.dynamodb.v20120810#{code}")


def failed_entries(code: str = "InternalFailure") -> Reply:
    """PutEvents answering 200 but rejecting every entry (`FailedEntryCount` > 0): no SDK retries this."""

    def body(request: Body) -> Body:
        entries = request.get("Entries") or [{}]
        failed = [{"ErrorCode": code, "ErrorMessage": "injected by tests.kit.faults"} for _ in entries]
        return {"FailedEntryCount": len(failed), "Entries": failed}

    return Reply(f"FailedEntryCount:{code}", 200, body)


def on_table(name: str) -> Predicate:
    """Matches DynamoDB requests on table `name` (single-table operations)."""
    return lambda body: body.get("TableName") == name


@dataclass
class Rule:
    target: str
    reply: Reply | None  # None: hold the request instead of answering it
    times: int | None  # None: until cleared
    when: Predicate | None
    forward: bool  # forward first (the call takes effect), then answer `reply` (its answer is lost)
    matched: int = 0

    def matches(self, target: str, body: Body) -> bool:
        if target != self.target or (self.times is not None and self.matched >= self.times):
            return False
        return self.when is None or self.when(body)


@dataclass
class Hold:
    """Requests parked by `FaultProxy.hold` until `release()`; `held` counts those parked so far."""

    rule: Rule
    proxy: FaultProxy
    released: threading.Event = field(default_factory=threading.Event)
    forward_on_release: bool = True
    held: int = 0

    def wait_for_held(self, count: int = 1, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.held < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.rule.target}: {self.held} request(s) held, expected {count} in {timeout}s")
            time.sleep(0.01)

    def release(self, *, forward: bool = True) -> None:
        """Let parked requests go: forwarded (they take effect) or dropped (their connection is closed)."""
        self.forward_on_release = forward
        self.proxy.remove(self.rule)
        self.released.set()


class FaultProxy(proxy.Proxy):
    """A threaded HTTP proxy on 127.0.0.1 that forwards to `upstream` and injects faults by AWS target."""

    def __init__(self, upstream: str, port: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._holds: dict[int, Hold] = {}
        self._recorded: dict[str, list[Body]] = {}
        self.forwarded: Counter[str] = Counter()  # target -> requests passed to the emulator
        self.injected: Counter[tuple[str, str]] = Counter()  # (target, reply label) -> answers injected
        # A failed send goes once more on a new connection: the functions' SDK would retry it anyway.
        super().__init__(port, upstream, _handler_class(self), "faults", resend=True)

    def stop(self) -> None:
        for hold in list(self._holds.values()):
            hold.release(forward=False)
        super().stop()

    # --- the control API -------------------------------------------------------------------------

    def inject(
        self,
        target: str,
        reply: Reply,
        *,
        times: int | None = None,
        when: Predicate | None = None,
        forward: bool = False,
    ) -> Rule:
        """Answer the next `times` matching requests (all of them, until cleared, when None) with `reply`."""
        rule = Rule(target, reply, times, when, forward)
        with self._lock:
            self._rules.append(rule)
        return rule

    def hold(self, target: str, *, when: Predicate | None = None) -> Hold:
        """Park matching requests until the returned Hold is released (or `_MAX_HOLD_SECONDS` pass)."""
        rule = Rule(target, None, None, when, forward=False)
        hold = Hold(rule, self)
        with self._lock:
            self._rules.append(rule)
            self._holds[id(rule)] = hold
        return hold

    def remove(self, rule: Rule) -> None:
        with self._lock:
            if rule in self._rules:
                self._rules.remove(rule)

    def clear(self) -> None:
        """Remove every rule, stop recording and release every hold (held requests are forwarded)."""
        with self._lock:
            holds = [self._holds[id(rule)] for rule in self._rules if rule.reply is None]
            self._rules.clear()
            self._recorded.clear()
        for hold in holds:
            hold.release()

    @contextlib.contextmanager
    def injecting(self, target: str, reply: Reply, **kwargs: Any) -> Iterator[Rule]:
        """`inject` for the duration of a `with` block."""
        rule = self.inject(target, reply, **kwargs)
        try:
            yield rule
        finally:
            self.remove(rule)

    def record(self, target: str) -> list[Body]:
        """From now until `clear()`, keep the JSON body of every request to `target`, in the list returned."""
        with self._lock:
            self._recorded[target] = []
            return self._recorded[target]

    def injected_total(self) -> int:
        return sum(self.injected.values())

    # --- used by the request handler -------------------------------------------------------------

    def _match(self, target: str, body: Body) -> Rule | None:
        with self._lock:
            if target in self._recorded:
                self._recorded[target].append(body)
            for rule in self._rules:
                if rule.matches(target, body):
                    rule.matched += 1
                    return rule
        return None


def _handler_class(faults: FaultProxy) -> type[proxy.Handler]:
    class Handler(proxy.Handler):
        def do_POST(self) -> None:
            raw = self.read_body() or b""
            target = self.headers.get(TARGET_HEADER, "")
            rule = faults._match(target, _json(raw)) if target else None
            if rule is None:
                self._relay(raw, target)
            elif rule.reply is None:
                self._held(faults._holds[id(rule)], raw, target)
            else:
                if rule.forward:
                    self._forward(raw)  # it happens; the caller is told otherwise
                with faults._lock:
                    faults.injected[(target, rule.reply.label)] += 1
                reply = rule.reply
                payload = json.dumps(reply.body(_json(raw))).encode()
                self.answer(reply.status, [("Content-Type", "application/x-amz-json-1.0"), *reply.headers], payload)

        do_GET = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_POST  # noqa: N815 - other protocols pass through

        def _held(self, hold: Hold, raw: bytes, target: str) -> None:
            with faults._lock:
                hold.held += 1
                faults.injected[(target, "held")] += 1
            hold.released.wait(_MAX_HOLD_SECONDS)
            if hold.forward_on_release:
                self._relay(raw, target)
            else:
                self.close_connection = True  # the caller sees its connection reset, as if the network failed

        def _forward(self, raw: bytes) -> proxy.Answer:
            # The Host header goes through unchanged: the SigV4 signature covers it.
            return faults.upstream.send(self.command, self.path, raw, self.request_headers(raw))

        def _relay(self, raw: bytes, target: str) -> None:
            answer = self._forward(raw)
            with faults._lock:
                faults.forwarded[target or f"{self.command} {urlsplit(self.path).path}"] += 1
            self.relay(answer)

    return Handler


def _json(raw: bytes) -> Body:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
