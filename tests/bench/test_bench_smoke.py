"""The benchmarks still run: `python -m bench --smoke` at tiny sizes, every section producing sane figures.

No timing is asserted (a slow CI machine is not a failure); what is asserted is that each section ran,
measured what it claims, and that the figures are consistent with one another.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from handlers.shared.routes import ROUTES
from localcloud.graph import PROJECT_DIR

pytestmark = pytest.mark.bench

SECTIONS = ["cold_init", "warm_latency", "items_read", "local_cloud", "package_size", "cost"]
# The API's routes, and the category listing the benchmark times apart.
HTTP_ROUTES = {*ROUTES, "GET /product?category"}
PAGE = 25  # the default ?limit= (ARCHITECTURE.md, HTTP)
RUN_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert out.exists(), (
        f"python -m bench --smoke wrote no results (exit {completed.returncode}):\n{completed.stderr[-3000:]}"
    )
    return {
        "returncode": completed.returncode,
        "stderr": completed.stderr,
        "results": json.loads(out.read_text()),
        "markdown": out.with_name("RESULTS.md").read_text(),
    }


def data(run: dict[str, Any], section: str) -> dict[str, Any]:
    recorded = run["results"]["sections"][section]
    assert recorded["ok"], f"section {section} failed: {recorded.get('error')}\n{recorded.get('traceback')}"
    return recorded["data"]


def numbers(value: Any, path: str = "") -> list[tuple[str, float]]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [(path, float(value))]
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in numbers(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [n for i, v in enumerate(value) for n in numbers(v, f"{path}[{i}]")]
    return []


def assert_latency(fig: dict[str, Any], what: str) -> None:
    assert fig["n"] > 0, f"{what}: no samples"
    assert 0 < fig["min"] <= fig["p50"] <= fig["p95"] <= fig["p99"] <= fig["max"], (
        f"{what}: percentiles out of order {fig}"
    )


def test_every_section_runs_and_the_command_succeeds(run: dict[str, Any]) -> None:
    # Given the smoke run / Then every section is recorded as ok and the command exits 0
    sections = run["results"]["sections"]
    assert list(sections) == SECTIONS, f"sections recorded: {list(sections)}"
    failed = {name: s["error"] for name, s in sections.items() if not s["ok"]}
    assert not failed, f"sections failed: {failed}\n{run['stderr'][-3000:]}"
    assert run["returncode"] == 0, run["stderr"][-3000:]


def test_every_figure_is_a_finite_non_negative_number(run: dict[str, Any]) -> None:
    bad = [(path, n) for path, n in numbers(run["results"]["sections"]) if not math.isfinite(n) or n < 0]
    assert not bad, f"figures that are not finite and >= 0: {bad[:10]}"


def test_cold_init_times_every_function_next_to_the_boto3_floor(run: dict[str, Any]) -> None:
    cold = data(run, "cold_init")
    assert cold["interleaved"], "cold init variants should run in interleaved rounds"
    for name in ("python", "import boto3", "import boto3 + one client", "import botocore + one client"):
        assert_latency(cold["baselines"][name]["wall_ms"], f"cold baseline {name!r}")
    assert set(cold["functions"]) == {"product", "basket", "ordering"}
    for service, fn in cold["functions"].items():
        served = fn["first_request_served"]
        assert_latency(served["wall_ms"], f"cold start of {service}")
        assert served["wall_ms"]["n"] == run["results"]["meta"]["sizes"]["cold_runs"], f"{service}: run count"
        # the in-process span is part of the wall span, so it cannot be longer
        assert served["in_process_ms"]["p50"] <= served["wall_ms"]["p50"], f"{service}: in-process > wall"
        assert fn["importtime"]["modules"] > 0 and fn["importtime"]["by_package_self_ms"], (
            f"{service}: no import breakdown"
        )
        assert "handlers" in fn["importtime"]["by_package_self_ms"], (
            f"{service}: its own package missing from importtime"
        )


def test_warm_latency_covers_every_route_against_the_getitem_floor(run: dict[str, Any]) -> None:
    warm = data(run, "warm_latency")
    assert_latency(warm["getitem_floor_ms"], "GetItem floor")
    routes = warm["routes"]
    assert HTTP_ROUTES | {"SQS CheckoutBasket batch"} == set(routes), f"routes measured: {sorted(routes)}"
    for route, fig in routes.items():
        assert "error" not in fig, f"{route}: {fig.get('error')}"
        assert_latency(fig["ms"], route)
        assert_latency(fig["getitem_floor_ms"], f"GetItem floor interleaved with {route}")
        assert fig["getitem_floor_ms"]["n"] == fig["ms"]["n"], f"{route}: one floor call per route call"
        expected = round(fig["ms"]["p50"] / fig["getitem_floor_ms"]["p50"], 2)
        assert fig["ratio_p50_to_getitem"] == pytest.approx(expected, abs=0.01), f"{route}: ratio is not p50 / floor"
        assert sum(fig["aws_per_request"]["calls"].values()) > 0, f"{route}: made no AWS call"
    assert routes["GET /product/{id}"]["aws_per_request"]["calls"] == {"GetItem": 1}, (
        "GET /product/{id} should be one GetItem"
    )


def test_items_read_follow_the_page_not_the_table(run: dict[str, Any]) -> None:
    reads = data(run, "items_read")
    sizes = [s["items_in_table"] for s in reads["sizes"]]
    assert sizes == run["results"]["meta"]["sizes"]["table_sizes"]
    for size in reads["sizes"]:
        n = size["items_in_table"]
        assert size["product_table_count"] == n, f"product table holds {size['product_table_count']}, expected {n}"
        assert size["unpaged_scan"]["items_read"] == n, f"an unpaged scan of {n} items read {size['unpaged_scan']}"
        for request, fig in size["requests"].items():
            # one page, plus at most one item DynamoDB reads to know whether there is a next page
            assert 0 < fig["items_read"] <= PAGE + 1, f"{request} with {n} items read {fig['items_read']} items"
            assert fig["items_returned"] <= fig["items_read"], f"{request}: returned more than it read"


def test_local_cloud_serves_requests_and_turns_checkouts_into_orders(run: dict[str, Any]) -> None:
    local = data(run, "local_cloud")
    sizes = run["results"]["meta"]["sizes"]
    assert local["get_product"]["requests"] == sizes["rps_requests"]
    assert local["get_product"]["requests_per_second"] > 0
    assert_latency(local["get_product"]["latency_ms"], "GET /product/{id} through the local cloud")
    assert local["checkout"]["checkout_to_order_ms"]["n"] == sizes["checkouts"]
    warm_up = local["warm_up"]
    # The measured requests run on warm workers only: one per client thread, counted before timing.
    assert warm_up["workers_wanted"] == sizes["rps_threads"], f"warm-up aimed at {warm_up['workers_wanted']}"
    assert warm_up["workers_seen"] >= sizes["rps_threads"], f"warm-up left {warm_up}"
    assert warm_up["latency_ms"]["n"] == warm_up["rounds"] * sizes["rps_threads"], f"warm-up requests: {warm_up}"
    assert_latency(local["checkout"]["checkout_to_order_ms"], "checkout -> order")


def test_package_sizes_are_measured_for_every_function(run: dict[str, Any]) -> None:
    package = data(run, "package_size")
    assert set(package["functions"]) == {"product", "basket", "ordering"}
    for service, fig in package["functions"].items():
        assert fig["zip_bytes"] > 0 and fig["files"] > 0, f"{service}: empty package {fig}"
        assert fig["unzipped_bytes"] >= fig["files"], f"{service}: sizes inconsistent {fig}"


def test_cost_prices_every_route_with_dated_prices(run: dict[str, Any]) -> None:
    cost = data(run, "cost")
    assert cost["prices_checked"] and all(p["usd"] > 0 and p["source"] for p in cost["prices"].values())
    assert set(cost["routes"]) == HTTP_ROUTES, f"priced routes: {sorted(cost['routes'])}"
    for route, row in cost["routes"].items():
        parts = sum(row["usd_per_million"].values())
        assert row["total_usd_per_million"] == pytest.approx(parts, abs=1e-3), f"{route}: total is not the sum of parts"
        assert row["usd_per_million"]["http_api"] > 0 and row["usd_per_million"]["lambda"] > 0, f"{route}: {row}"
    assert "eventbridge" in cost["routes"]["POST /basket/checkout"]["usd_per_million"], (
        "checkout must pay for its event"
    )


def test_results_markdown_has_the_headline_and_every_section(run: dict[str, Any]) -> None:
    markdown = run["markdown"]
    for heading in ("Against the reference", "## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## 6."):
        assert heading in markdown, f"RESULTS.md lacks {heading!r}"
    assert run["results"]["meta"]["machine"]["cpu_model"] in markdown


def test_smoke_results_do_not_overwrite_the_published_ones(run: dict[str, Any]) -> None:
    # The published figures live in bench/; a smoke run writes where --out says and nowhere else.
    published = Path(PROJECT_DIR) / "bench" / "results.json"
    if published.exists():
        assert json.loads(published.read_text())["meta"]["mode"] == "full", "bench/results.json holds a smoke run"
