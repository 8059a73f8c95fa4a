"""The process table, read through psutil: what runs below a local cloud or an emulator, and its Lambda workers.

MiniStack says nothing about its worker pool over HTTP, so the process table is where the tests and the benchmarks
look; always below a process of our own, since other MiniStacks may be running on the machine.
"""

from __future__ import annotations

import contextlib

import psutil


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (children, their children, ...); empty once `pid` has exited."""
    try:
        return {child.pid for child in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def alive(pid: int) -> bool:
    """Whether `pid` still runs: a zombie has exited, it only waits for its parent to read its status."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def lambda_workers(root_pid: int, function_name: str) -> list[int]:
    """PIDs of the warm Lambda workers of `function_name` below `root_pid` (the emulator or a local cloud).

    MiniStack starts each execution environment as `python <tmp>/ministack-lambda-<name>-XXXX/_worker.py`; that
    folder's name is the only link from a process to its function.
    """
    marker = f"/ministack-lambda-{function_name}-"
    found = []
    for pid in descendants(root_pid):
        try:
            command = psutil.Process(pid).cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # exited while we looked
        if command and marker in command[-1] and command[-1].endswith("/_worker.py"):
            found.append(pid)
    return sorted(found)


def kill_workers(root_pid: int, function_name: str) -> list[int]:
    """SIGKILL every worker of `function_name`, as a crash or an out-of-memory kill would; returns their PIDs."""
    pids = lambda_workers(root_pid, function_name)
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).kill()
    return pids
