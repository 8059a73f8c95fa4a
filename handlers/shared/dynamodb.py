"""DynamoDB tables as the handlers use them: plain Python values in and out, numbers as Decimal.

The low-level botocore client and the few lines below that convert values to and from DynamoDB's typed
JSON. boto3's resource API does the same conversions, but loads a second JSON model when it is created, and
importing boto3 at all (for its TypeSerializer) pulls in s3transfer and multiprocessing: together about 6 % of
a cold start, for types these services never store (binary, sets). Expressions are plain strings; attribute
names go through `#placeholders`, so no name can collide with a DynamoDB reserved word.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

from botocore.client import BaseClient

# What a DynamoDB number can hold (38 significant digits, the exponent range): a value it could not store
# exactly raises here instead of being rounded, so money is never silently changed. boto3 uses the same.
_NUMBERS = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])

# Request parameters and response fields of the table operations whose values are attribute maps.
_REQUEST_MAPS = frozenset({"Key", "Item", "ExclusiveStartKey", "ExpressionAttributeValues"})
_RESPONSE_MAPS = ("Item", "Attributes", "LastEvaluatedKey")


def to_wire(values: Mapping[str, Any]) -> dict[str, Any]:
    """{"price": Decimal("9.99")} -> {"price": {"N": "9.99"}}."""
    return {name: _value_to_wire(value) for name, value in values.items()}


def from_wire(values: Mapping[str, Any]) -> dict[str, Any]:
    """{"price": {"N": "9.99"}} -> {"price": Decimal("9.99")}."""
    return {name: _value_from_wire(value) for name, value in values.items()}


def _value_to_wire(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):  # before int, which bool is
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        number = _NUMBERS.create_decimal(value)
        if not number.is_finite():
            raise ValueError(f"DynamoDB numbers are finite, not {value}")
        return {"N": str(number)}
    if isinstance(value, Mapping):
        return {"M": to_wire(value)}
    if isinstance(value, list | tuple):
        return {"L": [_value_to_wire(item) for item in value]}
    # A float would store a binary approximation of the amount: money is Decimal.
    raise TypeError(f"{type(value).__name__} values are not stored in DynamoDB here")


def _value_from_wire(value: Mapping[str, Any]) -> Any:
    ((kind, data),) = value.items()
    match kind:
        case "S" | "BOOL":
            return data
        case "N":
            return Decimal(data)
        case "M":
            return from_wire(data)
        case "L":
            return [_value_from_wire(item) for item in data]
        case "NULL":
            return None
        case "SS":
            return set(data)
        case "NS":
            return {Decimal(number) for number in data}
    raise TypeError(f"DynamoDB type {kind} is not read here")


class Table:
    """One table, with the operations and arguments of boto3's `Table` (the table name is implied)."""

    def __init__(self, client: BaseClient, name: str) -> None:
        self.client = client
        self.name = name

    def get_item(self, **params: Any) -> dict[str, Any]:
        return self._call(self.client.get_item, params)

    def put_item(self, **params: Any) -> dict[str, Any]:
        return self._call(self.client.put_item, params)

    def update_item(self, **params: Any) -> dict[str, Any]:
        return self._call(self.client.update_item, params)

    def delete_item(self, **params: Any) -> dict[str, Any]:
        return self._call(self.client.delete_item, params)

    def query(self, **params: Any) -> dict[str, Any]:
        return self._call(self.client.query, params)

    def scan(self, **params: Any) -> dict[str, Any]:
        return self._call(self.client.scan, params)

    def batch_get(self, keys: list[dict[str, Any]], **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """One BatchGetItem on this table: the items found, and the keys DynamoDB left unprocessed (retry those)."""
        request = {self.name: {"Keys": [to_wire(key) for key in keys], **params}}
        result = self.client.batch_get_item(RequestItems=request)
        items = [from_wire(item) for item in result["Responses"].get(self.name, [])]
        unprocessed = (result.get("UnprocessedKeys") or {}).get(self.name, {}).get("Keys", [])
        return items, [from_wire(key) for key in unprocessed]

    def _call(self, operation: Callable[..., dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        request = {name: to_wire(value) if name in _REQUEST_MAPS else value for name, value in params.items()}
        result = operation(TableName=self.name, **request)
        for name in _RESPONSE_MAPS:
            if name in result:
                result[name] = from_wire(result[name])
        if "Items" in result:
            result["Items"] = [from_wire(item) for item in result["Items"]]
        return result
