"""Run the Pulumi program under Pulumi's mock runtime and return the resource graph it declares.

This is the single source of the topology for everything that is not `pulumi up`: the graph
property tests read it, and the local cloud creates exactly these resources on MiniStack.

The mocks answer every resource with the identifiers AWS (and MiniStack, which uses the same
formats) would give it: the physical name is the `name` input the program sets, and ARNs are
built from it, so policies that reference `table.arn` carry the ARN the real table will have.
Only identifiers AWS picks at random (an HTTP API id, a queue URL's host) differ; the local cloud
maps those after it creates the resource.
"""

from __future__ import annotations

import hashlib
import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.settings import ROOT
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

PROJECT_DIR = Path(__file__).resolve().parent.parent
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PROJECT = "ecommerce"
ACCOUNT_ID = "000000000000"  # MiniStack's default account; AWS's placeholder in docs
DEFAULT_REGION = "us-east-1"


@dataclass
class Resource:
    """One resource the program registered: what a Pulumi engine would be asked to create."""

    urn: str
    type: str
    name: str  # logical name
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    id: str
    parent: str | None
    custom: bool
    protect: bool
    retain_on_delete: bool
    dependencies: list[str] = field(default_factory=list)

    @property
    def physical_name(self) -> str:
        return str(self.outputs.get("name") or self.name)


@dataclass
class Graph:
    stack: str
    region: str
    config: dict[str, str]
    resources: list[Resource]
    outputs: dict[str, Any]

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def by_urn(self, urn: str) -> Resource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def children(self, parent_urn: str) -> list[Resource]:
        return [r for r in self.resources if r.parent == parent_urn]


def stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The `config:` mapping of `Pulumi.<stack>.yaml`, as written (values keep their YAML types)."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    data = yaml.safe_load(path.read_text()) or {}
    return dict(data.get("config") or {})


def _as_config_string(value: Any) -> str:
    # The engine hands every config value to the program as a string; structured values as JSON.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _fake_hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _fake_alnum(seed: str, length: int, alphabet: str = "0123456789abcdefghijklmnopqrstuvwxyz") -> str:
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, len(alphabet))
        chars.append(alphabet[digit])
    return "".join(chars)


class _AwsLikeMocks(pulumi_mocks.Mocks):
    """Answers resources and calls with AWS-shaped identifiers derived from the physical name."""

    def __init__(self, region: str) -> None:
        self.region = region

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list]:
        # The program invokes no data source. The failures list must be a list: pulumi's MockMonitor.Invoke
        # iterates it even when empty (a `None` there, as the base class's signature allows, raises TypeError).
        return {}, []

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        name = inputs.get("name") or args.name
        r, a = self.region, ACCOUNT_ID
        state: dict[str, Any] = {**inputs, "name": name}
        resource_id = name
        t = args.typ
        if t == "aws:dynamodb/table:Table":
            state["arn"] = f"arn:aws:dynamodb:{r}:{a}:table/{name}"
        elif t == "aws:sqs/queue:Queue":
            resource_id = f"https://sqs.{r}.amazonaws.com/{a}/{name}"
            state.update(arn=f"arn:aws:sqs:{r}:{a}:{name}", url=resource_id)
        elif t == "aws:iam/role:Role":
            state.update(arn=f"arn:aws:iam::{a}:role/{name}", uniqueId=f"AROA{_fake_hex(name, 16).upper()}")
        elif t == "aws:lambda/function:Function":
            arn = f"arn:aws:lambda:{r}:{a}:function:{name}"
            state.update(
                arn=arn,
                qualifiedArn=f"{arn}:1",
                version="1",
                invokeArn=_invoke_arn(r, arn),
                qualifiedInvokeArn=_invoke_arn(r, f"{arn}:1"),
            )
        elif t == "aws:lambda/alias:Alias":
            fn_arn = str(inputs.get("functionName", ""))
            if not fn_arn.startswith("arn:"):
                fn_arn = f"arn:aws:lambda:{r}:{a}:function:{fn_arn}"
            arn = f"{fn_arn}:{name}"
            state.update(arn=arn, invokeArn=_invoke_arn(r, arn))
            resource_id = arn
        elif t == "aws:lambda/layerVersion:LayerVersion":
            layer = inputs.get("layerName") or name
            state.update(
                layerArn=f"arn:aws:lambda:{r}:{a}:layer:{layer}",
                arn=f"arn:aws:lambda:{r}:{a}:layer:{layer}:1",
                version="1",
            )
            resource_id = state["arn"]
        elif t == "aws:cloudwatch/eventBus:EventBus":
            state["arn"] = f"arn:aws:events:{r}:{a}:event-bus/{name}"
        elif t == "aws:cloudwatch/eventArchive:EventArchive":
            state["arn"] = f"arn:aws:events:{r}:{a}:archive/{name}"
        elif t == "aws:cloudwatch/dashboard:Dashboard":
            name = str(inputs.get("dashboardName") or args.name)
            resource_id = name
            state["dashboardArn"] = f"arn:aws:cloudwatch::{a}:dashboard/{name}"
        elif t == "aws:cloudwatch/eventRule:EventRule":
            bus = inputs.get("eventBusName") or "default"
            rule = name if bus == "default" else f"{bus}/{name}"
            state["arn"] = f"arn:aws:events:{r}:{a}:rule/{rule}"
        elif t == "aws:cloudwatch/logGroup:LogGroup":
            state["arn"] = f"arn:aws:logs:{r}:{a}:log-group:{name}"
        elif t == "aws:cloudwatch/metricAlarm:MetricAlarm":
            state["arn"] = f"arn:aws:cloudwatch:{r}:{a}:alarm:{name}"
        elif t == "aws:sns/topic:Topic":
            state["arn"] = f"arn:aws:sns:{r}:{a}:{name}"
            resource_id = state["arn"]
        elif t == "aws:apigatewayv2/api:Api":
            api_id = _fake_hex(f"api:{name}", 10)
            resource_id = api_id
            state.update(
                apiEndpoint=f"https://{api_id}.execute-api.{r}.amazonaws.com",
                executionArn=f"arn:aws:execute-api:{r}:{a}:{api_id}",
                arn=f"arn:aws:apigateway:{r}::/apis/{api_id}",
            )
        elif t == "aws:apigatewayv2/stage:Stage":
            api_id = inputs.get("apiId", "")
            state.update(
                invokeUrl=f"https://{api_id}.execute-api.{r}.amazonaws.com/",
                executionArn=f"arn:aws:execute-api:{r}:{a}:{api_id}/{name}",
                arn=f"arn:aws:apigateway:{r}::/apis/{api_id}/stages/{name}",
            )
        elif t == "aws:apigatewayv2/authorizer:Authorizer":
            resource_id = _fake_alnum(f"authorizer:{name}", 6)
        elif t == "aws:cognito/userPool:UserPool":
            # Cognito picks `<region>_<9 letters and digits>`; the issuer and the JWKS URL are built from it.
            resource_id = f"{r}_{_fake_alnum(f'pool:{name}', 9, _ALNUM)}"
            state.update(
                arn=f"arn:aws:cognito-idp:{r}:{a}:userpool/{resource_id}",
                endpoint=f"cognito-idp.{r}.amazonaws.com/{resource_id}",
                estimatedNumberOfUsers=0,
            )
        elif t == "aws:cognito/userPoolClient:UserPoolClient":
            resource_id = _fake_alnum(f"client:{name}", 26)
            state["clientSecret"] = _fake_alnum(f"secret:{name}", 51) if inputs.get("generateSecret") else ""
        elif t == "aws:cognito/userGroup:UserGroup":
            resource_id = f"{inputs.get('userPoolId', '')}/{name}"  # the provider's id: pool id and group name
        elif t.startswith("aws:"):
            resource_id = f"{name}-{_fake_hex(args.name, 8)}" if "name" not in inputs else name
            state.setdefault("arn", f"arn:aws:{t.split(':')[1].split('/')[0]}:{r}:{a}:{name}")
        return resource_id, state


def _invoke_arn(region: str, function_arn: str) -> str:
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also keeping what a real engine would see: parents, options, dependencies."""

    def __init__(self, mocks: _AwsLikeMocks) -> None:
        super().__init__(mocks)
        self.requests: dict[str, Any] = {}

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.requests[response.urn] = request
        return response


def capture(
    stack: str = "dev",
    config: dict[str, Any] | None = None,
    *,
    project_dir: Path = PROJECT_DIR,
) -> Graph:
    """Run `__main__.py` for `stack` under mocks and return every resource it registered.

    `config` (keys without the `ecommerce:` prefix, or fully qualified like `aws:region`) overrides
    the values of `Pulumi.<stack>.yaml`. Errors the program raises at start (a bad setting) propagate.
    """
    raw = stack_config(stack, project_dir)
    for key, value in (config or {}).items():
        raw[key if ":" in key else f"{PROJECT}:{key}"] = value
    all_config = {k: _as_config_string(v) for k, v in raw.items() if v is not None}
    region = all_config.get("aws:region", DEFAULT_REGION)

    mocks = _AwsLikeMocks(region)
    monitor = _RecordingMonitor(mocks)
    ROOT.set(None)  # a fresh root stack for each run, so runs in one process do not share state
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(all_config)
    program = project_dir / "__main__.py"
    exports: dict[str, Any] = {}

    def run() -> None:
        runpy.run_path(str(program), run_name="__main__")
        root = ROOT.get()
        for key, value in dict(getattr(root, "outputs", {}) or {}).items():
            exports[key] = _sync_await(pulumi.Output.from_input(value).future())

    _sync_await(run_pulumi_func(run))

    resources = []
    for urn, registration in monitor.resources.items():
        request = monitor.requests.get(urn)
        if request is None:
            continue
        resources.append(
            Resource(
                urn=urn,
                type=request.type,
                name=request.name,
                inputs=rpc.deserialize_properties(request.object),
                outputs=dict(registration.state or {}),
                id=registration.id or "",
                parent=request.parent or None,
                custom=bool(request.custom),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                dependencies=list(request.dependencies),
            )
        )
    return Graph(stack=stack, region=region, config=all_config, resources=resources, outputs=exports)
