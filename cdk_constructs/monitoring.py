"""Every alarm of the manual's "Key Metrics to Monitor", and the composite that pages for an outage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_constructs.alarms import during_business_hours, error_rate_percent, manual_alarm, notify
from cdk_constructs.threshold import Severity
from config.thresholds import SERVICE_DOWN, SERVICE_DOWN_MEMBERS, THRESHOLDS

GIB = 1024**3

# The manual's log searches ("aws logs filter-log-events --filter-pattern ...") as metrics:
# alarm key -> (the manual's pattern, metric name).
LOG_PATTERNS = {
    "failed-logins": ("FAILED_LOGIN", "FailedLogins"),
    "slow-queries": ("slow query", "SlowQueries"),
    "gemini-errors": ("GeminiAPI ERROR", "GeminiApiErrors"),
    "connection-pool-errors": ("connection pool", "ConnectionPoolErrors"),
}
# The backend's own metrics (README: "Metric contract").
GEMINI_LATENCY_METRIC = "GeminiLatency"
ESTIMATES_METRIC = "EstimatesGenerated"
USER_SESSIONS_METRIC = "UserSessions"


@dataclass(frozen=True)
class BusinessHours:
    days: tuple[int, ...]
    start_hour: int
    end_hour: int
    utc_offset_hours: int


@dataclass(frozen=True)
class ServiceHandles:
    """What the alarms measure: the service, its load balancer and target group, the database."""

    load_balancer: elbv2.IApplicationLoadBalancer
    target_group: elbv2.IApplicationTargetGroup
    service: ecs.BaseService
    cluster_name: str
    service_name: str
    app_log_group_name: str
    db_instance_identifier: str
    certificate_arn: str | None


class ApplicationAlarms(Construct):
    """The alarms the Monitoring stack owns, named `contractorlens-<env>-<key>` after the table.

    The error-rate and p95-latency warnings are the Service stack's (ECS rolls back on them);
    everything else is here. The three outage signals (no healthy target, fewer than two
    tasks, more than 5 % errors) report to the warning channel themselves and page once,
    together, through the composite `service-down`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handles: ServiceHandles,
        alarm_names: Mapping[str, str],
        topic_arns: Mapping[Severity, str],
        metric_namespace: str,
        business_hours: BusinessHours,
    ) -> None:
        """
        :param handles: the resources measured.
        :param alarm_names: alarm key -> name for the table's keys to build here, plus "service-down";
            keys left out are not built (the outage signals are required).
        :param topic_arns: the SNS topic of each severity.
        :param metric_namespace: namespace of the backend's metrics and of the log-pattern counts.
        :param business_hours: when "estimates per hour" is watched.
        """
        super().__init__(scope, construct_id)
        self._names = alarm_names
        self._topics = topic_arns
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        h = handles
        alb, tg = h.load_balancer, h.target_group

        def app_metric(name: str, unit: cloudwatch.Unit) -> cloudwatch.Metric:
            return cloudwatch.Metric(namespace=metric_namespace, metric_name=name, unit=unit)

        def rds(name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/RDS", metric_name=name, dimensions_map={"DBInstanceIdentifier": h.db_instance_identifier}
            )

        self._add("api-error-rate-critical", error_rate_percent(alb), "API 5xx responses as a share of all requests")
        self._add("request-throughput", alb.metrics.request_count(), "API requests per 5 minutes, against the learned baseline")
        self._add(
            "running-tasks",
            cloudwatch.Metric(
                namespace="ECS/ContainerInsights",
                metric_name="RunningTaskCount",
                dimensions_map={"ClusterName": h.cluster_name, "ServiceName": h.service_name},
            ),
            "Running ECS tasks of the service",
        )
        self._add("unhealthy-targets", tg.metrics.unhealthy_host_count(), "ALB targets failing /health")
        self._add("no-healthy-targets", tg.metrics.healthy_host_count(), "ALB targets passing /health")
        self._add("ecs-cpu", h.service.metric_cpu_utilization(), "ECS service CPU utilisation")
        self._add("ecs-memory", h.service.metric_memory_utilization(), "ECS service memory utilisation")
        self._add("db-cpu", rds("CPUUtilization"), "Database CPU utilisation")
        self._add("db-connections", rds("DatabaseConnections"), "Active database connections")
        free_gib = cloudwatch.MathExpression(
            expression=f"free / {GIB}",
            using_metrics={"free": rds("FreeStorageSpace").with_(statistic="Minimum")},
            label="Free storage, GiB",
        )
        self._add("db-free-storage", free_gib, "Free database storage")
        self._add("db-free-storage-critical", free_gib, "Free database storage")
        estimates = THRESHOLDS["estimates-per-hour"]
        self._add(
            "estimates-per-hour",
            during_business_hours(
                app_metric(ESTIMATES_METRIC, cloudwatch.Unit.COUNT).with_(statistic="Sum", period=Duration.hours(1)),
                days=business_hours.days,
                start_hour=business_hours.start_hour,
                end_hour=business_hours.end_hour,
                utc_offset_hours=business_hours.utc_offset_hours,
                otherwise=estimates.value + 1,
                label="Estimates generated per hour (business hours)",
            ),
            "Estimates generated per hour during business hours",
        )
        self._add(
            "gemini-latency",
            app_metric(GEMINI_LATENCY_METRIC, cloudwatch.Unit.SECONDS),
            "Gemini API latency, average",
        )
        group = logs.LogGroup.from_log_group_name(self, "AppLogGroup", h.app_log_group_name)
        self.log_metrics: dict[str, cloudwatch.Metric] = {}
        for key, (pattern, metric_name) in LOG_PATTERNS.items():
            if key not in alarm_names:
                continue
            metric_filter = logs.MetricFilter(
                self,
                f"{metric_name}Filter",
                log_group=group,
                filter_pattern=logs.FilterPattern.literal(f'"{pattern}"'),
                metric_namespace=metric_namespace,
                metric_name=metric_name,
                metric_value="1",
                default_value=0,
                unit=cloudwatch.Unit.COUNT,
            )
            self.log_metrics[key] = metric_filter.metric()
            self._add(key, self.log_metrics[key], f'Log lines matching "{pattern}" in {h.app_log_group_name}')
        if h.certificate_arn is not None:
            expiry = cloudwatch.Metric(
                namespace="AWS/CertificateManager",
                metric_name="DaysToExpiry",
                dimensions_map={"CertificateArn": h.certificate_arn},
            )
            self._add("certificate-expiry", expiry, "Days until the API's certificate expires")
            self._add("certificate-expiry-critical", expiry, "Days until the API's certificate expires")

        members = [self.alarms[key] for key in SERVICE_DOWN_MEMBERS]
        manual_line, runbook = SERVICE_DOWN
        self.service_down = cloudwatch.CompositeAlarm(
            self,
            "ServiceDown",
            composite_alarm_name=alarm_names["service-down"],
            alarm_rule=cloudwatch.AlarmRule.any_of(*members),
            alarm_description=(
                f"[CRITICAL] The API is down or failing: any of {', '.join(a.alarm_name for a in members)} is in ALARM. "
                f"One page instead of one per symptom. Manual: {manual_line}. Runbook: {runbook}."
            ),
        )
        notify(self.service_down, topic_arns[Severity.CRITICAL], "ServiceDownTopic")

    def _add(self, key: str, metric: cloudwatch.IMetric, what: str) -> None:
        if key not in self._names:
            return  # not asked for here (the DR region watches the critical ones only)
        threshold = THRESHOLDS[key]
        member = key in SERVICE_DOWN_MEMBERS
        self.alarms[key] = manual_alarm(
            self,
            "".join(part.title() for part in key.split("-")),
            alarm_name=self._names[key],
            threshold=threshold,
            metric=metric,
            what=what,
            topic_arn=self._topics[Severity.WARNING if member else threshold.severity],
            pages_through=self._names["service-down"] if member else None,
        )
