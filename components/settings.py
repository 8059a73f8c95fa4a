"""Every `ecommerce:` stack setting, read once and validated before any resource is declared.

A bad value stops the program with the key, the value and what is allowed, so a typo in
`Pulumi.<stack>.yaml` never turns into a half-applied deployment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import pulumi

NAMESPACE: Final = "ecommerce"
SERVICES: Final = ("product", "basket", "ordering")

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS: Final = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
ARCHITECTURES: Final = ("arm64", "x86_64")
RUNTIMES: Final = ("python3.12", "python3.13")
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")

# AWS limits (Lambda, SQS, API Gateway quotas at their defaults).
MEMORY_MB: Final = (128, 10240)
TIMEOUT_SECONDS: Final = (1, 900)
CONCURRENCY: Final = (1, 1000)
SQS_BATCH_SIZE: Final = (1, 10)  # above 10 SQS needs a batching window, which delays orders
MAX_RECEIVE_COUNT: Final = (1, 1000)
EVENT_ARCHIVE_RETENTION_DAYS: Final = (1, 3650)  # 0 would mean "forever" to EventBridge: refused, never meant
THROTTLE_RATE: Final = (1.0, 10000.0)
THROTTLE_BURST: Final = (1, 5000)
MIN_CONSUMER_CONCURRENCY: Final = 2  # the SQS event source's `maximum_concurrency` cannot be lower
MAX_PHYSICAL_NAME: Final = 64  # IAM role and Lambda function names; the tightest limit we derive names for

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
_STACK = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class SettingsError(ValueError):
    """A stack setting is missing or outside what is allowed."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = key
        super().__init__(f"invalid stack setting {key} = {value!r}: {allowed}")


@dataclass(frozen=True)
class FunctionSettings:
    """Size and concurrency of one service's function."""

    memory_mb: int
    timeout_seconds: int
    reserved_concurrency: int | None
    provisioned_concurrency: int | None


@dataclass(frozen=True)
class Settings:
    project: str
    stack: str
    region: str
    architecture: str
    runtime: str
    log_retention_days: int
    log_level: str
    point_in_time_recovery: bool
    deletion_protection: bool
    api_throttle_rate_limit: float
    api_throttle_burst_limit: int
    ordering_batch_size: int
    max_receive_count: int
    tracing: bool
    event_archive_retention_days: int
    cors_allow_origins: tuple[str, ...]
    alarm_email: str | None
    password_sign_in: bool
    functions: Mapping[str, FunctionSettings]

    @classmethod
    def load(cls) -> Settings:
        """Read the current stack's configuration (`pulumi.Config`) and validate all of it."""
        config = pulumi.Config(NAMESPACE)
        raw: dict[str, Any] = {}
        for key in (*_KEYS, *_REMOVED_KEYS):
            value = config.get(key)
            if value is not None:
                raw[key] = value
        region = pulumi.Config("aws").get("region")
        if not region:
            raise SettingsError("aws:region", region, "set the stack's region (pulumi config set aws:region ...)")
        return cls.parse(raw, project=pulumi.get_project(), stack=pulumi.get_stack(), region=region)

    @classmethod
    def parse(cls, raw: Mapping[str, Any], *, project: str, stack: str, region: str) -> Settings:
        """Validate config values given as the engine gives them (strings; JSON for structured values)."""
        reader = _Reader(raw)
        for key, instead in _REMOVED_KEYS.items():
            if raw.get(key) is not None:
                raise SettingsError(reader.key(key), raw[key], f"no longer a setting ({instead}); remove it")
        if not _STACK.match(stack):
            raise SettingsError("stack", stack, "lower-case letters, digits and '-' (it is part of every name)")
        longest = f"{project}-{stack}-ordering-fn-role"
        if len(longest) > MAX_PHYSICAL_NAME:
            raise SettingsError("stack", stack, f"too long: derived names such as {longest!r} exceed 64 characters")

        memory = reader.integer("lambdaMemoryMb", 256, *MEMORY_MB)
        timeout = reader.integer("lambdaTimeoutSeconds", 10, *TIMEOUT_SECONDS)
        reserved = reader.optional_integer("lambdaReservedConcurrency", *CONCURRENCY)
        provisioned = reader.optional_integer("lambdaProvisionedConcurrency", *CONCURRENCY)
        stack_wide = FunctionSettings(memory, timeout, reserved, provisioned)

        architecture = reader.choice("lambdaArchitecture", "arm64", ARCHITECTURES)
        runtime = reader.choice("lambdaRuntime", "python3.12", RUNTIMES)
        settings = cls(
            project=project,
            stack=stack,
            region=region,
            architecture=architecture,
            runtime=runtime,
            log_retention_days=int(reader.choice("logRetentionDays", "7", tuple(map(str, LOG_RETENTION_DAYS)))),
            log_level=reader.choice("logLevel", "INFO", LOG_LEVELS),
            point_in_time_recovery=reader.boolean("pointInTimeRecovery", False),
            deletion_protection=reader.boolean("deletionProtection", False),
            api_throttle_rate_limit=reader.number("apiThrottleRateLimit", 50.0, *THROTTLE_RATE),
            api_throttle_burst_limit=reader.integer("apiThrottleBurstLimit", 100, *THROTTLE_BURST),
            ordering_batch_size=reader.integer("orderingBatchSize", 10, *SQS_BATCH_SIZE),
            max_receive_count=reader.integer("maxReceiveCount", 3, *MAX_RECEIVE_COUNT),
            tracing=reader.boolean("tracing", False),
            event_archive_retention_days=reader.integer("eventArchiveRetentionDays", 7, *EVENT_ARCHIVE_RETENTION_DAYS),
            cors_allow_origins=reader.origins("corsAllowOrigins"),
            alarm_email=reader.email("alarmEmail"),
            password_sign_in=reader.boolean("passwordSignIn", False),
            functions=reader.functions("functions", stack_wide),
        )
        return settings

    # --- derived values: the one place that knows how names, tags and ARNs are spelled ---

    def name(self, *parts: str) -> str:
        """Physical name `<project>-<stack>-<part>[-<part>...]`: unique per stack, so stacks share an account."""
        return "-".join((self.project, self.stack, *parts))

    def tags(self, service: str) -> dict[str, str]:
        return {"project": self.project, "stack": self.stack, "service": service}

    def function(self, service: str) -> FunctionSettings:
        return self.functions[service]

    @property
    def consumer_concurrency(self) -> int | None:
        """How many ordering functions the queue's poller may run at once: half the reserved concurrency.

        A poller allowed the whole reservation would leave GET /order throttled in a burst of orders, and a burst
        of order reads would throttle the poller, whose throttled batches use up receive counts and push healthy
        messages towards the DLQ. None: no reservation, no cap.
        """
        reserved = self.function("ordering").reserved_concurrency
        return None if reserved is None else reserved // 2


class _Reader:
    """Parses raw config strings; every failure names the fully qualified key."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    @staticmethod
    def key(name: str) -> str:
        return f"{NAMESPACE}:{name}"

    def _get(self, name: str) -> Any:
        return self.raw.get(name)

    def integer(self, name: str, default: int | None, low: int, high: int) -> int:
        value = self._get(name)
        if value is None:
            if default is None:
                raise SettingsError(self.key(name), None, f"required: an integer from {low} to {high}")
            return default
        return _check_int(self.key(name), value, low, high)

    def optional_integer(self, name: str, low: int, high: int) -> int | None:
        value = self._get(name)
        return None if value in (None, "") else _check_int(self.key(name), value, low, high)

    def number(self, name: str, default: float, low: float, high: float) -> float:
        value = self._get(name)
        if value is None:
            return default
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if not low <= number <= high:  # also rejects NaN
            raise SettingsError(self.key(name), value, f"a number from {low:g} to {high:g}")
        return number

    def boolean(self, name: str, default: bool) -> bool:
        value = self._get(name)
        if value is None:
            return default
        text = str(value).strip().lower()
        if text not in ("true", "false"):
            raise SettingsError(self.key(name), value, "true or false")
        return text == "true"

    def choice(self, name: str, default: str, allowed: tuple[str, ...]) -> str:
        value = self._get(name)
        if value is None:
            return default
        if str(value) not in allowed:
            raise SettingsError(self.key(name), value, f"one of {', '.join(allowed)}")
        return str(value)

    def origins(self, name: str) -> tuple[str, ...]:
        value = _structured(self.key(name), self._get(name), default=["*"])
        allowed = "a list of origins: ['*'] or scheme://host[:port] values such as 'https://shop.example.com'"
        if not isinstance(value, list) or not value or not all(isinstance(o, str) for o in value):
            raise SettingsError(self.key(name), value, allowed)
        if value != ["*"] and not all(_ORIGIN.match(o) for o in value):
            raise SettingsError(self.key(name), value, allowed)
        return tuple(value)

    def email(self, name: str) -> str | None:
        value = self._get(name)
        if value in (None, ""):
            return None
        if not _EMAIL.match(str(value)):
            raise SettingsError(self.key(name), value, "an e-mail address, or unset for no subscription")
        return str(value)

    def functions(self, name: str, defaults: FunctionSettings) -> dict[str, FunctionSettings]:
        """Per-function overrides (`ecommerce:functions.<service>.<field>`) over the stack-wide values."""
        overrides = _structured(self.key(name), self._get(name), default={})
        if not isinstance(overrides, dict) or set(overrides) - set(SERVICES):
            raise SettingsError(self.key(name), overrides, f"a mapping whose keys are among {', '.join(SERVICES)}")
        stack_wide_keys = {field: self.key(key) for field, key in _STACK_WIDE_FUNCTION_KEYS.items()}
        result = {}
        for service in SERVICES:
            section = overrides.get(service) or {}
            prefix = f"{self.key(name)}.{service}"
            if not isinstance(section, dict) or set(section) - set(_FUNCTION_LIMITS):
                raise SettingsError(prefix, section, f"a mapping whose keys are among {', '.join(_FUNCTION_LIMITS)}")
            values: dict[str, int | None] = {}
            keys: dict[str, str] = {}  # where each value came from, so an error names the key to fix
            for field, (low, high) in _FUNCTION_LIMITS.items():
                if section.get(field) is not None:
                    keys[field] = f"{prefix}.{field}"
                    values[field] = _check_int(keys[field], section[field], low, high)
                else:
                    keys[field] = stack_wide_keys[field]
                    values[field] = getattr(defaults, _FIELD_ATTRS[field])
            fn = FunctionSettings(**{_FIELD_ATTRS[field]: value for field, value in values.items()})  # type: ignore[arg-type]
            _check_concurrency(service, fn, keys)
            result[service] = fn
        return result


_KEYS: Final = (
    "lambdaMemoryMb", "lambdaTimeoutSeconds", "lambdaReservedConcurrency", "lambdaProvisionedConcurrency",
    "lambdaArchitecture", "lambdaRuntime", "logRetentionDays", "logLevel", "pointInTimeRecovery",
    "deletionProtection", "apiThrottleRateLimit", "apiThrottleBurstLimit", "orderingBatchSize", "maxReceiveCount",
    "tracing", "eventArchiveRetentionDays", "corsAllowOrigins", "alarmEmail", "passwordSignIn", "functions",
)  # fmt: skip
# Keys a stack file may still carry from an earlier version, and what replaced them.
_REMOVED_KEYS: Final = {
    "powertoolsLayerVersion": "the program builds the functions' layer from requirements-layer.txt",
}
_FUNCTION_LIMITS: Final = {
    "memoryMb": MEMORY_MB,
    "timeoutSeconds": TIMEOUT_SECONDS,
    "reservedConcurrency": CONCURRENCY,
    "provisionedConcurrency": CONCURRENCY,
}
_FIELD_ATTRS: Final = {
    "memoryMb": "memory_mb",
    "timeoutSeconds": "timeout_seconds",
    "reservedConcurrency": "reserved_concurrency",
    "provisionedConcurrency": "provisioned_concurrency",
}
_STACK_WIDE_FUNCTION_KEYS: Final = {
    "memoryMb": "lambdaMemoryMb",
    "timeoutSeconds": "lambdaTimeoutSeconds",
    "reservedConcurrency": "lambdaReservedConcurrency",
    "provisionedConcurrency": "lambdaProvisionedConcurrency",
}


def _check_int(key: str, value: Any, low: int, high: int) -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise SettingsError(key, value, f"an integer from {low} to {high}")
    return number


def _check_concurrency(service: str, fn: FunctionSettings, keys: Mapping[str, str]) -> None:
    reserved, provisioned = fn.reserved_concurrency, fn.provisioned_concurrency
    if reserved is not None and provisioned is not None and provisioned > reserved:
        raise SettingsError(
            keys["provisionedConcurrency"],
            provisioned,
            f"at most the {service} function's reserved concurrency ({reserved}, from {keys['reservedConcurrency']})",
        )
    if service == "ordering" and reserved is not None and reserved < 2 * MIN_CONSUMER_CONCURRENCY:
        # The ordering function serves GET /order and consumes the queue: half its reserved concurrency goes to
        # the queue's poller (whose cap AWS sets at 2 or more), half stays free for the HTTP routes.
        raise SettingsError(
            keys["reservedConcurrency"],
            reserved,
            f"at least {2 * MIN_CONSUMER_CONCURRENCY} for the ordering function (half of it consumes the queue)",
        )


def _structured(key: str, value: Any, *, default: Any) -> Any:
    if value is None:
        return default
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise SettingsError(key, value, "structured YAML (a list or mapping) in the stack file") from None
    return value
