"""Basket service: baskets priced from the catalogue, and checkout that becomes exactly one order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from handlers.basket.models import BasketIn, CheckoutIn
from handlers.shared import aws, coldstart, jsonio
from handlers.shared.dynamodb import Table, from_wire
from handlers.shared.errors import ConflictError, NotFoundError, ServiceUnavailableError, UnprocessableError
from handlers.shared.http import error_responses, json_response, make_resolver, no_content, ok_response
from handlers.shared.models import USER_NAME_PATTERN, Page
from handlers.shared.paging import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, page
from handlers.shared.settings import require_env

EVENT_SOURCE = "ecommerce.basket"
EVENT_DETAIL_TYPE = "CheckoutBasket"
# checkoutId = uuid5(CHECKOUT_NAMESPACE, "userName:basketId:version"): never change it, or a checkout retried
# across a deployment would get a new id and could become a second order.
CHECKOUT_NAMESPACE = uuid.UUID("99d20a3a-3737-4194-bec8-ef663c18a606")
# BatchGetItem may leave keys unprocessed under load; a few immediate retries, then a 503.
_BATCH_GET_ATTEMPTS = 3

logger = Logger()
_dynamodb = aws.dynamodb()
baskets = Table(_dynamodb, require_env("BASKET_TABLE_NAME"))
products = Table(_dynamodb, require_env("PRODUCT_TABLE_NAME"))
EVENT_BUS_NAME = require_env("EVENT_BUS_NAME")
app = make_resolver(logger)

UserPath = Annotated[str, Path(min_length=1, max_length=64, pattern=USER_NAME_PATTERN, description="user name")]


@app.get("/basket", responses={200: ok_response(Page, "A page of baskets"), **error_responses()})
def list_baskets(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response[Any]:
    start = decode_cursor(cursor, frozenset({"userName"}))
    result = baskets.scan(Limit=limit, **({"ExclusiveStartKey": start} if start else {}))
    return json_response(200, page([_public(item) for item in result["Items"]], result.get("LastEvaluatedKey")))


@app.post("/basket", responses={200: {"description": "The basket as stored"}, **error_responses(413, 415, 422)})
def put_basket(basket: BasketIn) -> Response[Any]:
    catalogue = _catalogue({line.productId for line in basket.items})
    unknown, details = _unknown_products([line.productId for line in basket.items], catalogue)
    if unknown:
        raise UnprocessableError(f"unknown product(s): {unknown}", details)
    lines = _priced([line.model_dump(exclude_none=True) for line in basket.items], catalogue)
    # The SDK sends a write again when its answer is late, and DynamoDB may have applied the first send: the
    # request's own id, kept on the item, turns that second send into a no-op instead of a second version.
    write_id = str(uuid.uuid4())
    try:
        result = baskets.update_item(
            Key={"userName": basket.userName},
            # One atomic write: a new basket gets an id, a replaced one keeps it; every write is a new version,
            # and forgets a checkout pinned on the previous version (that one is no longer what will be ordered).
            UpdateExpression=(
                "SET basketId = if_not_exists(basketId, :newId), version = if_not_exists(version, :zero) + :one,"
                " #items = :items, totalPrice = :total, updatedAt = :now, writeId = :writeId REMOVE checkedOutAt"
            ),
            ConditionExpression="attribute_not_exists(writeId) OR writeId <> :writeId",
            ExpressionAttributeNames={"#items": "items"},
            ExpressionAttributeValues={
                ":newId": str(uuid.uuid4()),
                ":zero": 0,
                ":one": 1,
                ":items": lines,
                ":total": _total(lines),
                ":now": _now(),
                ":writeId": write_id,
            },
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        stored = result["Attributes"]
    except ClientError as error:
        if aws.error_code(error) != "ConditionalCheckFailedException":
            raise
        # Only this request's earlier send can have set its id: the basket is what that send wrote.
        stored = from_wire(error.response["Item"])
    return json_response(200, _public(stored))


@app.get("/basket/<userName>", responses={200: {"description": "The basket"}, **error_responses(404)})
def get_basket(userName: UserPath) -> Response[Any]:  # noqa: N803 - the route's parameter name
    item = baskets.get_item(Key={"userName": userName}).get("Item")
    if item is None:
        raise NotFoundError(f"no basket for {userName}")
    return json_response(200, _public(item))


@app.delete("/basket/<userName>", responses={204: {"description": "Deleted"}, **error_responses(404)})
def delete_basket(userName: UserPath) -> Response[Any]:  # noqa: N803
    try:
        baskets.delete_item(
            Key={"userName": userName},
            ConditionExpression="attribute_exists(#user)",
            ExpressionAttributeNames={"#user": "userName"},
        )
    except ClientError as error:
        if aws.error_code(error) == "ConditionalCheckFailedException":
            raise NotFoundError(f"no basket for {userName}") from None
        raise
    return no_content()


@app.post(
    "/basket/checkout",
    responses={
        202: {"description": "Accepted: it will become exactly one order"},
        **error_responses(404, 409, 413, 415, 422),
    },
)
def checkout(request: CheckoutIn) -> Response[Any]:
    basket = baskets.get_item(Key={"userName": request.userName}, ConsistentRead=True).get("Item")
    if basket is None:
        raise NotFoundError(f"no basket for {request.userName}")
    if not basket.get("items"):
        raise ConflictError("the basket is empty")
    version = int(basket["version"])
    # Priced again from the catalogue: the order is charged at today's prices, not those of the day it was filled.
    catalogue = _catalogue({line["productId"] for line in basket["items"]})
    unknown, _ = _unknown_products([line["productId"] for line in basket["items"]], catalogue)
    if unknown:
        raise ConflictError(f"product(s) no longer in the catalogue: {unknown}; update the basket")
    lines = _priced(basket["items"], catalogue)
    checked_out_at = _pin_checkout_time(request.userName, version)
    checkout_id = str(uuid.uuid5(CHECKOUT_NAMESPACE, f"{request.userName}:{basket['basketId']}:{version}"))
    total = _total(lines)
    _publish(
        {
            "schemaVersion": 1,
            "checkoutId": checkout_id,
            "userName": request.userName,
            "items": lines,
            "totalPrice": total,
            "firstName": request.firstName,
            "lastName": request.lastName,
            "email": request.email,
            "address": request.address,
            "paymentMethod": request.paymentMethod,
            "checkedOutAt": checked_out_at,
        }
    )
    try:
        baskets.delete_item(
            Key={"userName": request.userName},
            ConditionExpression="#version = :version",
            ExpressionAttributeNames={"#version": "version"},
            ExpressionAttributeValues={":version": version},
        )
    except (ClientError, BotoCoreError) as error:
        # The event is out, so this checkout is accepted and will be exactly one order, whatever happens to the
        # basket now: answering 503 here would tell the client it failed. A racing checkout of the same version
        # already removed the basket, or the user saved a newer one (theirs to keep); or the table is unavailable
        # and the basket stays, pinned to this checkout: checking it out again republishes the same event.
        if isinstance(error, ClientError) and aws.error_code(error) == "ConditionalCheckFailedException":
            logger.info("basket gone or changed after publishing", extra={"checkoutId": checkout_id})
        elif aws.is_unavailable(error):
            logger.warning("basket kept after an accepted checkout", extra={"checkoutId": checkout_id})
        else:
            raise
    body = {"checkoutId": checkout_id, "userName": request.userName, "totalPrice": total, "status": "ACCEPTED"}
    return json_response(202, body)


def _pin_checkout_time(user_name: str, version: int) -> str:
    """The checkout time of this basket version, set by its first checkout attempt and reused by every retry.

    A retry therefore publishes the same event (same checkoutId, same order key), which the consumer
    recognises as the order it already wrote.
    """
    try:
        result = baskets.update_item(
            Key={"userName": user_name},
            UpdateExpression="SET checkedOutAt = if_not_exists(checkedOutAt, :now)",
            ConditionExpression="#version = :version",
            ExpressionAttributeNames={"#version": "version"},
            ExpressionAttributeValues={":now": _now(), ":version": version},
            ReturnValues="UPDATED_NEW",
        )
    except ClientError as error:
        if aws.error_code(error) == "ConditionalCheckFailedException":
            raise ConflictError("the basket changed during checkout; review it and check out again") from None
        raise
    return str(result["Attributes"]["checkedOutAt"])


def _publish(detail: dict[str, Any]) -> None:
    entry = {
        "Source": EVENT_SOURCE,
        "DetailType": EVENT_DETAIL_TYPE,
        "Detail": jsonio.dumps(detail),
        "EventBusName": EVENT_BUS_NAME,
    }
    unavailable = ServiceUnavailableError("checkout cannot be accepted right now; the basket is kept, retry later")
    try:
        result = events().put_events(Entries=[entry])
    except (ClientError, BotoCoreError) as error:
        logger.warning("PutEvents failed", extra={"checkoutId": detail["checkoutId"], "error": repr(error)})
        raise unavailable from None
    if result.get("FailedEntryCount"):
        failed = result.get("Entries", [{}])[0]
        logger.warning("PutEvents rejected the entry", extra={"checkoutId": detail["checkoutId"], "entry": failed})
        raise unavailable


@cache
def events() -> BaseClient:
    """The EventBridge client, built by the first checkout: no other route publishes, and a second client
    would add ~3 % to every cold start."""
    return aws.events()


def _public(basket: dict[str, Any]) -> dict[str, Any]:
    """The basket as the API shows it: without the bookkeeping of idempotent writes."""
    return {key: value for key, value in basket.items() if key != "writeId"}


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
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


# Last statement: the service is initialised (handlers.shared.coldstart).
coldstart.done()
