"""Runs the sections in order, records each one's figures or its error, and describes the machine.

A section is a function `(ctx) -> dict`. One that raises is recorded with its error and the run goes
on: a broken route must not hide the package sizes. Sections share what is slow to build (the
captured graph, one MiniStack with the graph deployed) through `Context`.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
RESULTS_VERSION = 1

# What the machine's figures depend on; recorded so a reader can tell two runs apart.
PACKAGES = (
    "boto3",
    "botocore",
    "aws-lambda-powertools",
    "pydantic",
    "pydantic-core",
    "ministack",
    "pulumi",
    "pulumi-aws",
)


@dataclass(frozen=True)
class Sizes:
    """How much work each section does. `smoke` keeps CI under a minute; `full` is what we publish."""

    cold_runs: int
    warm_calls: int
    table_sizes: tuple[int, ...]
    read_latency_calls: int
    rps_requests: int
    rps_threads: int
    checkouts: int

    @classmethod
    def full(cls) -> Sizes:
        # 2,000 items is the reference's `GET /product` figure, so it sits among the sizes.
        return cls(
            cold_runs=7,
            warm_calls=500,
            table_sizes=(100, 1_000, 2_000, 10_000),
            read_latency_calls=20,
            rps_requests=2_000,
            rps_threads=4,
            checkouts=30,
        )

    @classmethod
    def smoke(cls) -> Sizes:
        return cls(
            cold_runs=2,
            warm_calls=20,
            table_sizes=(10, 50),
            read_latency_calls=3,
            rps_requests=50,
            rps_threads=2,
            checkouts=3,
        )


@dataclass
class Context:
    """What the sections share: the sizes, the output directory, and lazily built fixtures."""

    sizes: Sizes
    smoke: bool
    out_dir: Path
    log_dir: Path  # the emulator's and local cloud's logs: kept after the run, for when a section fails
    results: dict[str, Any] = field(default_factory=dict)  # finished sections' data, by name
    _closers: list[Callable[[], None]] = field(default_factory=list)
    _cache: dict[str, Any] = field(default_factory=dict)

    def cached(self, key: str, build: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def on_close(self, closer: Callable[[], None]) -> None:
        self._closers.append(closer)

    def close(self) -> None:
        while self._closers:
            closer = self._closers.pop()
            try:
                closer()
            except Exception as exc:  # cleanup must not mask the results already gathered
                print(f"bench: cleanup failed: {exc!r}", file=sys.stderr)

    def log(self, message: str) -> None:
        print(f"bench: {message}", file=sys.stderr, flush=True)


Section = Callable[[Context], dict[str, Any]]


def run_sections(ctx: Context, sections: list[tuple[str, Section]]) -> dict[str, Any]:
    recorded: dict[str, Any] = {}
    for name, section in sections:
        ctx.log(f"{name} ...")
        started = time.perf_counter()
        try:
            data = section(ctx)
        except Exception as exc:
            elapsed = time.perf_counter() - started
            recorded[name] = {
                "ok": False,
                "seconds": round(elapsed, 2),
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=8),
            }
            ctx.log(f"{name} FAILED after {elapsed:.1f}s: {type(exc).__name__}: {exc}")
            continue
        elapsed = time.perf_counter() - started
        ctx.results[name] = data
        recorded[name] = {"ok": True, "seconds": round(elapsed, 2), "data": data}
        ctx.log(f"{name} done in {elapsed:.1f}s")
    return recorded


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "arch": platform.machine(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
    }


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages: how busy the machine was, since the figures share its cores."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def meta(
    ctx: Context, started_at: dt.datetime, seconds: float, load_at_start: list[float] | None = None
) -> dict[str, Any]:
    return {
        "results_version": RESULTS_VERSION,
        "date": started_at.isoformat(timespec="seconds"),
        "mode": "smoke" if ctx.smoke else "full",
        "seconds": round(seconds, 1),
        "sizes": asdict(ctx.sizes),
        "machine": machine(),
        "load_average": {"start": load_at_start, "end": load_average()},
        "packages": package_versions(),
        "command": "python -m bench" + (" --smoke" if ctx.smoke else ""),
    }
