"""Metrics that take more than one call to build: metric math, business hours, log-pattern counts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from constructs import Construct

GIB = 1024**3
ONE_MINUTE = Duration.minutes(1)


def error_rate_percent(load_balancer: elbv2.IApplicationLoadBalancer) -> cloudwatch.MathExpression:
    """5xx responses as a percentage of requests.

    Target and load-balancer 5xx together: a crashed or missing task shows up as an ELB
    502/503/504, not as a target 5xx. An idle minute counts as 0 %, not as a division by zero.
    """
    metrics = load_balancer.metrics
    return cloudwatch.MathExpression(
        label="5xx responses, % of requests",
        expression="100 * (target5xx + elb5xx) / MAX([requests, 1])",
        using_metrics={
            "target5xx": metrics.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, statistic="Sum"),
            "elb5xx": metrics.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, statistic="Sum"),
            "requests": metrics.request_count(statistic="Sum"),
        },
        period=ONE_MINUTE,
    )


def free_storage_gib(free_storage_bytes: cloudwatch.Metric) -> cloudwatch.MathExpression:
    """RDS's FreeStorageSpace (bytes) in GiB, its lowest value per period."""
    return cloudwatch.MathExpression(
        expression=f"free / {GIB}",
        using_metrics={"free": free_storage_bytes.with_(statistic="Minimum")},
        label="Free storage, GiB",
    )


@dataclass(frozen=True)
class BusinessHours:
    """When business happens, in a time zone's standard time."""

    days: tuple[int, ...]
    """ISO weekdays, 1 = Monday."""
    start_hour: int
    """Local hour business starts, 0-23."""
    end_hour: int
    """Local hour business ends, 1-24, after `start_hour`."""
    utc_offset_hours: int
    """The time zone's offset from UTC in standard time, e.g. -8."""


def during_business_hours(metric: cloudwatch.IMetric, *, hours: BusinessHours, otherwise: float, label: str) -> cloudwatch.MathExpression:
    """The metric during business hours and `otherwise` outside them, as metric math.

    CloudWatch's HOUR() and DAY() are UTC (DAY: 1 = Monday ... 7 = Sunday), so the local
    business hours become ranges of the UTC hour of the week, (DAY - 1) * 24 + HOUR.
    Missing datapoints count as zero (FILL), so an hour without a single event can alarm.

    :param metric: what is counted.
    :param hours: the business hours.
    :param otherwise: the value outside business hours; a healthy one, so nights do not page.
    :param label: the expression's label on graphs.
    """
    filled = cloudwatch.MathExpression(expression="FILL(m, 0)", using_metrics={"m": metric}, label=f"{label}, gaps as 0")
    hour_of_week = cloudwatch.MathExpression(
        expression="(DAY(e) - 1) * 24 + HOUR(e)", using_metrics={"e": filled}, label="UTC hour of the week"
    )
    condition = " OR ".join(f"(how >= {low} AND how < {high})" for low, high in _utc_hour_ranges(hours))
    return cloudwatch.MathExpression(
        expression=f"IF({condition}, e, {otherwise:g})",
        using_metrics={"e": filled, "how": hour_of_week},
        label=label,
    )


def _utc_hour_ranges(hours: BusinessHours) -> Iterable[tuple[int, int]]:
    """The business hours as [low, high) ranges of the UTC hour of the week, joined where they touch."""
    utc = sorted(
        {((day - 1) * 24 + hour - hours.utc_offset_hours) % 168 for day in hours.days for hour in range(hours.start_hour, hours.end_hour)}
    )
    ranges: list[tuple[int, int]] = []
    for hour in utc:
        if ranges and ranges[-1][1] == hour:
            ranges[-1] = (ranges[-1][0], hour + 1)
        else:
            ranges.append((hour, hour + 1))
    return ranges


def log_pattern_count(scope: Construct, *, log_group_name: str, pattern: str, metric_name: str, namespace: str) -> cloudwatch.Metric:
    """A metric filter counting the log lines that contain `pattern`, and its metric.

    The filter is created in `scope` as `<metric_name>Filter`; a period without a matching line
    counts 0, so an alarm on the count sees quiet periods as healthy data rather than none.

    :param log_group_name: the group searched, e.g. /ecs/contractorlens.
    :param pattern: the phrase the manual searches for, e.g. FAILED_LOGIN.
    :param metric_name: the count's metric name.
    :param namespace: the count's namespace.
    """
    group = logs.LogGroup.from_log_group_name(scope, f"{metric_name}LogGroup", log_group_name)
    metric_filter = logs.MetricFilter(
        scope,
        f"{metric_name}Filter",
        log_group=group,
        filter_pattern=logs.FilterPattern.literal(f'"{pattern}"'),
        metric_namespace=namespace,
        metric_name=metric_name,
        metric_value="1",
        default_value=0,
        unit=cloudwatch.Unit.COUNT,
    )
    return metric_filter.metric()
