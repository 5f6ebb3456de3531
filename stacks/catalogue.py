"""The alarm catalogue: each line of `config/thresholds.py` with what it measures and who builds it.

Each key of `THRESHOLDS` has one entry here: its metric (or metric math), its one line for the
on-call engineer, the CloudWatch graph and Grafana panel that draw its line, and the stack that
owns it. The stacks build their alarms from here and both dashboards derive their lines from
here, so adding an alarm is one threshold row, one entry and one row of the manual's numbers in
`tests/unit/test_monitoring.py`. `check_catalogue` runs at every synth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cdk_constructs.alarms import AlarmGroup, threshold_alarm
from cdk_constructs.dashboard import Graph
from cdk_constructs.grafana import Panel, cloudwatch_query, dashboard, prometheus_query
from cdk_constructs.metrics import BusinessHours, during_business_hours, error_rate_percent, free_storage_gib, log_pattern_count
from cdk_constructs.prometheus import ESTIMATES, GEMINI_DURATION, HTTP_DURATION, HTTP_REQUESTS
from cdk_constructs.threshold import Severity
from config.names import Names
from config.schema import AlertingConfig, EnvironmentConfig
from config.thresholds import SERVICE_DOWN, SERVICE_DOWN_MEMBERS, THRESHOLDS

GRAFANA_DASHBOARD = Path(__file__).resolve().parents[1] / "grafana" / "dashboards" / "contractorlens-prod.json"
"""Production's Grafana dashboard, committed so that it can be read and imported without a deploy."""

# The backend's own CloudWatch metrics (README: "Metric contract").
GEMINI_LATENCY_METRIC = "GeminiLatency"
ESTIMATES_METRIC = "EstimatesGenerated"
USER_SESSIONS_METRIC = "UserSessions"


class Owner(StrEnum):
    """The stack that builds an alarm."""

    SERVICE = "Service"
    """ECS rolls a deployment back when the alarm fires, so it must exist before the service."""
    MONITORING = "Monitoring"
    DR = "DR"
    """Route 53 publishes health-check metrics in us-east-1 only, where the DR stack is."""


@dataclass(frozen=True)
class MetricSources:
    """What one region's alarms measure: a small value the Service and DR stacks hand on."""

    load_balancer: elbv2.IApplicationLoadBalancer
    target_group: elbv2.IApplicationTargetGroup
    service: ecs.BaseService
    cluster_name: str
    service_name: str
    app_log_group_name: str
    db_instance_identifier: str
    certificate_arn: str | None
    """None without a certificate: its expiry is then not watched."""
    metric_namespace: str
    business_hours: BusinessHours
    primary_region: str
    health_check_parameter: str
    """The SSM parameter in the DR region that holds the primary's Route 53 health check id."""
    dr_replica: tuple[str, str] | None = None
    """(region, DB instance identifier) of the DR region's read replica, when there is one."""


def _rds(name: str) -> Callable[[MetricSources, Construct], cloudwatch.Metric]:
    return lambda s, _: cloudwatch.Metric(
        namespace="AWS/RDS", metric_name=name, dimensions_map={"DBInstanceIdentifier": s.db_instance_identifier}
    )


def _app(name: str, unit: cloudwatch.Unit) -> Callable[[MetricSources, Construct], cloudwatch.IMetric]:
    return lambda s, _: cloudwatch.Metric(namespace=s.metric_namespace, metric_name=name, unit=unit)


@dataclass(frozen=True)
class LogPattern:
    """The manual's `aws logs filter-log-events --filter-pattern <pattern>` as a count."""

    pattern: str
    metric_name: str

    def __call__(self, s: MetricSources, scope: Construct) -> cloudwatch.IMetric:
        return log_pattern_count(
            scope, log_group_name=s.app_log_group_name, pattern=self.pattern, metric_name=self.metric_name, namespace=s.metric_namespace
        )


def _certificate_days(s: MetricSources, _: Construct) -> cloudwatch.IMetric | None:
    if s.certificate_arn is None:
        return None
    return cloudwatch.Metric(
        namespace="AWS/CertificateManager", metric_name="DaysToExpiry", dimensions_map={"CertificateArn": s.certificate_arn}
    )


def _estimates_in_business_hours(s: MetricSources, _: Construct) -> cloudwatch.IMetric:
    count = cloudwatch.Metric(namespace=s.metric_namespace, metric_name=ESTIMATES_METRIC, unit=cloudwatch.Unit.COUNT)
    return during_business_hours(
        count.with_(statistic="Sum", period=Duration.hours(1)),
        hours=s.business_hours,
        # Outside business hours the expression reads one more than the line: never an alarm.
        otherwise=THRESHOLDS["estimates-per-hour"].value + 1,
        label="Estimates generated per hour (business hours)",
    )


def _primary_health(s: MetricSources, scope: Construct) -> cloudwatch.IMetric:
    health_check_id = ssm.StringParameter.value_for_string_parameter(scope, s.health_check_parameter)
    return cloudwatch.Metric(namespace="AWS/Route53", metric_name="HealthCheckStatus", dimensions_map={"HealthCheckId": health_check_id})


MetricFactory = Callable[[MetricSources, Construct], cloudwatch.IMetric | None]
"""Builds an alarm's metric from the sources; None when this region cannot measure it. A metric
that needs a resource of its own (a metric filter) creates it in the construct it is given."""


@dataclass(frozen=True)
class Entry:
    """Where one threshold of the table goes: who builds its alarm, on what, drawn where."""

    owner: Owner
    what: str
    """One line for the on-call engineer: what is measured. `{field}` names a MetricSources field."""
    metric: MetricFactory
    graph: str | None = None
    """The CloudWatch dashboard graph that draws the threshold's line: one of `GRAPHS`, or a new
    title, which becomes a graph of this alarm's metric after them."""
    panel: str | None = None
    """The Grafana panel (`grafana_panels`) that draws it."""
    construct_id: str | None = None
    """The alarm's construct id, when it is not the key in CamelCase: its logical id derives from
    it, and a new logical id would create the alarm again under the same name and then delete it."""

    def id_of(self, key: str) -> str:
        return self.construct_id or "".join(part.title() for part in key.split("-"))


_P95, _ERRORS, _REQUESTS = "API response time p95 (s)", "5xx error rate (%)", "Requests"
_TASKS, _DB_CPU, _DB_CONNECTIONS = "Running tasks", "Database CPU (%)", "Database connections"
_ESTIMATES, _GEMINI = "Estimates generated per hour", "Gemini API latency (s, average)"
_REPLICA_LAG = "DR replica lag (s)"
_SERVICE, _MONITORING = Owner.SERVICE, Owner.MONITORING

CATALOGUE: dict[str, Entry] = {
    "api-p95-latency": Entry(
        _SERVICE, "API response time, 95th percentile", lambda s, _: s.load_balancer.metrics.target_response_time(),
        graph=_P95, panel=_P95, construct_id="Latency",
    ),
    "api-error-rate": Entry(
        _SERVICE, "API 5xx responses (target and load balancer) as a share of all requests",
        lambda s, _: error_rate_percent(s.load_balancer), graph=_ERRORS, panel=_ERRORS, construct_id="ErrorRate",
    ),
    "api-error-rate-critical": Entry(
        _MONITORING, "API 5xx responses as a share of all requests", lambda s, _: error_rate_percent(s.load_balancer),
        graph=_ERRORS, panel=_ERRORS,
    ),
    "request-throughput": Entry(
        _MONITORING, "API requests per 5 minutes, against the learned baseline", lambda s, _: s.load_balancer.metrics.request_count(),
        graph=_REQUESTS, panel="Throughput (requests/min)",
    ),
    "running-tasks": Entry(
        _MONITORING, "Running ECS tasks of the service",
        lambda s, _: cloudwatch.Metric(
            namespace="ECS/ContainerInsights", metric_name="RunningTaskCount",
            dimensions_map={"ClusterName": s.cluster_name, "ServiceName": s.service_name},
        ),
        graph=_TASKS, panel=_TASKS,
    ),
    "unhealthy-targets": Entry(
        _MONITORING, "ALB targets failing /health", lambda s, _: s.target_group.metrics.unhealthy_host_count(), graph="ALB targets",
    ),
    "no-healthy-targets": Entry(_MONITORING, "ALB targets passing /health", lambda s, _: s.target_group.metrics.healthy_host_count()),
    "ecs-cpu": Entry(
        _MONITORING, "ECS service CPU utilisation", lambda s, _: s.service.metric_cpu_utilization(), graph="ECS CPU (%)",
    ),
    "ecs-memory": Entry(
        _MONITORING, "ECS service memory utilisation", lambda s, _: s.service.metric_memory_utilization(), graph="ECS memory (%)",
    ),
    "db-cpu": Entry(_MONITORING, "Database CPU utilisation", _rds("CPUUtilization"), graph=_DB_CPU, panel=_DB_CPU),
    "db-connections": Entry(
        _MONITORING, "Active database connections", _rds("DatabaseConnections"), graph=_DB_CONNECTIONS, panel=_DB_CONNECTIONS,
    ),
    "db-free-storage": Entry(
        _MONITORING, "Free database storage", lambda s, scope: free_storage_gib(_rds("FreeStorageSpace")(s, scope)),
        graph="Database free storage (GiB)",
    ),
    "db-free-storage-critical": Entry(
        _MONITORING, "Free database storage", lambda s, scope: free_storage_gib(_rds("FreeStorageSpace")(s, scope)),
        graph="Database free storage (GiB)",
    ),
    "estimates-per-hour": Entry(
        _MONITORING, "Estimates generated per hour during business hours", _estimates_in_business_hours,
        graph=_ESTIMATES, panel=_ESTIMATES,
    ),
    "gemini-latency": Entry(
        _MONITORING, "Gemini API latency, average", _app(GEMINI_LATENCY_METRIC, cloudwatch.Unit.SECONDS), graph=_GEMINI, panel=_GEMINI,
    ),
    "failed-logins": Entry(
        _MONITORING, 'Log lines matching "FAILED_LOGIN" in {app_log_group_name}', LogPattern("FAILED_LOGIN", "FailedLogins"),
    ),
    "slow-queries": Entry(
        _MONITORING, 'Log lines matching "slow query" in {app_log_group_name}', LogPattern("slow query", "SlowQueries"),
    ),
    "gemini-errors": Entry(
        _MONITORING, 'Log lines matching "GeminiAPI ERROR" in {app_log_group_name}', LogPattern("GeminiAPI ERROR", "GeminiApiErrors"),
    ),
    "connection-pool-errors": Entry(
        _MONITORING, 'Log lines matching "connection pool" in {app_log_group_name}',
        LogPattern("connection pool", "ConnectionPoolErrors"),
    ),
    "certificate-expiry": Entry(_MONITORING, "Days until the API's certificate expires", _certificate_days),
    "certificate-expiry-critical": Entry(_MONITORING, "Days until the API's certificate expires", _certificate_days),
    "primary-health": Entry(
        Owner.DR, "Route 53 health check of the primary region's /health ({primary_region}); DNS has failed over", _primary_health,
        construct_id="PrimaryHealthAlarm",
    ),
    "replica-lag": Entry(Owner.DR, "How far {db_instance_identifier} is behind the primary", _rds("ReplicaLag"), graph=_REPLICA_LAG),
    "replica-lag-critical": Entry(
        Owner.DR, "How far {db_instance_identifier} is behind the primary", _rds("ReplicaLag"), graph=_REPLICA_LAG,
    ),
}  # fmt: skip


class CatalogueError(ValueError):
    """The catalogue and the table of thresholds disagree; the message is one line."""


def check_catalogue() -> None:
    """Every threshold has exactly one entry (so one owner), in the table's order, and every
    Grafana panel an entry names exists (a panel needs its own query)."""
    if list(CATALOGUE) != list(THRESHOLDS):
        missing = [k for k in THRESHOLDS if k not in CATALOGUE]
        extra = [k for k in CATALOGUE if k not in THRESHOLDS]
        problem = f"no entry for {missing}" if missing else f"entries without a threshold: {extra}" if extra else "not in the table's order"
        raise CatalogueError(f"stacks/catalogue.py: {problem} (config/thresholds.py lists {len(THRESHOLDS)} thresholds)")
    panels = {panel.title for panel in PANELS}
    for key, entry in CATALOGUE.items():
        if entry.panel is not None and entry.panel not in panels:
            raise CatalogueError(f"stacks/catalogue.py: {key} names panel {entry.panel!r}, which PANELS lacks")


def owned_by(owner: Owner) -> list[str]:
    return [key for key, entry in CATALOGUE.items() if entry.owner is owner]


def watched_by_active_dr() -> list[str]:
    """What an active DR region watches besides the primary's health: the Monitoring stack's
    critical alarms and the outage signals, which its `service-down` joins."""
    return [key for key in owned_by(Owner.MONITORING) if THRESHOLDS[key].severity is Severity.CRITICAL or key in SERVICE_DOWN_MEMBERS]


def add_alarms(
    group: AlarmGroup, keys: Iterable[str], *, sources: MetricSources, names: Names, topics: Mapping[Severity, str]
) -> dict[str, cloudwatch.IMetric]:
    """The alarms of `keys` that this region can measure, into `group`; returns their metrics as
    the entries built them (before the threshold's statistic and period). The outage signals
    report to the warning channel and page once through `service-down` (`add_outage`)."""
    built: dict[str, cloudwatch.IMetric] = {}
    for key in keys:
        entry, threshold = CATALOGUE[key], THRESHOLDS[key]
        metric = entry.metric(sources, group)
        if metric is None:
            continue
        built[key] = metric
        member = key in SERVICE_DOWN_MEMBERS
        group.add(
            key,
            construct_id=entry.id_of(key),
            alarm_name=names.alarm(key),
            threshold=threshold,
            metric=metric,
            what=entry.what.format(**_fields(sources)),
            topic_arn=topics[Severity.WARNING if member else threshold.severity],
            pages_through=names.alarm("service-down") if member else None,
        )
    return built


def add_outage(group: AlarmGroup, *, names: Names, topics: Mapping[Severity, str]) -> cloudwatch.CompositeAlarm:
    """Severity Levels, P0 "Complete service outage": one page when any outage signal fires."""
    manual, runbook = SERVICE_DOWN
    return group.add_outage(
        "ServiceDown",
        alarm_name=names.alarm("service-down"),
        members=SERVICE_DOWN_MEMBERS,
        what="The API is down or failing",
        manual=manual,
        runbook=runbook,
        topic_arn=topics[Severity.CRITICAL],
    )


def alarm(scope: Construct, key: str, *, sources: MetricSources, names: Names, topics: Mapping[Severity, str]) -> cloudwatch.Alarm:
    """One alarm of the catalogue directly in `scope` (the DR stack's primary-health)."""
    entry, threshold = CATALOGUE[key], THRESHOLDS[key]
    metric = entry.metric(sources, scope)
    if metric is None:
        raise CatalogueError(f"{key}: this region cannot measure it")
    return threshold_alarm(
        scope,
        entry.id_of(key),
        alarm_name=names.alarm(key),
        threshold=threshold,
        metric=metric,
        what=entry.what.format(**_fields(sources)),
        topic_arn=topics[threshold.severity],
    )


def _fields(sources: MetricSources) -> dict[str, Any]:
    return {f.name: getattr(sources, f.name) for f in fields(sources)}


# --- the CloudWatch dashboard ----------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """What a graph plots from: the sources, the alarms built in this stack and their metrics as
    the entries built them, by key."""

    sources: MetricSources
    alarms: Mapping[str, cloudwatch.Alarm]
    metrics: Mapping[str, cloudwatch.IMetric]


@dataclass(frozen=True)
class GraphSpec:
    title: str
    metrics: Callable[[Measured], list[cloudwatch.IMetric]]


def _app_metric(m: Measured, name: str, statistic: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(namespace=m.sources.metric_namespace, metric_name=name, statistic=statistic)


GRAPHS: tuple[GraphSpec, ...] = (
    GraphSpec(_P95, lambda m: [m.sources.load_balancer.metrics.target_response_time(statistic="p95")]),
    GraphSpec(_ERRORS, lambda m: [error_rate_percent(m.sources.load_balancer)]),
    GraphSpec(_REQUESTS, lambda m: [m.sources.load_balancer.metrics.request_count(statistic="Sum")]),
    GraphSpec(_TASKS, lambda m: [m.alarms["running-tasks"].metric]),
    GraphSpec("ECS CPU (%)", lambda m: [m.sources.service.metric_cpu_utilization()]),
    GraphSpec("ECS memory (%)", lambda m: [m.sources.service.metric_memory_utilization()]),
    GraphSpec(
        "ALB targets",
        lambda m: [m.sources.target_group.metrics.healthy_host_count(), m.sources.target_group.metrics.unhealthy_host_count()],
    ),
    GraphSpec(_DB_CPU, lambda m: [m.alarms["db-cpu"].metric]),
    GraphSpec(_DB_CONNECTIONS, lambda m: [m.alarms["db-connections"].metric]),
    GraphSpec("Database free storage (GiB)", lambda m: [m.alarms["db-free-storage"].metric]),
    GraphSpec(_ESTIMATES, lambda m: [_app_metric(m, ESTIMATES_METRIC, "Sum").with_(period=Duration.hours(1))]),
    GraphSpec(_GEMINI, lambda m: [_app_metric(m, GEMINI_LATENCY_METRIC, "Average")]),
    GraphSpec("User sessions", lambda m: [_app_metric(m, USER_SESSIONS_METRIC, "Sum")]),
    GraphSpec("Log patterns", lambda m: [metric for key, metric in m.metrics.items() if isinstance(CATALOGUE[key].metric, LogPattern)]),
    GraphSpec(_REPLICA_LAG, lambda m: _replica_lag(m.sources)),
)


def _replica_lag(s: MetricSources) -> list[cloudwatch.IMetric]:
    """The DR region's replica, drawn on the primary's dashboard (a metric may name its region)."""
    if s.dr_replica is None:
        return []
    region, identifier = s.dr_replica
    metric = cloudwatch.Metric(
        namespace="AWS/RDS", metric_name="ReplicaLag", dimensions_map={"DBInstanceIdentifier": identifier}, region=region
    )
    return [metric.with_(statistic="Maximum", label=f"{identifier} ({region})")]


def graphs(measured: Measured) -> list[Graph]:
    """The dashboard's graphs; each draws the lines of the entries that name it. A graph an
    entry names that GRAPHS lacks comes after them, plotting the metrics of its alarms."""
    specs = list(GRAPHS)
    for key, entry in CATALOGUE.items():
        if entry.graph is not None and entry.graph not in {spec.title for spec in specs} and key in measured.alarms:
            specs.append(GraphSpec(entry.graph, _alarm_metrics_on(entry.graph)))
    drawn = [(spec.title, spec.metrics(measured)) for spec in specs]
    return [
        Graph(title=title, metrics=metrics, lines={key: THRESHOLDS[key] for key, entry in CATALOGUE.items() if entry.graph == title})
        for title, metrics in drawn
        if metrics  # e.g. no DR replica: no replica graph
    ]


def _alarm_metrics_on(title: str) -> Callable[[Measured], list[cloudwatch.IMetric]]:
    return lambda m: [alarm.metric for key, alarm in m.alarms.items() if CATALOGUE[key].graph == title]


# --- the Grafana dashboard -------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelSpec:
    title: str
    query: Callable[[str, Names], dict[str, Any]]
    """The panel's target, from the region and the environment's names."""
    unit: str


def _rds_query(metric: str, statistic: str) -> Callable[[str, Names], dict[str, Any]]:
    return lambda region, names: cloudwatch_query("AWS/RDS", metric, {"DBInstanceIdentifier": names.db_instance}, statistic, region)


# The manual's metrics: the backend's from Prometheus, ECS's and RDS's from CloudWatch.
PANELS: tuple[PanelSpec, ...] = (
    PanelSpec(_P95, lambda *_: prometheus_query(f"histogram_quantile(0.95, sum by (le) (rate({HTTP_DURATION}_bucket[5m])))"), "s"),
    PanelSpec(
        _ERRORS,
        lambda *_: prometheus_query(f'100 * sum(rate({HTTP_REQUESTS}{{status=~"5.."}}[5m])) / sum(rate({HTTP_REQUESTS}[5m]))'),
        "percent",
    ),
    PanelSpec("Throughput (requests/min)", lambda *_: prometheus_query(f"60 * sum(rate({HTTP_REQUESTS}[5m]))"), "reqpm"),
    PanelSpec(
        _TASKS,
        lambda region, names: cloudwatch_query(
            "ECS/ContainerInsights", "RunningTaskCount", {"ClusterName": names.cluster, "ServiceName": names.service}, "Minimum", region
        ),
        "none",
    ),
    PanelSpec(_DB_CPU, _rds_query("CPUUtilization", "Average"), "percent"),
    PanelSpec(_DB_CONNECTIONS, _rds_query("DatabaseConnections", "Maximum"), "none"),
    PanelSpec(_GEMINI, lambda *_: prometheus_query(f"sum(rate({GEMINI_DURATION}_sum[5m])) / sum(rate({GEMINI_DURATION}_count[5m]))"), "s"),
    PanelSpec(_ESTIMATES, lambda *_: prometheus_query(f"sum(increase({ESTIMATES}[1h]))"), "none"),
)


def grafana_panels(*, region: str, names: Names) -> list[Panel]:
    """The panels of one environment; each draws the lines of the entries that name it."""
    return [
        Panel(
            spec.title,
            spec.query(region, names),
            spec.unit,
            thresholds=[THRESHOLDS[k] for k, entry in CATALOGUE.items() if entry.panel == spec.title],
        )
        for spec in PANELS
    ]


def grafana_dashboard(cfg: EnvironmentConfig) -> dict[str, Any]:
    """The Grafana dashboard of `cfg`; production's is committed as GRAFANA_DASHBOARD."""
    names = cfg.names
    return dashboard(
        uid=names.grafana_dashboard_uid, title=f"ContractorLens {cfg.name}", panels=grafana_panels(region=cfg.region, names=names)
    )


# --- from an environment's config --------------------------------------------------------------------


def business_hours(alerting: AlertingConfig) -> BusinessHours:
    """The config's business hours, in the time zone's standard time (its mid-January offset), so
    that synth gives the same template all year."""
    zone = ZoneInfo(alerting.time_zone)
    offset = datetime(2026, 1, 15, 12, tzinfo=zone).utcoffset() or timedelta(0)
    return BusinessHours(
        days=tuple(alerting.business_days),
        start_hour=alerting.business_hours_start,
        end_hour=alerting.business_hours_end,
        utc_offset_hours=int(offset.total_seconds() // 3600),
    )


def metric_sources(
    cfg: EnvironmentConfig,
    *,
    load_balancer: elbv2.IApplicationLoadBalancer,
    target_group: elbv2.IApplicationTargetGroup,
    service: ecs.BaseService,
    db_instance_identifier: str,
    certificate_arn: str | None,
) -> MetricSources:
    """What a region of `cfg` measures, with the names and hours from its config."""
    names = cfg.names
    return MetricSources(
        load_balancer=load_balancer,
        target_group=target_group,
        service=service,
        cluster_name=names.cluster,
        service_name=names.service,
        app_log_group_name=names.app_log_group,
        db_instance_identifier=db_instance_identifier,
        certificate_arn=certificate_arn,
        metric_namespace=names.metric_namespace,
        business_hours=business_hours(cfg.alerting),
        primary_region=cfg.region,
        health_check_parameter=names.health_check_parameter,
        dr_replica=(cfg.dr_region, names.db_replica_instance) if cfg.dr.enabled and cfg.dr.database == "replica" else None,
    )


def alert_topic_arns(stack: Stack, names: Names) -> dict[Severity, str]:
    """The alert topics of `stack`'s region by ARN, for alarms outside the stack that owns them."""
    return {severity: stack.format_arn(service="sns", resource=names.alarm_topic(severity.value)) for severity in Severity}
