"""Basket service: baskets priced from the catalogue, and checkout that becomes exactly one order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponseHeader
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from handlers.basket.models import BasketIn, CheckoutIn
from handlers.shared import auth, aws, jsonio, metrics, tracing
from handlers.shared.contract import (
    BASKET_EXPIRY_ATTRIBUTE,
    CHECKOUT_DETAIL_TYPE,
    EVENT_SOURCE,
    METRIC_CHECKOUT_VALUE,
    METRIC_CHECKOUTS_ACCEPTED,
    SCHEMA_VERSION,
)
from handlers.shared.dynamodb import Table, from_wire
from handlers.shared.errors import (
    ApiError,
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    ServiceUnavailableError,
    UnprocessableError,
)
from handlers.shared.events import CheckoutBasket
from handlers.shared.http import error_responses, json_response, make_resolver, no_content, ok_response
from handlers.shared.models import USER_NAME_PATTERN, Page
from handlers.shared.paging import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, page
from handlers.shared.settings import require_env

# checkoutId = uuid5(CHECKOUT_NAMESPACE, "userName:basketId:version"): never change it, or a checkout retried
# across a deployment would get a new id and could become a second order.
CHECKOUT_NAMESPACE = uuid.UUID("99d20a3a-3737-4194-bec8-ef663c18a606")
# BatchGetItem may leave keys unprocessed under load; a few immediate retries, then a 503.
_BATCH_GET_ATTEMPTS = 3
# Every basket write leaves a `write:<time>:<id>` attribute holding the version it produced: a re-send of the
# same request (the SDK's, after a lost answer) finds it and is not applied again, however many writes came in
# between, and is answered with what it wrote. Entries older than this are removed once there are more than
# _WRITE_ENTRIES: the SDK re-sends within seconds (handlers.shared.aws).
_WRITE_PREFIX = "write:"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_WRITE_MEMORY = timedelta(seconds=60)
_WRITE_ENTRIES = 16
# A checked-out basket stays as a marker this long (the table's TTL removes it), so a client that retries a
# checkout whose answer it lost is told the same 202 instead of 404.
CHECKOUT_MARKER_TTL = timedelta(days=7)
# What a basket item carries besides the basket itself; the API never shows it.
_BOOKKEEPING = frozenset({"checkedOutAt", "checkoutId", BASKET_EXPIRY_ATTRIBUTE})

logger = Logger()
_dynamodb = aws.dynamodb()
baskets = Table(_dynamodb, require_env("BASKET_TABLE_NAME"))
products = Table(_dynamodb, require_env("PRODUCT_TABLE_NAME"))
EVENT_BUS_NAME = require_env("EVENT_BUS_NAME")
app = make_resolver(logger)

UserPath = Annotated[str, Path(min_length=1, max_length=64, pattern=USER_NAME_PATTERN, description="user name")]
IfMatch = Annotated[
    str | None,
    Header(
        max_length=1024,
        description="write only if the basket's current ETag is one of these (or `*`: if there is a basket)",
    ),
]
_ETAG: dict[str, OpenAPIResponseHeader] = {
    "ETag": {"description": "this basket version's tag, for If-Match", "schema": {"type": "string"}}
}
IfNoneMatch = Annotated[str | None, Header(max_length=1024, description="`*`: write only if there is no basket")]


@app.get(
    "/basket", security=auth.ADMIN, responses={200: ok_response(Page, "A page of baskets"), **error_responses(401, 403)}
)
def list_baskets(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response[Any]:
    start = decode_cursor(cursor, frozenset({"userName"}))
    result = baskets.scan(
        Limit=limit,
        FilterExpression="attribute_not_exists(checkoutId)",  # not the markers of checked-out baskets
        **({"ExclusiveStartKey": start} if start else {}),
    )
    return json_response(200, page([_public(item) for item in result["Items"]], result.get("LastEvaluatedKey")))


@app.post(
    "/basket",
    security=auth.SIGNED_IN,
    responses={
        200: {"description": "The basket as stored", "headers": _ETAG},
        **error_responses(401, 403, 409, 412, 413, 415, 422),
    },
)
def put_basket(basket: BasketIn, if_match: IfMatch = None, if_none_match: IfNoneMatch = None) -> Response[Any]:
    user_name = auth.own_basket(app, basket.userName)
    catalogue = _catalogue({line.productId for line in basket.items})
    unknown, details = _unknown_products([line.productId for line in basket.items], catalogue)
    if unknown:
        raise UnprocessableError(f"unknown product(s): {unknown}", details)
    lines = _priced([line.model_dump(exclude_none=True) for line in basket.items], catalogue)
    now = _now()
    write = f"{_WRITE_PREFIX}{now}:{uuid.uuid4().hex[:12]}"  # this request's, kept by every re-send of it
    conditions, values = _preconditions(if_match, if_none_match)
    try:
        # One atomic write, so concurrent writers never retry each other: a new basket gets an id, a replaced one
        # keeps it and counts up, and it forgets a checkout pinned on, or marked for, the previous version.
        stored = baskets.update_item(
            Key={"userName": user_name},
            UpdateExpression=(
                "SET basketId = if_not_exists(basketId, :newId), #version = if_not_exists(#version, :zero) + :one,"
                " #write = if_not_exists(#version, :zero) + :one,"
                " #items = :items, totalPrice = :total, updatedAt = :now"
                " REMOVE checkedOutAt, checkoutId, #expires"
            ),
            ConditionExpression=" AND ".join(["attribute_not_exists(#write)", *conditions]),
            ExpressionAttributeNames={
                "#version": "version",
                "#write": write,
                "#items": "items",
                "#expires": BASKET_EXPIRY_ATTRIBUTE,
            },
            ExpressionAttributeValues={
                ":newId": str(uuid.uuid4()),
                ":zero": 0,
                ":one": 1,
                ":items": lines,
                ":total": _total(lines),
                ":now": now,
                **values,
            },
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )["Attributes"]
    except ClientError as error:
        if aws.error_code(error) != "ConditionalCheckFailedException":
            raise
        current = from_wire(error.response["Item"]) if error.response.get("Item") else {}
        if write not in current:
            raise PreconditionFailedError("the basket does not match If-Match / If-None-Match") from None
        # This request's earlier send was applied: answer what it wrote, whatever came after it.
        stored = {
            "userName": user_name,
            "basketId": current["basketId"],
            "version": current[write],
            "items": lines,
            "totalPrice": _total(lines),
            "updatedAt": now,
        }
    _forget_old_writes(stored)
    return json_response(200, _public(stored), headers={"ETag": _etag(stored)})


def _preconditions(if_match: str | None, if_none_match: str | None) -> tuple[list[str], dict[str, Any]]:
    """RFC 9110 conditional requests as DynamoDB conditions: If-Match names the ETags a write may replace (or `*`:
    any basket), If-None-Match: * creates only. A checkout marker is no basket."""
    conditions: list[str] = []
    values: dict[str, Any] = {}
    if if_match is not None:
        tags = [tag.strip() for tag in if_match.split(",")]
        if "*" in tags:
            conditions.append("attribute_exists(#version) AND attribute_not_exists(checkoutId)")
        else:
            etags = [etag for etag in map(_parse_etag, tags) if etag is not None]
            if not etags:
                raise PreconditionFailedError("If-Match names no ETag this API issues")
            alternatives = []
            for i, (basket_id, version) in enumerate(etags):
                alternatives.append(f"basketId = :ifBasket{i} AND #version = :ifVersion{i}")
                values |= {f":ifBasket{i}": basket_id, f":ifVersion{i}": version}
            # DynamoDB refuses redundant parentheses: one alternative goes without.
            either = alternatives[0] if len(alternatives) == 1 else " OR ".join(f"({a})" for a in alternatives)
            conditions.append(f"({either}) AND attribute_not_exists(checkoutId)")
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise PreconditionFailedError("only If-None-Match: * is supported on a write")
        conditions.append("(attribute_not_exists(#version) OR attribute_exists(checkoutId))")
    return conditions, values


def _parse_etag(tag: str) -> tuple[str, int] | None:
    basket_id, _, version = tag.removeprefix("W/").strip('"').rpartition(".")
    return (basket_id, int(version)) if basket_id and version.isdigit() else None


def _forget_old_writes(stored: dict[str, Any]) -> None:
    """Remove the write entries older than _WRITE_MEMORY once the basket holds more than _WRITE_ENTRIES of them."""
    entries = sorted(key for key in stored if key.startswith(_WRITE_PREFIX))
    cutoff = _WRITE_PREFIX + (datetime.now(UTC) - _WRITE_MEMORY).strftime(_TIME_FORMAT)
    old = [key for key in entries if key < cutoff]
    if len(entries) <= _WRITE_ENTRIES or not old:
        return
    try:
        # Unconditional and idempotent: removing an entry a concurrent trim removed already changes nothing.
        baskets.update_item(
            Key={"userName": stored["userName"]},
            UpdateExpression="REMOVE " + ", ".join(f"#old{i}" for i in range(len(old))),
            ExpressionAttributeNames={f"#old{i}": key for i, key in enumerate(old)},
        )
    except (ClientError, BotoCoreError) as error:
        # The write itself succeeded; the next write trims again.
        logger.warning("could not trim old write entries", extra={"error": repr(error)})


@app.get(
    "/basket/<userName>",
    security=auth.SIGNED_IN,
    responses={200: {"description": "The basket", "headers": _ETAG}, **error_responses(401, 403, 404)},
)
def get_basket(userName: UserPath) -> Response[Any]:  # noqa: N803 - the route's parameter name
    auth.owner_or_admin(app, userName)
    item = baskets.get_item(Key={"userName": userName}).get("Item")
    if item is None or _checked_out(item):
        raise NotFoundError(f"no basket for {userName}")
    return json_response(200, _public(item), headers={"ETag": _etag(item)})


@app.delete(
    "/basket/<userName>",
    security=auth.SIGNED_IN,
    responses={204: {"description": "Deleted"}, **error_responses(401, 403, 404)},
)
def delete_basket(userName: UserPath) -> Response[Any]:  # noqa: N803
    auth.owner_or_admin(app, userName)
    try:
        baskets.delete_item(
            Key={"userName": userName},
            ConditionExpression="attribute_exists(#user) AND attribute_not_exists(checkoutId)",
            ExpressionAttributeNames={"#user": "userName"},
        )
    except ClientError as error:
        if aws.error_code(error) == "ConditionalCheckFailedException":
            raise NotFoundError(f"no basket for {userName}") from None
        raise
    return no_content()


@app.post(
    "/basket/checkout",
    security=auth.SIGNED_IN,
    responses={
        202: {"description": "Accepted: it will become exactly one order (a retry is told the same checkout)"},
        **error_responses(401, 403, 404, 409, 413, 415, 422),
    },
)
def checkout(request: CheckoutIn) -> Response[Any]:
    try:
        return _checkout(request)
    except ApiError as error:
        metrics.refused(error.code)  # NOT_FOUND, CONFLICT, VALIDATION_ERROR, SERVICE_UNAVAILABLE, FORBIDDEN
        raise


def _checkout(request: CheckoutIn) -> Response[Any]:
    user_name = auth.own_basket(app, request.userName)
    # One round trip reads the basket and pins its checkout time: see _pin_checkout.
    basket, marker = _pin_checkout(user_name)
    if marker is not None:
        # Checked out already: most likely this client's retry of a checkout whose answer it lost.
        tracing.annotate("checkoutId", marker["checkoutId"])
        return _accepted(marker["checkoutId"], user_name, marker["totalPrice"])
    if basket is None:
        raise NotFoundError(f"no basket for {user_name}")
    if not basket.get("items"):
        raise ConflictError("the basket is empty")
    version = int(basket["version"])
    # Priced again from the catalogue: the order is charged at today's prices, not those of the day it was filled.
    catalogue = _catalogue({line["productId"] for line in basket["items"]})
    unknown, _ = _unknown_products([line["productId"] for line in basket["items"]], catalogue)
    if unknown:
        raise ConflictError(f"product(s) no longer in the catalogue: {unknown}; update the basket")
    checkout_id = str(uuid.uuid5(CHECKOUT_NAMESPACE, f"{user_name}:{basket['basketId']}:{version}"))
    tracing.annotate("checkoutId", checkout_id)
    # Validated before anything is published: a basket that could not become an order (one stored under older
    # limits) is refused here and kept, rather than accepted and then lost to the dead-letter queue.
    event = _checkout_event(request, user_name, checkout_id, _priced(basket["items"], catalogue))
    event.checkedOutAt = str(basket["checkedOutAt"])
    _publish(event)
    metrics.count(METRIC_CHECKOUTS_ACCEPTED)
    metrics.amount(METRIC_CHECKOUT_VALUE, float(event.totalPrice))
    _mark_checked_out(basket, event)
    return _accepted(checkout_id, user_name, event.totalPrice)


def _checkout_event(
    request: CheckoutIn, user_name: str, checkout_id: str, lines: list[dict[str, Any]]
) -> CheckoutBasket:
    detail = {
        "schemaVersion": SCHEMA_VERSION,
        "checkoutId": checkout_id,
        "items": lines,
        "totalPrice": _total(lines),
        **request.model_dump(exclude={"userName"}),
        "userName": user_name,
        "checkedOutAt": _now(),  # provisional: the pinned time replaces it
    }
    try:
        return CheckoutBasket.model_validate(detail)
    except ValidationError as error:
        problems = [
            {"loc": ["basket", *map(str, e["loc"])], "type": e["type"], "msg": e["msg"]} for e in error.errors()
        ]
        message = "the basket cannot become an order; update it and check out again"
        raise UnprocessableError(message, problems) from None


def _mark_checked_out(basket: dict[str, Any], event: CheckoutBasket) -> None:
    """Replace the basket by the marker of its checkout (the basket is gone; a retried checkout finds the marker)."""
    try:
        baskets.update_item(
            Key={"userName": basket["userName"]},
            UpdateExpression="SET checkoutId = :checkoutId, totalPrice = :total, #expires = :expires REMOVE #items",
            ConditionExpression="basketId = :basketId AND #version = :version",
            ExpressionAttributeNames={"#items": "items", "#version": "version", "#expires": BASKET_EXPIRY_ATTRIBUTE},
            ExpressionAttributeValues={
                ":checkoutId": event.checkoutId,
                ":total": event.totalPrice,
                ":expires": int((datetime.now(UTC) + CHECKOUT_MARKER_TTL).timestamp()),
                ":basketId": basket["basketId"],
                ":version": basket["version"],
            },
        )
    except (ClientError, BotoCoreError) as error:
        # The event is out, so this checkout is accepted and will be exactly one order, whatever happens to the
        # basket now: answering 503 here would tell the client it failed. A racing checkout of the same version
        # already marked it, or the user saved a newer basket (theirs to keep); or the table is unavailable and
        # the basket stays, pinned to this checkout: checking it out again republishes the same event.
        if isinstance(error, ClientError) and aws.error_code(error) == "ConditionalCheckFailedException":
            logger.info("basket changed after publishing", extra={"checkoutId": event.checkoutId})
        elif aws.is_unavailable(error):
            logger.warning("basket kept after an accepted checkout", extra={"checkoutId": event.checkoutId})
        else:
            raise


def _accepted(checkout_id: str, user_name: str, total: Decimal) -> Response[Any]:
    body = {"checkoutId": checkout_id, "userName": user_name, "totalPrice": total, "status": "ACCEPTED"}
    return json_response(202, body)


def _pin_checkout(user_name: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(basket, None) with its checkout time pinned, (None, marker) once checked out, (None, None) with no basket.

    The checkout time of a basket version is set by its first checkout attempt and reused by every retry, so a
    retry publishes the same event (same checkoutId, same order key), which the consumer recognises as the order it
    already wrote. Reading the basket and pinning it are one UpdateItem returning the basket as written: the
    version it returns is the one the time is pinned on, with no read-then-write race to lose. A checkout that is
    then refused (empty basket, unknown product, a basket that cannot become an order) leaves the basket as it
    was but for that pin, which the API never shows and the basket's next write removes.
    """
    try:
        result = baskets.update_item(
            Key={"userName": user_name},
            UpdateExpression="SET checkedOutAt = if_not_exists(checkedOutAt, :now)",
            # A basket, not the marker of its checkout; and never creating one.
            ConditionExpression="attribute_exists(#version) AND attribute_not_exists(checkoutId)",
            ExpressionAttributeNames={"#version": "version"},
            ExpressionAttributeValues={":now": _now()},
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if aws.error_code(error) != "ConditionalCheckFailedException":
            raise
        current = from_wire(error.response["Item"]) if error.response.get("Item") else None
        return None, current if current is not None and _checked_out(current) else None
    return result["Attributes"], None


def _publish(event: CheckoutBasket) -> None:
    entry = {
        "Source": EVENT_SOURCE,
        "DetailType": CHECKOUT_DETAIL_TYPE,
        "Detail": jsonio.dumps(event.model_dump(exclude_none=True)),
        "EventBusName": EVENT_BUS_NAME,
    }
    unavailable = ServiceUnavailableError("checkout cannot be accepted right now; the basket is kept, retry later")
    try:
        result = events().put_events(Entries=[entry])
    except (ClientError, BotoCoreError) as error:
        logger.warning("PutEvents failed", extra={"checkoutId": event.checkoutId, "error": repr(error)})
        raise unavailable from None
    if result.get("FailedEntryCount"):
        failed = result.get("Entries", [{}])[0]
        logger.warning("PutEvents rejected the entry", extra={"checkoutId": event.checkoutId, "entry": failed})
        raise unavailable


@cache
def events() -> BaseClient:
    """The EventBridge client, built by the first checkout: no other route publishes, and a second client
    would add ~3 % to every cold start."""
    return aws.events()


def _public(basket: dict[str, Any]) -> dict[str, Any]:
    """The basket as the API shows it: without the bookkeeping of idempotent writes and checkouts."""
    return {
        key: value for key, value in basket.items() if key not in _BOOKKEEPING and not key.startswith(_WRITE_PREFIX)
    }


def _checked_out(item: dict[str, Any]) -> bool:
    """True for the marker a checkout leaves in place of the basket."""
    return "checkoutId" in item


def _etag(basket: dict[str, Any]) -> str:
    # basketId and version together: versions start over when a basket is deleted and written again.
    return f'"{basket["basketId"]}.{basket["version"]}"'


def _catalogue(product_ids: set[str]) -> dict[str, dict[str, Any]]:
    """id -> {id, name, price} of those products that exist (BatchGetItem: <= 50 ids, one request)."""
    if not product_ids:
        return {}
    keys = [{"id": product_id} for product_id in sorted(product_ids)]
    found: dict[str, dict[str, Any]] = {}
    for _ in range(_BATCH_GET_ATTEMPTS):
        items, keys = products.batch_get(
            keys, ProjectionExpression="id, #name, price", ExpressionAttributeNames={"#name": "name"}
        )
        found.update((item["id"], item) for item in items)
        if not keys:
            return found
    raise ServiceUnavailableError("the catalogue is busy, retry later")


def _unknown_products(product_ids: list[str], catalogue: dict[str, dict[str, Any]]) -> tuple[str, list[dict]]:
    """The missing products of `product_ids` (basket line order): their names and per-line details."""
    missing = [(i, product_id) for i, product_id in enumerate(product_ids) if product_id not in catalogue]
    details = [
        {"loc": ["body", "items", i, "productId"], "type": "unknown_product", "msg": f"no product {product_id}"}
        for i, product_id in missing
    ]
    return ", ".join(sorted({product_id for _, product_id in missing})), details


def _priced(lines: list[dict[str, Any]], catalogue: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Basket lines with the catalogue's name and unit price (every product is in `catalogue`)."""
    priced = []
    for line in lines:
        product = catalogue[line["productId"]]
        entry = {
            "productId": line["productId"],
            "productName": product["name"],
            "quantity": int(line["quantity"]),
            "price": Decimal(product["price"]),
        }
        if line.get("color") is not None:
            entry["color"] = line["color"]
        priced.append(entry)
    return priced


def _total(lines: list[dict[str, Any]]) -> Decimal:
    return sum((line["price"] * line["quantity"] for line in lines), Decimal("0"))


def _now() -> str:
    # Fixed width with microseconds and Z, so the strings sort in time order (the order table's sort key).
    return datetime.now(UTC).strftime(_TIME_FORMAT)


@tracing.lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        return app.resolve(event, context)
    finally:
        metrics.flush()  # this invocation's business metrics, one EMF line
