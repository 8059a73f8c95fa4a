"""Request bodies of the product routes."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from handlers.shared.models import Money, Printable, ProductId, Strict

Name = Annotated[str, Field(min_length=1, max_length=200), Printable]
Description = Annotated[str, Field(max_length=2000), Printable]
ImageFile = Annotated[str, Field(max_length=500), Printable]
Category = Annotated[str, Field(min_length=1, max_length=100), Printable]


class ProductIn(Strict):
    """A new product; the server assigns its `id`."""

    name: Name
    description: Description = ""
    imageFile: ImageFile = ""  # noqa: N815 - the wire name
    price: Money
    category: Category


class ProductPatch(Strict):
    """The fields to change; absent fields keep their value, `null` is not a value."""

    name: Name = Field(default=None)
    description: Description = Field(default=None)
    imageFile: ImageFile = Field(default=None)  # noqa: N815
    price: Money = Field(default=None)
    category: Category = Field(default=None)

    @model_validator(mode="before")
    @classmethod
    def _something_to_change(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data:
            raise ValueError("at least one field to change is required")
        return data

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class Product(ProductIn):
    """A product as stored and returned."""

    id: ProductId
