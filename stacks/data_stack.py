from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from cdk_constructs.compliance import acknowledge
from cdk_constructs.cross_region import RemoteKeyArn
from cdk_constructs.database import BackupReplication, PostgresDatabase
from cdk_constructs.keys import customer_key
from cdk_constructs.network import TierSecurityGroups
from config import EnvironmentConfig
from stacks.base import EnvironmentStack, pin_logical_id


class DataStack(EnvironmentStack):
    """The database, its key, credentials and Parameter Store entries."""

    def __init__(self, scope: Construct, *, cfg: EnvironmentConfig, vpc: ec2.IVpc, security_groups: TierSecurityGroups) -> None:
        super().__init__(
            scope,
            cfg=cfg,
            part="Data",
            region=cfg.region,
            availability_zones=cfg.availability_zones,
            description="PostgreSQL database and its key",
        )
        names = cfg.names
        db = cfg.database
        self.key = customer_key(
            self,
            "DataKey",
            alias=names.data_key_alias,
            description=f"Encrypts {names.db_instance}: storage, backups, Performance Insights, secret, logs",
        )
        replication = None
        if db.replicate_backups_to_dr:
            dr_key = RemoteKeyArn(self, "DrBackupKey", region=cfg.dr_region, alias_name=names.dr_key_alias)
            replication = BackupReplication(region=cfg.dr_region, kms_key_arn=dr_key.key_arn, retention_days=db.backup_retention_days)
        self.database = PostgresDatabase(
            self,
            "Database",
            vpc=vpc,
            security_group=security_groups.db,
            key=self.key,
            instance_identifier=names.db_instance,
            engine_version=db.engine_version,
            instance_type=db.instance_type,
            multi_az=db.multi_az,
            allocated_storage_gib=db.allocated_storage_gib,
            max_allocated_storage_gib=db.max_allocated_storage_gib,
            backup_retention_days=db.backup_retention_days,
            log_retention_days=db.log_retention_days,
            slow_query_log_ms=db.slow_query_log_ms,
            monitoring_interval_seconds=db.monitoring_interval_seconds,
            performance_insights_retention_days=db.performance_insights_retention_days,
            parameter_prefix=names.parameter_prefix,
            backup_replication=replication,
            deletion_protection=db.deletion_protection,
        )
        if not db.multi_az:
            for rule in ("AwsSolutions-RDS3", "NIST.800.53.R5-RDSMultiAZSupport"):
                acknowledge(
                    self.database.instance,
                    rule,
                    f"{cfg.source} sets database.multi_az = false for this non-production environment to halve "
                    "its cost; production's config cannot (the loader refuses it).",
                )
        if not db.deletion_protection:
            for rule in ("AwsSolutions-RDS10", "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled"):
                acknowledge(
                    self.database.instance,
                    rule,
                    f"{cfg.source} sets database.deletion_protection = false for this non-production environment, "
                    "so that `cdk destroy` removes it after a final snapshot; production's config cannot.",
                )
        pin_logical_id(self.key, "DataKey")
        pin_logical_id(self.database.instance, "Database")
        for export, group in self.database.log_groups.items():
            pin_logical_id(group, f"{export.title()}LogGroup")
