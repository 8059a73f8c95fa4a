"""The stack settings as `Settings.parse` reads them, without running the program: each function's cold-start choice,
the combinations refused, what an error says, and the pins the settings' own dependency shares with the functions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from components import settings as settings_module
from components.settings import SERVICES, FunctionSettings, Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]


def parse(raw: dict[str, Any], stack: str = "dev") -> Settings:
    return Settings.parse(raw, project="ecommerce", stack=stack, region="us-east-1")


def refused(raw: dict[str, Any]) -> SettingsError:
    with pytest.raises(SettingsError) as failure:
        parse(raw)
    return failure.value


def pins(path: Path) -> dict[str, str]:
    """{canonical name: version} of a requirements file's exact pins (`-r` lines and comments skipped)."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^\s*([A-Za-z0-9._-]+)\s*==\s*([^\s#;]+)", line)
        if match:
            found[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return found


def test_the_program_pins_pydantic_as_the_functions_do() -> None:
    # Given the Pulumi program's requirements and the functions' (the layer's) requirements
    program, layer = pins(ROOT / "requirements.txt"), pins(ROOT / "requirements-layer.txt")
    # Then the settings' validator is the program's own dependency, at the version the functions run
    assert "pydantic" in program, "requirements.txt does not pin pydantic, which components/settings.py imports"
    shared = set(program) & set(layer)
    assert {name: program[name] for name in shared} == {name: layer[name] for name in shared}, (
        f"requirements.txt and requirements-layer.txt pin {sorted(shared)} differently"
    )


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_key_of_the_stack_files_is_a_setting(stack: str) -> None:
    # Given a stack file as written
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    keys = {key.split(":", 1)[1] for key in config if key.startswith("ecommerce:")}
    # Then the program reads each of its keys (none is silently ignored)
    assert keys <= set(Settings.config_keys()), (
        f"Pulumi.{stack}.yaml keys no field declares: {keys - set(Settings.config_keys())}"
    )


def test_every_function_field_has_a_stack_wide_key_and_a_per_function_key() -> None:
    # Given the one declaration of a function's values
    for field in FunctionSettings.model_fields:
        stack_wide = FunctionSettings.stack_wide_key(field)
        # Then its stack-wide key is read, and a bad per-function value is reported under the function's key
        assert stack_wide in Settings.config_keys(), f"{field}: {stack_wide} is not read"
    error = refused({"functions": '{"basket": {"memoryMb": 64}}'})
    assert error.key == "ecommerce:functions.basket.memoryMb" and "128 to 10240" in str(error), str(error)


# (raw config, expected {service: (coldStart, provisioned count)})
RESOLUTIONS = [
    pytest.param({}, {s: ("none", None) for s in SERVICES}, id="nothing-set"),
    pytest.param({"lambdaColdStart": "snapstart"}, {s: ("snapstart", None) for s in SERVICES}, id="stack-snapstart"),
    # Stacks written before coldStart existed keep what they had: a count means provisioned
    pytest.param(
        {"functions": '{"product": {"provisionedConcurrency": 2}}'},
        {"product": ("provisioned", 2), "basket": ("none", None), "ordering": ("none", None)},
        id="count-means-provisioned",
    ),
    # A function's own choice wins over the stack's, in both directions
    pytest.param(
        {"lambdaProvisionedConcurrency": "3", "functions": '{"basket": {"coldStart": "snapstart"}}'},
        {"product": ("provisioned", 3), "basket": ("snapstart", None), "ordering": ("provisioned", 3)},
        id="function-opts-out-of-stack-count",
    ),
    pytest.param(
        {"lambdaColdStart": "snapstart", "functions": '{"product": {"provisionedConcurrency": 2}}'},
        {"product": ("provisioned", 2), "basket": ("snapstart", None), "ordering": ("snapstart", None)},
        id="function-count-over-stack-snapstart",
    ),
    pytest.param(
        {"lambdaProvisionedConcurrency": "1", "functions": '{"ordering": {"coldStart": "provisioned"}}'},
        {s: ("provisioned", 1) for s in SERVICES},
        id="function-provisioned-uses-stack-count",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), RESOLUTIONS)
def test_each_function_gets_one_cold_start_choice(
    raw: dict[str, Any], expected: dict[str, tuple[str, int | None]]
) -> None:
    # Given stack-wide and per-function cold-start settings
    # When they are parsed
    resolved = parse(raw)
    # Then each function has one choice, and a count only where it is provisioned
    actual = {s: (resolved.function(s).cold_start, resolved.function(s).provisioned_concurrency) for s in SERVICES}
    assert actual == expected


@pytest.mark.parametrize(
    ("raw", "key", "said"),
    [
        ({"lambdaColdStart": "snapstart", "lambdaProvisionedConcurrency": "2"}, "ecommerce:lambdaColdStart",
         "ecommerce:lambdaProvisionedConcurrency"),
        ({"functions": '{"basket": {"coldStart": "snapstart", "provisionedConcurrency": 2}}'},
         "ecommerce:functions.basket.coldStart", "ecommerce:functions.basket.provisionedConcurrency"),
        ({"lambdaColdStart": "none", "lambdaProvisionedConcurrency": "2"}, "ecommerce:lambdaColdStart",
         "provisioned concurrency (2"),
        ({"functions": '{"product": {"coldStart": "provisioned"}}'}, "ecommerce:functions.product.coldStart",
         "ecommerce:functions.product.provisionedConcurrency"),
        ({"lambdaColdStart": "provisioned"}, "ecommerce:lambdaColdStart", "needs a count"),
        ({"lambdaColdStart": "Snapstart"}, "ecommerce:lambdaColdStart", "one of none, provisioned, snapstart"),
        ({"functions": '{"ordering": {"coldStart": "warm"}}'}, "ecommerce:functions.ordering.coldStart",
         "one of none, provisioned, snapstart"),
    ],
)  # fmt: skip
def test_a_contradictory_cold_start_fails_naming_the_key_and_the_other_half(
    raw: dict[str, Any], key: str, said: str
) -> None:
    # Given a level asking for SnapStart (or none) and a provisioned count, or provisioned without a count
    # When the settings are parsed
    error = refused(raw)
    # Then the coldStart key is named, with the value and what conflicts with it
    assert error.key == key, str(error)
    assert f"{key} = " in str(error) and said in str(error), str(error)


def test_snapstart_on_a_runtime_lambda_cannot_snapshot_fails_naming_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a runtime list that admits a Python SnapStart does not take (as a future RUNTIMES change could)
    monkeypatch.setattr(settings_module, "SNAPSTART_RUNTIMES", ("python3.13",))
    # When a function asks for SnapStart on python3.12
    error = refused({"lambdaRuntime": "python3.12", "functions": '{"basket": {"coldStart": "snapstart"}}'})
    # Then the choice's key is named, with the runtimes SnapStart takes
    assert error.key == "ecommerce:functions.basket.coldStart" and "python3.13" in str(error), str(error)
    # And a function that does not ask for it is unaffected
    assert parse({"lambdaRuntime": "python3.12"}).function("basket").cold_start == "none"


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("lambdaMemoryMb", "127", "an integer from 128 to 10240"),
        ("lambdaReservedConcurrency", "lots", "an integer from 1 to 1000"),
        ("apiThrottleRateLimit", "nan", "a number from 1 to 10000"),
        ("tracing", "yes", "true or false"),
        ("logLevel", "info", "one of DEBUG, INFO, WARNING, ERROR"),
        ("logRetentionDays", "8", "one of 1, 3, 5, 7, 14"),
        ("corsAllowOrigins", '["*", "https://a.example.com"]', "a list of origins"),
        ("alarmEmail", "nobody", "an e-mail address"),
        ("functions", '{"search": {}}', "a mapping whose keys are among product, basket, ordering"),
    ],
)
def test_an_error_says_key_value_and_what_is_allowed(key: str, value: str, allowed: str) -> None:
    # Given one key set to a value outside what its field declares
    error = refused({key: value})
    # Then the message names the fully qualified key, the value as written and what the field allows
    assert error.key == f"ecommerce:{key}", str(error)
    assert str(error).startswith(f"invalid stack setting ecommerce:{key} = {value!r}: {allowed}"), str(error)


def test_a_key_no_field_declares_is_refused_rather_than_ignored() -> None:
    error = refused({"lambdaMemoryMB": "512"})  # a typo of lambdaMemoryMb
    assert error.key == "ecommerce:lambdaMemoryMB" and "lambdaMemoryMb" in str(error), str(error)


cold_start = st.sampled_from([None, "none", "provisioned", "snapstart"])
count = st.none() | st.integers(1, 1000)


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(
    stack=st.tuples(cold_start, count),
    own=st.fixed_dictionaries({s: st.tuples(cold_start, count) for s in SERVICES}),
)
def test_no_function_is_ever_both_snapshotted_and_provisioned(
    stack: tuple[str | None, int | None], own: dict[str, tuple[str | None, int | None]]
) -> None:
    # Given any cold-start choices and counts on both levels
    raw: dict[str, Any] = {"lambdaColdStart": stack[0], "lambdaProvisionedConcurrency": stack[1]}
    raw["functions"] = {
        service: {k: v for k, v in (("coldStart", c), ("provisionedConcurrency", n)) if v is not None}
        for service, (c, n) in own.items()
    }
    # When they are parsed
    try:
        resolved = parse({k: v for k, v in raw.items() if v is not None})
    except SettingsError as error:
        # Then either a coldStart key is named (the only cross-key rule these values can break)
        assert error.key.endswith(("coldStart", "ColdStart")), str(error)
        return
    # Or every function has exactly one measure: a count if and only if it is provisioned
    for service in SERVICES:
        fn = resolved.function(service)
        assert (fn.provisioned_concurrency is not None) == (fn.cold_start == "provisioned"), f"{service}: {fn}"
