"""Section 6: estimated cost per million requests per route, from the figures measured in section 2.

Lambda bills duration rounded up to the millisecond times configured memory, plus a per-request fee;
API Gateway HTTP APIs bill per request; a checkout also puts one custom event on EventBridge, which
the rule sends to SQS, and the ordering function takes it off in batches. DynamoDB on-demand bills the
read and write units section 2 counted. Measured durations come from this machine against MiniStack, so
they estimate the order of magnitude on AWS, not the bill. Prices: us-east-1, first pricing tier.
"""

from __future__ import annotations

import math
from typing import Any

from bench import stack
from bench.harness import Context

PRICES_CHECKED = "2026-11-27"
PRICES: dict[str, dict[str, Any]] = {
    "lambda_gb_second_arm64": {
        "usd": 0.0000133334,
        "unit": "GB-second (first 7.5 billion GB-s per month)",
        "source": "https://aws.amazon.com/lambda/pricing/",
    },
    "lambda_gb_second_x86_64": {
        "usd": 0.0000166667,
        "unit": "GB-second (first 6 billion GB-s per month)",
        "source": "https://aws.amazon.com/lambda/pricing/",
    },
    "lambda_request": {"usd": 0.20 / 1e6, "unit": "request", "source": "https://aws.amazon.com/lambda/pricing/"},
    "http_api_request": {
        "usd": 1.00 / 1e6,
        "unit": "request (first 300 million per month, metered per 512 KB)",
        "source": "https://aws.amazon.com/api-gateway/pricing/",
    },
    "eventbridge_custom_event": {
        "usd": 1.00 / 1e6,
        "unit": "custom event published (per 64 KB chunk)",
        "source": "https://aws.amazon.com/eventbridge/pricing/",
    },
    "sqs_standard_request": {
        "usd": 0.40 / 1e6,
        "unit": "request (first 100 billion per month, per 64 KB chunk)",
        "source": "https://aws.amazon.com/sqs/pricing/",
    },
    "dynamodb_read_request_unit": {
        "usd": 0.125 / 1e6,
        "unit": "on-demand read request unit",
        "source": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    },
    "dynamodb_write_request_unit": {
        "usd": 0.625 / 1e6,
        "unit": "on-demand write request unit",
        "source": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    },
}
MILLION = 1_000_000


def _price(key: str) -> float:
    return float(PRICES[key]["usd"])


def lambda_cost(duration_ms: float, memory_mb: int, architecture: str) -> float:
    """USD for one invocation: request fee plus duration rounded up to the millisecond."""
    billed_s = math.ceil(duration_ms) / 1000
    gb_second = _price("lambda_gb_second_arm64" if architecture == "arm64" else "lambda_gb_second_x86_64")
    return _price("lambda_request") + billed_s * memory_mb / 1024 * gb_second


def dynamodb_cost(per_request: dict[str, Any] | None) -> float:
    if not per_request:
        return 0.0
    return float(per_request["read_units"]) * _price("dynamodb_read_request_unit") + float(
        per_request["write_units"]
    ) * _price("dynamodb_write_request_unit")


def run(ctx: Context) -> dict[str, Any]:
    warm = ctx.results.get("warm_latency")
    if not warm:
        raise RuntimeError("needs the warm latency section's figures, which did not complete")
    functions = stack.functions(ctx)
    batch = stack.ordering_batch_size(ctx)
    routes = warm["routes"]
    consumer = routes.get("SQS CheckoutBasket batch", {})

    rows: dict[str, Any] = {}
    for route, figures in routes.items():
        if "error" in figures or route.startswith("SQS"):
            continue
        fn = functions[figures["service"]]
        p50 = float(figures["ms"]["p50"])
        parts = {
            "lambda": lambda_cost(p50, fn.memory_mb, fn.architecture),
            "http_api": _price("http_api_request"),
            "dynamodb": dynamodb_cost(figures.get("aws_per_request")),
        }
        if route == "POST /basket/checkout":
            if "error" in consumer:
                raise RuntimeError(f"checkout's cost needs the consumer's figures: {consumer['error']}")
            consumer_fn = functions["ordering"]
            parts["eventbridge"] = _price("eventbridge_custom_event")
            # EventBridge's SendMessage, then the event source mapping's ReceiveMessage and
            # DeleteMessageBatch, shared by the messages of one batch.
            parts["sqs"] = (1 + 2 / batch) * _price("sqs_standard_request")
            parts["ordering_consumer"] = (
                lambda_cost(float(consumer["ms"]["p50"]), consumer_fn.memory_mb, consumer_fn.architecture) / batch
            )
            parts["dynamodb"] += dynamodb_cost(consumer.get("aws_per_request"))
        rows[route] = {
            "duration_p50_ms": p50,
            "billed_ms": math.ceil(p50),
            "memory_mb": fn.memory_mb,
            "architecture": fn.architecture,
            "usd_per_million": {k: round(v * MILLION, 4) for k, v in parts.items()},
            "total_usd_per_million": round(sum(parts.values()) * MILLION, 4),
        }

    cold = ctx.results.get("cold_init", {}).get("functions", {})
    init: dict[str, Any] = {}
    for service, figures in cold.items():
        fn = functions[service]
        init_ms = float(figures["first_request_served"]["in_process_ms"]["p50"])
        # Lambda bills the INIT phase of on-demand functions as duration (without a second request fee).
        init[service] = {
            "init_and_first_request_ms": init_ms,
            "usd_per_million_cold_starts": round(
                (lambda_cost(init_ms, fn.memory_mb, fn.architecture) - _price("lambda_request")) * MILLION, 4
            ),
        }
    return {
        "prices_checked": PRICES_CHECKED,
        "region": "us-east-1",
        "prices": PRICES,
        "ordering_batch_size": batch,
        "routes": rows,
        "cold_starts": init,
        "note": "Duration is this machine's warm p50 against MiniStack; Lambda's CPU share at this memory differs.",
    }
