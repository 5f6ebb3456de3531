"""cdk_constructs/alarms.py: alarms on a threshold, and the composite that pages once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Template

from cdk_constructs.alarms import AlarmGroup, describe, threshold_alarm
from cdk_constructs.threshold import Comparison, MissingData, Severity, Statistic, Threshold
from tests.cdk_constructs.conftest import built, of_type, one, threshold

TOPIC = "arn:aws:sns:us-west-2:123456789012:alerts-warning"
PAGER = "arn:aws:sns:us-west-2:123456789012:alerts-critical"


def _threshold(comparison: Comparison = Comparison.ABOVE, severity: Severity = Severity.WARNING) -> Threshold:
    return threshold(
        unit="seconds", comparison=comparison, severity=severity, manual='"API Response Time: < 2 seconds"',
        runbook="High Response Times", statistic=Statistic.P95, evaluation_periods=5, datapoints_to_alarm=3,
        missing_data=MissingData.NOT_BREACHING, why_missing="no requests, nothing slow",
    )  # fmt: skip


def _metric() -> cloudwatch.Metric:
    return cloudwatch.Metric(namespace="App", metric_name="Latency")


def _alarm(template: Template, name: str) -> dict[str, Any]:
    (alarm,) = [a["Properties"] for a in of_type(template, "AWS::CloudWatch::Alarm").values() if a["Properties"]["AlarmName"] == name]
    return alarm


@pytest.fixture(scope="module")
def group() -> tuple[AlarmGroup, Template]:
    """Given two alarms in a group, one of them an outage signal, and a composite over it."""

    def build(stack: Stack) -> AlarmGroup:
        group = AlarmGroup(stack, "Alarms")
        group.add("latency", construct_id="Latency", alarm_name="app-latency", threshold=_threshold(), metric=_metric(),
                  what="API latency", topic_arn=TOPIC)  # fmt: skip
        group.add("down", construct_id="Down", alarm_name="app-down", threshold=_threshold(Comparison.BELOW, Severity.CRITICAL),
                  metric=_metric(), what="Tasks", topic_arn=TOPIC, pages_through="app-outage")  # fmt: skip
        group.add_outage("Outage", alarm_name="app-outage", members=["down"], what="The API is down", manual="P0",
                         runbook="Immediate Response", topic_arn=PAGER)  # fmt: skip
        return group

    return built(build)


def test_the_threshold_sets_statistic_period_datapoints_and_missing_data(group: tuple[AlarmGroup, Template]) -> None:
    alarm = _alarm(group[1], "app-latency")
    assert (alarm["ExtendedStatistic"], alarm["Period"]) == ("p95", 60)
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"], alarm["TreatMissingData"]) == (5, 3, "notBreaching")
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (2, "GreaterThanThreshold")


def test_alarm_and_ok_both_tell_the_topic(group: tuple[AlarmGroup, Template]) -> None:
    alarm = _alarm(group[1], "app-latency")
    assert alarm["AlarmActions"] == [TOPIC] and alarm["OKActions"] == [TOPIC]


def test_the_description_names_severity_condition_manual_runbook_and_missing_data(group: tuple[AlarmGroup, Template]) -> None:
    assert _alarm(group[1], "app-latency")["AlarmDescription"] == describe(_threshold(), "API latency")
    assert describe(_threshold(), "API latency").startswith('[WARNING] API latency > 2 seconds. Manual: "API Response Time')


def test_the_composite_pages_once_for_its_members(group: tuple[AlarmGroup, Template]) -> None:
    (composite,) = of_type(group[1], "AWS::CloudWatch::CompositeAlarm").values()
    props = composite["Properties"]
    assert props["AlarmName"] == "app-outage" and props["AlarmActions"] == [PAGER]
    # The members' names are references to them, joined into the text.
    assert "[CRITICAL] The API is down: any of " in json.dumps(props["AlarmDescription"])
    assert "Pages through app-outage" in _alarm(group[1], "app-down")["AlarmDescription"]


def test_an_anomaly_band_becomes_an_anomaly_detection_alarm() -> None:
    _, template = built(
        lambda stack: AlarmGroup(stack, "Alarms").add(
            "throughput", construct_id="Throughput", alarm_name="app-throughput",
            threshold=_threshold(Comparison.OUTSIDE_BAND), metric=_metric(), what="Requests", topic_arn=TOPIC,
        )
    )  # fmt: skip
    alarm = _alarm(template, "app-throughput")
    assert alarm["ComparisonOperator"] == "LessThanLowerOrGreaterThanUpperThreshold"
    assert any(m.get("Expression", "").startswith("ANOMALY_DETECTION_BAND(") for m in alarm["Metrics"])


def test_a_key_added_twice_or_an_unknown_member_is_refused() -> None:
    def twice(stack: Stack) -> None:
        group = AlarmGroup(stack, "Alarms")
        for _ in range(2):
            group.add("a", construct_id="A", alarm_name="a", threshold=_threshold(), metric=_metric(), what="a", topic_arn=TOPIC)

    with pytest.raises(ValueError, match="added twice"):
        built(twice)
    with pytest.raises(ValueError, match="joins"):
        built(lambda stack: AlarmGroup(stack, "Alarms").add_outage(
            "Outage", alarm_name="o", members=["nope"], what="w", manual="m", runbook="r", topic_arn=PAGER))  # fmt: skip


def test_threshold_alarm_builds_one_alarm_where_it_is_asked_to() -> None:
    """An alarm outside a group (the DR stack's primary-health) keeps the construct id it is given."""
    _, template = built(
        lambda stack: threshold_alarm(
            stack, "PrimaryHealthAlarm", alarm_name="app-primary-health", threshold=_threshold(Comparison.BELOW, Severity.CRITICAL),
            metric=_metric(), what="Primary health", topic_arn=PAGER,
        )
    )  # fmt: skip
    (logical_id,) = of_type(template, "AWS::CloudWatch::Alarm")
    assert logical_id.startswith("PrimaryHealthAlarm")
    assert _alarm(template, "app-primary-health")["AlarmActions"] == [PAGER]


def test_the_alerting_test_alarm_tells_its_topic_and_goes_back_to_ok_without_data() -> None:
    from cdk_constructs.alarms import alerting_test_alarm

    topic = "arn:aws:sns:us-west-2:123456789012:alerts-warning"
    _, template = built(
        lambda stack: alerting_test_alarm(stack, "Test", alarm_name="app-alerting-test", namespace="App/Prod", topic_arn=topic)
    )
    props = one(template, "AWS::CloudWatch::Alarm")["Properties"]
    assert props["AlarmName"] == "app-alerting-test" and props["AlarmActions"] == [topic] and props["OKActions"] == [topic]
    assert props["TreatMissingData"] == "notBreaching" and props["MetricName"] == "AlertingTest"
    assert props["AlarmDescription"].startswith("[TEST]")
