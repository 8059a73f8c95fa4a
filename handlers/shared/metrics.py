"""Business metrics as EMF log lines: CloudWatch turns each into data points, no API call in the request's path.

Powertools' Metrics is imported and built by the first metric an invocation records (a container serving only
reads never loads it), and `flush()` writes what the invocation recorded, once, at its end. Dimensions are
`service` and `stack` (and `reason` for a refused checkout): a handful of series per metric.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from handlers.shared.contract import METRIC_CHECKOUTS_REFUSED, METRICS_NAMESPACE, STACK_ENV

if TYPE_CHECKING:
    from aws_lambda_powertools.metrics import Metrics

_metrics: Metrics | None = None


def _dimensions() -> dict[str, str]:
    dimensions = {"service": os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined")}
    if os.environ.get(STACK_ENV):
        dimensions["stack"] = os.environ[STACK_ENV]
    return dimensions


def _recorder() -> Metrics:
    global _metrics
    if _metrics is None:
        from aws_lambda_powertools.metrics import Metrics

        _metrics = Metrics(namespace=METRICS_NAMESPACE)
        stack = os.environ.get(STACK_ENV)
        if stack:
            _metrics.set_default_dimensions(stack=stack)
    return _metrics


def count(name: str, value: float = 1) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    _recorder().add_metric(name=name, unit=MetricUnit.Count, value=value)


def milliseconds(name: str, value: float) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    _recorder().add_metric(name=name, unit=MetricUnit.Milliseconds, value=value)


def amount(name: str, value: float) -> None:
    """A value without a unit (a checkout's total, in the shop's currency)."""
    from aws_lambda_powertools.metrics import MetricUnit

    _recorder().add_metric(name=name, unit=MetricUnit.NoUnit, value=value)


def refused(reason: str) -> None:
    """One refused checkout, with its reason (the error code the client was told) as a dimension of its own."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    unit = MetricUnit.Count
    dimensions = _dimensions()
    with single_metric(
        name=METRIC_CHECKOUTS_REFUSED, unit=unit, value=1, namespace=METRICS_NAMESPACE, default_dimensions=dimensions
    ) as metric:
        metric.add_dimension(name="reason", value=reason)


def flush() -> None:
    """Write what this invocation recorded (one EMF line); nothing when it recorded nothing."""
    if _metrics is not None and _metrics.metric_set:
        _metrics.flush_metrics()
