"""Render results.json as RESULTS.md: the headline against the reference, then each section's table."""

from __future__ import annotations

from typing import Any

# The reference: the Node.js project this one replaces, measured on the machine of our own figures (2 cores, one
# MiniStack on loopback) in 20 interleaved rounds, medians; its package size is the same on any machine.
REFERENCE_MEASURED = (
    "same machine and emulator as ours: 2 cores, one MiniStack on loopback, 20 interleaved rounds, medians"
)
REFERENCE = {
    "cold_start_ms": 101.0,  # fresh process -> its first GET /product/{id} answered
    "runtime_ms": 27.0,  # node alone
    "floor_ms": 88.0,  # node + its SDK client: what its cold start builds on
    "warm_get_product_ratio": 1.1,  # warm GET /product/{id} p50 / one GetItem
    "list_2000_items_ms": 37.0,  # GET /product, 2,000 items: the whole table in one response
    "list_2000_kb": 464.0,
    "list_10000_items_ms": 117.0,  # 10,000 items: silently cut at the 1 MB Scan page
    "list_10000_items_returned": 5391,
    "checkout_p50_ms": 4.74,  # no pricing, no checks
    "checkout_aws_calls": 3,
    "package_mb": 1.32,
}


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c) if not isinstance(c, str) else c for c in row) + " |" for row in rows]
    return [*lines, ""]


def _data(results: dict[str, Any], name: str) -> dict[str, Any] | None:
    section = results["sections"].get(name) or {}
    return section.get("data") if section.get("ok") else None


def headline(results: dict[str, Any]) -> list[list[Any]]:
    """(figure, ours, reference, ours / reference) for each figure the reference was measured on."""
    rows: list[list[Any]] = []

    def row(name: str, ours: float | None, ref: float, unit: str, digits: int = 2) -> None:
        ratio = f"{ours / ref:.3g}x" if ours is not None else "—"
        rows.append(
            [name, f"{_fmt(ours, digits)} {unit}" if ours is not None else "—", f"{_fmt(ref, 2)} {unit}", ratio]
        )

    cold = _data(results, "cold_init")
    if cold:
        product = cold["functions"].get("product", {})
        served = product.get("first_request_served", {}).get("wall_ms", {}).get("p50")
        row("cold start: fresh process -> first GET /product/{id} (p50)", served, REFERENCE["cold_start_ms"], "ms")
        row(
            "the runtime alone: `python` / `node` (p50)",
            cold["baselines"]["python"]["wall_ms"]["p50"],
            REFERENCE["runtime_ms"],
            "ms",
        )
        floor = cold["baselines"]["import botocore + one client"]["wall_ms"]["p50"]
        row("floor: the SDK + one DynamoDB client (p50)", floor, REFERENCE["floor_ms"], "ms")
        if served is not None:
            ours, ref = served / floor, REFERENCE["cold_start_ms"] / REFERENCE["floor_ms"]
            rows.append(["cold start ÷ its own floor, same run", f"{ours:.2f}", f"{ref:.2f}", f"{ours / ref:.3g}x"])
        fork = product.get("fork_first_request", {}).get("in_process_ms", {}).get("p50")
        if fork is not None:
            rows.append(
                ["SnapStart stand-in: fork of an initialised process -> first answer (p50)", f"{fork:.2f} ms", "—", "—"]
            )
    warm = _data(results, "warm_latency")
    if warm:
        route = warm["routes"].get("GET /product/{id}", {})
        row(
            "warm GET /product/{id} p50 / one GetItem p50",
            route.get("ratio_p50_to_getitem"),
            REFERENCE["warm_get_product_ratio"],
            "x",
        )
        checkout = warm["routes"].get("POST /basket/checkout", {})
        calls = sum((checkout.get("aws_per_request") or {}).get("calls", {}).values()) or None
        row(
            f"warm POST /basket/checkout p50 ({_fmt(calls, 0)} AWS calls; "
            f"the reference's {REFERENCE['checkout_aws_calls']}, no checks)",
            checkout.get("ms", {}).get("p50"),
            REFERENCE["checkout_p50_ms"],
            "ms",
        )
        if checkout.get("ratio_p50_to_getitem") is not None:
            rows.append(["warm checkout p50 ÷ one GetItem p50", f"{checkout['ratio_p50_to_getitem']:.2f}x", "—", "—"])
    reads = _data(results, "items_read")
    if reads:
        closest = min(reads["sizes"], key=lambda s: abs(s["items_in_table"] - 2000))
        size = closest["items_in_table"]
        listed = closest["requests"]["GET /product"]
        row(f"GET /product with {size:,} items (p50)", listed["ms"]["p50"], REFERENCE["list_2000_items_ms"], "ms")
        largest = max(reads["sizes"], key=lambda s: s["items_in_table"])
        if largest["items_in_table"] >= 10_000:
            rows.append(
                [
                    f"GET /product with {largest['items_in_table']:,} items (p50)",
                    f"{largest['requests']['GET /product']['ms']['p50']:.2f} ms (one page of 25)",
                    f"{REFERENCE['list_10000_items_ms']:.2f} ms ({REFERENCE['list_10000_items_returned']:,} items: "
                    "cut at the 1 MB Scan page)",
                    "—",
                ]
            )
    package = _data(results, "package_size")
    if package:
        largest = max((f["zip_bytes"] for f in package["functions"].values()), default=None)
        row("largest function package", largest / 1024 / 1024 if largest else None, REFERENCE["package_mb"], "MB", 3)
    return rows


def _load_line(load: dict[str, Any] | None) -> list[str]:
    if not load or not load.get("start") or not load.get("end"):
        return []
    start, end = load["start"], load["end"]
    return [
        f"Load average (1/5/15 min): {' / '.join(map(str, start))} at the start, "
        f"{' / '.join(map(str, end))} at the end.",
        "",
    ]


def render(results: dict[str, Any]) -> str:
    meta = results["meta"]
    m = meta["machine"]
    out = [
        "# Benchmark results",
        "",
        f"Generated by `{meta['command']}` on {meta['date']} ({meta['mode']} mode, {meta['seconds']} s). "
        "See bench/README.md for what each figure means.",
        "",
        f"Machine: {m['cpu_model']}, {m['cores']} cores, {m['arch']}, {m['os']}, "
        f"{m['python_implementation']} {m['python']}.",
        "",
        *_load_line(meta.get("load_average")),
        "Packages: " + ", ".join(f"{k} {v}" for k, v in meta["packages"].items()) + ".",
        "",
        "## Against the reference (the Node.js project this one replaces)",
        "",
        "Lower is better everywhere; the last column is ours divided by the reference's. The reference was measured "
        f"on the {REFERENCE_MEASURED}; ours in this run, whose load average is above. Where the load differs, "
        "compare the ratios measured within one run (cold start ÷ its floor, a route ÷ one GetItem), not milliseconds.",
        "",
        *_table(["figure", "ours", "reference", "ours / ref"], headline(results)),
    ]
    failed = {name: s for name, s in results["sections"].items() if not s.get("ok")}
    if failed:
        out += ["## Sections that failed", ""]
        out += [f"- **{name}**: {s['error']}" for name, s in failed.items()]
        out.append("")
    for name, render_section in SECTIONS:
        data = _data(results, name)
        if data is not None:
            out += render_section(data)
    return "\n".join(out)


def _cold(data: dict[str, Any]) -> list[str]:
    out = [
        "## 1. Cold init (ms; median and interquartile range over "
        f"{data['runs']} fresh processes{', after one discarded warm-up' if data['warmup_run_discarded'] else ''})",
        "",
        *(
            ["Rounds interleaved: each round starts every variant below once, so all see the same load.", ""]
            if data.get("interleaved")
            else []
        ),
        "`wall` runs from spawning the interpreter to the result line; `in-process` starts after the interpreter.",
        "",
    ]
    floor = data["baselines"]["import botocore + one client"]["wall_ms"]["p50"]
    rows: list[list[Any]] = []

    def add(name: str, fig: dict[str, Any], ratio: float | None = None) -> None:
        ratio = fig["wall_ms"]["p50"] / floor if ratio is None else ratio
        rows.append([name, fig["wall_ms"]["p50"], fig["wall_ms"]["iqr"], fig["in_process_ms"]["p50"], f"{ratio:.2f}"])

    for name, fig in data["baselines"].items():
        add(name, fig)
    for service, fn in data["functions"].items():
        add(f"{service}: import handler module", fn["import_only"])
        if fn.get("import_traced"):
            add(f"{service}: import handler module, tracing on", fn["import_traced"])
        add(f"{service}: import + `{fn['first_request']}` (cold start)", fn["first_request_served"])
        fork = fn.get("fork_first_request")
        if fork:
            in_process = fork["in_process_ms"]
            rows.append(
                [
                    f"{service}: SnapStart stand-in: fork after init -> `{fn['first_request']}`",
                    "—",
                    f"{in_process['iqr']} (fork -> answer)",
                    in_process["p50"],
                    f"{in_process['p50'] / floor:.2f}",
                ]
            )
    out += _table(["process does", "wall p50", "wall IQR", "in-process p50", "wall p50 ÷ floor"], rows)
    ratios = [
        f"{service} {fn['vs_floor']['cold_start']['ratio_per_round_p50']:.2f}"
        for service, fn in data["functions"].items()
        if fn.get("vs_floor")
    ]
    if ratios:
        out += [
            "Floor: `import botocore + one client`, the SDK the handlers build on. Cold start ÷ floor taken round by "
            f"round (each round's pair ran back to back), median: {', '.join(ratios)}.",
            "",
        ]
    out += ["What the handler imports cost (`python -X importtime`, self time summed per top-level package, ms):", ""]
    services = list(data["functions"])
    packages: list[str] = []
    for service in services:
        for name in data["functions"][service]["importtime"]["by_package_self_ms"]:
            if name not in packages:
                packages.append(name)
    rows = [
        [name, *[data["functions"][s]["importtime"]["by_package_self_ms"].get(name) for s in services]]
        for name in packages
    ]
    rows.append(["**total**", *[data["functions"][s]["importtime"]["total_ms"] for s in services]])
    out += _table(["package", *services], rows)
    out += [
        "A handler module's own self time includes what its body runs at import (registering routes, declaring",
        "models), not only its imports. The heaviest imports by cumulative time:",
        "",
    ]
    for service in services:
        top = data["functions"][service]["importtime"]["top_cumulative"][:8]
        out.append(f"- {service}: " + ", ".join(f"`{e['module']}` {e['cumulative_ms']:.0f}" for e in top))
    return [*out, ""]


def _warm(data: dict[str, Any]) -> list[str]:
    floor = data["getitem_floor_ms"]
    out = [
        f"## 2. Warm latency per route (ms, {data['calls_per_route']} in-process calls each, against MiniStack)",
        "",
        f"Floor: one DynamoDB GetItem round trip from the same process, over all routes: p50 {floor['p50']} ms, "
        f"p99 {floor['p99']} ms.",
        "",
    ]
    rows: list[list[Any]] = []
    for route, fig in data["routes"].items():
        if "error" in fig:
            rows.append([route, "error", fig["error"][:120], "", "", "", "", ""])
            continue
        aws = fig.get("aws_per_request") or {}
        calls = ", ".join(f"{op} {n:g}" for op, n in (aws.get("calls") or {}).items())
        share = fig.get("in_boto3_share")
        rows.append(
            [
                route,
                fig["ms"]["p50"],
                fig["ms"]["p99"],
                f"{fig['ratio_p50_to_getitem']}x",
                f"{fig['ratio_p99_to_getitem']}x",
                calls or "—",
                aws.get("items_read"),
                f"{share:.0%}" if share is not None else "—",
            ]
        )
    header = [
        "route",
        "p50",
        "p99",
        "p50 / GetItem",
        "p99 / GetItem",
        "AWS calls per request",
        "items read",
        "in SDK calls",
    ]
    out += _table(header, rows)
    out += [
        "Each route call follows one GetItem floor call (interleaved, so both see the same background load); the",
        "ratios divide by that route's own floor. The SQS row is one batch; its call columns are per message.",
        "`in SDK calls` is the share of the handler's time spent inside botocore's API calls (round trip plus",
        "(de)serialising); the rest is its own code: routing, validation, Powertools, logging.",
        "",
    ]
    return out


def _reads(data: dict[str, Any]) -> list[str]:
    out = ["## 3. DynamoDB items read per request as the tables grow", ""]
    kinds = list(data["sizes"][0]["requests"])
    rows: list[list[Any]] = []
    for size in data["sizes"]:
        row: list[Any] = [size["items_in_table"]]
        for kind in kinds:
            r = size["requests"][kind]
            row.append(f"{r['items_read']} ({r['ms']['p50']:.1f} ms)")
        row.append(f"{size['unpaged_scan']['items_read']} ({size['unpaged_scan']['ms']:.1f} ms)")
        rows.append(row)
    out += _table(["items per table", *kinds, "unpaged Scan (the reference's list)"], rows)
    out += [
        f"Items read (p50 latency). Categories: {data['categories']}, so one category holds a tenth of the catalogue; "
        f"the reader has {data['reader_orders']} orders. A page is 25 items.",
        "",
    ]
    return out


def _throughput(data: dict[str, Any]) -> list[str]:
    rps, checkout = data["get_product"], data["checkout"]
    warm_up = data.get("warm_up")  # absent from results written before the warm-up existed
    warm_rows = []
    if warm_up:
        seen = warm_up["workers_seen"]
        warm_rows.append(
            [
                f"warm-up to {warm_up['workers_wanted']} product workers (not timed below)",
                f"{seen if seen is not None else 'uncounted'} workers after {warm_up['rounds']} round(s), "
                f"{warm_up['seconds']} s; slowest request (a worker's cold start) {warm_up['latency_ms']['max']} ms",
            ]
        )
    return [
        "## 4. Through the local cloud (loopback HTTP -> MiniStack HTTP API -> functions)",
        "",
        *_table(
            ["figure", "value"],
            [
                ["startup to first `GET /product` served", f"{data['startup_seconds']} s"],
                *warm_rows,
                [
                    f"GET /product/{{id}}: {rps['requests']} requests over {rps['threads']} threads",
                    f"{rps['requests_per_second']} req/s "
                    f"(latency p50 {rps['latency_ms']['p50']} ms, p95 {rps['latency_ms']['p95']} ms)",
                ],
                [
                    "POST /basket/checkout answered (p50 / p95)",
                    f"{checkout['checkout_request_ms']['p50']} / {checkout['checkout_request_ms']['p95']} ms",
                ],
                [
                    f"checkout -> order visible, {checkout['checkouts']} checkouts (p50 / p95)",
                    f"{checkout['checkout_to_order_ms']['p50']} / {checkout['checkout_to_order_ms']['p95']} ms",
                ],
            ],
        ),
    ]


def _package(data: dict[str, Any]) -> list[str]:
    rows = [
        [
            name,
            f"{f['zip_bytes'] / 1024:,.1f} KiB",
            f["files"],
            f"{f['unzipped_bytes'] / 1024:,.1f} KiB",
            f"{f['vs_reference']:.3f}x",
        ]
        for name, f in data["functions"].items()
    ]
    for name, f in data["graph_layers"].items():
        rows.append(
            [
                f"layer {name} (declared)",
                f"{f['zip_bytes'] / 1024 / 1024:,.2f} MiB",
                f["files"],
                f"{f['unzipped_bytes'] / 1024 / 1024:,.2f} MiB",
                f"{f['vs_reference']:.2f}x",
            ]
        )
    local = data.get("local_dependency_layer")
    if local:
        rows.append(
            [
                "dependency layer (local build)",
                f"{local['zip_bytes'] / 1024 / 1024:,.2f} MiB",
                local["files"],
                f"{local['unzipped_bytes'] / 1024 / 1024:,.2f} MiB",
                f"{local['vs_reference']:.2f}x",
            ]
        )
    out = ["## 5. Deployment package size (zipped as the Pulumi engine zips the graph's archives)", ""]
    out += _table(["package", "zip", "files", "unzipped", "vs reference 1.32 MB"], rows)
    return out


def _cost(data: dict[str, Any]) -> list[str]:
    parts = sorted({p for r in data["routes"].values() for p in r["usd_per_million"]})
    rows = [
        [
            route,
            r["billed_ms"],
            r["memory_mb"],
            *[r["usd_per_million"].get(p, 0.0) for p in parts],
            f"**{r['total_usd_per_million']:.2f}**",
        ]
        for route, r in data["routes"].items()
    ]
    out = [
        f"## 6. Estimated cost per million requests (USD, {data['region']}, prices checked {data['prices_checked']})",
        "",
        *_table(
            ["route", "billed ms", "MB", *parts, "total"],
            [[c if not isinstance(c, float) else f"{c:.3f}" for c in r] for r in rows],
        ),
    ]
    if data["cold_starts"]:
        out += [
            "Cold starts (INIT is billed as duration): "
            + ", ".join(
                f"{s} ${c['usd_per_million_cold_starts']:.2f} per million" for s, c in data["cold_starts"].items()
            )
            + ".",
            "",
        ]
    out += ["Prices:", ""]
    out += [f"- {name}: ${p['usd']:.10g} per {p['unit']} ({p['source']})" for name, p in data["prices"].items()]
    return [*out, ""]


SECTIONS = [
    ("cold_init", _cold),
    ("warm_latency", _warm),
    ("items_read", _reads),
    ("local_cloud", _throughput),
    ("package_size", _package),
    ("cost", _cost),
]
