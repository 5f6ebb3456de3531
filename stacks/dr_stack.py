from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

from aws_cdk import CfnOutput
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cdk_constructs.alarms import AlarmGroup
from cdk_constructs.compliance import CONTROL_TOWER, acknowledge
from cdk_constructs.database import InstanceSettings, ReadReplica, RestoredPostgresDatabase, RestorePlacement, export_log_groups
from config import EnvironmentConfig
from config.dr import DrSettings
from config.names import DR_DATABASE_IDS
from stacks.base import EnvironmentStack, pin_logical_id
from stacks.catalogue import Owner, add_alarms, add_outage, alarm, metric_sources, owned_by, watched_by_active_dr
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


class _DrDatabase(TypedDict):
    """The arguments the replica and the restore share."""

    placement: RestorePlacement
    security_group: ec2.ISecurityGroup
    key: kms.IKey
    instance_identifier: str
    settings: InstanceSettings
    log_groups: Sequence[logs.ILogGroup]


class DrStack(EnvironmentStack):
    """The DR region's copy of the service: a warm standby, a running copy when active.

    Standby: network, ALB with its own certificate, WAF, the ECS service at zero tasks on the
    replicated image, the SECONDARY record of `api.<domain>`, the alarm on the primary's health
    check, and the database's standby: in replica mode (`dr.database`) a cross-Region read
    replica with its lag alarms, in backups mode nothing but the primary's replicated backups.
    Active promotes the replica in place (or restores the backups), runs the service at the
    production floor against it, and watches it with the critical alarms. Released is standby
    without a DR database: the step `dr-standby` takes between an active drill and a new replica.

    The log groups of the DR databases of both `dr.database` modes are here in every mode: their
    names are fixed, so a group made by one activation (or mode) and kept after it would make the
    next one fail with AlreadyExists.

    Nothing here refers to the primary region's stacks: names and the source's ARN come from
    config, the key and the repository from this region, and the health check's and the primary
    instance's ids from SSM parameters the primary stacks write here.
    """

    def __init__(self, scope: Construct, *, cfg: EnvironmentConfig, dr: DrSettings, dr_key: kms.IKey) -> None:
        super().__init__(
            scope,
            cfg=cfg,
            part="DR",
            region=cfg.dr_region,
            availability_zones=cfg.dr.availability_zones,
            description=f"disaster recovery in {cfg.dr_region} ({dr.mode}, database: {cfg.dr.database})",
        )
        self.mode = dr.mode
        self.network = RegionalNetwork(
            self, cidr=cfg.network.dr_cidr, availability_zones=cfg.dr.availability_zones, nat_gateways=cfg.dr.nat_gateways
        )
        logs = service_logs(self)
        self.key = logs.key
        # The same API name, with a certificate of this region (ACM certificates are regional).
        self.entry = PublicEntry(self, vpc=self.network.vpc, security_group=self.network.security_groups.alb, logs=logs)
        self.database = self._database(dr, dr_key)
        serving = dr.active and self.database is not None
        self.api = RegionalApi(
            self,
            vpc=self.network.vpc,
            security_group=self.network.security_groups.app,
            entry=self.entry,
            logs=logs,
            gemini_key=secretsmanager.Secret.from_secret_name_v2(self, "GeminiApiKey", cfg.names.gemini_secret),
            database=self._database_link() if serving else None,
            # The Gemini key's replica and the DR database's secret use the DR key.
            secret_keys=[dr_key],
            scaling=scaling(cfg.service) if serving else None,
        ).api
        self.entry.point_dns(failover=route53.Failover.SECONDARY)
        self._alarms(dr)
        CfnOutput(self, "Mode", value=dr.mode)
        CfnOutput(self, "DatabaseInstance", value=cfg.dr_db_instance if self.database is not None else "none")
        if serving and self.database is not None:
            CfnOutput(self, "DatabaseEndpoint", value=self.database.endpoint_address)
        if isinstance(self.database, RestoredPostgresDatabase):
            # What `dr-activate` compares a new -c dr-restore with: CloudFormation cannot restore an
            # existing instance again (the handler refuses the change as immutable).
            CfnOutput(self, "RestoreSource", value=dr.restore.context_value)

    def _database(self, dr: DrSettings, dr_key: kms.IKey) -> ReadReplica | RestoredPostgresDatabase | None:
        """The DR database this mode has, in the subnet and parameter groups that exist in every mode."""
        cfg, names, db = self.cfg, self.cfg.names, self.cfg.database
        placement = RestorePlacement(
            self,
            "RestorePlacement",
            vpc=self.network.vpc,
            subnet_group_name=names.dr_db_subnet_group,
            parameter_group_name=names.dr_db_parameter_group,
            engine_version=db.engine_version,
            slow_query_log_ms=db.slow_query_log_ms,
        )
        settings = instance_settings(db)
        prefix = "Replica" if cfg.dr.database == "replica" else "Restored"
        log_groups = self._database_logs(settings, dr_key)[prefix]
        # Where either kind of DR database goes, and what it is: the same for both.
        where = _DrDatabase(
            placement=placement,
            security_group=self.network.security_groups.db,
            key=dr_key,
            instance_identifier=cfg.dr_db_instance,
            settings=settings,
            log_groups=list(log_groups.values()),
        )
        database: ReadReplica | RestoredPostgresDatabase
        if cfg.dr.database == "replica" and dr.mode != "released":
            database = ReadReplica(self, "Database", **where, source_instance_arn=cfg.db_instance_arn, promoted=dr.active)
        elif cfg.dr.database == "backups" and dr.active:
            database = RestoredPostgresDatabase(
                self,
                "Database",
                **where,
                source_resource_id=ssm.StringParameter.value_for_string_parameter(self, names.db_resource_id_parameter),
                restore_kind=dr.restore.kind,
                restore_value=dr.restore.value,
            )
        else:
            return None
        pin_logical_id(database.instance, DR_DATABASE_IDS[cfg.dr.database])
        return database

    def _database_logs(self, settings: InstanceSettings, key: kms.IKey) -> dict[str, dict[str, logs.LogGroup]]:
        """The log groups of both modes' databases, in every mode: their names are fixed and they are
        kept when they leave the stack, so a group that came and went with a mode (or a drill)
        would make the next operation that adds it fail with AlreadyExists."""
        names = self.cfg.names
        groups: dict[str, dict[str, logs.LogGroup]] = {}
        for mode, instance in (("Replica", names.db_replica_instance), ("Restored", names.db_restored_instance)):
            scope = Construct(self, f"{mode}DatabaseLogs")
            acknowledge(
                scope,
                f"{CONTROL_TOWER}cloudwatch_log_group_encrypted_check",
                "These groups are encrypted with the DR region's data key: its ARN comes from the DRFoundation "
                "stack through Fn::GetStackOutput, which the rule does not resolve (tests/unit/test_dr.py).",
            )
            groups[mode] = export_log_groups(
                scope,
                instance_identifier=instance,
                exports=settings.log_exports,
                retention_days=settings.log_retention_days,
                key=key,
                sid_prefix=mode,
            )
            for export, group in groups[mode].items():
                pin_logical_id(group, f"{mode}{export.title()}LogGroup")
        return groups

    def _database_link(self) -> DatabaseLink | None:
        if self.database is None:
            return None
        # Promoted or restored, the database has the primary's master password: the Data stack's
        # master secret, replicated here under the same name, opens it.
        return database_link(
            self,
            endpoint_address=self.database.endpoint_address,
            endpoint_port=self.database.endpoint_port,
            secret_name=self.cfg.names.db_master_secret,
        )

    def _alarms(self, dr: DrSettings) -> None:
        """The primary's health, here where Route 53 publishes it; the replica's lag while it is
        one; when active, the critical alarms on this region's copy. Alarms here can only tell
        topics of this region."""
        cfg, names = self.cfg, self.cfg.names
        self.channels = alert_channels(self)
        topics = {severity: topic.topic_arn for severity, topic in self.channels.topics.items()}
        sources = metric_sources(
            cfg,
            load_balancer=self.entry.alb,
            target_group=self.api.target_group,
            service=self.api.service,
            db_instance_identifier=cfg.dr_db_instance,
            certificate_arn=self.entry.certificate_arn,
        )
        self.primary_health_alarm = alarm(self, "primary-health", sources=sources, names=names, topics=topics)
        if isinstance(self.database, ReadReplica) and not dr.active:
            for key in owned_by(Owner.DR):
                if key != "primary-health":
                    alarm(self, key, sources=sources, names=names, topics=topics)
        if dr.active:
            group = AlarmGroup(self, "Alarms")
            add_alarms(group, watched_by_active_dr(), sources=sources, names=names, topics=topics)
            add_outage(group, names=names, topics=topics)
