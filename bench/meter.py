"""Count what DynamoDB reads and writes on behalf of a request, whatever client the handler built.

MiniStack returns `ScannedCount` faithfully but its `ConsumedCapacity` is a constant 0.5 whatever a
Query or Scan reads (checked against ministack 1.5.33: a Scan of 2,000 items reports 0.5), so capacity
is estimated here from the items' sizes with DynamoDB's published rounding rules instead.
The meter patches botocore's one choke point for API calls for the duration of a `with` block, so it
sees the handlers' clients without their code knowing about it.
"""

from __future__ import annotations

import base64
import math
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botocore.client import BaseClient

READ_OPS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
WRITE_OPS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


@dataclass
class Usage:
    calls: Counter[str] = field(default_factory=Counter)  # every AWS call, e.g. "GetItem", "events:PutEvents"
    call_ms: float = 0.0  # time spent waiting on AWS calls, all services
    items_read: int = 0
    read_units: float = 0.0
    write_units: float = 0.0

    def add(self, other: Usage) -> None:
        self.calls.update(other.calls)
        self.call_ms += other.call_ms
        self.items_read += other.items_read
        self.read_units += other.read_units
        self.write_units += other.write_units


def attribute_size(value: Any) -> int:
    """Approximate stored size of one attribute value (DynamoDB item-size rules), in bytes."""
    if isinstance(value, dict) and len(value) == 1:
        ((kind, inner),) = value.items()  # low-level client shape {"S": "..."}
        if kind == "S":
            return len(str(inner).encode())
        if kind == "N":
            return len(str(inner).strip("-").replace(".", "")) // 2 + 1
        if kind == "B":
            return len(inner) if isinstance(inner, bytes) else len(base64.b64decode(inner))
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in inner.items())
        if kind == "L":
            return 3 + sum(attribute_size(v) + 1 for v in inner)
        if kind in ("SS", "NS", "BS"):
            return sum(attribute_size({kind[0]: v}) for v in inner)
    # resource-level (deserialised) values
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float | Decimal):
        return len(str(value).strip("-").replace(".", "")) // 2 + 1
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, dict):
        return 3 + sum(len(str(k).encode()) + attribute_size(v) + 1 for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return 3 + sum(attribute_size(v) + 1 for v in value)
    return len(str(value).encode())


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def _read_units(total_bytes: int, consistent: bool) -> float:
    units = max(1, math.ceil(total_bytes / 4096))
    return float(units) if consistent else units / 2


def _write_units(item_bytes: int) -> float:
    return float(max(1, math.ceil(item_bytes / 1024)))


def _record(usage: Usage, operation: str, params: dict[str, Any], response: dict[str, Any]) -> None:
    consistent = bool(params.get("ConsistentRead"))
    if operation == "GetItem":
        item = response.get("Item")
        usage.items_read += 1 if item else 0
        usage.read_units += _read_units(item_size(item) if item else 0, consistent)
    elif operation in ("Query", "Scan"):
        usage.items_read += int(response.get("ScannedCount", response.get("Count", 0)))
        returned = sum(item_size(i) for i in response.get("Items", []))
        usage.read_units += _read_units(returned, consistent)
    elif operation == "BatchGetItem":
        for items in (response.get("Responses") or {}).values():
            usage.items_read += len(items)
            usage.read_units += sum(_read_units(item_size(i), consistent) for i in items)
    elif operation == "TransactGetItems":
        items = [r.get("Item") or {} for r in response.get("Responses", [])]
        usage.items_read += len(items)
        usage.read_units += sum(2 * _read_units(item_size(i), True) for i in items)
    elif operation == "PutItem":
        usage.write_units += _write_units(item_size(params.get("Item") or {}))
    elif operation in ("UpdateItem", "DeleteItem"):
        usage.write_units += 1.0  # our items are well under 1 KB; the size before/after is not in the request
    elif operation == "BatchWriteItem":
        for requests in (params.get("RequestItems") or {}).values():
            for request in requests:
                put = request.get("PutRequest")
                usage.write_units += _write_units(item_size(put["Item"])) if put else 1.0
    elif operation == "TransactWriteItems":
        for action in params.get("TransactItems", []):
            put = action.get("Put")
            usage.write_units += 2 * (_write_units(item_size(put["Item"])) if put else 1.0)


@contextmanager
def metered() -> Iterator[Usage]:
    """Within the block, every AWS call any botocore client makes is counted and timed in the yielded Usage."""
    usage = Usage()
    original = BaseClient._make_api_call

    def counting(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            response = original(self, operation_name, api_params)
        finally:
            usage.call_ms += (time.perf_counter() - started) * 1000
        service = self.meta.service_model.service_name
        usage.calls[operation_name if service == "dynamodb" else f"{service}:{operation_name}"] += 1
        if service == "dynamodb":
            _record(usage, operation_name, api_params, response)
        return response

    BaseClient._make_api_call = counting
    try:
        yield usage
    finally:
        BaseClient._make_api_call = original
