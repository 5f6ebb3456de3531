"""`./scripts/deploy.sh checklist daily|weekly|monthly|quarterly`: the manual's Maintenance Tasks.

moto holds the account and its metrics; what moto cannot answer (percentiles, SNS's delivery
metrics after an alarm, Cost Explorer's figures) is stubbed at the API boundary.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from runbook import checklist
from runbook.aws import Aws, WaitPolicy
from runbook.context import Context
from runbook.report import Report
from tests.runbook.conftest import FAST, PRIMARY, HealthServer, World, production_config

# The manual's "Maintenance Tasks", verbatim.
MANUAL = {
    "daily": ["Check system health dashboard", "Review error rates and logs", "Monitor resource utilization", "Verify backup completion"],
    "weekly": ["Review security alerts and patches", "Analyze performance trends", "Update capacity planning", "Test alerting mechanisms"],
    "monthly": ["Security audit and review", "Cost optimization review", "Disaster recovery test", "Update documentation"],
    "quarterly": [
        "Full disaster recovery drill",
        "Infrastructure security scan",
        "Performance baseline update",
        "Business continuity review",
    ],
}


def test_every_line_of_the_manuals_lists_is_an_item() -> None:
    assert {period: [item.manual for item in items] for period, items in checklist.CHECKLISTS.items()} == MANUAL
    for items in checklist.CHECKLISTS.values():
        for item in items:
            assert item.run or item.health or item.human, item.manual


@pytest.fixture
def alb(world: World) -> str:
    """The world's target group behind a load balancer, as the Service stack has it: its metric dimension."""
    ec2, elbv2 = boto3.client("ec2", region_name=PRIMARY), boto3.client("elbv2", region_name=PRIMARY)
    subnets = [
        ec2.create_subnet(VpcId=world.vpc_id, CidrBlock=f"10.10.{i}.0/24", AvailabilityZone=f"us-west-2{z}")["Subnet"]["SubnetId"]
        for i, z in ((200, "a"), (201, "b"))
    ]
    arn = elbv2.create_load_balancer(Name="contractorlens-alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    elbv2.create_listener(
        LoadBalancerArn=arn, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": world.target_group_arn}]
    )
    return arn.split(":loadbalancer/", 1)[1]


def _put(namespace: str, metric: str, dims: dict[str, str], value: float, hours: float = 2) -> None:
    boto3.client("cloudwatch", region_name=PRIMARY).put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": metric,
                "Value": value,
                "Timestamp": datetime.now(UTC) - timedelta(hours=hours),
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
            }
        ],
    )


def _a_day(alb: str, *, service_cpu: float = 35.0, errors: float = 12.0) -> None:
    ecs = {"ClusterName": "contractorlens", "ServiceName": "contractorlens"}
    db = {"DBInstanceIdentifier": "contractorlens-db"}
    _put("AWS/ApplicationELB", "RequestCount", {"LoadBalancer": alb}, 10000)
    _put("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", {"LoadBalancer": alb}, errors)
    _put("AWS/ECS", "CPUUtilization", ecs, service_cpu)
    _put("AWS/ECS", "MemoryUtilization", ecs, 40)
    _put("AWS/RDS", "CPUUtilization", db, 20)
    _put("AWS/RDS", "FreeStorageSpace", db, 80 * 2**30)


def _context(aws: Aws | None = None) -> Context:
    return Context(
        cfg=production_config(), aws=aws or Aws(), report=Report("checklist", "production"), wait=WaitPolicy(1, 1), region=PRIMARY
    )


def _lines(out: str, *names: str) -> list[str]:
    return [line for line in out.splitlines() if any(f"  {name}:" in line for name in names)]


def test_daily_error_rate_and_utilization_are_judged_against_the_thresholds(world: World, alb: str, capsys) -> None:
    _a_day(alb)
    ctx = _context()
    assert checklist.error_rate(ctx) and checklist.utilization(ctx)
    out = capsys.readouterr().out
    assert "ok    error rate, 24 h: 0.12 % of 10000 requests (alarm above 1 %)" in out
    assert "ok    service CPU: peak 35 % in 24 h (alarm above 70 %)" in out
    assert "ok    database storage: at least 80.0 GiB free (alarm below 5 GiB)" in out


def test_daily_fails_on_a_cpu_peak_or_an_error_rate_above_the_manuals_lines(world: World, alb: str, capsys) -> None:
    _a_day(alb, service_cpu=91, errors=300)
    ctx = _context()
    assert not checklist.error_rate(ctx)
    assert not checklist.utilization(ctx)
    (rate,) = _lines(capsys.readouterr().out, "error rate, 24 h", "service CPU")[:1]
    assert "FAIL" in rate and "3.00 % of 10000 requests" in rate


def test_utilization_without_data_fails_rather_than_passing(world: World, alb: str, capsys) -> None:
    assert not checklist.utilization(_context())
    assert "FAIL  service CPU: no data in the last 24 h" in capsys.readouterr().out


def test_the_checklist_command_lists_human_steps_and_fails_on_a_failed_item(
    world: World, alb: str, health_server: HealthServer, run
) -> None:
    _a_day(alb, service_cpu=91)
    result = run("checklist", "daily", "--url", health_server.url, *FAST)
    assert result.code == 1
    assert "  todo  Check system health dashboard: dashboard: https://us-west-2.console.aws.amazon.com/cloudwatch/home" in result.out
    (summary,) = [line for line in result.out.splitlines() if line.startswith("checklist: failed: ")]
    assert "service CPU" in summary
    # moto has no GetRestoreTestingPlan: that AWS error fails its item, in one line, and the rest still run.
    assert "FAIL  Verify backup completion: AWS error in GetRestoreTestingPlan" in result.out
    as_json = run("checklist", "daily", "--url", health_server.url, "--json", *FAST)
    document = json.loads(as_json.out)
    manual = [c["name"] for c in document["checks"] if c["manual"]]
    assert manual == ["Check system health dashboard", "Review error rates and logs"] and not document["ok"]


WARNING_TOPIC = "arn:aws:sns:us-west-2:123456789012:contractorlens-production-alerts-warning"


def _subscriptions(ctx: Context, *subscriptions: tuple[str, str, bool]) -> Stubber:
    """The warning topic's subscriptions as SNS lists them: (protocol, endpoint, confirmed)."""
    stubber = Stubber(ctx.client("sns"))
    listed = [
        {
            "SubscriptionArn": f"{WARNING_TOPIC}:{n}" if confirmed else "PendingConfirmation",
            "Owner": "123456789012",
            "Protocol": protocol,
            "Endpoint": endpoint,
            "TopicArn": WARNING_TOPIC,
        }
        for n, (protocol, endpoint, confirmed) in enumerate(subscriptions)
    ]
    stubber.add_response("list_subscriptions_by_topic", {"Subscriptions": listed}, {"TopicArn": WARNING_TOPIC})
    return stubber


def _alerting_stubs(
    ctx: Context, published: float, failed: float, delivered: float = 2, polls: int = 1, late: int = 0, earlier: float = 0
) -> Stubber:
    """The alerting test's calls: SNS's counts before the test (`earlier` messages of a test run
    moments before, delivered to nobody), the test alarm to ALARM and back, then `polls` looks at the counts, which show
    this test's messages from look `late` + 1 on."""
    stubber = Stubber(ctx.client("cloudwatch"))
    alarm = "contractorlens-production-alerting-test"
    at = datetime.now(UTC)

    def counts(published: float, delivered: float, failed: float) -> None:
        for metric, value in (
            ("NumberOfMessagesPublished", published),
            ("NumberOfNotificationsDelivered", delivered),
            ("NumberOfNotificationsFailed", failed),
        ):
            expected = {
                "Namespace": "AWS/SNS",
                "MetricName": metric,
                "Dimensions": [{"Name": "TopicName", "Value": "contractorlens-production-alerts-warning"}],
                "StartTime": ANY,
                "EndTime": ANY,
                "Period": ANY,
                "Statistics": ["Sum"],
            }
            points = [{"Timestamp": at, "Sum": value}] if value else []
            stubber.add_response("get_metric_statistics", {"Datapoints": points}, expected)

    stubber.add_response("describe_alarms", {"MetricAlarms": [{"AlarmName": alarm}]}, {"AlarmNames": [alarm]})
    counts(earlier, 0, 0)
    stubber.add_response("set_alarm_state", {}, {"AlarmName": alarm, "StateValue": "ALARM", "StateReason": ANY})
    stubber.add_response("set_alarm_state", {}, {"AlarmName": alarm, "StateValue": "OK", "StateReason": ANY})
    for poll in range(polls):
        shows = poll >= late
        counts(earlier + (published if shows else 0), delivered if shows else 0, failed if shows else 0)
    return stubber


def _alerting_context(monkeypatch: pytest.MonkeyPatch) -> Context:
    """Two polls of SNS's metrics at most, without sleeping between them."""
    monkeypatch.setattr("runbook.aws.time.sleep", lambda seconds: None)
    return dataclasses.replace(_context(), wait=WaitPolicy(30, 1))


def test_the_alerting_test_passes_when_sns_published_and_delivered_without_failure(aws: None, capsys, monkeypatch) -> None:
    ctx = _alerting_context(monkeypatch)
    with _alerting_stubs(ctx, published=2, failed=0) as stubber, _subscriptions(ctx, ("email", "team@contractorlens.com", True)):
        assert checklist.alerting(ctx)
        stubber.assert_no_pending_responses()
    assert "published 2, delivered 2 (to 1 confirmed subscriber(s): email), failed 0" in capsys.readouterr().out


def test_the_alerting_test_waits_for_sns_metrics_that_arrive_late(aws: None, capsys, monkeypatch) -> None:
    """SNS's metrics show minutes after the messages: a first look that finds none is not the answer."""
    ctx = _alerting_context(monkeypatch)
    with (
        _alerting_stubs(ctx, published=2, failed=0, polls=2, late=1) as stubber,
        _subscriptions(ctx, ("email", "team@contractorlens.com", True)),
    ):
        assert checklist.alerting(ctx)
        stubber.assert_no_pending_responses()


def test_the_alerting_test_counts_only_its_own_messages(aws: None, capsys, monkeypatch) -> None:
    """A test run a moment before (its two messages, never delivered: the e-mail was not confirmed
    then) falls in the same minute, which CloudWatch rounds the start down to: only the rise counts."""
    ctx = _alerting_context(monkeypatch)
    with _alerting_stubs(ctx, published=2, failed=0, earlier=2) as stubber, _subscriptions(ctx, ("email", "team@contractorlens.com", True)):
        assert checklist.alerting(ctx)
        stubber.assert_no_pending_responses()
    assert "published 2, delivered 2 (to 1 confirmed subscriber(s): email)" in capsys.readouterr().out


def test_the_alerting_test_fails_on_a_failed_delivery(aws: None, capsys, monkeypatch) -> None:
    ctx = _alerting_context(monkeypatch)
    with _alerting_stubs(ctx, published=2, failed=1), _subscriptions(ctx, ("email", "team@contractorlens.com", True)):
        assert not checklist.alerting(ctx)
    assert "FAIL  alerting test" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("subscriptions", "delivered", "words"),
    [
        # The e-mail AWS sends on subscribe was never opened: the test was published and reached nobody.
        ([("email", "team@contractorlens.com", False)], 0, "team@contractorlens.com (email) is pending confirmation"),
        ([], 0, "no confirmed subscriber: nobody receives the topic's alerts"),
        # Two confirmed subscribers, two messages: four deliveries expected, one reached somebody.
        (
            [("email", "team@contractorlens.com", True), ("https", "https://global.sns-api.chatbot.amazonaws.com", True)],
            1,
            "3 of 4 deliveries missing",
        ),
    ],
    ids=["e-mail-pending", "no-subscriber", "deliveries-missing"],
)
def test_the_alerting_test_fails_unless_every_subscriber_received_it(
    aws: None, capsys, monkeypatch, subscriptions, delivered, words
) -> None:
    """It passed with `delivered 0`."""
    ctx = _alerting_context(monkeypatch)
    with _alerting_stubs(ctx, published=2, failed=0, delivered=delivered, polls=2), _subscriptions(ctx, *subscriptions):
        assert not checklist.alerting(ctx)
    out = capsys.readouterr().out
    assert "FAIL  alerting test" in out and words in out


def test_cost_is_this_month_and_last_by_the_environment_tag(aws: None, capsys) -> None:
    ctx = _context()
    month = lambda start, amount: {  # noqa: E731
        "TimePeriod": {"Start": start, "End": start}, "Estimated": False,
        "Groups": [{"Keys": ["Environment$production"], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}},
                   {"Keys": ["Environment$staging"], "Metrics": {"UnblendedCost": {"Amount": "90", "Unit": "USD"}}}],
    }  # fmt: skip
    with Stubber(ctx.client("ce", "us-east-1")) as stubber:
        stubber.add_response(
            "get_cost_and_usage",
            {"ResultsByTime": [month("2026-10-01", "1812.4"), month("2026-11-01", "1730.05")]},
            {
                "TimePeriod": ANY,
                "Granularity": "MONTHLY",
                "Metrics": ["UnblendedCost"],
                "Filter": {"Tags": {"Key": "Project", "Values": ["ContractorLens"]}},
                "GroupBy": [{"Type": "TAG", "Key": "Environment"}],
            },
        )
        assert checklist.cost(ctx)
    assert "production (tag Environment): 2026-10-01: 1812.40 USD; 2026-11-01: 1730.05 USD" in capsys.readouterr().out


def _support_ends(ctx: Context, stubber: Stubber, end: datetime) -> None:
    lifecycle = {"LifecycleSupportName": "open-source-rds-standard-support", "LifecycleSupportStartDate": datetime(2023, 2, 27, tzinfo=UTC),
                 "LifecycleSupportEndDate": end}  # fmt: skip
    stubber.add_response(
        "describe_db_major_engine_versions",
        {"DBMajorEngineVersions": [{"Engine": "postgres", "MajorEngineVersion": "15", "SupportedEngineLifecycles": [lifecycle]}]},
        {"Engine": "postgres", "MajorEngineVersion": "15"},
    )


def test_monthly_says_how_long_standard_support_has_left_and_fails_within_a_year(aws: None, capsys) -> None:
    ctx = _context()
    with Stubber(ctx.client("rds")) as stubber:
        _support_ends(ctx, stubber, datetime.now(UTC) + timedelta(days=500, hours=1))
        assert checklist.engine_support(ctx)
        _support_ends(ctx, stubber, datetime.now(UTC) + timedelta(days=200, hours=1))
        assert not checklist.engine_support(ctx)
        stubber.add_client_error("describe_db_major_engine_versions", "AccessDenied")
        assert not checklist.engine_support(ctx)
    out = capsys.readouterr().out
    assert "in 500 days (RDS, DescribeDBMajorEngineVersions); then RDS Extended Support, charged (database.extended_support = true)" in out
    assert "in 200 days" in out and "the major upgrade is due (README: Major version upgrades)" in out
    assert "RDS did not answer (AccessDenied): aws rds describe-db-major-engine-versions --engine postgres --major-engine-version 15" in out


def test_the_quarterly_drill_passes_within_the_rto_and_fails_when_stale(aws: None, capsys) -> None:
    ctx = _context()
    ssm = boto3.client("ssm", region_name=PRIMARY)
    assert not checklist.last_drill(ctx)
    assert "none recorded (/contractorlens/production/runbook/last-drill)" in capsys.readouterr().out
    recent = {"at": (datetime.now(UTC) - timedelta(days=20)).isoformat(), "minutes": 38.5}
    ssm.put_parameter(Name="/contractorlens/production/runbook/last-drill", Value=json.dumps(recent), Type="String")
    assert checklist.last_drill(ctx)
    assert "the DR region served after 38 min (the manual's database RTO: 120 min)" in capsys.readouterr().out
    stale = {"at": (datetime.now(UTC) - timedelta(days=100)).isoformat(), "minutes": 38.5}
    ssm.put_parameter(Name="/contractorlens/production/runbook/last-drill", Value=json.dumps(stale), Type="String", Overwrite=True)
    assert not checklist.last_drill(ctx)
    assert "the quarterly drill is due" in capsys.readouterr().out


def test_an_image_with_a_high_finding_fails_the_weekly_security_item(world: World, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _context()
    ecr = ctx.client("ecr")
    findings = {"imageScanFindings": {"findingSeverityCounts": {"HIGH": 2, "LOW": 5}}}
    monkeypatch.setattr(ecr, "describe_image_scan_findings", lambda **kwargs: findings)
    assert not checklist.image_findings(ctx)
    assert "FAIL  image scan: contractorlens:1.1.0: HIGH 2, LOW 5" in capsys.readouterr().out
    findings["imageScanFindings"]["findingSeverityCounts"] = {"LOW": 5}
    assert checklist.image_findings(ctx)


def _settings(alb: str, topic_arn: str, health_url: str) -> dict[str, Any]:
    """What the Monitoring stack writes into the function's environment (tests/unit: the template's)."""
    return {
        "env": "production", "title": "ContractorLens production", "health_url": health_url, "cluster": "contractorlens",
        "service": "contractorlens", "db_instance": "contractorlens-db", "load_balancer": alb, "alarm_prefix": "contractorlens-production-",
        "topic_arn": topic_arn,
        "limits": {"min_tasks": 2, "error_rate": 1, "ecs_cpu": 70, "ecs_memory": 70, "db_cpu": 80, "db_free_gib": 5, "rpo_minutes": 15, "health_timeout_seconds": 5},
    }  # fmt: skip


def _topic_with_a_queue() -> tuple[str, str]:
    sns, sqs = boto3.client("sns", region_name=PRIMARY), boto3.client("sqs", region_name=PRIMARY)
    topic = sns.create_topic(Name="contractorlens-production-alerts-warning")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, queue


def _posted(queue: str) -> dict[str, Any]:
    (message,) = boto3.client("sqs", region_name=PRIMARY).receive_message(QueueUrl=queue)["Messages"]
    return json.loads(message["Body"])


def _clients() -> dict[str, Any]:
    return {name: boto3.client(name, region_name=PRIMARY) for name in ("cloudwatch", "ecs", "rds", "sns")}


def test_the_scheduled_daily_checklist_posts_its_result_to_the_warning_topic(world: World, alb: str, health_server: HealthServer) -> None:
    from runbook.scheduled import daily

    _a_day(alb, service_cpu=91)
    boto3.client("cloudwatch", region_name=PRIMARY).set_alarm_state(
        AlarmName="contractorlens-production-api-error-rate", StateValue="ALARM", StateReason="test"
    )
    topic, queue = _topic_with_a_queue()
    result = daily.run(_settings(alb, topic, health_server.url), _clients())
    assert result == {"ok": False, "failed": ["alarms", "service CPU"], "checks": 9}
    posted = _posted(queue)
    assert posted["Subject"] == "ContractorLens production daily checklist: FAILED alarms, service CPU"
    assert "FAIL  service CPU: peak 91 % (alarm above 70 %)" in posted["Message"]
    assert "./scripts/deploy.sh checklist daily --env production" in posted["Message"]


def test_the_scheduled_daily_checklist_passes_on_a_healthy_day(world: World, alb: str, health_server: HealthServer) -> None:
    from runbook.scheduled import daily

    _a_day(alb)
    topic, queue = _topic_with_a_queue()
    assert daily.run(_settings(alb, topic, health_server.url), _clients()) == {"ok": True, "failed": [], "checks": 9}
    posted = _posted(queue)
    assert posted["Subject"] == "ContractorLens production daily checklist: all 9 checks passed"
    assert "ok    error rate, 24 h: 0.12 % of 10000 requests (alarm above 1 %)" in posted["Message"]
