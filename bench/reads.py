"""Section 3: DynamoDB items read per request as the tables grow.

For each size the product and order tables are filled to that many items (bulk-loaded with
BatchWriteItem from items the handlers themselves wrote, so the shape is theirs), then one request of
each kind is metered: items read is DynamoDB's ScannedCount (what on-demand bills), summed over every
call the handler makes. A paged design reads one page whatever the table holds; the unpaged Scan the
reference does for `GET /product` reads the whole table, shown next to it.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3

from bench import stack
from bench.harness import Context
from bench.invoke import Handlers, LambdaContext, http_event, sqs_event
from bench.meter import metered
from bench.stats import summary
from bench.workload import checkout_envelope, create_product, expect, order_message

CATEGORIES = 10  # so a category holds a tenth of the catalogue: it grows with the table too
READER_ORDERS = 30  # more than one page (25) of one user's orders
BATCH = 25  # BatchWriteItem's limit
LOAD_DEADLINE_S = 120


def _batch_write(client: Any, table: str, items: list[dict[str, Any]]) -> None:
    deadline = time.monotonic() + LOAD_DEADLINE_S
    for start in range(0, len(items), BATCH):
        requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH]]
        while requests:
            if time.monotonic() > deadline:
                raise TimeoutError(f"loading {table} did not finish within {LOAD_DEADLINE_S}s")
            unprocessed = client.batch_write_item(RequestItems={table: requests}).get("UnprocessedItems") or {}
            requests = unprocessed.get(table, [])


def _clear(client: Any, table: str) -> None:
    keys = [k["AttributeName"] for k in client.describe_table(TableName=table)["Table"]["KeySchema"]]
    projection = ", ".join(f"#k{i}" for i in range(len(keys)))
    names = {f"#k{i}": k for i, k in enumerate(keys)}
    for page in client.get_paginator("scan").paginate(
        TableName=table, ProjectionExpression=projection, ExpressionAttributeNames=names
    ):
        items = page["Items"]
        for start in range(0, len(items), BATCH):
            chunk = [{"DeleteRequest": {"Key": item}} for item in items[start : start + BATCH]]
            client.batch_write_item(RequestItems={table: chunk})


def _count(client: Any, table: str) -> int:
    return sum(p["Count"] for p in client.get_paginator("scan").paginate(TableName=table, Select="COUNT"))


def _template_order(ctx: Context, handlers: Handlers, client: Any, table: str) -> dict[str, Any]:
    user = f"template-{uuid.uuid4().hex[:8]}"
    message = order_message(checkout_envelope(ctx, handlers), user, 0)
    result = handlers.invoke("ordering", sqs_event([message], "arn:aws:sqs:us-east-1:000000000000:bench"))
    if (result or {}).get("batchItemFailures"):
        raise RuntimeError(f"the ordering consumer rejected a checkout: {result}")
    items = client.query(
        TableName=table, KeyConditionExpression="userName = :u", ExpressionAttributeValues={":u": {"S": user}}
    )["Items"]
    if len(items) != 1:
        raise RuntimeError(f"expected one order for {user}, found {len(items)}")
    return items[0]


def _measure(handlers: Handlers, service: str, event: dict[str, Any], calls: int) -> dict[str, Any]:
    with metered() as usage:
        response = handlers.call(service, event)
    expect(response, 200, f"{event['routeKey']} {event.get('rawQueryString', '')}")
    samples = []
    handler, fn = handlers.handler(service), handlers.functions[service]
    with handlers.as_function(service):
        for _ in range(calls):
            context = LambdaContext(fn, fn.timeout_s)
            started = time.perf_counter()
            handler(event, context)
            samples.append((time.perf_counter() - started) * 1000)
    return {
        "items_read": usage.items_read,
        "items_returned": len(response.body.get("items", [])),
        "dynamodb_calls": dict(usage.calls),
        "read_units": usage.read_units,
        "ms": summary(samples),
    }


def run(ctx: Context) -> dict[str, Any]:
    deployment = stack.deployed(ctx)
    functions = stack.functions(ctx)
    handlers: Handlers = ctx.cached("handlers", lambda: Handlers(functions, deployment.endpoint))
    client = boto3.client("dynamodb", endpoint_url=deployment.endpoint)
    products, orders = deployment.tables["product"], deployment.tables["order"]

    product_id = create_product(handlers, 0)
    product_template = client.get_item(TableName=products, Key={"id": {"S": product_id}})["Item"]
    order_template = _template_order(ctx, handlers, client, orders)
    _clear(client, products)
    _clear(client, orders)

    reader = f"reader-{uuid.uuid4().hex[:8]}"
    loaded = 0
    by_size = []
    for size in ctx.sizes.table_sizes:
        new = range(loaded, size)
        _batch_write(
            client,
            products,
            [
                {
                    **product_template,
                    "id": {"S": str(uuid.uuid4())},
                    "name": {"S": f"Product {i}"},
                    "category": {"S": f"cat-{i % CATEGORIES}"},
                }
                for i in new
            ],
        )
        _batch_write(
            client,
            orders,
            [
                {
                    **order_template,
                    "userName": {"S": reader if i < READER_ORDERS else f"buyer-{i % 997}"},
                    "orderDate": {"S": f"2026-01-01T00:00:00.{i:06d}Z"},
                    "orderId": {"S": str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench:{reader}:{i}"))},
                }
                for i in new
            ],
        )
        loaded = size
        calls = ctx.sizes.read_latency_calls
        started = time.perf_counter()
        scanned = sum(p["ScannedCount"] for p in client.get_paginator("scan").paginate(TableName=products))
        whole_scan_ms = (time.perf_counter() - started) * 1000
        by_size.append(
            {
                "items_in_table": size,
                "product_table_count": _count(client, products),
                "requests": {
                    "GET /product": _measure(handlers, "product", http_event("GET", "GET /product"), calls),
                    "GET /product?category": _measure(
                        handlers, "product", http_event("GET", "GET /product", query={"category": "cat-1"}), calls
                    ),
                    "GET /order/{userName}": _measure(
                        handlers, "ordering", http_event("GET", "GET /order/{userName}", {"userName": reader}), calls
                    ),
                },
                # What the reference's unpaged `GET /product` reads: every item, on every request.
                "unpaged_scan": {"items_read": scanned, "ms": round(whole_scan_ms, 2)},
            }
        )
    return {
        "categories": CATEGORIES,
        "reader_orders": READER_ORDERS,
        "sizes": by_size,
        "note": "items_read = ScannedCount summed over the request's DynamoDB calls (GetItem counts 1).",
    }
