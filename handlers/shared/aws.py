"""AWS clients for Lambda: built once per container, failing fast so a sick dependency becomes a 503."""

from __future__ import annotations

from functools import cache

import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

# Short timeouts and few retries: a request the dependency cannot serve within a few seconds is better
# answered with a 503 the client may retry than held until the Lambda timeout turns it into a 502.
# Worst case per call on a kept-alive connection: 3 attempts x 2 s read + the standard mode's backoff
# (at most 1 s, then 2 s) = 9 s, inside the stacks' 10 s function timeout (a new connection adds <= 1 s).
SDK_ATTEMPTS = 3  # `total_max_attempts` counts the first attempt; botocore's `max_attempts` would not
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": SDK_ATTEMPTS},
    connect_timeout=1,
    read_timeout=2,
    tcp_keepalive=True,
)

# Error codes meaning "the service cannot serve this now", as opposed to "this request is wrong".
_UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "LimitExceededException",
        "ServiceUnavailableError",
        "ServiceUnavailableException",
        "InternalServerError",
        "InternalFailure",
        "InternalException",
    }
)


@cache
def _session() -> botocore.session.Session:
    # botocore, not boto3: importing boto3 costs ~5 % of a cold start (s3transfer, multiprocessing) and adds
    # nothing to these clients. One session, so a second client reuses what the first one loaded.
    return botocore.session.get_session()


# Every client built here, so their connections can be closed before a SnapStart snapshot (handlers.shared.snapstart).
_clients: list[BaseClient] = []


def _client(service: str) -> BaseClient:
    client = _session().create_client(service, config=CLIENT_CONFIG)
    _clients.append(client)
    return client


def dynamodb() -> BaseClient:
    # The low-level client: handlers.shared.dynamodb.Table gives it plain Python values.
    return _client("dynamodb")


def events() -> BaseClient:
    return _client("events")


def close_connections() -> None:
    """Close the connection pools of every client built here; each stays usable and reconnects on its next call."""
    for client in _clients:
        client.close()


def is_unavailable(error: BaseException) -> bool:
    """True when `error` means the dependency is down, throttling or unreachable (retry later: 503)."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return code in _UNAVAILABLE_CODES or status >= 500
    return isinstance(error, ConnectionError | HTTPClientError)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


__all__ = [
    "CLIENT_CONFIG",
    "SDK_ATTEMPTS",
    "BotoCoreError",
    "ClientError",
    "close_connections",
    "dynamodb",
    "error_code",
    "events",
    "is_unavailable",
]
