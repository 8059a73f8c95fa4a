"""Users of the local cloud's user pool, and their access tokens: the one place the CLI, the tests and the
benchmarks sign in.

    users = Users.of(deployment)                      # or Users.from_outputs(outputs of a running local cloud)
    headers = users.bearer("alice")                   # creates alice on first use, caches her token until near expiry
    headers = users.bearer(ADMIN.name, admin=True)    # the admin, a member of the pool's `admin` group

Users are created with the admin APIs (`AdminCreateUser` with a verified e-mail, `AdminSetUserPassword` permanent)
and sign in with USER_PASSWORD_AUTH through the program's app client, which the dev stack allows; the token is
the access token, which the API's JWT authorizer checks.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from handlers.shared.contract import ADMIN_GROUP
from localcloud.emulator import FAKE_CREDENTIALS

if TYPE_CHECKING:
    from localcloud.deploy import Deployment

POOL = "aws:cognito/userPool:UserPool"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
# A token is used until this many seconds before it expires, then a new one is signed in for.
_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class DemoUser:
    name: str
    password: str
    email: str
    admin: bool


# Created by `python -m localcloud up`. Dev passwords, documented in the README: the pool exists only on loopback.
ADMIN = DemoUser("admin", "Admin-password-1", "admin@example.com", admin=True)
CUSTOMER = DemoUser("customer", "Customer-password-1", "customer@example.com", admin=False)
DEMO_USERS = (ADMIN, CUSTOMER)
# The password of every other user the tests and benchmarks create (it meets the pool's password policy).
PASSWORD = "Local-password-1"  # noqa: S105 - a dev password of the emulator's pool


class SignInError(RuntimeError):
    """The pool refused a sign-in (unknown user, wrong password, or a flow the app client does not allow)."""


def password_of(user: str) -> str:
    """The password `Users` gives `user`: a demo user's documented one, or PASSWORD."""
    return next((demo.password for demo in DEMO_USERS if demo.name == user), PASSWORD)


def claims(token: str) -> dict[str, Any]:
    """A JWT's claims, read without checking its signature (only the API's authorizer decides if it is valid)."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


class Users:
    """Creates users of one pool on first use and signs them in through one app client; thread-safe."""

    def __init__(self, cognito: Any, pool_id: str, client_id: str) -> None:
        self.cognito = cognito
        self.pool_id = pool_id
        self.client_id = client_id
        self._tokens: dict[str, tuple[str, float]] = {}  # user -> (access token, expiry, epoch seconds)
        self._created: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def of(cls, deployment: Deployment) -> Users:
        """The users of a deployment's pool, signing in through its app client."""
        return cls(
            deployment.client("cognito-idp"), str(deployment.output(POOL)["id"]), str(deployment.output(CLIENT)["id"])
        )

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any]) -> Users:
        """The users of a running local cloud, from its outputs (`GET /_localcloud/outputs`)."""
        cognito = outputs_client(outputs, "cognito-idp", config=Config(retries={"max_attempts": 2, "mode": "standard"}))
        return cls(cognito, str(outputs["user_pool_id"]), str(outputs["user_pool_client_id"]))

    def create(self, user: str, password: str | None = None, *, email: str | None = None, admin: bool = False) -> None:
        """Create `user` with a permanent password (and in the admin group); an existing user is left as it is."""
        try:
            self.cognito.admin_create_user(
                UserPoolId=self.pool_id,
                Username=user,
                UserAttributes=[
                    {"Name": "email", "Value": email or (user if "@" in user else f"{user}@example.com")},
                    {"Name": "email_verified", "Value": "true"},
                ],
                MessageAction="SUPPRESS",  # no invitation: the password is set right below
            )
        except self.cognito.exceptions.UsernameExistsException:
            return
        self.cognito.admin_set_user_password(
            UserPoolId=self.pool_id, Username=user, Password=password or password_of(user), Permanent=True
        )
        if admin:
            self.cognito.admin_add_user_to_group(UserPoolId=self.pool_id, Username=user, GroupName=ADMIN_GROUP)

    def create_demo_users(self) -> None:
        for demo in DEMO_USERS:
            self.create(demo.name, demo.password, email=demo.email, admin=demo.admin)

    def sign_in(self, user: str, password: str | None = None) -> str:
        """A fresh access token for `user` (USER_PASSWORD_AUTH through the app client); SignInError if refused."""
        try:
            result = self.cognito.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": user, "PASSWORD": password or password_of(user)},
            )
        except (self.cognito.exceptions.NotAuthorizedException, self.cognito.exceptions.UserNotFoundException) as e:
            raise SignInError(f"{user} cannot sign in: {e.response['Error'].get('Message', e)}") from e
        if "AuthenticationResult" not in result:
            raise SignInError(f"{user} cannot sign in: the pool asks for {result.get('ChallengeName')}")
        return str(result["AuthenticationResult"]["AccessToken"])

    def token(self, user: str, *, admin: bool = False) -> str:
        """`user`'s access token, the user created on first use (in the admin group if `admin`)."""
        with self._lock:
            cached = self._tokens.get(user)
            if cached and cached[1] - _MARGIN_SECONDS > time.time():
                return cached[0]
            if user not in self._created:
                self.create(user, admin=admin)
                self._created.add(user)
            token = self.sign_in(user)
            self._tokens[user] = (token, float(claims(token)["exp"]))
            return token

    def bearer(self, user: str, *, admin: bool = False) -> dict[str, str]:
        """The `Authorization` header of a request made by `user`."""
        return {"Authorization": f"Bearer {self.token(user, admin=admin)}"}

    def admin_bearer(self) -> dict[str, str]:
        return self.bearer(ADMIN.name, admin=True)


def local_outputs(deployment: Deployment, api_url: str) -> dict[str, Any]:
    """The stack's outputs as `pulumi stack output --json` shows them, with the local front as `api_url`, plus how
    to reach the emulator (it accepts only its own credentials)."""
    return {
        **deployment.stack_outputs,
        "api_url": api_url,
        "aws_endpoint_url": deployment.endpoint,
        "region": deployment.region,
        "aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


def outputs_client(outputs: Mapping[str, Any], service: str, config: Config | None = None) -> Any:
    """A boto3 client of `service` on the emulator that `local_outputs` describe, with its credentials."""
    return boto3.client(
        service,
        endpoint_url=outputs["aws_endpoint_url"],
        region_name=outputs["region"],
        aws_access_key_id=outputs["aws_access_key_id"],
        aws_secret_access_key=outputs["aws_secret_access_key"],
        config=config,
    )
