"""cdk_constructs/alerting.py: an encrypted topic per severity and its subscribers."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from cdk_constructs.alerting import AlertChannels, Endpoints
from cdk_constructs.threshold import Severity
from tests.cdk_constructs.conftest import built, of_type

NAMES = {Severity.CRITICAL: "alerts-critical", Severity.WARNING: "alerts-warning"}


@pytest.fixture(scope="module")
def channels() -> tuple[AlertChannels, Template]:
    """Given e-mail for both severities, SMS and Slack for critical only."""
    endpoints = {
        Severity.CRITICAL: Endpoints(emails=["ops@example.com"], sms="+15555550100", slack_workspace_id="T0123ABCD",
                                     slack_channel_id="C0123ABCD", slack_channel_name="#critical"),
        Severity.WARNING: Endpoints(emails=["team@example.com"], slack_channel_name="#warning"),
    }  # fmt: skip
    return built(lambda stack: AlertChannels(stack, "Channels", topic_names=NAMES, endpoints=endpoints))


def test_each_severity_has_a_named_topic_encrypted_with_the_channels_key(channels: tuple[AlertChannels, Template]) -> None:
    topics = {t["Properties"]["TopicName"]: t["Properties"] for t in of_type(channels[1], "AWS::SNS::Topic").values()}
    assert set(topics) == set(NAMES.values())
    (key_id,) = of_type(channels[1], "AWS::KMS::Key")
    assert all(t["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]} for t in topics.values())


def test_cloudwatch_may_publish_into_the_encrypted_topics(channels: tuple[AlertChannels, Template]) -> None:
    (key,) = of_type(channels[1], "AWS::KMS::Key").values()
    (statement,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == "CloudWatchAlarmsPublish"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}


def test_configured_endpoints_are_subscribed(channels: tuple[AlertChannels, Template]) -> None:
    protocols = sorted(s["Properties"]["Protocol"] for s in of_type(channels[1], "AWS::SNS::Subscription").values())
    assert protocols == ["email", "email", "sms"]
    (slack,) = of_type(channels[1], "AWS::Chatbot::SlackChannelConfiguration").values()
    assert slack["Properties"]["SlackChannelId"] == "C0123ABCD"


def test_what_is_left_empty_is_reported_not_subscribed(channels: tuple[AlertChannels, Template]) -> None:
    assert channels[0].left_out == ["warning Slack #warning"]


def test_topics_refuse_plain_http_publishing(channels: tuple[AlertChannels, Template]) -> None:
    policies = of_type(channels[1], "AWS::SNS::TopicPolicy").values()
    assert all(
        any(
            s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in p["Properties"]["PolicyDocument"]["Statement"]
        )
        for p in policies
    )
    assert len(policies) == 2
