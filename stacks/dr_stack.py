from __future__ import annotations

from aws_cdk import CfnOutput
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk_constructs.alarms import AlarmGroup
from cdk_constructs.database import RestoredPostgresDatabase, RestorePlacement
from config import EnvironmentConfig
from config.dr import DrSettings
from stacks.base import EnvironmentStack, pin_logical_id
from stacks.catalogue import add_alarms, add_outage, alarm, metric_sources, watched_by_active_dr
from stacks.regional import (
    DatabaseLink,
    PublicEntry,
    RegionalApi,
    RegionalNetwork,
    alert_channels,
    database_link,
    instance_settings,
    scaling,
    service_logs,
)


class DrStack(EnvironmentStack):
    """The DR region's copy of the service: a pilot light in standby, a running copy when active.

    Standby: network, ALB with its own certificate, WAF, the ECS service at zero tasks on the
    replicated image, the SECONDARY record of `api.<domain>`, and the alarm on the primary's
    health check. Active adds the database restored from the replicated backups, runs the
    service at the production floor against it, and watches it with the critical alarms.

    Nothing here refers to the primary region's stacks: names come from config, the key and
    the repository from this region, and the health check's id from an SSM parameter here.
    """

    def __init__(self, scope: Construct, *, cfg: EnvironmentConfig, dr: DrSettings, dr_key: kms.IKey) -> None:
        super().__init__(
            scope,
            cfg=cfg,
            part="DR",
            region=cfg.dr_region,
            availability_zones=cfg.dr.availability_zones,
            description=f"disaster recovery in {cfg.dr_region} ({dr.mode})",
        )
        self.mode = dr.mode
        self.network = RegionalNetwork(
            self, cidr=cfg.network.dr_cidr, availability_zones=cfg.dr.availability_zones, nat_gateways=cfg.dr.nat_gateways
        )
        logs = service_logs(self)
        self.key = logs.key
        # The same API name, with a certificate of this region (ACM certificates are regional).
        self.entry = PublicEntry(self, vpc=self.network.vpc, security_group=self.network.security_groups.alb, logs=logs)
        placement = RestorePlacement(
            self,
            "RestorePlacement",
            vpc=self.network.vpc,
            subnet_group_name=cfg.names.dr_db_subnet_group,
            parameter_group_name=cfg.names.dr_db_parameter_group,
            engine_version=cfg.database.engine_version,
            slow_query_log_ms=cfg.database.slow_query_log_ms,
        )
        self.database = self._restored_database(dr, placement, dr_key) if dr.active else None
        self.api = RegionalApi(
            self,
            vpc=self.network.vpc,
            security_group=self.network.security_groups.app,
            entry=self.entry,
            logs=logs,
            gemini_key=secretsmanager.Secret.from_secret_name_v2(self, "GeminiApiKey", cfg.names.gemini_secret),
            database=self._database_link(),
            # The Gemini key's replica and the restored database's secret use the DR key.
            secret_keys=[dr_key],
            scaling=scaling(cfg.service) if dr.active else None,
        ).api
        self.entry.point_dns(failover=route53.Failover.SECONDARY)
        self._alarms(dr)
        CfnOutput(self, "Mode", value=dr.mode)
        if self.database is not None:
            CfnOutput(self, "DatabaseEndpoint", value=self.database.endpoint_address)

    def _restored_database(self, dr: DrSettings, placement: RestorePlacement, key: kms.IKey) -> RestoredPostgresDatabase:
        """The primary's database, restored here from what it replicated (`-c dr-restore`)."""
        names, db = self.cfg.names, self.cfg.database
        database = RestoredPostgresDatabase(
            self,
            "Database",
            placement=placement,
            security_group=self.network.security_groups.db,
            key=key,
            instance_identifier=names.db_restored_instance,
            source_instance_identifier=names.db_instance,
            restore_kind=dr.restore.kind,
            restore_value=dr.restore.value,
            settings=instance_settings(db),
        )
        pin_logical_id(database.instance, "RestoredDatabase")
        for export, group in database.log_groups.items():
            pin_logical_id(group, f"Restored{export.title()}LogGroup")
        return database

    def _database_link(self) -> DatabaseLink | None:
        if self.database is None:
            return None
        return database_link(
            self,
            endpoint_address=self.database.endpoint_address,
            endpoint_port=self.database.endpoint_port,
            secret_arn=self.database.secret_arn,
        )

    def _alarms(self, dr: DrSettings) -> None:
        """The primary's health, here where Route 53 publishes it; when active, the critical
        alarms on this region's copy. Alarms here can only tell topics of this region."""
        cfg, names = self.cfg, self.cfg.names
        self.channels = alert_channels(self)
        topics = {severity: topic.topic_arn for severity, topic in self.channels.topics.items()}
        sources = metric_sources(
            cfg,
            load_balancer=self.entry.alb,
            target_group=self.api.target_group,
            service=self.api.service,
            db_instance_identifier=names.db_restored_instance,
            certificate_arn=self.entry.certificate_arn,
        )
        self.primary_health_alarm = alarm(self, "primary-health", sources=sources, names=names, topics=topics)
        if dr.active:
            group = AlarmGroup(self, "Alarms")
            add_alarms(group, watched_by_active_dr(), sources=sources, names=names, topics=topics)
            add_outage(group, names=names, topics=topics)
