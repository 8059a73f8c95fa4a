"""The local cloud's commands like the peers': `invoke` (sam local invoke) and `send-event`, and `--seed`'s ids."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.kit.cloud import PROJECT_DIR, LocalCloud

pytestmark = pytest.mark.e2e


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localcloud", *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60
    )


def test_invoke_prints_the_functions_response(local_cloud: LocalCloud, tmp_path: Path) -> None:
    # Given an SQS batch of one record that can never be an order
    message_id = f"m-{uuid.uuid4().hex[:8]}"
    event = tmp_path / "batch.json"
    event.write_text(json.dumps({"Records": [{"messageId": message_id, "body": "not an event", "attributes": {}}]}))
    # When the ordering function is invoked with it
    port = local_cloud.api.rsplit(":", 1)[1]
    printed = _cli("invoke", "ordering", "--event", str(event), "--port", port)
    # Then its response is printed: the record reported as a failure of the batch
    assert printed.returncode == 0, f"invoke: {printed.returncode} {printed.stderr}"
    assert json.loads(printed.stdout) == {"batchItemFailures": [{"itemIdentifier": message_id}]}, printed.stdout
    # And a function the stack has not is a one-line refusal naming those it has
    unknown = _cli("invoke", "nope", "--port", port)
    assert unknown.returncode == 1 and "the stack has basket, ordering, product" in unknown.stderr, unknown.stderr


def test_send_event_puts_it_on_the_bus_and_the_consumer_places_the_order(
    local_cloud: LocalCloud, tmp_path: Path
) -> None:
    # Given a CheckoutBasket event as a file (the shape of `sam local generate-event`)
    checkout_id = str(uuid.uuid5(uuid.NAMESPACE_URL, uuid.uuid4().hex))  # the basket's ids are name-based
    detail = {
        "schemaVersion": 1,
        "checkoutId": checkout_id,
        "userName": f"e2e-{uuid.uuid4().hex[:12]}",
        "items": [{"productId": "p-1", "productName": "pen", "quantity": 2, "price": 1.5}],
        "totalPrice": 3.0,
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": "ada@example.com",
        "address": "1 Loop St",
        "paymentMethod": "card",
        "checkedOutAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"source": "ecommerce.basket", "detail-type": "CheckoutBasket", "detail": detail}))
    # When it is sent
    port = local_cloud.api.rsplit(":", 1)[1]
    printed = _cli("send-event", str(event), "--port", port)
    # Then the bus took it, and the consumer placed its order
    assert printed.returncode == 0 and re.match(r"sent CheckoutBasket .* event \S+", printed.stdout), printed
    local_cloud.read_until(rf"^ordering\s+[0-9a-f]{{8}} \| INFO order placed orderId={checkout_id}$", 30)


def test_seed_prints_the_ids_it_created_and_a_sample_basket(local_cloud: LocalCloud) -> None:
    ids = [line.split()[0] for line in local_cloud.lines if re.match(r"^  [0-9a-f-]{36}  ", line)]
    assert len(ids) == 6, local_cloud.lines[:12]
    assert any(re.match(r"^  basket of customer: 2 x .+, 1 x .+, total ", line) for line in local_cloud.lines)
