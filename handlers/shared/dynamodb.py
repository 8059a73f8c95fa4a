"""DynamoDB tables as the handlers use them: plain Python values in and out, numbers as Decimal.

This is the low-level client with boto3's TypeSerializer/TypeDeserializer rather than boto3's resource API,
which does the same conversions but first loads a second JSON model and builds its classes (~10 ms of
every cold start). Expressions are plain strings; attribute names go through `#placeholders`, so no name
can collide with a DynamoDB reserved word.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.client import BaseClient

_to_wire = TypeSerializer().serialize
_from_wire = TypeDeserializer().deserialize

# Request parameters and response fields of the table operations whose values are attribute maps.
_REQUEST_MAPS = frozenset({"Key", "Item", "ExclusiveStartKey", "ExpressionAttributeValues"})
_RESPONSE_MAPS = ("Item", "Attributes", "LastEvaluatedKey")


def to_wire(values: Mapping[str, Any]) -> dict[str, Any]:
    """{"price": Decimal("9.99")} -> {"price": {"N": "9.99"}}; floats are refused, as by the resource API."""
    return {name: _to_wire(value) for name, value in values.items()}


def from_wire(values: Mapping[str, Any]) -> dict[str, Any]:
    """{"price": {"N": "9.99"}} -> {"price": Decimal("9.99")}."""
    return {name: _from_wire(value) for name, value in values.items()}


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
