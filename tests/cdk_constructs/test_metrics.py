"""cdk_constructs/metrics.py: metric math, business hours and log-pattern counts."""

from __future__ import annotations

import json

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

from cdk_constructs.metrics import BusinessHours, during_business_hours, error_rate_percent, log_pattern_count
from tests.cdk_constructs.conftest import bare_stack, built, one, vpc


def test_error_rate_counts_target_and_load_balancer_5xx_and_never_divides_by_zero() -> None:
    stack = bare_stack()
    alb = elbv2.ApplicationLoadBalancer(stack, "Alb", vpc=vpc(stack))
    rate = error_rate_percent(alb)
    assert rate.expression == "100 * (target5xx + elb5xx) / MAX([requests, 1])"
    names = {key: metric.to_metric_config().metric_stat.metric_name for key, metric in rate.using_metrics.items()}
    assert names == {"target5xx": "HTTPCode_Target_5XX_Count", "elb5xx": "HTTPCode_ELB_5XX_Count", "requests": "RequestCount"}


def test_business_hours_become_utc_hour_of_week_ranges() -> None:
    """Given Monday to Friday 9-17 at UTC-8, when the count is watched, then only UTC hours of the
    week 17-25, 41-49, 65-73, 89-97 and 113-121 read the count; other hours read `otherwise`."""
    count = cloudwatch.Metric(namespace="App", metric_name="Estimates")
    hours = BusinessHours(days=(1, 2, 3, 4, 5), start_hour=9, end_hour=17, utc_offset_hours=-8)
    watched = during_business_hours(count, hours=hours, otherwise=6, label="Estimates")
    assert watched.expression == (
        "IF((how >= 17 AND how < 25) OR (how >= 41 AND how < 49) OR (how >= 65 AND how < 73) "
        "OR (how >= 89 AND how < 97) OR (how >= 113 AND how < 121), e, 6)"
    )


def test_business_hours_that_wrap_past_sunday_midnight_join_the_first_hours_of_the_week() -> None:
    """Sunday 20-24 at UTC-8 is UTC Monday 4-8, hours 4 to 8 of the week."""
    count = cloudwatch.Metric(namespace="App", metric_name="Estimates")
    hours = BusinessHours(days=(7,), start_hour=20, end_hour=24, utc_offset_hours=-8)
    assert during_business_hours(count, hours=hours, otherwise=1, label="x").expression == "IF((how >= 4 AND how < 8), e, 1)"


def test_a_log_pattern_is_counted_by_a_metric_filter_that_reads_zero_when_quiet() -> None:
    _, template = built(
        lambda stack: log_pattern_count(
            stack, log_group_name="/ecs/app", pattern="slow query", metric_name="SlowQueries", namespace="App/Test"
        )
    )
    props = one(template, "AWS::Logs::MetricFilter")["Properties"]
    assert props["LogGroupName"] == "/ecs/app"
    assert props["FilterPattern"] == '"slow query"'
    assert json.loads(json.dumps(props["MetricTransformations"])) == [
        {"DefaultValue": 0, "MetricName": "SlowQueries", "MetricNamespace": "App/Test", "MetricValue": "1", "Unit": "Count"}
    ]
