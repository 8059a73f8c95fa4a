"""Product service: the catalogue behind /product."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from handlers.product.models import Product, ProductIn, ProductPatch
from handlers.shared import auth, aws, tracing
from handlers.shared.dynamodb import Table
from handlers.shared.errors import NotFoundError
from handlers.shared.http import error_responses, json_response, make_resolver, no_content, ok_response
from handlers.shared.models import PRODUCT_ID_PATTERN, Page
from handlers.shared.paging import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, page
from handlers.shared.settings import require_env

CATEGORY_INDEX = "category-index"

logger = Logger()
table = Table(aws.dynamodb(), require_env("PRODUCT_TABLE_NAME"))
app = make_resolver(logger)

IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=PRODUCT_ID_PATTERN, description="product id")]
CategoryQuery = Annotated[str | None, Query(min_length=1, max_length=100, description="only this category")]


@app.get("/product", responses={200: ok_response(Page, "A page of products"), **error_responses()})
def list_products(category: CategoryQuery = None, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response[Any]:
    if category is None:
        result = table.scan(Limit=limit, **_start(decode_cursor(cursor, frozenset({"id"}))))
    else:
        # A Query on the category index reads only that category's items, however large the catalogue.
        start = decode_cursor(cursor, frozenset({"id", "category"}), fixed={"category": category})
        result = table.query(
            IndexName=CATEGORY_INDEX,
            KeyConditionExpression="#category = :category",
            ExpressionAttributeNames={"#category": "category"},
            ExpressionAttributeValues={":category": category},
            Limit=limit,
            **_start(start),
        )
    return json_response(200, page(result["Items"], result.get("LastEvaluatedKey")))


@app.post(
    "/product",
    security=auth.ADMIN,
    responses={201: ok_response(Product, "The created product"), **error_responses(401, 403, 413, 415, 422)},
)
def create_product(product: ProductIn) -> Response[Any]:
    item = {"id": str(uuid.uuid4()), **product.model_dump()}
    table.put_item(Item=item)
    return json_response(201, item, headers={"Location": f"/product/{item['id']}"})


@app.get("/product/<id>", responses={200: ok_response(Product, "The product"), **error_responses(404)})
def get_product(id: IdPath) -> Response[Any]:
    item = table.get_item(Key={"id": id}).get("Item")
    if item is None:
        raise NotFoundError(f"product {id} not found")
    return json_response(200, item)


@app.put(
    "/product/<id>",
    security=auth.ADMIN,
    responses={200: ok_response(Product, "Updated"), **error_responses(401, 403, 404, 413, 415, 422)},
)
def update_product(id: IdPath, patch: ProductPatch) -> Response[Any]:
    changes = patch.changes()
    names = {"#id": "id", **{f"#f{i}": field for i, field in enumerate(changes)}}
    values = {f":v{i}": value for i, value in enumerate(changes.values())}
    try:
        result = table.update_item(
            Key={"id": id},
            UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(changes))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            # Only an existing product: an update must not create a half-filled one.
            ConditionExpression="attribute_exists(#id)",
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if aws.error_code(error) == "ConditionalCheckFailedException":
            raise NotFoundError(f"product {id} not found") from None
        raise
    return json_response(200, result["Attributes"])


@app.delete(
    "/product/<id>", security=auth.ADMIN, responses={204: {"description": "Deleted"}, **error_responses(401, 403, 404)}
)
def delete_product(id: IdPath) -> Response[Any]:
    try:
        table.delete_item(
            Key={"id": id}, ConditionExpression="attribute_exists(#id)", ExpressionAttributeNames={"#id": "id"}
        )
    except ClientError as error:
        if aws.error_code(error) == "ConditionalCheckFailedException":
            raise NotFoundError(f"product {id} not found") from None
        raise
    return no_content()


def _start(key: dict[str, Any] | None) -> dict[str, Any]:
    return {"ExclusiveStartKey": key} if key else {}


@tracing.lambda_handler
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
