"""Fixtures of the e2e suite: one local cloud for the session, started as a user starts it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from localcloud.graph import Graph, capture
from tests.kit.cloud import LocalCloud, start_local_cloud, stop_local_cloud


@pytest.fixture(scope="session")
def local_cloud() -> Iterator[LocalCloud]:
    cloud = start_local_cloud("--seed")
    try:
        yield cloud
    finally:
        stop_local_cloud(cloud)


@pytest.fixture(scope="session")
def dev_graph() -> Graph:
    """The dev stack's graph, for the physical names the program gives (the tests hard-code none)."""
    return capture("dev")


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
