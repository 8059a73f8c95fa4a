"""Baskets and checkout: basket table, basket function and the five /basket routes."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.http_api import ApiRoutes, attach_routes
from components.service_function import ServiceFunction, ServiceFunctionArgs
from components.settings import Settings
from components.tables import service_table
from handlers.shared.contract import BASKET_EXPIRY_ATTRIBUTE

SERVICE = "basket"
ROUTES = (
    "GET /basket",
    "POST /basket",
    "GET /basket/{userName}",
    "DELETE /basket/{userName}",
    "POST /basket/checkout",
)


@dataclass
class BasketServiceArgs:
    settings: Settings
    api: ApiRoutes
    # Read-only price lookups: the catalogue stays the product service's table.
    product_table_name: pulumi.Input[str]
    product_table_arn: pulumi.Input[str]
    event_bus_name: pulumi.Input[str]
    event_bus_arn: pulumi.Input[str]
    layer_arn: pulumi.Input[str]


class BasketService(pulumi.ComponentResource):
    table: aws.dynamodb.Table
    function: ServiceFunction
    table_name: pulumi.Output[str]
    function_name: pulumi.Output[str]

    def __init__(self, name: str, args: BasketServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:basket:BasketService", name, None, opts)
        s = args.settings
        # A checked-out basket is kept as a marker for a while (a retried checkout is told the same 202); the
        # table's TTL removes the markers (handlers.basket.app.CHECKOUT_MARKER_TTL).
        self.table = service_table(
            self, f"{name}-table", s, SERVICE, hash_key="userName", ttl_attribute=BASKET_EXPIRY_ATTRIBUTE
        )
        self.function = ServiceFunction(
            name,
            ServiceFunctionArgs(
                service=SERVICE,
                settings=s,
                environment={
                    "BASKET_TABLE_NAME": self.table.name,
                    "PRODUCT_TABLE_NAME": args.product_table_name,
                    "EVENT_BUS_NAME": args.event_bus_name,
                },
                layer_arn=args.layer_arn,
                policy_statements=[
                    {
                        "Sid": "BasketTable",
                        "Effect": "Allow",
                        # Baskets are written with UpdateItem (version counter, write entries), never PutItem.
                        "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"],
                        "Resource": self.table.arn,
                    },
                    {
                        "Sid": "ReadProductPrices",
                        "Effect": "Allow",
                        "Action": ["dynamodb:GetItem", "dynamodb:BatchGetItem"],
                        "Resource": args.product_table_arn,
                    },
                    {
                        "Sid": "PublishCheckout",
                        "Effect": "Allow",
                        "Action": ["events:PutEvents"],
                        "Resource": args.event_bus_arn,
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
        self.table_name = self.table.name
        self.function_name = self.function.function_name
        self.register_outputs({"table_name": self.table.name, "function_name": self.function.function_name})
