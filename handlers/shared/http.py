"""The HTTP side every service shares: one resolver factory, and every error mapped to a response here.

Handlers raise typed errors (`handlers.shared.errors`) or let AWS errors propagate; nothing else
decides a status code. The catch-all exists for bugs only: every input is meant to end in a 4xx above it.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import content_types
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as NoRouteError
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from handlers.shared import auth, jsonio, routes
from handlers.shared.aws import is_unavailable
from handlers.shared.errors import (
    ApiError,
    BadRequestError,
    NotFoundError,
    ServiceUnavailableError,
    UnsupportedMediaTypeError,
)
from handlers.shared.models import ErrorBody

JSON = content_types.APPLICATION_JSON

_ERROR_DESCRIPTIONS = {
    400: "Malformed request: bad JSON, path or query parameters, or cursor",
    401: "No valid access token (answered by the API's authorizer, in its own shape, before the function)",
    403: "Signed in, but not allowed: another user's data, or an admin's route",
    404: "No such resource",
    409: "Conflicts with the current state",
    412: "If-Match or If-None-Match does not hold for the current state",
    413: f"Request body larger than {jsonio.MAX_BODY_BYTES} bytes",
    415: "Request body is not application/json",
    422: "Request body fails validation",
    503: "A dependency is unavailable; retry later",
}


def error_responses(*statuses: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI declarations of the errors a route may answer (400 and 503 apply to every route)."""
    return {
        status: {"description": _ERROR_DESCRIPTIONS[status], "content": {JSON: {"model": ErrorBody}}}
        for status in sorted({400, 503, *statuses})
    }


def ok_response(model: type, description: str) -> OpenAPIResponse:
    """OpenAPI declaration of a success response whose body is `model`."""
    return {"description": description, "content": {JSON: {"model": model}}}


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    # Serialized here, so no later step re-encodes it: Powertools' response encoder would turn Decimal into str.
    return Response(status_code=status, content_type=JSON, body=jsonio.dumps(body), headers=headers)


def no_content() -> Response:
    # "" rather than None: API Gateway sends an empty body for either, but MiniStack 1.5.33 answers 500 to a
    # Lambda response whose body is null (its ASGI send calls None.encode), so every DELETE failed locally.
    return Response(status_code=HTTPStatus.NO_CONTENT, body="")


def _error(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> Response:
    body: dict[str, Any] = {"error": code, "message": message}
    if details:
        body["details"] = details
    return json_response(status, body)


class _JsonOnlyRequestValidation(OpenAPIRequestValidationMiddleware):
    """Who may call comes first (401/403 before a body is looked at), then validation. Powertools also decodes
    form and multipart bodies into the model; this API speaks JSON only."""

    def handler(self, app: Any, next_middleware: Any) -> Response:
        route = app.context["_route"]
        auth.authorize(app, route.security)
        _whole_numbers_in_digits(app, route)
        return super().handler(app, next_middleware)

    def _get_body(self, app: Any) -> dict[str, Any]:
        # The media type, compared whole and case-insensitively (RFC 9110 §8.3.1): `Application/JSON` and
        # `application/json; charset=utf-8` are JSON, `application/jsonx` and `application/json-patch+json` are not.
        media_type = app.current_event.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type and media_type != JSON:
            raise UnsupportedMediaTypeError("request body must be application/json")
        body: Any = self._parse_json_data(app)  # None when there is no body
        return body


def _whole_numbers_in_digits(app: Any, route: Any) -> None:
    """An integer query parameter is plain ASCII digits: pydantic's lax mode would read `5_0`, ` 50`, `+50` and `50.0`
    as 50, which no client means (a 400, as any other malformed parameter)."""
    query = app.current_event.query_string_parameters or {}
    for field in route.dependant.query_params:
        value = query.get(field.alias)
        if field.field_info.annotation is int and value is not None and not (value.isascii() and value.isdigit()):
            raise BadRequestError(
                "request parameters are invalid",
                [{"loc": ["query", field.alias], "type": "int_parsing", "msg": "a whole number in digits"}],
            )


class _Resolver(APIGatewayHttpResolver):
    """Answers HEAD as GET without the body: the API routes `HEAD <path>` of every GET route to the same function
    (components.http_api), with the same authorization."""

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        request = event.get("requestContext", {}).get("http", {})
        if request.get("method") != "HEAD":
            return super().resolve(event, context)
        as_get = {**event, "requestContext": {**event["requestContext"], "http": {**request, "method": "GET"}}}
        return {**super().resolve(as_get, context), "body": "", "isBase64Encoded": False}


def make_resolver(logger: Logger) -> APIGatewayHttpResolver:
    """An HTTP API (payload 2.0) resolver with pydantic validation, Decimal-exact JSON and our error mapping."""
    app = _Resolver(
        enable_validation=True,
        serializer=jsonio.dumps,
        json_body_deserializer=jsonio.loads,
    )
    # Powertools picks the request-validation middleware from this attribute when it builds each route's
    # middleware stack; it is the only hook that runs before the body is parsed.
    app._request_validation_middleware = _JsonOnlyRequestValidation()

    @app.exception_handler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return _error(error.status, error.code, error.message, error.details)

    @app.exception_handler(RequestValidationError)
    def _invalid(error: RequestValidationError) -> Response:
        problems = [
            {"loc": [str(part) for part in e.get("loc", ())], "type": e.get("type"), "msg": e.get("msg")}
            for e in error.errors()
        ]
        # A bad path or query parameter is a malformed request (400); a body that parses but breaks the
        # model is a validation error (422).
        if any(p["loc"][:1] == ["body"] for p in problems):
            return _error(422, "VALIDATION_ERROR", "request body is invalid", problems)
        return _error(400, "BAD_REQUEST", "request parameters are invalid", problems)

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(_: RequestUnsupportedContentType) -> Response:
        error = UnsupportedMediaTypeError("request body must be application/json")
        return _error(error.status, error.code, error.message)

    @app.exception_handler([binascii.Error, UnicodeDecodeError])
    def _undecodable(_: Exception) -> Response:
        # The event's base64 body does not decode to UTF-8 text.
        error = BadRequestError("request body is not valid UTF-8 JSON")
        return _error(error.status, error.code, error.message)

    @app.not_found
    def _no_route(_: NoRouteError) -> Response:
        # What no route of this function takes: the API's `$default` route brings here whatever no route of the
        # API matches, so the answer comes from the whole API's table (handlers.shared.routes).
        allowed = routes.allowed_methods(app.current_event.path)
        if not allowed:
            error: ApiError = NotFoundError("no such route")
            return _error(error.status, error.code, error.message)
        if app.current_event.http_method not in allowed:
            response = _error(405, "METHOD_NOT_ALLOWED", f"this path answers {', '.join(allowed)}")
            response.headers["Allow"] = ", ".join(allowed)
            return response
        # A method the path's route serves, on a path no route took as written (an encoded "/" in a parameter).
        error = BadRequestError("malformed path")
        return _error(error.status, error.code, error.message)

    @app.exception_handler(ServiceError)
    def _powertools(error: ServiceError) -> Response:
        return _error(error.status_code, HTTPStatus(error.status_code).name, str(error.msg))

    @app.exception_handler([ClientError, BotoCoreError])
    def _aws(error: Exception) -> Response:
        if is_unavailable(error):
            logger.warning("dependency unavailable", extra={"error": repr(error)})
            unavailable = ServiceUnavailableError("a dependency is unavailable, retry later")
            return _error(unavailable.status, unavailable.code, unavailable.message)
        logger.exception("AWS call failed")
        return _error(500, "INTERNAL_ERROR", "internal error")

    @app.exception_handler(Exception)
    def _bug(_: Exception) -> Response:
        logger.exception("unhandled error")
        return _error(500, "INTERNAL_ERROR", "internal error")

    return app
