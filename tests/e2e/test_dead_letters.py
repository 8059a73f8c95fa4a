"""A message that can never become an order ends in the DLQ after maxReceiveCount tries, and its alarm sees it.

The local cloud publishes the DLQ's `ApproximateNumberOfMessagesVisible` to CloudWatch as SQS does on AWS
(MiniStack keeps alarms but publishes no SQS metric); the test reads the metric and the alarm's state.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from localcloud.graph import Graph
from tests.kit.cloud import LocalCloud
from tests.kit.polling import eventually

pytestmark = pytest.mark.e2e


def test_poison_event_ends_in_the_dlq_and_raises_its_alarm(local_cloud: LocalCloud, dev_graph: Graph) -> None:
    sqs, events, cloudwatch = (local_cloud.client(s) for s in ("sqs", "events", "cloudwatch"))
    queue_name = dev_graph.outputs["checkout_queue_url"].rsplit("/", 1)[1]
    dlq_name = dev_graph.outputs["checkout_dlq_url"].rsplit("/", 1)[1]
    queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"]
    redrive = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    )
    max_receive_count = int(redrive["maxReceiveCount"])
    alarms = [
        r.outputs["name"]
        for r in dev_graph.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if (r.outputs.get("dimensions") or {}).get("QueueName") == dlq_name
    ]
    assert len(alarms) == 1, f"one alarm on {dlq_name} expected, the graph has {alarms}"
    alarm = alarms[0]
    # Given failed messages come back after 1 s rather than 60: the number of tries is under test, not their spacing
    visibility = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": "1"})
    try:
        # When a CheckoutBasket event whose detail can never be an order is published on the bus
        marker = uuid.uuid4().hex
        entry = {
            "Source": "ecommerce.basket",
            "DetailType": "CheckoutBasket",
            "Detail": json.dumps({"schemaVersion": 1, "poison": marker}),
            "EventBusName": dev_graph.outputs["event_bus"],
        }
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0, f"PutEvents {entry}"

        # Then it reaches the DLQ, received by the consumer exactly maxReceiveCount times before
        def dead_letter() -> dict | None:
            received = sqs.receive_message(
                QueueUrl=dlq_url, AttributeNames=["All"], MaxNumberOfMessages=10, VisibilityTimeout=0
            )
            return next((m for m in received.get("Messages", []) if marker in m["Body"]), None)

        message = eventually(dead_letter, deadline=30, what=f"poison event {marker} in {dlq_url}")
        # This receive counts too, so the consumer's tries are one fewer than the count.
        tries = int(message["Attributes"]["ApproximateReceiveCount"]) - 1
        assert tries == max_receive_count, (
            f"{dlq_url}: poison event tried {tries} times, maxReceiveCount {max_receive_count}"
        )
        assert message["Attributes"]["DeadLetterQueueSourceArn"].endswith(f":{queue_name}"), message["Attributes"]

        # And the DLQ alarm's metric sees the message, and the alarm fires
        def depth() -> float | None:
            now = datetime.now(UTC)
            points = cloudwatch.get_metric_statistics(
                Namespace="AWS/SQS",
                MetricName="ApproximateNumberOfMessagesVisible",
                Dimensions=[{"Name": "QueueName", "Value": dlq_name}],
                StartTime=now - timedelta(minutes=5),
                EndTime=now + timedelta(minutes=1),
                Period=60,
                Statistics=["Maximum"],
            )["Datapoints"]
            deepest = max((p["Maximum"] for p in points), default=0.0)
            return deepest if deepest >= 1 else None

        eventually(depth, deadline=20, what=f"AWS/SQS ApproximateNumberOfMessagesVisible >= 1 for {dlq_name}")

        def alarm_state() -> str | None:
            state = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"]
            return state if state == "ALARM" else None

        eventually(alarm_state, deadline=20, what=f"alarm {alarm} in ALARM")

        # And the console said each step (in the order the emulator's records arrive): the consumer's WARNING with
        # its reason, the dead letter, the alarm
        said = {
            r"^ordering\s+[0-9a-f]{8} \| WARNING checkout record failed .*reason=",
            rf"^dlq\s+\| WARNING \d+ message\(s\) landed in {dlq_name} ",
            rf"^alarm\s+\| WARNING {alarm} OK -> ALARM: ",
        }
        while said:
            line = local_cloud.read_until("|".join(f"(?:{p})" for p in said), deadline=15).group(0)
            said = {p for p in said if not re.search(p, line)}
    finally:
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes=visibility)
