"""MiniStack, started with the one behaviour of ministack 1.5.33 that the local cloud must work around.

`emulator.start` runs `python -m localcloud.ministack_patches`: it applies the patch below, then calls
MiniStack's own `main()` (the same entry point as `python -m ministack`, same environment variables).

The behaviour: every warm invocation of a Python function waits up to 50 ms after the handler returned.
MiniStack's warm worker writes the handler's result to stdout and everything the handler printed or
logged to stderr, which a second thread reads. Since the two pipes race, `Worker.invoke` ends with
`_drain_stderr_bounded()`: it waits up to 50 ms for a first stderr line, or, once lines come, until none
came for 5 ms (polling every 1 ms). A handler that logs nothing on success (GET /product/{id}) therefore
pays the whole 50 ms on every request: 95% of a request's time through the local cloud.

Reproduction (a function whose handler is `def handler(event, context): return 1`):

    lam = boto3.client("lambda", endpoint_url="http://127.0.0.1:4566")
    lam.invoke(FunctionName="f", Payload=b"{}")                      # cold start
    t = time.perf_counter(); lam.invoke(FunctionName="f", Payload=b"{}")
    print(time.perf_counter() - t)                                   # ~0.055 s; ~0.003 s once patched

The workaround makes the end of an invocation's output explicit instead of guessed: the worker script
writes one marker line, naming the request, to stderr after the handler returned and before the result
goes to stdout, and the drain takes lines until that marker (at most 250 ms, MiniStack's own cap). No
log line is lost or attributed to the next invocation, and there is no idle wait. Node.js and `provided`
workers keep MiniStack's drain. Should the worker script change upstream, `apply()` fails loudly rather
than bringing the 50 ms back unnoticed.
"""

from __future__ import annotations

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

# The marker the drain on this thread waits for: (worker, marker line), set by `Worker.invoke` for the
# duration of one invocation (the drain runs on the invoking thread, at the end of `invoke`).
_awaited = threading.local()


def apply() -> None:
    """Patch MiniStack's Python warm worker in this process (idempotent)."""
    from ministack.core import lambda_runtime

    worker_class: Any = lambda_runtime.Worker
    if getattr(worker_class, "_localcloud_patched", False):
        return
    script: str = lambda_runtime._PYTHON_WORKER_SCRIPT
    if script.count(_ANCHOR) != 1:
        raise RuntimeError(
            "MiniStack's Python worker script is not the one localcloud/ministack_patches.py was written for "
            "(ministack 1.5.33): review the patch against the installed version"
        )
    lambda_runtime._PYTHON_WORKER_SCRIPT = script.replace(_ANCHOR, _MARKED)

    original_invoke = worker_class.invoke
    original_drain = worker_class._drain_stderr_bounded

    def invoke(self: Any, event: Any, request_id: str, **kwargs: Any) -> dict[str, Any]:
        # `_detect_runtime_binary` picks the (patched) Python script for every python* runtime.
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
                line = self._stderr_queue.get(timeout=left)
            except queue.Empty:
                break
            if line == marker:
                break
            if not line.startswith(MARKER_PREFIX):  # an earlier invocation's, whose drain gave up
                lines.append(line)
        return "\n".join(lines)

    worker_class.invoke = invoke
    worker_class._drain_stderr_bounded = drain
    worker_class._localcloud_patched = True


def main() -> None:
    apply()
    from ministack.app import main as ministack_main

    ministack_main()


if __name__ == "__main__":
    main()
