"""Ordering service: turns CheckoutBasket events (SQS batches) into orders, and serves /order."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from pydantic import ValidationError

from handlers.shared import auth, aws, metrics, tracing
from handlers.shared.contract import METRIC_ORDER_LAG, METRIC_ORDERS_PLACED
from handlers.shared.dynamodb import Table
from handlers.shared.events import CheckoutBasket, CheckoutRecord
from handlers.shared.http import error_responses, json_response, make_resolver, ok_response
from handlers.shared.models import USER_NAME_PATTERN, Page
from handlers.shared.paging import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, page
from handlers.shared.settings import require_env

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor

ORDER_STATUS = "PLACED"
ORDER_KEY = frozenset({"userName", "orderDate"})

logger = Logger()
orders = Table(aws.dynamodb(), require_env("ORDER_TABLE_NAME"))
app = make_resolver(logger)

UserPath = Annotated[str, Path(min_length=1, max_length=64, pattern=USER_NAME_PATTERN, description="user name")]
OrderDateQuery = Annotated[
    str | None,
    Query(pattern=r"^\d{4}-\d{2}-\d{2}[0-9T:.Z+-]{0,22}$", description="exact orderDate (ISO-8601 UTC)"),
]


class OrderConflictError(RuntimeError):
    """Another checkout already holds this order key: retry, and after maxReceiveCount, the DLQ keeps the event."""


@app.get(
    "/order", security=auth.ADMIN, responses={200: ok_response(Page, "A page of orders"), **error_responses(401, 403)}
)
def list_orders(limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response[Any]:
    start = decode_cursor(cursor, ORDER_KEY)
    result = orders.scan(Limit=limit, **({"ExclusiveStartKey": start} if start else {}))
    return json_response(200, page(result["Items"], result.get("LastEvaluatedKey")))


# 404: a path segment the resolver cannot read as a user name (e.g. non-ASCII) matches no route.
@app.get(
    "/order/<userName>",
    security=auth.SIGNED_IN,
    responses={200: ok_response(Page, "Orders, newest first"), **error_responses(401, 403, 404)},
)
def user_orders(
    userName: UserPath,  # noqa: N803 - the route's parameter name
    orderDate: OrderDateQuery = None,  # noqa: N803
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response[Any]:
    auth.owner_or_admin(app, userName)
    # With ?orderDate= the key condition pins the sort key too, and DynamoDB refuses (ValidationException, a 500)
    # a start key outside the condition: such a cursor is not one of this listing's.
    pinned = {"userName": userName} if orderDate is None else {"userName": userName, "orderDate": orderDate}
    start = decode_cursor(cursor, ORDER_KEY, fixed=pinned)
    condition = "#user = :user"
    names, values = {"#user": "userName"}, {":user": userName}
    if orderDate is not None:
        condition += " AND #date = :date"
        names["#date"] = "orderDate"
        values[":date"] = orderDate
    result = orders.query(
        KeyConditionExpression=condition,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
        ScanIndexForward=False,
        Limit=limit,
        **({"ExclusiveStartKey": start} if start else {}),
    )
    return json_response(200, page(result["Items"], result.get("LastEvaluatedKey")))


def place_order(record: SQSRecord) -> None:
    """One CheckoutBasket event -> one order, however many times it is delivered. Raising fails only this record.

    A failure is logged here with the record's checkoutId and the reason: the batch processor only reports the
    record back to the queue, and the next place anyone could look is the dead-letter queue.
    """
    checkout_id = _checkout_id(record.body)
    # The record's own correlation id: every line logged for it carries its checkoutId (the batch has none).
    logger.set_correlation_id(checkout_id)
    try:
        with tracing.subsegment("## place_order", checkoutId=checkout_id or "unknown"):
            _place(CheckoutRecord.model_validate_json(record.body).detail)
    except Exception as error:
        logger.warning(
            "checkout record failed",
            extra={"checkoutId": checkout_id, "messageId": record.message_id, "reason": _reason(error)},
        )
        raise
    finally:
        logger.set_correlation_id(None)


def _place(event: CheckoutBasket) -> None:
    order = {
        "userName": event.userName,
        "orderDate": event.checkedOutAt,
        "orderId": event.checkoutId,
        "status": ORDER_STATUS,
        **event.model_dump(exclude={"schemaVersion", "checkoutId", "userName", "checkedOutAt"}, exclude_none=True),
    }
    try:
        orders.put_item(
            Item=order,
            ConditionExpression="attribute_not_exists(#user)",
            ExpressionAttributeNames={"#user": "userName"},
        )
    except ClientError as error:
        if aws.error_code(error) != "ConditionalCheckFailedException":
            raise
        key = {"userName": event.userName, "orderDate": event.checkedOutAt}
        existing = orders.get_item(Key=key, ConsistentRead=True).get("Item") or {}
        if existing.get("orderId") != event.checkoutId:
            raise OrderConflictError(f"order key {key} is held by order {existing.get('orderId')}") from None
        logger.info("duplicate delivery, order already placed", extra={"orderId": event.checkoutId})
        return
    logger.info("order placed", extra={"orderId": event.checkoutId})
    metrics.count(METRIC_ORDERS_PLACED)
    metrics.milliseconds(METRIC_ORDER_LAG, _lag_ms(event.checkedOutAt))


def _lag_ms(checked_out_at: str) -> float:
    """Milliseconds from the checkout to now, when its order was written (checkedOutAt is UTC, ...Z)."""
    checked_out = datetime.fromisoformat(checked_out_at.replace("Z", "+00:00"))
    return max(0.0, (datetime.now(UTC) - checked_out).total_seconds() * 1000)


def _checkout_id(body: str) -> str | None:
    """The record's checkoutId if its body has one where a CheckoutBasket keeps it, valid or not."""
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return None
    checkout_id = detail.get("checkoutId") if isinstance(detail, dict) else None
    return checkout_id if isinstance(checkout_id, str) else None


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        # Field paths and messages, without the input values (which hold names and addresses).
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors())
        return f"invalid event: {problems}"[:1000]
    return f"{type(error).__name__}: {error}"[:1000]


@tracing.lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        if "Records" in event:
            return _place_orders(event, context)
        return app.resolve(event, context)
    finally:
        metrics.flush()  # this invocation's business metrics, one EMF line


def _place_orders(batch: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import process_partial_response

    processor = _batch_processor()
    return dict(process_partial_response(event=batch, record_handler=place_order, processor=processor, context=context))


@cache
def _batch_processor() -> BatchProcessor:
    # Imported by the first SQS batch, not at init: Powertools' batch utility and the parser models it loads
    # are ~6 % of a cold start, which a container serving HTTP does not need.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    # Failed records go back to the queue one by one (ReportBatchItemFailures); even a batch where every record
    # failed is answered that way rather than by raising, so one poison message cannot fail its neighbours.
    return BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
