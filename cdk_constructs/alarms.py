"""CloudWatch alarms built from a line of the manual (config/thresholds.py)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_sns as sns
from constructs import Construct

from config.thresholds import API_ERROR_RATE, API_P95_LATENCY, Severity, Threshold

_COMPARISONS = {
    ">": cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    ">=": cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    "<": cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    "<=": cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
}


def manual_alarm(
    scope: Construct,
    construct_id: str,
    *,
    alarm_name: str,
    threshold: Threshold,
    metric: cloudwatch.IMetric,
    what: str,
    evaluation_periods: int,
    datapoints_to_alarm: int | None = None,
    missing_data: cloudwatch.TreatMissingData,
    topic_arn: str,
) -> cloudwatch.Alarm:
    """An alarm on the manual's number, whose description says what to open when it fires.

    :param alarm_name: `contractorlens-<env>-<what>`; the runbook and ECS refer to it by name.
    :param threshold: the manual's line; its value, comparison and severity are used as they are.
    :param metric: the metric or expression, already in `threshold.unit`.
    :param what: one line for the on-call engineer: what is being measured.
    :param evaluation_periods: periods considered.
    :param datapoints_to_alarm: of those, how many must breach. Default: all of them.
    :param missing_data: chosen per alarm: no traffic is no error, but no data from a task count is.
    :param topic_arn: the SNS topic of the threshold's severity; notified on ALARM and on OK.
    """
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_name=alarm_name,
        alarm_description=(
            f"[{threshold.severity.value.upper()}] {what} {threshold.comparison} {threshold.value:g} {threshold.unit}. "
            f"Manual: {threshold.manual}. Runbook: {threshold.runbook}."
        ),
        metric=metric,
        threshold=threshold.value,
        comparison_operator=_COMPARISONS[threshold.comparison],
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm or evaluation_periods,
        treat_missing_data=missing_data,
    )
    topic = cloudwatch_actions.SnsAction(sns.Topic.from_topic_arn(scope, f"{construct_id}Topic", topic_arn))
    alarm.add_alarm_action(topic)
    alarm.add_ok_action(topic)
    return alarm


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
        # Target and load-balancer 5xx together: a crashed task shows up as ELB 502/503/504.
        error_rate = cloudwatch.MathExpression(
            label="5xx responses, % of requests",
            expression="100 * (target5xx + elb5xx) / MAX([requests, 1])",
            using_metrics={
                "target5xx": metrics.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, statistic="Sum"),
                "elb5xx": metrics.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, statistic="Sum"),
                "requests": metrics.request_count(statistic="Sum"),
            },
            period=ONE_MINUTE,
        )
        self.error_rate = manual_alarm(
            self,
            "ErrorRate",
            alarm_name=error_rate_alarm_name,
            threshold=API_ERROR_RATE,
            metric=error_rate,
            what="API 5xx responses (target and load balancer) as a share of all requests",
            evaluation_periods=5,
            datapoints_to_alarm=3,
            # No requests means no errors: a quiet night must not page.
            missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            topic_arn=topic_arns[API_ERROR_RATE.severity],
        )
        self.latency = manual_alarm(
            self,
            "Latency",
            alarm_name=latency_alarm_name,
            threshold=API_P95_LATENCY,
            metric=metrics.target_response_time(statistic="p95", period=ONE_MINUTE),
            what="API response time, 95th percentile",
            evaluation_periods=5,
            datapoints_to_alarm=3,
            missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            topic_arn=topic_arns[API_P95_LATENCY.severity],
        )
