"""Customer-managed KMS keys as this project makes them: rotated yearly, never deleted."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from constructs import Construct


def customer_key(scope: Construct, construct_id: str, *, description: str, alias: str | None = None) -> kms.Key:
    """A key with rotation on that survives `cdk destroy` and replacement: data it encrypted
    (backups, snapshots, retained logs) stays readable after the stack is gone.

    :param description: what the key encrypts, shown in the KMS console.
    :param alias: an alias such as alias/contractorlens-data. Default: none.
    """
    return kms.Key(
        scope,
        construct_id,
        alias=alias,
        description=description,
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    )
