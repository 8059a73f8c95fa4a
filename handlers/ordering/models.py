"""The CheckoutBasket event detail, as the consumer accepts it (schemas/checkout-basket.v1.json says the same)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from handlers.shared.models import Money, ProductId, UserName

Text = Annotated[str, Field(min_length=1, max_length=500)]


class OrderLine(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built by the first SQS batch

    productId: ProductId  # noqa: N815 - the wire name
    productName: Text  # noqa: N815
    quantity: Annotated[StrictInt, Field(ge=1, le=99)]
    price: Money
    color: Annotated[str, Field(max_length=50)] | None = None


class CheckoutBasket(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built by the first SQS batch

    schemaVersion: Literal[1]  # noqa: N815
    checkoutId: Annotated[str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")]  # noqa: N815
    userName: UserName  # noqa: N815
    items: Annotated[list[OrderLine], Field(min_length=1, max_length=50)]
    totalPrice: Annotated[Money, Field(max_digits=13)]  # noqa: N815
    firstName: Text  # noqa: N815
    lastName: Text  # noqa: N815
    email: Text
    address: Text
    paymentMethod: Text  # noqa: N815
    checkedOutAt: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")]  # noqa: N815

    @model_validator(mode="after")
    def _total_is_the_sum(self) -> Self:
        if self.totalPrice != sum((line.price * line.quantity for line in self.items), Decimal("0")):
            raise ValueError("totalPrice is not the sum of price x quantity")
        return self
