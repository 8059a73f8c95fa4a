"""Start and stop MiniStack, the AWS emulator, on loopback.

Used by the local cloud's CLI and by the tests' session fixture, so both run the emulator the same way.

Each start has a scratch folder of its own (`localcloud-<pid>-*` in the system's temporary directory): MiniStack
and its Lambda workers get it as TMPDIR, so the folder each function's code is unpacked into (17 MB with the
layer) lands there, and so does the emulator's log unless the caller names a `log_dir`. `stop()` removes it;
a start also removes those a killed process (SIGKILL, a crash) could not.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

HOST = "127.0.0.1"
_PROJECT_ROOT = Path(__file__).resolve().parent.parent
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
}


class EmulatorError(RuntimeError):
    """MiniStack did not start (taken port, crash, or not ready before the deadline)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
        return True


@dataclass
class Emulator:
    process: subprocess.Popen[bytes]
    port: int
    region: str
    log_path: Path
    scratch: Path | None = None  # removed by stop(): TMPDIR of MiniStack and its workers

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop MiniStack and every Lambda worker it spawned (they share its process group)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=timeout)
            except ProcessLookupError:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # stragglers left in the group
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


_SCRATCH_PREFIX = "localcloud-"


def _sweep_orphans(root: Path) -> None:
    """Remove the scratch folders of processes that are gone (a SIGKILL or a crash skipped their stop())."""
    for folder in root.glob(f"{_SCRATCH_PREFIX}*-*"):
        owner = folder.name.removeprefix(_SCRATCH_PREFIX).split("-", 1)[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists() and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)


def _log_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return f": {lines[-1]}" if lines else ""


def start(
    port: int | None = None,
    *,
    region: str = "us-east-1",
    auth: bool = True,
    log_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
    ready_timeout: float = 30.0,
    state_dir: Path | None = None,
) -> Emulator:
    """Start MiniStack (patched, see ministack_patches) on 127.0.0.1; return once it answers its health check.

    With `state_dir`, MiniStack loads what that folder holds and saves its state there when stopped (see
    localcloud.state); without it, everything is in memory and goes with the scratch folder.
    """
    port = port or free_port()
    if not port_is_free(port):
        raise EmulatorError(f"port {port} on {HOST} is already in use")
    root = Path(tempfile.gettempdir())
    _sweep_orphans(root)
    scratch = Path(tempfile.mkdtemp(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-", dir=root))
    (scratch / "tmp").mkdir()
    log_dir = log_dir or scratch
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"ministack-{port}.log"
    # The workers MiniStack spawns for Lambda inherit this environment; they must reach the
    # emulator, never an account, so no endpoint or profile of the caller's leaks through.
    # (`extra_env` may set AWS_ENDPOINT_URL on purpose: the functions then call AWS through it.)
    leaky = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN")
    inherited = {k: v for k, v in os.environ.items() if k not in leaky}
    env = {
        **inherited,
        **FAKE_CREDENTIALS,
        "BIND_HOST": HOST,
        "GATEWAY_PORT": str(port),
        "MINISTACK_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AUTH": "true" if auth else "false",
        "LOG_LEVEL": os.environ.get("MINISTACK_LOG_LEVEL", "WARNING"),
        # Where MiniStack unpacks each Lambda worker's code (tempfile.mkdtemp), removed with the scratch folder.
        "TMPDIR": str(scratch / "tmp"),
        # Where MiniStack keeps Cognito's signing keys: one shared, two per user pool, written when a pool first
        # signs and deleted only with the pool, so the default /tmp/ministack-state gained two per run, for good.
        "STATE_DIR": str(state_dir or scratch / "state"),
        "PERSIST_STATE": "1" if state_dir else "0",
        **(extra_env or {}),
    }
    # The child gets its own copy of the log's descriptor; ours is closed at once (one per start, never leaked).
    try:
        log = log_path.open("wb")
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    with log:
        process = subprocess.Popen(
            # MiniStack's own main, with its workarounds applied first (see localcloud/ministack_patches.py).
            [sys.executable, "-m", "localcloud.ministack_patches"],
            cwd=_PROJECT_ROOT,  # so `-m localcloud...` resolves whatever the caller's working directory
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so stop() takes the Lambda workers too
        )
    emulator = Emulator(process=process, port=port, region=region, log_path=log_path, scratch=scratch)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = _log_tail(log_path)
            emulator.stop()
            raise EmulatorError(f"MiniStack exited with code {process.returncode}{tail}")
        try:
            if requests.get(f"{emulator.endpoint}/_ministack/health", timeout=1).ok:
                return emulator
        except requests.RequestException:
            pass
        time.sleep(0.05)
    tail = _log_tail(log_path)
    emulator.stop()
    raise EmulatorError(f"MiniStack did not answer on port {port} within {ready_timeout:.0f}s{tail}")
