"""Create a captured resource graph on MiniStack, in dependency order, and describe what was created.

    graph = capture("dev")
    deployment = deploy(graph, emulator)       # a few hundred milliseconds for the whole stack
    deployment.client("dynamodb").scan(TableName=deployment.name_of("aws:dynamodb/table:Table", "product-table"))

Component resources have no cloud form and are skipped; every custom resource must have a creator in
`localcloud.resources.CREATORS`, or nothing is created and `UnknownResourceTypeError` names the types.

The mock runtime answered every resource with the identifiers AWS would give it (graph.py), so most inputs
are already right. Where the emulator picks an identifier itself (an HTTP API id, a queue URL), the mock's
value is mapped to the real one and rewritten in the inputs of later resources.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import boto3
import requests
from botocore.config import Config

from localcloud.emulator import FAKE_CREDENTIALS
from localcloud.graph import ACCOUNT_ID, PROJECT_DIR, Graph, Resource
from localcloud.resources import CREATORS, Context, Outputs

# Finds a resource the emulator already holds: its outputs, or None to create it (localcloud.state.ADOPTERS).
Adopter = Callable[[Context, Resource, Mapping[str, Any]], Outputs | None]

_NO_CLOUD_FORM = ("pulumi:providers:",)  # provider resources configure the engine, not the account
_SHORT = 8  # mock values shorter than this ("1", "live") are replaced only where they are the whole string


class DeployError(RuntimeError):
    """A resource could not be created; the message names its URN."""


class UnknownResourceTypeError(DeployError):
    """The graph holds custom resources the local cloud has no creator for."""

    def __init__(self, types: Iterable[str]) -> None:
        self.types = sorted(set(types))
        super().__init__(
            "the local cloud cannot create resources of type "
            + ", ".join(self.types)
            + " (add a creator in localcloud/resources.py)"
        )


class _Endpoint(Protocol):
    @property
    def endpoint(self) -> str: ...


@dataclass
class Deployment:
    """What `deploy` created: the emulator's identifiers for every resource of the graph."""

    graph: Graph
    endpoint: str
    outputs: dict[str, dict[str, Any]]  # URN -> outputs, the emulator's values over the mock's
    substitutions: dict[str, str]  # mock value -> emulator value
    seconds: float
    adopted: list[str] = field(default_factory=list)  # URNs found on the emulator (kept state), not created
    _resources: dict[str, Resource] = field(default_factory=dict, repr=False)

    @property
    def region(self) -> str:
        return self.graph.region

    def session(self) -> boto3.Session:
        """A fresh boto3 session with the emulator's root credentials (tests make one per thread)."""
        return boto3.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=self.region,
        )

    def client(self, service: str, session: boto3.Session | None = None) -> Any:
        return (session or self.session()).client(
            service, endpoint_url=self.endpoint, config=Config(retries={"max_attempts": 2, "mode": "standard"})
        )

    def resources(self, type_: str) -> list[Resource]:
        return [r for r in self.graph.resources if r.type == type_ and r.urn in self.outputs]

    def output(self, type_: str, name: str | None = None) -> dict[str, Any]:
        """The outputs of the one resource of `type_` (named `name`, the logical name, when there are several)."""
        matches = [r for r in self.resources(type_) if name is None or r.name == name]
        if len(matches) != 1:
            found = ", ".join(r.name for r in self.resources(type_)) or "none"
            raise KeyError(f"expected one {type_} named {name or '<any>'}; the graph has: {found}")
        return self.outputs[matches[0].urn]

    def name_of(self, type_: str, name: str | None = None) -> str:
        return str(self.output(type_, name)["name"])

    @property
    def api_id(self) -> str:
        return str(self.output("aws:apigatewayv2/api:Api")["id"])

    @property
    def api_url(self) -> str:
        """The HTTP API's `$default` stage on the emulator (path-addressed, so no DNS is needed)."""
        return f"{self.endpoint}/_aws/execute-api/{self.api_id}"

    @property
    def routes(self) -> list[str]:
        """Route keys, ordered by path then method, as a user reads a route table."""
        keys = [str(self.outputs[r.urn].get("routeKey", r.inputs["routeKey"])) for r in self.resources(_ROUTE)]
        return sorted(keys, key=lambda k: (k.partition(" ")[2], k.partition(" ")[0]))

    def service_of(self, function: Resource) -> str:
        """The name a user knows a function by: its Powertools service (`product`), else its physical name."""
        outputs = self.outputs[function.urn]
        variables = (outputs.get("environment") or {}).get("variables") or {}
        return str(variables.get("POWERTOOLS_SERVICE_NAME") or outputs["name"])

    @property
    def function_names(self) -> list[str]:
        return sorted(str(self.outputs[r.urn]["name"]) for r in self.resources("aws:lambda/function:Function"))

    @property
    def stack_outputs(self) -> dict[str, Any]:
        """The program's exports, with the emulator's identifiers."""
        return _Substitutions(self.substitutions).apply(self.graph.outputs)


_ROUTE = "aws:apigatewayv2/route:Route"


class _Substitutions:
    """mock value -> emulator value, applied to every string of a later resource's inputs."""

    def __init__(self, initial: Mapping[str, str] | None = None) -> None:
        self.values: dict[str, str] = dict(initial or {})
        self._pattern: re.Pattern[str] | None = None

    def add(self, mock: str, real: str) -> None:
        if mock and mock != real:
            self.values[mock] = real
            self._pattern = None

    def apply(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._apply_str(value)
        if isinstance(value, dict):
            return {k: self.apply(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.apply(v) for v in value]
        return value  # numbers, booleans, and the program's assets and archives

    def _apply_str(self, text: str) -> str:
        if text in self.values:
            return self.values[text]
        if self._pattern is None:
            long_first = sorted((k for k in self.values if len(k) >= _SHORT), key=len, reverse=True)
            self._pattern = re.compile("|".join(map(_bounded, long_first))) if long_first else re.compile(r"(?!)")
        return self._pattern.sub(lambda m: self.values[m.group(0)], text)


def _bounded(value: str) -> str:
    # Inside a longer string a value counts only as a whole token: the mock's queue name must not
    # rewrite the start of its DLQ's name, nor an id the tail of a longer id.
    before = r"(?<![\w-])" if re.match(r"[\w-]", value[0]) else ""
    after = r"(?![\w-])" if re.match(r"[\w-]", value[-1]) else ""
    return before + re.escape(value) + after


def plan(graph: Graph) -> list[Resource]:
    """The custom resources of `graph` in an order that creates every dependency first.

    Raises UnknownResourceTypeError, before anything is created, if any type has no creator.
    """
    unknown = [
        r.type for r in graph.resources if r.custom and not r.type.startswith(_NO_CLOUD_FORM) and r.type not in CREATORS
    ]
    if unknown:
        raise UnknownResourceTypeError(unknown)
    hard = {r.urn: {*r.dependencies, *([r.parent] if r.parent else [])} for r in graph.resources}
    soft = _references(graph)
    try:
        order = _topological(graph, {urn: hard[urn] | soft.get(urn, set()) for urn in hard})
    except DeployError:
        # A reference found by value is a guess; the engine's own dependencies are the contract.
        order = _topological(graph, hard)
    return [r for r in order if r.custom and not r.type.startswith(_NO_CLOUD_FORM)]


def _references(graph: Graph) -> dict[str, set[str]]:
    """Dependencies the engine was not told about: an input that holds another resource's id or ARN."""
    owners: dict[str, str] = {}
    for r in graph.resources:
        if r.custom:
            for value in (r.id, r.outputs.get("arn")):
                if isinstance(value, str) and len(value) >= _SHORT:
                    owners.setdefault(value, r.urn)
    arn_owners = sorted((v for v in owners if v.startswith("arn:")), key=len, reverse=True)
    found: dict[str, set[str]] = {}
    for r in graph.resources:
        refs: set[str] = set()
        for text in _strings(r.inputs):
            if text in owners:
                refs.add(owners[text])
            elif "arn:" in text:
                refs.update(owners[arn] for arn in arn_owners if arn in text)
        refs.discard(r.urn)
        found[r.urn] = refs
    return found


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _topological(graph: Graph, edges: Mapping[str, set[str]]) -> list[Resource]:
    known = {r.urn for r in graph.resources}
    waiting = {urn: {d for d in deps if d in known} for urn, deps in edges.items()}
    done: set[str] = set()
    order: list[Resource] = []
    while len(order) < len(graph.resources):
        ready = [r for r in graph.resources if r.urn not in done and waiting[r.urn] <= done]
        if not ready:
            stuck = sorted(urn for urn in waiting if urn not in done)
            raise DeployError("dependency cycle among: " + ", ".join(stuck))
        order.extend(ready)
        done.update(r.urn for r in ready)
    return order


def deploy(
    graph: Graph,
    emulator: _Endpoint | str,
    *,
    project_dir: Path = PROJECT_DIR,
    adopters: Mapping[str, Adopter] | None = None,
) -> Deployment:
    """Create every custom resource of `graph` on the emulator and return what it assigned.

    `adopters` (type -> function, see localcloud.state) find a resource the emulator already holds, restored from
    a previous run: what one finds is used as it is, and only what none finds is created.
    """
    started = time.perf_counter()
    endpoint = emulator if isinstance(emulator, str) else emulator.endpoint
    steps = plan(graph)
    deployment = Deployment(graph=graph, endpoint=endpoint, outputs={}, substitutions={}, seconds=0.0)
    ctx = Context(deployment.session(), endpoint, graph.region, ACCOUNT_ID, project_dir)
    subs = _Substitutions()
    for resource in steps:
        inputs = subs.apply(resource.inputs)
        adopter = (adopters or {}).get(resource.type)
        try:
            found = adopter(ctx, resource, inputs) if adopter else None
            real = found if found is not None else CREATORS[resource.type](ctx, resource, inputs)
        except Exception as error:
            raise DeployError(f"{'adopting' if adopter else 'creating'} {resource.urn} failed: {error}") from error
        if found is not None:
            deployment.adopted.append(resource.urn)
        for key, value in real.items():
            mock = resource.id if key == "id" else resource.outputs.get(key)
            if isinstance(mock, str) and isinstance(value, str):
                subs.add(mock, value)
        mock_outputs = {k: v for k, v in resource.outputs.items() if k != "code"}
        deployment.outputs[resource.urn] = {**subs.apply(mock_outputs), **real}
    deployment.substitutions = dict(subs.values)
    deployment.seconds = time.perf_counter() - started
    return deployment


def reset(endpoint: str) -> None:
    """Forget every resource and item on the emulator (cheaper than a restart)."""
    requests.post(f"{endpoint}/_ministack/reset", timeout=30).raise_for_status()
