"""IAM is enforced: the program's policies suffice, and one permission less breaks exactly its flow.

These tests deploy a captured graph in-process (`localcloud.deploy.deploy`) on an emulator of their own,
so the graph can be edited first, as a wrong policy would be.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from localcloud import emulator
from localcloud.deploy import deploy
from localcloud.graph import Graph, Resource, capture
from localcloud.users import Users
from tests.kit.cloud import LocalCloud
from tests.kit.polling import eventually
from tests.kit.stacks import running_emulator

pytestmark = pytest.mark.e2e

PRODUCT: dict[str, Any] = {"name": "lamp", "description": "", "imageFile": "", "price": 12.5, "category": "iam"}


@pytest.fixture(scope="module")
def own_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[emulator.Emulator]:
    with running_emulator(tmp_path_factory.mktemp("ministack-iam")) as server:
        yield server


def _product_policy(graph: Graph) -> Resource:
    policies = [r for r in graph.of_type("aws:iam/rolePolicy:RolePolicy") if "product" in r.physical_name]
    assert len(policies) == 1, f"one product policy expected, found {[r.urn for r in policies]}"
    return policies[0]


def _without_action(graph: Graph, policy: Resource, action: str) -> Graph:
    edited = copy.copy(graph)
    document = json.loads(policy.inputs["policy"])
    for statement in document["Statement"]:
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        statement["Action"] = [a for a in actions if a != action]
    document["Statement"] = [s for s in document["Statement"] if s["Action"]]
    weaker = copy.copy(policy)
    weaker.inputs = {**policy.inputs, "policy": json.dumps(document)}
    edited.resources = [weaker if r.urn == policy.urn else r for r in graph.resources]
    return edited


def test_the_local_cloud_enforces_iam_by_default(local_cloud: LocalCloud) -> None:
    # Given the local cloud started without --no-auth, as `make dev` starts it
    banner = next((line for line in local_cloud.lines if "resources created" in line), "")
    # Then it says IAM is enforced (and every flow of the other e2e tests passed under it)
    assert "(IAM enforced)" in banner, f"startup banner: {banner!r}"


def test_a_missing_permission_fails_its_flow_with_access_denied(own_emulator: emulator.Emulator) -> None:
    # Given the dev graph with dynamodb:PutItem removed from the product function's policy
    graph = capture("dev")
    policy = _product_policy(graph)
    assert "dynamodb:PutItem" in policy.inputs["policy"], f"{policy.urn} grants dynamodb:PutItem to begin with"
    deployment = deploy(_without_action(graph, policy, "dynamodb:PutItem"), own_emulator)

    # When a product is created
    created = requests.post(
        f"{deployment.api_url}/product", json=PRODUCT, headers=Users.of(deployment).admin_bearer(), timeout=30
    )

    # Then the request fails cleanly (a missing grant is a bug, not an outage: 500, no internals in the body)
    assert created.status_code == 500, f"POST /product without dynamodb:PutItem: {created.status_code} {created.text}"
    assert created.json()["error"] == "INTERNAL_ERROR", f"POST /product: {created.text}"
    assert "AccessDenied" not in created.text and "Traceback" not in created.text, f"POST /product: {created.text}"
    # And the function's log says why: the emulator refused PutItem to the function's role
    function = deployment.output("aws:lambda/function:Function", "product-fn")["name"]
    logs = deployment.client("logs")

    def denial() -> str | None:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
        return next((e["message"] for e in events if "AccessDenied" in e["message"]), None)

    message = eventually(denial, deadline=10, what=f"AccessDenied in /aws/lambda/{function}")
    assert "dynamodb:PutItem" in message, f"/aws/lambda/{function}: {message}"
    # And the permissions left in the policy still work
    listed = requests.get(f"{deployment.api_url}/product", timeout=30)
    assert listed.status_code == 200, f"GET /product with dynamodb:Scan still granted: {listed.text}"
