"""The HTTP side every service shares: one resolver factory, and every error mapped to a response here.

Handlers raise typed errors (`handlers.shared.errors`) or let AWS errors propagate; nothing else
decides a status code. The catch-all exists for bugs only: every input is meant to end in a 4xx above it.
"""

from __future__ import annotations

import binascii
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
from botocore.exceptions import BotoCoreError, ClientError

from handlers.shared import auth, jsonio
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
        auth.authorize(app, app.context["_route"].security)
        return super().handler(app, next_middleware)

    def _get_body(self, app: Any) -> dict[str, Any]:
        content_type = app.current_event.headers.get("content-type", "").strip().lower()
        if content_type and not content_type.startswith(JSON):
            raise UnsupportedMediaTypeError("request body must be application/json")
        return super()._get_body(app)


def make_resolver(logger: Logger) -> APIGatewayHttpResolver:
    """An HTTP API (payload 2.0) resolver with pydantic validation, Decimal-exact JSON and our error mapping."""
    app = APIGatewayHttpResolver(
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
        error = NotFoundError("no such route")
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
