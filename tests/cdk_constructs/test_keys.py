"""cdk_constructs/keys.py: customer-managed keys that rotate and outlive their stack."""

from __future__ import annotations

from cdk_constructs.keys import customer_key
from tests.cdk_constructs.conftest import built, one


def test_a_key_rotates_and_is_kept_except_in_a_failed_first_create() -> None:
    _, template = built(lambda stack: customer_key(stack, "Key", description="Encrypts things", alias="alias/things"))
    key = one(template, "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    assert one(template, "AWS::KMS::Alias")["Properties"]["AliasName"] == "alias/things"


def test_grants_are_only_for_aws_services_resources() -> None:
    """Control Tower CT.KMS.PR.3: deny kms:CreateGrant unless it is for an AWS resource or by an AWS service."""
    _, template = built(lambda stack: customer_key(stack, "Key", description="Encrypts things"))
    statements = one(template, "AWS::KMS::Key")["Properties"]["KeyPolicy"]["Statement"]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Action"] == "kms:CreateGrant" and deny["Principal"] == {"AWS": "*"}
    assert deny["Condition"] == {"BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}}
