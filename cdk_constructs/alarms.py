"""CloudWatch alarms on a threshold, each telling its severity's topic, and a composite that pages once."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_constructs.threshold import Comparison, MissingData, Threshold

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


def threshold_alarm(
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
    """An alarm on `threshold`: statistic, period, datapoints and missing data all come from it.

    :param alarm_name: the alarm's name; runbooks and ECS refer to it by name.
    :param threshold: everything about the condition.
    :param metric: the metric or expression, already in `threshold.unit`; its statistic and
        period are replaced by the threshold's.
    :param what: one line for the on-call engineer: what is being measured.
    :param topic_arn: the SNS topic told on ALARM and on OK.
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


def alerting_test_alarm(scope: Construct, construct_id: str, *, alarm_name: str, namespace: str, topic_arn: str) -> cloudwatch.Alarm:
    """An alarm that no metric ever sets, for testing the alerting path end to end: SetAlarmState
    puts it in ALARM (CloudWatch then notifies `topic_arn`, as for any alarm), and with no data
    it goes back to OK at its next evaluation, a minute later.

    :param alarm_name: e.g. contractorlens-production-alerting-test.
    :param namespace: where its metric would be; nothing publishes `AlertingTest`.
    :param topic_arn: the topic the test goes through (the warning one: a test must not page).
    """
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_name=alarm_name,
        alarm_description="[TEST] Set to ALARM by `./scripts/deploy.sh checklist weekly` to test the alerting path; "
        "no action needed. Manual: Maintenance Tasks, Weekly, Test alerting mechanisms.",
        metric=cloudwatch.Metric(namespace=namespace, metric_name="AlertingTest", statistic="Maximum", period=Duration.minutes(1)),
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    notify(alarm, topic_arn, f"{construct_id}Topic")
    return alarm


def notify(alarm: cloudwatch.AlarmBase, topic_arn: str, topic_id: str) -> None:
    """Send ALARM and OK transitions of `alarm` to the topic, so a page is also closed."""
    topic = cloudwatch_actions.SnsAction(sns.Topic.from_topic_arn(alarm, topic_id, topic_arn))
    alarm.add_alarm_action(topic)
    alarm.add_ok_action(topic)


class AlarmGroup(Construct):
    """Alarms built together, with the helper resources their metrics need (metric filters).

    `add` builds one alarm (its metric may be created in this construct first); `add_outage`
    joins some of them in a composite that pages once for what they signal together.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        """By the key each was added under, in the order they were added."""

    def add(
        self,
        key: str,
        *,
        construct_id: str,
        alarm_name: str,
        threshold: Threshold,
        metric: cloudwatch.IMetric,
        what: str,
        topic_arn: str,
        pages_through: str | None = None,
    ) -> cloudwatch.Alarm:
        """One alarm on `threshold` (see `threshold_alarm`), kept under `key`."""
        if key in self.alarms:
            raise ValueError(f"{self.node.path}: alarm {key!r} is added twice")
        self.alarms[key] = threshold_alarm(
            self,
            construct_id,
            alarm_name=alarm_name,
            threshold=threshold,
            metric=metric,
            what=what,
            topic_arn=topic_arn,
            pages_through=pages_through,
        )
        return self.alarms[key]

    def add_outage(
        self,
        construct_id: str,
        *,
        alarm_name: str,
        members: Sequence[str],
        what: str,
        manual: str,
        runbook: str,
        topic_arn: str,
    ) -> cloudwatch.CompositeAlarm:
        """A critical composite in ALARM while any of `members` (keys of alarms added here) is.

        :param alarm_name: the composite's name.
        :param members: the keys of the alarms it joins.
        :param what: what their firing together means, e.g. "The API is down or failing".
        :param manual: the manual's line it stands for.
        :param runbook: the manual's section an on-call engineer opens.
        :param topic_arn: the topic that pages.
        """
        missing = [key for key in members if key not in self.alarms]
        if missing:
            raise ValueError(f"{self.node.path}: the outage composite joins {missing}, which were not added")
        alarms = [self.alarms[key] for key in members]
        composite = cloudwatch.CompositeAlarm(
            self,
            construct_id,
            composite_alarm_name=alarm_name,
            alarm_rule=cloudwatch.AlarmRule.any_of(*alarms),
            alarm_description=(
                f"[CRITICAL] {what}: any of {', '.join(a.alarm_name for a in alarms)} is in ALARM. "
                f"One page instead of one per symptom. Manual: {manual}. Runbook: {runbook}."
            ),
        )
        notify(composite, topic_arn, f"{construct_id}Topic")
        return composite
