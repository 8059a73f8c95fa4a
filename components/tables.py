"""The DynamoDB table every service owns, with the stack's data-protection settings applied alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import pulumi
import pulumi_aws as aws

from components.settings import Settings


def service_table(
    owner: pulumi.Resource,
    name: str,
    settings: Settings,
    service: str,
    *,
    hash_key: str,
    range_key: str | None = None,
    global_secondary_indexes: Sequence[aws.dynamodb.TableGlobalSecondaryIndexArgsDict] = (),
    ttl_attribute: str | None = None,
) -> aws.dynamodb.Table:
    """On-demand, KMS-encrypted table; PITR and deletion protection as the stack says.

    `ttl_attribute`: DynamoDB deletes an item once the epoch second that attribute holds has passed.

    With deletion protection on, the table is also `protect`ed (Pulumi refuses to delete it) and
    `retain_on_delete` (removing it from the program or destroying the stack leaves the data in AWS).
    """
    # Index keys are plain names here (not Outputs): each needs an attribute definition.
    index_keys = [
        str(key["attribute_name"])
        for index in global_secondary_indexes
        for key in cast(Sequence[aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgsDict], index["key_schemas"])
    ]
    key_names = [hash_key, *([range_key] if range_key else []), *index_keys]
    attributes: list[aws.dynamodb.TableAttributeArgsDict] = [
        {"name": key, "type": "S"} for key in dict.fromkeys(key_names)
    ]
    return aws.dynamodb.Table(
        name,
        name=settings.name(service),
        billing_mode="PAY_PER_REQUEST",
        hash_key=hash_key,
        range_key=range_key,
        attributes=attributes,
        global_secondary_indexes=list(global_secondary_indexes) or None,
        server_side_encryption={"enabled": True},
        point_in_time_recovery={"enabled": settings.point_in_time_recovery},
        ttl={"attribute_name": ttl_attribute, "enabled": True} if ttl_attribute else None,
        deletion_protection_enabled=settings.deletion_protection,
        tags=settings.tags(service),
        opts=pulumi.ResourceOptions(
            parent=owner,
            protect=settings.deletion_protection,
            retain_on_delete=settings.deletion_protection,
        ),
    )


def index_arn(table: aws.dynamodb.Table, index: str) -> pulumi.Output[str]:
    return table.arn.apply(lambda arn: f"{arn}/index/{index}")
