"""cdk_constructs/cross_region.py: values across regions at deploy time, without exports."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

from cdk_constructs.cross_region import ParameterInRegion, RemoteKeyArn
from tests.cdk_constructs.conftest import built, of_type


def _call(template: Template, phase: str) -> dict[str, Any]:
    """The SDK call of the template's one AwsCustomResource, tokens left out."""
    (resource,) = of_type(template, "Custom::AWS").values()
    body = resource["Properties"][phase]
    text = body if isinstance(body, str) else "".join(p if isinstance(p, str) else '"token"' for p in body["Fn::Join"][1])
    return dict(json.loads(text))


def test_a_remote_key_is_looked_up_by_its_alias_in_its_region() -> None:
    _, template = built(lambda stack: RemoteKeyArn(stack, "DrKey", region="us-east-1", alias_name="alias/app-dr"))
    create = _call(template, "Create")
    assert (create["service"], create["action"], create["region"]) == ("KMS", "describeKey", "us-east-1")
    assert (create["parameters"], create["outputPaths"]) == ({"KeyId": "alias/app-dr"}, ["KeyMetadata.Arn"])


def test_the_lookup_may_describe_only_the_key_behind_that_alias() -> None:
    _, template = built(lambda stack: RemoteKeyArn(stack, "DrKey", region="us-east-1", alias_name="alias/app-dr"))
    statements = [s for p in of_type(template, "AWS::IAM::Policy").values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    (describe,) = [s for s in statements if s["Action"] == "kms:DescribeKey"]
    assert describe["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/app-dr"}}


def test_a_parameter_is_written_in_the_other_region_and_deleted_with_its_writer() -> None:
    _, template = built(
        lambda stack: ParameterInRegion(stack, "Parameter", region="us-east-1", name="/app/dr/id", value="hc-1", description="d")
    )
    create, delete = _call(template, "Create"), _call(template, "Delete")
    assert (create["action"], create["region"], create["parameters"]["Name"]) == ("putParameter", "us-east-1", "/app/dr/id")
    assert (delete["action"], delete["region"], delete["parameters"]) == ("deleteParameter", "us-east-1", {"Name": "/app/dr/id"})
