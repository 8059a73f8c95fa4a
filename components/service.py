"""The shape the product, basket and ordering services share: a table of their own, a function, routes to it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.http_api import ApiRoutes, attach_routes
from components.service_function import ServiceFunction, ServiceFunctionArgs
from components.settings import Settings


@dataclass
class ServiceArgs:
    settings: Settings
    api: ApiRoutes
    # The stack's dependency layer (components/dependency_layer.py).
    layer_arn: pulumi.Input[str]


def allow(sid: str, actions: Sequence[str], resource: pulumi.Input[str]) -> dict[str, Any]:
    """One statement of a function's policy: these actions on this one resource."""
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": resource}


class Service(pulumi.ComponentResource):
    """A service: its table (declared by the subclass, which owns its keys and indexes), then `_serve`: its function
    with the environment and policy the subclass gives, and its routes on the API.

    The subclass keeps its own type token and logical names, so the resources' URNs are what they were.
    """

    table: aws.dynamodb.Table
    function: ServiceFunction
    table_name: pulumi.Output[str]
    function_name: pulumi.Output[str]

    def _serve(
        self,
        name: str,
        args: ServiceArgs,
        *,
        service: str,
        environment: Mapping[str, pulumi.Input[str]],
        policy_statements: Sequence[Mapping[str, Any]],
        routes: Sequence[str],
        default_route: bool = False,
    ) -> None:
        self.function = ServiceFunction(
            name,
            ServiceFunctionArgs(
                service=service,
                settings=args.settings,
                environment=environment,
                layer_arn=args.layer_arn,
                policy_statements=policy_statements,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        attach_routes(self, name, api=args.api, function=self.function, route_keys=routes, default_route=default_route)
        self.table_name = self.table.name
        self.function_name = self.function.function_name
        self.register_outputs({"table_name": self.table.name, "function_name": self.function.function_name})
