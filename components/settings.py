"""Every `ecommerce:` stack setting, declared once as a field of `Settings` and validated before any resource is
declared.

A field's alias is its key (`ecommerce:<alias>`); its type, bounds and choices are what is allowed. The sizes of the
functions are one model, `FunctionSettings`: stack-wide as `ecommerce:lambda<Field>`, per function as
`ecommerce:functions.<service>.<field>`. A bad value stops the program with the key, the value and what is allowed,
so a typo in `Pulumi.<stack>.yaml` never turns into a half-applied deployment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final, Literal, get_args

import pulumi
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo

NAMESPACE: Final = "ecommerce"
Service = Literal["product", "basket", "ordering"]
SERVICES: Final = get_args(Service)
# none: cold starts initialise from scratch. provisioned: `provisionedConcurrency` environments kept initialised on
# the `live` alias, billed while idle. snapstart: each published version is initialised once and its snapshot
# cached; new environments resume from it (billed for the cache and per restore).
ColdStart = Literal["none", "provisioned", "snapstart"]
Runtime = Literal["python3.12", "python3.13"]
RUNTIMES: Final = get_args(Runtime)
# Lambda SnapStart takes Python 3.12 and later: checked again should RUNTIMES ever admit an older one.
SNAPSTART_RUNTIMES: Final = ("python3.12", "python3.13")
# CloudWatch Logs accepts only these retention periods (days).
RetentionDays = Literal[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
]  # fmt: skip
LOG_RETENTION_DAYS: Final = get_args(RetentionDays)

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

_STACK = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_ORIGINS = "a list of origins: ['*'] or scheme://host[:port] values such as 'https://shop.example.com'"
# Keys a stack file may still carry from an earlier version, and what replaced them.
_REMOVED_KEYS: Final = {
    "powertoolsLayerVersion": "the program builds the functions' layer from requirements-layer.txt",
}


class SettingsError(ValueError):
    """A stack setting is missing or outside what is allowed."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key = key
        super().__init__(f"invalid stack setting {key} = {value!r}: {allowed}")


# --- how config text becomes values: the engine hands every value over as a string, structured ones as JSON ---


def _parsed(kind: Callable[[str], Any]) -> BeforeValidator:
    def parse(value: Any) -> Any:
        try:
            return kind(value.strip()) if isinstance(value, str) else value
        except ValueError:
            return value  # left to the type's own check, which reports it against the field

    return BeforeValidator(parse)


def _flag(value: Any) -> Any:
    # Only true and false: "yes", "on" or 1 are refused rather than guessed.
    text = value.strip().lower() if isinstance(value, str) else None
    return text == "true" if text in ("true", "false") else value


def _structured(value: Any) -> Any:
    try:
        return json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        return value


def _blank_is_unset(value: Any) -> Any:
    return None if value == "" else value


def _origins(origins: tuple[str, ...]) -> tuple[str, ...]:
    if "*" in origins and origins != ("*",):
        raise ValueError("'*' stands alone")
    return origins


Int = Annotated[int, _parsed(int), Strict()]
Number = Annotated[float, _parsed(float), Strict()]
Flag = Annotated[bool, BeforeValidator(_flag), Strict()]
OptionalInt = Annotated[Int | None, BeforeValidator(_blank_is_unset)]
Origin = Annotated[str, Strict(), StringConstraints(pattern=r"^(\*|https?://[A-Za-z0-9.-]+(:\d{1,5})?)$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


def _within(bounds: tuple[float, float], default: Any = None, **kwargs: Any) -> Any:
    low, high = bounds
    return Field(default, ge=low, le=high, **kwargs)


class _Model(BaseModel):
    # Keys are camelCase aliases; nothing but the declared keys is accepted.
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel)


class FunctionSettings(_Model):
    """Size, concurrency and cold-start choice of one function (resolved: a function's own value over the stack's)."""

    memory_mb: Int = _within(MEMORY_MB, 256)
    timeout_seconds: Int = _within(TIMEOUT_SECONDS, 10)
    reserved_concurrency: OptionalInt = _within(CONCURRENCY)
    # How many environments `provisioned` keeps initialised; set without `coldStart`, it means `provisioned`.
    provisioned_concurrency: OptionalInt = _within(CONCURRENCY)
    cold_start: ColdStart | None = None

    @classmethod
    def stack_wide_key(cls, field: str) -> str:
        """`memory_mb` -> `lambdaMemoryMb`: the stack-wide key of a function field."""
        alias = to_camel(field)
        return f"lambda{alias[0].upper()}{alias[1:]}"


class Settings(_Model):
    project: str = Field(alias="pulumi:project")
    stack: str = Field(alias="pulumi:stack")
    region: str = Field(alias="aws:region")

    architecture: Literal["arm64", "x86_64"] = Field("arm64", alias="lambdaArchitecture")
    runtime: Runtime = Field("python3.12", alias="lambdaRuntime")
    stack_wide: FunctionSettings = Field(default_factory=FunctionSettings, alias="lambda<Field>")
    functions: Annotated[dict[Service, FunctionSettings], BeforeValidator(_structured)] = Field(
        default_factory=dict,
        description=f"a mapping whose keys are among {', '.join(SERVICES)}, each a mapping of "
        f"{', '.join(to_camel(f) for f in FunctionSettings.model_fields)}",
    )
    log_retention_days: Annotated[RetentionDays, _parsed(int)] = 7
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    point_in_time_recovery: Flag = False
    deletion_protection: Flag = False
    api_throttle_rate_limit: Number = _within(THROTTLE_RATE, 50.0, allow_inf_nan=False)
    api_throttle_burst_limit: Int = _within(THROTTLE_BURST, 100)
    ordering_batch_size: Int = _within(SQS_BATCH_SIZE, 10)
    max_receive_count: Int = _within(MAX_RECEIVE_COUNT, 3)
    tracing: Flag = False
    event_archive_retention_days: Int = _within(EVENT_ARCHIVE_RETENTION_DAYS, 7)
    cors_allow_origins: Annotated[tuple[Origin, ...], BeforeValidator(_structured), AfterValidator(_origins)] = Field(
        ("*",), min_length=1, description=_ORIGINS
    )
    alarm_email: Annotated[Email | None, BeforeValidator(_blank_is_unset)] = Field(
        None, description="an e-mail address, or unset for no subscription"
    )
    password_sign_in: Flag = False

    _functions: dict[str, FunctionSettings] = PrivateAttr(default_factory=dict)

    @classmethod
    def config_keys(cls) -> tuple[str, ...]:
        """Every `ecommerce:` key the program reads: the fields' aliases, the stack-wide function keys, and the keys
        of earlier versions (refused with what replaced them)."""
        own = [f.alias for f in cls.model_fields.values() if f.alias and not re.search(r"[:<]", f.alias)]
        stack_wide = [FunctionSettings.stack_wide_key(name) for name in FunctionSettings.model_fields]
        return (*own, *stack_wide, *_REMOVED_KEYS)

    @classmethod
    def load(cls) -> Settings:
        """Read the current stack's configuration (`pulumi.Config`) and validate all of it."""
        config = pulumi.Config(NAMESPACE)
        raw = {key: value for key in cls.config_keys() if (value := config.get(key)) is not None}
        region = pulumi.Config("aws").get("region")
        if not region:
            raise SettingsError("aws:region", region, "set the stack's region (pulumi config set aws:region ...)")
        return cls.parse(raw, project=pulumi.get_project(), stack=pulumi.get_stack(), region=region)

    @classmethod
    def parse(cls, raw: Mapping[str, Any], *, project: str, stack: str, region: str) -> Settings:
        """Validate config values given as the engine gives them (strings; JSON for structured values)."""
        for key, instead in _REMOVED_KEYS.items():
            if raw.get(key) is not None:
                raise SettingsError(f"{NAMESPACE}:{key}", raw[key], f"no longer a setting ({instead}); remove it")
        aliases = {FunctionSettings.stack_wide_key(name): to_camel(name) for name in FunctionSettings.model_fields}
        stack_wide = {alias: raw[key] for key, alias in aliases.items() if key in raw}
        data = {key: value for key, value in raw.items() if key not in aliases}
        data |= {"pulumi:project": project, "pulumi:stack": stack, "aws:region": region, _STACK_WIDE: stack_wide}
        try:
            return cls.model_validate(data)
        except ValidationError as invalid:
            raise _settings_error(invalid, raw) from None

    @field_validator("stack")
    @classmethod
    def _names_fit(cls, stack: str) -> str:
        if not _STACK.match(stack):
            raise SettingsError("stack", stack, "lower-case letters, digits and '-' (it is part of every name)")
        return stack

    @model_validator(mode="after")
    def _functions_resolve(self) -> Settings:
        """Each function's values (its own over the stack's), checked together: the rules that span keys."""
        longest = self.name("ordering", "fn", "role")
        if len(longest) > MAX_PHYSICAL_NAME:
            raise SettingsError(
                "stack", self.stack, f"too long: derived names such as {longest!r} exceed 64 characters"
            )
        self._cold_start_of(self.stack_wide, None)  # a contradiction on the stack-wide level fails even if overridden
        for service in SERVICES:
            self._functions[service] = self._resolve(service)
        return self

    def _key(self, service: str, field: str) -> str:
        """The key a function's value came from, so an error names the one to fix."""
        own = self.functions.get(service)  # type: ignore[call-overload]
        return _level_key(service if own is not None and field in own.model_fields_set else None, field)

    @staticmethod
    def _cold_start_of(level: FunctionSettings, service: str | None) -> ColdStart | None:
        """One level's choice (a function's own, or the stack's): its `coldStart`, or `provisioned` when it sets
        only a count. Asking one level for a count and for SnapStart (or none) is a contradiction."""
        choice, count = level.cold_start, level.provisioned_concurrency
        if choice in ("none", "snapstart") and count is not None:
            raise SettingsError(
                _level_key(service, "cold_start"),
                choice,
                f"not together with provisioned concurrency ({count}, from "
                f"{_level_key(service, 'provisioned_concurrency')}): a version is either restored from its "
                "SnapStart snapshot or kept initialised; set one",
            )
        return choice or ("provisioned" if count is not None else None)

    def _resolve(self, service: str) -> FunctionSettings:
        own = self.functions.get(service) or FunctionSettings()  # type: ignore[call-overload]
        fn = self.stack_wide.model_copy(update={name: getattr(own, name) for name in own.model_fields_set})
        # The function's own choice wins over the stack's, as its other values do.
        own_choice = self._cold_start_of(own, service)
        cold_start = own_choice or self._cold_start_of(self.stack_wide, None) or "none"
        choice_key = _level_key(service if own_choice else None, "cold_start")
        reserved, provisioned = fn.reserved_concurrency, fn.provisioned_concurrency
        if cold_start == "provisioned" and provisioned is None:
            raise SettingsError(
                choice_key,
                cold_start,
                f"needs a count: set {NAMESPACE}:functions.{service}.provisionedConcurrency "
                f"(or {NAMESPACE}:lambdaProvisionedConcurrency)",
            )
        if cold_start == "snapstart" and self.runtime not in SNAPSTART_RUNTIMES:
            raise SettingsError(
                choice_key, cold_start, f"SnapStart takes {', '.join(SNAPSTART_RUNTIMES)}, not {self.runtime}"
            )
        if cold_start != "provisioned":
            provisioned = None  # a stack-wide count does not reach a function that chose otherwise
        if reserved is not None and provisioned is not None and provisioned > reserved:
            raise SettingsError(
                self._key(service, "provisioned_concurrency"),
                provisioned,
                f"at most the {service} function's reserved concurrency "
                f"({reserved}, from {self._key(service, 'reserved_concurrency')})",
            )
        if service == "ordering" and reserved is not None and reserved < 2 * MIN_CONSUMER_CONCURRENCY:
            # The ordering function serves GET /order and consumes the queue: half its reserved concurrency goes to
            # the queue's poller (whose cap AWS sets at 2 or more), half stays free for the HTTP routes.
            raise SettingsError(
                self._key(service, "reserved_concurrency"),
                reserved,
                f"at least {2 * MIN_CONSUMER_CONCURRENCY} for the ordering function (half of it consumes the queue)",
            )
        return fn.model_copy(update={"cold_start": cold_start, "provisioned_concurrency": provisioned})

    # --- derived values: the one place that knows how names, tags and ARNs are spelled ---

    def name(self, *parts: str) -> str:
        """Physical name `<project>-<stack>-<part>[-<part>...]`: unique per stack, so stacks share an account."""
        return "-".join((self.project, self.stack, *parts))

    def tags(self, service: str) -> dict[str, str]:
        return {"project": self.project, "stack": self.stack, "service": service}

    def function(self, service: str) -> FunctionSettings:
        """The function's resolved values: `cold_start` is decided, `provisioned_concurrency` set only if used."""
        return self._functions[service]

    @property
    def consumer_concurrency(self) -> int | None:
        """How many ordering functions the queue's poller may run at once: half the reserved concurrency.

        A poller allowed the whole reservation would leave GET /order throttled in a burst of orders, and a burst
        of order reads would throttle the poller, whose throttled batches use up receive counts and push healthy
        messages towards the DLQ. None: no reservation, no cap.
        """
        reserved = self.function("ordering").reserved_concurrency
        return None if reserved is None else reserved // 2


# Where `parse` gathers the stack-wide function keys (`lambda<Field>`) in `Settings`' input: no key is spelled so.
_STACK_WIDE: Final = str(Settings.model_fields["stack_wide"].alias)


def _level_key(service: str | None, field: str) -> str:
    """`ecommerce:functions.<service>.<field>` for a function's own value, `ecommerce:lambda<Field>` for the stack's."""
    return (
        f"{NAMESPACE}:functions.{service}.{to_camel(field)}"
        if service
        else f"{NAMESPACE}:{FunctionSettings.stack_wide_key(field)}"
    )


def _allowed(field: FieldInfo) -> str:
    """What a field accepts, in words, from its declaration."""
    if field.description:
        return field.description
    low = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
    high = next((m.le for m in field.metadata if hasattr(m, "le")), None)
    if low is not None:
        kind = "a number" if isinstance(low, float) else "an integer"
        return f"{kind} from {low:g} to {high:g}"
    choices = [c for arg in get_args(field.annotation) or (field.annotation,) for c in get_args(arg) or (arg,)]
    if bool in choices:
        return "true or false"
    return f"one of {', '.join(str(c) for c in choices if c is not type(None))}"


def _settings_error(invalid: ValidationError, raw: Mapping[str, Any]) -> SettingsError:
    """The first failure as a SettingsError naming the fully qualified key."""
    error = invalid.errors()[0]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, SettingsError):
        return cause
    loc = [str(part) for part in error["loc"]]
    value = error["input"]
    # A function's own value: functions.<service>.<field>; `[key]` marks a service name that is none of ours.
    service = loc[1] if loc[0] == "functions" and len(loc) > 1 and loc[-1] != "[key]" else None
    if service and (len(loc) == 2 or error["type"] == "extra_forbidden"):
        fields = ", ".join(to_camel(f) for f in FunctionSettings.model_fields)
        section = {loc[2]: value} if len(loc) > 2 else value
        return SettingsError(f"{NAMESPACE}:functions.{service}", section, f"a mapping whose keys are among {fields}")
    if service or loc[0] == _STACK_WIDE:
        name = _snake(loc[-1])
        key = _level_key(service, name)
        return SettingsError(key, raw.get(key.partition(":")[2], value), _allowed(FunctionSettings.model_fields[name]))
    if error["type"] == "extra_forbidden":
        return SettingsError(
            f"{NAMESPACE}:{loc[0]}",
            value,
            f"not a setting; the settings are {', '.join(k for k in Settings.config_keys() if k not in _REMOVED_KEYS)}",
        )
    field = next(f for f in Settings.model_fields.values() if f.alias == loc[0])
    return SettingsError(f"{NAMESPACE}:{loc[0]}", raw.get(loc[0], value), _allowed(field))


def _snake(alias: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", alias).lower()
