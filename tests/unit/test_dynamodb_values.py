"""handlers.shared.dynamodb converts values as boto3's TypeSerializer/TypeDeserializer (the resource API) did."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from handlers.shared.dynamodb import from_wire, to_wire

pytestmark = pytest.mark.unit

_boto3_to_wire = TypeSerializer().serialize
_boto3_from_wire = TypeDeserializer().deserialize

# What the services store: strings, ints, Decimal money (up to DynamoDB's 38 digits), flags, nulls, lists, maps.
numbers = st.integers(min_value=-(10**37), max_value=10**37) | st.decimals(
    allow_nan=False, allow_infinity=False, min_value=Decimal("-1e30"), max_value=Decimal("1e30"), places=2
)
scalars = st.text(max_size=8) | numbers | st.booleans() | st.none()
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
)
items = st.dictionaries(st.text(min_size=1, max_size=6), values, max_size=5)


@given(item=items)
def test_items_go_to_the_wire_and_back_as_with_boto3(item: dict[str, Any]) -> None:
    # Given an item of the types the services store
    # When it is converted to DynamoDB JSON
    wire = to_wire(item)
    # Then it is what boto3 sends, and reads back to equal values of the same types (numbers as Decimal)
    assert wire == {name: _boto3_to_wire(value) for name, value in item.items()}, item
    back = from_wire(wire)
    expected = {name: _boto3_from_wire(value) for name, value in wire.items()}
    assert repr(back) == repr(expected), wire


@pytest.mark.parametrize(
    "value",
    [0.1, Decimal("NaN"), Decimal("Infinity"), 10**38 + 1, Decimal("1." + "1" * 38), b"bytes"],
    ids=["float", "nan", "infinity", "39-digit int", "39-digit decimal", "bytes"],
)
def test_values_dynamodb_cannot_hold_exactly_are_refused(value: Any) -> None:
    # Given a value DynamoDB would round or that money must never be (a float)
    # When it is converted, Then it raises instead of being stored approximately
    with pytest.raises((TypeError, ValueError, ArithmeticError)):
        to_wire({"price": value})
