"""Hypothesis strategies for stack configurations: valid ones (README's Stack settings ranges), and broken ones."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from components.settings import LOG_RETENTION_DAYS, SERVICES

SLOW = False  # set from --slow by conftest.pytest_configure


def hypothesis_settings() -> settings:
    """Deterministic and database-less; each example is one run of the program (~0.3 s)."""
    return settings(
        max_examples=200 if SLOW else 12,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


origins = st.lists(
    st.builds(
        lambda scheme, host, port: f"{scheme}://{host}.example.com{port}",
        st.sampled_from(["http", "https"]),
        st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
        st.sampled_from(["", ":8080", ":3000"]),
    ),
    min_size=1,
    max_size=3,
    unique=True,
)
emails = st.from_regex(r"[a-z][a-z0-9.]{0,10}@[a-z]{1,10}\.(com|org|dev)", fullmatch=True)


@st.composite
def valid_configs(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """(stack, overrides): every `ecommerce:` key drawn within its allowed range."""
    stack = draw(st.sampled_from(["dev", "prod"]))
    stack_reserved = draw(st.none() | st.integers(4, 1000))
    stack_provisioned = draw(st.none() | st.integers(1, stack_reserved or 1000))
    # A level's count means provisioned unless it says otherwise; SnapStart or none beside a count is refused.
    stack_cold_start = draw(
        st.sampled_from([None, "provisioned"] if stack_provisioned else [None, "none", "snapstart"])
    )
    stack_choice = stack_cold_start or ("provisioned" if stack_provisioned else None)
    functions: dict[str, dict[str, Any]] = {}
    for service in SERVICES:
        override: dict[str, Any] = {}
        if draw(st.booleans()):
            override["memoryMb"] = draw(st.integers(128, 10240))
        if draw(st.booleans()):
            override["timeoutSeconds"] = draw(st.integers(1, 900))
        reserved = stack_reserved
        if draw(st.booleans()):
            reserved = override["reservedConcurrency"] = draw(st.integers(4 if service == "ordering" else 1, 1000))
        cold_start = draw(st.sampled_from([None, "none", "provisioned", "snapstart"]))
        if cold_start:
            override["coldStart"] = cold_start
        # The stack's count serves a provisioned function only if it fits the function's reservation.
        needs_own_count = (cold_start or stack_choice) == "provisioned" and (
            stack_provisioned is None or bool(reserved and stack_provisioned > reserved)
        )
        if cold_start in (None, "provisioned") and (needs_own_count or draw(st.booleans())):
            override["provisionedConcurrency"] = draw(st.integers(1, reserved or 1000))
        if override:
            functions[service] = override
    config: dict[str, Any] = {
        "lambdaMemoryMb": draw(st.integers(128, 10240)),
        "lambdaTimeoutSeconds": draw(st.integers(1, 900)),
        "lambdaReservedConcurrency": stack_reserved,
        "lambdaProvisionedConcurrency": stack_provisioned,
        "lambdaColdStart": stack_cold_start,
        "lambdaArchitecture": draw(st.sampled_from(["arm64", "x86_64"])),
        "lambdaRuntime": draw(st.sampled_from(["python3.12", "python3.13"])),
        "logRetentionDays": draw(st.sampled_from(LOG_RETENTION_DAYS)),
        "logLevel": draw(st.sampled_from(["DEBUG", "INFO", "WARNING", "ERROR"])),
        "pointInTimeRecovery": draw(st.booleans()),
        "deletionProtection": draw(st.booleans()),
        "apiThrottleRateLimit": draw(st.integers(1, 10000)),
        "apiThrottleBurstLimit": draw(st.integers(1, 5000)),
        "orderingBatchSize": draw(st.integers(1, 10)),
        "maxReceiveCount": draw(st.integers(1, 1000)),
        "tracing": draw(st.booleans()),
        "eventArchiveRetentionDays": draw(st.integers(1, 3650)),
        "corsAllowOrigins": draw(st.just(["*"]) | origins),
        "alarmEmail": draw(st.none() | emails),
        "passwordSignIn": draw(st.booleans()),
        "functions": functions,
    }
    return stack, config


# key -> values outside what is allowed (one of each kind: out of range, wrong type, not in the set).
INVALID_VALUES: dict[str, list[Any]] = {
    "lambdaMemoryMb": [127, 10241, "lots", 0],
    "lambdaTimeoutSeconds": [0, 901, "1m"],
    "lambdaReservedConcurrency": [0, 1001, "x"],
    "lambdaProvisionedConcurrency": [0, 1001],
    "lambdaColdStart": ["warm", "SnapStart", "provisioned-concurrency"],
    "lambdaArchitecture": ["mips", "ARM64"],
    "lambdaRuntime": ["python3.8", "nodejs20.x"],
    "logRetentionDays": [0, 2, 8, 4000],
    "logLevel": ["LOUD", "info"],
    "pointInTimeRecovery": ["yes", 1],
    "deletionProtection": ["no", 0],
    "apiThrottleRateLimit": [0, -1, 10001, "fast", "nan"],
    "apiThrottleBurstLimit": [0, 5001],
    "orderingBatchSize": [0, 11],
    "maxReceiveCount": [0, 1001],
    "tracing": ["on"],
    "eventArchiveRetentionDays": [0, 3651, "a week"],
    "corsAllowOrigins": [[], ["shop.example.com"], ["*", "https://a.example.com"], "https://a.example.com", [1]],
    "alarmEmail": ["nobody", "a@b"],
    "passwordSignIn": ["maybe", 1],
    "functions": [{"search": {}}, ["product"]],
}
