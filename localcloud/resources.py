"""How each resource type of the program is created on the emulator: one small function per Pulumi type token.

A creator reads the resource's inputs (Pulumi's camelCase property names, already carrying the identifiers
the emulator gave the resources created before it), makes the boto3 calls the AWS provider would make, and
returns the outputs the emulator reports (`id`, `arn`, ...). The deployer compares those with the mock
runtime's and rewrites the inputs of later resources where they differ, so a creator returns only values
the emulator reported or that equal the mock's by construction, never an id of its own invention.

Creators map the inputs the dev and prod stacks declare, no more: an argument the program starts to set is mapped
here when it does (an unmapped one is not sent to the emulator).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from localcloud import archive, layer
from localcloud.graph import Resource

Inputs = Mapping[str, Any]
Outputs = dict[str, Any]


@dataclass
class Context:
    """What every creator needs: clients on the emulator, the account, and where the program's files are."""

    session: boto3.Session
    endpoint: str
    region: str
    account: str
    project_dir: Path
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint)
        return self._clients[service]


Creator = Callable[[Context, Resource, Inputs], Outputs]
CREATORS: dict[str, Creator] = {}


def creates(type_token: str) -> Callable[[Creator], Creator]:
    def register(fn: Creator) -> Creator:
        CREATORS[type_token] = fn
        return fn

    return register


def _clean(value: Any) -> Any:
    """Drop unset fields (boto3 rejects None) and turn the engine's numbers back into ints where whole."""
    if isinstance(value, dict):
        cleaned = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _tag_list(inputs: Inputs) -> list[dict[str, str]]:
    return [{"Key": k, "Value": str(v)} for k, v in (inputs.get("tags") or {}).items()]


def _tag_map(inputs: Inputs) -> dict[str, str]:
    return {k: str(v) for k, v in (inputs.get("tags") or {}).items()}


def _json(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


# --- IAM --------------------------------------------------------------------------------------------


@creates("aws:iam/role:Role")
def _role(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    role = ctx.client("iam").create_role(
        **_clean(
            {
                "RoleName": i.get("name") or r.physical_name,
                "AssumeRolePolicyDocument": _json(i["assumeRolePolicy"]),
                "Tags": _tag_list(i),
            }
        )
    )["Role"]
    return {"id": role["RoleName"], "name": role["RoleName"], "arn": role["Arn"], "uniqueId": role["RoleId"]}


@creates("aws:iam/rolePolicy:RolePolicy")
def _role_policy(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    name = i.get("name") or r.physical_name
    ctx.client("iam").put_role_policy(RoleName=i["role"], PolicyName=name, PolicyDocument=_json(i["policy"]))
    return {}


# --- DynamoDB ---------------------------------------------------------------------------------------


def _key_schema(hash_key: str | None, range_key: str | None, key_schemas: list[dict] | None) -> list[dict]:
    if key_schemas:
        return [{"AttributeName": k["attributeName"], "KeyType": k["keyType"]} for k in key_schemas]
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


@creates("aws:dynamodb/table:Table")
def _table(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    # Both stacks bill on demand: no provisioned throughput to map.
    ddb = ctx.client("dynamodb")
    name = i.get("name") or r.physical_name
    table = ddb.create_table(
        **_clean(
            {
                "TableName": name,
                "BillingMode": i.get("billingMode"),
                "AttributeDefinitions": [
                    {"AttributeName": a["name"], "AttributeType": a["type"]} for a in i.get("attributes") or []
                ],
                "KeySchema": _key_schema(i.get("hashKey"), i.get("rangeKey"), None),
                "GlobalSecondaryIndexes": [
                    {
                        "IndexName": g["name"],
                        "KeySchema": _key_schema(g.get("hashKey"), g.get("rangeKey"), g.get("keySchemas")),
                        "Projection": {"ProjectionType": g["projectionType"]},
                    }
                    for g in i.get("globalSecondaryIndexes") or []
                ],
                "SSESpecification": {"Enabled": True, "SSEType": "KMS"}
                if (i.get("serverSideEncryption") or {}).get("enabled")
                else None,
                "DeletionProtectionEnabled": i.get("deletionProtectionEnabled"),
                "Tags": _tag_list(i),
            }
        )
    )["TableDescription"]
    if (i.get("pointInTimeRecovery") or {}).get("enabled"):
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    ttl = i.get("ttl") or {}
    if ttl.get("enabled") and ttl.get("attributeName"):
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]}
        )
    return {"id": name, "name": name, "arn": table["TableArn"], "streamArn": table.get("LatestStreamArn")}


# --- SQS --------------------------------------------------------------------------------------------

_QUEUE_ATTRIBUTES = {
    "visibilityTimeoutSeconds": "VisibilityTimeout",
    "messageRetentionSeconds": "MessageRetentionPeriod",
    "redrivePolicy": "RedrivePolicy",
    "sqsManagedSseEnabled": "SqsManagedSseEnabled",
}


def _attribute_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(_json(value))


@creates("aws:sqs/queue:Queue")
def _queue(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    sqs = ctx.client("sqs")
    name = i.get("name") or r.physical_name
    attributes = {
        aws_name: _attribute_value(i[key]) for key, aws_name in _QUEUE_ATTRIBUTES.items() if i.get(key) is not None
    }
    url = sqs.create_queue(**_clean({"QueueName": name, "Attributes": attributes, "tags": _tag_map(i)}))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"id": url, "url": url, "arn": arn, "name": name}


@creates("aws:sqs/queuePolicy:QueuePolicy")
def _queue_policy(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    ctx.client("sqs").set_queue_attributes(QueueUrl=i["queueUrl"], Attributes={"Policy": _json(i["policy"])})
    return {}


# --- EventBridge ------------------------------------------------------------------------------------


@creates("aws:cloudwatch/eventBus:EventBus")
def _event_bus(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    name = i.get("name") or r.physical_name
    bus = ctx.client("events").create_event_bus(**_clean({"Name": name, "Tags": _tag_list(i)}))
    return {"id": name, "name": name, "arn": bus["EventBusArn"]}


@creates("aws:cloudwatch/eventArchive:EventArchive")
def _event_archive(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    name = i.get("name") or r.physical_name
    archive = ctx.client("events").create_archive(
        **_clean(
            {
                "ArchiveName": name,
                "EventSourceArn": i["eventSourceArn"],
                "Description": i.get("description"),
                "RetentionDays": _int(i.get("retentionDays")),
            }
        )
    )
    return {"id": name, "name": name, "arn": archive["ArchiveArn"]}


@creates("aws:cloudwatch/eventRule:EventRule")
def _event_rule(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    rule = ctx.client("events").put_rule(
        **_clean(
            {
                "Name": i.get("name") or r.physical_name,
                "EventBusName": i.get("eventBusName"),
                "EventPattern": _json(i.get("eventPattern")),
                "State": "ENABLED",
                "Tags": _tag_list(i),
            }
        )
    )
    return {"arn": rule["RuleArn"]}


@creates("aws:cloudwatch/eventTarget:EventTarget")
def _event_target(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    retry = i.get("retryPolicy") or {}
    target = {
        "Id": r.name,
        "Arn": i["arn"],
        "DeadLetterConfig": {"Arn": (i.get("deadLetterConfig") or {}).get("arn")},
        "RetryPolicy": {
            "MaximumEventAgeInSeconds": _int(retry.get("maximumEventAgeInSeconds")),
            "MaximumRetryAttempts": _int(retry.get("maximumRetryAttempts")),
        },
    }
    response = ctx.client("events").put_targets(
        **_clean({"Rule": i["rule"], "EventBusName": i.get("eventBusName"), "Targets": [_clean(target)]})
    )
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"PutTargets refused {r.name}: {response['FailedEntries']}")
    return {"targetId": r.name}


# --- Lambda -----------------------------------------------------------------------------------------


@creates("aws:lambda/layerVersion:LayerVersion")
def _layer_version(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    published = ctx.client("lambda").publish_layer_version(
        **_clean(
            {
                "LayerName": i.get("layerName") or r.physical_name,
                "Description": i.get("description"),
                # Not the declared archive: it holds wheels for the declared runtime and architecture, and the
                # emulator runs functions with its own interpreter (pydantic-core is compiled, so those wheels
                # would not import). The same pins built for this interpreter instead (localcloud/layer.py).
                "Content": {"ZipFile": layer.layer_zip()},
                "CompatibleRuntimes": i.get("compatibleRuntimes"),
                "CompatibleArchitectures": i.get("compatibleArchitectures"),
            }
        )
    )
    return {
        "id": published["LayerVersionArn"],
        "arn": published["LayerVersionArn"],
        "layerArn": published["LayerArn"],
        "version": str(published["Version"]),
    }


def _invoke_arn(ctx: Context, function_arn: str) -> str:
    return f"arn:aws:apigateway:{ctx.region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


@creates("aws:lambda/function:Function")
def _function(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    if i.get("code") is None:
        raise ValueError("only zip packages from a local archive are supported (no code input)")
    name = i.get("name") or r.physical_name
    logging_config = i.get("loggingConfig") or {}
    fn = ctx.client("lambda").create_function(
        **_clean(
            {
                "FunctionName": name,
                "Runtime": i.get("runtime"),
                "Role": i["role"],
                "Handler": i.get("handler"),
                "Code": {"ZipFile": archive.zip_bytes(i["code"], ctx.project_dir)},
                "Timeout": _int(i.get("timeout")),
                "MemorySize": _int(i.get("memorySize")),
                "Publish": bool(i.get("publish")),  # a version, for the alias the API and the queue invoke
                "Environment": {"Variables": (i.get("environment") or {}).get("variables")},
                "Layers": i.get("layers"),
                "Architectures": i.get("architectures"),
                "TracingConfig": {"Mode": (i.get("tracingConfig") or {}).get("mode")},
                "LoggingConfig": {
                    "LogFormat": logging_config.get("logFormat"),
                    "LogGroup": logging_config.get("logGroup"),
                },
                "Tags": _tag_map(i),
            }
        )
    )
    if i.get("reservedConcurrentExecutions") is not None and int(i["reservedConcurrentExecutions"]) >= 0:
        ctx.client("lambda").put_function_concurrency(
            FunctionName=name, ReservedConcurrentExecutions=int(i["reservedConcurrentExecutions"])
        )
    arn, version = fn["FunctionArn"].removesuffix(f":{fn['Version']}"), str(fn["Version"])
    qualified = f"{arn}:{version}"
    return {
        "id": name,
        "name": name,
        "arn": arn,
        "version": version,
        "qualifiedArn": qualified,
        "invokeArn": _invoke_arn(ctx, arn),
        "qualifiedInvokeArn": _invoke_arn(ctx, qualified),
    }


@creates("aws:lambda/alias:Alias")
def _alias(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    alias = ctx.client("lambda").create_alias(
        FunctionName=i["functionName"], Name=i.get("name") or r.name, FunctionVersion=i["functionVersion"]
    )
    return {"id": alias["AliasArn"], "arn": alias["AliasArn"], "invokeArn": _invoke_arn(ctx, alias["AliasArn"])}


@creates("aws:lambda/permission:Permission")
def _permission(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    ctx.client("lambda").add_permission(
        **_clean(
            {
                "FunctionName": i["function"],
                "StatementId": r.name,
                "Action": i["action"],
                "Principal": i["principal"],
                "SourceArn": i.get("sourceArn"),
                "Qualifier": i.get("qualifier"),
            }
        )
    )
    return {"statementId": r.name}


@creates("aws:lambda/eventSourceMapping:EventSourceMapping")
def _event_source_mapping(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    mapping = ctx.client("lambda").create_event_source_mapping(
        **_clean(
            {
                "EventSourceArn": i["eventSourceArn"],
                "FunctionName": i["functionName"],
                "BatchSize": _int(i.get("batchSize")),
                "FunctionResponseTypes": i.get("functionResponseTypes"),
                "ScalingConfig": {"MaximumConcurrency": _int((i.get("scalingConfig") or {}).get("maximumConcurrency"))},
                "Tags": _tag_map(i),
            }
        )
    )
    return {"id": mapping["UUID"], "uuid": mapping["UUID"], "functionArn": mapping["FunctionArn"]}


@creates("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
def _provisioned_concurrency(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    ctx.client("lambda").put_provisioned_concurrency_config(
        FunctionName=i["functionName"],
        Qualifier=i["qualifier"],
        ProvisionedConcurrentExecutions=int(i["provisionedConcurrentExecutions"]),
    )
    return {}


# --- API Gateway v2 (HTTP API) ----------------------------------------------------------------------


@creates("aws:apigatewayv2/api:Api")
def _api(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    cors = i.get("corsConfiguration") or {}
    api = ctx.client("apigatewayv2").create_api(
        **_clean(
            {
                "Name": i.get("name") or r.physical_name,
                "ProtocolType": i["protocolType"],
                "CorsConfiguration": {
                    "AllowHeaders": cors.get("allowHeaders"),
                    "AllowMethods": cors.get("allowMethods"),
                    "AllowOrigins": cors.get("allowOrigins"),
                    "ExposeHeaders": cors.get("exposeHeaders"),
                    "MaxAge": _int(cors.get("maxAge")),
                },
                "Tags": _tag_map(i),
            }
        )
    )
    api_id = api["ApiId"]
    return {
        "id": api_id,
        "apiEndpoint": api["ApiEndpoint"],
        "executionArn": f"arn:aws:execute-api:{ctx.region}:{ctx.account}:{api_id}",
        "arn": f"arn:aws:apigateway:{ctx.region}::/apis/{api_id}",
    }


@creates("aws:apigatewayv2/integration:Integration")
def _integration(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    integration = ctx.client("apigatewayv2").create_integration(
        **_clean(
            {
                "ApiId": i["apiId"],
                "IntegrationType": i["integrationType"],
                "IntegrationUri": i.get("integrationUri"),
                "IntegrationMethod": i.get("integrationMethod"),
                "PayloadFormatVersion": i.get("payloadFormatVersion"),
            }
        )
    )
    return {"id": integration["IntegrationId"]}


@creates("aws:apigatewayv2/route:Route")
def _route(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    route = ctx.client("apigatewayv2").create_route(
        **_clean(
            {
                "ApiId": i["apiId"],
                "RouteKey": i["routeKey"],
                "Target": i.get("target"),
                "AuthorizationType": i.get("authorizationType"),
                "AuthorizerId": i.get("authorizerId"),
            }
        )
    )
    return {"id": route["RouteId"]}


@creates("aws:apigatewayv2/authorizer:Authorizer")
def _authorizer(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    jwt = i.get("jwtConfiguration") or {}
    authorizer = ctx.client("apigatewayv2").create_authorizer(
        **_clean(
            {
                "ApiId": i["apiId"],
                "AuthorizerType": i["authorizerType"],
                "Name": i.get("name") or r.physical_name,
                "IdentitySource": i.get("identitySources"),
                # The issuer names the pool: the deployer has already put the emulator's pool id in it.
                "JwtConfiguration": {"Audience": jwt.get("audiences"), "Issuer": jwt.get("issuer")},
            }
        )
    )
    return {"id": authorizer["AuthorizerId"]}


@creates("aws:apigatewayv2/stage:Stage")
def _stage(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    name = i.get("name") or r.name
    access_log = i.get("accessLogSettings") or {}
    throttling = i.get("defaultRouteSettings") or {}
    ctx.client("apigatewayv2").create_stage(
        **_clean(
            {
                "ApiId": i["apiId"],
                "StageName": name,
                "AutoDeploy": i.get("autoDeploy"),
                "DefaultRouteSettings": {
                    "ThrottlingBurstLimit": _int(throttling.get("throttlingBurstLimit")),
                    "ThrottlingRateLimit": throttling.get("throttlingRateLimit"),
                },
                "AccessLogSettings": {
                    "DestinationArn": access_log.get("destinationArn"),
                    "Format": access_log.get("format"),
                },
                "Tags": _tag_map(i),
            }
        )
    )
    path = "" if name == "$default" else f"{name}/"
    return {
        "id": name,
        "invokeUrl": f"{ctx.endpoint}/_aws/execute-api/{i['apiId']}/{path}",
        "executionArn": f"arn:aws:execute-api:{ctx.region}:{ctx.account}:{i['apiId']}/{name}",
    }


# --- Cognito ----------------------------------------------------------------------------------------


def _cognito_schema(attribute: Mapping[str, Any]) -> dict[str, Any]:
    strings = attribute.get("stringAttributeConstraints") or {}
    return _clean(
        {
            "Name": attribute["name"],
            "AttributeDataType": attribute.get("attributeDataType"),
            "Mutable": attribute.get("mutable"),
            "Required": attribute.get("required"),
            "StringAttributeConstraints": {
                "MinLength": strings.get("minLength"),
                "MaxLength": strings.get("maxLength"),
            },
        }
    )


@creates("aws:cognito/userPool:UserPool")
def _user_pool(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    password = i.get("passwordPolicy") or {}
    pool = ctx.client("cognito-idp").create_user_pool(
        **_clean(
            {
                "PoolName": i.get("name") or r.physical_name,
                "Policies": {
                    "PasswordPolicy": {
                        "MinimumLength": _int(password.get("minimumLength")),
                        "RequireUppercase": password.get("requireUppercase"),
                        "RequireLowercase": password.get("requireLowercase"),
                        "RequireNumbers": password.get("requireNumbers"),
                        "RequireSymbols": password.get("requireSymbols"),
                        "TemporaryPasswordValidityDays": _int(password.get("temporaryPasswordValidityDays")),
                    }
                },
                "DeletionProtection": i.get("deletionProtection"),
                "AutoVerifiedAttributes": i.get("autoVerifiedAttributes"),
                "UsernameConfiguration": {"CaseSensitive": (i.get("usernameConfiguration") or {}).get("caseSensitive")},
                "Schema": [_cognito_schema(a) for a in i.get("schemas") or []],
                "AccountRecoverySetting": {
                    "RecoveryMechanisms": [
                        {"Name": m["name"], "Priority": _int(m["priority"])}
                        for m in (i.get("accountRecoverySetting") or {}).get("recoveryMechanisms") or []
                    ]
                },
                "UserPoolTags": _tag_map(i),
            }
        )
    )["UserPool"]
    pool_id = pool["Id"]
    return {
        "id": pool_id,
        "arn": pool["Arn"],
        "name": pool["Name"],
        "endpoint": f"cognito-idp.{ctx.region}.amazonaws.com/{pool_id}",
    }


@creates("aws:cognito/userPoolClient:UserPoolClient")
def _user_pool_client(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    units = i.get("tokenValidityUnits") or {}
    client = ctx.client("cognito-idp").create_user_pool_client(
        **_clean(
            {
                "UserPoolId": i["userPoolId"],
                "ClientName": i.get("name") or r.physical_name,
                "GenerateSecret": i.get("generateSecret"),
                "ExplicitAuthFlows": i.get("explicitAuthFlows"),
                "PreventUserExistenceErrors": i.get("preventUserExistenceErrors"),
                "EnableTokenRevocation": i.get("enableTokenRevocation"),
                "AccessTokenValidity": _int(i.get("accessTokenValidity")),
                "IdTokenValidity": _int(i.get("idTokenValidity")),
                "RefreshTokenValidity": _int(i.get("refreshTokenValidity")),
                "TokenValidityUnits": {
                    "AccessToken": units.get("accessToken"),
                    "IdToken": units.get("idToken"),
                    "RefreshToken": units.get("refreshToken"),
                },
                "SupportedIdentityProviders": i.get("supportedIdentityProviders"),
            }
        )
    )["UserPoolClient"]
    return {"id": client["ClientId"], "clientSecret": client.get("ClientSecret") or ""}


@creates("aws:cognito/userGroup:UserGroup")
def _user_group(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    name = i.get("name") or r.physical_name
    ctx.client("cognito-idp").create_group(
        **_clean({"UserPoolId": i["userPoolId"], "GroupName": name, "Description": i.get("description")})
    )
    return {"id": f"{i['userPoolId']}/{name}", "name": name}


# --- Observability ----------------------------------------------------------------------------------


@creates("aws:cloudwatch/logGroup:LogGroup")
def _log_group(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    logs = ctx.client("logs")
    name = i.get("name") or r.physical_name
    logs.create_log_group(**_clean({"logGroupName": name, "tags": _tag_map(i)}))
    if i.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(i["retentionInDays"]))
    return {"id": name, "name": name, "arn": f"arn:aws:logs:{ctx.region}:{ctx.account}:log-group:{name}"}


@creates("aws:cloudwatch/metricAlarm:MetricAlarm")
def _metric_alarm(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    name = i.get("name") or r.physical_name
    cloudwatch = ctx.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        **_clean(
            {
                "AlarmName": name,
                "AlarmDescription": i.get("alarmDescription"),
                "AlarmActions": i.get("alarmActions"),
                "OKActions": i.get("okActions"),
                "Namespace": i.get("namespace"),
                "MetricName": i.get("metricName"),
                "Dimensions": [{"Name": k, "Value": str(v)} for k, v in (i.get("dimensions") or {}).items()],
                "Statistic": i.get("statistic"),
                "ExtendedStatistic": i.get("extendedStatistic"),
                "Period": _int(i.get("period")),
                "EvaluationPeriods": _int(i["evaluationPeriods"]),
                "Threshold": i.get("threshold"),
                "ComparisonOperator": i["comparisonOperator"],
                "TreatMissingData": i.get("treatMissingData"),
                "Tags": _tag_list(i),
            }
        )
    )
    alarm = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    return {"id": name, "name": name, "arn": alarm["AlarmArn"]}


@creates("aws:cloudwatch/dashboard:Dashboard")
def _dashboard(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    name = i["dashboardName"]
    answer = ctx.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=_json(i["dashboardBody"]))
    if answer.get("DashboardValidationMessages"):
        raise RuntimeError(f"PutDashboard {name}: {answer['DashboardValidationMessages']}")
    return {"id": name, "dashboardName": name}


@creates("aws:sns/topic:Topic")
def _topic(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    name = i.get("name") or r.physical_name
    topic = ctx.client("sns").create_topic(**_clean({"Name": name, "Tags": _tag_list(i)}))
    return {"id": topic["TopicArn"], "arn": topic["TopicArn"], "name": name}


@creates("aws:sns/topicSubscription:TopicSubscription")
def _topic_subscription(ctx: Context, r: Resource, i: Inputs) -> Outputs:
    subscription = ctx.client("sns").subscribe(
        TopicArn=i["topic"], Protocol=i["protocol"], Endpoint=i["endpoint"], ReturnSubscriptionArn=True
    )
    return {"id": subscription["SubscriptionArn"], "arn": subscription["SubscriptionArn"]}
