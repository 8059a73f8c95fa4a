"""The OpenAPI document of the whole HTTP API, generated from the three services' own resolvers.

Not part of any function's archive: the local cloud serves it at /docs and the fuzz suite reads it.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from handlers.shared.auth import BEARER_SCHEME

SERVICES = ("product", "basket", "ordering")
# Protected routes name this scheme (handlers.shared.auth): a Cognito access token as a bearer token, which
# Swagger UI's Authorize button takes.
SECURITY_SCHEMES = {
    BEARER_SCHEME: HTTPBearer(
        bearerFormat="JWT",
        description="A Cognito access token of the stack's user pool (`python -m localcloud token USER` locally). "
        "Admin routes require membership of the `admin` group.",
    )
}
# Importing a service reads its settings; for documentation any value does (no AWS call happens at import).
_PLACEHOLDER_ENV = {
    "PRODUCT_TABLE_NAME": "openapi-placeholder",
    "BASKET_TABLE_NAME": "openapi-placeholder",
    "ORDER_TABLE_NAME": "openapi-placeholder",
    "EVENT_BUS_NAME": "openapi-placeholder",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Powertools declares its own 422 schema on every route with parameters; ours answers bad parameters
# with 400 and bodies with 422, both in the ErrorBody shape the routes declare themselves.
_POWERTOOLS_VALIDATION_REF = "#/components/schemas/HTTPValidationError"
# One tag per service, so Swagger UI groups the operations under it, in this order.
TAGS = {
    "product": "The catalogue: anyone reads it, admins write it",
    "basket": "A user's basket and its checkout (an order follows, exactly once)",
    "ordering": "Orders, one per checkout",
}
SUMMARIES = {
    "GET /product": "List products, optionally of one category",
    "POST /product": "Create a product (admin)",
    "GET /product/{id}": "Get a product",
    "PUT /product/{id}": "Update a product (admin)",
    "DELETE /product/{id}": "Delete a product (admin)",
    "GET /basket": "List baskets (admin)",
    "POST /basket": "Save the caller's basket (replaces it)",
    "GET /basket/{userName}": "Get a user's basket",
    "DELETE /basket/{userName}": "Delete a user's basket",
    "POST /basket/checkout": "Check out the caller's basket (202: an order will follow)",
    "GET /order": "List orders (admin)",
    "GET /order/{userName}": "List a user's orders",
}


def build_openapi() -> dict[str, Any]:
    """One OpenAPI 3 document for every route of every service (no `servers`: the caller knows where it runs)."""
    for key, value in _PLACEHOLDER_ENV.items():
        os.environ.setdefault(key, value)
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    openapi_version = "3.1.0"
    for service in SERVICES:
        resolver = importlib.import_module(f"handlers.{service}.app").app
        document = resolver.get_openapi_schema(title="ecommerce", security_schemes=SECURITY_SCHEMES).model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        openapi_version = document["openapi"]
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.get("responses", {})
                if _refs(responses.get("422")) == {_POWERTOOLS_VALIDATION_REF}:
                    del responses["422"]
                # Powertools declares a JSON body on every response; a 204 has none.
                responses.get("204", {}).pop("content", None)
                operation["tags"] = [service]
                operation["summary"] = SUMMARIES.get(f"{method.upper()} {path}", operation.get("summary", ""))
            paths.setdefault(path, {}).update(operations)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            if schemas.setdefault(name, schema) != schema:
                raise ValueError(f"two services define different schemas named {name}")
    used = _reachable(paths, schemas)
    return {
        "openapi": openapi_version,
        "info": {"title": "ecommerce", "version": "1.0.0"},
        "tags": [{"name": name, "description": description} for name, description in TAGS.items()],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {name: schemas[name] for name in sorted(used)},
            "securitySchemes": {
                name: scheme.model_dump(mode="json", by_alias=True, exclude_none=True)
                for name, scheme in SECURITY_SCHEMES.items()
            },
        },
    }


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value)
            else:
                found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _reachable(paths: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    prefix = "#/components/schemas/"
    pending = [ref.removeprefix(prefix) for ref in _refs(paths)]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name not in seen and name in schemas:
            seen.add(name)
            pending.extend(ref.removeprefix(prefix) for ref in _refs(schemas[name]))
    return seen


if __name__ == "__main__":
    print(json.dumps(build_openapi(), indent=2))
