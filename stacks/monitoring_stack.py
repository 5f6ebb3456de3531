from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aws_cdk import Annotations, CfnOutput, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from cdk_constructs.alarms import error_rate_percent
from cdk_constructs.alerting import AlertChannels, Endpoints
from cdk_constructs.dashboard import OperationsDashboard
from cdk_constructs.grafana import GrafanaService, environment_dashboard
from cdk_constructs.keys import customer_key
from cdk_constructs.logs import encrypted_log_group
from cdk_constructs.monitoring import (
    ESTIMATES_METRIC,
    GEMINI_LATENCY_METRIC,
    USER_SESSIONS_METRIC,
    ApplicationAlarms,
    BusinessHours,
    ServiceHandles,
)
from cdk_constructs.threshold import Severity
from config import EnvironmentConfig
from config.thresholds import DR_ONLY, THRESHOLDS
from stacks.base import EnvironmentStack, pin_logical_id
from stacks.service_stack import ServiceStack

ENDPOINTS_LEFT_OUT = "ContractorLens:AlertEndpointsLeftOut"


def standard_utc_offset_hours(time_zone: str) -> int:
    """The zone's offset in standard time (mid-January), so synth gives the same template all year."""
    zone = ZoneInfo(time_zone)
    offset = datetime(2026, 1, 15, 12, tzinfo=zone).utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 3600)


def alert_endpoints(cfg: EnvironmentConfig) -> dict[Severity, Endpoints]:
    """The manual's "Alerting Channels" from the config's [alerting] section."""
    alerting = cfg.alerting
    return {
        Severity.CRITICAL: Endpoints(
            emails=alerting.critical_emails,
            sms=alerting.oncall_sms,
            slack_workspace_id=alerting.slack_workspace_id,
            slack_channel_id=alerting.slack_critical_channel_id,
            slack_channel_name="#alerts-critical",
        ),
        Severity.WARNING: Endpoints(
            emails=alerting.warning_emails,
            slack_workspace_id=alerting.slack_workspace_id,
            slack_channel_id=alerting.slack_warning_channel_id,
            slack_channel_name="#alerts-warning",
        ),
    }


class MonitoringStack(EnvironmentStack):
    """Alerting channels, the manual's alarms and log metric filters, and the dashboard."""

    def __init__(self, scope: Construct, *, cfg: EnvironmentConfig, service: ServiceStack, vpc: ec2.IVpc) -> None:
        super().__init__(
            scope,
            cfg=cfg,
            part="Monitoring",
            region=cfg.region,
            description="alert channels, the manual's alarms and the ContractorLens dashboard",
        )
        names, alerting = cfg.names, cfg.alerting
        self.channels = AlertChannels(
            self,
            "Channels",
            topic_names={severity: names.alarm_topic(severity.value) for severity in Severity},
            endpoints=alert_endpoints(cfg),
        )
        if self.channels.left_out:
            Annotations.of(self).add_warning_v2(
                ENDPOINTS_LEFT_OUT,
                f"{cfg.source} leaves these alert endpoints empty, so they are not subscribed: "
                f"{', '.join(self.channels.left_out)} (section [alerting]).",
            )

        api = service.api
        alb = service.load_balancer.alb
        certificate_arn = cfg.dns.certificate_arn or None
        if service.domain is not None:
            certificate_arn = service.domain.certificate.certificate_arn
        # The Service stack owns the deployment-rollback alarms; this stack owns the rest.
        keys = [k for k in THRESHOLDS if k not in names.rollback_alarms and k not in DR_ONLY]
        if certificate_arn is None:
            keys = [k for k in keys if not k.startswith("certificate-expiry")]
        self.alarms = ApplicationAlarms(
            self,
            "Alarms",
            handles=ServiceHandles(
                load_balancer=alb,
                target_group=api.target_group,
                service=api.service,
                cluster_name=names.cluster,
                service_name=names.service,
                app_log_group_name=names.app_log_group,
                db_instance_identifier=names.db_instance,
                certificate_arn=certificate_arn,
            ),
            alarm_names={**{key: names.alarm(key) for key in keys}, "service-down": names.alarm("service-down")},
            topic_arns={severity: topic.topic_arn for severity, topic in self.channels.topics.items()},
            metric_namespace=names.metric_namespace,
            business_hours=BusinessHours(
                days=tuple(alerting.business_days),
                start_hour=alerting.business_hours_start,
                end_hour=alerting.business_hours_end,
                utc_offset_hours=standard_utc_offset_hours(alerting.time_zone),
            ),
        )
        alarms = self.alarms.alarms
        rollback = service.rollback_alarms

        def app(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(namespace=names.metric_namespace, metric_name=name, statistic=statistic)

        OperationsDashboard(
            self,
            "Dashboard",
            dashboard_name=names.dashboard,
            alarms=[self.alarms.service_down, rollback.error_rate, rollback.latency, *alarms.values()],
            graphs=[
                ("API response time p95 (s)", [alb.metrics.target_response_time(statistic="p95")], ["api-p95-latency"]),
                ("5xx error rate (%)", [error_rate_percent(alb)], ["api-error-rate", "api-error-rate-critical"]),
                ("Requests", [alb.metrics.request_count(statistic="Sum")], []),
                ("Running tasks", [alarms["running-tasks"].metric], ["running-tasks"]),
                ("ECS CPU (%)", [api.service.metric_cpu_utilization()], ["ecs-cpu"]),
                ("ECS memory (%)", [api.service.metric_memory_utilization()], ["ecs-memory"]),
                (
                    "ALB targets",
                    [
                        api.target_group.metrics.healthy_host_count(),
                        api.target_group.metrics.unhealthy_host_count(),
                    ],
                    ["unhealthy-targets"],
                ),
                ("Database CPU (%)", [alarms["db-cpu"].metric], ["db-cpu"]),
                ("Database connections", [alarms["db-connections"].metric], ["db-connections"]),
                (
                    "Database free storage (GiB)",
                    [alarms["db-free-storage"].metric],
                    ["db-free-storage", "db-free-storage-critical"],
                ),
                (
                    "Estimates generated per hour",
                    [app(ESTIMATES_METRIC, "Sum").with_(period=Duration.hours(1))],
                    ["estimates-per-hour"],
                ),
                ("Gemini API latency (s, average)", [app(GEMINI_LATENCY_METRIC, "Average")], ["gemini-latency"]),
                ("User sessions", [app(USER_SESSIONS_METRIC, "Sum")], []),
                ("Log patterns", list(self.alarms.log_metrics.values()), []),
            ],
        )
        pin_logical_id(self.channels.key, "AlertsKey")
        if cfg.observability.grafana and service.prometheus is not None:
            self._grafana(service, vpc)

    def _grafana(self, service: ServiceStack, vpc: ec2.IVpc) -> None:
        cfg, names = self.cfg, self.cfg.names
        prometheus = service.prometheus
        if prometheus is None:
            raise ValueError("Grafana needs the Prometheus workspace (the config loader requires observability.prometheus)")
        key = customer_key(
            self,
            "LogsKey",
            description=f"Encrypts {names.grafana_log_group} and the Grafana admin password",
        )
        log_group = encrypted_log_group(
            self, "GrafanaLogGroup", name=names.grafana_log_group, retention_days=cfg.service.log_retention_days, key=key
        )
        pin_logical_id(key, "LogsKey")
        pin_logical_id(log_group, "GrafanaLogGroup")
        self.grafana = GrafanaService(
            self,
            "Grafana",
            vpc=vpc,
            cluster=service.api.cluster,
            image=cfg.observability.grafana_image,
            allowed_cidrs=list(cfg.observability.grafana_allowed_cidrs),
            prometheus_endpoint=prometheus.endpoint,
            prometheus_arn=prometheus.arn,
            region=self.region,
            dashboard_body=environment_dashboard(cfg),
            admin_secret_name=names.grafana_admin_secret,
            key=key,
            log_group=log_group,
            private_zone_name=names.private_zone,
            deletion_protection=cfg.service.load_balancer_deletion_protection,
        )
        pin_logical_id(self.grafana.file_system, "GrafanaState")
        pin_logical_id(self.grafana.admin_secret, "GrafanaAdminPassword")
        CfnOutput(self, "GrafanaUrl", value=self.grafana.url, description="Grafana, from the VPN or office")
