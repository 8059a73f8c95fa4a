"""The HTTP API's route table, for answering the requests no route takes: 404 for an unknown path, 405 with `Allow`
for a known path and another method.

The API sends what none of its routes match to its `$default` route (components.http_api), which reaches the product
function; every function's resolver answers a request it has no route for from this table, in the API's error shape.
The infra suite holds it equal to the program's routes and to the handlers' resolvers.
"""

from __future__ import annotations

import re
from typing import Final

ROUTES: Final = frozenset(
    {
        "GET /product",
        "POST /product",
        "GET /product/{id}",
        "PUT /product/{id}",
        "DELETE /product/{id}",
        "GET /basket",
        "POST /basket",
        "GET /basket/{userName}",
        "DELETE /basket/{userName}",
        "POST /basket/checkout",
        "GET /order",
        "GET /order/{userName}",
    }
)
# Every GET route also answers HEAD: the same route, authorization and headers, without the body.
HEAD_OF: Final = "GET"
# The route API Gateway picks when no other matches.
DEFAULT_ROUTE: Final = "$default"


def _pattern(path: str) -> re.Pattern[str]:
    # A path parameter is one non-empty segment.
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")


_BY_PATH: Final = [
    (_pattern(path), {key.split(" ", 1)[0] for key in ROUTES if key.split(" ", 1)[1] == path})
    for path in sorted({key.split(" ", 1)[1] for key in ROUTES})
]


def allowed_methods(path: str) -> list[str]:
    """The methods some route serves on `path`, with HEAD wherever GET is; [] if no route's path matches it.

    Every matching route counts, as API Gateway matches them: `/basket/checkout` is `POST /basket/checkout`'s and
    also `{userName}`'s of `GET` and `DELETE /basket/{userName}`."""
    methods = set().union(*(found for pattern, found in _BY_PATH if pattern.match(path)))
    return sorted(methods | ({"HEAD"} if HEAD_OF in methods else set()))
