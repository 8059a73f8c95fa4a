"""Request bodies of the basket routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt

from handlers.shared.models import Printable, ProductId, Strict, UserName

MAX_LINES = 50
Quantity = Annotated[StrictInt, Field(ge=1, le=99)]
Color = Annotated[str, Field(min_length=1, max_length=50), Printable]
PersonName = Annotated[str, Field(min_length=1, max_length=100), Printable]
Address = Annotated[str, Field(min_length=1, max_length=500), Printable]
# Deliberately loose (the mailbox decides), but one @, a dot in the domain, no spaces and no control characters.
Email = Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), Printable]
# A method's name such as CARD or PAYPAL. No digits: card numbers are never accepted, not even here.
PaymentMethod = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z _-]{0,31}$")]


class BasketLineIn(Strict):
    productId: ProductId  # noqa: N815 - the wire name
    quantity: Quantity
    color: Color | None = None


class BasketIn(Strict):
    """The whole basket of `userName`; names and prices come from the catalogue, never from the client."""

    userName: UserName  # noqa: N815
    items: list[BasketLineIn] = Field(max_length=MAX_LINES)


class CheckoutIn(Strict):
    """Who pays and where it goes. Card data is not accepted: unknown fields are rejected."""

    userName: UserName  # noqa: N815
    firstName: PersonName  # noqa: N815
    lastName: PersonName  # noqa: N815
    email: Email
    address: Address
    paymentMethod: PaymentMethod  # noqa: N815
