"""Baskets and checkout: basket table, basket function and the five /basket routes."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.service import Service, ServiceArgs, allow
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
class BasketServiceArgs(ServiceArgs):
    # Read-only price lookups: the catalogue stays the product service's table.
    product_table_name: pulumi.Input[str]
    product_table_arn: pulumi.Input[str]
    event_bus_name: pulumi.Input[str]
    event_bus_arn: pulumi.Input[str]


class BasketService(Service):
    def __init__(self, name: str, args: BasketServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:basket:BasketService", name, None, opts)
        # A checked-out basket is kept as a marker for a while (a retried checkout is told the same 202); the
        # table's TTL removes the markers (handlers.basket.app.CHECKOUT_MARKER_TTL).
        self.table = service_table(
            self, f"{name}-table", args.settings, SERVICE, hash_key="userName", ttl_attribute=BASKET_EXPIRY_ATTRIBUTE
        )
        self._serve(
            name,
            args,
            service=SERVICE,
            environment={
                "BASKET_TABLE_NAME": self.table.name,
                "PRODUCT_TABLE_NAME": args.product_table_name,
                "EVENT_BUS_NAME": args.event_bus_name,
            },
            policy_statements=[
                # Baskets are written with UpdateItem (version counter, write entries), never PutItem.
                allow(
                    "BasketTable",
                    ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"],
                    self.table.arn,
                ),
                allow("ReadProductPrices", ["dynamodb:GetItem", "dynamodb:BatchGetItem"], args.product_table_arn),
                allow("PublishCheckout", ["events:PutEvents"], args.event_bus_arn),
            ],
            routes=ROUTES,
        )
