"""Order statistics over small samples, in the units the caller measured (we use milliseconds)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks (numpy's default)."""
    if not samples:
        raise ValueError("percentile of no samples")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(samples: Sequence[float], digits: int = 3) -> dict[str, float | int]:
    """n, median, p95, p99, min, max and the interquartile range: the spread we quote next to a median."""
    return {
        "n": len(samples),
        "p50": round(percentile(samples, 50), digits),
        "p95": round(percentile(samples, 95), digits),
        "p99": round(percentile(samples, 99), digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
        "iqr": round(percentile(samples, 75) - percentile(samples, 25), digits),
        "stdev": round(statistics.stdev(samples), digits) if len(samples) > 1 else 0.0,
    }
