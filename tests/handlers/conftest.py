"""Handlers under test, in this process, against the session's MiniStack.

The handler modules read their settings at import, so they are imported once, inside a fixture, after the
resources exist and the environment names them. They are called in-process with API Gateway HTTP API
(payload 2.0) events, so faults can be injected into their clients; every AWS call they make goes to MiniStack.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from localcloud import emulator
from localcloud.deploy import Deployment, deploy
from localcloud.graph import capture
from tests.handlers.helpers import Reply, invoke
from tests.kit.environment import environ
from tests.kit.events import caller_claims, http_event

pytestmark = pytest.mark.handlers


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.handlers)


@dataclass
class Stack:
    """What the handlers were pointed at: physical names and the clients the tests inspect them with."""

    endpoint: str
    names: dict[str, str]
    queue_url: str
    rule_pattern: dict[str, Any]
    environment: dict[str, str]
    dynamodb: Any = field(repr=False)
    sqs: Any = field(repr=False)

    def table(self, service: str) -> Any:
        return self.dynamodb.Table(self.names[service])


# The test plays the consumer (it feeds the ordering handler the batches), so the stack is deployed
# without the queue's event source mapping; everything else is the dev graph as the local cloud creates it.
_CONSUMER_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
AS_USUAL = object()  # call(): the caller such a request is normally made by
_SERVICE_TABLES = {"product": "product-table", "basket": "basket-table", "order": "ordering-table"}


@pytest.fixture(scope="session")
def deployment(ministack: emulator.Emulator) -> Deployment:
    """The dev stack's resources on the session's MiniStack, created from the program's own graph."""
    graph = capture("dev")
    graph = dataclasses.replace(graph, resources=[r for r in graph.resources if r.type != _CONSUMER_MAPPING])
    return deploy(graph, ministack)


@pytest.fixture(scope="session")
def stack(deployment: Deployment) -> Stack:
    """Physical names of what the handlers use, and clients to inspect it."""
    names = {
        service: deployment.name_of("aws:dynamodb/table:Table", logical) for service, logical in _SERVICE_TABLES.items()
    }
    names["bus"] = deployment.name_of("aws:cloudwatch/eventBus:EventBus")
    (rule,) = deployment.graph.of_type("aws:cloudwatch/eventRule:EventRule")
    session = deployment.session()
    return Stack(
        endpoint=deployment.endpoint,
        names=names,
        queue_url=str(deployment.output("aws:sqs/queue:Queue", "checkout-queue")["url"]),
        rule_pattern=json.loads(rule.inputs["eventPattern"]),
        environment=_function_environment(deployment),
        dynamodb=session.resource("dynamodb", endpoint_url=deployment.endpoint),
        sqs=session.client("sqs", endpoint_url=deployment.endpoint),
    )


def _function_environment(deployment: Deployment) -> dict[str, str]:
    """The union of the three functions' environments as the graph declares them (the same variables)."""
    environment: dict[str, str] = {}
    for function in deployment.resources("aws:lambda/function:Function"):
        environment.update(function.inputs["environment"]["variables"])
    return environment


@dataclass
class Services:
    product: ModuleType
    basket: ModuleType
    ordering: ModuleType


@pytest.fixture(scope="session")
def services(stack: Stack) -> Iterator[Services]:
    env = {**stack.environment, "AWS_ENDPOINT_URL": stack.endpoint, "POWERTOOLS_LOG_LEVEL": "WARNING"}
    with environ(env):
        yield Services(*(importlib.import_module(f"handlers.{s}.app") for s in ("product", "basket", "ordering")))


@pytest.fixture(scope="session")
def call(services: Services) -> Any:
    """call("GET", "/product/1") -> Reply; routes to the service that owns the path, like the HTTP API does.

    The caller is the one such a request is normally made by (tests.kit.events.caller_claims);
    `claims=claims_of(...)` names another, `claims=None` makes an anonymous request (a route deployed without its
    authorizer)."""

    def _call(method: str, path: str, body: Any = None, *, claims: Any = AS_USUAL, **kwargs: Any) -> Reply:
        service = {"product": services.product, "basket": services.basket, "order": services.ordering}[
            path.strip("/").split("/")[0].split("?")[0]
        ]
        if claims is AS_USUAL:
            claims = caller_claims(path, body)
        return invoke(service, http_event(method, path, body, claims=claims, **kwargs))

    return _call
