"""The catalogue: product table, product function and the five /product routes."""

from __future__ import annotations

import pulumi

from components.service import Service, ServiceArgs, allow
from components.tables import index_arn, service_table

SERVICE = "product"
CATEGORY_INDEX = "category-index"
ROUTES = (
    "GET /product",
    "POST /product",
    "GET /product/{id}",
    "PUT /product/{id}",
    "DELETE /product/{id}",
)


class ProductServiceArgs(ServiceArgs):
    """The catalogue needs nothing beyond what every service does: it reads no other service's resources."""


class ProductService(Service):
    def __init__(self, name: str, args: ProductServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:product:ProductService", name, None, opts)
        self.table = service_table(
            self,
            f"{name}-table",
            args.settings,
            SERVICE,
            hash_key="id",
            global_secondary_indexes=[
                {
                    "name": CATEGORY_INDEX,
                    "key_schemas": [{"attribute_name": "category", "key_type": "HASH"}],
                    "projection_type": "ALL",
                }
            ],
        )
        self._serve(
            name,
            args,
            service=SERVICE,
            environment={"PRODUCT_TABLE_NAME": self.table.name},
            policy_statements=[
                allow(
                    "ProductTable",
                    [
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:DeleteItem",
                        "dynamodb:Scan",
                    ],
                    self.table.arn,
                ),
                allow("ProductsByCategory", ["dynamodb:Query"], index_arn(self.table, CATEGORY_INDEX)),
            ],
            routes=ROUTES,
            # What no route matches comes here (404/405 in the API's shape): the catalogue's function, public anyway.
            default_route=True,
        )
