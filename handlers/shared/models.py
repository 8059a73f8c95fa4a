"""Field types every service validates with, and the shapes of errors and pages."""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    WithJsonSchema,
    model_validator,
)

from handlers.shared.contract import (
    MAX_QUANTITY,
    MAX_TOTAL,
    MAX_UNIT_PRICE,
    MONEY_DECIMALS,
    TOTAL_DIGITS,
    UNIT_PRICE_DIGITS,
)


def _printable(value: str) -> str:
    # Control characters and lone surrogates are never legitimate in names or addresses, and a lone
    # surrogate cannot be encoded as UTF-8 by the services downstream.
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ValueError("must not contain control characters")
    return value


Printable = AfterValidator(_printable)


def _json_number(value: Any) -> Any:
    # pydantic's lax Decimal also takes "12.50"; money is a JSON number, in requests and in events.
    if isinstance(value, str):
        raise ValueError("must be a JSON number, not a string")
    return value


def _money_schema(maximum: Decimal) -> WithJsonSchema:
    # The API reads and writes money as a JSON number (handlers.shared.jsonio), never as pydantic's default
    # string; the OpenAPI document and the event's JSON Schema must say so. The decimals are not stated as
    # multipleOf 0.01, which binary floats fail (0.07 / 0.01 is not an integer).
    return WithJsonSchema(
        {"type": "number", "minimum": 0, "maximum": float(maximum), "description": "at most 2 decimals"}
    )


# Limits from handlers.shared.contract: any basket of valid lines has a total the event accepts.
UnitPrice = Annotated[
    Decimal,
    Field(ge=0, max_digits=UNIT_PRICE_DIGITS, decimal_places=MONEY_DECIMALS, allow_inf_nan=False),
    BeforeValidator(_json_number),
    _money_schema(MAX_UNIT_PRICE),
]
TotalPrice = Annotated[
    Decimal,
    Field(ge=0, max_digits=TOTAL_DIGITS, decimal_places=MONEY_DECIMALS, allow_inf_nan=False),
    BeforeValidator(_json_number),
    _money_schema(MAX_TOTAL),
]
Quantity = Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)]

PRODUCT_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
ProductId = Annotated[str, Field(min_length=1, max_length=64, pattern=PRODUCT_ID_PATTERN)]

USER_NAME_PATTERN = r"^[A-Za-z0-9._@-]{1,64}$"
UserName = Annotated[str, Field(min_length=1, max_length=64, pattern=USER_NAME_PATTERN)]

# Text fields that travel from a request into the CheckoutBasket event and the order: one definition each.
ProductName = Annotated[str, Field(min_length=1, max_length=200), Printable]
Color = Annotated[str, Field(min_length=1, max_length=50), Printable]
PersonName = Annotated[str, Field(min_length=1, max_length=100), Printable]
Address = Annotated[str, Field(min_length=1, max_length=500), Printable]
# Deliberately loose (the mailbox decides), but one @, a dot in the domain, no spaces and no control characters.
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), Printable]
# A method's name such as CARD or PAYPAL. No digits: card numbers are never accepted, not even here.
PaymentMethod = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z _-]{0,31}$")]


# Every model here is built on first use (defer_build), not at import: a cold start builds only the validators its
# first request needs, and never those of ErrorBody and Page, which only document responses.


class Strict(BaseModel):
    """A request body: unknown fields are an error, so a typo is never silently ignored."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _a_json_object(cls, data: Any) -> Any:
        # Powertools validates bodies with `from_attributes=True`, which reads fields off any Python object:
        # a body of `0.0` (a Decimal) passed as an object with no fields, i.e. an empty PUT /product.
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data


class ErrorBody(BaseModel):
    """Every error response."""

    model_config = ConfigDict(defer_build=True)

    error: str = Field(description="stable code, e.g. NOT_FOUND")
    message: str = Field(description="what went wrong, for a human")
    details: list[dict[str, Any]] | None = Field(default=None, description="per-field problems, when validating")


class Page(BaseModel):
    """A page of a listing; pass `nextCursor` back as `?cursor=` for the next one (null: no more)."""

    model_config = ConfigDict(defer_build=True)

    items: list[dict[str, Any]]
    nextCursor: str | None  # noqa: N815 - the wire name
