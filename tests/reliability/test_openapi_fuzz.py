"""Schemathesis against the running API, from the API's own OpenAPI document.

Every operation gets valid and invalid requests (path, query, headers, body); every answer must conform to the
document (status declared, body schema, content type), never be a 5xx, and never show a traceback, an exception
class or an AWS error code. Each request carries the access token of the caller the rules expect (the user the
request is about, or the admin), so it reaches the handlers rather than stopping at the API's authorizer; a
negative case that leaves the Authorization header out is sent without it, and must be refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from requests.structures import CaseInsensitiveDict

from localcloud.graph import PROJECT_DIR
from tests.kit.events import caller_of
from tests.reliability.reliability_kit import Cloud, leaks

GATEWAY_401 = {"message": "Unauthorized"}
# At least 2,000 requests over the 12 operations in the default run; operations with few inputs get fewer.
EXAMPLES_PER_OPERATION = 170


NOT_APPLICABLE = [
    # "Schema-valid data is accepted" cannot hold: validity also depends on the data (a basket's products must
    # exist in the catalogue; a cursor must be one the API issued), which no schema says.
    schemathesis.checks.positive_data_acceptance,
    # "An undeclared method is a 405": it is (test_security checks it), with an Allow that also names HEAD, which
    # the document leaves out (every GET answers HEAD); no 5xx, leak or malformed answer is excused by this.
    schemathesis.checks.unsupported_method,
]


def _document() -> dict[str, Any]:
    # Read in a child process: the handler modules read their environment when imported, and this process
    # must not hold copies configured with the document's placeholders when another suite imports them.
    printed = subprocess.run(
        [sys.executable, "-m", "handlers.openapi"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    return dict(json.loads(printed.stdout))


# Loaded when the module is collected, so each operation is a test of its own. (schemathesis.pytest.from_fixture
# would load it from the running stack, but schemathesis 4.32.5's lazy loader sets `Function._nodeid`, which
# pytest 9 no longer has.) The base URL is the running front's, given to each call.
schema = schemathesis.openapi.from_dict(_document())


_CALLER = "caller:"  # the mark CallerToken leaves in the Authorization header; the test swaps it for a token


@schema.auth(refresh_interval=None)
class CallerToken:
    """Marks each case with the caller the rules expect for it; the test puts that caller's token in its place (users
    exist once the stack runs, and schemathesis builds some cases at collection). Schemathesis does not apply it to a
    case whose security parameter it negated on purpose: such a request goes without a token, and must be refused."""

    def get(self, case: schemathesis.Case, context: Any) -> str:
        return caller_of(case.formatted_path, case.body)

    def set(self, case: schemathesis.Case, data: str, context: Any) -> None:
        headers = CaseInsensitiveDict(case.headers)  # a copy: the case may share its headers
        headers["Authorization"] = f"{_CALLER}{data}"
        case.headers = headers


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def no_internals_leak(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """No traceback, exception class or AWS error code in the body; what the request sent may be quoted back."""
    echoed = [*_strings(case.path_parameters), *_strings(case.query), *_strings(case.body)]
    found = leaks(response.text or "", echoed)
    if found:
        raise AssertionError(f"the response shows {found}: {response.text[:300]}")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_breaks_the_api_or_shows_its_internals(case: schemathesis.Case, cloud: Cloud) -> None:
    cloud.report.examples["fuzz"] += 1
    mark = case.headers.get("Authorization", "") if case.headers else ""
    if case.headers and mark.startswith(_CALLER):
        case.headers["Authorization"] = cloud.api.auth(mark.removeprefix(_CALLER))["Authorization"]
    response = case.call(base_url=cloud.front.url, session=cloud.api.session())
    excluded = NOT_APPLICABLE
    if response.status_code == 204:
        # No body to validate: the gateway's default `Content-Type: application/json` on it is not a promise.
        assert response.content == b"", f"{case.method} {case.formatted_path}: 204 with a body {response.content!r}"
        excluded = [*NOT_APPLICABLE, schemathesis.checks.response_schema_conformance]
    elif response.status_code == 401 and response.json() == GATEWAY_401:
        # Schemathesis left the token out (a negative case): API Gateway's authorizer answered in its own shape, which
        # the document's 401 describes in words while its schema is the handlers' error body.
        excluded = [*NOT_APPLICABLE, schemathesis.checks.response_schema_conformance]
    case.validate_response(response, additional_checks=[no_internals_leak], excluded_checks=excluded)
