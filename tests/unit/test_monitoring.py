"""Monitoring: every line of the manual's "Key Metrics to Monitor" and "Alerting Channels"."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from config import load_environment
from config.thresholds import markdown_table
from tests.synth import ROOT, Synthesis, synthesize

# Written out from the manual (and, where it names no number, from the README's table of our
# choices) -- not imported from config/thresholds.py, so a changed number fails here.
# name: (threshold, comparison, statistic, period in seconds, severity, stack)
MANUAL_ALARMS: dict[str, tuple[float | None, str, str | None, int, str, str]] = {
    # "API Response Time: < 2 seconds (95th percentile)"
    "api-p95-latency": (2, "GreaterThanThreshold", "p95", 60, "warning", "Service"),
    # "Error Rate: < 1% of total requests"
    "api-error-rate": (1, "GreaterThanThreshold", "Sum", 60, "warning", "Service"),
    # P1: "High error rates (>5%)"
    "api-error-rate-critical": (5, "GreaterThanThreshold", "Sum", 60, "critical", "Monitoring"),
    # "Request Throughput: Baseline ~10-50 requests/minute" -- an anomaly band, 2 standard deviations
    "request-throughput": (None, "LessThanLowerOrGreaterThanUpperThreshold", "Sum", 300, "warning", "Monitoring"),
    # "Active ECS Tasks: >= 2 running tasks"
    "running-tasks": (2, "LessThanThreshold", "Minimum", 60, "critical", "Monitoring"),
    # "Load Balancer Health: All targets healthy"
    "unhealthy-targets": (0, "GreaterThanThreshold", "Maximum", 60, "warning", "Monitoring"),
    # P0: "Complete service outage"
    "no-healthy-targets": (1, "LessThanThreshold", "Minimum", 60, "critical", "Monitoring"),
    # "ECS CPU/Memory: < 70% utilization"
    "ecs-cpu": (70, "GreaterThanThreshold", "Average", 300, "warning", "Monitoring"),
    "ecs-memory": (70, "GreaterThanThreshold", "Average", 300, "warning", "Monitoring"),
    # "Database CPU: < 80% utilization"
    "db-cpu": (80, "GreaterThanThreshold", "Average", 300, "warning", "Monitoring"),
    # "Database Connections: < 15 active connections"
    "db-connections": (15, "GreaterThanOrEqualToThreshold", "Maximum", 300, "warning", "Monitoring"),
    # "Storage: Verify available disk space" (numbers ours: 5 GiB warning, 2 GiB critical)
    "db-free-storage": (5, "LessThanThreshold", "Minimum", 300, "warning", "Monitoring"),
    "db-free-storage-critical": (2, "LessThanThreshold", "Minimum", 300, "critical", "Monitoring"),
    # "Estimates Generated: > 5 per hour during business hours"
    "estimates-per-hour": (5, "LessThanOrEqualToThreshold", "Sum", 3600, "warning", "Monitoring"),
    # "Gemini API Latency: < 10 seconds average"
    "gemini-latency": (10, "GreaterThanThreshold", "Average", 300, "warning", "Monitoring"),
    # filter-pattern "FAILED_LOGIN"; P1 "Authentication failures" (20 in 5 minutes ours)
    "failed-logins": (20, "GreaterThanOrEqualToThreshold", "Sum", 300, "critical", "Monitoring"),
    # filter-pattern "slow query", "GeminiAPI ERROR", "connection pool" (counts ours)
    "slow-queries": (10, "GreaterThanOrEqualToThreshold", "Sum", 300, "warning", "Monitoring"),
    "gemini-errors": (5, "GreaterThanOrEqualToThreshold", "Sum", 300, "warning", "Monitoring"),
    "connection-pool-errors": (1, "GreaterThanOrEqualToThreshold", "Sum", 300, "warning", "Monitoring"),
    # "Renew certificates (automatic with ACM, but verify)": 30 days warning, 7 days critical
    "certificate-expiry": (30, "LessThanThreshold", "Minimum", 86400, "warning", "Monitoring"),
    "certificate-expiry-critical": (7, "LessThanThreshold", "Minimum", 86400, "critical", "Monitoring"),
    # Cross-Region Recovery: "Update DNS to point to DR region" (the check is 1 while healthy)
    "primary-health": (1, "LessThanThreshold", "Minimum", 60, "critical", "DR"),
    # RPO "Database: 15 minutes": critical at 15 min = 900 s, warning at a third (ours)
    "replica-lag": (300, "GreaterThanThreshold", "Maximum", 60, "warning", "DR"),
    "replica-lag-critical": (900, "GreaterThanOrEqualToThreshold", "Maximum", 60, "critical", "DR"),
}
OUTAGE_SIGNALS = {"no-healthy-targets", "running-tasks", "api-error-rate-critical"}


def _alarms(synth: Synthesis) -> dict[str, tuple[str, dict[str, Any]]]:
    found = {}
    for part in ("Service", "Monitoring", "DR"):
        for resource in synth.resources(part, "AWS::CloudWatch::Alarm").values():
            found[resource["Properties"]["AlarmName"]] = (part, resource["Properties"])
    return found


def _statistic_and_period(props: dict[str, Any]) -> tuple[str | None, int]:
    if "Metrics" not in props:
        return props.get("Statistic") or props.get("ExtendedStatistic"), props["Period"]
    stats = [m for m in props["Metrics"] if "MetricStat" in m]
    returned = next(m for m in props["Metrics"] if m.get("ReturnData", True))
    period = returned.get("Period") or stats[0]["MetricStat"]["Period"]
    return stats[0]["MetricStat"]["Stat"], period


def _topic_name(synth: Synthesis, part: str, actions: list[Any]) -> set[str]:
    """Topic names behind alarm actions: a Ref to the Monitoring stack's topic, or an ARN string."""
    names = set()
    resources = synth.template(part)["Resources"]
    for action in actions:
        if isinstance(action, dict) and "Ref" in action:
            names.add(resources[action["Ref"]]["Properties"]["TopicName"])
        else:
            names.add(re.sub(r".*:", "", json.dumps(action).rstrip('"]}')))
    return names


@pytest.mark.parametrize("key", sorted(MANUAL_ALARMS))
def test_each_manual_alarm_exists_with_the_manuals_numbers(production: Synthesis, key: str) -> None:
    threshold, comparison, statistic, period, severity, part = MANUAL_ALARMS[key]
    alarms = _alarms(production)
    name = f"contractorlens-production-{key}"
    assert name in alarms, f"missing alarm {name}"
    where, props = alarms[name]
    assert where == part
    assert props.get("Threshold") == threshold
    assert props["ComparisonOperator"] == comparison
    assert _statistic_and_period(props) == (statistic, period)
    assert f"[{severity.upper()}]" in props["AlarmDescription"]
    assert "Manual:" in props["AlarmDescription"] and "Runbook:" in props["AlarmDescription"]
    assert props["TreatMissingData"] in ("notBreaching", "breaching", "missing", "ignore")
    assert "Missing data:" in props["AlarmDescription"]


def test_no_alarm_is_left_unlisted(production: Synthesis) -> None:
    # Besides the manual's: the weekly alerting test's, which watches nothing (test below).
    assert set(_alarms(production)) == {f"contractorlens-production-{k}" for k in MANUAL_ALARMS} | {
        "contractorlens-production-alerting-test"
    }


@pytest.mark.parametrize("key", sorted(MANUAL_ALARMS))
def test_each_alarm_reports_to_its_channel_on_alarm_and_on_ok(production: Synthesis, key: str) -> None:
    _, _, _, _, severity, part = MANUAL_ALARMS[key]
    _, props = _alarms(production)[f"contractorlens-production-{key}"]
    # The outage signals report to the warning channel and page through service-down.
    channel = "warning" if key in OUTAGE_SIGNALS else severity
    expected = {f"contractorlens-production-alerts-{channel}"}
    assert _topic_name(production, part, props["AlarmActions"]) == expected
    assert _topic_name(production, part, props["OKActions"]) == expected


def test_service_down_pages_once_for_the_outage_signals(production: Synthesis) -> None:
    (composite,) = production.resources("Monitoring", "AWS::CloudWatch::CompositeAlarm").values()
    props = composite["Properties"]
    assert props["AlarmName"] == "contractorlens-production-service-down"
    rule = json.dumps(props["AlarmRule"])
    resources = production.template("Monitoring")["Resources"]
    members = {resources[ref]["Properties"]["AlarmName"] for ref in re.findall(r'"Fn::GetAtt": \["(\w+)", "Arn"\]', rule)}
    assert members == {f"contractorlens-production-{k}" for k in OUTAGE_SIGNALS}
    assert " OR " in rule
    assert _topic_name(production, "Monitoring", props["AlarmActions"]) == {"contractorlens-production-alerts-critical"}
    assert _topic_name(production, "Monitoring", props["OKActions"]) == {"contractorlens-production-alerts-critical"}


def test_error_rate_counts_target_and_load_balancer_5xx_against_requests(production: Synthesis) -> None:
    _, props = _alarms(production)["contractorlens-production-api-error-rate-critical"]
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in props["Metrics"] if "MetricStat" in m}
    assert names == {"HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "RequestCount"}


def test_throughput_uses_an_anomaly_band(production: Synthesis) -> None:
    _, props = _alarms(production)["contractorlens-production-request-throughput"]
    band = next(m for m in props["Metrics"] if m["Id"] == props["ThresholdMetricId"])
    assert band["Expression"].startswith("ANOMALY_DETECTION_BAND(")
    assert "RequestCount" in json.dumps(props["Metrics"])


def test_estimates_are_watched_only_in_business_hours(production: Synthesis) -> None:
    """Mon-Fri 9:00-17:00 America/Los_Angeles standard time (UTC-8) = UTC hour-of-week 17-25, 41-49, ... 113-121."""
    _, props = _alarms(production)["contractorlens-production-estimates-per-hour"]
    expressions = {m["Id"]: m.get("Expression") for m in props["Metrics"]}
    final = next(m["Expression"] for m in props["Metrics"] if m.get("ReturnData", True))
    for low, high in ((17, 25), (41, 49), (65, 73), (89, 97), (113, 121)):
        assert f">= {low} AND" in final and f"< {high})" in final
    assert final.count(" AND ") == 5
    assert any(e and "HOUR(" in e and "DAY(" in e for e in expressions.values())
    assert any(e and e.startswith("FILL(") for e in expressions.values())
    # Outside business hours the expression returns a value the alarm does not fire on.
    assert final.rstrip(")").endswith(", 6")


def test_gemini_latency_and_estimates_come_from_the_backends_metrics(production: Synthesis) -> None:
    _, gemini = _alarms(production)["contractorlens-production-gemini-latency"]
    assert (gemini["Namespace"], gemini["MetricName"]) == ("ContractorLens/Production", "GeminiLatency")
    _, estimates = _alarms(production)["contractorlens-production-estimates-per-hour"]
    stat = next(m["MetricStat"]["Metric"] for m in estimates["Metrics"] if "MetricStat" in m)
    assert (stat["Namespace"], stat["MetricName"]) == ("ContractorLens/Production", "EstimatesGenerated")


@pytest.mark.parametrize(
    ("pattern", "metric"),
    [
        ("FAILED_LOGIN", "FailedLogins"),
        ("slow query", "SlowQueries"),
        ("GeminiAPI ERROR", "GeminiApiErrors"),
        ("connection pool", "ConnectionPoolErrors"),
    ],
)
def test_the_manuals_log_searches_are_metric_filters(production: Synthesis, pattern: str, metric: str) -> None:
    filters = {
        f["Properties"]["FilterPattern"]: f["Properties"] for f in production.resources("Monitoring", "AWS::Logs::MetricFilter").values()
    }
    found = filters[f'"{pattern}"']
    assert found["LogGroupName"] == "/ecs/contractorlens"
    assert found["MetricTransformations"][0]["MetricName"] == metric


def test_topics_are_encrypted_and_named(production: Synthesis) -> None:
    topics = {t["Properties"]["TopicName"]: t["Properties"] for t in production.resources("Monitoring", "AWS::SNS::Topic").values()}
    assert set(topics) == {"contractorlens-production-alerts-critical", "contractorlens-production-alerts-warning"}
    for topic in topics.values():
        assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlertsKey", "Arn"]}


def test_email_subscriptions_follow_the_manual(production: Synthesis) -> None:
    subs = production.resources("Monitoring", "AWS::SNS::Subscription").values()
    by_topic = {}
    resources = production.template("Monitoring")["Resources"]
    for sub in subs:
        topic = resources[sub["Properties"]["TopicArn"]["Ref"]]["Properties"]["TopicName"]
        by_topic.setdefault(topic, set()).add((sub["Properties"]["Protocol"], sub["Properties"]["Endpoint"]))
    assert by_topic == {
        "contractorlens-production-alerts-critical": {("email", "devops@contractorlens.com")},
        "contractorlens-production-alerts-warning": {("email", "team@contractorlens.com")},
    }


def test_empty_endpoints_are_named_at_synth(production: Synthesis) -> None:
    metadata = json.loads((production.outdir / "ContractorLens-Production-Monitoring.metadata.json").read_text())
    warnings = [e["data"] for entries in metadata.values() for e in entries if e["type"] == "aws:cdk:warning"]
    (warning,) = [w for w in warnings if "not subscribed" in w]
    for endpoint in ("critical SMS", "#alerts-critical", "#alerts-warning"):
        assert endpoint in warning


def test_sms_and_slack_are_subscribed_when_configured(tmp_path_factory: pytest.TempPathFactory) -> None:
    cfg = load_environment("staging")
    alerting = cfg.alerting.model_copy(
        update={
            "oncall_sms": "+15555550100",
            "slack_workspace_id": "T0123ABCD",
            "slack_critical_channel_id": "C0CRITICAL",
            "slack_warning_channel_id": "C0WARNING",
        }
    )
    synth = synthesize(cfg.model_copy(update={"alerting": alerting}), tmp_path_factory.mktemp("all-endpoints"))
    assert synth.error is None, synth.error
    protocols = {s["Properties"]["Protocol"] for s in synth.resources("Monitoring", "AWS::SNS::Subscription").values()}
    assert protocols == {"email", "sms"}
    slack = {
        c["Properties"]["SlackChannelId"]: c["Properties"]
        for c in synth.resources("Monitoring", "AWS::Chatbot::SlackChannelConfiguration").values()
    }
    assert set(slack) == {"C0CRITICAL", "C0WARNING"}
    assert all(c["SlackWorkspaceId"] == "T0123ABCD" for c in slack.values())
    metadata = json.loads((synth.outdir / "ContractorLens-Staging-Monitoring.metadata.json").read_text())
    assert not [e for entries in metadata.values() for e in entries if "not subscribed" in str(e.get("data"))]


def test_dashboard_shows_every_manual_metric_with_its_line(production: Synthesis) -> None:
    (dashboard,) = production.resources("Monitoring", "AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == "ContractorLens"
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in (
        "API response time p95",
        "5xx error rate",
        "Requests",
        "Running tasks",
        "ECS CPU",
        "ECS memory",
        "ALB targets",
        "Database CPU",
        "Database connections",
        "Estimates generated per hour",
        "Gemini API latency",
        "User sessions",
    ):
        assert title in body
    assert '\\"type\\":\\"alarm\\"' in body


def test_each_line_on_the_dashboard_is_its_alarms_threshold(production: Synthesis) -> None:
    """The graphs draw the deployed alarms' thresholds, which the tests above hold to the manual."""
    (dashboard,) = production.resources("Monitoring", "AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = json.loads("".join(part if isinstance(part, str) else "TOKEN" for part in parts))
    alarms = {name: props for name, (_, props) in _alarms(production).items()}
    lines = {
        (widget["properties"]["title"], line["label"].split()[0]): line["value"]
        for widget in body["widgets"]
        for line in widget["properties"].get("annotations", {}).get("horizontal", [])
    }
    assert {key for _, key in lines} >= {
        "api-p95-latency", "api-error-rate", "api-error-rate-critical", "running-tasks", "unhealthy-targets", "ecs-cpu",
        "ecs-memory", "db-cpu", "db-connections", "db-free-storage", "db-free-storage-critical", "estimates-per-hour",
        "gemini-latency",
    }  # fmt: skip
    for (title, key), value in lines.items():
        assert value == alarms[f"contractorlens-production-{key}"]["Threshold"], (title, key)


def test_readme_alarm_table_is_the_tables(production: Synthesis) -> None:
    assert markdown_table() in (ROOT / "README.md").read_text()


def test_the_weekly_alerting_test_has_an_alarm_of_its_own_on_the_warning_topic(production: Synthesis) -> None:
    """`checklist weekly` sets it to ALARM and back; it must never page (the warning channel only)."""
    (alarm,) = [
        a
        for a in production.resources("Monitoring", "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("AlarmName") == "contractorlens-production-alerting-test"
    ]
    (action,) = alarm["Properties"]["AlarmActions"]
    topic = production.template("Monitoring")["Resources"][action["Ref"]]
    assert topic["Properties"]["TopicName"] == "contractorlens-production-alerts-warning"
    assert alarm["Properties"]["OKActions"] == [action]


def test_the_daily_checklist_runs_every_morning_in_production_only(production: Synthesis, staging: Synthesis) -> None:
    """Issue 17: on in production, off in staging, by config; judged by the thresholds table."""
    (schedule,) = production.resources("Monitoring", "AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["Name"] == "contractorlens-daily-checklist"
    assert schedule["Properties"]["ScheduleExpression"] == "cron(0 8 * * ? *)"
    assert schedule["Properties"]["ScheduleExpressionTimezone"] == production.cfg.alerting.time_zone
    (function,) = [
        f
        for f in production.resources("Monitoring", "AWS::Lambda::Function").values()
        if f["Properties"].get("FunctionName") == "contractorlens-daily-checklist"
    ]
    joined = function["Properties"]["Environment"]["Variables"]["CHECKLIST"]["Fn::Join"][1]
    settings = json.loads("".join(part if isinstance(part, str) else "TOKEN" for part in joined))
    # The manual's lines, through config/thresholds.py: ECS CPU 70 %, error rate 1 %, RPO 15 minutes, 2 tasks.
    assert {k: settings["limits"][k] for k in ("ecs_cpu", "error_rate", "rpo_minutes", "min_tasks")} == {
        "ecs_cpu": 70, "error_rate": 1, "rpo_minutes": 15, "min_tasks": 2
    }  # fmt: skip
    assert settings["health_url"] == "https://api.contractorlens.com/health" and settings["db_instance"] == "contractorlens-db"
    assert not staging.resources("Monitoring", "AWS::Scheduler::Schedule")


def _paging(synth: Synthesis) -> set[str]:
    """The logical ids of the Monitoring stack's alarms that notify the critical topic."""
    template = synth.template("Monitoring")
    (critical,) = [k for k, r in template["Resources"].items() if r["Properties"].get("TopicName", "").endswith("-alerts-critical")]
    alarms = {**synth.resources("Monitoring", "AWS::CloudWatch::Alarm"), **synth.resources("Monitoring", "AWS::CloudWatch::CompositeAlarm")}
    return {k for k, a in alarms.items() if {"Ref": critical} in a["Properties"].get("AlarmActions", [])}


@pytest.mark.parametrize("env", ["production", "staging"])
def test_every_alarm_that_pages_stops_every_game_day(production: Synthesis, staging: Synthesis, env: str) -> None:
    """Issue 17: the three experiment templates, each stopped by each alarm that pages, and only those."""
    synth = production if env == "production" else staging
    templates = synth.resources("Monitoring", "AWS::FIS::ExperimentTemplate")
    prefix = synth.cfg.names.prefix
    assert {t["Properties"]["Tags"]["Name"] for t in templates.values()} == {
        f"{prefix}-task-loss", f"{prefix}-db-failover", f"{prefix}-az-outage"
    }  # fmt: skip
    paging = _paging(synth)
    assert any(k.startswith("AlarmsServiceDown") for k in paging)
    for template in templates.values():
        stops = {c["Value"]["Fn::GetAtt"][0] for c in template["Properties"]["StopConditions"]}
        assert stops == paging, template["Properties"]["Tags"]["Name"]


def test_db_failover_forces_a_failover_only_where_there_is_a_standby(production: Synthesis, staging: Synthesis) -> None:
    def reboot(synth: Synthesis) -> dict[str, Any]:
        (found,) = [
            t
            for t in synth.resources("Monitoring", "AWS::FIS::ExperimentTemplate").values()
            if "db-failover" in t["Properties"]["Tags"]["Name"]
        ]
        return dict(found["Properties"])

    assert reboot(production)["Actions"]["Reboot"]["Parameters"] == {"forceFailover": "true"}
    assert reboot(production)["Targets"]["Database"]["ResourceArns"] == ["arn:aws:rds:us-west-2:123456789012:db:contractorlens-db"]
    assert reboot(staging)["Actions"]["Reboot"]["Parameters"] == {"forceFailover": "false"}
