"""Section 2: warm latency per route, in-process against MiniStack, next to one GetItem round trip.

Each route's handler is called N times in this process (the handler module already imported: a warm
Lambda container) with a valid request; the floor is the same process's own boto3 GetItem on the product
table. The ratio p50(route) / p50(GetItem) is comparable across machines; the reference's (the Node.js project
this one replaces) is 1.13x for GET /product/{id}. A few more calls per route, untimed, count the DynamoDB
work (bench.meter).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from bench import stack
from bench.harness import Context
from bench.invoke import Handlers, LambdaContext, http_event, parse, sqs_event
from bench.meter import Usage, metered
from bench.stats import summary
from bench.workload import checkout_body, checkout_envelope, create_basket, create_product, order_message, product_body

METERED_CALLS = 5  # DynamoDB work per request is deterministic; a few calls show it


@dataclass
class Case:
    """One route: which function serves it, the status a valid call gets, and how to build N events."""

    route: str
    service: str
    status: int
    events: Callable[[int], list[dict[str, Any]]]  # untimed setup happens inside
    per_message: int = 1  # an SQS batch carries several messages; cost is quoted per message


Floor = Callable[[], None]


def time_calls(
    handlers: Handlers, case: Case, events: list[dict[str, Any]], floor: Floor | None = None
) -> tuple[list[float], list[float]]:
    """Time the route on each event, with one floor call just before each when `floor` is given.

    Interleaving puts the route and its floor under the same background load (MiniStack shares the
    cores with us and with the functions it runs), so their ratio holds even when the machine is busy.
    """
    handler = handlers.handler(case.service)
    fn = handlers.functions[case.service]
    samples, floor_samples = [], []
    with handlers.as_function(case.service):
        for event in events:
            if floor is not None:
                started = time.perf_counter()
                floor()
                floor_samples.append((time.perf_counter() - started) * 1000)
            context = LambdaContext(fn, fn.timeout_s)
            started = time.perf_counter()
            result = handler(event, context)
            samples.append((time.perf_counter() - started) * 1000)
            response = parse(result) if "Records" not in event else None
            if response is not None and response.status != case.status:
                raise RuntimeError(f"{case.route} answered {response.status} (expected {case.status}): {response.body}")
            if response is None and (result or {}).get("batchItemFailures"):
                raise RuntimeError(f"{case.route} reported failures: {result['batchItemFailures']}")
    return samples, floor_samples


def getitem_floor(endpoint: str, table: str, key: dict[str, Any]) -> Floor:
    """One GetItem round trip from this process: a low-level client, no handler, no (de)serialising layer."""
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    client.get_item(TableName=table, Key=key)  # connection and first-call setup are not the floor

    def call() -> None:
        client.get_item(TableName=table, Key=key)

    return call


def cases(ctx: Context, handlers: Handlers) -> list[Case]:
    product_id = create_product(handlers, 1, "warm")
    for i in range(30):  # more than a page of one category
        create_product(handlers, 100 + i, "warm")
    basket_user = f"warm-{uuid.uuid4().hex[:8]}"
    create_basket(handlers, basket_user, product_id, lines=3)
    template = checkout_envelope(ctx, handlers)
    # Each function serves one request before timing starts: imports and first connections are section 1's.
    handlers.call("product", http_event("GET", "GET /product/{id}", {"id": product_id}))
    handlers.call("basket", http_event("GET", "GET /basket/{userName}", {"userName": basket_user}))
    handlers.call("ordering", http_event("GET", "GET /order"))
    queue_arn = "arn:aws:sqs:us-east-1:000000000000:bench"
    batch_size = stack.ordering_batch_size(ctx)
    order_user = f"orders-{uuid.uuid4().hex[:8]}"
    run = uuid.uuid4().hex[:6]

    def same(event: dict[str, Any]) -> Callable[[int], list[dict[str, Any]]]:
        return lambda n: [event] * n

    def fresh_products(n: int) -> list[dict[str, Any]]:
        ids = [create_product(handlers, 1000 + i) for i in range(n)]
        return [http_event("DELETE", "DELETE /product/{id}", {"id": i}) for i in ids]

    def fresh_baskets(route: str) -> Callable[[int], list[dict[str, Any]]]:
        def build(n: int) -> list[dict[str, Any]]:
            users = [f"w{run}-{route.split()[0].lower()}-{i}" for i in range(n)]
            for user in users:
                create_basket(handlers, user, product_id)
            if route == "DELETE /basket/{userName}":
                return [http_event("DELETE", route, {"userName": u}) for u in users]
            return [http_event("POST", route, body=checkout_body(u)) for u in users]

        return build

    def order_batches(n: int) -> list[dict[str, Any]]:
        # Orders of ten users, one of whom GET /order/{userName} reads back below.
        batches = max(1, n // batch_size)
        messages = [
            order_message(template, order_user if i % 10 == 0 else f"{order_user}-{i % 10}", i)
            for i in range(batches * batch_size)
        ]
        return [sqs_event(messages[b * batch_size : (b + 1) * batch_size], queue_arn) for b in range(batches)]

    basket_body = {"userName": basket_user, "items": [{"productId": product_id, "quantity": 2}]}
    return [
        Case("GET /product/{id}", "product", 200, same(http_event("GET", "GET /product/{id}", {"id": product_id}))),
        Case("GET /product", "product", 200, same(http_event("GET", "GET /product"))),
        Case(
            "GET /product?category",
            "product",
            200,
            same(http_event("GET", "GET /product", query={"category": "warm"})),
        ),
        Case(
            "POST /product",
            "product",
            201,
            lambda n: [http_event("POST", "POST /product", body=body) for body in _bodies(n)],
        ),
        Case(
            "PUT /product/{id}",
            "product",
            200,
            lambda n: [
                http_event("PUT", "PUT /product/{id}", {"id": product_id}, body={"price": 20 + i % 50})
                for i in range(n)
            ],
        ),
        Case("DELETE /product/{id}", "product", 204, fresh_products),
        Case(
            "GET /basket/{userName}",
            "basket",
            200,
            same(http_event("GET", "GET /basket/{userName}", {"userName": basket_user})),
        ),
        Case("GET /basket", "basket", 200, same(http_event("GET", "GET /basket"))),
        Case("POST /basket", "basket", 200, same(http_event("POST", "POST /basket", body=basket_body))),
        Case("DELETE /basket/{userName}", "basket", 204, fresh_baskets("DELETE /basket/{userName}")),
        Case("SQS CheckoutBasket batch", "ordering", 0, order_batches, per_message=batch_size),
        Case(
            "GET /order/{userName}",
            "ordering",
            200,
            same(http_event("GET", "GET /order/{userName}", {"userName": order_user})),
        ),
        Case("GET /order", "ordering", 200, same(http_event("GET", "GET /order"))),
        # Last: each checkout's event reaches the deployed ordering function in the background.
        Case("POST /basket/checkout", "basket", 202, fresh_baskets("POST /basket/checkout")),
    ]


def _bodies(n: int) -> list[dict[str, Any]]:
    return [product_body(5000 + i) for i in range(n)]


def run(ctx: Context) -> dict[str, Any]:
    deployment = stack.deployed(ctx)
    functions = stack.functions(ctx)
    handlers: Handlers = ctx.cached("handlers", lambda: Handlers(functions, deployment.endpoint))
    n = ctx.sizes.warm_calls
    all_cases = cases(ctx, handlers)
    product_id = all_cases[0].events(1)[0]["pathParameters"]["id"]

    floor = getitem_floor(deployment.endpoint, deployment.tables["product"], {"id": {"S": product_id}})
    all_floor: list[float] = []
    routes: dict[str, Any] = {}
    for case in all_cases:
        try:
            extra_count = METERED_CALLS if case.per_message == 1 else 1
            events = case.events(n + extra_count * case.per_message)
            timed, extra = events[:-extra_count], events[-extra_count:]
            samples, floor_samples = time_calls(handlers, case, timed, floor)
            with metered() as usage:
                metered_ms = sum(time_calls(handlers, case, extra)[0])
            fig, floor_fig = summary(samples), summary(floor_samples)
            all_floor += floor_samples
            routes[case.route] = {
                "service": case.service,
                "calls": len(samples),
                "messages_per_call": case.per_message,
                "ms": fig,
                "getitem_floor_ms": floor_fig,
                "ratio_p50_to_getitem": round(fig["p50"] / floor_fig["p50"], 2),
                "ratio_p99_to_getitem": round(fig["p99"] / floor_fig["p99"], 2),
                # per message for the SQS batch: what one order costs
                "aws_per_request": _per_request(usage, len(extra) * case.per_message),
                # In botocore's API calls; the rest is the handler's own code: routing, validation, Powertools,
                # logging. (The key keeps its first name, so older results files still read.)
                "in_boto3_share": round(usage.call_ms / metered_ms, 2) if metered_ms else None,
            }
        except Exception as exc:  # one broken route must not hide the others' figures
            routes[case.route] = {"service": case.service, "error": f"{type(exc).__name__}: {exc}"}
    return {
        "calls_per_route": n,
        "getitem_floor_ms": summary(all_floor) if all_floor else None,
        "routes": routes,
        "memory_mb": {service: fn.memory_mb for service, fn in functions.items()},
    }


def _per_request(usage: Usage, calls: int) -> dict[str, Any]:
    return {
        "calls": {op: round(count / calls, 2) for op, count in sorted(usage.calls.items())},
        "items_read": round(usage.items_read / calls, 2),
        "read_units": round(usage.read_units / calls, 2),
        "write_units": round(usage.write_units / calls, 2),
    }
