"""CloudWatch alarms built from a line of the manual (config/thresholds.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_constructs.threshold import Comparison, MissingData, Severity, Threshold
from config.thresholds import API_ERROR_RATE, API_P95_LATENCY

_COMPARISONS = {
    Comparison.ABOVE: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    Comparison.AT_OR_ABOVE: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    Comparison.BELOW: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    Comparison.AT_OR_BELOW: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
    Comparison.OUTSIDE_BAND: cloudwatch.ComparisonOperator.LESS_THAN_LOWER_OR_GREATER_THAN_UPPER_THRESHOLD,
}
_MISSING = {
    MissingData.NOT_BREACHING: cloudwatch.TreatMissingData.NOT_BREACHING,
    MissingData.BREACHING: cloudwatch.TreatMissingData.BREACHING,
    MissingData.MISSING: cloudwatch.TreatMissingData.MISSING,
    MissingData.IGNORE: cloudwatch.TreatMissingData.IGNORE,
}


def describe(threshold: Threshold, what: str, *, pages_through: str | None = None) -> str:
    """The alarm text an on-call engineer reads: severity, condition, manual line, runbook section."""
    severity = threshold.severity.value.upper()
    routing = f" Pages through {pages_through}; reports to the warning channel itself." if pages_through else ""
    return (
        f"[{severity}] {what} {threshold.condition}. Manual: {threshold.manual}. "
        f"Runbook: {threshold.runbook}. Missing data: {threshold.missing_data} ({threshold.why_missing}).{routing}"
    )


def manual_alarm(
    scope: Construct,
    construct_id: str,
    *,
    alarm_name: str,
    threshold: Threshold,
    metric: cloudwatch.IMetric,
    what: str,
    topic_arn: str,
    pages_through: str | None = None,
) -> cloudwatch.Alarm:
    """An alarm on the manual's number: statistic, period, datapoints and missing data from the table.

    :param alarm_name: `contractorlens-<env>-<what>`; the runbook and ECS refer to it by name.
    :param threshold: the table's line; everything about the condition comes from it.
    :param metric: the metric or expression, already in `threshold.unit`; its statistic and
        period are replaced by the table's.
    :param what: one line for the on-call engineer: what is being measured.
    :param topic_arn: the SNS topic notified on ALARM and on OK.
    :param pages_through: the composite alarm that pages for this one, if any. Default: none.
    """
    period = Duration.minutes(threshold.period_minutes)
    if isinstance(metric, cloudwatch.Metric):
        metric = metric.with_(statistic=threshold.statistic.value, period=period)
    elif isinstance(metric, cloudwatch.MathExpression):
        metric = metric.with_(period=period)
    description = describe(threshold, what, pages_through=pages_through)
    comparison, missing = _COMPARISONS[threshold.comparison], _MISSING[threshold.missing_data]
    alarm: cloudwatch.Alarm
    if threshold.comparison is Comparison.OUTSIDE_BAND:
        alarm = cloudwatch.AnomalyDetectionAlarm(
            scope, construct_id, std_devs=threshold.value, alarm_name=alarm_name, alarm_description=description, metric=metric,
            comparison_operator=comparison, evaluation_periods=threshold.evaluation_periods,
            datapoints_to_alarm=threshold.datapoints_to_alarm, treat_missing_data=missing,
        )  # fmt: skip
    else:
        alarm = cloudwatch.Alarm(
            scope, construct_id, threshold=threshold.value, alarm_name=alarm_name, alarm_description=description, metric=metric,
            comparison_operator=comparison, evaluation_periods=threshold.evaluation_periods,
            datapoints_to_alarm=threshold.datapoints_to_alarm, treat_missing_data=missing,
        )  # fmt: skip
    notify(alarm, topic_arn, f"{construct_id}Topic")
    return alarm


def notify(alarm: cloudwatch.AlarmBase, topic_arn: str, topic_id: str) -> None:
    """Send ALARM and OK transitions of `alarm` to the topic, so a page is also closed."""
    topic = cloudwatch_actions.SnsAction(sns.Topic.from_topic_arn(alarm, topic_id, topic_arn))
    alarm.add_alarm_action(topic)
    alarm.add_ok_action(topic)


def during_business_hours(
    metric: cloudwatch.IMetric,
    *,
    days: Iterable[int],
    start_hour: int,
    end_hour: int,
    utc_offset_hours: int,
    otherwise: float,
    label: str,
) -> cloudwatch.MathExpression:
    """The metric during business hours and `otherwise` outside them, as metric math.

    CloudWatch's HOUR() and DAY() are UTC (DAY: 1 = Monday ... 7 = Sunday), so the local
    business hours become ranges of the UTC hour of the week, (DAY - 1) * 24 + HOUR.
    Missing datapoints count as zero (FILL), so an hour without a single event can alarm.

    :param metric: what is counted.
    :param days: ISO weekdays of business, 1 = Monday.
    :param start_hour: local hour business starts, 0-23.
    :param end_hour: local hour business ends, 1-24, after `start_hour`.
    :param utc_offset_hours: the local time zone's offset from UTC, e.g. -8.
    :param otherwise: the value outside business hours; a healthy one, so nights do not page.
    :param label: the expression's label on graphs.
    """
    hours = sorted({((day - 1) * 24 + hour - utc_offset_hours) % 168 for day in days for hour in range(start_hour, end_hour)})
    ranges: list[tuple[int, int]] = []
    for hour in hours:
        if ranges and ranges[-1][1] == hour:
            ranges[-1] = (ranges[-1][0], hour + 1)
        else:
            ranges.append((hour, hour + 1))
    filled = cloudwatch.MathExpression(expression="FILL(m, 0)", using_metrics={"m": metric}, label=f"{label}, gaps as 0")
    hour_of_week = cloudwatch.MathExpression(
        expression="(DAY(e) - 1) * 24 + HOUR(e)", using_metrics={"e": filled}, label="UTC hour of the week"
    )
    condition = " OR ".join(f"(how >= {low} AND how < {high})" for low, high in ranges)
    return cloudwatch.MathExpression(
        expression=f"IF({condition}, e, {otherwise:g})",
        using_metrics={"e": filled, "how": hour_of_week},
        label=label,
    )


ONE_MINUTE = Duration.minutes(1)


class DeploymentAlarms(Construct):
    """The manual's error-rate and p95-latency alarms on the load balancer.

    ECS rolls a deployment back when one of them fires, so they must exist before the
    service; that is why they live beside the service rather than with the other alarms.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        load_balancer: elbv2.IApplicationLoadBalancer,
        error_rate_alarm_name: str,
        latency_alarm_name: str,
        topic_arns: Mapping[Severity, str],
    ) -> None:
        """
        :param load_balancer: the ALB whose requests are measured.
        :param error_rate_alarm_name: name of the 5xx-rate alarm (contractorlens-<env>-api-error-rate).
        :param latency_alarm_name: name of the p95 alarm (contractorlens-<env>-api-p95-latency).
        :param topic_arns: the SNS topic of each severity.
        """
        super().__init__(scope, construct_id)
        metrics = load_balancer.metrics
        self.error_rate = manual_alarm(
            self,
            "ErrorRate",
            alarm_name=error_rate_alarm_name,
            threshold=API_ERROR_RATE,
            metric=error_rate_percent(load_balancer),
            what="API 5xx responses (target and load balancer) as a share of all requests",
            topic_arn=topic_arns[API_ERROR_RATE.severity],
        )
        self.latency = manual_alarm(
            self,
            "Latency",
            alarm_name=latency_alarm_name,
            threshold=API_P95_LATENCY,
            metric=metrics.target_response_time(),
            what="API response time, 95th percentile",
            topic_arn=topic_arns[API_P95_LATENCY.severity],
        )


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
