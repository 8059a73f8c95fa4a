"""Every error in one shape: typed errors, validation, AWS failures and bugs mapped to statuses and codes by
handlers.shared.http, and the answers for requests no route takes (handlers.shared.routes)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from handlers.shared import errors, jsonio, routes
from handlers.shared.aws import is_unavailable
from handlers.shared.http import make_resolver
from handlers.shared.models import Strict
from handlers.shared.paging import DEFAULT_LIMIT, Limit
from tests.kit.events import LambdaContext, http_event

from .kit import Answer, answer

RAISED: dict[str, Exception] = {}
app = make_resolver(Logger(service="unit", level="CRITICAL"))


class Thing(Strict):
    name: str


@app.get("/raise/<name>")
def _raise(name: str) -> Any:
    raise RAISED[name]


@app.get("/listing")
def _listing(limit: Limit = DEFAULT_LIMIT) -> Any:
    return {"limit": limit}


@app.post("/thing")
def _thing(thing: Thing) -> Any:
    return {"name": thing.name}


def _call(method: str, path: str, **kwargs: Any) -> Answer:
    context: Any = LambdaContext()  # the attributes Powertools reads, not its class
    return answer(app.resolve(http_event(method, path, **kwargs), context))


def _client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.BadRequestError("b"), 400, "BAD_REQUEST"),
        (errors.UnauthorizedError("u"), 401, "UNAUTHORIZED"),
        (errors.ForbiddenError("f"), 403, "FORBIDDEN"),
        (errors.NotFoundError("n"), 404, "NOT_FOUND"),
        (errors.ConflictError("c"), 409, "CONFLICT"),
        (errors.PreconditionFailedError("p"), 412, "PRECONDITION_FAILED"),
        (errors.PayloadTooLargeError("l"), 413, "PAYLOAD_TOO_LARGE"),
        (errors.UnsupportedMediaTypeError("m"), 415, "UNSUPPORTED_MEDIA_TYPE"),
        (errors.UnprocessableError("v"), 422, "VALIDATION_ERROR"),
        (errors.ServiceUnavailableError("s"), 503, "SERVICE_UNAVAILABLE"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_typed_error_is_its_status_code_and_message(error: errors.ApiError, status: int, code: str) -> None:
    # Given a handler that raises a typed error
    RAISED["it"] = error
    # When the route is called
    reply = _call("GET", "/raise/it")
    # Then the answer is its status, in the API's JSON error shape, with the handler's message
    assert reply.status == status, f"GET /raise/it raising {error!r}: {reply}"
    assert reply.headers["content-type"] == "application/json", reply
    assert reply.body == {"error": code, "message": error.message}, reply


def test_details_travel_with_the_error() -> None:
    details = [{"loc": ["body", "items", 0], "type": "unknown_product", "msg": "no product x"}]
    RAISED["it"] = errors.UnprocessableError("unknown product(s): x", details)
    assert _call("GET", "/raise/it").body["details"] == details


@pytest.mark.parametrize(
    "error",
    [
        _client_error("ProvisionedThroughputExceededException", 400),
        _client_error("ThrottlingException", 400),
        _client_error("AnythingAtAll", 503),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
        ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
    ],
    ids=["throughput", "throttling", "5xx", "connection", "read timeout"],
)
def test_a_dependency_that_cannot_serve_now_is_503(error: Exception) -> None:
    RAISED["it"] = error
    reply = _call("GET", "/raise/it")
    assert is_unavailable(error), error
    assert (reply.status, reply.body["error"]) == (503, "SERVICE_UNAVAILABLE"), f"{error!r}: {reply}"


@pytest.mark.parametrize(
    "error",
    [_client_error("ValidationException", 400), _client_error("AccessDeniedException", 400), KeyError("bug")],
    ids=["validation", "access denied", "a bug"],
)
def test_a_wrong_request_to_aws_or_a_bug_is_500_without_internals(error: Exception) -> None:
    RAISED["it"] = error
    reply = _call("GET", "/raise/it")
    assert not is_unavailable(error), error
    assert reply.status == 500 and reply.body == {"error": "INTERNAL_ERROR", "message": "internal error"}, reply


def test_a_bad_query_parameter_is_400_with_details() -> None:
    reply = _call("GET", "/listing", query={"limit": "0"})
    assert reply.status == 400 and reply.body["error"] == "BAD_REQUEST", reply
    assert reply.body["details"][0]["loc"] == ["query", "limit"], reply


@pytest.mark.parametrize("limit", ["5_0", " 50", "50 ", "+50", "50.0", "0x10", "\u0665", "", "1e1"])
def test_a_limit_not_in_plain_digits_is_400(limit: str) -> None:
    reply = _call("GET", "/listing", query={"limit": limit})
    assert reply.status == 400 and reply.body["details"][0]["type"] == "int_parsing", f"limit={limit!r}: {reply}"


def test_a_limit_in_digits_is_taken() -> None:
    reply = _call("GET", "/listing", query={"limit": "50"})
    assert (reply.status, reply.body) == (200, {"limit": 50}), reply


def test_a_body_that_parses_but_breaks_its_model_is_422() -> None:
    reply = _call("POST", "/thing", raw_body='{"name": "x", "extra": 1}')
    assert reply.status == 422 and reply.body["error"] == "VALIDATION_ERROR", reply
    assert any(problem["loc"][:1] == ["body"] for problem in reply.body["details"]), reply


@pytest.mark.parametrize("body", ["{oops", "[1,", '{"name": NaN}'], ids=["broken", "truncated", "NaN"])
def test_a_body_that_is_not_json_is_400(body: str) -> None:
    reply = _call("POST", "/thing", raw_body=body)
    assert (reply.status, reply.body["error"]) == (400, "BAD_REQUEST"), f"{body!r}: {reply}"


def test_a_body_over_the_limit_is_413() -> None:
    body = '{"name": "' + "x" * jsonio.MAX_BODY_BYTES + '"}'
    reply = _call("POST", "/thing", raw_body=body)
    assert (reply.status, reply.body["error"]) == (413, "PAYLOAD_TOO_LARGE"), reply


@pytest.mark.parametrize(
    "content_type",
    ["application/jsonx", "application/json-patch+json", "text/plain", "application/x-www-form-urlencoded"],
)
def test_another_media_type_is_415(content_type: str) -> None:
    reply = _call("POST", "/thing", raw_body='{"name": "x"}', headers={"content-type": content_type})
    assert (reply.status, reply.body["error"]) == (415, "UNSUPPORTED_MEDIA_TYPE"), f"{content_type}: {reply}"


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
def test_json_with_parameters_or_in_capitals_is_json(content_type: str) -> None:
    reply = _call("POST", "/thing", raw_body='{"name": "x"}', headers={"content-type": content_type})
    assert (reply.status, reply.body) == (200, {"name": "x"}), f"{content_type}: {reply}"


def test_a_path_no_route_of_the_api_has_is_404() -> None:
    reply = _call("GET", "/nope")
    assert (reply.status, reply.body["error"]) == (404, "NOT_FOUND"), reply


def test_a_path_of_the_api_with_another_method_is_405_with_allow() -> None:
    # /product is served by another function: the answer comes from the whole API's route table
    reply = _call("PATCH", "/product")
    assert (reply.status, reply.body["error"]) == (405, "METHOD_NOT_ALLOWED"), reply
    assert reply.headers["allow"] == "GET, HEAD, POST", reply


def test_head_is_answered_as_get_without_a_body() -> None:
    reply = _call("HEAD", "/listing")
    assert reply.status == 200 and reply.body is None, reply


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/product", ["GET", "HEAD", "POST"]),
        ("/product/p1", ["DELETE", "GET", "HEAD", "PUT"]),
        ("/basket/checkout", ["DELETE", "GET", "HEAD", "POST"]),  # also {userName}'s
        ("/order/ada", ["GET", "HEAD"]),
        ("/product/a/b", []),
        ("/", []),
    ],
)
def test_the_route_table_names_the_methods_of_each_path(path: str, allowed: list[str]) -> None:
    assert routes.allowed_methods(path) == allowed, path
