"""Fixtures shared by every suite. Suite-specific fixtures live in tests/<suite>/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from tests.kit.environment import isolate_aws_env

if TYPE_CHECKING:
    from localcloud import emulator

# No test may reach a real account: fake credentials, no profile, no endpoint but the ones we start.
isolate_aws_env()


# Every property test is deterministic (derandomized, no example database carried between runs) and has no
# per-example deadline: examples that start servers or cross the emulator vary in time, not in outcome.
# Suites that want another budget say so with their own @settings.
settings.register_profile(
    "ecommerce",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("ecommerce")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False, help="run the long versions of the suites")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="long run: pass --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def slow(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--slow"))


@pytest.fixture(scope="session")
def ministack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[emulator.Emulator]:
    """One MiniStack server for the session, on a free loopback port, IAM enforced."""
    # Imported here, not at the top: the fast tier (tests/unit) never starts an emulator and skips its imports.
    from tests.kit.stacks import running_emulator

    with running_emulator(tmp_path_factory.mktemp("ministack")) as server:
        yield server
