"""`./scripts/deploy.sh checklist daily|weekly|monthly|quarterly`: the manual's "Maintenance Tasks".

Every line of the manual's lists is an `Item`: checked against AWS (pass or fail), or a human
step (`manual`) that says what to look at. The figures come from CloudWatch over the list's
window (24 hours, a week, a month) and are judged against config/thresholds.py, the same table
the alarms are built from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from config.names import ALERTING_TEST_ALARM, PROJECT_TAG
from config.thresholds import RTO_DATABASE_MINUTES, THRESHOLDS, checklist_limits
from runbook import checks, game_day, readiness, recovery, security
from runbook.aws import AWS_ERRORS, RunbookError, describe, error_code
from runbook.context import Context
from runbook.scheduled import daily

DAY, WEEK = timedelta(days=1), timedelta(days=7)
# How stale the last DR drill may be: the manual's drill is quarterly.
DRILL_DAYS = 92


@dataclass(frozen=True)
class Item:
    """One line of the manual's list and how it is done."""

    manual: str
    """The manual's words, verbatim."""
    run: Callable[[Context], bool] | None = None
    """Checks it against AWS; None for a human step."""
    human: Callable[[Context], str] | None = None
    """What a person looks at or runs, where a check cannot see it (alone, or besides `run`)."""
    health: bool = False
    """The health-check, which takes the command's --url instead of `run`."""


def _console(ctx: Context, fragment: str) -> str:
    region = ctx.region
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#{fragment}"


def _stat(
    ctx: Context, namespace: str, metric: str, dimensions: dict[str, str], window: timedelta, stat: str, *, end: datetime | None = None
) -> float | None:
    """One statistic over the window, as the scheduled daily checklist reads it (runbook/scheduled/daily.py)."""
    return daily.statistic(ctx.client("cloudwatch"), namespace, metric, dimensions, window, stat, end=end)


def _load_balancer(ctx: Context) -> str:
    """The ALB's metric dimension (`app/<name>/<id>`), from the service's target group."""
    service = checks.describe_service(ctx)
    groups = [lb["targetGroupArn"] for lb in service.get("loadBalancers", [])]
    if not groups:
        raise RunbookError(f"{ctx.cfg.names.service} has no target group: is the Service stack deployed?")
    (group,) = ctx.client("elbv2").describe_target_groups(TargetGroupArns=groups[:1])["TargetGroups"]
    if not group.get("LoadBalancerArns"):
        raise RunbookError(f"target group {group['TargetGroupName']} is behind no load balancer: is the Service stack deployed?")
    arn = str(group["LoadBalancerArns"][0])
    return arn.split(":loadbalancer/", 1)[1]


def _error_rate(ctx: Context, window: timedelta, end: datetime | None = None) -> tuple[float | None, float]:
    return daily.error_rate(ctx.client("cloudwatch"), _load_balancer(ctx), window, end=end)


def error_rate(ctx: Context) -> bool:
    limit = THRESHOLDS["api-error-rate"].value
    rate, requests = _error_rate(ctx, DAY)
    if rate is None:
        return ctx.report.check("error rate, 24 h", True, "no requests in the last 24 h")
    return ctx.report.check("error rate, 24 h", rate <= limit, f"{rate:.2f} % of {requests:.0f} requests (alarm above {limit:g} %)")


def utilization(ctx: Context) -> bool:
    """Peak CPU and memory of the service and the database over 24 h, and the database's free storage."""
    names, ok = ctx.cfg.names, True
    rows = daily.peaks(
        ctx.client("cloudwatch"),
        cluster=names.cluster,
        service=names.service,
        db_instance=names.db_instance,
        limits=checklist_limits(),
        window=DAY,
    )
    for label, peak, limit in rows:
        detail = "no data in the last 24 h" if peak is None else f"peak {peak:.0f} % in 24 h (alarm above {limit:g} %)"
        ok = ctx.report.check(label, peak is not None and peak <= limit, detail) and ok
    return _storage(ctx, DAY) and ok


def _storage(ctx: Context, window: timedelta) -> bool:
    floor = THRESHOLDS["db-free-storage"].value
    free = _stat(ctx, "AWS/RDS", "FreeStorageSpace", {"DBInstanceIdentifier": ctx.cfg.names.db_instance}, window, "Minimum")
    if free is None:
        return ctx.report.check("database storage", False, f"no FreeStorageSpace data for {ctx.cfg.names.db_instance}")
    gib = free / 2**30
    return ctx.report.check("database storage", gib >= floor, f"at least {gib:.1f} GiB free (alarm below {floor:g} GiB)")


def trends(ctx: Context) -> bool:
    """p95 latency and error rate this week against last week."""
    now = datetime.now(UTC)
    dims = {"LoadBalancer": _load_balancer(ctx)}
    limit = THRESHOLDS["api-p95-latency"].value
    this, last = (_stat(ctx, "AWS/ApplicationELB", "TargetResponseTime", dims, WEEK, "p95", end=end) for end in (now, now - WEEK))
    rates = [_error_rate(ctx, WEEK, end)[0] for end in (now, now - WEEK)]

    def show(value: float | None, unit: str) -> str:
        return "no data" if value is None else f"{value:.2f}{unit}"

    ctx.report.data["trends"] = {"p95_seconds": [this, last], "error_rate_percent": rates}
    ok = ctx.report.check(
        "p95 latency, week on week",
        this is None or this <= limit,
        f"{show(this, ' s')} this week, {show(last, ' s')} last week (alarm above {limit:g} s)",
    )
    rate_limit = THRESHOLDS["api-error-rate"].value
    return (
        ctx.report.check(
            "error rate, week on week",
            rates[0] is None or rates[0] <= rate_limit,
            f"{show(rates[0], ' %')} this week, {show(rates[1], ' %')} last week (alarm above {rate_limit:g} %)",
        )
        and ok
    )


def capacity(ctx: Context) -> bool:
    """The week's peak task count against the ceiling, and the database's storage headroom."""
    names, ceiling = ctx.cfg.names, ctx.cfg.service.max_tasks
    peak = _stat(
        ctx, "ECS/ContainerInsights", "RunningTaskCount", {"ClusterName": names.cluster, "ServiceName": names.service}, WEEK, "Maximum"
    )
    detail = "no data this week" if peak is None else f"peak {peak:.0f} of service.max_tasks {ceiling} this week"
    ok = ctx.report.check(
        "task capacity", peak is not None and peak < ceiling, detail + ("; raise it" if peak is not None and peak >= ceiling else "")
    )
    return _storage(ctx, WEEK) and ok


def image_findings(ctx: Context) -> bool:
    """ECR's scan findings of the running image, by severity: a CRITICAL or HIGH one fails."""
    names = ctx.cfg.names
    image = readiness.app_image(ctx, ctx.cfg.region)
    if image is None:
        return ctx.report.check("image scan", False, f"{names.service} runs no image from {names.repository}")
    tag = image.rpartition(":")[2]
    try:
        scan = ctx.client("ecr").describe_image_scan_findings(repositoryName=names.repository, imageId={"imageTag": tag})
    except ClientError as exc:
        if error_code(exc) in ("ScanNotFoundException", "ImageNotFoundException"):
            return ctx.report.check(
                "image scan",
                False,
                f"{names.repository}:{tag} has no scan: aws ecr start-image-scan --repository-name {names.repository} --image-id imageTag={tag}",
            )
        raise
    counts = scan.get("imageScanFindings", {}).get("findingSeverityCounts", {})
    serious = {k: v for k, v in counts.items() if k in ("CRITICAL", "HIGH") and v}
    shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no findings"
    return ctx.report.check("image scan", not serious, f"{names.repository}:{tag}: {shown}")


def patches(ctx: Context) -> bool:
    """Pending RDS maintenance (engine patches) of the database: listed, with the date it applies."""
    pending = ctx.client("rds").describe_pending_maintenance_actions(
        Filters=[{"Name": "db-instance-id", "Values": [ctx.cfg.names.db_instance]}]
    )["PendingMaintenanceActions"]
    actions = [
        f"{a['Action']} ({a.get('Description', '')}, applies {a.get('CurrentApplyDate') or a.get('AutoAppliedAfterDate') or 'at a maintenance window you choose'})"
        for p in pending
        for a in p.get("PendingMaintenanceActionDetails", [])
    ]
    ctx.report.data["pending_maintenance"] = actions
    return ctx.report.check("pending maintenance", True, "; ".join(actions) if actions else "none pending")


STANDARD_SUPPORT_NOTICE_DAYS = 365
"""From a year before RDS's standard support of the major version ends, the monthly list fails:
a major upgrade is planned, rehearsed on staging and carried out in that time (README: Major
version upgrades)."""


def engine_support(ctx: Context) -> bool:
    """How long RDS's standard support of the database's major version has left, as RDS says it
    (DescribeDBMajorEngineVersions), and what `database.extended_support` has RDS do after it."""
    major = ctx.cfg.database.engine_version.split(".")[0]
    command = f"aws rds describe-db-major-engine-versions --engine postgres --major-engine-version {major}"
    try:
        answer = ctx.client("rds").describe_db_major_engine_versions(Engine="postgres", MajorEngineVersion=major)
    except ClientError as exc:
        return ctx.report.check("engine support", False, f"RDS did not answer ({error_code(exc)}): {command}")
    ends = [
        lifecycle["LifecycleSupportEndDate"]
        for version in answer["DBMajorEngineVersions"]
        for lifecycle in version.get("SupportedEngineLifecycles", [])
        if lifecycle["LifecycleSupportName"] == "open-source-rds-standard-support"
    ]
    if not ends:
        return ctx.report.check("engine support", False, f"RDS gives no standard-support end for PostgreSQL {major}: {command}")
    end = min(ends)
    days = (end - datetime.now(UTC)).days
    after = (
        "then RDS Extended Support, charged (database.extended_support = true)"
        if ctx.cfg.database.extended_support
        else "then RDS upgrades the major version itself (database.extended_support = false)"
    )
    due = days <= STANDARD_SUPPORT_NOTICE_DAYS
    detail = f"PostgreSQL {major}: RDS standard support ends {end:%Y-%m-%d}, in {days} days (RDS, DescribeDBMajorEngineVersions); {after}"
    ctx.report.data["standard_support_days_left"] = days
    return ctx.report.check(
        "engine support", not due, detail + ("; the major upgrade is due (README: Major version upgrades)" if due else "")
    )


ALERTING_MESSAGES = 2
"""The alerting test's messages: the test alarm's ALARM, and its OK."""
ALERTING_WAIT_MINUTES = 10
"""How long the alerting test waits for SNS's metrics at most (they arrive minutes late)."""


def alerting(ctx: Context) -> bool:
    """The alerting path end to end: the dedicated test alarm to ALARM and back, then SNS's own
    metrics: the warning topic published both messages, every confirmed subscriber got each, none
    failed, and no subscription is still pending confirmation (nothing reaches it)."""
    names, cw = ctx.cfg.names, ctx.client("cloudwatch")
    alarm = names.alarm(ALERTING_TEST_ALARM)
    if not cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]:
        return ctx.report.check("alerting test", False, f"no alarm {alarm}: deploy {names.stack('Monitoring')}")
    topic = {"TopicName": names.alarm_topic("warning")}
    metrics = ("NumberOfMessagesPublished", "NumberOfNotificationsDelivered", "NumberOfNotificationsFailed")
    # CloudWatch rounds a StartTime down to the minute, so messages of a test run moments before
    # would count: the counts are taken from a minute back before the test, and only the rise counts.
    since = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)

    def counts() -> list[float]:
        end = datetime.now(UTC) + timedelta(minutes=1)  # past any datum stamped by now; a future EndTime is allowed
        return [_stat(ctx, "AWS/SNS", metric, topic, end - since, "Sum", end=end) or 0.0 for metric in metrics]

    before = counts()
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="weekly alerting test (deploy.sh checklist weekly)")
    cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="weekly alerting test done")
    confirmed, waiting = _subscribers(ctx, topic["TopicName"])
    published = delivered = failed = 0.0
    # SNS publishes its metrics minutes late: wait until both messages show, and each confirmed
    # subscriber's delivery (or failure) of each, for up to ALERTING_WAIT_MINUTES.
    for _ in range(max(1, min(ctx.wait.timeout_minutes, ALERTING_WAIT_MINUTES) * 60 // max(ctx.wait.delay_seconds, 1))):
        published, delivered, failed = (now - then for now, then in zip(counts(), before, strict=True))
        if published >= ALERTING_MESSAGES and delivered + failed >= published * len(confirmed):
            break
        ctx.wait.sleep()
    # SNS delivers each published message to every confirmed subscription.
    expected = (published or 0) * len(confirmed)
    problems = [
        f"{endpoint} ({protocol}) is pending confirmation: nothing reaches it until it is confirmed" for protocol, endpoint in waiting
    ]
    if not confirmed:
        problems.append("no confirmed subscriber: nobody receives the topic's alerts")
    elif published and delivered < expected:
        problems.append(f"{expected - delivered:.0f} of {expected:.0f} deliveries missing")
    receivers = ", ".join(sorted({protocol for protocol, _ in confirmed})) or "none"
    return ctx.report.check(
        "alerting test",
        bool(published) and not failed and not problems,
        f"{alarm} to ALARM and back: {topic['TopicName']} published {published or 0:.0f}, delivered {delivered:.0f} "
        f"(to {len(confirmed)} confirmed subscriber(s): {receivers}), failed {failed:.0f}"
        + ("" if published else "; nothing published: check the alarm's actions and the topic's key policy")
        + "".join(f"; {problem}" for problem in problems),
    )


def _subscribers(ctx: Context, topic_name: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(protocol, endpoint) of the topic's confirmed subscriptions, and of those pending confirmation
    (SNS lists an unconfirmed e-mail or HTTPS subscription as `PendingConfirmation`)."""
    arn = f"arn:aws:sns:{ctx.region}:{ctx.cfg.account}:{topic_name}"
    confirmed: list[tuple[str, str]] = []
    waiting: list[tuple[str, str]] = []
    for page in ctx.client("sns").get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn):
        for subscription in page["Subscriptions"]:
            found = (subscription["Protocol"], subscription["Endpoint"])
            (waiting if subscription["SubscriptionArn"] == "PendingConfirmation" else confirmed).append(found)
    return confirmed, waiting


def backups(ctx: Context) -> bool:
    """Backups of the last 24 h (the RPO they give, each vault's newest recovery point) and, with a
    DR region, its replica's lag or replicated backups against the RPO."""
    ok = recovery.backups(ctx)
    return (readiness.rpo(ctx) and ok) if ctx.cfg.dr.enabled else ok


def restore_test(ctx: Context) -> bool:
    if not ctx.cfg.backup.enabled or not ctx.cfg.backup.restore_testing:
        return ctx.report.check("last restore test", True, f"restore testing is off in {ctx.cfg.source}")
    summary: dict[str, Any] = {}
    return recovery.restore_test(ctx, summary)


def cost(ctx: Context) -> bool:
    """Cost Explorer: this month so far and last month, grouped by the stacks' Project and Environment tags."""
    today = datetime.now(UTC).date()
    first = today.replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    end = today + timedelta(days=1)
    result = ctx.client("ce", "us-east-1").get_cost_and_usage(
        TimePeriod={"Start": previous.isoformat(), "End": end.isoformat()},
        Granularity="MONTHLY",
        Metrics=["UnblendedCost"],
        Filter={"Tags": {"Key": "Project", "Values": [PROJECT_TAG]}},
        GroupBy=[{"Type": "TAG", "Key": "Environment"}],
    )
    months = []
    for period in result["ResultsByTime"]:
        by_env = {
            g["Keys"][0].split("$", 1)[-1] or "untagged": float(g["Metrics"]["UnblendedCost"]["Amount"]) for g in period.get("Groups", [])
        }
        months.append((period["TimePeriod"]["Start"], by_env.get(ctx.cfg.name, 0.0), by_env))
    ctx.report.data["cost"] = [{"month": m, "environment": c, "by_environment": e} for m, c, e in months]
    shown = "; ".join(f"{m}: {c:.2f} USD" for m, c, _ in months) or "no cost data"
    return ctx.report.check("cost", bool(months), f"{ctx.cfg.name} (tag Environment): {shown}")


def last_drill(ctx: Context) -> bool:
    """The last DR drill `dr-activate` recorded, and the RTO it measured against the manual's."""
    parameter = f"{ctx.cfg.names.parameter_prefix}/runbook/last-drill"
    try:
        record = json.loads(ctx.client("ssm", ctx.cfg.region).get_parameter(Name=parameter)["Parameter"]["Value"])
    except ClientError as exc:
        if error_code(exc) != "ParameterNotFound":
            raise
        return ctx.report.check("DR drill", False, f"none recorded ({parameter}): run the drill (README: DR drill)")
    at = datetime.fromisoformat(record["at"])
    age = (datetime.now(UTC) - at).days
    minutes = float(record["minutes"])
    objective = RTO_DATABASE_MINUTES
    return ctx.report.check(
        "DR drill",
        age <= DRILL_DAYS and minutes <= objective,
        f"{at:%Y-%m-%d}, {age} days ago: the DR region served after {minutes:.0f} min (the manual's database RTO: {objective} min)"
        + (f"; over {DRILL_DAYS} days: the quarterly drill is due" if age > DRILL_DAYS else ""),
    )


CHECKLISTS: dict[str, Sequence[Item]] = {
    "daily": (
        Item(
            "Check system health dashboard",
            health=True,
            human=lambda ctx: f"dashboard: {_console(ctx, 'dashboards:name=' + ctx.cfg.names.dashboard)}",
        ),
        Item(
            "Review error rates and logs",
            error_rate,
            lambda ctx: (
                f"./scripts/deploy.sh logs --env {ctx.cfg.name} --since 24h --filter 'GeminiAPI ERROR' (and 'connection pool', 'slow query')"
            ),
        ),
        Item("Monitor resource utilization", utilization),
        Item("Verify backup completion", backups),
    ),
    "weekly": (
        Item("Review security alerts and patches", lambda ctx: image_findings(ctx) & patches(ctx) & security.certs(ctx)),
        Item("Analyze performance trends", trends),
        Item(
            "Update capacity planning",
            capacity,
            lambda ctx: "adjust service.max_tasks and database.max_allocated_storage_gib in config if the peaks above come close",
        ),
        Item("Test alerting mechanisms", alerting, lambda ctx: "confirm the test reached the warning e-mail and Slack #alerts-warning"),
    ),
    "monthly": (
        Item("Security audit and review", lambda ctx: security.security_review(ctx) & engine_support(ctx)),
        Item("Cost optimization review", cost, lambda ctx: "look for idle resources in AWS Cost Explorer and Compute Optimizer"),
        Item("Disaster recovery test", restore_test),
        Item(
            "Update documentation",
            None,
            lambda ctx: "README and the operations manual: read them against what changed this month (git log --since=1.month)",
        ),
    ),
    "quarterly": (
        Item(
            "Full disaster recovery drill",
            lambda ctx: last_drill(ctx) & game_day.last_game_days(ctx, DRILL_DAYS),
            lambda ctx: "README: DR drill (dr-activate, the failover, dr-standby) and Game days (./scripts/deploy.sh game-day)",
        ),
        Item(
            "Infrastructure security scan",
            None,
            lambda ctx: "make test (cdk-nag, Control Tower rules, cfn-lint) and ./scripts/deploy.sh checklist weekly",
        ),
        Item(
            "Performance baseline update",
            None,
            lambda ctx: "config/thresholds.py against the last quarter's p95 and error rate (checklist weekly --json)",
        ),
        Item(
            "Business continuity review",
            None,
            lambda ctx: "the recovery objectives in README: Recovery objectives, with the business owner",
        ),
    ),
}


def run(ctx: Context, period: str, url: str | None = None) -> bool:
    """Every item of the list: checked (each one runs even after one fails), or a human step."""
    ok = True
    for item in CHECKLISTS[period]:
        ctx.report.say(f"- {item.manual}")
        if item.health:
            ok = checks.health_check(ctx, url) and ok
        if item.run is not None:
            try:
                ok = item.run(ctx) and ok
            except RunbookError as exc:  # this item cannot be checked; the others still are
                ok = ctx.report.check(item.manual, False, str(exc)) and False
            except AWS_ERRORS as exc:  # e.g. no permission for Cost Explorer: that item fails, one line
                ok = ctx.report.check(item.manual, False, describe(exc)) and False
        if item.human is not None:
            ctx.report.manual(item.manual, item.human(ctx))
    return ok
