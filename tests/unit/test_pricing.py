"""Prices and totals: lines priced from the catalogue, totals in exact Decimal, the limits a basket and its lines keep,
and money read and written as JSON numbers without rounding."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from handlers.basket.models import BasketIn
from handlers.shared import contract, jsonio
from handlers.shared.errors import BadRequestError
from handlers.shared.events import OrderLine

from .kit import service_module

PRICES = st.decimals(min_value=0, max_value=contract.MAX_UNIT_PRICE, places=2, allow_nan=False, allow_infinity=False)
QUANTITIES = st.integers(min_value=1, max_value=contract.MAX_QUANTITY)


@pytest.fixture(scope="module")
def basket() -> Iterator[ModuleType]:
    """The basket service's module, for its pricing functions (no AWS call is made)."""
    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        service_module(
            "basket",
            {"BASKET_TABLE_NAME": "unit-basket", "PRODUCT_TABLE_NAME": "unit-product", "EVENT_BUS_NAME": "unit-bus"},
            monkeypatch,
        ) as module,
    ):
        yield module


def test_lines_take_name_and_unit_price_from_the_catalogue(basket: ModuleType) -> None:
    # Given basket lines as stored (no name, no price) and the catalogue's entries for their products
    lines = [{"productId": "lamp", "quantity": Decimal(3), "color": "red"}, {"productId": "desk", "quantity": 1}]
    catalogue = {
        "lamp": {"id": "lamp", "name": "Lamp", "price": Decimal("0.10")},
        "desk": {"id": "desk", "name": "Desk", "price": Decimal("149.99")},
    }
    # When they are priced
    priced = basket._priced(lines, catalogue)
    # Then each line carries the catalogue's name and price, an int quantity, and its colour only if it had one
    assert priced == [
        {"productId": "lamp", "productName": "Lamp", "quantity": 3, "price": Decimal("0.10"), "color": "red"},
        {"productId": "desk", "productName": "Desk", "quantity": 1, "price": Decimal("149.99")},
    ], priced
    assert all(isinstance(line["quantity"], int) for line in priced), priced
    # And the total is exact: 3 x 0.10 + 149.99, not a float's 150.29000000000002
    assert basket._total(priced) == Decimal("150.29"), basket._total(priced)


def test_an_empty_basket_totals_zero(basket: ModuleType) -> None:
    assert basket._total([]) == Decimal("0")


@given(lines=st.lists(st.tuples(PRICES, QUANTITIES), min_size=1, max_size=contract.MAX_LINES))
@example(lines=[(contract.MAX_UNIT_PRICE, contract.MAX_QUANTITY)] * contract.MAX_LINES)
def test_every_total_of_valid_lines_is_exact_and_fits_the_event(basket: ModuleType, lines: list) -> None:
    # Given up to 50 lines at any valid unit price and quantity
    priced = [{"price": price, "quantity": quantity} for price, quantity in lines]
    # When they are totalled
    total = basket._total(priced)
    # Then the total is the exact sum, within the contract's largest, with at most 2 decimals
    assert total == sum((Decimal(p) * q for p, q in lines), Decimal(0)), lines
    assert 0 <= total <= contract.MAX_TOTAL, total
    assert -total.as_tuple().exponent <= contract.MONEY_DECIMALS, total
    # And the JSON writer prints it exactly (what the client and the event are told)
    assert json.loads(jsonio.dumps({"total": total}), parse_float=Decimal)["total"] == total, total


def test_lines_of_one_product_and_colour_merge_in_first_appearance_order() -> None:
    # Given a basket with two lines of the same lamp in red, one in blue, and a desk
    body = {
        "items": [
            {"productId": "lamp", "color": "red", "quantity": 2},
            {"productId": "desk", "quantity": 1},
            {"productId": "lamp", "color": "blue", "quantity": 1},
            {"productId": "lamp", "color": "red", "quantity": 5},
        ]
    }
    # When the request body is read
    merged = BasketIn.model_validate(body).items
    # Then the red lamps are one line of 7, placed where they first appeared; the blue lamp is its own line
    assert [(line.productId, line.color, line.quantity) for line in merged] == [
        ("lamp", "red", 7),
        ("desk", None, 1),
        ("lamp", "blue", 1),
    ], merged


def test_the_quantity_limit_applies_to_the_merged_line() -> None:
    # Given 60 + 60 units of one product in one colour: each line is valid, their sum is not
    body = {"items": [{"productId": "lamp", "quantity": 60}, {"productId": "lamp", "quantity": 60}]}
    # When the body is read, Then it is refused, naming the product and the sum
    with pytest.raises(ValidationError, match=r"product lamp adds up to 120 units"):
        BasketIn.model_validate(body)


@pytest.mark.parametrize("quantity", [0, contract.MAX_QUANTITY + 1, 1.5, "2", True])
def test_a_line_quantity_is_a_whole_number_from_1_to_99(quantity: Any) -> None:
    with pytest.raises(ValidationError):
        BasketIn.model_validate({"items": [{"productId": "lamp", "quantity": quantity}]})


def test_a_basket_holds_at_most_50_lines() -> None:
    lines = [{"productId": f"p{i}", "quantity": 1} for i in range(contract.MAX_LINES + 1)]
    with pytest.raises(ValidationError, match="at most 50 items"):
        BasketIn.model_validate({"items": lines})
    assert len(BasketIn.model_validate({"items": lines[:-1]}).items) == contract.MAX_LINES


@pytest.mark.parametrize(
    "price",
    ["12.50", Decimal("0.001"), Decimal("-0.01"), contract.MAX_UNIT_PRICE + Decimal("0.01"), Decimal("NaN")],
    ids=["a string", "three decimals", "negative", "over the largest", "NaN"],
)
def test_a_unit_price_is_a_json_number_of_at_most_2_decimals_within_the_limit(price: Any) -> None:
    line = {"productId": "lamp", "productName": "Lamp", "quantity": 1, "price": price}
    with pytest.raises(ValidationError):
        OrderLine.model_validate(line)


def test_the_largest_unit_price_is_accepted() -> None:
    line = {"productId": "lamp", "productName": "Lamp", "quantity": 1, "price": contract.MAX_UNIT_PRICE}
    assert OrderLine.model_validate(line).price == Decimal("9999999.99")


def test_request_bodies_read_fractions_as_decimal_and_refuse_non_numbers() -> None:
    # Given a body with a price in cents, When it is read, Then the price is that Decimal, never a float
    assert jsonio.loads('{"price": 0.1}') == {"price": Decimal("0.1")}
    # And JSON's non-standard constants are not numbers
    for text in ('{"price": NaN}', '{"price": Infinity}', '{"price": -Infinity}'):
        with pytest.raises(BadRequestError):
            jsonio.loads(text)


def test_integral_decimals_are_written_as_integers() -> None:
    # Quantities and versions come back from DynamoDB as Decimal; clients read them as integers.
    assert jsonio.dumps({"quantity": Decimal(3), "price": Decimal("2.50")}) == '{"quantity":3,"price":2.5}'
