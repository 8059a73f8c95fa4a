"""The stack's event bus, its archive, and the rule that delivers `CheckoutBasket` events to the checkout queue."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.checkout_queue import dead_letter_queue
from components.settings import Settings
from handlers.shared.contract import CHECKOUT_DETAIL_TYPE, EVENT_SOURCE

SERVICE = "events"
# The names the basket service publishes with: one definition, shared with the handlers.
CHECKOUT_PATTERN = {"source": [EVENT_SOURCE], "detail-type": [CHECKOUT_DETAIL_TYPE]}


@dataclass
class EventBusArgs:
    settings: Settings
    target_queue_arn: pulumi.Input[str]
    target_queue_url: pulumi.Input[str]


class EventBus(pulumi.ComponentResource):
    """Bus + `CheckoutBasket` rule + SQS target, whose failed deliveries land in their own DLQ.

    Both queues accept `sqs:SendMessage` from EventBridge only when the sender is this rule
    (`aws:SourceArn`), so no other rule, bus or account can inject orders.
    """

    bus: aws.cloudwatch.EventBus
    archive: aws.cloudwatch.EventArchive
    rule: aws.cloudwatch.EventRule
    delivery_dlq: aws.sqs.Queue
    target_queue_policy: aws.sqs.QueuePolicy
    delivery_dlq_policy: aws.sqs.QueuePolicy
    target: aws.cloudwatch.EventTarget
    bus_name: pulumi.Output[str]
    bus_arn: pulumi.Output[str]
    archive_name: pulumi.Output[str]
    archive_arn: pulumi.Output[str]
    delivery_dlq_name: pulumi.Output[str]

    def __init__(self, name: str, args: EventBusArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:events:EventBus", name, None, opts)
        s = args.settings
        tags = s.tags(SERVICE)
        child = pulumi.ResourceOptions(parent=self)

        self.bus = aws.cloudwatch.EventBus(f"{name}-bus", name=s.name("bus"), tags=tags, opts=child)
        # Every event the bus carries, kept `eventArchiveRetentionDays`: what `python -m ops replay` puts back on
        # the bus after a consumer bug (the consumer's conditional write makes a replayed order a no-op).
        self.archive = aws.cloudwatch.EventArchive(
            f"{name}-archive",
            name=s.name("events", "archive"),
            description=f"Every event on {s.name('bus')}, for replay",
            event_source_arn=self.bus.arn,
            retention_days=s.event_archive_retention_days,
            opts=child,
        )
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-checkout-rule",
            name=s.name("checkout", "basket"),
            event_bus_name=self.bus.name,
            event_pattern=json.dumps(CHECKOUT_PATTERN),
            tags=tags,
            opts=child,
        )
        # Events EventBridge could not deliver (queue policy broken, queue deleted): kept, not dropped.
        self.delivery_dlq = dead_letter_queue(self, f"{name}-delivery-dlq", s.name("checkout", "delivery", "dlq"), tags)
        self.target_queue_policy = self._allow_rule_to_send(
            f"{name}-target-policy", args.target_queue_arn, args.target_queue_url
        )
        self.delivery_dlq_policy = self._allow_rule_to_send(
            f"{name}-delivery-dlq-policy", self.delivery_dlq.arn, self.delivery_dlq.url
        )
        self.target = aws.cloudwatch.EventTarget(
            f"{name}-checkout-target",
            rule=self.rule.name,
            event_bus_name=self.bus.name,
            arn=args.target_queue_arn,
            dead_letter_config={"arn": self.delivery_dlq.arn},
            retry_policy={"maximum_event_age_in_seconds": 24 * 3600, "maximum_retry_attempts": 185},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.target_queue_policy, self.delivery_dlq_policy]),
        )

        self.bus_name = self.bus.name
        self.bus_arn = self.bus.arn
        self.archive_name = self.archive.name
        self.archive_arn = self.archive.arn
        self.delivery_dlq_name = self.delivery_dlq.name
        self.register_outputs({"bus_name": self.bus.name, "rule_arn": self.rule.arn})

    def _allow_rule_to_send(
        self, name: str, queue_arn: pulumi.Input[str], queue_url: pulumi.Input[str]
    ) -> aws.sqs.QueuePolicy:
        return aws.sqs.QueuePolicy(
            name,
            queue_url=queue_url,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "CheckoutRuleSends",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": queue_arn,
                            "Condition": {"ArnEquals": {"aws:SourceArn": self.rule.arn}},
                        }
                    ],
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
