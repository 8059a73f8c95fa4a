"""What an on-call engineer does when checkouts do not become orders: look, redrive the DLQ, replay the archive.

Each command returns a plain dict (what the CLI prints, as text or `--json`); `dry_run` reads and changes nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ops.stack import Stack

QUEUE_COUNTS = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
SAMPLE_SIZE = 10  # SQS's largest receive
FAILURE_LOG_MESSAGE = "checkout record failed"  # what the consumer logs, with checkoutId, messageId and reason
REPLAY_TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
MOVE_TASK_TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
# How long a message being moved by hand stays invisible in the DLQ: if sending it fails, it comes back after this.
MOVE_VISIBILITY_SECONDS = 60
# What a service without message move tasks answers (MiniStack: InvalidAction); the caller then moves by hand.
_NO_MOVE_TASK = ("UnsupportedOperation", "InvalidAction", "UnknownOperationException")


class OperationError(RuntimeError):
    """The command started but could not finish (a replay that failed, a deadline passed): exit code 1."""


# --- status ------------------------------------------------------------------------------------------


def status(stack: Stack) -> dict[str, Any]:
    """Queue depths and the oldest message's age, the DLQ's count and a sample with reasons, alarm states."""
    sqs = stack.client("sqs")
    queues = {"checkout": stack.output("checkout_queue_url"), "checkout-dlq": stack.output("checkout_dlq_url")}
    report: dict[str, Any] = {"stack": stack.name, "queues": {}}
    for purpose, url in queues.items():
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(QUEUE_COUNTS))["Attributes"]
        report["queues"][purpose] = {
            "url": url,
            "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
            "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            "oldest_age_seconds": _oldest_age(stack, url.rsplit("/", 1)[1]),
        }
    sample = _peek(stack, queues["checkout-dlq"])
    report["dead_letters"] = {"count": report["queues"]["checkout-dlq"]["visible"], "sample": sample}
    if sample:
        oldest = min(m["sent_at"] for m in sample)
        age = (datetime.now(UTC) - datetime.fromisoformat(oldest)).total_seconds()
        dlq = report["queues"]["checkout-dlq"]
        dlq["oldest_age_seconds"] = max(dlq["oldest_age_seconds"] or 0, round(age))
    report["alarms"] = _alarms(stack)
    return report


def _oldest_age(stack: Stack, queue_name: str) -> int | None:
    """SQS's ApproximateAgeOfOldestMessage over the last 5 minutes (None: no data, e.g. the emulator)."""
    now = datetime.now(UTC)
    points = stack.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[{"Name": "QueueName", "Value": queue_name}],
        StartTime=now - timedelta(minutes=5),
        EndTime=now,
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    return round(max(p["Maximum"] for p in points)) if points else None


def _peek(stack: Stack, dlq_url: str) -> list[dict[str, Any]]:
    """Up to 10 dead letters, received with visibility 0 (they stay in the DLQ), each with the consumer's reason."""
    received = stack.client("sqs").receive_message(
        QueueUrl=dlq_url, MaxNumberOfMessages=SAMPLE_SIZE, VisibilityTimeout=0, AttributeNames=["All"]
    )
    sample = []
    for message in received.get("Messages", []):
        attributes = message.get("Attributes", {})
        sent = datetime.fromtimestamp(int(attributes.get("SentTimestamp", 0)) / 1000, UTC)
        sample.append(
            {
                "message_id": message["MessageId"],
                "checkout_id": checkout_id_of(message["Body"]),
                "sent_at": sent.isoformat(),
                "receive_count": int(attributes.get("ApproximateReceiveCount", 0)),
                "reason": _reason(stack, message["MessageId"], sent),
            }
        )
    return sample


def checkout_id_of(body: str) -> str | None:
    """The checkoutId of a CheckoutBasket event as the rule delivers it (the event's `detail`), if it has one."""
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return None
    value = detail.get("checkoutId") if isinstance(detail, dict) else None
    return value if isinstance(value, str) else None


def _reason(stack: Stack, message_id: str, sent: datetime) -> str | None:
    """The reason the consumer logged for this message's last failure; None if the logs have none (best effort)."""
    group = f"/aws/lambda/{stack.output('ordering_function')}"
    try:
        found = stack.client("logs").filter_log_events(
            logGroupName=group,
            filterPattern=f'"{FAILURE_LOG_MESSAGE}" "{message_id}"',
            startTime=int((sent - timedelta(minutes=1)).timestamp() * 1000),
            limit=50,
        )
    except ClientError:
        return None
    reasons = []
    for event in found.get("events", []):
        try:
            record = json.loads(event["message"])
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("messageId") == message_id and record.get("reason"):
            reasons.append((event.get("timestamp", 0), str(record["reason"])))
    return max(reasons)[1] if reasons else None


def _alarms(stack: Stack) -> list[dict[str, str]]:
    """Every alarm that notifies the stack's alarm topic, with its state."""
    topic = stack.output("alarm_topic")
    alarms = []
    for page in stack.client("cloudwatch").get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"]):
        for alarm in page.get("MetricAlarms", []):
            if topic in alarm.get("AlarmActions", []):
                alarms.append({"name": alarm["AlarmName"], "state": alarm["StateValue"]})
    return sorted(alarms, key=lambda a: a["name"])


# --- redrive -----------------------------------------------------------------------------------------


def redrive(stack: Stack, *, dry_run: bool = False, max_messages: int | None = None) -> dict[str, Any]:
    """Move the checkout DLQ's messages back to the checkout queue; how many moved.

    SQS's own move task where the service has it and no `max_messages` is asked (it cannot stop at a count);
    otherwise receive -> send -> delete, a message deleted from the DLQ only once the queue accepted its copy.
    """
    sqs = stack.client("sqs")
    dlq_url, queue_url = stack.output("checkout_dlq_url"), stack.output("checkout_queue_url")
    waiting = int(
        sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
    )
    report: dict[str, Any] = {"stack": stack.name, "from": dlq_url, "to": queue_url, "dry_run": dry_run}
    if dry_run:
        report["would_move"] = waiting if max_messages is None else min(waiting, max_messages)
        return report
    if max_messages is None:
        moved = _move_task(stack, dlq_url, queue_url)
        if moved is not None:
            return {**report, "method": "StartMessageMoveTask", "moved": moved}
    return {**report, "method": "receive-send-delete", **_move_by_hand(stack, dlq_url, queue_url, max_messages)}


def _arn(stack: Stack, url: str) -> str:
    return str(
        stack.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    )


def _move_task(stack: Stack, dlq_url: str, queue_url: str, deadline: float = 900.0) -> int | None:
    """Run an SQS message move task to its end; None when the service has no such API (the emulator)."""
    sqs = stack.client("sqs")
    source = _arn(stack, dlq_url)
    try:
        sqs.start_message_move_task(SourceArn=source, DestinationArn=_arn(stack, queue_url))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code", "") in _NO_MOVE_TASK:
            return None  # MiniStack: InvalidAction
        raise
    task = _until(
        lambda: sqs.list_message_move_tasks(SourceArn=source, MaxResults=1)["Results"][0],
        lambda t: t["Status"] in MOVE_TASK_TERMINAL,
        deadline,
        f"message move task from {dlq_url}",
    )
    if task["Status"] != "COMPLETED":
        raise OperationError(f"message move task from {dlq_url} ended {task['Status']}: {task.get('FailureReason')}")
    return int(task.get("ApproximateNumberOfMessagesMoved", 0))


def _move_by_hand(stack: Stack, dlq_url: str, queue_url: str, max_messages: int | None) -> dict[str, int]:
    sqs = stack.client("sqs")
    moved = failed = 0
    while max_messages is None or moved < max_messages:
        room = SAMPLE_SIZE if max_messages is None else min(SAMPLE_SIZE, max_messages - moved)
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=room,
            VisibilityTimeout=MOVE_VISIBILITY_SECONDS,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        entries = [
            {
                "Id": str(n),
                "MessageBody": m["Body"],
                **({"MessageAttributes": m["MessageAttributes"]} if m.get("MessageAttributes") else {}),
            }
            for n, m in enumerate(messages)
        ]
        sent = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        accepted = {entry["Id"] for entry in sent.get("Successful", [])}
        failed += len(sent.get("Failed", []))
        handles = [
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages) if str(n) in accepted
        ]
        if handles:
            sqs.delete_message_batch(QueueUrl=dlq_url, Entries=handles)
        moved += len(handles)
        if sent.get("Failed"):
            break  # the queue refuses: what was not sent stays in the DLQ, visible again after a minute
    return {"moved": moved, "failed": failed}


# --- replay ------------------------------------------------------------------------------------------


def replay(
    stack: Stack, start: datetime, end: datetime, *, dry_run: bool = False, deadline: float = 900.0
) -> dict[str, Any]:
    """Replay the archived events of [start, end] onto the stack's bus and wait for the replay to finish."""
    end = min(end, datetime.now(UTC))  # EventBridge refuses a window that ends in the future
    if end <= start:
        raise ValueError(f"--to {end.isoformat()} is not after --from {start.isoformat()} (nor in the past)")
    events = stack.client("events")
    archive_arn, bus_arn = stack.output("event_archive_arn"), stack.output("event_bus_arn")
    archive_name = archive_arn.rsplit("/", 1)[1]
    archive = events.describe_archive(ArchiveName=archive_name)
    report: dict[str, Any] = {
        "stack": stack.name,
        "archive": archive_name,
        "bus": bus_arn,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "dry_run": dry_run,
        "archived_events": archive.get("EventCount"),
    }
    if dry_run:
        return report
    name = f"ops-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    events.start_replay(
        ReplayName=name,
        EventSourceArn=archive_arn,
        EventStartTime=start,
        EventEndTime=end,
        Destination={"Arn": bus_arn},
    )
    described = _until(
        lambda: events.describe_replay(ReplayName=name),
        lambda r: r["State"] in REPLAY_TERMINAL,
        deadline,
        f"replay {name}",
    )
    report.update(replay=name, state=described["State"])
    if described["State"] != "COMPLETED":
        raise OperationError(f"replay {name} ended {described['State']}: {described.get('StateReason', '')}")
    return report


def _until(
    read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool], deadline: float, what: str
) -> dict[str, Any]:
    end = time.monotonic() + deadline
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > end:
            raise OperationError(f"{what} did not finish within {deadline:.0f} s (last seen: {value})")
        time.sleep(1.0)
