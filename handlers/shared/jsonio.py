"""JSON in and out of the API: numbers with a fraction are read as Decimal, never float."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from handlers.shared.errors import BadRequestError, PayloadTooLargeError

MAX_BODY_BYTES = 64 * 1024


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(body: str) -> Any:
    """Parse a request body: at most MAX_BODY_BYTES, strict JSON, fractions as Decimal so money stays exact."""
    # surrogatepass: a body is text the runtime already decoded; measuring it must not fail on odd code points.
    if len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    # ValueError covers JSONDecodeError and integers longer than Python's int-parsing limit;
    # RecursionError, a body nested thousands of levels deep.
    except (ValueError, RecursionError):
        raise BadRequestError("request body is not valid JSON") from None


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Integral values as ints (quantities, versions). Money has <= 2 decimals and <= 13 significant digits
        # (see handlers.shared.models), so the shortest float repr prints exactly the stored decimal.
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=_default)
