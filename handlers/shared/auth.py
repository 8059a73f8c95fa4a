"""Who is calling, and what they may do: the one place the API's access rules are enforced.

The HTTP API's JWT authorizer verifies the bearer token (signature, issuer, audience, expiry) on every route
but the public ones, and hands the access token's claims to the function. The handlers take the caller from
those claims: the `username` claim names the user, the `cognito:groups` claim says whether they are an admin.
A protected route that receives no claims (deployed without its authorizer) answers 401 itself.

| rule | routes |
|---|---|
| anyone (no `security`) | `GET /product`, `GET /product/{id}` (`handlers.shared.contract.PUBLIC_ROUTES`) |
| `security=ADMIN` | `POST /product`, `PUT`/`DELETE /product/{id}`, `GET /basket`, `GET /order` |
| `SIGNED_IN` + `owner_or_admin(user)` | `GET`/`DELETE /basket/{userName}`, `GET /order/{userName}` |
| `SIGNED_IN` + `own_basket(user)` | `POST /basket`, `POST /basket/checkout`: any signed-in user, own basket only |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayHttpResolver

from handlers.shared.contract import ADMIN_GROUP
from handlers.shared.errors import ForbiddenError, UnauthorizedError
from handlers.shared.models import USER_NAME_PATTERN

# The OpenAPI security requirement of the protected routes (the scheme is declared in handlers.openapi): any
# signed-in user, or only those with a role (OpenAPI 3.1 lets a bearer requirement list role names). Routes
# declare one of these with `security=`; `authorize()` enforces it before the request body is even parsed.
BEARER_SCHEME = "bearerAuth"
SIGNED_IN: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]
ADMIN: list[dict[str, list[str]]] = [{BEARER_SCHEME: [ADMIN_GROUP]}]

_USER_NAME = re.compile(USER_NAME_PATTERN)


@dataclass(frozen=True)
class Caller:
    user_name: str
    groups: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN_GROUP in self.groups


def caller(app: APIGatewayHttpResolver) -> Caller:
    """The signed-in caller of the current request; 401 if the request carries no verified claims."""
    claims: dict[str, Any] = app.current_event.request_context.authorizer.jwt_claim
    user_name = claims.get("username")
    if not isinstance(user_name, str) or not user_name:
        raise UnauthorizedError("sign in: this route needs an access token (Authorization: Bearer <token>)")
    if not _USER_NAME.match(user_name):
        # The pool accepts names this API cannot address in a path; such a user can hold no basket or order here.
        raise ForbiddenError(f"user name {user_name!r} is not one this API serves ({USER_NAME_PATTERN})")
    return Caller(user_name, _groups(claims.get("cognito:groups")))


def authorize(app: APIGatewayHttpResolver, security: list[dict[str, list[str]]] | None) -> None:
    """Enforce a route's `security` requirement: none (public), any signed-in caller, or a role (401/403)."""
    if not security:
        return
    who = caller(app)
    roles = {role for requirement in security for role in requirement.get(BEARER_SCHEME, [])}
    if roles and not roles & who.groups:
        raise ForbiddenError(f"only members of the {' or '.join(sorted(roles))} group may do this")


def owner_or_admin(app: APIGatewayHttpResolver, user_name: str) -> Caller:
    who = caller(app)
    if who.user_name != user_name and not who.is_admin:
        raise ForbiddenError(f"{who.user_name} may not see or change what belongs to {user_name}")
    return who


def own_basket(app: APIGatewayHttpResolver, user_name: str | None) -> str:
    """The user whose basket a write or checkout is for: the caller; naming another user (admins too) is 403."""
    who = caller(app)
    if user_name is not None and user_name != who.user_name:
        raise ForbiddenError(f"{who.user_name} may only fill and check out their own basket, not {user_name}'s")
    return who.user_name


def _groups(claim: Any) -> frozenset[str]:
    # API Gateway hands every claim to the function as a string; an array becomes its items in brackets,
    # space-separated ("[admin ops]"). A list is accepted too, for events built by other means.
    if isinstance(claim, list):
        return frozenset(str(group) for group in claim)
    if isinstance(claim, str):
        return frozenset(claim.strip().removeprefix("[").removesuffix("]").replace(",", " ").split())
    return frozenset()
