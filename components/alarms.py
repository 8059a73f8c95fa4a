"""What wakes someone up: messages in a DLQ, function errors, API 5xx responses, orders falling behind."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.settings import Settings
from handlers.shared.contract import METRIC_ORDER_LAG, METRICS_NAMESPACE

SERVICE = "monitoring"
PERIOD_SECONDS = 300
API_5XX_THRESHOLD = 5  # a lone 5xx is visible in the access log; a burst is an incident
# Checkout to order is tens of milliseconds when the consumer keeps up; a p99 over a minute means it does not
# (failing batches retried, a throttled consumer, a backlog), long before a checkout reaches the DLQ.
ORDER_LAG_P99_THRESHOLD_MS = 60_000


@dataclass
class WatchedQueue:
    service: str
    purpose: str  # part of the alarm's name, e.g. "checkout-dlq"
    queue_name: pulumi.Input[str]


@dataclass
class AlarmsArgs:
    settings: Settings
    dead_letter_queues: Sequence[WatchedQueue]
    function_names: Mapping[str, pulumi.Input[str]]  # service -> function name
    api_id: pulumi.Input[str]


class Alarms(pulumi.ComponentResource):
    """An SNS topic (e-mailed when `alarmEmail` is set) and the alarms that publish to it."""

    topic: aws.sns.Topic
    email: aws.sns.TopicSubscription | None
    alarms: list[aws.cloudwatch.MetricAlarm]
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:monitoring:Alarms", name, None, opts)
        self._name, self._settings = name, args.settings
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)

        self.topic = aws.sns.Topic(f"{name}-topic", name=s.name("alarms"), tags=s.tags(SERVICE), opts=child)
        self.email = None
        if s.alarm_email:
            # Stays "pending confirmation" until the recipient clicks the link AWS mails them.
            self.email = aws.sns.TopicSubscription(
                f"{name}-email", topic=self.topic.arn, protocol="email", endpoint=s.alarm_email, opts=child
            )

        self.alarms = []
        for queue in args.dead_letter_queues:
            self._alarm(
                f"{queue.purpose}-not-empty",
                queue.service,
                f"Messages wait in the {queue.purpose} queue: a checkout could not become an order.",
                namespace="AWS/SQS",
                metric_name="ApproximateNumberOfMessagesVisible",
                dimensions={"QueueName": queue.queue_name},
                statistic="Maximum",
                period=60,
                threshold=1,
            )
        for service, function_name in args.function_names.items():
            self._alarm(
                f"{service}-fn-errors",
                service,
                f"The {service} function raised errors.",
                namespace="AWS/Lambda",
                metric_name="Errors",
                dimensions={"FunctionName": function_name},
                statistic="Sum",
                period=PERIOD_SECONDS,
                threshold=1,
            )
        self._alarm(
            "api-5xx",
            "api",
            f"The HTTP API answered at least {API_5XX_THRESHOLD} requests with 5xx in {PERIOD_SECONDS // 60} minutes.",
            namespace="AWS/ApiGateway",
            metric_name="5xx",  # HTTP APIs publish lower-case 4xx/5xx (REST APIs publish 5XXError)
            dimensions={"ApiId": args.api_id},
            statistic="Sum",
            period=PERIOD_SECONDS,
            threshold=API_5XX_THRESHOLD,
        )

        self._alarm(
            "order-lag",
            "ordering",
            f"The p99 time from checkout to order was over {ORDER_LAG_P99_THRESHOLD_MS // 1000} s in "
            f"{PERIOD_SECONDS // 60} minutes: the consumer is falling behind.",
            namespace=METRICS_NAMESPACE,
            metric_name=METRIC_ORDER_LAG,
            # The dimensions the ordering function publishes with (handlers.shared.metrics).
            dimensions={"service": "ordering", "stack": s.stack},
            extended_statistic="p99",
            period=PERIOD_SECONDS,
            threshold=ORDER_LAG_P99_THRESHOLD_MS,
        )

        self.topic_arn = self.topic.arn
        self.register_outputs({"topic_arn": self.topic.arn})

    def _alarm(
        self,
        logical: str,
        service: str,
        description: str,
        *,
        namespace: str,
        metric_name: str,
        dimensions: Mapping[str, pulumi.Input[str]],
        statistic: str | None = None,
        extended_statistic: str | None = None,
        period: int,
        threshold: int,
    ) -> None:
        """One alarm on one metric, notifying the topic when it fires and when it clears."""
        s = self._settings
        self.alarms.append(
            aws.cloudwatch.MetricAlarm(
                f"{self._name}-{logical}",
                name=s.name(logical),
                alarm_description=description,
                alarm_actions=[self.topic.arn],
                ok_actions=[self.topic.arn],
                namespace=namespace,
                metric_name=metric_name,
                dimensions=dimensions,
                statistic=statistic,
                extended_statistic=extended_statistic,
                period=period,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                # No data is the healthy state: an empty queue or an idle function publishes nothing to compare.
                treat_missing_data="notBreaching",
                tags=s.tags(service),
                opts=pulumi.ResourceOptions(parent=self),
            )
        )
