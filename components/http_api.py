"""The one HTTP API every service attaches its routes to."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.service_function import ServiceFunction
from components.settings import Settings
from handlers.shared.contract import PUBLIC_ROUTES
from handlers.shared.routes import DEFAULT_ROUTE, HEAD_OF

SERVICE = "api"

# One JSON line per request: enough to find a request in the function logs by its id.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "latencyMs": "$context.responseLatency",
        "integrationStatus": "$context.integrationStatus",
        "integrationError": "$context.integrationErrorMessage",
    }
)


@dataclass
class HttpApiArgs:
    settings: Settings
    # The identity provider whose access tokens the API accepts: the user pool's issuer and its app client.
    jwt_issuer: pulumi.Input[str]
    jwt_audience: pulumi.Input[str]


@dataclass(frozen=True)
class ApiRoutes:
    """What a service needs to put its routes on the API."""

    api_id: pulumi.Input[str]
    execution_arn: pulumi.Input[str]
    authorizer_id: pulumi.Input[str]


class HttpApi(pulumi.ComponentResource):
    """API Gateway v2 HTTP API with an auto-deployed `$default` stage, throttling, access logs, CORS and the JWT
    authorizer that every route but the public ones requires."""

    api: aws.apigatewayv2.Api
    access_logs: aws.cloudwatch.LogGroup
    stage: aws.apigatewayv2.Stage
    authorizer: aws.apigatewayv2.Authorizer
    api_id: pulumi.Output[str]
    execution_arn: pulumi.Output[str]
    url: pulumi.Output[str]
    routes: ApiRoutes

    def __init__(self, name: str, args: HttpApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:api:HttpApi", name, None, opts)
        s = args.settings
        tags = s.tags(SERVICE)
        child = pulumi.ResourceOptions(parent=self)

        self.api = aws.apigatewayv2.Api(
            f"{name}-api",
            name=s.name(SERVICE),
            protocol_type="HTTP",
            cors_configuration={
                "allow_origins": list(s.cors_allow_origins),
                "allow_methods": ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
                # Preflight requests carry no token: API Gateway answers them before any authorizer runs.
                "allow_headers": ["authorization", "content-type", "if-match", "if-none-match"],
                "expose_headers": ["etag", "location"],
                "max_age": 600,
            },
            tags=tags,
            opts=child,
        )
        self.access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=f"/aws/apigateway/{s.name(SERVICE)}/access",
            retention_in_days=s.log_retention_days,
            tags=tags,
            opts=child,
        )
        self.stage = aws.apigatewayv2.Stage(
            f"{name}-stage",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings={
                "throttling_rate_limit": s.api_throttle_rate_limit,
                "throttling_burst_limit": s.api_throttle_burst_limit,
            },
            access_log_settings={"destination_arn": self.access_logs.arn, "format": ACCESS_LOG_FORMAT},
            tags=tags,
            opts=child,
        )

        # Verifies the bearer token's signature (the pool's keys), issuer, audience and expiry before the function
        # runs: an invalid or missing token is API Gateway's 401. Who may do what is the handlers' to say.
        self.authorizer = aws.apigatewayv2.Authorizer(
            f"{name}-jwt",
            api_id=self.api.id,
            name=s.name(SERVICE, "jwt"),
            authorizer_type="JWT",
            identity_sources=["$request.header.Authorization"],
            jwt_configuration={"issuer": args.jwt_issuer, "audiences": [args.jwt_audience]},
            opts=child,
        )

        self.api_id = self.api.id
        self.execution_arn = self.api.execution_arn
        self.url = self.stage.invoke_url
        self.routes = ApiRoutes(self.api.id, self.api.execution_arn, self.authorizer.id)
        self.register_outputs(
            {"api_id": self.api.id, "url": self.stage.invoke_url, "authorizer_id": self.authorizer.id}
        )


def attach_routes(
    owner: pulumi.Resource,
    name: str,
    *,
    api: ApiRoutes,
    function: ServiceFunction,
    route_keys: Sequence[str],
    default_route: bool = False,
) -> list[aws.apigatewayv2.Route]:
    """Route each `METHOD /path` to `function`'s `live` alias, with one invoke permission per route.

    Each permission's source ARN names the API, the method and the path, so the function can be
    invoked through exactly these routes of this API and nothing else. Every route but the public ones
    (`handlers.shared.contract.PUBLIC_ROUTES`) requires the API's JWT authorizer.

    Every `GET /path` also gets a `HEAD /path` with the same authorization (the function answers it as the GET,
    without the body). With `default_route`, the API's `$default` route (what no other route matches) reaches this
    function too, without an authorizer: every function answers a request no route of its own takes from the API's
    route table alone (404, or 405 with Allow; `handlers.shared.routes`), before any data is read, so there is
    nothing to authorize. Its permission names `$default` only.
    """
    child = pulumi.ResourceOptions(parent=owner)
    integration = aws.apigatewayv2.Integration(
        f"{name}-integration",
        api_id=api.api_id,
        integration_type="AWS_PROXY",
        integration_method="POST",
        integration_uri=function.alias_invoke_arn,
        payload_format_version="2.0",
        opts=child,
    )
    heads = [f"HEAD {key.split(' ', 1)[1]}" for key in route_keys if key.split(" ", 1)[0] == HEAD_OF]
    routes = []
    for route_key in [*route_keys, *heads, *([DEFAULT_ROUTE] if default_route else [])]:
        method, _, path = route_key.partition(" ")
        # A HEAD route is as public as its GET; $default answers only errors (see above).
        public = route_key == DEFAULT_ROUTE or (f"{HEAD_OF} {path}" if method == "HEAD" else route_key) in PUBLIC_ROUTES
        slug = (
            "default"
            if route_key == DEFAULT_ROUTE
            else "-".join([method.lower(), *re.sub(r"[{}]", "", path).strip("/").split("/")])
        )
        routes.append(
            aws.apigatewayv2.Route(
                f"{name}-{slug}",
                api_id=api.api_id,
                route_key=route_key,
                target=integration.id.apply(lambda integration_id: f"integrations/{integration_id}"),
                authorization_type="NONE" if public else "JWT",
                authorizer_id=None if public else api.authorizer_id,
                opts=child,
            )
        )
        # A path parameter matches any value in the request's ARN: `/product/{id}` -> `/product/*`; the $default
        # route's requests are `<api>/<stage>/$default`.
        arn_path = re.sub(r"\{[^}]+\}", "*", path) if path else ""
        aws.lambda_.Permission(
            f"{name}-{slug}-invoke",
            action="lambda:InvokeFunction",
            function=function.function_name,
            qualifier=function.alias.name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(api.execution_arn, f"/*/{method}{arn_path}"),
            opts=child,
        )
    return routes
