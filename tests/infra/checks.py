"""The invariants of the resource graph (docs/ARCHITECTURE.md states them), as functions over a captured graph.

Each check asserts one property for every resource it concerns and names the resource's URN when
it fails. Expected values come from the stack's raw configuration (what the stack file and the
overrides say), parsed here independently of `components.settings`.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import json
import re
import zipfile
from collections.abc import Callable
from functools import cache
from typing import Any

import pulumi

from localcloud.graph import PROJECT_DIR, Graph, Resource

SERVICES = ("product", "basket", "ordering")
PROJECT = "ecommerce"

FUNCTION = "aws:lambda/function:Function"
ALIAS = "aws:lambda/alias:Alias"
PROVISIONED = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"
PERMISSION = "aws:lambda/permission:Permission"
ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TABLE = "aws:dynamodb/table:Table"
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
API = "aws:apigatewayv2/api:Api"
STAGE = "aws:apigatewayv2/stage:Stage"
ROUTE = "aws:apigatewayv2/route:Route"
AUTHORIZER = "aws:apigatewayv2/authorizer:Authorizer"
USER_POOL = "aws:cognito/userPool:UserPool"
USER_POOL_CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
USER_GROUP = "aws:cognito/userGroup:UserGroup"
# Anyone may read the catalogue; every other route requires a signed-in caller.
PUBLIC_ROUTES = {"GET /product", "GET /product/{id}"}
INTEGRATION = "aws:apigatewayv2/integration:Integration"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
LAYER = "aws:lambda/layerVersion:LayerVersion"
BUS = "aws:cloudwatch/eventBus:EventBus"
ARCHIVE = "aws:cloudwatch/eventArchive:EventArchive"

# The API's twelve routes (README's API table); handlers.shared.routes must list the same twelve.
API_ROUTES = {
    "GET /product", "POST /product", "GET /product/{id}", "PUT /product/{id}", "DELETE /product/{id}",
    "GET /basket", "POST /basket", "GET /basket/{userName}", "DELETE /basket/{userName}", "POST /basket/checkout",
    "GET /order", "GET /order/{userName}",
}  # fmt: skip
# Every GET route has a HEAD twin (the same function and authorization; answered as the GET without its body).
HEAD_ROUTES = {f"HEAD {key.split(' ', 1)[1]}" for key in API_ROUTES if key.startswith("GET ")}
# What no route matches: to the product function, which answers from the route table only (404/405), no authorizer.
DEFAULT_ROUTE = "$default"
ALL_ROUTES = API_ROUTES | HEAD_ROUTES | {DEFAULT_ROUTE}
OPEN_ROUTES = PUBLIC_ROUTES | {f"HEAD {key.split(' ', 1)[1]}" for key in PUBLIC_ROUTES} | {DEFAULT_ROUTE}

# Whose resources each function may name in its policy (by the owner's `service` tag), and with which actions.
# The basket function reads prices from the product table and publishes to the bus; nothing else crosses over.
CROSS_SERVICE_ACTIONS: dict[tuple[str, str], set[str]] = {
    ("basket", "product"): {"dynamodb:GetItem", "dynamodb:BatchGetItem"},
    ("basket", "events"): {"events:PutEvents"},
}
WILDCARD_RESOURCE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# Each function's variables: the table (by its service) or, for None, the bus they name.
ENVIRONMENT: dict[str, dict[str, tuple[str] | None]] = {
    "product": {"PRODUCT_TABLE_NAME": ("product",)},
    "basket": {"BASKET_TABLE_NAME": ("basket",), "PRODUCT_TABLE_NAME": ("product",), "EVENT_BUS_NAME": None},
    "ordering": {"ORDER_TABLE_NAME": ("ordering",)},
}


class Expect:
    """What the configuration asks for, read from the graph's raw config strings."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.stack = graph.stack
        self.functions: dict[str, dict[str, Any]] = json.loads(self._raw("functions") or "{}")

    def _raw(self, key: str) -> str | None:
        return self.graph.config.get(f"{PROJECT}:{key}")

    def int(self, key: str) -> int:
        return int(self._raw(key))  # type: ignore[arg-type]

    def number(self, key: str) -> float:
        return float(self._raw(key))  # type: ignore[arg-type]

    def flag(self, key: str) -> bool:
        return self._raw(key) == "true"

    def text(self, key: str) -> str | None:
        return self._raw(key)

    def origins(self) -> list[str]:
        return json.loads(self._raw("corsAllowOrigins") or '["*"]')

    def function(self, service: str, field: str) -> builtins.int | None:
        stack_wide = {
            "memoryMb": "lambdaMemoryMb",
            "timeoutSeconds": "lambdaTimeoutSeconds",
            "reservedConcurrency": "lambdaReservedConcurrency",
            "provisionedConcurrency": "lambdaProvisionedConcurrency",
        }[field]
        value = self.functions.get(service, {}).get(field)
        if value is None:
            raw = self._raw(stack_wide)
            value = int(raw) if raw not in (None, "") else None
        return value

    def cold_start(self, service: str) -> tuple[str, builtins.int | None]:
        """(choice, provisioned count) by the README's rule: the function's own level, else the stack's; on each
        level its `coldStart`, or `provisioned` when it sets only a count; else none."""
        own = self.functions.get(service, {})
        stack_count = self._raw("lambdaProvisionedConcurrency")
        levels = [
            (own.get("coldStart"), own.get("provisionedConcurrency")),
            (self._raw("lambdaColdStart"), int(stack_count) if stack_count not in (None, "") else None),
        ]
        for choice, count in levels:
            if choice or count is not None:
                choice = choice or "provisioned"
                return choice, self.function(service, "provisionedConcurrency") if choice == "provisioned" else None
        return "none", None


# --- graph navigation ---


def tag(resource: Resource, key: str) -> str | None:
    return (resource.inputs.get("tags") or {}).get(key)


def function_of(graph: Graph, service: str) -> Resource:
    matches = [f for f in graph.of_type(FUNCTION) if tag(f, "service") == service]
    assert len(matches) == 1, f"expected one {service} function, found {[f.urn for f in matches]}"
    return matches[0]


def alias_of(graph: Graph, function: Resource) -> Resource:
    aliases = [a for a in graph.of_type(ALIAS) if a.inputs.get("functionName") == function.physical_name]
    assert len(aliases) == 1, f"{function.urn}: expected exactly one alias, found {[a.urn for a in aliases]}"
    return aliases[0]


def owner_of_arn(graph: Graph, arn: str) -> Resource | None:
    """The resource whose ARN `arn` is, or is a sub-resource of (a table's index, a log group's streams)."""
    base = re.sub(r"(/index/[^/]+|:log-stream:\*)$", "", arn)
    for resource in graph.resources:
        if resource.custom and resource.outputs.get("arn") == base:
            return resource
    return None


def policy_of(graph: Graph, function: Resource) -> list[dict[str, Any]]:
    role = next(r for r in graph.of_type(ROLE) if r.outputs.get("arn") == function.inputs["role"])
    policies = [p for p in graph.of_type(ROLE_POLICY) if p.inputs.get("role") in (role.id, role.physical_name)]
    statements = [s for p in policies for s in json.loads(p.inputs["policy"])["Statement"]]
    managed = [a for a in graph.resources if a.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"]
    assert not [a for a in managed if a.inputs.get("role") in (role.id, role.physical_name)], (
        f"{role.urn}: managed policies attached; the policy must be built from this stack's ARNs"
    )
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@cache
def accepts_tags(type_token: str) -> bool:
    """Whether the pulumi_aws resource class for `type_token` has a `tags` argument."""
    module_path, class_name = type_token.split(":")[1].split("/")[0], type_token.split(":")[2]
    module = importlib.import_module(f"pulumi_aws.{module_path}{'_' if module_path == 'lambda' else ''}")
    return "tags" in inspect.signature(getattr(module, class_name)._internal_init).parameters


# --- invariants ---


def each_function_has_own_role_trusted_by_lambda_only(graph: Graph, expect: Expect) -> None:
    functions = graph.of_type(FUNCTION)
    roles = [f.inputs["role"] for f in functions]
    assert len(set(roles)) == len(functions) == 3, f"functions must not share roles: {roles}"
    for role in graph.of_type(ROLE):
        statements = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert statements == [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ], f"{role.urn}: trust policy must let lambda.amazonaws.com alone assume the role: {statements}"


def each_policy_names_only_its_services_arns_with_explicit_actions(graph: Graph, expect: Expect) -> None:
    for service in SERVICES:
        function = function_of(graph, service)
        own_log_group = next(
            g for g in graph.of_type(LOG_GROUP) if g.physical_name == f"/aws/lambda/{function.physical_name}"
        )
        for statement in policy_of(graph, function):
            actions, resources = as_list(statement["Action"]), as_list(statement["Resource"])
            where = f"{function.urn} statement {statement.get('Sid')}"
            assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement
            assert all("*" not in action for action in actions), f"{where}: wildcard action in {actions}"
            for arn in resources:
                if arn == "*":
                    assert set(actions) <= WILDCARD_RESOURCE_ACTIONS, f"{where}: Resource '*' for {actions}"
                    assert expect.flag("tracing"), f"{where}: X-Ray permissions while tracing is off"
                    continue
                owner = owner_of_arn(graph, arn)
                assert owner is not None, f"{where}: {arn} is not the ARN of a resource of this stack"
                if owner.type == LOG_GROUP:
                    assert owner.urn == own_log_group.urn and arn.endswith(":log-stream:*"), (
                        f"{where}: may write only to its own log group's streams, not {arn}"
                    )
                    continue
                owner_service = str(tag(owner, "service"))
                if owner_service != service:
                    allowed = CROSS_SERVICE_ACTIONS.get((service, owner_service), set())
                    assert set(actions) <= allowed, (
                        f"{where}: {actions} on {owner.urn} of service {owner_service}; allowed: {sorted(allowed)}"
                    )


def tracing_follows_config(graph: Graph, expect: Expect) -> None:
    tracing = expect.flag("tracing")
    for function in graph.of_type(FUNCTION):
        assert function.inputs["tracingConfig"]["mode"] == ("Active" if tracing else "PassThrough"), function.urn
        has_xray = any("xray:PutTraceSegments" in as_list(s["Action"]) for s in policy_of(graph, function))
        assert has_xray == tracing, f"{function.urn}: X-Ray permissions present={has_xray}, tracing={tracing}"


def each_route_has_an_integration_and_a_scoped_permission(graph: Graph, expect: Expect) -> None:
    (api,) = graph.of_type(API)
    execution_arn = api.outputs["executionArn"]
    integrations = {i.id: i for i in graph.of_type(INTEGRATION)}
    aliases = {a.outputs["invokeArn"]: a for a in graph.of_type(ALIAS)}
    permissions = graph.of_type(PERMISSION)
    for route in graph.of_type(ROUTE):
        assert route.inputs["apiId"] == api.id, f"{route.urn} is not on the stack's API"
        integration = integrations.get(route.inputs["target"].removeprefix("integrations/"))
        assert integration is not None, f"{route.urn}: target {route.inputs['target']} is no integration"
        assert (
            integration.inputs["integrationType"] == "AWS_PROXY" and integration.inputs["payloadFormatVersion"] == "2.0"
        )
        alias = aliases.get(integration.inputs["integrationUri"])
        assert alias is not None, (
            f"{integration.urn}: {integration.inputs['integrationUri']} is not an alias's invoke ARN"
        )
        method, _, path = route.inputs["routeKey"].partition(" ")
        # $default's requests are `<api>/<stage>/$default`: its permission lets nothing else through.
        expected_source = f"{execution_arn}/*/{method}{re.sub(r'{[^}]+}', '*', path)}"
        matching = [
            p
            for p in permissions
            if p.inputs["sourceArn"] == expected_source
            and p.inputs["function"] == alias.inputs["functionName"]
            and p.inputs.get("qualifier") == alias.physical_name
        ]
        assert len(matching) == 1, f"{route.urn}: expected one permission for {expected_source} on the alias"
    for permission in permissions:
        assert permission.inputs["principal"] == "apigateway.amazonaws.com", permission.urn
        assert permission.inputs["action"] == "lambda:InvokeFunction", permission.urn
        assert permission.inputs["sourceArn"].startswith(f"{execution_arn}/"), (
            f"{permission.urn}: source ARN {permission.inputs['sourceArn']} is not scoped to the API"
        )


def routes_are_exactly_the_designed_twelve(graph: Graph, expect: Expect) -> None:
    """The API's twelve routes, their HEAD twins and $default; the handlers' route table is the same twelve."""
    keys = [r.inputs["routeKey"] for r in graph.of_type(ROUTE)]
    assert sorted(keys) == sorted(ALL_ROUTES), f"routes differ from the designed ones: {sorted(set(keys) ^ ALL_ROUTES)}"
    table = importlib.import_module("handlers.shared.routes").ROUTES
    assert set(table) == API_ROUTES, f"handlers.shared.routes differs: {sorted(set(table) ^ API_ROUTES)}"


def route_prefixes_reach_their_service(graph: Graph, expect: Expect) -> None:
    by_prefix = {"product": "product", "basket": "basket", "order": "ordering"}
    integrations = {i.id: i for i in graph.of_type(INTEGRATION)}
    for route in graph.of_type(ROUTE):
        key = route.inputs["routeKey"]
        prefix = "product" if key == DEFAULT_ROUTE else key.split(" ", 1)[1].split("/")[1]
        uri = integrations[route.inputs["target"].removeprefix("integrations/")].inputs["integrationUri"]
        function = function_of(graph, by_prefix[prefix])
        assert f":function:{function.physical_name}:" in uri, f"{route.urn} does not reach {function.physical_name}"


def each_queue_is_encrypted_and_has_a_dlq(graph: Graph, expect: Expect) -> None:
    queues = {q.outputs["arn"]: q for q in graph.of_type(QUEUE)}
    dead_letter_arns = {
        json.loads(q.inputs["redrivePolicy"])["deadLetterTargetArn"]
        for q in queues.values()
        if q.inputs.get("redrivePolicy")
    } | {t.inputs["deadLetterConfig"]["arn"] for t in graph.of_type(TARGET) if t.inputs.get("deadLetterConfig")}
    for arn, queue in queues.items():
        assert queue.inputs.get("sqsManagedSseEnabled") or queue.inputs.get("kmsMasterKeyId"), (
            f"{queue.urn}: unencrypted"
        )
        if arn in dead_letter_arns:
            continue
        redrive = json.loads(queue.inputs.get("redrivePolicy") or "{}")
        assert redrive.get("deadLetterTargetArn") in queues, f"{queue.urn}: no dead-letter queue in this stack"
        assert redrive["maxReceiveCount"] == expect.int("maxReceiveCount"), f"{queue.urn}: maxReceiveCount"


def consumer_queue_visibility_is_at_least_six_consumer_timeouts(graph: Graph, expect: Expect) -> None:
    queues = {q.outputs["arn"]: q for q in graph.of_type(QUEUE)}
    mappings = graph.of_type(ESM)
    assert mappings, "no event source mapping: nothing consumes the checkout queue"
    for mapping in mappings:
        queue = queues[mapping.inputs["eventSourceArn"]]
        target = mapping.inputs["functionName"]
        (function,) = [
            f
            for f in graph.of_type(FUNCTION)
            if target in (f.physical_name, f.outputs["arn"]) or target.startswith(f"{f.outputs['arn']}:")
        ]
        visibility, timeout = queue.inputs["visibilityTimeoutSeconds"], function.inputs["timeout"]
        assert visibility >= 6 * timeout, (
            f"{queue.urn}: visibility {visibility} s < 6 x {function.urn} timeout {timeout} s"
        )


def event_source_mapping_reports_batch_failures_on_the_alias(graph: Graph, expect: Expect) -> None:
    aliases = {a.outputs["arn"] for a in graph.of_type(ALIAS)}
    for mapping in graph.of_type(ESM):
        assert mapping.inputs["functionName"] in aliases, (
            f"{mapping.urn}: targets {mapping.inputs['functionName']}, not an alias"
        )
        assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"], mapping.urn
        assert mapping.inputs["batchSize"] == expect.int("orderingBatchSize"), mapping.urn
        # Half the ordering function's reserved concurrency for the poller, half left for GET /order.
        reserved = expect.function("ordering", "reservedConcurrency")
        limit = (mapping.inputs.get("scalingConfig") or {}).get("maximumConcurrency")
        assert limit == (reserved // 2 if reserved else None), (
            f"{mapping.urn}: poller concurrency {limit}, ordering reserved concurrency {reserved}"
        )
        assert limit is None or limit >= 2, f"{mapping.urn}: poller concurrency {limit}, AWS needs at least 2"


def queue_policies_admit_only_the_checkout_rule(graph: Graph, expect: Expect) -> None:
    queues_by_url = {q.outputs["url"]: q for q in graph.of_type(QUEUE)}
    rules = {r.outputs["arn"]: r for r in graph.of_type(RULE)}
    senders: dict[str, str] = {}  # queue ARN -> ARN of the rule that sends to it
    for target in graph.of_type(TARGET):
        (rule,) = [r for r in rules.values() if r.physical_name == target.inputs["rule"]]
        senders[target.inputs["arn"]] = rule.outputs["arn"]
        assert target.inputs.get("deadLetterConfig"), f"{target.urn}: failed deliveries would be dropped (no DLQ)"
        senders[target.inputs["deadLetterConfig"]["arn"]] = rule.outputs["arn"]
    policies = graph.of_type(QUEUE_POLICY)
    covered = set()
    for policy in policies:
        queue = queues_by_url[policy.inputs["queueUrl"]]
        (statement,) = json.loads(policy.inputs["policy"])["Statement"]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}, policy.urn
        assert as_list(statement["Action"]) == ["sqs:SendMessage"], policy.urn
        assert statement["Resource"] == queue.outputs["arn"], f"{policy.urn}: resource is not its own queue"
        assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": senders.get(queue.outputs["arn"])}}, (
            f"{policy.urn}: must admit only the rule that targets {queue.physical_name}: {statement.get('Condition')}"
        )
        covered.add(queue.outputs["arn"])
    assert covered == set(senders), f"queues EventBridge sends to without a policy: {set(senders) - covered}"


def checkout_rule_matches_basket_checkouts_on_the_stack_bus(graph: Graph, expect: Expect) -> None:
    (bus,) = graph.of_type("aws:cloudwatch/eventBus:EventBus")
    (rule,) = graph.of_type(RULE)
    assert rule.inputs["eventBusName"] == bus.physical_name, rule.urn
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["ecommerce.basket"],
        "detail-type": ["CheckoutBasket"],
    }


def tables_are_on_demand_encrypted_and_protected_as_configured(graph: Graph, expect: Expect) -> None:
    pitr, protection = expect.flag("pointInTimeRecovery"), expect.flag("deletionProtection")
    tables = graph.of_type(TABLE)
    assert sorted(str(tag(t, "service")) for t in tables) == sorted(SERVICES), "one table per service"
    for table in tables:
        assert table.inputs["billingMode"] == "PAY_PER_REQUEST", table.urn
        assert table.inputs["serverSideEncryption"] == {"enabled": True}, table.urn
        assert table.inputs["pointInTimeRecovery"] == {"enabled": pitr}, f"{table.urn}: PITR should be {pitr}"
        assert table.inputs["deletionProtectionEnabled"] == protection, f"{table.urn}: deletion protection"
        assert (table.protect, table.retain_on_delete) == (protection, protection), f"{table.urn}: protect/retain"


def table_keys_follow_the_architecture(graph: Graph, expect: Expect) -> None:
    tables = {tag(t, "service"): t.inputs for t in graph.of_type(TABLE)}
    assert (tables["product"]["hashKey"], tables["product"].get("rangeKey")) == ("id", None)
    assert tables["product"]["globalSecondaryIndexes"] == [
        {
            "name": "category-index",
            "keySchemas": [{"attributeName": "category", "keyType": "HASH"}],
            "projectionType": "ALL",
        }
    ]
    # Every key, the index's included, is a declared string attribute (DynamoDB rejects undeclared keys).
    assert tables["product"]["attributes"] == [{"name": "id", "type": "S"}, {"name": "category", "type": "S"}]
    assert (tables["basket"]["hashKey"], tables["basket"].get("rangeKey")) == ("userName", None)
    assert (tables["ordering"]["hashKey"], tables["ordering"]["rangeKey"]) == ("userName", "orderDate")
    # Checkout markers expire (the basket handler sets the attribute); no other table deletes by itself.
    assert tables["basket"].get("ttl") == {"attributeName": "expiresAt", "enabled": True}, tables["basket"]
    assert not tables["product"].get("ttl") and not tables["ordering"].get("ttl"), "TTL on the product/order table"


def every_taggable_resource_carries_project_stack_service(graph: Graph, expect: Expect) -> None:
    for resource in graph.resources:
        if not resource.custom or not accepts_tags(resource.type):
            continue
        tags = resource.inputs.get("tags") or {}
        assert tags.get("project") == PROJECT and tags.get("stack") == expect.stack and tags.get("service"), (
            f"{resource.urn}: tags {tags}"
        )


def physical_names_are_derived_from_the_stack(graph: Graph, expect: Expect) -> None:
    prefix = f"{PROJECT}-{expect.stack}-"
    for resource in graph.resources:
        # An alias, a stage and a pool's group are named within their function, API or pool, not the account.
        if resource.custom and "name" in resource.inputs and resource.type not in (ALIAS, STAGE, USER_GROUP):
            assert prefix in resource.inputs["name"], (
                f"{resource.urn}: name {resource.inputs['name']!r} lacks {prefix!r}"
            )


def log_groups_keep_logs_for_the_configured_retention(graph: Graph, expect: Expect) -> None:
    retention = expect.int("logRetentionDays")
    groups = {g.physical_name: g for g in graph.of_type(LOG_GROUP)}
    for function in graph.of_type(FUNCTION):
        group = groups.get(f"/aws/lambda/{function.physical_name}")
        assert group is not None, f"{function.urn}: no log group /aws/lambda/{function.physical_name}"
        assert function.inputs["loggingConfig"]["logGroup"] == group.physical_name, function.urn
    for group in groups.values():
        assert group.inputs["retentionInDays"] == retention, f"{group.urn}: retention {group.inputs['retentionInDays']}"


def alarms_watch_dlqs_functions_and_api_5xx(graph: Graph, expect: Expect) -> None:
    alarms = graph.of_type(ALARM)
    (topic,) = graph.of_type(TOPIC)

    def watching(metric: str, dimension: str, value: str) -> list[Resource]:
        return [
            a for a in alarms if a.inputs["metricName"] == metric and a.inputs["dimensions"].get(dimension) == value
        ]

    dlq_arns = {
        json.loads(q.inputs["redrivePolicy"])["deadLetterTargetArn"]
        for q in graph.of_type(QUEUE)
        if q.inputs.get("redrivePolicy")
    }
    dlq_arns |= {t.inputs["deadLetterConfig"]["arn"] for t in graph.of_type(TARGET)}
    for queue in graph.of_type(QUEUE):
        if queue.outputs["arn"] in dlq_arns:
            not_empty = watching("ApproximateNumberOfMessagesVisible", "QueueName", queue.physical_name)
            assert not_empty, f"{queue.urn}: DLQ without a not-empty alarm"
            (alarm,) = not_empty
            assert (
                alarm.inputs["threshold"] == 1 and alarm.inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
            )
    for function in graph.of_type(FUNCTION):
        assert watching("Errors", "FunctionName", function.physical_name), f"{function.urn}: no errors alarm"
    (api,) = graph.of_type(API)
    assert watching("5xx", "ApiId", api.id), f"{api.urn}: no 5xx alarm"
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]], f"{alarm.urn}: does not notify the topic"
    subscriptions = [(s.inputs["protocol"], s.inputs["endpoint"]) for s in graph.of_type(SUBSCRIPTION)]
    email = expect.text("alarmEmail")
    assert subscriptions == ([("email", email)] if email else []), (
        f"alarm subscriptions {subscriptions}, alarmEmail {email}"
    )


def api_stage_throttles_logs_and_allows_configured_origins(graph: Graph, expect: Expect) -> None:
    (api,) = graph.of_type(API)
    (stage,) = graph.of_type(STAGE)
    assert api.inputs["protocolType"] == "HTTP"
    assert api.inputs["corsConfiguration"]["allowOrigins"] == expect.origins(), api.urn
    assert (stage.inputs["name"], stage.inputs["autoDeploy"], stage.inputs["apiId"]) == ("$default", True, api.id)
    settings = stage.inputs["defaultRouteSettings"]
    assert settings["throttlingRateLimit"] == expect.number("apiThrottleRateLimit"), stage.urn
    assert settings["throttlingBurstLimit"] == expect.int("apiThrottleBurstLimit"), stage.urn
    destination = stage.inputs["accessLogSettings"]["destinationArn"]
    assert owner_of_arn(graph, destination) is not None, (
        f"{stage.urn}: access logs go to {destination}, not a log group of this stack"
    )


def functions_run_the_configured_platform_with_the_stack_dependency_layer(graph: Graph, expect: Expect) -> None:
    architecture, runtime = expect.text("lambdaArchitecture"), expect.text("lambdaRuntime")
    layers = graph.of_type(LAYER)
    assert len(layers) == 1, f"expected exactly one dependency layer, found {[layer.urn for layer in layers]}"
    (layer,) = layers
    assert layer.inputs["layerName"] == f"{PROJECT}-{expect.stack}-deps", f"{layer.urn}: {layer.inputs['layerName']}"
    assert layer.inputs["compatibleRuntimes"] == [runtime], (
        f"{layer.urn}: runtimes {layer.inputs['compatibleRuntimes']}"
    )
    assert layer.inputs["compatibleArchitectures"] == [architecture], (
        f"{layer.urn}: architectures {layer.inputs['compatibleArchitectures']}"
    )
    for function in graph.of_type(FUNCTION):
        service = tag(function, "service")
        assert function.inputs["architectures"] == [architecture], function.urn
        assert function.inputs["runtime"] == runtime, function.urn
        assert function.inputs["layers"] == [layer.outputs["arn"]], (
            f"{function.urn}: layers {function.inputs['layers']}, not only {layer.urn}"
        )
        assert function.inputs["handler"] == f"handlers.{service}.app.handler", function.urn


def dependency_layer_archive_holds_wheels_for_the_functions_platform(graph: Graph, expect: Expect) -> None:
    # pydantic-core is the compiled distribution: its wheel's tags say which Python and machine the layer is for.
    architecture, runtime = expect.text("lambdaArchitecture"), expect.text("lambdaRuntime")
    (layer,) = graph.of_type(LAYER)
    code = layer.inputs["code"]
    assert isinstance(code, pulumi.FileArchive), f"{layer.urn}: code is {type(code).__name__}, not a built archive"
    assert not code.path.startswith("/"), f"{layer.urn}: archive path {code.path} is not relative to the project"
    with zipfile.ZipFile(PROJECT_DIR / code.path) as archive:
        (wheel,) = [n for n in archive.namelist() if re.fullmatch(r"python/pydantic_core-[^/]+\.dist-info/WHEEL", n)]
        tags = [line.split(": ", 1)[1] for line in archive.read(wheel).decode().splitlines() if line.startswith("Tag:")]
    abi = "cp" + runtime.removeprefix("python").replace(".", "")  # type: ignore[union-attr]
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[architecture]  # type: ignore[index]
    assert tags and all(t.startswith(f"{abi}-{abi}-manylinux") and t.endswith(f"_{machine}") for t in tags), (
        f"{layer.urn}: {code.path} holds pydantic-core for {tags}, not {runtime} on {architecture}"
    )


def functions_get_the_environment_of_the_contract(graph: Graph, expect: Expect) -> None:
    tables = {tag(t, "service"): t.physical_name for t in graph.of_type(TABLE)}
    (bus,) = graph.of_type("aws:cloudwatch/eventBus:EventBus")
    for service in SERVICES:
        function = function_of(graph, service)
        variables = function.inputs["environment"]["variables"]
        expected = {
            key: (tables[owner[0]] if owner else bus.physical_name) for key, owner in ENVIRONMENT[service].items()
        } | {
            "POWERTOOLS_SERVICE_NAME": service,
            "POWERTOOLS_LOG_LEVEL": expect.text("logLevel"),
            "POWERTOOLS_TRACE_DISABLED": "false" if expect.flag("tracing") else "true",
            "STACK_NAME": expect.stack,
        }
        assert variables == expected, f"{function.urn}: environment {variables}"


# --- size, versions, alias, concurrency ---


def each_function_publishes_versions_behind_a_live_alias(graph: Graph, expect: Expect) -> None:
    for function in graph.of_type(FUNCTION):
        assert function.inputs["publish"] is True, f"{function.urn}: publishes no versions"
        alias = alias_of(graph, function)
        assert alias.physical_name == "live", alias.urn
        assert alias.inputs["functionVersion"] == function.outputs["version"], (
            f"{alias.urn}: not on the published version"
        )


def memory_timeout_and_reserved_concurrency_land_on_the_right_function(graph: Graph, expect: Expect) -> None:
    for service in SERVICES:
        function = function_of(graph, service)
        assert function.inputs["memorySize"] == expect.function(service, "memoryMb"), f"{function.urn}: memory"
        assert function.inputs["timeout"] == expect.function(service, "timeoutSeconds"), f"{function.urn}: timeout"
        reserved = function.inputs.get("reservedConcurrentExecutions")
        assert reserved == expect.function(service, "reservedConcurrency"), f"{function.urn}: reserved {reserved}"


def provisioned_concurrency_only_where_configured_and_only_on_aliases(graph: Graph, expect: Expect) -> None:
    actual = {
        (p.inputs["functionName"], p.inputs["qualifier"], p.inputs["provisionedConcurrentExecutions"])
        for p in graph.of_type(PROVISIONED)
    }
    expected: set[tuple[str, str, int]] = set()
    for service in SERVICES:
        _, count = expect.cold_start(service)
        if count:
            function = function_of(graph, service)
            expected.add((function.physical_name, alias_of(graph, function).physical_name, count))
    assert actual == expected, f"provisioned concurrency {sorted(actual)}, configured {sorted(expected)}"
    assert len(graph.of_type(PROVISIONED)) == len(actual), "two provisioned concurrency configs on one alias"


def snapstart_only_where_configured_on_published_versions_never_with_provisioned_concurrency(
    graph: Graph, expect: Expect
) -> None:
    provisioned = {p.inputs["functionName"] for p in graph.of_type(PROVISIONED)}
    for service in SERVICES:
        function = function_of(graph, service)
        choice, _ = expect.cold_start(service)
        snap_start = function.inputs.get("snapStart")
        if choice == "snapstart":
            assert snap_start == {"applyOn": "PublishedVersions"}, f"{function.urn}: snapStart {snap_start}"
            # SnapStart snapshots published versions only: the alias must serve one, never $LATEST.
            assert function.inputs["publish"] is True, f"{function.urn}: SnapStart without published versions"
            alias = alias_of(graph, function)
            assert alias.inputs["functionVersion"] == function.outputs["version"] != "$LATEST", alias.urn
            assert function.physical_name not in provisioned, f"{function.urn}: SnapStart and provisioned concurrency"
        else:
            assert not snap_start, f"{function.urn}: snapStart {snap_start}, configured cold start {choice}"


def every_route_but_the_public_ones_requires_the_jwt_authorizer(graph: Graph, expect: Expect) -> None:
    (api,) = graph.of_type(API)
    (authorizer,) = graph.of_type(AUTHORIZER)
    assert authorizer.inputs["apiId"] == api.id and authorizer.inputs["authorizerType"] == "JWT", authorizer.urn
    assert authorizer.inputs["identitySources"] == ["$request.header.Authorization"], authorizer.urn
    for route in graph.of_type(ROUTE):
        key = route.inputs["routeKey"]
        if key in OPEN_ROUTES:
            assert route.inputs.get("authorizationType") == "NONE" and not route.inputs.get("authorizerId"), (
                f"{route.urn}: the public route {key} requires a token"
            )
        else:
            assert (route.inputs.get("authorizationType"), route.inputs.get("authorizerId")) == (
                "JWT",
                authorizer.id,
            ), f"{route.urn}: {key} is not behind the stack's JWT authorizer {authorizer.urn}"
    assert {r.inputs["routeKey"] for r in graph.of_type(ROUTE)} > PUBLIC_ROUTES, "a public route is missing"


def the_authorizer_trusts_exactly_the_stacks_pool_and_client(graph: Graph, expect: Expect) -> None:
    (authorizer,) = graph.of_type(AUTHORIZER)
    (pool,) = graph.of_type(USER_POOL)
    (client,) = graph.of_type(USER_POOL_CLIENT)
    jwt = authorizer.inputs["jwtConfiguration"]
    assert jwt["issuer"] == f"https://cognito-idp.{graph.region}.amazonaws.com/{pool.id}", (
        f"{authorizer.urn}: issuer {jwt['issuer']} is not {pool.urn}'s"
    )
    assert jwt["audiences"] == [client.id], f"{authorizer.urn}: audiences {jwt['audiences']}, client {client.id}"
    assert client.inputs["userPoolId"] == pool.id and not client.inputs.get("generateSecret"), client.urn
    assert graph.outputs["user_pool_id"] == pool.id and graph.outputs["user_pool_client_id"] == client.id
    assert graph.outputs["issuer"] == jwt["issuer"], f"stack output issuer {graph.outputs['issuer']}"
    (group,) = graph.of_type(USER_GROUP)
    assert (group.inputs["name"], group.inputs["userPoolId"]) == ("admin", pool.id), group.urn


def password_sign_in_only_where_configured(graph: Graph, expect: Expect) -> None:
    (client,) = graph.of_type(USER_POOL_CLIENT)
    flows = set(client.inputs["explicitAuthFlows"])
    assert {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"} <= flows, f"{client.urn}: flows {sorted(flows)}"
    assert ("ALLOW_USER_PASSWORD_AUTH" in flows) == expect.flag("passwordSignIn"), (
        f"{client.urn}: flows {sorted(flows)}, passwordSignIn {expect.text('passwordSignIn')}"
    )
    assert not flows & {"ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_CUSTOM_AUTH"}, f"{client.urn}: flows {sorted(flows)}"
    (pool,) = graph.of_type(USER_POOL)
    protected = expect.flag("deletionProtection")
    assert pool.inputs["deletionProtection"] == ("ACTIVE" if protected else "INACTIVE"), pool.urn
    assert (pool.protect, pool.retain_on_delete) == (protected, protected), pool.urn


def the_bus_archives_its_events_for_the_configured_retention(graph: Graph, expect: Expect) -> None:
    (bus,) = graph.of_type(BUS)
    archives = graph.of_type(ARCHIVE)
    assert len(archives) == 1, f"one archive of {bus.urn} expected, the graph has {[a.urn for a in archives]}"
    (archive,) = archives
    assert archive.inputs["eventSourceArn"] == bus.outputs["arn"], (
        f"{archive.urn}: archives {archive.inputs['eventSourceArn']}, not the stack's bus {bus.outputs['arn']}"
    )
    assert archive.inputs.get("eventPattern") is None, f"{archive.urn}: filters what it keeps"
    configured = expect.int("eventArchiveRetentionDays")
    assert archive.inputs["retentionDays"] == configured, (
        f"{archive.urn}: retention {archive.inputs['retentionDays']} days, configured {configured}"
    )
    assert graph.outputs["event_archive"] == archive.physical_name, f"export event_archive: {graph.outputs}"


def an_alarm_watches_the_order_lag_the_consumer_publishes(graph: Graph, expect: Expect) -> None:
    lag = [a for a in graph.of_type(ALARM) if a.inputs.get("metricName") == "OrderLagMs"]
    assert len(lag) == 1, f"one order-lag alarm expected, the graph has {[a.urn for a in lag]}"
    (alarm,) = lag
    assert alarm.inputs["namespace"] == "ecommerce", f"{alarm.urn}: namespace {alarm.inputs['namespace']}"
    # Exactly the dimensions the ordering function publishes with, or the alarm watches a series nobody writes.
    assert alarm.inputs["dimensions"] == {"service": "ordering", "stack": expect.stack}, (
        f"{alarm.urn}: dimensions {alarm.inputs['dimensions']}"
    )
    assert alarm.inputs.get("extendedStatistic") == "p99" and alarm.inputs["period"] <= 300, (
        f"{alarm.urn}: {alarm.inputs.get('extendedStatistic')} over {alarm.inputs['period']} s, not p99 over 5 min"
    )


DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


def the_dashboard_shows_this_stacks_resources_only(graph: Graph, expect: Expect) -> None:
    (dashboard,) = graph.of_type(DASHBOARD)
    assert dashboard.inputs["dashboardName"].startswith(f"{PROJECT}-{expect.stack}-"), dashboard.urn
    (api,) = graph.of_type(API)
    ours = {
        "FunctionName": {f.physical_name for f in graph.of_type(FUNCTION)},
        "QueueName": {q.physical_name for q in graph.of_type(QUEUE)},
        "ApiId": {api.id},
        "stack": {expect.stack},
        "service": set(SERVICES),
    }
    shown: dict[str, set[str]] = {key: set() for key in ours}
    for widget in json.loads(dashboard.inputs["dashboardBody"])["widgets"]:
        for line in widget["properties"]["metrics"]:
            dimensions = [item for item in line[2:] if not isinstance(item, dict)]
            for key, value in zip(dimensions[::2], dimensions[1::2], strict=True):
                if key in ours:
                    assert value in ours[key], f"{dashboard.urn}: {widget['properties']['title']!r} shows {key}={value}"
                    shown[key].add(value)
    # And it shows every function, the API, and the queues whose depth or age pages someone.
    assert shown["FunctionName"] == ours["FunctionName"], f"{dashboard.urn}: functions shown {shown['FunctionName']}"
    assert shown["ApiId"] == ours["ApiId"], f"{dashboard.urn}: API {api.id} not shown"
    assert shown["QueueName"] == ours["QueueName"], f"{dashboard.urn}: queues shown {shown['QueueName']}"
    assert shown["stack"] == {expect.stack}, f"{dashboard.urn}: no business metric of stack {expect.stack}"


INVARIANTS: list[Callable[[Graph, Expect], None]] = [
    each_function_has_own_role_trusted_by_lambda_only,
    each_policy_names_only_its_services_arns_with_explicit_actions,
    tracing_follows_config,
    each_route_has_an_integration_and_a_scoped_permission,
    routes_are_exactly_the_designed_twelve,
    route_prefixes_reach_their_service,
    each_queue_is_encrypted_and_has_a_dlq,
    consumer_queue_visibility_is_at_least_six_consumer_timeouts,
    event_source_mapping_reports_batch_failures_on_the_alias,
    queue_policies_admit_only_the_checkout_rule,
    checkout_rule_matches_basket_checkouts_on_the_stack_bus,
    tables_are_on_demand_encrypted_and_protected_as_configured,
    table_keys_follow_the_architecture,
    every_taggable_resource_carries_project_stack_service,
    physical_names_are_derived_from_the_stack,
    log_groups_keep_logs_for_the_configured_retention,
    alarms_watch_dlqs_functions_and_api_5xx,
    api_stage_throttles_logs_and_allows_configured_origins,
    functions_run_the_configured_platform_with_the_stack_dependency_layer,
    dependency_layer_archive_holds_wheels_for_the_functions_platform,
    functions_get_the_environment_of_the_contract,
    each_function_publishes_versions_behind_a_live_alias,
    memory_timeout_and_reserved_concurrency_land_on_the_right_function,
    provisioned_concurrency_only_where_configured_and_only_on_aliases,
    snapstart_only_where_configured_on_published_versions_never_with_provisioned_concurrency,
    every_route_but_the_public_ones_requires_the_jwt_authorizer,
    the_authorizer_trusts_exactly_the_stacks_pool_and_client,
    password_sign_in_only_where_configured,
    the_bus_archives_its_events_for_the_configured_retention,
    an_alarm_watches_the_order_lag_the_consumer_publishes,
    the_dashboard_shows_this_stacks_resources_only,
]
