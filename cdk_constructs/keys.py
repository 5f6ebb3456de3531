"""Customer-managed KMS keys as this project makes them: rotated yearly, never deleted."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


def customer_key(scope: Construct, construct_id: str, *, description: str, alias: str | None = None) -> kms.Key:
    """A key with rotation on that survives `cdk destroy` and replacement: data it encrypted
    (backups, snapshots, retained logs) stays readable after the stack is gone.

    :param description: what the key encrypts, shown in the KMS console.
    :param alias: an alias such as alias/contractorlens-data. Default: none.
    """
    key = kms.Key(
        scope,
        construct_id,
        alias=alias,
        description=description,
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    )
    # Grants only for AWS services' own resources (RDS, EFS, backups use them so): a grant is a
    # way around the key policy that nobody reviews (Control Tower CT.KMS.PR.3).
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="GrantsOnlyForAwsResources",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={"BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}},
        )
    )
    return key
