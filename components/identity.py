"""Who the shop's users are: a Cognito user pool, the app client clients sign in with, and the `admin` group."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.settings import Settings
from handlers.shared.contract import ADMIN_GROUP

SERVICE = "identity"
# Short-lived access tokens: the API trusts a token until it expires (a JWT authorizer checks no revocation).
ACCESS_TOKEN_MINUTES = 60
REFRESH_TOKEN_DAYS = 30


@dataclass
class IdentityArgs:
    settings: Settings


class Identity(pulumi.ComponentResource):
    """User pool (e-mail as an attribute, a password policy), an app client without a secret and the admin group.

    The HTTP API's JWT authorizer accepts the client's access tokens (issuer = the pool, audience = the client);
    the handlers read the `username` and `cognito:groups` claims (handlers.shared.auth).
    """

    user_pool: aws.cognito.UserPool
    client: aws.cognito.UserPoolClient
    admin_group: aws.cognito.UserGroup
    user_pool_id: pulumi.Output[str]
    user_pool_client_id: pulumi.Output[str]
    issuer: pulumi.Output[str]

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:identity:Identity", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)

        self.user_pool = self._user_pool(name, s)
        self.client = aws.cognito.UserPoolClient(
            f"{name}-client",
            name=s.name("web"),
            user_pool_id=self.user_pool.id,
            # A browser or a script cannot keep a secret: the client has none, and signs in with SRP.
            generate_secret=False,
            explicit_auth_flows=self._auth_flows(s),
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            access_token_validity=ACCESS_TOKEN_MINUTES,
            id_token_validity=ACCESS_TOKEN_MINUTES,
            refresh_token_validity=REFRESH_TOKEN_DAYS,
            token_validity_units={"access_token": "minutes", "id_token": "minutes", "refresh_token": "days"},
            supported_identity_providers=["COGNITO"],
            opts=child,
        )
        self.admin_group = aws.cognito.UserGroup(
            f"{name}-admin-group",
            name=ADMIN_GROUP,
            user_pool_id=self.user_pool.id,
            description="may change the catalogue and read every basket and order",
            opts=child,
        )

        self.user_pool_id = self.user_pool.id
        self.user_pool_client_id = self.client.id
        # The `iss` claim of the pool's tokens, which the API's authorizer requires.
        self.issuer = pulumi.Output.concat("https://cognito-idp.", s.region, ".amazonaws.com/", self.user_pool.id)
        self.register_outputs(
            {"user_pool_id": self.user_pool_id, "user_pool_client_id": self.user_pool_client_id, "issuer": self.issuer}
        )

    def _user_pool(self, name: str, s: Settings) -> aws.cognito.UserPool:
        return aws.cognito.UserPool(
            f"{name}-pool",
            name=s.name("users"),
            # User names are matched as the API's paths use them (`/basket/{userName}`): exactly.
            username_configuration={"case_sensitive": True},
            schemas=[
                {
                    "name": "email",
                    "attribute_data_type": "String",
                    "required": True,
                    "mutable": True,
                    "string_attribute_constraints": {"min_length": "3", "max_length": "254"},
                }
            ],
            auto_verified_attributes=["email"],
            account_recovery_setting={"recovery_mechanisms": [{"name": "verified_email", "priority": 1}]},
            password_policy={
                "minimum_length": 12,
                "require_lowercase": True,
                "require_uppercase": True,
                "require_numbers": True,
                "require_symbols": False,
                "temporary_password_validity_days": 7,
            },
            deletion_protection="ACTIVE" if s.deletion_protection else "INACTIVE",
            tags=s.tags(SERVICE),
            # Users are data: a stack that keeps its tables keeps its users too.
            opts=pulumi.ResourceOptions(
                parent=self, protect=s.deletion_protection, retain_on_delete=s.deletion_protection
            ),
        )

    @staticmethod
    def _auth_flows(s: Settings) -> list[str]:
        # USER_PASSWORD_AUTH sends the password itself to Cognito: for scripts and tests, where the stack allows it.
        flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
        return [*flows, "ALLOW_USER_PASSWORD_AUTH"] if s.password_sign_in else flows
