"""The queue between the event bus and the ordering consumer, with its dead-letter queue."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.settings import Settings

SERVICE = "ordering"
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum: time to inspect and redrive a poisoned checkout
# Lambda's guidance for SQS sources: a message must stay invisible while every retry of a batch can run.
VISIBILITY_TIMEOUT_FACTOR = 6


@dataclass
class CheckoutQueueArgs:
    settings: Settings


class CheckoutQueue(pulumi.ComponentResource):
    """Encrypted queue whose messages move to an encrypted DLQ after `maxReceiveCount` failed receives."""

    dlq: aws.sqs.Queue
    queue: aws.sqs.Queue
    queue_arn: pulumi.Output[str]
    queue_url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    dlq_name: pulumi.Output[str]
    dlq_url: pulumi.Output[str]

    def __init__(self, name: str, args: CheckoutQueueArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:queue:CheckoutQueue", name, None, opts)
        s = args.settings
        tags = s.tags(SERVICE)
        child = pulumi.ResourceOptions(parent=self)

        self.dlq = dead_letter_queue(self, f"{name}-dlq", s.name("checkout", "dlq"), tags)
        self.queue = aws.sqs.Queue(
            f"{name}-queue",
            name=s.name("checkout"),
            sqs_managed_sse_enabled=True,
            visibility_timeout_seconds=VISIBILITY_TIMEOUT_FACTOR * s.function("ordering").timeout_seconds,
            redrive_policy=pulumi.Output.json_dumps(
                {"deadLetterTargetArn": self.dlq.arn, "maxReceiveCount": s.max_receive_count}
            ),
            tags=tags,
            opts=child,
        )

        self.queue_arn = self.queue.arn
        self.queue_url = self.queue.url
        self.dlq_arn = self.dlq.arn
        self.dlq_name = self.dlq.name
        self.dlq_url = self.dlq.url
        self.register_outputs({"queue_url": self.queue.url, "dlq_url": self.dlq.url})


def dead_letter_queue(owner: pulumi.Resource, name: str, physical_name: str, tags: dict[str, str]) -> aws.sqs.Queue:
    """An encrypted queue that keeps what failed as long as SQS can, to be inspected and redriven."""
    return aws.sqs.Queue(
        name,
        name=physical_name,
        sqs_managed_sse_enabled=True,
        message_retention_seconds=DLQ_RETENTION_SECONDS,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=owner),
    )
