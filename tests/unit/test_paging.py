"""Pagination tokens: `nextCursor` is the base64url of DynamoDB's last evaluated key, and a `?cursor=` that is not
a key of the listing it is sent to is a 400, never a 500 from DynamoDB."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.shared.errors import BadRequestError
from handlers.shared.paging import decode_cursor, encode_cursor, page

ORDER_KEY = frozenset({"userName", "orderDate"})
key_values = st.text(min_size=1, max_size=40).filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s))


def _cursor_of(value: Any) -> str:
    """A cursor as a client could forge it: base64url of any JSON, unpadded like the API's."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@given(user=key_values, date=key_values)
def test_a_cursor_the_api_issued_continues_where_the_page_ended(user: str, date: str) -> None:
    # Given the last evaluated key of a page of orders
    last_key = {"userName": user, "orderDate": date}
    # When it is issued as nextCursor and sent back as ?cursor=
    cursor = encode_cursor(last_key)
    # Then it is URL-safe without padding, and decodes to the same key
    assert cursor is not None and "=" not in cursor and "+" not in cursor and "/" not in cursor, cursor
    assert decode_cursor(cursor, ORDER_KEY) == last_key, cursor


def test_the_last_page_has_no_cursor() -> None:
    assert encode_cursor(None) is None
    assert encode_cursor({}) is None
    assert page([{"id": "a"}], None) == {"items": [{"id": "a"}], "nextCursor": None}


def test_a_page_carries_its_items_and_the_cursor_of_its_last_key() -> None:
    result = page([{"id": "a"}], {"id": "a"})
    assert result["items"] == [{"id": "a"}] and decode_cursor(result["nextCursor"], frozenset({"id"})) == {"id": "a"}


def test_no_cursor_starts_at_the_beginning() -> None:
    assert decode_cursor(None, ORDER_KEY) is None


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!not-base64",
        "a",  # one base64 character is no byte
        _cursor_of("a string"),
        _cursor_of(["userName", "orderDate"]),
        _cursor_of({"userName": "ada"}),  # a key of another table (or index)
        _cursor_of({"userName": "ada", "orderDate": "2025", "extra": "x"}),
        _cursor_of({"userName": "ada", "orderDate": 7}),  # not a string
        _cursor_of({"userName": "ada", "orderDate": ""}),  # DynamoDB refuses empty key values
        _cursor_of({"userName": "ada", "orderDate": "x" * 1025}),  # longer than a sort key may be
        _cursor_of({"userName": "ada", "orderDate": "\ud800"}),  # a lone surrogate cannot be UTF-8
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not UTF-8 JSON
        _cursor_of({"a": [[[[[]]]]]}),
    ],
    ids=[
        "not base64",
        "truncated",
        "a string",
        "a list",
        "missing key",
        "extra key",
        "number",
        "empty value",
        "too long",
        "lone surrogate",
        "not utf-8",
        "nested",
    ],
)
def test_a_cursor_that_is_not_a_key_of_the_listing_is_a_400(cursor: str) -> None:
    with pytest.raises(BadRequestError, match="cursor is not one this API issued") as raised:
        decode_cursor(cursor, ORDER_KEY)
    assert raised.value.status == 400 and raised.value.code == "BAD_REQUEST", cursor


def test_a_cursor_from_another_users_listing_does_not_continue_this_one() -> None:
    # Given a cursor issued while listing ada's orders
    cursor = encode_cursor({"userName": "ada", "orderDate": "2025-01-01T00:00:00.000000Z"})
    # When it is sent to bob's listing, which pins userName, Then it is a 400; on ada's it continues
    with pytest.raises(BadRequestError):
        decode_cursor(cursor, ORDER_KEY, fixed={"userName": "bob"})
    assert decode_cursor(cursor, ORDER_KEY, fixed={"userName": "ada"}) is not None
