"""One CloudWatch dashboard per stack: the API, the functions, the checkout queues and the business metrics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.settings import Settings
from handlers.shared.contract import (
    METRIC_CHECKOUT_VALUE,
    METRIC_CHECKOUTS_ACCEPTED,
    METRIC_CHECKOUTS_REFUSED,
    METRIC_ORDER_LAG,
    METRIC_ORDERS_PLACED,
    METRICS_NAMESPACE,
)

PERIOD_SECONDS = 300
# The error codes a refused checkout is counted under (handlers.basket.app.checkout): one line each.
REFUSAL_REASONS = ("NOT_FOUND", "CONFLICT", "VALIDATION_ERROR", "SERVICE_UNAVAILABLE", "FORBIDDEN")
WIDTH, HEIGHT = 8, 6  # three widgets a row (the grid is 24 wide)


@dataclass
class DashboardArgs:
    settings: Settings
    api_id: pulumi.Input[str]
    function_names: Mapping[str, pulumi.Input[str]]  # service -> function name
    queue_name: pulumi.Input[str]
    dead_letter_queue_names: Mapping[str, pulumi.Input[str]]  # purpose -> queue name


class Dashboard(pulumi.ComponentResource):
    """`ecommerce-<stack>`: every widget names this stack's resources (or its `stack` dimension), nothing else."""

    dashboard: aws.cloudwatch.Dashboard
    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:monitoring:Dashboard", name, None, opts)
        s = args.settings
        self._region = s.region
        business = {"service": "ordering", "stack": s.stack}
        basket = {"service": "basket", "stack": s.stack}
        functions = args.function_names.items()
        widgets = [
            self._widget("API requests", [_m("AWS/ApiGateway", "Count", {"ApiId": args.api_id}, "Sum")]),
            self._widget(
                "API latency (ms)",
                [_m("AWS/ApiGateway", "Latency", {"ApiId": args.api_id}, stat) for stat in ("p50", "p99")],
            ),
            self._widget(
                "API 4xx / 5xx",
                [_m("AWS/ApiGateway", metric, {"ApiId": args.api_id}, "Sum") for metric in ("4xx", "5xx")],
            ),
            self._widget(
                "Function errors",
                [_m("AWS/Lambda", "Errors", {"FunctionName": fn}, "Sum", service) for service, fn in functions],
            ),
            self._widget(
                "Function throttles",
                [_m("AWS/Lambda", "Throttles", {"FunctionName": fn}, "Sum", service) for service, fn in functions],
            ),
            self._widget(
                "Function duration p99 (ms)",
                [_m("AWS/Lambda", "Duration", {"FunctionName": fn}, "p99", service) for service, fn in functions],
            ),
            self._widget(
                "Checkout queue: oldest message (s)",
                [_m("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": args.queue_name}, "Maximum")],
            ),
            self._widget(
                "Dead letters",
                [
                    _m("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": q}, "Maximum", purpose)
                    for purpose, q in args.dead_letter_queue_names.items()
                ],
            ),
            self._widget(
                "Checkouts and orders",
                [
                    _m(METRICS_NAMESPACE, METRIC_CHECKOUTS_ACCEPTED, basket, "Sum", "checkouts accepted"),
                    _m(METRICS_NAMESPACE, METRIC_ORDERS_PLACED, business, "Sum", "orders placed"),
                ],
            ),
            self._widget(
                "Checkout value", [_m(METRICS_NAMESPACE, METRIC_CHECKOUT_VALUE, basket, "Sum", "value checked out")]
            ),
            self._widget(
                "Checkouts refused, by reason",
                [
                    _m(METRICS_NAMESPACE, METRIC_CHECKOUTS_REFUSED, {**basket, "reason": reason}, "Sum", reason)
                    for reason in REFUSAL_REASONS
                ],
            ),
            self._widget(
                "Order lag: checkout to order (ms)",
                [_m(METRICS_NAMESPACE, METRIC_ORDER_LAG, business, stat, stat) for stat in ("p50", "p99", "Maximum")],
            ),
        ]
        for index, widget in enumerate(widgets):
            widget.update(x=(index % 3) * WIDTH, y=(index // 3) * HEIGHT, width=WIDTH, height=HEIGHT)
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=s.name("operations"),
            dashboard_body=pulumi.Output.json_dumps({"widgets": widgets}),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.dashboard_name = self.dashboard.dashboard_name
        self.register_outputs({"dashboard_name": self.dashboard.dashboard_name})

    def _widget(self, title: str, metrics: list[list[Any]]) -> dict[str, Any]:
        return {
            "type": "metric",
            "properties": {
                "title": title,
                "region": self._region,
                "metrics": metrics,
                "period": PERIOD_SECONDS,
                "view": "timeSeries",
                "stacked": False,
            },
        }


def _m(
    namespace: str, metric: str, dimensions: Mapping[str, pulumi.Input[str]], stat: str, label: str | None = None
) -> list[Any]:
    """A metric line: [namespace, name, dimension, value, ..., {options}], as CloudWatch's dashboard body spells it."""
    line: list[Any] = [namespace, metric]
    for key, value in dimensions.items():
        line += [key, value]
    return [*line, {"stat": stat, **({"label": label} if label else {})}]
