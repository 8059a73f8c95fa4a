"""One deployment of the dev stack for the whole reliability run, with a faults proxy in front of the functions'
AWS calls, and the run's report at the end (terminal summary and build/reliability-report.json).

The stack is the dev graph with one override: the ordering function's timeout is 1 s (a batch takes a few ms),
so the checkout queue's visibility timeout (6 x that) is 6 s and a redelivery or a dead-lettering takes seconds,
not minutes. The queue's maxReceiveCount and everything else come from Pulumi.dev.yaml.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.users import Users
from tests.kit.stacks import FaultyStack, faulty_stack
from tests.reliability.reliability_kit import Api, Cloud, Report

HERE = Path(__file__).parent
CONSUMER_TIMEOUT_SECONDS = 1
CONFIG = {"functions": {"ordering": {"timeoutSeconds": CONSUMER_TIMEOUT_SECONDS}}}
QUEUE = "aws:sqs/queue:Queue"
REPORT_FILE = "reliability-report.json"

# One report for the run: the hooks below print it, the fixtures feed it.
REPORT = Report()


def _ours(item: pytest.Item) -> bool:
    return Path(str(item.fspath)).is_relative_to(HERE)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if _ours(item)]
    for item in ours:
        item.add_marker(pytest.mark.reliability)
    # The audit checks what every other test left behind, so it runs right after the last of them.
    audit = [item for item in ours if Path(str(item.fspath)).name == "test_audit.py"]
    others = [item for item in ours if item not in audit]
    if audit and others:
        rest = [item for item in items if item not in audit]
        position = rest.index(others[-1]) + 1
        items[:] = rest[:position] + audit + rest[position:]


@pytest.fixture(autouse=True)
def _name_the_test(request: pytest.FixtureRequest) -> None:
    REPORT.current_test = request.node.nodeid.rsplit("::", 1)[-1]


@pytest.fixture(scope="session")
def report() -> Report:
    return REPORT


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """The dev stack on MiniStack (IAM enforced), its functions' AWS calls through a FaultProxy."""
    with faulty_stack(CONFIG, tmp_path_factory.mktemp("ministack")) as stack:
        REPORT.proxy = stack.proxy
        yield _describe(stack)


def _describe(stack: FaultyStack) -> Cloud:
    """Find the queues, bus and consumer by how the graph wires them, not by their names."""
    deployment = stack.deployment
    mapping = deployment.output("aws:lambda/eventSourceMapping:EventSourceMapping")
    queues = {str(deployment.outputs[q.urn]["arn"]): deployment.outputs[q.urn] for q in deployment.resources(QUEUE)}
    queue = queues[str(mapping["eventSourceArn"])]
    redrive = json.loads(queue["redrivePolicy"]) if isinstance(queue["redrivePolicy"], str) else queue["redrivePolicy"]
    target = deployment.output("aws:cloudwatch/eventTarget:EventTarget")
    delivery_dlq = queues[str(target["deadLetterConfig"]["arn"])]
    tables = {
        str(t.inputs["tags"]["service"]): str(deployment.outputs[t.urn]["name"])
        for t in deployment.resources("aws:dynamodb/table:Table")
    }
    consumer = next(
        str(deployment.outputs[f.urn]["name"])
        for f in deployment.resources("aws:lambda/function:Function")
        if str(deployment.outputs[f.urn]["name"]) in str(mapping["functionName"])
    )
    return Cloud(
        emulator=stack.emulator,
        proxy=stack.proxy,
        deployment=deployment,
        front=stack.front,
        api=Api(stack.front.url, REPORT, Users.of(deployment)),
        report=REPORT,
        tables=tables,
        queue_url=str(queue["url"]),
        dlq_url=str(queues[str(redrive["deadLetterTargetArn"])]["url"]),
        delivery_dlq_url=str(delivery_dlq["url"]),
        bus_name=deployment.name_of("aws:cloudwatch/eventBus:EventBus"),
        mapping_uuid=str(mapping["uuid"]),
        consumer_name=consumer,
        max_receive_count=int(redrive["maxReceiveCount"]),
    )


@pytest.fixture(autouse=True)
def _no_faults_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test's injected faults end with it, even when it fails half-way."""
    yield
    if "cloud" in request.fixturenames:
        request.getfixturevalue("cloud").proxy.clear()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if not REPORT.requests and not REPORT.audit:
        return
    summary = REPORT.summary()
    path = Path(config.rootpath) / "build" / REPORT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    write = terminalreporter.write_line
    terminalreporter.section("reliability report")
    write(f"requests sent            {summary['requests']}  (by status: {summary['statuses']})")
    write(f"hypothesis examples      {summary['hypothesis_examples']}")
    write(f"faults injected          {summary['faults_injected_total']}  {summary['faults_injected']}")
    write(f"5xx provoked             {summary['5xx_provoked']}  (503s under injected faults, tracked bugs)")
    write(f"5xx unexpected           {summary['5xx_unexpected']}")
    for line in summary["5xx_unexpected_requests"]:
        write(f"    {line}")
    if REPORT.audit:
        write(
            f"orders expected / found  {summary['orders_expected']} / {summary['orders_found']}"
            f"  (lost {summary['orders_lost']}, duplicated {summary['orders_duplicated']},"
            f" unexpected {summary['orders_unexpected']}, wrong total {summary['orders_wrong_total']})"
        )
        write(f"DLQ                      {summary['dlq']}")
    else:
        write(f"checkouts accepted       {summary['checkouts_accepted']}  (no audit ran)")
    write(f"report file              {path}")
