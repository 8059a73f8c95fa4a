"""One service's Lambda function with everything it needs to run and nothing it does not."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.packaging import handler_archive, handler_string
from components.settings import Settings
from handlers.shared.contract import STACK_ENV

LIVE_ALIAS = "live"

ASSUME_ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@dataclass
class ServiceFunctionArgs:
    service: str
    settings: Settings
    environment: Mapping[str, pulumi.Input[str]]
    # The stack's dependency layer (components/dependency_layer.py): the function's only layer.
    layer_arn: pulumi.Input[str]
    # What the service's code calls, built from the ARNs of the resources it uses.
    policy_statements: Sequence[Mapping[str, Any]] = field(default_factory=list)


class ServiceFunction(pulumi.ComponentResource):
    """Role, inline least-privilege policy, log group, function, published version and `live` alias.

    Everything that invokes the function (API integrations, permissions, the SQS event source) targets the alias,
    so what the function's `coldStart` asks for serves real traffic: provisioned concurrency is configured on the
    alias; SnapStart snapshots each published version, the one the alias points at.
    """

    log_group: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    function: aws.lambda_.Function
    alias: aws.lambda_.Alias
    provisioned_concurrency: aws.lambda_.ProvisionedConcurrencyConfig | None
    function_name: pulumi.Output[str]
    alias_arn: pulumi.Output[str]
    alias_invoke_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:functions:ServiceFunction", name, None, opts)
        s, service = args.settings, args.service
        fn_settings = s.function(service)
        child = pulumi.ResourceOptions(parent=self)
        function_name = s.name(service, "fn")

        # Created by us rather than by Lambda on first log line, so retention and tags apply from the start.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=s.log_retention_days,
            tags=s.tags(service),
            opts=child,
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=s.name(service, "fn", "role"),
            assume_role_policy=ASSUME_ROLE_POLICY,
            tags=s.tags(service),
            opts=child,
        )
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name=s.name(service, "fn", "policy"),
            role=self.role.id,
            policy=self._policy_document(s, args.policy_statements),
            opts=child,
        )
        self.function = self._function(name, function_name, args)
        self.alias = aws.lambda_.Alias(
            f"{name}-live",
            name=LIVE_ALIAS,
            function_name=self.function.name,
            function_version=self.function.version,
            opts=child,
        )
        self.provisioned_concurrency = None
        if fn_settings.cold_start == "provisioned":
            self.provisioned_concurrency = aws.lambda_.ProvisionedConcurrencyConfig(
                f"{name}-provisioned",
                function_name=self.function.name,
                qualifier=self.alias.name,
                provisioned_concurrent_executions=fn_settings.provisioned_concurrency,
                opts=child,
            )

        self.function_name = self.function.name
        self.alias_arn = self.alias.arn
        self.alias_invoke_arn = self.alias.invoke_arn
        self.register_outputs(
            {
                "function_name": self.function.name,
                "function_arn": self.function.arn,
                "alias_arn": self.alias.arn,
                "role_arn": self.role.arn,
            }
        )

    def _policy_document(self, s: Settings, service_statements: Sequence[Mapping[str, Any]]) -> pulumi.Output[str]:
        statements: list[Any] = [
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                # Lambda names a stream per execution environment at run time, so the group is as narrow as it gets.
                "Resource": pulumi.Output.concat(self.log_group.arn, ":log-stream:*"),
            },
            *service_statements,
        ]
        if s.tracing:
            # X-Ray trace segments have no resource ARN: AWS accepts only "*" for these two actions.
            statements.append(
                {
                    "Sid": "XRayTraces",
                    "Effect": "Allow",
                    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                    "Resource": "*",
                }
            )
        return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})

    def _function(self, name: str, function_name: str, args: ServiceFunctionArgs) -> aws.lambda_.Function:
        s, service = args.settings, args.service
        fn_settings = s.function(service)
        environment: dict[str, pulumi.Input[str]] = {
            **args.environment,
            "POWERTOOLS_SERVICE_NAME": service,
            "POWERTOOLS_LOG_LEVEL": s.log_level,
            "POWERTOOLS_TRACE_DISABLED": "false" if s.tracing else "true",
            # The `stack` dimension of the business metrics (handlers.shared.metrics).
            STACK_ENV: s.stack,
        }
        return aws.lambda_.Function(
            f"{name}-fn",
            name=function_name,
            role=self.role.arn,
            runtime=s.runtime,
            architectures=[s.architecture],
            handler=handler_string(service),
            code=handler_archive(service),
            layers=[args.layer_arn],
            memory_size=fn_settings.memory_mb,
            timeout=fn_settings.timeout_seconds,
            reserved_concurrent_executions=fn_settings.reserved_concurrency,
            environment={"variables": environment},
            tracing_config={"mode": "Active" if s.tracing else "PassThrough"},
            logging_config={"log_format": "Text", "log_group": self.log_group.name},
            # A new version on every code or configuration change, which the alias then points at.
            publish=True,
            # Lambda initialises each published version once and new environments resume from its snapshot. Never
            # with provisioned concurrency (the settings refuse the pair): a version is one or the other.
            snap_start={"apply_on": "PublishedVersions"} if fn_settings.cold_start == "snapstart" else None,
            tags=s.tags(service),
            # The policy must exist before the first invocation, or the first requests fail with AccessDenied.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy]),
        )
