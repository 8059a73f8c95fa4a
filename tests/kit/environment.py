"""The process environment of the tests and the benchmarks: the emulator's credentials and region, never an
account's, and environment variables set for one block (a handler's own environment, as its Lambda worker has it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

# The region and credentials every in-process client and subprocess uses: the emulator's, never an account's.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def isolate_aws_env() -> None:
    """Nothing run from this process may reach a real account: fake credentials, no profile, no endpoint but the
    ones we start, no config or credentials file of the user's."""
    os.environ.update(AWS_ENV)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(key, None)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


@contextmanager
def environ(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block, restoring the previous values after it."""
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
