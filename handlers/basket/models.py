"""Request bodies of the basket routes."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from handlers.shared.contract import MAX_LINES, MAX_QUANTITY
from handlers.shared.models import (
    Address,
    Color,
    Email,
    PaymentMethod,
    PersonName,
    ProductId,
    Quantity,
    Strict,
    UserName,
)


class BasketLineIn(Strict):
    productId: ProductId  # noqa: N815 - the wire name
    quantity: Quantity
    color: Color | None = None


class BasketIn(Strict):
    """The whole basket of the caller (`userName` may be omitted; another user's is refused); names and prices
    come from the catalogue, never from the client.

    Lines of the same product and colour are merged into one, in the order they first appear, and the
    1-99 limit applies to the merged quantity: 60 + 60 of one lamp is 120 lamps, which is refused.
    """

    userName: UserName | None = None  # noqa: N815
    items: list[BasketLineIn] = Field(max_length=MAX_LINES)

    @model_validator(mode="after")
    def _merge_lines_of_one_product(self) -> Self:
        merged: dict[tuple[str, str | None], BasketLineIn] = {}
        for line in self.items:
            key = (line.productId, line.color)
            if key in merged:
                merged[key] = merged[key].model_copy(update={"quantity": merged[key].quantity + line.quantity})
            else:
                merged[key] = line
        for (product, color), line in merged.items():
            if line.quantity > MAX_QUANTITY:
                of = f"product {product}" + (f" in {color}" if color else "")
                raise ValueError(f"{of} adds up to {line.quantity} units over its lines; at most {MAX_QUANTITY}")
        self.items = list(merged.values())
        return self


class CheckoutIn(Strict):
    """Who pays and where it goes (for the caller's basket). Card data is not accepted: unknown fields are rejected."""

    userName: UserName | None = None  # noqa: N815
    firstName: PersonName  # noqa: N815
    lastName: PersonName  # noqa: N815
    email: Email
    address: Address
    paymentMethod: PaymentMethod  # noqa: N815
