"""Section 1: cold init. A fresh Python process imports a handler and serves its first request.

Every variant runs the same wrapper script in a new interpreter, so the differences between them are
what each variant adds: the interpreter alone, `import boto3`, boto3 plus one client, botocore plus one
client (what the handlers build on: the floor every ratio here divides by), the handler module's
import, the import plus the first request served against MiniStack, and a stand-in for a SnapStart
restore: the process initialises, forks, and the fork answers the first request (timed from the fork).
The variants run in interleaved rounds (each once per round), so a floor and a handler see the same
background load and their ratio holds on a busy machine.
`wall_ms` runs from spawning the process to reading its result line (interpreter start included,
teardown excluded), which is what the reference's "fresh process -> first request served" means;
`in_process_ms` is the same span measured inside the process, without interpreter start (for the fork
stand-in: from the fork to the answer).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

from bench import stack
from bench.harness import Context
from bench.invoke import Handlers, http_event
from bench.stats import percentile, summary

MARKER = "BENCH-RESULT "

# The wrapper every variant runs. It imports only json/sys/time/os before the clock starts, and the
# same for every variant, so that cost sits in the interpreter floor.
WRAPPER = """
import json, os, sys, time
t0 = time.perf_counter()
stage = os.environ["BENCH_STAGE"]
out = {}
if stage == "boto3":
    import boto3
elif stage == "boto3_client":
    import boto3
    boto3.client("dynamodb")
elif stage == "botocore_client":
    import botocore.session
    botocore.session.get_session().create_client("dynamodb")
elif stage in ("import", "first_request", "fork"):
    import importlib
    module_name, _, attr = os.environ["BENCH_HANDLER"].rpartition(".")
    module = importlib.import_module(module_name)
    out["import_ms"] = (time.perf_counter() - t0) * 1000
    if stage in ("first_request", "fork"):
        class Context:
            function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
            function_version = "$LATEST"
            invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:" + function_name
            memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
            aws_request_id = "cold-start"
            log_group_name = "/aws/lambda/" + function_name
            log_stream_name = "bench"
            def get_remaining_time_in_millis(self):
                return 30000
        event = json.loads(os.environ["BENCH_EVENT"])
        if stage == "fork":
            # SnapStart stand-in: the initialised process is the snapshot, its fork the restored environment,
            # with the functions' own hooks run where the runtime would run them.
            try:
                from handlers.shared import snapstart as hooks
            except ImportError:
                hooks = None
            if hooks is not None:
                hooks.before_snapshot()
            t0 = time.perf_counter()
            child = os.fork()
            if child:
                os.waitpid(child, 0)
                os._exit(0)  # the fork writes the result line
            if hooks is not None:
                hooks.after_restore()
        result = getattr(module, attr)(event, Context())
        out["status"] = result.get("statusCode") if isinstance(result, dict) else None
out["in_process_ms"] = (time.perf_counter() - t0) * 1000
sys.stdout.write("\\nBENCH-RESULT " + json.dumps(out) + "\\n")
sys.stdout.flush()
"""
assert MARKER in WRAPPER

FIRST_REQUESTS = {
    # service: (route, path parameter name) -- the request timed for the reference is GET /product/{id}
    "product": ("GET /product/{id}", "id"),
    "basket": ("GET /basket/{userName}", "userName"),
    "ordering": ("GET /order/{userName}", "userName"),
}
PROCESS_TIMEOUT_S = 60
# What a handler's cold start is divided by: the SDK the handlers build on, with the one client each builds first.
FLOOR = "import botocore + one client"


def run_once(env: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", WRAPPER],
        cwd=stack.project_path(),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(MARKER):
                wall_ms = (time.perf_counter() - started) * 1000
                result: dict[str, Any] = json.loads(line[len(MARKER) :])
                result["wall_ms"] = wall_ms
                process.stdout.read()  # drain, so the child never blocks on a full pipe while exiting
                process.wait(timeout=PROCESS_TIMEOUT_S)
                return result
        _, stderr = process.communicate(timeout=PROCESS_TIMEOUT_S)
        raise RuntimeError(f"stage {env['BENCH_STAGE']} exited {process.returncode}: {stderr.strip()[-800:]}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def base_env(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "BENCH_"))}
    env.update(stack.AWS_ENV)
    env.update(AWS_ENDPOINT_URL=endpoint, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    return env


@dataclass(frozen=True)
class Variant:
    key: str
    env: dict[str, str]
    expect_status: int | None = None  # the first request's status, for the variants that serve one


def measure(
    variants: list[Variant], runs: int, warmup: bool
) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Median and spread of each variant over `runs` rounds (and the samples, round by round); every round runs
    every variant once, in turn.

    Round by round rather than variant by variant: background load that comes and goes (MiniStack,
    other processes on the machine) then lands on floors and handlers alike instead of on whichever
    variant happened to run while it lasted.
    """
    if warmup:
        for variant in variants:
            run_once(variant.env)  # writes the .pyc files and warms the page cache; Lambda's disk is warm too
    samples: dict[str, list[dict[str, Any]]] = {variant.key: [] for variant in variants}
    for _ in range(runs):
        for variant in variants:
            samples[variant.key].append(run_once(variant.env))
    return {variant.key: _figures(variant, samples[variant.key]) for variant in variants}, samples


def vs_floor(samples: list[dict[str, Any]], floor: list[dict[str, Any]], key: str = "wall_ms") -> dict[str, float]:
    """A variant's p50 over the floor's p50, and the median of the round-by-round ratios (each round's variant and
    floor ran back to back, so that one holds best when the machine's load comes and goes)."""
    ours, base = [s[key] for s in samples], [s["wall_ms"] for s in floor]
    return {
        "ratio_p50": round(percentile(ours, 50) / percentile(base, 50), 3),
        "ratio_per_round_p50": round(percentile([a / b for a, b in zip(ours, base, strict=True)], 50), 3),
    }


def _figures(variant: Variant, samples: list[dict[str, Any]]) -> dict[str, Any]:
    statuses = {s.get("status") for s in samples}
    if variant.expect_status is not None and statuses != {variant.expect_status}:
        raise AssertionError(f"{variant.key}: first request answered {statuses}, expected {variant.expect_status}")
    figures: dict[str, Any] = {
        "wall_ms": summary([s["wall_ms"] for s in samples]),
        "in_process_ms": summary([s["in_process_ms"] for s in samples]),
    }
    if "import_ms" in samples[0]:
        figures["import_ms"] = summary([s["import_ms"] for s in samples])
    return figures


IMPORTTIME_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def import_breakdown(env: dict[str, str], module: str, top: int = 12) -> dict[str, Any]:
    """`python -X importtime`: self time summed per top-level package, and the costliest imports."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=stack.project_path(),
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT_S,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"import {module} failed: {completed.stderr.strip()[-800:]}")
    per_package: dict[str, int] = {}
    entries = []
    for line in completed.stderr.splitlines():
        match = IMPORTTIME_LINE.match(line)
        if not match:
            continue
        self_us, cumulative_us, indent, name = int(match[1]), int(match[2]), len(match[3]), match[4]
        package = name.split(".")[0]
        per_package[package] = per_package.get(package, 0) + self_us
        entries.append(
            {"module": name, "self_ms": self_us / 1000, "cumulative_ms": cumulative_us / 1000, "depth": indent // 2}
        )
    total_us = sum(per_package.values())
    by_package = sorted(per_package.items(), key=lambda kv: kv[1], reverse=True)[:top]
    # The imports the handler's own code asks for (depth <= 2 below it) are the ones its author controls.
    heaviest = sorted(entries, key=lambda e: e["cumulative_ms"], reverse=True)
    return {
        "total_ms": round(total_us / 1000, 1),
        "modules": len(entries),
        "by_package_self_ms": {name: round(us / 1000, 1) for name, us in by_package},
        "top_cumulative": [
            {k: round(v, 1) if isinstance(v, float) else v for k, v in e.items()} for e in heaviest[:top]
        ],
    }


def seed(ctx: Context, handlers: Handlers) -> dict[str, str]:
    """One product, one basket of it, one order-less user: what the first requests read."""
    product = handlers.call(
        "product",
        http_event(
            "POST",
            "POST /product",
            body={
                "name": "Cold start",
                "description": "seeded by bench",
                "imageFile": "cold.png",
                "price": 12.5,
                "category": "bench",
            },
        ),
    )
    if product.status != 201:
        raise RuntimeError(f"POST /product answered {product.status}: {product.body}")
    user = f"cold-{uuid.uuid4().hex[:8]}"
    basket = handlers.call(
        "basket",
        http_event(
            "POST", "POST /basket", body={"userName": user, "items": [{"productId": product.body["id"], "quantity": 1}]}
        ),
    )
    if basket.status != 200:
        raise RuntimeError(f"POST /basket answered {basket.status}: {basket.body}")
    return {"product": product.body["id"], "basket": user, "ordering": user}


def run(ctx: Context) -> dict[str, Any]:
    deployment = stack.deployed(ctx)
    functions = stack.functions(ctx)
    handlers = ctx.cached("handlers", lambda: Handlers(functions, deployment.endpoint))
    params = seed(ctx, handlers)
    runs, warmup = ctx.sizes.cold_runs, not ctx.smoke
    env = base_env(deployment.endpoint)

    baselines = {
        "python": "python",
        "import boto3": "boto3",
        "import boto3 + one client": "boto3_client",
        "import botocore + one client": "botocore_client",
    }
    variants = [Variant(name, {**env, "BENCH_STAGE": stage}) for name, stage in baselines.items()]
    function_envs: dict[str, dict[str, str]] = {}
    for service, fn in functions.items():
        fn_env = {**env, **stack.handler_env(fn, deployment.endpoint), "BENCH_HANDLER": fn.handler}
        function_envs[service] = fn_env
        route, param = FIRST_REQUESTS[service]
        event = http_event(route.split()[0], route, path_params={param: params[service]})
        variants += [
            Variant(f"{service} import_only", {**fn_env, "BENCH_STAGE": "import"}),
            # The same import with the stack's tracing on: Powertools' Tracer, the X-Ray SDK, botocore patched.
            Variant(
                f"{service} import_traced",
                {**fn_env, "BENCH_STAGE": "import", "POWERTOOLS_TRACE_DISABLED": "false"},
            ),
            Variant(
                f"{service} first_request_served",
                {**fn_env, "BENCH_STAGE": "first_request", "BENCH_EVENT": json.dumps(event)},
                expect_status=200,
            ),
            Variant(
                f"{service} fork_first_request",
                {**fn_env, "BENCH_STAGE": "fork", "BENCH_EVENT": json.dumps(event)},
                expect_status=200,
            ),
        ]
    measured, samples = measure(variants, runs, warmup)
    floor = samples[FLOOR]
    return {
        "runs": runs,
        "warmup_run_discarded": warmup,
        "interleaved": True,
        "baselines": {name: measured[name] for name in baselines},
        "functions": {
            service: {
                "function": fn.name,
                "first_request": FIRST_REQUESTS[service][0],
                "import_only": measured[f"{service} import_only"],
                "import_traced": measured[f"{service} import_traced"],
                "first_request_served": measured[f"{service} first_request_served"],
                # in_process_ms: from the fork to the first answer (wall_ms includes the parent's init)
                "fork_first_request": measured[f"{service} fork_first_request"],
                "vs_floor": {
                    "floor": FLOOR,
                    "cold_start": vs_floor(samples[f"{service} first_request_served"], floor),
                    "fork_first_request": vs_floor(samples[f"{service} fork_first_request"], floor, "in_process_ms"),
                },
                "importtime": import_breakdown(function_envs[service], fn.module),
            }
            for service, fn in functions.items()
        },
        "floor": FLOOR,
        "note": "wall_ms: spawn -> result line read (interpreter start included). Figures in ms. "
        "Rounds interleaved: each round runs every variant once. fork_first_request.in_process_ms: fork -> answer.",
    }
