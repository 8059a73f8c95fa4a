"""The system under measurement: the captured `dev` graph, its functions, and one MiniStack it is deployed on.

Everything is read from the graph the Pulumi program declares (handler strings, environment, memory,
table names), so the benchmarks measure what `pulumi up` would ship and never a copy of it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import Context
from tests.kit.environment import AWS_ENV as AWS_ENV  # the sections take it from here
from tests.kit.environment import isolate_aws_env as isolate_aws_env

STACK = "dev"
FUNCTION_TYPE = "aws:lambda/function:Function"
TABLE_TYPE = "aws:dynamodb/table:Table"
MAPPING_TYPE = "aws:lambda/eventSourceMapping:EventSourceMapping"
LAYER_TYPE = "aws:lambda/layerVersion:LayerVersion"


@dataclass(frozen=True)
class Function:
    """One Lambda function of the graph, as the benchmarks need it."""

    service: str  # product | basket | ordering
    name: str  # physical name
    handler: str  # e.g. handlers.product.app.handler
    environment: dict[str, str]
    memory_mb: int
    architecture: str
    timeout_s: int
    urn: str

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]


def graph(ctx: Context) -> Any:
    def build() -> Any:
        from localcloud.graph import capture

        return capture(STACK)

    return ctx.cached("graph", build)


def functions(ctx: Context) -> dict[str, Function]:
    """The graph's functions by service, read from their handler strings (`handlers.<service>.app.handler`)."""
    found: dict[str, Function] = {}
    for resource in graph(ctx).of_type(FUNCTION_TYPE):
        inputs = resource.inputs
        handler = str(inputs["handler"])
        parts = handler.split(".")
        if len(parts) < 3 or parts[0] != "handlers":
            raise ValueError(f"{resource.urn}: handler {handler!r} is not handlers.<service>.<module>.<function>")
        variables = (inputs.get("environment") or {}).get("variables") or {}
        found[parts[1]] = Function(
            service=parts[1],
            name=resource.physical_name,
            handler=handler,
            environment={str(k): str(v) for k, v in variables.items()},
            memory_mb=int(inputs.get("memorySize") or 128),  # Lambda's default when unset
            architecture=str((inputs.get("architectures") or ["x86_64"])[0]),
            timeout_s=int(inputs.get("timeout") or 3),
            urn=resource.urn,
        )
    missing = {"product", "basket", "ordering"} - found.keys()
    if missing:
        raise LookupError(f"the {STACK} graph has no function for {sorted(missing)}")
    return found


def table_names(ctx: Context) -> dict[str, str]:
    """Physical table names by service, taken from the functions' environment (the contract in ARCHITECTURE.md)."""
    fns = functions(ctx)
    return {
        "product": fns["product"].environment["PRODUCT_TABLE_NAME"],
        "basket": fns["basket"].environment["BASKET_TABLE_NAME"],
        "order": fns["ordering"].environment["ORDER_TABLE_NAME"],
    }


def ordering_batch_size(ctx: Context) -> int:
    for mapping in graph(ctx).of_type(MAPPING_TYPE):
        return int(mapping.inputs.get("batchSize") or 10)
    return 10  # SQS event source mappings default to 10


def _deploy_function() -> Callable[..., Any]:
    module = importlib.import_module("localcloud")
    deploy = getattr(module, "deploy", None)
    if deploy is None or not callable(deploy):
        deploy = importlib.import_module("localcloud.deploy").deploy
    return deploy


@dataclass
class Deployed:
    """MiniStack with the dev graph created on it."""

    emulator: Any
    endpoint: str
    tables: dict[str, str]
    deploy_seconds: float
    deployment: Any


def deployed(ctx: Context) -> Deployed:
    """One MiniStack per run, with the captured graph deployed by the local cloud (shared by sections 1-3)."""

    def build() -> Deployed:
        import time

        from localcloud import emulator as emulator_module

        isolate_aws_env()
        g = graph(ctx)
        log_dir = ctx.log_dir
        server = emulator_module.start(log_dir=log_dir)
        ctx.on_close(server.stop)
        started = time.perf_counter()
        deployment = _deploy_function()(g, server)
        return Deployed(
            emulator=server,
            endpoint=server.endpoint,
            tables=table_names(ctx),
            deploy_seconds=round(time.perf_counter() - started, 2),
            deployment=deployment,
        )

    return ctx.cached("deployed", build)


def handler_env(fn: Function, endpoint: str) -> dict[str, str]:
    """The environment a function's code sees: its graph environment, pointed at the emulator."""
    return {
        **AWS_ENV,
        **fn.environment,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_LAMBDA_FUNCTION_NAME": fn.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
    }


def project_path() -> Path:
    return Path(__file__).resolve().parent.parent
