"""The log follower of `localcloud up` prints every record written after it started, once, across polls."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from localcloud import emulator, logs
from localcloud.logs import LogFollower

pytestmark = pytest.mark.e2e

SERVICE = "product"


@pytest.fixture
def client(ministack: emulator.Emulator) -> Any:
    return boto3.client("logs", endpoint_url=ministack.endpoint, region_name=ministack.region)


@pytest.fixture
def group(client: Any) -> Iterator[str]:
    name = f"/aws/lambda/follower-{uuid.uuid4().hex[:8]}"
    client.create_log_group(logGroupName=name)
    yield name
    client.delete_log_group(logGroupName=name)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _write(client: Any, group: str, stream: str, *messages: str, timestamp: int | None = None) -> None:
    """Write `messages` to `stream` (created if new), all stamped `timestamp` (now by default)."""
    existing = client.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)["logStreams"]
    if not any(s["logStreamName"] == stream for s in existing):
        client.create_log_stream(logGroupName=group, logStreamName=stream)
    at = _now_ms() if timestamp is None else timestamp
    client.put_log_events(
        logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": at, "message": m} for m in messages]
    )


def _lines(*messages: str) -> list[str]:
    return [f"{SERVICE} | {m}" for m in messages]


class Printed:
    """What the follower printed, taken poll by poll."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._taken = 0

    def new(self) -> list[str]:
        taken, self._taken = self.lines[self._taken :], len(self.lines)
        return taken


def test_each_record_is_printed_once_in_the_poll_after_it_was_written(client: Any, group: str) -> None:
    # Given a stream with records from before the follower started (history: never printed)
    _write(client, group, "old", "old 1", "old 2", timestamp=_now_ms() - 60_000)
    printed = Printed()
    follower = LogFollower(client, {group: SERVICE}, printed.lines.append)

    # When a stream receives records, and more streams than one page of DescribeLogStreams each receive one
    _write(client, group, "a", "a 1", "a 2")
    many = [f"many {i:02d}" for i in range(60)]
    for message in many:
        _write(client, group, message.replace(" ", "-"), message)
    follower.poll()
    # Then each is printed once, with the service's prefix, and the history is not
    assert sorted(printed.new()) == sorted(_lines("a 1", "a 2", *many)), f"first poll of {group}"

    # When streams already read receive more (within the same millisecond too), a new stream appears, and
    # the stream holding history receives a record
    _write(client, group, "a", "a 3", "a 4")
    _write(client, group, "a", "a 5")
    _write(client, group, "many-07", "many 07 again")
    _write(client, group, "old", "old 3")
    _write(client, group, "b", "b 1")
    follower.poll()
    # Then exactly those are printed, each stream's in its order
    second = printed.new()
    assert sorted(second) == sorted(_lines("a 3", "a 4", "a 5", "many 07 again", "old 3", "b 1")), (
        f"second poll of {group}"
    )
    assert [line for line in second if line.startswith(f"{SERVICE} | a ")] == _lines("a 3", "a 4", "a 5")

    # When nothing was written since, Then nothing is printed
    follower.poll()
    assert printed.new() == [], f"third poll of {group}"


def test_lambda_framing_is_dropped_and_a_json_record_is_one_readable_line(client: Any, group: str) -> None:
    # Given a follower, When an invocation's records arrive as Lambda frames them
    printed = Printed()
    follower = LogFollower(client, {group: SERVICE}, printed.lines.append)
    _write(
        client,
        group,
        "2026/01/01/[$LATEST]0f",
        "START RequestId: 0f1e2d3c-0000 Version: $LATEST",
        '{"level":"INFO","message":"product created","service":"product","id":"p-1"}',
        "END RequestId: 0f1e2d3c-0000",
        "REPORT RequestId: 0f1e2d3c-0000\tDuration: 3 ms\tBilled Duration: 3 ms",
    )
    follower.poll()
    # Then one line per record that says something
    assert printed.new() == _lines("INFO product created id=p-1", "done in 3 ms (request 0f1e2d3c)")


def test_a_business_metrics_record_is_one_metrics_line() -> None:
    # Given the EMF record a function prints at the end of an invocation that placed an order
    record = (
        '{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"ecommerce","Dimensions":[["stack","service"]],'
        '"Metrics":[{"Name":"OrdersPlaced","Unit":"Count"},{"Name":"OrderLagMs","Unit":"Milliseconds"}]}]},'
        '"stack":"dev","service":"ordering","OrdersPlaced":[1.0],"OrderLagMs":[23.5]}'
    )
    # When it is rendered, Then it reads as the metrics and their dimensions, not as a JSON blob
    assert logs.render(record) == "metrics OrdersPlaced=1.0 OrderLagMs=23.5 [service=ordering stack=dev]"


def test_a_stream_written_again_after_it_went_quiet_prints_only_its_new_records(
    client: Any, group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a follower that forgets a stream as soon as a poll no longer lists it (no grace)
    monkeypatch.setattr(logs, "_GRACE_MS", 0)
    printed = Printed()
    follower = LogFollower(client, {group: SERVICE}, printed.lines.append)
    _write(client, group, "s", "s 1")
    follower.poll()
    assert printed.new() == _lines("s 1")
    time.sleep(0.002)  # two milliseconds: the next poll's window starts after the record's millisecond
    follower.poll()
    follower.poll()
    assert "s" not in follower._positions[group], "the follower still remembers stream s: nothing tested"
    # When the stream is written again
    _write(client, group, "s", "s 2")
    follower.poll()
    # Then only the new record is printed
    assert printed.new() == _lines("s 2"), f"stream s of {group}"


def test_records_written_while_it_polls_are_neither_lost_nor_repeated(client: Any, group: str) -> None:
    # Given a follower polling as fast as it can while another thread writes to new and old streams
    printed = Printed()
    follower = LogFollower(client, {group: SERVICE}, printed.lines.append)
    written: list[str] = []
    writing = threading.Thread(target=_write_many, args=(client, group, written))
    writing.start()
    polls = 0
    while writing.is_alive():
        follower.poll()
        polls += 1
    writing.join()
    # When it polls once more after the last write
    follower.poll()
    # Then every record was printed exactly once, each stream's in its order
    assert polls > 1, "the writer finished before a second poll: the test proved nothing"
    assert sorted(printed.lines) == sorted(_lines(*written)), f"{group} after {polls} polls"
    for stream in {m.split(" ")[0] for m in written}:
        mine = [line for line in printed.lines if line.startswith(f"{SERVICE} | {stream} ")]
        assert mine == _lines(*(m for m in written if m.startswith(f"{stream} "))), f"order in stream {stream}"


def _write_many(client: Any, group: str, written: list[str]) -> None:
    for round_ in range(40):
        for stream in (f"new{round_}", f"old{round_ % 5}"):
            messages = [f"{stream} r{round_}m{i}" for i in range(3)]
            _write(client, group, stream, *messages)
            written.extend(messages)
