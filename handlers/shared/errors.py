"""Typed errors the handlers raise. `handlers.shared.http` maps them to responses in one place."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the client is told about: a status, a stable code and a message written for the client."""

    status: int = 500
    code: str = "INTERNAL_ERROR"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequestError(ApiError):
    status, code = 400, "BAD_REQUEST"


class UnauthorizedError(ApiError):
    status, code = 401, "UNAUTHORIZED"


class ForbiddenError(ApiError):
    status, code = 403, "FORBIDDEN"


class NotFoundError(ApiError):
    status, code = 404, "NOT_FOUND"


class ConflictError(ApiError):
    status, code = 409, "CONFLICT"


class PreconditionFailedError(ApiError):
    status, code = 412, "PRECONDITION_FAILED"


class PayloadTooLargeError(ApiError):
    status, code = 413, "PAYLOAD_TOO_LARGE"


class UnsupportedMediaTypeError(ApiError):
    status, code = 415, "UNSUPPORTED_MEDIA_TYPE"


class UnprocessableError(ApiError):
    status, code = 422, "VALIDATION_ERROR"


class ServiceUnavailableError(ApiError):
    status, code = 503, "SERVICE_UNAVAILABLE"
