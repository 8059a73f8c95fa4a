"""Small builders shared by the handler tests."""

from __future__ import annotations

import json
import uuid
from typing import Any


def product_body(**overrides: Any) -> dict[str, Any]:
    return {"name": "Lamp", "description": "A lamp", "imageFile": "lamp.png", "price": 12.5, "category": "home",
            **overrides}


def contact(user_name: str, **overrides: Any) -> dict[str, Any]:
    return {"userName": user_name, "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
            "address": "1 Analytical St", "paymentMethod": "CARD", **overrides}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def sqs_record(body: Any, message_id: str | None = None) -> dict[str, Any]:
    """One SQS record as the event source mapping hands it to the function."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "rh",
        "body": body if isinstance(body, str) else json.dumps(body, default=str),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "x",
                       "ApproximateFirstReceiveTimestamp": "0"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:checkout",
        "awsRegion": "us-east-1",
    }


def envelope(detail: dict[str, Any]) -> dict[str, Any]:
    """An EventBridge event as the rule delivers it to the queue."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "CheckoutBasket", "source": "ecommerce.basket",
            "account": "000000000000", "time": "2025-01-01T00:00:00Z", "region": "us-east-1", "resources": [],
            "detail": detail}
