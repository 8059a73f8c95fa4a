"""Who may call what, through the local cloud: real Cognito access tokens, the API's JWT authorizer, the handlers.

Every route x {anonymous, customer A, customer B, admin} answers exactly what tests/access_matrix.py says; every
kind of bad token is the authorizer's 401 on every protected route, and never reaches a function; a CORS
preflight, which carries no token, is answered on every protected route.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from handlers.shared.contract import PUBLIC_ROUTES
from localcloud.graph import Graph
from localcloud.users import PASSWORD, Users, claims
from tests.access_matrix import CASE_IDS, CASES, MATRIX, Case, body_for
from tests.kit.cloud import LocalCloud
from tests.kit.polling import eventually

pytestmark = pytest.mark.e2e

# API Gateway's own answer when its authorizer refuses a request: the function never runs.
GATEWAY_401 = {"message": "Unauthorized"}
PROTECTED = [case for case in MATRIX if case.expected[0] == 401]
ROUTE = "aws:apigatewayv2/route:Route"
# The same app client, its access tokens valid this long instead of an hour (see the expired-token test).
SHORT_VALIDITY_SECONDS = 3


@dataclass(frozen=True)
class People:
    a: str
    b: str


@pytest.fixture(scope="module")
def people() -> People:
    tag = uuid.uuid4().hex[:8]
    return People(f"access-a-{tag}", f"access-b-{tag}")


def _headers(cloud: LocalCloud, people: People, caller: str) -> dict[str, str]:
    return {
        "anonymous": {},
        "customer A": cloud.auth(people.a),
        "customer B": cloud.auth(people.b),
        "admin": cloud.admin(),
    }[caller]


def _fresh_state(cloud: LocalCloud, http: requests.Session, a: str) -> str:
    """A new product (the admin's) and a basket of A's holding it; the product's id."""
    created = http.post(f"{cloud.api}/product", json=body_for("product", a, ""), headers=cloud.admin(), timeout=30)
    assert created.status_code == 201, f"POST /product as admin: {created.status_code} {created.text}"
    product = str(created.json()["id"])
    basket = http.post(f"{cloud.api}/basket", json=body_for("basket", a, product), headers=cloud.auth(a), timeout=30)
    assert basket.status_code == 200, f"POST /basket as {a}: {basket.status_code} {basket.text}"
    return product


def _call(
    cloud: LocalCloud, http: requests.Session, case: Case, a: str, product: str, headers: dict[str, str]
) -> requests.Response:
    path = case.path.format(product=product, a=a)
    body = body_for(case.body, a, product)
    return http.request(case.method, f"{cloud.api}{path}", json=body, headers=headers, timeout=30)


@pytest.mark.parametrize(("case", "caller", "expected"), CASES, ids=CASE_IDS)
def test_each_route_answers_each_caller_as_the_rules_say(
    local_cloud: LocalCloud, http: requests.Session, people: People, case: Case, caller: str, expected: int
) -> None:
    # Given a product, and a basket of customer A's
    product = _fresh_state(local_cloud, http, people.a)
    # When the caller makes the request, with their access token (none for the anonymous caller)
    response = _call(local_cloud, http, case, people.a, product, _headers(local_cloud, people, caller))
    # Then the answer is the one the rules give: the authorizer's 401 without a token, the handler's 403 without a right
    what = f"{case.method} {case.path} as {caller}"
    assert response.status_code == expected, f"{what}: {response.status_code} {response.text[:300]}"
    if expected == 401:
        assert response.json() == GATEWAY_401, f"{what}: {response.text[:300]}"
    elif expected == 403:
        assert response.json()["error"] == "FORBIDDEN", f"{what}: {response.text[:300]}"


def test_the_authorizer_trusts_the_emulators_pool_and_app_client_on_every_protected_route(
    local_cloud: LocalCloud, dev_graph: Graph
) -> None:
    # The program builds the issuer from the pool's id; the emulator's pool has another id than the mock runtime's.
    outputs = local_cloud.outputs()
    apigateway = local_cloud.client("apigatewayv2")
    (api,) = apigateway.get_apis()["Items"]
    (authorizer,) = apigateway.get_authorizers(ApiId=api["ApiId"])["Items"]
    assert outputs["issuer"].endswith(f"/{outputs['user_pool_id']}"), outputs["issuer"]
    assert authorizer["JwtConfiguration"] == {"Issuer": outputs["issuer"], "Audience": [outputs["user_pool_client_id"]]}
    # And each route is created as the program declares it: the public ones open, every other one behind it
    declared = {r.inputs["routeKey"]: r.inputs.get("authorizationType") for r in dev_graph.of_type(ROUTE)}
    assert {key for key, kind in declared.items() if kind != "JWT"} >= PUBLIC_ROUTES, declared
    routes = {r["RouteKey"]: r for r in apigateway.get_routes(ApiId=api["ApiId"])["Items"]}
    assert set(routes) == set(declared), f"routes on the emulator {sorted(routes)}, declared {sorted(declared)}"
    for key, route in routes.items():
        expected = ("JWT", authorizer["AuthorizerId"]) if declared[key] == "JWT" else (declared[key], None)
        assert (route.get("AuthorizationType"), route.get("AuthorizerId")) == expected, f"route {key}: {route}"


# --- tokens the API must refuse ----------------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, _, signature = token.split(".")
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))), claims(token), signature


def _forged_claims(token: str) -> str:
    """The token's signature on claims changed to an admin's: a client that edits its own token."""
    header, body, signature = _parts(token)
    return f"{_b64(header)}.{_b64({**body, 'username': 'admin', 'cognito:groups': ['admin']})}.{signature}"


def _changed_signature(token: str) -> str:
    head, body, signature = token.split(".")
    flipped = ("A" if signature[10] != "A" else "B").join((signature[:10], signature[11:]))
    return f"{head}.{body}.{flipped}"


def _alg_none(token: str) -> str:
    header, body, _ = _parts(token)
    return f"{_b64({**header, 'alg': 'none'})}.{_b64(body)}."


@dataclass
class Other:
    """Tokens of A's from elsewhere: another app client of the same pool, and another pool."""

    wrong_audience: str
    other_pool: str
    id_token: str


@pytest.fixture(scope="module")
def other(local_cloud: LocalCloud, people: People) -> Iterator[Other]:
    users = local_cloud.users
    cognito = users.cognito
    users.token(people.a)  # A exists in the stack's pool
    flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    client = cognito.create_user_pool_client(
        UserPoolId=users.pool_id, ClientName=f"other-app-{uuid.uuid4().hex[:6]}", ExplicitAuthFlows=flows
    )["UserPoolClient"]["ClientId"]
    pool = cognito.create_user_pool(PoolName=f"other-pool-{uuid.uuid4().hex[:6]}")["UserPool"]["Id"]
    try:
        elsewhere = Users(
            cognito,
            pool,
            cognito.create_user_pool_client(UserPoolId=pool, ClientName="app", ExplicitAuthFlows=flows)[
                "UserPoolClient"
            ]["ClientId"],
        )
        id_token = cognito.initiate_auth(
            ClientId=users.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": people.a, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]["IdToken"]
        yield Other(
            wrong_audience=Users(cognito, users.pool_id, client).sign_in(people.a),
            other_pool=elsewhere.token(people.a),  # the same user name, in a pool the API does not trust
            id_token=id_token,
        )
    finally:
        cognito.delete_user_pool_client(UserPoolId=users.pool_id, ClientId=client)
        cognito.delete_user_pool(UserPoolId=pool)


# name -> the Authorization header, from A's valid access token and the tokens from elsewhere
BAD_HEADERS: dict[str, Callable[[str, Other], str]] = {
    "forged claims": lambda token, other: f"Bearer {_forged_claims(token)}",
    "changed signature": lambda token, other: f"Bearer {_changed_signature(token)}",
    "alg none": lambda token, other: f"Bearer {_alg_none(token)}",
    "wrong audience (another app client)": lambda token, other: f"Bearer {other.wrong_audience}",
    "another pool": lambda token, other: f"Bearer {other.other_pool}",
    "malformed: not a JWT": lambda token, other: "Bearer not-a-jwt",
    "malformed: two parts": lambda token, other: f"Bearer {token.rsplit('.', 1)[0]}",
    "malformed: Bearer alone": lambda token, other: "Bearer",
    "malformed: empty": lambda token, other: "",
    "another scheme: Basic": lambda token, other: "Basic " + base64.b64encode(b"admin:Admin-password-1").decode(),
    "another scheme: Token": lambda token, other: f"Token {token}",
}


@pytest.mark.parametrize("bad", list(BAD_HEADERS))
def test_a_bad_token_is_the_authorizers_401_on_every_protected_route(
    local_cloud: LocalCloud, http: requests.Session, people: People, other: Other, bad: str
) -> None:
    # Given A's basket, and an Authorization header made from A's valid token (or from elsewhere)
    product = _fresh_state(local_cloud, http, people.a)
    before = http.get(f"{local_cloud.api}/basket/{people.a}", headers=local_cloud.auth(people.a), timeout=30)
    header = BAD_HEADERS[bad](local_cloud.users.token(people.a), other)
    # When every protected route is called with it
    for case in PROTECTED:
        response = _call(local_cloud, http, case, people.a, product, {"Authorization": header})
        # Then API Gateway refuses it: 401 in its own shape, no function ran
        what = f"{case.method} {case.path} with {bad}"
        assert response.status_code == 401, f"{what}: {response.status_code} {response.text[:300]}"
        assert response.json() == GATEWAY_401, f"{what}: {response.text[:300]}"
    # And nothing changed: A's basket is the one it was
    after = http.get(f"{local_cloud.api}/basket/{people.a}", headers=local_cloud.auth(people.a), timeout=30)
    assert (after.status_code, after.headers.get("ETag")) == (200, before.headers.get("ETag")), after.text


def test_an_id_token_is_not_an_access_token(
    local_cloud: LocalCloud, http: requests.Session, people: People, other: Other
) -> None:
    # Given A's ID token: the authorizer accepts it (same issuer, its aud is the app client), as AWS's does
    headers = {"Authorization": f"Bearer {other.id_token}"}
    # When A reads their basket with it
    response = http.get(f"{local_cloud.api}/basket/{people.a}", headers=headers, timeout=30)
    # Then the handler refuses it: it names no `username`, so it says nobody signed in
    assert response.status_code == 401, f"GET /basket with an ID token: {response.status_code} {response.text[:300]}"
    assert response.json()["error"] == "UNAUTHORIZED", response.text[:300]


def test_a_bare_token_without_bearer_is_accepted_as_aws_documents(
    local_cloud: LocalCloud, http: requests.Session, people: People
) -> None:
    # AWS: "The identitySource can include only the token, or the token prefixed with Bearer" (JWT authorizers).
    response = http.get(
        f"{local_cloud.api}/basket/{people.a}", headers={"Authorization": local_cloud.users.token(people.a)}, timeout=30
    )
    assert response.status_code in (200, 404), f"GET /basket with a bare token: {response.status_code} {response.text}"


# Every field UpdateUserPoolClient takes: AWS resets the ones a request leaves out, so an update names them all.
_CLIENT_SETTINGS = (
    "ClientName",
    "RefreshTokenValidity",
    "AccessTokenValidity",
    "IdTokenValidity",
    "TokenValidityUnits",
    "ReadAttributes",
    "WriteAttributes",
    "ExplicitAuthFlows",
    "SupportedIdentityProviders",
    "CallbackURLs",
    "LogoutURLs",
    "DefaultRedirectURI",
    "AllowedOAuthFlows",
    "AllowedOAuthScopes",
    "AllowedOAuthFlowsUserPoolClient",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
    "EnablePropagateAdditionalUserContextData",
    "AuthSessionValidity",
)


def _update_client(users: Users, settings: dict[str, Any]) -> None:
    given = {k: v for k, v in settings.items() if k in _CLIENT_SETTINGS and v not in ("", None)}
    users.cognito.update_user_pool_client(UserPoolId=users.pool_id, ClientId=users.client_id, **given)


def test_an_expired_token_is_the_authorizers_401(
    local_cloud: LocalCloud, http: requests.Session, people: People
) -> None:
    # A token cannot be signed with the pool's key here, and Cognito's shortest access-token validity is 5 minutes.
    # The closest honest test: the stack's own app client issues A a token valid for 3 s (the emulator accepts
    # seconds), the token is accepted, and the same token is refused once its `exp` has passed. Nothing else differs.
    users = local_cloud.users
    original = users.cognito.describe_user_pool_client(UserPoolId=users.pool_id, ClientId=users.client_id)
    settings = original["UserPoolClient"]
    users.token(people.a)  # A exists
    _update_client(
        users,
        {
            **settings,
            "AccessTokenValidity": SHORT_VALIDITY_SECONDS,
            "TokenValidityUnits": {**settings.get("TokenValidityUnits", {}), "AccessToken": "seconds"},
        },
    )
    try:
        token = users.sign_in(people.a)
    finally:
        _update_client(users, settings)
    assert claims(token)["exp"] - claims(token)["iat"] == SHORT_VALIDITY_SECONDS, claims(token)
    url, headers = f"{local_cloud.api}/basket/{people.a}", {"Authorization": f"Bearer {token}"}
    # Given the token is accepted while it is valid
    assert http.get(url, headers=headers, timeout=30).status_code in (200, 404), "the short-lived token, still valid"

    # When its expiry passes, Then the same token is the authorizer's 401
    def refused() -> requests.Response | None:
        response = http.get(url, headers=headers, timeout=30)
        return response if response.status_code == 401 else None

    assert eventually(refused, what="the expired token refused", deadline=20, interval=0.5).json() == GATEWAY_401


# --- CORS ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", PROTECTED, ids=[f"{c.method} {c.path}" for c in PROTECTED])
def test_a_preflight_of_a_protected_route_is_answered_without_a_token(
    local_cloud: LocalCloud, http: requests.Session, people: People, case: Case
) -> None:
    # Given a browser about to send a request with a bearer token (and a conditional write's headers)
    path = case.path.format(product="p-1", a=people.a)
    headers = {
        "Origin": "https://shop.example.com",
        "Access-Control-Request-Method": case.method,
        "Access-Control-Request-Headers": "authorization,content-type,if-match",
    }
    # When it sends the preflight, which carries no token
    response = http.options(f"{local_cloud.api}{path}", headers=headers, timeout=30)
    # Then API Gateway answers it itself, allowing the method and the authorization header
    assert response.status_code in (200, 204), f"OPTIONS {path}: {response.status_code} {response.text[:300]}"
    allowed = {h.strip().lower() for h in response.headers.get("Access-Control-Allow-Headers", "").split(",")}
    assert {"authorization", "content-type", "if-match", "if-none-match"} <= allowed, response.headers
    assert case.method in response.headers.get("Access-Control-Allow-Methods", ""), response.headers
    assert response.headers.get("Access-Control-Allow-Origin"), response.headers


def test_a_cross_origin_read_exposes_the_etag(local_cloud: LocalCloud, http: requests.Session, people: People) -> None:
    # Given A's basket
    _fresh_state(local_cloud, http, people.a)
    # When a page on another origin reads it
    headers = {"Origin": "https://shop.example.com", **local_cloud.auth(people.a)}
    response = http.get(f"{local_cloud.api}/basket/{people.a}", headers=headers, timeout=30)
    # Then the page may read its ETag (for If-Match on the next write)
    assert response.status_code == 200 and response.headers.get("ETag"), response.text[:300]
    exposed = {h.strip().lower() for h in response.headers.get("Access-Control-Expose-Headers", "").split(",")}
    assert "etag" in exposed, response.headers
