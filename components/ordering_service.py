"""Orders: order table, ordering function (HTTP routes and the checkout queue's consumer)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.service import Service, ServiceArgs, allow
from components.tables import service_table

SERVICE = "ordering"
ROUTES = (
    "GET /order",
    "GET /order/{userName}",
)


@dataclass
class OrderingServiceArgs(ServiceArgs):
    checkout_queue_arn: pulumi.Input[str]


class OrderingService(Service):
    event_source: aws.lambda_.EventSourceMapping

    def __init__(self, name: str, args: OrderingServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:ordering:OrderingService", name, None, opts)
        s = args.settings
        self.table = service_table(self, f"{name}-table", s, SERVICE, hash_key="userName", range_key="orderDate")
        self._serve(
            name,
            args,
            service=SERVICE,
            environment={"ORDER_TABLE_NAME": self.table.name},
            policy_statements=[
                allow(
                    "OrderTable",
                    ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan"],
                    self.table.arn,
                ),
                allow(
                    "ConsumeCheckoutQueue",
                    ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                    args.checkout_queue_arn,
                ),
            ],
            routes=ROUTES,
        )
        consumers = s.consumer_concurrency
        self.event_source = aws.lambda_.EventSourceMapping(
            f"{name}-checkout-consumer",
            event_source_arn=args.checkout_queue_arn,
            # The alias, not the function: the consumer runs the published version, as its cold-start measure does.
            function_name=self.function.alias_arn,
            batch_size=s.ordering_batch_size,
            # Only the failed messages of a batch return to the queue; the others are not processed twice.
            function_response_types=["ReportBatchItemFailures"],
            # The poller stays within its share of the reserved concurrency, so throttling cannot burn receive counts.
            scaling_config={"maximum_concurrency": consumers} if consumers else None,
            tags=s.tags(SERVICE),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.function.policy]),
        )
