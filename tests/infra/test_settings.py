"""A bad setting stops the program at start, naming the key, the value and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.settings import Settings, SettingsError
from localcloud.graph import capture

from .strategies import INVALID_VALUES, hypothesis_settings

pytestmark = pytest.mark.infra

CASES = [(key, value) for key, values in INVALID_VALUES.items() for value in values]


def start_fails(stack: str, config: dict[str, Any]) -> SettingsError:
    with pytest.raises(SettingsError) as failure:
        capture(stack, config)
    return failure.value


@pytest.mark.parametrize(("key", "value"), CASES, ids=[f"{k}={v!r}" for k, v in CASES])
def test_an_invalid_value_fails_naming_the_key(key: str, value: Any) -> None:
    # Given a stack file with one key set to a value outside what is allowed
    # When the program starts
    error = start_fails("dev", {key: value})
    # Then it fails naming the fully qualified key, and says what is allowed
    assert error.key == f"ecommerce:{key}", str(error)
    assert f"ecommerce:{key}" in str(error) and ":" in str(error).split("=", 1)[1], str(error)


@pytest.mark.parametrize(
    ("config", "key"),
    [
        # provisioned > reserved, both per function
        ({"functions": {"product": {"reservedConcurrency": 2, "provisionedConcurrency": 3}}},
         "ecommerce:functions.product.provisionedConcurrency"),
        # stack-wide provisioned > a function's own reserved: the provisioned value's key is named
        # (prod's stack-wide coldStart is snapstart, which a stack-wide count contradicts: hence provisioned here)
        ({"lambdaColdStart": "provisioned", "lambdaProvisionedConcurrency": 5,
          "functions": {"basket": {"reservedConcurrency": 4}}},
         "ecommerce:lambdaProvisionedConcurrency"),
        # both stack-wide
        ({"lambdaColdStart": "provisioned", "lambdaProvisionedConcurrency": 5, "lambdaReservedConcurrency": 4,
          "functions": {}},
         "ecommerce:lambdaProvisionedConcurrency"),
        # SnapStart and provisioned concurrency asked of one level: the coldStart key is named
        ({"functions": {"basket": {"coldStart": "snapstart", "provisionedConcurrency": 2}}},
         "ecommerce:functions.basket.coldStart"),
        ({"lambdaProvisionedConcurrency": 2}, "ecommerce:lambdaColdStart"),
        ({"functions": {"product": {"coldStart": "none", "provisionedConcurrency": 1}}},
         "ecommerce:functions.product.coldStart"),
        # provisioned without a count on either level
        ({"functions": {"ordering": {"coldStart": "provisioned"}}}, "ecommerce:functions.ordering.coldStart"),
        ({"lambdaColdStart": "provisioned"}, "ecommerce:lambdaColdStart"),
        ({"functions": {"product": {"coldStart": "always"}}}, "ecommerce:functions.product.coldStart"),
        # the queue consumer's poller cannot run below 2
        ({"functions": {"ordering": {"reservedConcurrency": 3}}}, "ecommerce:functions.ordering.reservedConcurrency"),
        ({"functions": {"ordering": {"memoryMb": 64}}}, "ecommerce:functions.ordering.memoryMb"),
        ({"functions": {"basket": {"timeoutSeconds": 901}}}, "ecommerce:functions.basket.timeoutSeconds"),
        ({"functions": {"product": {"memory": 512}}}, "ecommerce:functions.product"),
        ({"functions": {"search": {"memoryMb": 512}}}, "ecommerce:functions"),
    ],
)  # fmt: skip
def test_an_invalid_combination_fails_naming_the_key(config: dict[str, Any], key: str) -> None:
    # Given per-function settings that AWS would reject or that would starve the consumer
    # When the program starts on the prod stack file (which sets per-function values of its own)
    error = start_fails("prod", config)
    # Then the error names the key to fix
    assert error.key == key, str(error)


@pytest.mark.parametrize("stack", ["a-very-long-stack-name-that-cannot-fit-in-iam", "Prod", "dev_2"])
def test_a_stack_name_that_cannot_prefix_every_physical_name_fails(stack: str) -> None:
    # Given a stack whose name is too long for IAM's 64 characters, or not valid in every AWS name
    # When its settings are parsed
    with pytest.raises(SettingsError) as failure:
        Settings.parse({}, project="ecommerce", stack=stack, region="us-east-1")
    # Then the stack name is what is reported
    assert failure.value.key == "stack", str(failure.value)


@hypothesis_settings()
@given(
    key=st.sampled_from(["lambdaMemoryMb", "lambdaTimeoutSeconds", "apiThrottleBurstLimit", "orderingBatchSize",
                         "maxReceiveCount", "lambdaReservedConcurrency"]),
    value=st.integers(-(10**6), -1) | st.integers(10241, 10**7),  # above every limit (memory: 10240 MB)
)  # fmt: skip
def test_any_out_of_range_integer_fails_naming_the_key(key: str, value: int) -> None:
    error = start_fails("dev", {key: value})
    assert error.key == f"ecommerce:{key}" and str(value) in str(error), str(error)


def test_a_stack_file_still_pinning_the_managed_powertools_layer_fails_saying_what_replaced_it() -> None:
    # Given a stack file from before the program built its own layer (it pinned AWS's Powertools layer)
    # When the program starts
    error = start_fails("dev", {"powertoolsLayerVersion": 27})
    # Then it names the key and says where the layer's versions come from now, rather than ignoring it
    assert error.key == "ecommerce:powertoolsLayerVersion", str(error)
    assert "requirements-layer.txt" in str(error), str(error)
