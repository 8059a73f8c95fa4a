"""Paged listings: `?limit=` and an opaque `?cursor=` that is the base64url of DynamoDB's last evaluated key."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query

from handlers.shared.errors import BadRequestError

DEFAULT_LIMIT = 25
Limit = Annotated[int, Query(ge=1, le=100, description="page size, 1-100")]
Cursor = Annotated[str | None, Query(min_length=1, max_length=4096, description="`nextCursor` of the previous page")]

# DynamoDB key attributes are at most 2048 bytes (partition) / 1024 (sort) of UTF-8, and never empty. A value it
# cannot take (too many bytes, or a lone surrogate decoded from a JSON escape) is its ValidationException: a 500.
_MAX_KEY_BYTES = 1024


def encode_cursor(last_key: Mapping[str, Any] | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(dict(last_key), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, key_names: frozenset[str], fixed: Mapping[str, str] | None = None) -> dict | None:
    """The ExclusiveStartKey a cursor stands for; anything that is not a key of this listing is a 400.

    `fixed` holds the key attributes the listing itself pins (a Query's partition key): a cursor taken
    from another user's or another category's listing must not continue this one.
    """
    if cursor is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise BadRequestError("cursor is not one this API issued") from None
    if (
        not isinstance(key, dict)
        or set(key) != key_names
        or not all(_is_key_value(value) for value in key.values())
        or any(key.get(name) != value for name, value in (fixed or {}).items())
    ):
        raise BadRequestError("cursor is not one this API issued")
    return key


def _is_key_value(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        return len(value.encode("utf-8")) <= _MAX_KEY_BYTES
    except UnicodeEncodeError:
        return False


def page(items: list[dict[str, Any]], last_key: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"items": items, "nextCursor": encode_cursor(last_key)}
