"""The CheckoutBasket event model: the schema file is the model's, the contract's limits hold in it, and the
producer's model refuses what the consumer would refuse."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from handlers.shared import contract, events, jsonio

CHECKOUT_ID = "00000000-0000-5000-8000-00000000beef"


def _detail(**overrides: Any) -> dict[str, Any]:
    return {
        "schemaVersion": 1,
        "checkoutId": CHECKOUT_ID,
        "userName": "ada",
        "items": [{"productId": "p1", "productName": "Lamp", "quantity": 3, "price": Decimal("0.10")}],
        "totalPrice": Decimal("0.30"),
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": "ada@example.com",
        "address": "1 Analytical St",
        "paymentMethod": "CARD",
        "checkedOutAt": "2025-01-01T00:00:00.000000Z",
        **overrides,
    }


def _envelope(detail: dict[str, Any], **overrides: Any) -> str:
    body = {"version": "0", "id": "e1", "detail-type": "CheckoutBasket", "source": "ecommerce.basket", "detail": detail}
    return jsonio.dumps({**body, **overrides})


def test_the_schema_file_is_the_one_the_model_generates() -> None:
    # Given the schema in the repository, When the model generates its schema, Then they are the same document
    on_disk = json.loads(events.SCHEMA_FILE.read_text())
    assert on_disk == events.json_schema(), (
        f"{events.SCHEMA_FILE} differs from handlers.shared.events.CheckoutBasket: run `make schemas`"
    )


def test_the_largest_total_fits_the_event_and_the_json_writer() -> None:
    # 50 lines x 99 units x 9,999,999.99 has 13 digits, which a float prints exactly (handlers.shared.jsonio)
    assert Decimal("49499999950.50") == contract.MAX_TOTAL
    assert contract.TOTAL_DIGITS == 13
    assert Decimal(repr(float(contract.MAX_TOTAL))) == contract.MAX_TOTAL


def test_the_largest_basket_is_a_valid_event_and_matches_the_schema() -> None:
    # Given 50 lines of 99 units at the largest unit price
    line = {"productName": "Lamp", "quantity": contract.MAX_QUANTITY, "price": contract.MAX_UNIT_PRICE}
    items = [{"productId": f"p{i}", **line} for i in range(contract.MAX_LINES)]
    detail = _detail(items=items, totalPrice=contract.MAX_TOTAL)
    # When the producer validates it, Then it is accepted, and what it publishes matches the schema file
    event = events.CheckoutBasket.model_validate(detail)
    published = json.loads(jsonio.dumps(event.model_dump(exclude_none=True)), parse_float=Decimal)
    assert published["totalPrice"] == contract.MAX_TOTAL, published["totalPrice"]
    jsonschema.Draft202012Validator(json.loads(events.SCHEMA_FILE.read_text())).validate(
        json.loads(jsonio.dumps(published))
    )


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"totalPrice": Decimal("0.31")}, "totalPrice is not the sum"),
        ({"items": []}, "at least 1 item"),
        ({"items": [_detail()["items"][0]] * (contract.MAX_LINES + 1)}, "at most 50 items"),
        ({"checkoutId": "00000000-0000-4000-8000-00000000beef"}, "checkoutId"),  # a uuid4, not uuid5
        ({"checkedOutAt": "2025-01-01T00:00:00Z"}, "checkedOutAt"),  # no microseconds: would not sort as a key
        ({"schemaVersion": 2}, "schemaVersion"),
        ({"cardNumber": "4111111111111111"}, "Extra inputs are not permitted"),
        ({"paymentMethod": "4111 1111"}, "paymentMethod"),
        ({"userName": "a/b"}, "userName"),
    ],
    ids=["total", "no lines", "51 lines", "uuid4", "no microseconds", "version 2", "card data", "digits", "user"],
)
def test_the_model_refuses_a_detail_that_breaks_the_contract(overrides: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        events.CheckoutBasket.model_validate(_detail(**overrides))


def test_the_consumer_reads_the_detail_the_rule_delivers() -> None:
    # Given the EventBridge envelope as SQS delivers it, with fields the model does not name
    body = _envelope(_detail(), account="000000000000", time="2025-01-01T00:00:00Z", resources=[])
    # When the consumer parses it, Then the detail is the producer's, money as Decimal
    record = events.CheckoutRecord.model_validate_json(body)
    assert record.detail.checkoutId == CHECKOUT_ID and record.detail.totalPrice == Decimal("0.30"), record


@pytest.mark.parametrize(
    "overrides", [{"source": "someone.else"}, {"detail-type": "CheckoutBasketV2"}], ids=["source", "detail-type"]
)
def test_the_consumer_refuses_events_of_another_source_or_type(overrides: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match=r"not a CheckoutBasket event of ecommerce\.basket"):
        events.CheckoutRecord.model_validate_json(_envelope(_detail(), **overrides))


def test_the_rule_and_the_producer_share_the_contract_names() -> None:
    # The program's event rule imports these names; the producer publishes under them.
    assert (contract.EVENT_SOURCE, contract.CHECKOUT_DETAIL_TYPE, contract.SCHEMA_VERSION) == (
        "ecommerce.basket",
        "CheckoutBasket",
        1,
    )
    assert events.json_schema()["title"] == "CheckoutBasket v1"
