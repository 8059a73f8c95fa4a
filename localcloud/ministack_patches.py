"""MiniStack, started with the three behaviours of ministack 1.5.33 that cost the local cloud its latency.

`emulator.start` runs `python -m localcloud.ministack_patches`: it applies both workarounds, then calls
MiniStack's own `main()` (the entry point of `python -m ministack`, reading the same environment).
`apply()` fails loudly if the installed MiniStack is not the one they were written for, rather than
letting the latency come back unnoticed.

1. Every warm invocation of a Python function waits 5 to 50 ms after the handler returned.
   The warm worker writes the handler's result to stdout and whatever the handler printed or logged to
   stderr, which a second thread reads. The two pipes race, so `Worker.invoke` ends with
   `_drain_stderr_bounded()`: it waits up to 50 ms for a first stderr line or, once lines come, until
   none came for 5 ms. A handler that logs nothing on success (GET /product/{id}) pays the whole 50 ms
   on every request: nearly 90% of a request's time through the local cloud. Reproduction, with
   functions whose handlers are `def quiet(event, context): return 2` and
   `def ok(event, context): print("hello"); return 1` (python3.11, AUTH=false):

       lam = boto3.client("lambda", endpoint_url="http://127.0.0.1:4566")
       lam.invoke(FunctionName="quiet", Payload=b"{}")                  # cold start
       t = time.perf_counter(); lam.invoke(FunctionName="quiet", Payload=b"{}")
       print(time.perf_counter() - t)      # 0.055 s (`ok`: 0.010 s); patched 0.004 s (`ok`: 0.005 s)

   Workaround: the end of an invocation's output is made explicit instead of guessed. The worker script
   writes one marker line naming the request to stderr after the handler returned and before the
   result is flushed to stdout, and the drain takes lines up to that marker (or until the worker is
   gone; at most 250 ms, MiniStack's own cap). No log line is lost or lands in the next invocation's
   record, and nothing waits idle. Node.js and `provided` workers keep MiniStack's drain.

2. An SQS message sent within 50 ms after the previous batch finished waits out the rest of those 50 ms.
   The event-source-mapping poller sleeps `_ESM_IDLE_WAKE_GAP_SECONDS` (50 ms) after any wake that
   found no message, to pace wakes from other accounts' queues; the wake a finished batch sends is such
   a wake. Reproduction: a queue mapped (batch size 10) to the `quiet` function above; send a message and
   poll the queue's attributes until it is consumed, then at once send another: the first took 56 ms,
   the second 102 ms (patched: 4 ms and 3 ms). Checkouts in a row each paid it on the way to an order.
   Workaround: no gap. Every wake is still one pass over the mappings and no more (the poller waits on
   an event between passes), and this emulator serves one local stack, not other tenants.

3. Every new warm worker unzips each of its function's layers into a folder of its own.
   `Worker._spawn` extracts the layer zip per worker; the dependency layer (Powertools, pydantic, botocore:
   23 MiB zipped, ~3,400 files) takes ~0.8 s of a cold start that way, so fifty concurrent requests spent
   ~40 s unzipping the same archive fifty times and ran into the functions' timeouts on 2 cores.
   Reproduction: a function with that layer, 50 concurrent invocations: each new worker's folder holds its
   own `layer_0/` copy. MiniStack already extracts each blob once for its Docker executor
   (`lambda_svc._docker_extracted_dir`, a folder per content hash under the temp dir). Workaround: the warm
   worker takes its layers from that same shared extraction: `_spawn` runs without `Layers` and the worker
   gets `_LAMBDA_LAYERS_DIRS` (what the worker script puts on `sys.path`) naming the shared folders. Layers are
   read-only at /opt on AWS too, so sharing them changes nothing a function can observe.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from typing import Any

# Printable, so that if it ever leaked into a log group it would say what it is.
MARKER_PREFIX = "[localcloud] end of invocation "
# The worker script's last lines: the invocation loop flushes the result line to stdout, once per
# invocation. The marker goes to stderr just before that flush, so it is on its pipe before the result.
_ANCHOR = "\n        _real_stdout.flush()\n\nrun()\n"
_MARKED = (
    "\n        sys.stderr.write(" + repr(MARKER_PREFIX) + ' + str(_ms_ctx.get("request_id", "")) + "\\n")'
    "\n        sys.stderr.flush()" + _ANCHOR
)
DRAIN_CAP_S = 0.250
# How often a drain still waiting for its marker checks whether the worker is gone.
_EXITED_CHECK_S = 0.010

# The marker the drain on this thread waits for: (worker, marker line), set by `Worker.invoke` for the
# duration of one invocation (the drain runs on the invoking thread, at the end of `invoke`).
_awaited = threading.local()


class MiniStackChangedError(RuntimeError):
    """The installed MiniStack is not the one these workarounds were written for."""


def apply() -> None:
    """Apply both workarounds in this process (idempotent); MiniStack must not be serving yet."""
    _end_invocations_on_a_marker()
    _poll_queues_without_idle_gap()
    _extract_layers_once()


def _changed(what: str) -> MiniStackChangedError:
    return MiniStackChangedError(
        f"MiniStack's {what} is not the one localcloud/ministack_patches.py was written for (ministack 1.5.33): "
        "review the workaround against the installed version"
    )


def _end_invocations_on_a_marker() -> None:
    from ministack.core import lambda_runtime

    worker_class: Any = lambda_runtime.Worker
    if getattr(worker_class, "_localcloud_patched", False):
        return
    script: str = lambda_runtime._PYTHON_WORKER_SCRIPT
    if script.count(_ANCHOR) != 1:
        raise _changed("Python worker script")
    lambda_runtime._PYTHON_WORKER_SCRIPT = script.replace(_ANCHOR, _MARKED)

    original_invoke = worker_class.invoke
    original_drain = worker_class._drain_stderr_bounded

    def invoke(self: Any, event: Any, request_id: str, **kwargs: Any) -> dict[str, Any]:
        # The (patched) Python script is the one `_detect_runtime_binary` picks for every python* runtime.
        if type(self) is not worker_class or not str(self.config.get("Runtime", "python3.12")).startswith("python"):
            return original_invoke(self, event, request_id, **kwargs)
        previous = getattr(_awaited, "value", None)
        _awaited.value = (self, MARKER_PREFIX + request_id)
        try:
            return original_invoke(self, event, request_id, **kwargs)
        finally:
            _awaited.value = previous

    def drain(self: Any, *args: Any, **kwargs: Any) -> str:
        awaited = getattr(_awaited, "value", None)
        if awaited is None or awaited[0] is not self:
            return original_drain(self, *args, **kwargs)
        marker = awaited[1]
        lines: list[str] = []
        deadline = time.monotonic() + DRAIN_CAP_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._stderr_queue.get(timeout=min(left, _EXITED_CHECK_S))
            except queue.Empty:
                reader = self._stderr_thread
                if reader is None or not reader.is_alive():
                    # The worker died before its marker (a crash, or MiniStack killed it after an error):
                    # what it wrote is all queued by now.
                    lines.extend(_queued(self._stderr_queue))
                    break
                continue
            if line == marker:
                break
            lines.append(line)
        return "\n".join(line for line in lines if not line.startswith(MARKER_PREFIX))

    worker_class.invoke = invoke
    worker_class._drain_stderr_bounded = drain
    worker_class._localcloud_patched = True


def _queued(lines: queue.Queue[str]) -> list[str]:
    taken = []
    while True:
        try:
            taken.append(lines.get_nowait())
        except queue.Empty:
            return taken


def _poll_queues_without_idle_gap() -> None:
    from ministack.services import lambda_svc

    if not isinstance(getattr(lambda_svc, "_ESM_IDLE_WAKE_GAP_SECONDS", None), float):
        raise _changed("event source mapping poller")
    lambda_svc._ESM_IDLE_WAKE_GAP_SECONDS = 0.0  # read by `_poll_loop` on every pass


def _extract_layers_once() -> None:
    from ministack.core import lambda_runtime
    from ministack.services import lambda_svc

    worker_class: Any = lambda_runtime.Worker
    if getattr(worker_class, "_localcloud_layers_shared", False):
        return
    if not callable(getattr(lambda_svc, "_docker_extracted_dir", None)) or "_LAMBDA_LAYERS_DIRS" in getattr(
        lambda_runtime, "_RESERVED_RUNTIME_ENV_VARS", {"_LAMBDA_LAYERS_DIRS"}
    ):
        raise _changed("layer extraction")
    original_spawn = worker_class._spawn

    def spawn(self: Any) -> Any:
        refs = self.config.get("Layers") or []
        if not refs or not str(self.config.get("Runtime", "")).startswith("python"):
            return original_spawn(self)
        blobs = [lambda_svc._resolve_layer_zip(ref) for ref in refs]
        shared = [lambda_svc._docker_extracted_dir(blob, "layer") for blob in blobs if blob]
        config = self.config
        environment = dict((config.get("Environment") or {}).get("Variables") or {})
        environment["_LAMBDA_LAYERS_DIRS"] = os.pathsep.join(shared)
        self.config = {
            **config,
            "Layers": [],
            "Environment": {**(config.get("Environment") or {}), "Variables": environment},
        }
        try:
            return original_spawn(self)
        finally:
            self.config = config

    worker_class._spawn = spawn
    worker_class._localcloud_layers_shared = True


def main() -> None:
    apply()
    from ministack.app import main as ministack_main

    ministack_main()


if __name__ == "__main__":
    main()
