"""cdk_constructs/firewall.py: WAF in front of one load balancer."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import aws_logs as logs

from cdk_constructs.firewall import MANAGED_RULE_GROUPS, ApiFirewall
from tests.cdk_constructs.conftest import built, one

ALB = "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/api/0123456789abcdef"


@pytest.fixture(scope="module")
def template() -> Any:
    _, template = built(
        lambda stack: ApiFirewall(
            stack, "Firewall", name="app-api", load_balancer_arn=ALB, rate_limit=2000,
            log_group=logs.LogGroup.from_log_group_name(stack, "Waf", "aws-waf-logs-app"),
        )
    )  # fmt: skip
    return template


def test_aws_managed_rules_come_first_then_the_rate_limit(template: Any) -> None:
    rules = one(template, "AWS::WAFv2::WebACL")["Properties"]["Rules"]
    assert [r["Name"] for r in rules] == [*MANAGED_RULE_GROUPS, "RateLimitPerIp"]
    assert [r["Priority"] for r in rules] == list(range(len(rules)))


def test_one_ip_is_blocked_past_the_rate_limit_over_five_minutes(template: Any) -> None:
    rule = one(template, "AWS::WAFv2::WebACL")["Properties"]["Rules"][-1]
    statement = rule["Statement"]["RateBasedStatement"]
    assert (statement["Limit"], statement["AggregateKeyType"], statement["EvaluationWindowSec"]) == (2000, "IP", 300)
    assert rule["Action"] == {"Block": {}}


def test_the_acl_protects_the_load_balancer_and_logs_to_the_group(template: Any) -> None:
    assert one(template, "AWS::WAFv2::WebACLAssociation")["Properties"]["ResourceArn"] == ALB
    destination = one(template, "AWS::WAFv2::LoggingConfiguration")["Properties"]["LogDestinationConfigs"][0]
    assert "log-group:aws-waf-logs-app" in str(destination) and ":*" not in str(destination)


def test_the_logs_leave_out_tokens_and_cookies(template: Any) -> None:
    """The issue's "WAF logging redacts authorization and cookie": WAF logs every header otherwise."""
    redacted = one(template, "AWS::WAFv2::LoggingConfiguration")["Properties"]["RedactedFields"]
    assert redacted == [{"SingleHeader": {"Name": "authorization"}}, {"SingleHeader": {"Name": "cookie"}}]


def test_sampled_requests_leave_them_out_too(template: Any) -> None:
    """The console's sampled requests are not logs: only the web ACL's own data protection covers them."""
    (protection,) = one(template, "AWS::WAFv2::WebACL")["Properties"]["DataProtectionConfig"]["DataProtections"]
    assert protection["Action"] == "SUBSTITUTION"
    assert protection["Field"] == {"FieldType": "SINGLE_HEADER", "FieldKeys": ["authorization", "cookie"]}


def test_the_common_rule_sets_8_kb_body_rule_only_counts(template: Any) -> None:
    """It would block every upload over 8 KB (all WAF inspects behind an ALB)."""
    (common,) = [r for r in one(template, "AWS::WAFv2::WebACL")["Properties"]["Rules"] if r["Name"] == "AWSManagedRulesCommonRuleSet"]
    overrides = common["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]
    assert overrides == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]


@pytest.mark.parametrize("paths", [["/api/v1/photos"], ["/api/v1/photos", "/api/v1/documents"]])
def test_large_bodies_are_blocked_outside_the_upload_paths(paths: list[str]) -> None:
    _, template = built(
        lambda stack: ApiFirewall(
            stack, "Firewall", name="app-api", load_balancer_arn=ALB, rate_limit=2000,
            log_group=logs.LogGroup.from_log_group_name(stack, "Waf", "aws-waf-logs-app"), large_body_paths=paths,
        )
    )  # fmt: skip
    rules = one(template, "AWS::WAFv2::WebACL")["Properties"]["Rules"]
    assert [r["Name"] for r in rules] == [*MANAGED_RULE_GROUPS, "LargeBodiesOutsideUploads", "RateLimitPerIp"]
    assert [r["Priority"] for r in rules] == list(range(len(rules)))
    rule = rules[len(MANAGED_RULE_GROUPS)]
    assert rule["Action"] == {"Block": {}}
    labelled, outside = rule["Statement"]["AndStatement"]["Statements"]
    # The label AWS documents for the rule (WAF developer guide, core rule set).
    assert labelled == {"LabelMatchStatement": {"Scope": "LABEL", "Key": "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"}}
    upload = outside["NotStatement"]["Statement"]
    matches = [s["ByteMatchStatement"] for s in upload["OrStatement"]["Statements"]] if len(paths) > 1 else [upload["ByteMatchStatement"]]
    assert [(m["SearchString"], m["PositionalConstraint"], m["FieldToMatch"]) for m in matches] == [
        (path, "STARTS_WITH", {"UriPath": {}}) for path in paths
    ]
