from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from aws_cdk import CfnOutput
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from cdk_constructs.backup import BackupPlan, RestoreTest, backup_vault
from cdk_constructs.compliance import CONTROL_TOWER, acknowledge
from cdk_constructs.cross_region import ParameterInRegion, RemoteKeyArn
from cdk_constructs.database import CT_RDS_PROTECTION, BackupReplication, DatabaseParameters, PostgresDatabase, ReplicatedMasterSecret
from cdk_constructs.db_users import DatabaseUsersTask, app_role_sql
from cdk_constructs.keys import customer_key
from cdk_constructs.logs import encrypted_log_group
from config import EnvironmentConfig
from config.names import DAILY_BACKUP_HOUR_UTC, DATABASE_NAME, MASTER_USERNAME, PRIMARY_DATABASE_ID
from stacks.backups import backup_copies, vault_lock
from stacks.base import EnvironmentStack, pin_logical_id
from stacks.regional import RegionalNetwork, instance_settings

# CDK's name for the output that carried the data key's ARN to the Service stack before IAM login.
LEGACY_KEY_OUTPUT = "PublishOutputFnGetAttDataKeyArn48959D44"


@dataclass(frozen=True)
class DataOutputs:
    """What the Service stack needs from the Data stack, and nothing else."""

    parameters: DatabaseParameters
    """Where the endpoint, port and master secret's ARN are in Parameter Store, read at each deploy:
    fixed names, whatever the failback phase of the database (stacks/__init__.py)."""
    key: kms.IKey
    """Encrypts that secret; the service's execution role may decrypt with it."""


class DataStack(EnvironmentStack):
    """The database, its key, credentials and Parameter Store entries.

    `failback` ("detached" or "replica", from `-c failback`) is the database's phase while the
    primary region takes the data back from the DR region (README: Failback).
    """

    def __init__(self, scope: Construct, *, cfg: EnvironmentConfig, network: RegionalNetwork, failback: str | None = None) -> None:
        super().__init__(
            scope,
            cfg=cfg,
            part="Data",
            region=cfg.region,
            availability_zones=cfg.availability_zones,
            description="PostgreSQL database and its key",
        )
        names, db = cfg.names, cfg.database
        self.key = customer_key(
            self,
            "DataKey",
            alias=names.data_key_alias,
            description=f"Encrypts {names.db_instance}: storage, backups, Performance Insights, secret, logs",
        )
        self.database = PostgresDatabase(
            self,
            "Database",
            vpc=network.vpc,
            security_group=network.security_groups.db,
            key=self.key,
            instance_identifier=names.db_instance,
            database_name=DATABASE_NAME,
            master_username=MASTER_USERNAME,
            settings=instance_settings(db),
            allocated_storage_gib=db.allocated_storage_gib,
            slow_query_log_ms=db.slow_query_log_ms,
            parameter_prefix=names.parameter_prefix,
            backup_replication=self._backup_replication(),
            replicated_secret=self._replicated_secret(),
            deletion_protection=db.deletion_protection,
            replica_of=cfg.dr_db_instance_arn if failback == "replica" else None,
            detached=failback == "detached",
            created_as_replica=db.created_as == "replica",
        )
        pin_logical_id(self.key, "DataKey")
        for export, group in self.database.log_groups.items():
            pin_logical_id(group, f"{export.title()}LogGroup")
        if self.database.master_secret is not None:
            pin_logical_id(self.database.master_secret, "DatabaseMasterSecret")
        if failback != "detached":
            pin_logical_id(self.database.instance, PRIMARY_DATABASE_ID)
            if cfg.database.replicate_backups_to_dr:
                self._publish_resource_id()
            self._acknowledge_choices()
        if cfg.backup.enabled:
            self._backups(network, restore_test=cfg.backup.restore_testing and failback != "detached")
        self._database_users(network)
        if cfg.database.app_login == "iam":
            self._keep_key_output()
        self.outputs = DataOutputs(parameters=self.database.parameter_names, key=self.key)

    def _keep_key_output(self) -> None:
        """The output through which Service templates from before IAM login read this key's ARN
        (Fn::GetStackOutput, CDK's weak reference, under CDK's own name for it). With IAM login the
        Service stack reads it no more, but a Service update that fails rolls back to such a
        template, which CloudFormation resolves again: without the output the rollback fails too
        (UPDATE_ROLLBACK_FAILED). Kept until every environment has deployed IAM login once."""
        CfnOutput(self, LEGACY_KEY_OUTPUT, value=self.key.key_arn)

    def _database_users(self, network: RegionalNetwork) -> None:
        """The one-off task `db-users` runs to create the backend's own role, while the database has
        a master secret (not in a failback's replica phases). Its log group stays in every phase:
        it has a fixed name, and is kept on delete like the database's own logs."""
        cfg, names = self.cfg, self.cfg.names
        log_group = encrypted_log_group(
            self, "DbUsersLogGroup", name=names.db_users_log_group, retention_days=cfg.database.log_retention_days, key=self.key
        )
        pin_logical_id(log_group, "DbUsersLogGroup")
        secret = self.database.secret
        if secret is None:
            return
        instance = self.database.instance
        DatabaseUsersTask(
            self,
            "DbUsers",
            vpc=network.vpc,
            cluster_name=names.admin_cluster,
            family=names.db_users_task_family,
            image=cfg.database.admin_image,
            image_cache_prefix=names.public_image_cache,
            master_secret=secret,
            secret_key=self.key,
            host=instance.db_instance_endpoint_address,
            port=instance.db_instance_endpoint_port,
            database=DATABASE_NAME,
            sql=app_role_sql(app_user=names.app_db_user, database=DATABASE_NAME, owner=MASTER_USERNAME),
            log_group=log_group,
        )

    def _backups(self, network: RegionalNetwork, *, restore_test: bool) -> None:
        """The database in AWS Backup: continuous and daily recovery points in this region's locked
        vault, each daily one copied to the DR region's vault (and a backup account's), and the
        monthly restore test."""
        cfg, names = self.cfg, self.cfg.names
        vault = backup_vault(self, "BackupVault", name=names.backup_vault, key=self.key, lock=vault_lock(cfg))
        pin_logical_id(vault, "BackupVault")
        plan = BackupPlan(
            self,
            "DatabaseBackups",
            name=names.backup_plan,
            vault=vault,
            resource_arns=[cfg.db_instance_arn],
            daily_retention_days=cfg.backup.daily_retention_days,
            copies=backup_copies(cfg),
            # With continuous backup AWS Backup manages the instance's automated backups; the same
            # retention keeps the two from fighting over BackupRetentionPeriod.
            continuous_retention_days=cfg.database.backup_retention_days if cfg.backup.continuous else None,
            allow_restores=restore_test,
            daily_hour_utc=DAILY_BACKUP_HOUR_UTC,
        )
        if restore_test:
            RestoreTest(
                self,
                "RestoreTest",
                name=names.restore_testing_plan,
                vault=vault,
                database_arn=cfg.db_instance_arn,
                subnet_group_name=cast(rds.CfnDBInstance, self.database.instance.node.default_child).db_subnet_group_name or "",
                security_group_ids=[network.security_groups.db.security_group_id],
                role=plan.role,
            )

    def _replicated_secret(self) -> ReplicatedMasterSecret | None:
        """With a DR region, read replicas are made of this database (and of its copies there), so
        RDS may not manage its master password (`MANAGED_PASSWORD_SOURCE`): a secret of the stack's
        own holds it, replicated to the DR region under the DR key's alias."""
        cfg, names = self.cfg, self.cfg.names
        if not cfg.dr.enabled:
            return None
        return ReplicatedMasterSecret(name=names.db_master_secret, region=cfg.dr_region, kms_key_arn=self.dr_key_alias_arn)

    def _backup_replication(self) -> BackupReplication | None:
        """Automated backups copied to the DR region, with the DR key found by its alias there."""
        cfg = self.cfg
        if not cfg.database.replicate_backups_to_dr:
            return None
        dr_key = RemoteKeyArn(self, "DrBackupKey", region=cfg.dr_region, alias_name=cfg.names.dr_key_alias)
        return BackupReplication(region=cfg.dr_region, kms_key_arn=dr_key.key_arn, retention_days=cfg.database.backup_retention_days)

    def _publish_resource_id(self) -> None:
        """What finds this instance's replicated backups in the DR region (its name would also find
        backups kept from an earlier instance of that name): the DR restore and the runbook read it."""
        cfg = self.cfg
        ParameterInRegion(
            self,
            "ResourceIdInDrRegion",
            region=cfg.dr_region,
            name=cfg.names.db_resource_id_parameter,
            value=cast(rds.CfnDBInstance, self.database.instance.node.default_child).attr_dbi_resource_id,
            description=f"DbiResourceId of {cfg.names.db_instance} in {cfg.region}, whose automated backups replicate here",
        )

    def _acknowledge_choices(self) -> None:
        """What a non-production config may turn off, and why the compliance packs may accept it."""
        cfg, db = self.cfg, self.cfg.database
        acknowledge(
            self.database.instance,
            "NIST.800.53.R5-RDSInBackupPlan",
            f"The instance is in the AWS Backup plan {cfg.names.backup_plan} of this stack, selected by its ARN, which "
            "the rule does not match to the resource (tests/unit/test_backups.py)."
            if cfg.backup.enabled
            else f"{cfg.source} turns AWS Backup off (backup.enabled = false): recovery rests on RDS automated backups "
            "with point-in-time recovery and on the final snapshot at removal.",
        )
        if not db.multi_az:
            for rule in ("AwsSolutions-RDS3", "NIST.800.53.R5-RDSMultiAZSupport", f"{CONTROL_TOWER}rds_instance_multi_az_support_check"):
                acknowledge(
                    self.database.instance,
                    rule,
                    f"{cfg.source} sets database.multi_az = false for this non-production environment to halve "
                    "its cost; production's config cannot (the loader refuses it).",
                )
        if not db.deletion_protection:
            for rule in ("AwsSolutions-RDS10", "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled", CT_RDS_PROTECTION):
                acknowledge(
                    self.database.instance,
                    rule,
                    f"{cfg.source} sets database.deletion_protection = false for this non-production environment, "
                    "so that `cdk destroy` removes it after a final snapshot; production's config cannot.",
                )
