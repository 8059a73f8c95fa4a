"""The API's routes are exactly the routes the handlers serve (their Powertools resolvers' OpenAPI paths), and a route
is public in the graph (no JWT authorizer) exactly when its handler declares no security requirement."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator

import pytest

from localcloud.graph import Graph

from .checks import FUNCTION, INTEGRATION, ROUTE, SERVICES, tag

pytestmark = pytest.mark.infra

HTTP_METHODS = ("get", "post", "put", "delete", "patch", "head", "options")


@pytest.fixture(autouse=True)
def forget_handler_modules() -> Iterator[None]:
    """Handler modules read their environment at import: drop them after a test imported any, so a later suite in
    the same session imports them afresh with its own environment. All of them, packages included: a package
    kept (`handlers.shared`, imported earlier by the program) still holds its dropped submodules as attributes,
    and `from handlers.shared import auth` would then return the old `auth`, whose errors are other classes than
    the ones a fresh `handlers.shared.http` catches (every 401 became a 500)."""
    before = set(sys.modules)
    yield
    ours = [name for name in sys.modules if name == "handlers" or name.startswith("handlers.")]
    if set(ours) - before:
        for name in ours:
            del sys.modules[name]


def served_routes(service: str, monkeypatch: pytest.MonkeyPatch, graph: Graph) -> dict[str, bool]:
    """`METHOD /path` -> public, for every operation of `handlers.<service>.app.app`, imported with the function's
    environment."""
    (function,) = [f for f in graph.of_type(FUNCTION) if tag(f, "service") == service]
    for key, value in function.inputs["environment"]["variables"].items():
        monkeypatch.setenv(key, value)
    module = importlib.import_module(f"handlers.{service}.app")
    schema = module.app.get_openapi_schema(
        security_schemes=importlib.import_module("handlers.openapi").SECURITY_SCHEMES
    )
    routes = {
        f"{method.upper()} {path}": not getattr(item, method).security
        for path, item in (schema.paths or {}).items()
        for method in HTTP_METHODS
        if getattr(item, method, None) is not None
    }
    # Every resolver answers HEAD as its GET (handlers.shared.http), and what no route takes from the route table:
    # the product function is the one the API's $default route reaches, open since it answers only 404/405.
    routes |= {f"HEAD {key.split(' ', 1)[1]}": public for key, public in routes.items() if key.startswith("GET ")}
    return routes | ({"$default": True} if service == "product" else {})


def graph_routes(service: str, graph: Graph) -> dict[str, bool]:
    (function,) = [f for f in graph.of_type(FUNCTION) if tag(f, "service") == service]
    integrations = {
        i.id for i in graph.of_type(INTEGRATION) if f":function:{function.physical_name}:" in i.inputs["integrationUri"]
    }
    return {
        r.inputs["routeKey"]: r.inputs.get("authorizationType") == "NONE"
        for r in graph.of_type(ROUTE)
        if r.inputs["target"].removeprefix("integrations/") in integrations
    }


@pytest.mark.parametrize("service", SERVICES)
def test_graph_routes_to_each_function_are_the_routes_its_handler_serves(
    dev_graph: Graph, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the routes the graph sends to the service's function, and the routes its resolver declares
    in_graph = graph_routes(service, dev_graph)
    served = served_routes(service, monkeypatch, dev_graph)
    # Then they are the same: no route reaches a handler that 404s, no handler route is unreachable, and no route
    # is open in the API that its handler expects a signed-in caller on (or the other way round)
    assert in_graph == served, (
        f"{service}: (route, public) only in the graph {sorted(in_graph.items() - served.items())}, "
        f"only served {sorted(served.items() - in_graph.items())}"
    )
