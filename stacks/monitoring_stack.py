from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from aws_cdk import Annotations, CfnOutput
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_constructs.alarms import AlarmGroup, alerting_test_alarm
from cdk_constructs.api_domain import ApiDomain
from cdk_constructs.backup import BackupPlan
from cdk_constructs.dashboard import OperationsDashboard
from cdk_constructs.game_days import GameDayExperiments
from cdk_constructs.grafana import GrafanaService
from cdk_constructs.keys import customer_key
from cdk_constructs.logs import encrypted_log_group
from cdk_constructs.prometheus import PrometheusWorkspace
from cdk_constructs.registry import allow_cached_pull, docker_hub_image
from cdk_constructs.scheduled_checklist import ScheduledChecklist
from cdk_constructs.threshold import Severity
from config import EnvironmentConfig
from config.manual import API_HOST_LABEL, GRAFANA_HOST, GRAFANA_PORT, HEALTH_CHECK_PATH
from config.names import ALERTING_TEST_ALARM, DAILY_BACKUP_HOUR_UTC, GRAFANA_HOST_LABEL, PROJECT_TAG
from config.thresholds import SERVICE_DOWN_MEMBERS, THRESHOLDS, checklist_limits
from stacks.backups import backup_copies
from stacks.base import EnvironmentStack, pin_logical_id
from stacks.catalogue import Measured, Owner, add_alarms, add_outage, grafana_dashboard, graphs, owned_by
from stacks.regional import alert_channels
from stacks.service_stack import ServiceOutputs

ENDPOINTS_LEFT_OUT = "ContractorLens:AlertEndpointsLeftOut"
# The scheduled daily checklist's code: one file, the standard library and boto3.
DAILY_CHECKLIST_CODE = Path(__file__).resolve().parent.parent / "runbook" / "scheduled"
PLACEHOLDER_RANGE = "ContractorLens:GrafanaPlaceholderRange"


class MonitoringStack(EnvironmentStack):
    """Alerting channels, the manual's alarms and log metric filters, and the dashboards."""

    def __init__(self, scope: Construct, *, cfg: EnvironmentConfig, service: ServiceOutputs, vpc: ec2.IVpc) -> None:
        super().__init__(
            scope,
            cfg=cfg,
            part="Monitoring",
            region=cfg.region,
            description="alert channels, the manual's alarms and the ContractorLens dashboard",
        )
        names = cfg.names
        self.channels = alert_channels(self)
        if self.channels.left_out:
            Annotations.of(self).add_warning_v2(
                ENDPOINTS_LEFT_OUT,
                f"{cfg.source} leaves these alert endpoints empty, so they are not subscribed: "
                f"{', '.join(self.channels.left_out)} (section [alerting]).",
            )
        if cfg.grafana_placeholder:
            Annotations.of(self).add_warning_v2(
                PLACEHOLDER_RANGE,
                f"{cfg.source} opens Grafana to the placeholder observability.grafana_allowed_cidrs; ./scripts/deploy.sh "
                "refuses to deploy it: put the VPN or office ranges there first.",
            )
        topics = {severity: topic.topic_arn for severity, topic in self.channels.topics.items()}
        # The Service stack owns the deployment-rollback alarms; this stack owns the rest.
        self.alarms = AlarmGroup(self, "Alarms")
        metrics = add_alarms(self.alarms, owned_by(Owner.MONITORING), sources=service.metrics, names=names, topics=topics)
        service_down = add_outage(self.alarms, names=names, topics=topics)
        # What `checklist weekly` sets to ALARM and back to test the alerting path (not on the dashboard).
        alerting_test_alarm(
            self,
            "AlertingTest",
            alarm_name=names.alarm(ALERTING_TEST_ALARM),
            namespace=names.metric_namespace,
            topic_arn=topics[Severity.WARNING],
        )
        OperationsDashboard(
            self,
            "Dashboard",
            dashboard_name=names.dashboard,
            alarms=[service_down, *service.deployment_alarms, *self.alarms.alarms.values()],
            graphs=graphs(Measured(sources=service.metrics, alarms=self.alarms.alarms, metrics=metrics)),
        )
        if cfg.observability.grafana and service.prometheus is not None:
            self._grafana(service, service.prometheus, vpc)
        if cfg.alerting.daily_checklist:
            self._daily_checklist(service, topics[Severity.WARNING])
        if cfg.game_days.enabled:
            self._game_days(service, [service_down, *self._paging_alarms()])

    def _kept_log_group(self, logical_id: str, name: str) -> logs.LogGroup:
        """A log group under the alert channels' key, kept on destroy, its logical id pinned."""
        group = encrypted_log_group(self, logical_id, name=name, retention_days=self.cfg.service.log_retention_days, key=self.channels.key)
        pin_logical_id(group, logical_id)
        return group

    def _paging_alarms(self) -> list[cloudwatch.IAlarm]:
        """This stack's alarms that page on their own (the outage signals page through service-down)."""
        return [
            alarm
            for key, alarm in self.alarms.alarms.items()
            if THRESHOLDS[key].severity is Severity.CRITICAL and key not in SERVICE_DOWN_MEMBERS
        ]

    def _game_days(self, service: ServiceOutputs, stop_alarms: list[cloudwatch.IAlarm]) -> None:
        """The game days' experiment templates: any alarm that pages stops them (README: Game days)."""
        cfg, names, sources = self.cfg, self.cfg.names, service.metrics
        log_group = self._kept_log_group("GameDaysLogGroup", names.game_day_log_group)
        GameDayExperiments(
            self,
            "GameDays",
            name_prefix=names.prefix,
            cluster_name=sources.cluster_name,
            service_name=sources.service_name,
            db_instance_arn=cfg.db_instance_arn,
            force_failover=cfg.database.multi_az,
            subnet_tags={"Project": PROJECT_TAG, "Environment": cfg.name},
            outage_zone=cfg.outage_zone,
            outage_minutes=cfg.game_days.outage_minutes,
            stop_alarm_arns=[alarm.alarm_arn for alarm in stop_alarms],
            log_group=log_group,
        )

    def _daily_checklist(self, service: ServiceOutputs, topic_arn: str) -> None:
        """The manual's daily list in AWS every morning, judged by the thresholds table."""
        cfg, names, sources = self.cfg, self.cfg.names, service.metrics
        log_group = self._kept_log_group("DailyChecklistLogGroup", f"/aws/lambda/{names.daily_checklist}")
        health = (
            f"https://{API_HOST_LABEL}.{cfg.dns.domain}{HEALTH_CHECK_PATH}"
            if cfg.dns.domain
            else f"http://{sources.load_balancer.load_balancer_dns_name}{HEALTH_CHECK_PATH}"
        )
        ScheduledChecklist(
            self,
            "DailyChecklist",
            function_name=names.daily_checklist,
            code_directory=str(DAILY_CHECKLIST_CODE),
            handler="daily.handler",
            settings={
                "env": cfg.name,
                "title": f"ContractorLens {cfg.name}",
                "health_url": health,
                "cluster": sources.cluster_name,
                "service": sources.service_name,
                "db_instance": sources.db_instance_identifier,
                "load_balancer": cast(elbv2.ApplicationLoadBalancer, sources.load_balancer).load_balancer_full_name,
                "alarm_prefix": names.alarm(""),
                "topic_arn": topic_arn,
                "limits": checklist_limits(),
            },
            topic_arn=topic_arn,
            topic_key_arn=self.channels.key.key_arn,
            log_group=log_group,
            hour=cfg.alerting.daily_checklist_hour,
            time_zone=cfg.alerting.time_zone,
            cluster_name=sources.cluster_name,
            service_name=sources.service_name,
            db_instance=sources.db_instance_identifier,
        )

    def _grafana_tls(self) -> dict[str, Any]:
        """HTTPS for Grafana at `grafana.<dns.domain>`: a certificate validated in the public zone
        (the name itself resolves only inside the VPC). Without a domain, none."""
        dns = self.cfg.dns
        if not (dns.domain and dns.hosted_zone_id):
            return {}
        domain = ApiDomain(self, "GrafanaDomain", host_label=GRAFANA_HOST_LABEL, domain=dns.domain, hosted_zone_id=dns.hosted_zone_id)
        return {"certificate": domain.certificate, "domain_name": domain.host_name}

    def _grafana(self, service: ServiceOutputs, prometheus: PrometheusWorkspace, vpc: ec2.IVpc) -> None:
        """Grafana on the manual's port, reading the workspace, with the environment's dashboard."""
        cfg, names = self.cfg, self.cfg.names
        key = customer_key(self, "LogsKey", description=f"Encrypts {names.grafana_log_group} and the Grafana admin password")
        log_group = encrypted_log_group(
            self, "GrafanaLogGroup", name=names.grafana_log_group, retention_days=cfg.service.log_retention_days, key=key
        )
        pin_logical_id(key, "LogsKey")
        pin_logical_id(log_group, "GrafanaLogGroup")
        self.grafana = GrafanaService(
            self,
            "Grafana",
            vpc=vpc,
            cluster=service.cluster,
            image=docker_hub_image(
                cfg.observability.grafana_image, prefix=names.docker_hub_cache, account=self.account, region=self.region
            ),
            port=GRAFANA_PORT,
            host_name=GRAFANA_HOST,
            allowed_cidrs=list(cfg.observability.grafana_allowed_cidrs),
            prometheus_endpoint=prometheus.endpoint,
            prometheus_arn=prometheus.arn,
            region=self.region,
            dashboard_body=grafana_dashboard(cfg),
            admin_secret_name=names.grafana_admin_secret,
            key=key,
            log_group=log_group,
            private_zone_name=names.private_zone,
            deletion_protection=cfg.service.load_balancer_deletion_protection,
            **self._grafana_tls(),
        )
        if cfg.needs_docker_hub_cache:
            task = self.grafana.service.task_definition
            allow_cached_pull(task, prefix=names.docker_hub_cache)
            Annotations.of(task.default_container or task).acknowledge_warning(
                "@aws-cdk/aws-ecs:ecrImageRequiresPolicy", "The execution role may pull from the cache's repositories (allow_cached_pull)."
            )
        pin_logical_id(self.grafana.file_system, "GrafanaState")
        pin_logical_id(self.grafana.admin_secret, "GrafanaAdminPassword")
        if cfg.backup.enabled:
            # Into the Data stack's locked vault (deployed before this stack), by name, and on to
            # the DR region. EFS's own daily backup stays on beside it: Control Tower's
            # CT.ELASTICFILESYSYSTEM.PR.2 asks for it, and the state is a few megabytes.
            BackupPlan(
                self,
                "GrafanaBackups",
                name=names.grafana_backup_plan,
                vault=backup.BackupVault.from_backup_vault_name(self, "BackupVault", names.backup_vault),
                resource_arns=[self.grafana.file_system.file_system_arn],
                daily_retention_days=cfg.backup.daily_retention_days,
                copies=backup_copies(cfg),
                daily_hour_utc=DAILY_BACKUP_HOUR_UTC,
            )
        CfnOutput(self, "GrafanaUrl", value=self.grafana.url, description="Grafana, from the VPN or office")
