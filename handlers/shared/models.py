"""Field types every service validates with, and the shapes of errors and pages."""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator


def _printable(value: str) -> str:
    # Control characters and lone surrogates are never legitimate in names or addresses, and a lone
    # surrogate cannot be encoded as UTF-8 by the services downstream.
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ValueError("must not contain control characters")
    return value


Printable = AfterValidator(_printable)


def _json_number(value: Any) -> Any:
    # pydantic's lax Decimal also takes "12.50"; money is a JSON number (DESIGN §3), in requests and in events.
    if isinstance(value, str):
        raise ValueError("must be a JSON number, not a string")
    return value


# Up to 9,999,999.99: with <= 99 units on <= 50 lines a total stays below 13 significant digits,
# which the JSON writer prints exactly (handlers.shared.jsonio).
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=9, decimal_places=2, allow_inf_nan=False),
    BeforeValidator(_json_number),
    # The API reads and writes money as a JSON number (handlers.shared.jsonio), never as pydantic's default
    # string; the OpenAPI document must say so both ways.
    WithJsonSchema({"type": "number", "minimum": 0}),
]

PRODUCT_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
ProductId = Annotated[str, Field(min_length=1, max_length=64, pattern=PRODUCT_ID_PATTERN)]

USER_NAME_PATTERN = r"^[A-Za-z0-9._@-]{1,64}$"
UserName = Annotated[str, Field(min_length=1, max_length=64, pattern=USER_NAME_PATTERN)]


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
