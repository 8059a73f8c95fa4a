"""Fixtures shared by every suite. Suite-specific fixtures live in tests/<suite>/conftest.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    from localcloud import emulator

# No test may reach a real account: fake credentials, no profile, no endpoint but the ones we start.
os.environ.update(
    AWS_ACCESS_KEY_ID="test",
    AWS_SECRET_ACCESS_KEY="test",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    AWS_EC2_METADATA_DISABLED="true",
)
for _key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_SHARED_CREDENTIALS_FILE"):
    os.environ.pop(_key, None)
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


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
    from localcloud import emulator

    server = emulator.start(log_dir=tmp_path_factory.mktemp("ministack"), auth=True)
    try:
        yield server
    finally:
        server.stop()
