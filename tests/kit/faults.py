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
import http.client
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HOST = "127.0.0.1"
TARGET_HEADER = "X-Amz-Target"
# Hop-by-hop headers belong to one connection (RFC 9110 §7.6.1); everything else passes through untouched.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
)
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


class _Server(ThreadingHTTPServer):
    # socketserver's listen backlog of 5 would drop the handshakes of a burst of functions calling at once.
    request_queue_size = 128
    daemon_threads = True


class FaultProxy:
    """A threaded HTTP proxy on 127.0.0.1 that forwards to `upstream` and injects faults by AWS target."""

    def __init__(self, upstream: str, port: int = 0) -> None:
        target = urlsplit(upstream)
        self.upstream = (target.hostname or HOST, target.port or 80)
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._holds: dict[int, Hold] = {}
        self._recorded: dict[str, list[Body]] = {}
        self._local = threading.local()
        self.forwarded: Counter[str] = Counter()  # target -> requests passed to the emulator
        self.injected: Counter[tuple[str, str]] = Counter()  # (target, reply label) -> answers injected
        self.server = _Server((HOST, port), _handler_class(self))
        self._thread = threading.Thread(target=self.server.serve_forever, name="faults", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        for hold in list(self._holds.values()):
            hold.release(forward=False)
        self.server.shutdown()
        self.server.server_close()

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

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(*self.upstream, timeout=60)
            self._local.conn = conn
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _handler_class(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, the body waits for the client's delayed ACK
        # (40 ms on Linux) and every AWS call of every function would pay it.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            # botocore always sends a Content-Length; chunked request bodies never reach this proxy.
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            target = self.headers.get(TARGET_HEADER, "")
            rule = proxy._match(target, _json(raw)) if target else None
            if rule is None:
                self._relay(self._forward(raw), target)
            elif rule.reply is None:
                self._held(proxy._holds[id(rule)], raw, target)
            else:
                if rule.forward:
                    self._forward(raw)  # it happens; the caller is told otherwise
                with proxy._lock:
                    proxy.injected[(target, rule.reply.label)] += 1
                reply = rule.reply
                payload = json.dumps(reply.body(_json(raw))).encode()
                self._send(reply.status, [("Content-Type", "application/x-amz-json-1.0"), *reply.headers], payload)

        do_GET = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_POST  # noqa: N815 - other protocols pass through

        def _held(self, hold: Hold, raw: bytes, target: str) -> None:
            with proxy._lock:
                hold.held += 1
                proxy.injected[(target, "held")] += 1
            hold.released.wait(_MAX_HOLD_SECONDS)
            if hold.forward_on_release:
                self._relay(self._forward(raw), target)
            else:
                self.close_connection = True  # the caller sees its connection reset, as if the network failed

        def _forward(self, raw: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers["Content-Length"] = str(len(raw))
            for attempt in (1, 2):
                conn = proxy._connection()
                try:
                    conn.request(self.command, self.path, body=raw, headers=headers)
                    response = conn.getresponse()
                    return response.status, response.getheaders(), response.read()
                except (ConnectionError, http.client.HTTPException, TimeoutError):
                    # A kept-alive connection the emulator closed meanwhile: once more on a new one.
                    proxy._drop_connection()
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

        def _relay(self, response: tuple[int, list[tuple[str, str]], bytes], target: str) -> None:
            status, headers, payload = response
            with proxy._lock:
                proxy.forwarded[target or f"{self.command} {urlsplit(self.path).path}"] += 1
            kept = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"]
            self._send(status, kept, payload)

        def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
            try:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the caller died meanwhile (a killed worker): nobody to tell

    return Handler


def _json(raw: bytes) -> Body:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --- processes: the emulator's Lambda workers --------------------------------------------------------


def worker_pids(emulator_pid: int, function_name: str) -> list[int]:
    """PIDs of the warm Lambda workers MiniStack runs for `function_name` (Linux: read from /proc).

    MiniStack starts each worker as its own child, `python <tmpdir>/_worker.py`, with a tmpdir named
    `ministack-lambda-<function name>-<random>`; that name is the only link from a process to its function.
    """
    marker = f"ministack-lambda-{function_name}-"
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            # Field 4 of /proc/<pid>/stat is the parent; the command name (field 2) may hold spaces, so split after it.
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile
        if parent == emulator_pid and marker in cmdline:
            found.append(int(proc.name))
    return sorted(found)


def kill_workers(emulator_pid: int, function_name: str) -> list[int]:
    """SIGKILL every worker of `function_name`, as a crash or an out-of-memory kill would; returns their PIDs."""
    pids = worker_pids(emulator_pid, function_name)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids
