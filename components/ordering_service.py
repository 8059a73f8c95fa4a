"""Orders: order table, ordering function (HTTP routes and the checkout queue's consumer)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.http_api import ApiRoutes, attach_routes
from components.service_function import ServiceFunction, ServiceFunctionArgs
from components.settings import Settings
from components.tables import service_table

SERVICE = "ordering"
ROUTES = (
    "GET /order",
    "GET /order/{userName}",
)


@dataclass
class OrderingServiceArgs:
    settings: Settings
    api: ApiRoutes
    checkout_queue_arn: pulumi.Input[str]
    layer_arn: pulumi.Input[str]


class OrderingService(pulumi.ComponentResource):
    table: aws.dynamodb.Table
    function: ServiceFunction
    event_source: aws.lambda_.EventSourceMapping
    table_name: pulumi.Output[str]
    function_name: pulumi.Output[str]

    def __init__(self, name: str, args: OrderingServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:ordering:OrderingService", name, None, opts)
        s = args.settings
        self.table = service_table(self, f"{name}-table", s, SERVICE, hash_key="userName", range_key="orderDate")
        self.function = ServiceFunction(
            name,
            ServiceFunctionArgs(
                service=SERVICE,
                settings=s,
                environment={"ORDER_TABLE_NAME": self.table.name},
                layer_arn=args.layer_arn,
                policy_statements=[
                    {
                        "Sid": "OrderTable",
                        "Effect": "Allow",
                        "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan"],
                        "Resource": self.table.arn,
                    },
                    {
                        "Sid": "ConsumeCheckoutQueue",
                        "Effect": "Allow",
                        "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                        "Resource": args.checkout_queue_arn,
                    },
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        attach_routes(
            self,
            name,
            api=args.api,
            function=self.function,
            route_keys=ROUTES,
        )
        consumers = s.consumer_concurrency
        self.event_source = aws.lambda_.EventSourceMapping(
            f"{name}-checkout-consumer",
            event_source_arn=args.checkout_queue_arn,
            # The alias, not the function: the consumer runs the published version and its provisioned concurrency.
            function_name=self.function.alias_arn,
            batch_size=s.ordering_batch_size,
            # Only the failed messages of a batch return to the queue; the others are not processed twice.
            function_response_types=["ReportBatchItemFailures"],
            # The poller stays within its share of the reserved concurrency, so throttling cannot burn receive counts.
            scaling_config={"maximum_concurrency": consumers} if consumers else None,
            tags=s.tags(SERVICE),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.function.policy]),
        )
        self.table_name = self.table.name
        self.function_name = self.function.function_name
        self.register_outputs({"table_name": self.table.name, "function_name": self.function.function_name})
