"""dev and prod as their stack files declare them: side by side in one account, prod keeps data."""

from __future__ import annotations

import ast
from pathlib import Path

import pulumi
import pytest

from localcloud.graph import PROJECT_DIR, Graph

from .checks import FUNCTION, PROVISIONED, ROUTE, SERVICES, TABLE, tag

pytestmark = pytest.mark.infra

# Resources whose name must be unique in an account and region.
NAMED_TYPES = {
    TABLE, FUNCTION, "aws:sqs/queue:Queue", "aws:iam/role:Role", "aws:cloudwatch/logGroup:LogGroup",
    "aws:cloudwatch/eventBus:EventBus", "aws:cloudwatch/eventRule:EventRule", "aws:sns/topic:Topic",
    "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:apigatewayv2/api:Api", "aws:iam/rolePolicy:RolePolicy",
}  # fmt: skip


def physical_names(graph: Graph) -> set[str]:
    return {r.physical_name for r in graph.resources if r.type in NAMED_TYPES}


def test_dev_and_prod_share_no_physical_name(dev_graph: Graph, prod_graph: Graph) -> None:
    # Given both stacks deployed into one account and region
    assert dev_graph.region == prod_graph.region
    # Then no name is claimed twice
    shared = physical_names(dev_graph) & physical_names(prod_graph)
    assert not shared, f"names both stacks would create: {sorted(shared)}"
    assert len(physical_names(dev_graph)) == len([r for r in dev_graph.resources if r.type in NAMED_TYPES])


def test_prod_tables_keep_data_and_dev_tables_do_not(dev_graph: Graph, prod_graph: Graph) -> None:
    for table in prod_graph.of_type(TABLE):
        assert table.inputs["pointInTimeRecovery"] == {"enabled": True}, table.urn
        assert table.inputs["deletionProtectionEnabled"] is True, table.urn
        assert table.protect and table.retain_on_delete, f"{table.urn}: prod table not protect/retain_on_delete"
    for table in dev_graph.of_type(TABLE):
        assert table.inputs["pointInTimeRecovery"] == {"enabled": False}, table.urn
        assert table.inputs["deletionProtectionEnabled"] is False, table.urn
        assert not table.protect and not table.retain_on_delete, f"{table.urn}: dev table is protected"


def test_prod_restores_every_function_from_snapstart_and_dev_pays_for_no_cold_start_measure(
    dev_graph: Graph, prod_graph: Graph
) -> None:
    # Given the stack files as written: prod snapstart stack-wide, dev none
    # Then prod's three functions snapshot their published versions, with no provisioned concurrency beside them
    snapshotted = {f.physical_name for f in prod_graph.of_type(FUNCTION) if f.inputs.get("snapStart")}
    assert snapshotted == {f"ecommerce-prod-{service}-fn" for service in SERVICES}, f"prod SnapStart on {snapshotted}"
    assert prod_graph.of_type(PROVISIONED) == [], "prod keeps provisioned concurrency beside SnapStart"
    # And dev neither snapshots nor keeps environments warm
    assert [f.urn for f in dev_graph.of_type(FUNCTION) if f.inputs.get("snapStart")] == []
    assert dev_graph.of_type(PROVISIONED) == []


def test_prod_alarms_someone_and_keeps_logs_longer(dev_graph: Graph, prod_graph: Graph) -> None:
    subscriptions = prod_graph.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert [(s.inputs["protocol"], s.inputs["endpoint"]) for s in subscriptions] == [("email", "ops@example.com")]
    assert dev_graph.of_type("aws:sns/topicSubscription:TopicSubscription") == []

    def retention(graph: Graph) -> set[int]:
        return {g.inputs["retentionInDays"] for g in graph.of_type("aws:cloudwatch/logGroup:LogGroup")}

    assert min(retention(prod_graph)) > max(retention(dev_graph))


def test_routes_are_the_twelve_of_the_design(stack_graph: Graph) -> None:
    # The twelve, a HEAD twin of each GET, and $default (what no route matches, answered 404/405 from the route table)
    routes = sorted(r.inputs["routeKey"] for r in stack_graph.of_type(ROUTE))
    assert routes == sorted([
        "GET /product", "POST /product", "GET /product/{id}", "PUT /product/{id}", "DELETE /product/{id}",
        "GET /basket", "POST /basket", "GET /basket/{userName}", "DELETE /basket/{userName}", "POST /basket/checkout",
        "GET /order", "GET /order/{userName}",
        "HEAD /product", "HEAD /product/{id}", "HEAD /basket", "HEAD /basket/{userName}", "HEAD /order",
        "HEAD /order/{userName}",
        "$default",
    ])  # fmt: skip


@pytest.mark.parametrize("service", SERVICES)
def test_each_archive_holds_its_handler_module_its_service_and_shared_code_only(dev_graph: Graph, service: str) -> None:
    # Given the function of one service
    (function,) = [f for f in dev_graph.of_type(FUNCTION) if tag(f, "service") == service]
    archive = function.inputs["code"]
    assert isinstance(archive, pulumi.AssetArchive), f"{function.urn}: code is {type(archive).__name__}"
    members = set(archive.assets)
    # Then the module its handler string names is in the archive, with its packages
    module, _, attribute = function.inputs["handler"].rpartition(".")
    module_file = module.replace(".", "/") + ".py"
    assert {module_file, "handlers/__init__.py", f"handlers/{service}/__init__.py"} <= members, function.urn
    # ... and defines the handler at top level
    source = _file_of(archive, module_file).read_text()
    top_level = {
        name
        for node in ast.parse(source).body
        for name in (
            [node.name] if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            else [t.id for t in getattr(node, "targets", [getattr(node, "target", None)]) if isinstance(t, ast.Name)]
        )
    }  # fmt: skip
    assert attribute in top_level, f"{module_file} defines no top-level {attribute!r}"
    # And nothing but the shared package and its own service, and no bytecode
    for member in members:
        assert member == "handlers/__init__.py" or member.startswith((f"handlers/{service}/", "handlers/shared/")), (
            f"{function.urn}: archive holds {member}"
        )
        assert "__pycache__" not in member and not member.endswith(".pyc"), f"{function.urn}: archive holds {member}"
        assert _file_of(archive, member).is_file(), f"{function.urn}: {member} does not exist"


def _file_of(archive: pulumi.AssetArchive, member: str) -> Path:
    """The project file an archive member is packaged from (every member is one file of the project)."""
    asset = archive.assets[member]
    assert isinstance(asset, pulumi.FileAsset), f"{member}: packaged from a {type(asset).__name__}, not a file"
    return PROJECT_DIR / asset.path


def test_outputs_name_what_a_user_needs(stack_graph: Graph) -> None:
    outputs = stack_graph.outputs
    assert outputs["api_url"].startswith("https://")
    tables = {tag(t, "service"): t.physical_name for t in stack_graph.of_type(TABLE)}
    assert (outputs["product_table"], outputs["basket_table"], outputs["order_table"]) == (
        tables["product"],
        tables["basket"],
        tables["ordering"],
    )
    functions = {tag(f, "service"): f.physical_name for f in stack_graph.of_type(FUNCTION)}
    assert {s: outputs[f"{s}_function"] for s in SERVICES} == functions
    assert {"event_bus", "checkout_queue_url", "checkout_dlq_url"} <= set(outputs)
