"""cdk_constructs/compliance.py: the rule packs every synth runs, and acknowledgements."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns

from cdk_constructs.compliance import acknowledge, add_compliance_checks, control_tower_rule_types
from cdk_constructs.cross_region import RemoteKeyArn
from tests.cdk_constructs.conftest import ACCOUNT, REGION, built, of_type
from tests.synth import CDK_JSON


def _synth_with_a_plain_topic(tmp_path: Path, *, acknowledged: tuple[str, ...] = ()) -> str:
    """The validation failure of an app whose one resource is an unencrypted topic, or ""."""
    app = App(outdir=str(tmp_path), context={**CDK_JSON["context"], "@aws-cdk/core:validationReportPrettyPrint": False})
    topic = sns.Topic(Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION)), "Topic")
    for rule in acknowledged:
        acknowledge(topic, rule, "a reason a reviewer would accept")
    add_compliance_checks(app)
    try:
        app.synth()
    except RuntimeError as exc:  # jsii relays the validation failure
        return str(exc)
    return ""


def test_an_unacknowledged_finding_fails_the_synth(tmp_path: Path) -> None:
    failure = _synth_with_a_plain_topic(tmp_path)
    assert "AwsSolutions-SNS3" in failure and "NIST.800.53.R5-SNSEncryptedKMS" in failure


def test_an_acknowledged_finding_no_longer_does(tmp_path: Path) -> None:
    failure = _synth_with_a_plain_topic(tmp_path, acknowledged=("AwsSolutions-SNS3",))
    assert failure and "AwsSolutions-SNS3" not in failure


def _synth_with_a_plain_log_group(tmp_path: Path, *, acknowledged: tuple[str, ...] = (), control_tower: bool = True) -> str:
    """The validation failure of an app whose one resource is a log group without a KMS key."""
    app = App(outdir=str(tmp_path), context={**CDK_JSON["context"], "@aws-cdk/core:validationReportPrettyPrint": False})
    group = logs.LogGroup(Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION)), "Logs")
    for rule in ("NIST.800.53.R5-CloudWatchLogGroupEncrypted", *acknowledged):
        acknowledge(group, rule, "a reason a reviewer would accept")
    add_compliance_checks(app, control_tower=control_tower)
    try:
        app.synth()
    except RuntimeError as exc:
        return str(exc)
    return ""


def test_control_towers_rules_fail_the_synth_when_asked_and_take_acknowledgements(tmp_path: Path) -> None:
    rule = "cdk-validator-cfnguard::cloudwatch_log_group_encrypted_check"
    assert "CT.CLOUDWATCH.PR.3" in _synth_with_a_plain_log_group(tmp_path / "on")
    assert _synth_with_a_plain_log_group(tmp_path / "acknowledged", acknowledged=(rule,)) == ""
    assert _synth_with_a_plain_log_group(tmp_path / "off", control_tower=False) == ""


def test_the_rules_and_their_resource_types_come_from_the_pinned_plugin() -> None:
    rules = control_tower_rule_types()
    assert len(rules) == 237  # cdklabs.cdk-validator-cfnguard 0.0.62
    assert "AWS::KMS::Key" in rules["ct-kms-pr-3"]
    assert "AWS::Logs::LogGroup" in rules["ct-cloudwatch-pr-3"]


def test_a_rule_of_no_known_pack_is_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("expected a rule of AwsSolutions-, NIST.800.53.R5-")):
        acknowledge(Stack(), "Checkov-CKV_AWS_1", "because")


def test_cdks_custom_resource_function_keeps_its_logs_except_in_a_failed_first_create() -> None:
    _, template = built(lambda stack: RemoteKeyArn(stack, "DrKey", region="us-east-1", alias_name="alias/app-dr"))
    (group,) = of_type(template, "AWS::Logs::LogGroup").values()
    assert group["DeletionPolicy"] == "RetainExceptOnCreate"
