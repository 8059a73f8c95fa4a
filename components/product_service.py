"""The catalogue: product table, product function and the five /product routes."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.http_api import ApiRoutes, attach_routes
from components.service_function import ServiceFunction, ServiceFunctionArgs
from components.settings import Settings
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


@dataclass
class ProductServiceArgs:
    settings: Settings
    api: ApiRoutes
    layer_arn: pulumi.Input[str]


class ProductService(pulumi.ComponentResource):
    table: aws.dynamodb.Table
    function: ServiceFunction
    table_name: pulumi.Output[str]
    function_name: pulumi.Output[str]

    def __init__(self, name: str, args: ProductServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:product:ProductService", name, None, opts)
        s = args.settings
        self.table = service_table(
            self,
            f"{name}-table",
            s,
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
        self.function = ServiceFunction(
            name,
            ServiceFunctionArgs(
                service=SERVICE,
                settings=s,
                environment={"PRODUCT_TABLE_NAME": self.table.name},
                layer_arn=args.layer_arn,
                policy_statements=[
                    {
                        "Sid": "ProductTable",
                        "Effect": "Allow",
                        "Action": [
                            "dynamodb:GetItem",
                            "dynamodb:PutItem",
                            "dynamodb:UpdateItem",
                            "dynamodb:DeleteItem",
                            "dynamodb:Scan",
                        ],
                        "Resource": self.table.arn,
                    },
                    {
                        "Sid": "ProductsByCategory",
                        "Effect": "Allow",
                        "Action": ["dynamodb:Query"],
                        "Resource": index_arn(self.table, CATEGORY_INDEX),
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
            # What no route matches comes here (404/405 in the API's shape): the catalogue's function, public anyway.
            default_route=True,
        )
        self.table_name = self.table.name
        self.function_name = self.function.function_name
        self.register_outputs({"table_name": self.table.name, "function_name": self.function.function_name})
