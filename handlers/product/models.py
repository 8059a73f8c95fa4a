"""Request bodies of the product routes."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from handlers.shared.models import Printable, ProductId, ProductName, Strict, UnitPrice

Description = Annotated[str, Field(max_length=2000), Printable]
ImageFile = Annotated[str, Field(max_length=500), Printable]
Category = Annotated[str, Field(min_length=1, max_length=100), Printable]


class ProductIn(Strict):
    """A new product; the server assigns its `id`."""

    name: ProductName
    description: Description = ""
    imageFile: ImageFile = ""  # noqa: N815 - the wire name
    price: UnitPrice
    category: Category


class ProductPatch(Strict):
    """The fields to change; absent fields keep their value, `null` is not a value."""

    name: ProductName | None = None
    description: Description | None = None
    imageFile: ImageFile | None = None  # noqa: N815
    price: UnitPrice | None = None
    category: Category | None = None

    @model_validator(mode="before")
    @classmethod
    def _something_to_change(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if not data:
                raise ValueError("at least one field to change is required")
            if any(value is None for value in data.values()):
                raise ValueError("null is not a value: omit a field to keep it")
        return data

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class Product(ProductIn):
    """A product as stored and returned."""

    id: ProductId
