"""The CheckoutBasket event: one model that the basket service publishes and the ordering service consumes.

The producer builds and validates the detail with `CheckoutBasket` before publishing, so an event the
consumer would refuse is never published; the consumer parses each SQS record with `CheckoutRecord`. The JSON
Schema in `schemas/checkout-basket.v1.json` is generated from the model (`python -m handlers.shared.events
--write`, or `make schemas`), and a test fails when the file and the model differ.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from handlers.shared.contract import CHECKOUT_DETAIL_TYPE, EVENT_SOURCE, MAX_LINES
from handlers.shared.models import (
    Address,
    Color,
    Email,
    PaymentMethod,
    PersonName,
    ProductId,
    ProductName,
    Quantity,
    TotalPrice,
    UnitPrice,
    UserName,
)

CHECKOUT_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$"
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "checkout-basket.v1.json"
_SCHEMA_ID = "https://github.com/ecommerce/schemas/checkout-basket.v1.json"

# Built on first use (defer_build): the basket function builds them at its first checkout, the ordering
# function at its first batch, and no cold start pays for them.
_MODEL_CONFIG = ConfigDict(extra="forbid", defer_build=True)


class OrderLine(BaseModel):
    """One line as it was priced at checkout."""

    model_config = _MODEL_CONFIG

    productId: ProductId  # noqa: N815 - the wire name
    productName: ProductName  # noqa: N815
    quantity: Quantity
    price: UnitPrice = Field(description="unit price at checkout, at most 2 decimals")
    color: Color | None = None


class CheckoutBasket(BaseModel):
    """Detail of the CheckoutBasket event (source ecommerce.basket, detail-type CheckoutBasket) that the basket
    service publishes on checkout and the ordering service turns into exactly one order."""

    model_config = ConfigDict(extra="forbid", defer_build=True, title="CheckoutBasket v1")

    schemaVersion: Literal[1]  # noqa: N815
    checkoutId: Annotated[  # noqa: N815
        str,
        Field(
            pattern=CHECKOUT_ID_PATTERN,
            description="uuid5 of userName, basketId and basket version: the same basket version always checks "
            "out under the same id; the order's orderId",
        ),
    ]
    userName: UserName  # noqa: N815
    items: Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_LINES)]
    totalPrice: TotalPrice = Field(description="sum of price x quantity over items, at most 2 decimals")  # noqa: N815
    firstName: PersonName  # noqa: N815
    lastName: PersonName  # noqa: N815
    email: Email
    address: Address
    paymentMethod: PaymentMethod  # noqa: N815
    checkedOutAt: Annotated[  # noqa: N815
        str,
        Field(
            pattern=TIMESTAMP_PATTERN,
            description="when the basket version was first checked out (UTC, microseconds); the order's orderDate",
        ),
    ]

    @model_validator(mode="after")
    def _total_is_the_sum(self) -> Self:
        if self.totalPrice != sum((line.price * line.quantity for line in self.items), Decimal("0")):
            raise ValueError("totalPrice is not the sum of price x quantity")
        return self


class CheckoutRecord(BaseModel):
    """An SQS record's body as the stack's rule delivers it: the EventBridge envelope around the detail."""

    model_config = ConfigDict(extra="ignore", defer_build=True)  # EventBridge adds id, time, account, ...

    source: str
    detail_type: str = Field(alias="detail-type")
    detail: CheckoutBasket

    @model_validator(mode="after")
    def _a_checkout(self) -> Self:
        if (self.source, self.detail_type) != (EVENT_SOURCE, CHECKOUT_DETAIL_TYPE):
            raise ValueError(f"not a {CHECKOUT_DETAIL_TYPE} event of {EVENT_SOURCE}: {self.detail_type!r}")
        return self


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the event detail, as `schemas/checkout-basket.v1.json` holds it."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _SCHEMA_ID,
        **CheckoutBasket.model_json_schema(mode="validation"),
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        SCHEMA_FILE.write_text(schema_text())
        print(f"wrote {SCHEMA_FILE}")
    else:
        sys.stdout.write(schema_text())
