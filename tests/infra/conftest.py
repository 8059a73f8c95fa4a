"""Graph fixtures: the program under Pulumi's mock runtime, per stack, captured once per session."""

from __future__ import annotations

import pytest

from localcloud.graph import Graph, capture

from . import strategies


def pytest_configure(config: pytest.Config) -> None:
    # Read before the test modules are imported, so their @settings see it.
    strategies.SLOW = bool(config.getoption("--slow", default=False))


@pytest.fixture(scope="session")
def dev_graph() -> Graph:
    return capture("dev")


@pytest.fixture(scope="session")
def prod_graph() -> Graph:
    return capture("prod")


@pytest.fixture(params=["dev", "prod"], scope="session")
def stack_graph(request: pytest.FixtureRequest, dev_graph: Graph, prod_graph: Graph) -> Graph:
    """Each stack as its stack file declares it."""
    return {"dev": dev_graph, "prod": prod_graph}[request.param]
