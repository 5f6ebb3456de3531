"""The PostgreSQL 15 database: instance, parameters, key, logs and the SSM parameters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from aws_cdk import CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from cdk_constructs.compliance import CONTROL_TOWER, acknowledge, settle_aws_custom_resource_function
from cdk_constructs.logs import encrypted_log_group
from cdk_constructs.network import POSTGRES_PORT
from cdk_constructs.protection import LATE_PROTECTION, DeletionProtection

# The Control Tower rules (cfn-guard) that every database here answers with a reason.
CT_RDS_PROTECTION = f"{CONTROL_TOWER}rds_instance_deletion_protection_enabled_check"
CT_RDS_PORT = f"{CONTROL_TOWER}rds_instance_no_default_ports_check"
CT_RDS_MINOR_UPGRADES = f"{CONTROL_TOWER}rds_instance_automatic_minor_version_upgrade_enabled_check"
PINNED_MINOR_VERSION = (
    "Automatic minor upgrades are off so that the engine version in config is the one that runs: a "
    "minor upgrade is a reviewed change of database.engine_version, deployed like any other, and the "
    "primary, its replica and a restore never drift apart."
)
_DR_PORT = (
    "PostgreSQL keeps its standard port 5432, as the primary: the instance is in isolated subnets and "
    "admits only the backend's security group."
)


def postgres_parameters(*, slow_query_log_ms: int) -> dict[str, str]:
    """The parameter group's settings, the same for the primary and a DR restore."""
    return {
        # The manual searches the logs for "slow query"; PostgreSQL logs statements slower than this.
        "log_min_duration_statement": str(slow_query_log_ms),
        "rds.force_ssl": "1",
    }


def export_log_groups(
    scope: Construct, *, instance_identifier: str, exports: Sequence[str], retention_days: int, key: kms.IKey, sid_prefix: str = ""
) -> dict[str, logs.LogGroup]:
    """The groups RDS exports the instance's logs into, created before the instance.

    RDS would otherwise create them itself, unencrypted and kept forever; ours have our key,
    the configured retention, and survive the stack. `sid_prefix` tells the key policy's
    statements apart when one key serves the groups of more than one instance.
    """
    return {
        export: encrypted_log_group(
            scope,
            f"{export.title()}Log",
            name=f"/aws/rds/instance/{instance_identifier}/{export}",
            retention_days=retention_days,
            key=key,
            statement_id=f"CloudWatchLogs{sid_prefix}{export.title()}Log",
        )
        for export in exports
    }


@dataclass(frozen=True)
class InstanceSettings:
    """What a primary database and a restore of it share: engine, size, backups, logs, monitoring."""

    engine_version: str
    """PostgreSQL 15 minor version, e.g. "15.17"; auto minor upgrades are off so that the version
    in config is the version that runs."""
    instance_type: str
    """Instance class without "db.", e.g. "m7g.large"."""
    multi_az: bool
    """Keep a synchronous standby in a second zone."""
    max_allocated_storage_gib: int
    """Storage autoscaling ceiling, gp3."""
    backup_retention_days: int
    """Automated backup (point-in-time recovery) window."""
    log_exports: Sequence[str]
    """The PostgreSQL logs exported to CloudWatch Logs, e.g. postgresql, upgrade; each into a group
    created first, with the database's key."""
    log_retention_days: int
    monitoring_interval_seconds: int
    """Enhanced Monitoring interval."""
    performance_insights_retention_days: int
    extended_support: bool
    """After standard support of the major version ends: stay on it in RDS Extended Support
    (charged), or let RDS upgrade it (EngineLifecycleSupport). A read replica has no say: RDS's
    CreateDBInstanceReadReplica takes no such parameter, the replica follows its source."""


def lifecycle_support(settings: InstanceSettings) -> str:
    """EngineLifecycleSupport for `settings.extended_support`, said even where it is RDS's default
    (CloudFormation reference, AWS::RDS::DBInstance EngineLifecycleSupport: valid values)."""
    return "open-source-rds-extended-support" if settings.extended_support else "open-source-rds-extended-support-disabled"


@dataclass(frozen=True)
class DatabaseParameters:
    """The Parameter Store names under which a database's endpoint, port and secret ARN are kept."""

    endpoint: str
    port: str
    secret_arn: str

    @classmethod
    def under(cls, prefix: str) -> DatabaseParameters:
        return cls(endpoint=f"{prefix}/db/endpoint", port=f"{prefix}/db/port", secret_arn=f"{prefix}/db/secret-arn")


MANAGED_PASSWORD_SOURCE = (
    "RDS refuses to create a read replica of an instance whose master password it manages in Secrets "
    "Manager (RDS user guide, 'Password management with Amazon RDS and AWS Secrets Manager', Limitations: "
    "'Creating a read replica when the source DB or DB cluster manages credentials with Secrets Manager', "
    "all engines but SQL Server; InvalidParameterValue, terraform-aws-modules/terraform-aws-rds#532)"
)
"""Why a database that read replicas are made of keeps its master password in a secret of its own."""


@dataclass(frozen=True)
class ReplicatedMasterSecret:
    """The master password in a secret the stack generates, replicated to another region: for an
    instance that read replicas are made of (`MANAGED_PASSWORD_SOURCE`). Every copy of the
    database (replica, promoted replica, restore, and failback's replica of those) carries the
    same password, which RDS copies with the data, so the replica of this secret in `region` opens
    them all."""

    name: str
    region: str
    kms_key_arn: str
    """The key that encrypts the replica in `region` (an ARN, or the ARN of an alias there)."""


@dataclass(frozen=True)
class BackupReplication:
    """Where automated backups are copied: region, the key there, and for how many days."""

    region: str
    kms_key_arn: str
    retention_days: int


class PostgresDatabase(Construct):
    """RDS for PostgreSQL 15 in isolated subnets, encrypted with a customer-managed key.

    The master password is generated, stored and rotated every 7 days by RDS in Secrets Manager
    (`manage_master_user_password`): it never appears in a template, and rotation needs no
    Lambda reaching Secrets Manager from an isolated subnet. Where read replicas are made of the
    instance RDS refuses that (`MANAGED_PASSWORD_SOURCE`): with `replicated_secret` the stack
    generates the password in a secret of its own, replicated to the DR region, and it changes
    only on purpose (`./scripts/deploy.sh db-password`; README: Database credentials). The
    instance is snapshotted, not deleted, when it leaves the template, and deletion protection
    stops `cdk destroy`.

    In a failback (README: Failback) the same resource is first left out (`detached`), then a
    cross-Region read replica of the DR database (`replica_of`), and then the primary again:
    CloudFormation promotes a replica whose `SourceDBInstanceIdentifier` leaves the template.
    A replica is created without MasterUsername and StorageEncrypted (CloudFormation refuses
    them beside a source), both create-only: from then on `created_as_replica` leaves them out,
    so that the promotion and every later update replace nothing.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        key: kms.IKey,
        instance_identifier: str,
        database_name: str,
        master_username: str,
        settings: InstanceSettings,
        allocated_storage_gib: int,
        slow_query_log_ms: int,
        parameter_prefix: str,
        backup_replication: BackupReplication | None = None,
        replicated_secret: ReplicatedMasterSecret | None = None,
        deletion_protection: bool = True,
        replica_of: str | None = None,
        detached: bool = False,
        created_as_replica: bool = False,
    ) -> None:
        """
        :param vpc: the VPC; the instance goes into its isolated subnets.
        :param security_group: the database's group (contractorlens-db-sg).
        :param key: encrypts storage, Performance Insights, the secret and the log groups.
        :param instance_identifier: the DB instance identifier (manual: contractorlens-db).
        :param database_name: the database created in the instance.
        :param master_username: the master user; RDS generates and manages its password.
        :param settings: engine, size, backups, logs and monitoring.
        :param allocated_storage_gib: initial gp3 storage.
        :param slow_query_log_ms: `log_min_duration_statement`, for the manual's "slow query" search.
        :param parameter_prefix: SSM path; endpoint, port and secret ARN go under `<prefix>/db/`.
        :param backup_replication: copy automated backups to another region. Default: none.
        :param replicated_secret: the master password in this secret instead of one RDS manages,
            for an instance read replicas are made of. Default: none, RDS manages it.
        :param deletion_protection: refuse deletion of the instance (outside CloudFormation too),
            switched on as the stack's last step (cdk_constructs/protection.py). Default: true.
        :param replica_of: the ARN of an instance in another region to replicate instead (a failback's
            second phase): no master secret, backups or backup replication of its own until promoted,
            and no `secret-arn` parameter. Default: none, a primary.
        :param detached: leave the instance out of the template (a failback's first phase), and what
            refers to it: protection, backup replication, parameters. The subnet, parameter and log
            groups and the monitoring role stay for the instance that comes back. Default: false.
        :param created_as_replica: the instance was (or is being) created as a read replica: no
            MasterUsername or StorageEncrypted in the template (it is encrypted by `key` all the
            same), and no AllocatedStorage (it has its source's). Required with `replica_of`.
            Default: false, created new.
        """
        if replica_of is not None and not created_as_replica:
            raise ValueError("replica_of needs created_as_replica: a replica is created without MasterUsername and StorageEncrypted")
        super().__init__(scope, construct_id)
        self.parameter_names = DatabaseParameters.under(parameter_prefix)
        engine = _engine(settings.engine_version)
        self.parameter_group = rds.ParameterGroup(
            self, "Parameters", engine=engine, description=f"{instance_identifier}: slow statements logged, TLS required",
            parameters=postgres_parameters(slow_query_log_ms=slow_query_log_ms),
        )  # fmt: skip
        self.log_groups = export_log_groups(
            self, instance_identifier=instance_identifier, exports=settings.log_exports, retention_days=settings.log_retention_days, key=key
        )
        self.instance = self._instance(
            engine=engine,
            identifier=instance_identifier,
            database_name=database_name,
            master_username=master_username,
            settings=settings,
            allocated_storage_gib=allocated_storage_gib,
            vpc=vpc,
            security_group=security_group,
            key=key,
            replicated_secret=replicated_secret,
        )
        if replica_of is None:  # a replica follows its source (InstanceSettings.extended_support)
            cast(rds.CfnDBInstance, self.instance.node.default_child).engine_lifecycle_support = lifecycle_support(settings)
        # The generated secret with `replicated_secret` (None: RDS manages the password).
        self.master_secret: IConstruct | None = self._keep_master_secret() if replicated_secret is not None else None
        self.instance.node.add_dependency(*self.log_groups.values())
        self._acknowledge_findings(protected=deletion_protection)
        if created_as_replica:
            self._leave_out_replica_create_only()
        self.secret: secretsmanager.ISecret | None = None
        self.deletion_protection: DeletionProtection | None = None
        if detached:
            self._detach()
        else:
            self._complete(instance_identifier, deletion_protection, backup_replication, replica_of)

    def _detach(self) -> None:
        """The instance leaves the template. The generated secret stays (it holds the password of
        the copies elsewhere); what writes the instance's address into it goes with the instance."""
        self.instance.node.try_remove_child("Resource")
        if self.master_secret is not None:
            self.master_secret.node.try_remove_child("Attachment")

    def _complete(
        self, identifier: str, deletion_protection: bool, backup_replication: BackupReplication | None, replica_of: str | None
    ) -> None:
        """What an instance in the template gets: protection, its source or its backups' copies, parameters."""
        if deletion_protection:
            self.deletion_protection = DeletionProtection.of_database(self, "DeletionProtection", instance_identifier=identifier)
        if replica_of is not None:
            self._replicate(replica_of)
        else:
            if backup_replication is not None:
                self._replicate_backups(backup_replication)
            # manage_master_user_password always yields the secret RDS created.
            self.secret = cast(secretsmanager.ISecret, self.instance.secret)
        self._publish(identifier)

    def _instance(
        self,
        *,
        engine: rds.IInstanceEngine,
        identifier: str,
        database_name: str,
        master_username: str,
        settings: InstanceSettings,
        allocated_storage_gib: int,
        vpc: ec2.IVpc,
        security_group: ec2.ISecurityGroup,
        key: kms.IKey,
        replicated_secret: ReplicatedMasterSecret | None,
    ) -> rds.DatabaseInstance:
        instance = rds.DatabaseInstance(
            self,
            "Instance",
            engine=engine,
            instance_identifier=identifier,
            instance_type=ec2.InstanceType(settings.instance_type),
            database_name=database_name,
            port=POSTGRES_PORT,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[security_group],
            publicly_accessible=False,
            multi_az=settings.multi_az,
            storage_type=rds.StorageType.GP3,
            allocated_storage=allocated_storage_gib,
            max_allocated_storage=settings.max_allocated_storage_gib,
            storage_encrypted=True,
            storage_encryption_key=key,
            manage_master_user_password=True if replicated_secret is None else None,
            credentials=self._credentials(master_username, key, replicated_secret),
            iam_authentication=True,
            parameter_group=self.parameter_group,
            auto_minor_version_upgrade=False,
            backup_retention=Duration.days(settings.backup_retention_days),
            delete_automated_backups=False,
            copy_tags_to_snapshot=True,
            # Deletion protection is not in the template: it is turned on as the stack's last step
            # (below), so that a failed first create can still delete the instance.
            removal_policy=RemovalPolicy.SNAPSHOT,
            cloudwatch_logs_exports=list(settings.log_exports),
            monitoring_interval=Duration.seconds(settings.monitoring_interval_seconds),
            enable_performance_insights=True,
            performance_insight_encryption_key=key,
            performance_insight_retention=_performance_insights_retention(settings.performance_insights_retention_days),
            ca_certificate=rds.CaCertificate.RDS_CA_RSA2048_G1,
        )
        if replicated_secret is not None:
            # Said, not left out: on an instance whose password RDS managed before, this is what
            # turns that off (ModifyDBInstance: ManageMasterUserPassword false with a MasterUserPassword).
            cast(rds.CfnDBInstance, instance.node.default_child).manage_master_user_password = False
        return instance

    def _credentials(self, username: str, key: kms.IKey, replicated_secret: ReplicatedMasterSecret | None) -> rds.Credentials:
        if replicated_secret is None:
            return rds.Credentials.from_username(username, encryption_key=key)
        replica_key = kms.Key.from_key_arn(self, "SecretReplicaKey", replicated_secret.kms_key_arn)
        return rds.Credentials.from_generated_secret(
            username,
            secret_name=replicated_secret.name,
            encryption_key=key,
            replica_regions=[secretsmanager.ReplicaRegion(region=replicated_secret.region, encryption_key=replica_key)],
        )

    def _keep_master_secret(self) -> IConstruct:
        """The generated secret is kept when the stack is destroyed, as the final snapshot is (whose
        password it holds), except by the rollback of a failed first create: its fixed name would
        stop the retry (`leftovers --delete` removes it after a destroy)."""
        secret = self.instance.node.find_child("Secret")
        cast(CfnResource, secret.node.default_child).apply_removal_policy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
        for rule in ("AwsSolutions-SMG4", "NIST.800.53.R5-SecretsManagerRotationEnabled"):
            acknowledge(secret, rule, _UNROTATED_MASTER_SECRET)
        return secret

    def _replicate_backups(self, replication: BackupReplication) -> None:
        cfn = cast(rds.CfnDBInstance, self.instance.node.default_child)
        cfn.automatic_backup_replication_region = replication.region
        cfn.automatic_backup_replication_kms_key_id = replication.kms_key_arn
        cfn.automatic_backup_replication_retention_period = replication.retention_days

    def _leave_out_replica_create_only(self) -> None:
        cfn = cast(rds.CfnDBInstance, self.instance.node.default_child)
        for prop in ("MasterUsername", "StorageEncrypted"):
            cfn.add_property_deletion_override(prop)
        # A replica gets its source's storage, which autoscaling may have grown past the configured
        # allocation: asking for less fails the create, and, once promoted, an update that names the
        # smaller figure fails too (storage only grows). Autoscaling (MaxAllocatedStorage) goes on.
        cfn.add_property_deletion_override("AllocatedStorage")
        for rule in ("AwsSolutions-RDS2", "NIST.800.53.R5-RDSStorageEncrypted"):
            acknowledge(self.instance, rule, _FAILBACK_ENCRYPTION)

    def _replicate(self, source_instance_arn: str) -> None:
        """A read replica of `source_instance_arn` under this resource (the handler creates it with
        CreateDBInstanceReadReplica); what a replica cannot have returns with the promotion."""
        cfn = cast(rds.CfnDBInstance, self.instance.node.default_child)
        cfn.add_property_override("SourceDBInstanceIdentifier", source_instance_arn)
        for prop in ("ManageMasterUserPassword", "MasterUserSecret", "MasterUserPassword", "BackupRetentionPeriod"):
            cfn.add_property_deletion_override(prop)

    def _publish(self, instance_identifier: str) -> None:
        """Endpoint, port and the secret's ARN in Parameter Store, where the manual keeps them and
        where a service reads them at deploy time (a replica has no secret-arn: no master secret)."""
        names = self.parameter_names
        values = {
            "Endpoint": (names.endpoint, self.instance.db_instance_endpoint_address),
            "Port": (names.port, self.instance.db_instance_endpoint_port),
        }
        if self.secret is not None:
            values["SecretArn"] = (names.secret_arn, self.secret.secret_arn)
        for key, (name, value) in values.items():
            ssm.StringParameter(
                self,
                f"{key}Parameter",
                parameter_name=name,
                string_value=value,
                description=f"{instance_identifier} {name.rsplit('/', 1)[1]} (the manual: database credentials in Parameter Store)",
            )

    def _acknowledge_findings(self, *, protected: bool) -> None:
        if protected:
            for rule in ("AwsSolutions-RDS10", "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled", CT_RDS_PROTECTION):
                acknowledge(self.instance, rule, LATE_PROTECTION)
        for rule in ("AwsSolutions-RDS11", CT_RDS_PORT):
            acknowledge(
                self.instance,
                rule,
                "PostgreSQL keeps its standard port 5432: the instance is in isolated subnets and its "
                "security group admits only the backend's group, so a non-standard port would hide nothing.",
            )
        acknowledge(self.instance, CT_RDS_MINOR_UPGRADES, PINNED_MINOR_VERSION)
        acknowledge(
            self.instance,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]",
            "Enhanced Monitoring's role uses the AWS-managed policy written for exactly that role; it only "
            "lets RDS publish OS metrics to CloudWatch Logs.",
        )


def _engine(version: str) -> rds.IInstanceEngine:
    return rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.of(version, version.split(".")[0]))


def _performance_insights_retention(days: int) -> rds.PerformanceInsightRetention:
    """7 days is the free tier; longer periods are whole months of 31 days, up to 731."""
    if days == 7:
        return rds.PerformanceInsightRetention.DEFAULT
    if days == 731:
        return rds.PerformanceInsightRetention.LONG_TERM
    return rds.PerformanceInsightRetention[f"MONTHS_{days // 31}"]


class RestorePlacement(Construct):
    """Where a restore in this region goes: named subnet and parameter groups.

    They exist in standby too, so that the runbook's `dr-restore` (the manual's CLI restore)
    and the DR stack's active mode put a restored database in the same place.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnet_group_name: str,
        parameter_group_name: str,
        engine_version: str,
        slow_query_log_ms: int,
    ) -> None:
        """
        :param vpc: this region's VPC; its isolated subnets.
        :param subnet_group_name: the DB subnet group's name (a fixed one, for the runbook).
        :param parameter_group_name: the DB parameter group's name.
        :param engine_version: PostgreSQL version, for the parameter group's family.
        :param slow_query_log_ms: as the primary's parameter group.
        """
        super().__init__(scope, construct_id)
        self.subnet_group = rds.SubnetGroup(
            self,
            "Subnets",
            vpc=vpc,
            subnet_group_name=subnet_group_name,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            description="Restored ContractorLens databases: isolated subnets",
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.parameter_group = rds.CfnDBParameterGroup(
            self,
            "Parameters",
            db_parameter_group_name=parameter_group_name,
            family=f"postgres{engine_version.split('.')[0]}",
            description="Restored ContractorLens databases: slow statements logged, TLS required (as the primary)",
            parameters=postgres_parameters(slow_query_log_ms=slow_query_log_ms),
        )


class RestoredPostgresDatabase(Construct):
    """A database restored in this region from what the primary replicated here.

    From the replicated automated backups (their latest restorable time, or a point in
    time) or from a snapshot in this region. It keeps the master password its backups hold,
    which is the primary's (`ReplicatedMasterSecret`: the secret's replica in this region opens
    it): RDS may not manage it here, because a failback makes a read replica of this instance
    (`MANAGED_PASSWORD_SOURCE`). Otherwise shaped like the primary: same parameters, Multi-AZ,
    encrypted, isolated, protected, snapshotted on removal.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        placement: RestorePlacement,
        security_group: ec2.ISecurityGroup,
        key: kms.IKey,
        instance_identifier: str,
        source_resource_id: str,
        restore_kind: str,
        restore_value: str,
        settings: InstanceSettings,
        log_groups: Sequence[logs.ILogGroup] = (),
    ) -> None:
        """
        :param placement: the subnet and parameter groups restores go into.
        :param security_group: this region's database group.
        :param key: this region's key (the one backups were replicated with): Performance
            Insights, the logs.
        :param instance_identifier: the restored instance (manual: contractorlens-db-restored).
        :param source_resource_id: the DbiResourceId of the primary instance whose replicated backups
            are used (a token resolved at deploy time; unused for a snapshot).
        :param restore_kind: "latest", "time" or "snapshot".
        :param restore_value: the UTC time (time) or snapshot id or ARN (snapshot); "" for latest.
        :param settings: the primary's.
        :param log_groups: the groups RDS exports into, made by the caller (they outlive a drill,
            see `export_log_groups`); the instance waits for them. Default: none.
        """
        super().__init__(scope, construct_id)
        if restore_kind not in ("latest", "time", "snapshot"):
            raise ValueError(f"restore_kind {restore_kind!r}: expected latest, time or snapshot")
        monitoring_role = _monitoring_role(self)
        self.instance = self._instance(
            identifier=instance_identifier,
            source_resource_id=source_resource_id,
            restore_kind=restore_kind,
            restore_value=restore_value,
            settings=settings,
            placement=placement,
            security_group=security_group,
            key=key,
            monitoring_role=monitoring_role,
        )
        _finish_dr_instance(self, self.instance, instance_identifier=instance_identifier, log_groups=log_groups)
        self.endpoint_address = self.instance.attr_endpoint_address
        self.endpoint_port = self.instance.attr_endpoint_port
        _acknowledge_dr_instance(self.instance, monitoring_role, encryption=_INHERITED_ENCRYPTION, backups=_RESTORE_BACKUPS)

    def _instance(
        self,
        *,
        identifier: str,
        source_resource_id: str,
        restore_kind: str,
        restore_value: str,
        settings: InstanceSettings,
        placement: RestorePlacement,
        security_group: ec2.ISecurityGroup,
        key: kms.IKey,
        monitoring_role: iam.IRole,
    ) -> rds.CfnDBInstance:
        # Where the data comes from: a snapshot, or the replicated automated backups at their
        # latest restorable time or at a point in time.
        backups_arn = None
        if restore_kind != "snapshot":
            backups_arn = AutomatedBackupsArn(self, "ReplicatedBackups", source_resource_id=source_resource_id).arn
        return rds.CfnDBInstance(
            self,
            "Instance",
            db_instance_identifier=identifier,
            db_instance_class=f"db.{settings.instance_type}",
            engine="postgres",
            engine_version=settings.engine_version,
            multi_az=settings.multi_az,
            db_subnet_group_name=placement.subnet_group.subnet_group_name,
            vpc_security_groups=[security_group.security_group_id],
            db_parameter_group_name=placement.parameter_group.ref,
            publicly_accessible=False,
            storage_type="gp3",
            max_allocated_storage=settings.max_allocated_storage_gib,
            # No StorageEncrypted or KmsKeyId: CloudFormation forbids them on a restore, whose
            # storage keeps the encryption of its source (replicated backups: the key they were
            # replicated with; a snapshot: the key it was copied into this region with).
            enable_iam_database_authentication=True,
            auto_minor_version_upgrade=False,
            backup_retention_period=settings.backup_retention_days,
            delete_automated_backups=False,
            copy_tags_to_snapshot=True,
            # Deletion protection: turned on as the stack operation's last step (below).
            enable_cloudwatch_logs_exports=list(settings.log_exports),
            monitoring_interval=settings.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role.role_arn,
            enable_performance_insights=True,
            performance_insights_kms_key_id=key.key_arn,
            performance_insights_retention_period=settings.performance_insights_retention_days,
            ca_certificate_identifier=rds.CaCertificate.RDS_CA_RSA2048_G1.to_string(),
            engine_lifecycle_support=lifecycle_support(settings),
            db_snapshot_identifier=restore_value if restore_kind == "snapshot" else None,
            source_db_instance_automated_backups_arn=backups_arn,
            use_latest_restorable_time=True if restore_kind == "latest" else None,
            restore_time=restore_value if restore_kind == "time" else None,
        )


_UNROTATED_MASTER_SECRET = (
    "Read replicas are made of this instance, so RDS may not manage (and rotate) its master password "
    "(RDS user guide, 'Password management with Amazon RDS and AWS Secrets Manager', Limitations). The "
    "password is break-glass only: the backend logs in with IAM tokens. It is changed on purpose with "
    "`./scripts/deploy.sh db-password` (README: Database credentials), which keeps every copy of the database in step."
)
_FAILBACK_ENCRYPTION = (
    "Created by a failback as a cross-Region read replica, which must name its key (KmsKeyId: the data key) "
    "and on which CloudFormation takes no StorageEncrypted; the property is create-only, so it stays out "
    "after the promotion. The storage is encrypted all the same."
)
_INHERITED_ENCRYPTION = (
    "A restore inherits its source's encryption and CloudFormation refuses StorageEncrypted on it: the "
    "replicated backups are encrypted with this region's DR key, and DR snapshots are copied with it."
)
_REPLICA_ENCRYPTION = (
    "The replica is encrypted with this region's DR key (KmsKeyId, which a cross-Region replica of an "
    "encrypted source must name); CloudFormation takes no StorageEncrypted on a read replica."
)
_RESTORE_BACKUPS = (
    "A DR restore is recovered from, not a source of further copies: its automated backups (point-in-time "
    "recovery) run as on the primary until failback."
)
_REPLICA_BACKUPS = (
    "A replica is a copy of the primary, whose backups are the source of truth; promoted, it keeps automated "
    "backups (point-in-time recovery) of its own."
)


def _monitoring_role(scope: Construct) -> iam.Role:
    """Enhanced Monitoring's role for an instance made with the L1 (the L2 makes its own)."""
    return iam.Role(
        scope,
        "MonitoringRole",
        assumed_by=iam.ServicePrincipal("monitoring.rds.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonRDSEnhancedMonitoringRole")],
    )


def _finish_dr_instance(
    scope: Construct, instance: rds.CfnDBInstance, *, instance_identifier: str, log_groups: Sequence[logs.ILogGroup]
) -> None:
    """What every DR database gets: a final snapshot when it leaves the stack (RDS refuses one of
    a replica, and the handler then deletes without it), its log groups first, and deletion
    protection as the stack's last step."""
    instance.apply_removal_policy(RemovalPolicy.SNAPSHOT)
    for group in log_groups:
        instance.node.add_dependency(group)
    DeletionProtection.of_database(scope, "DeletionProtection", instance_identifier=instance_identifier)


def _acknowledge_dr_instance(instance: rds.CfnDBInstance, monitoring_role: iam.Role, *, encryption: str, backups: str) -> None:
    acknowledge(
        monitoring_role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]",
        "Enhanced Monitoring's role uses the AWS-managed policy written for exactly that role; it only "
        "lets RDS publish OS metrics to CloudWatch Logs.",
    )
    for rule, reason in {
        "AwsSolutions-RDS2": encryption,
        "NIST.800.53.R5-RDSStorageEncrypted": encryption,
        "AwsSolutions-RDS11": _DR_PORT,
        CT_RDS_PORT: _DR_PORT,
        "NIST.800.53.R5-RDSInBackupPlan": backups,
        "AwsSolutions-RDS10": LATE_PROTECTION,
        "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled": LATE_PROTECTION,
        CT_RDS_PROTECTION: LATE_PROTECTION,
        CT_RDS_MINOR_UPGRADES: PINNED_MINOR_VERSION,
    }.items():
        acknowledge(instance, rule, reason)


class ReadReplica(Construct):
    """A cross-Region read replica of the primary database, promoted in place on failover.

    The source is named by its ARN, built from configuration: CDK's L2 cannot take a source in
    another region (aws/aws-cdk#12838), and a cross-region stack reference would pin both stacks
    (aws/aws-cdk#30771). RDS copies the primary's data and users into it, seconds behind.

    `promoted` leaves `SourceDBInstanceIdentifier` out, and CloudFormation promotes the instance
    in place (aws-cloudformation-resource-providers-rds PR #334): same logical id and identifier,
    no replacement. Promoted, it keeps automated backups and the primary's master password, which
    the master secret's replica in this region holds: RDS may not manage it, because a failback
    makes a read replica of this instance (`MANAGED_PASSWORD_SOURCE`). It cannot become a
    replica again (the handler refuses a new source as immutable): going back to standby lets
    it go, with a final snapshot, and a new replica is created (`dr-standby` in the runbook).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        placement: RestorePlacement,
        security_group: ec2.ISecurityGroup,
        key: kms.IKey,
        instance_identifier: str,
        source_instance_arn: str,
        settings: InstanceSettings,
        log_groups: Sequence[logs.ILogGroup] = (),
        promoted: bool = False,
    ) -> None:
        """
        :param placement: this region's subnet and parameter groups for DR databases.
        :param security_group: this region's database group.
        :param key: this region's DR key: storage (KmsKeyId), Performance Insights.
        :param instance_identifier: the replica, e.g. contractorlens-db-replica.
        :param source_instance_arn: the primary instance, in another region.
        :param settings: the primary's; backup retention applies once promoted.
        :param log_groups: the groups RDS exports into, made by the caller; the instance waits for them.
        :param promoted: a standalone instance (failover) instead of a replica. Default: false.
        """
        super().__init__(scope, construct_id)
        monitoring_role = _monitoring_role(self)
        self.instance = rds.CfnDBInstance(
            self,
            "Instance",
            db_instance_identifier=instance_identifier,
            source_db_instance_identifier=None if promoted else source_instance_arn,
            # Create-only: the same in both modes, so that promotion replaces nothing.
            kms_key_id=key.key_arn,
            db_subnet_group_name=placement.subnet_group.subnet_group_name,
            db_instance_class=f"db.{settings.instance_type}",
            multi_az=settings.multi_az,
            vpc_security_groups=[security_group.security_group_id],
            db_parameter_group_name=placement.parameter_group.ref,
            publicly_accessible=False,
            storage_type="gp3",
            max_allocated_storage=settings.max_allocated_storage_gib,
            enable_iam_database_authentication=True,
            auto_minor_version_upgrade=False,
            copy_tags_to_snapshot=True,
            delete_automated_backups=False,
            enable_cloudwatch_logs_exports=list(settings.log_exports),
            monitoring_interval=settings.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role.role_arn,
            enable_performance_insights=True,
            performance_insights_kms_key_id=key.key_arn,
            performance_insights_retention_period=settings.performance_insights_retention_days,
            ca_certificate_identifier=rds.CaCertificate.RDS_CA_RSA2048_G1.to_string(),
            # The promotion request carries the retention (the handler's promoteReadReplicaRequest);
            # a replica's own backups are not what recovery rests on.
            backup_retention_period=settings.backup_retention_days if promoted else None,
        )
        _finish_dr_instance(self, self.instance, instance_identifier=instance_identifier, log_groups=log_groups)
        self.endpoint_address = self.instance.attr_endpoint_address
        self.endpoint_port = self.instance.attr_endpoint_port
        _acknowledge_dr_instance(self.instance, monitoring_role, encryption=_REPLICA_ENCRYPTION, backups=_REPLICA_BACKUPS)


class AutomatedBackupsArn(Construct):
    """The ARN of the automated backups replicated into this region from an instance elsewhere.

    The ARN carries a random id, so the backups are looked up at deploy time, by the source
    instance's resource id (`DbiResourceId`): unlike its name, that is one instance's own, so
    backups kept from an earlier instance of the same name never match, and one instance
    replicates to one region at a time: exactly one answer.
    """

    def __init__(self, scope: Construct, construct_id: str, *, source_resource_id: str) -> None:
        """
        :param source_resource_id: the source instance's DbiResourceId, e.g. db-ABCDEFGHIJKL01234 (a
            token, e.g. an SSM parameter reference, resolved at deploy time).
        """
        super().__init__(scope, construct_id)
        call = cr.AwsSdkCall(
            service="RDS",
            action="describeDBInstanceAutomatedBackups",
            parameters={"DbiResourceId": source_resource_id},
            physical_resource_id=cr.PhysicalResourceId.of(f"replicated-backups-of-{source_resource_id}"),
            output_paths=["DBInstanceAutomatedBackups.0.DBInstanceAutomatedBackupsArn"],
        )
        lookup = cr.AwsCustomResource(
            self,
            "Lookup",
            on_create=call,
            on_update=call,
            install_latest_aws_sdk=False,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["rds:DescribeDBInstanceAutomatedBackups"], resources=["*"])]
            ),
        )
        self.arn: str = lookup.get_response_field("DBInstanceAutomatedBackups.0.DBInstanceAutomatedBackupsArn")
        acknowledge(
            lookup,
            "AwsSolutions-IAM5[Resource::*]",
            "DescribeDBInstanceAutomatedBackups is a read-only list call filtered by the source instance's id; the "
            "backups' ARN is what it looks up, so the statement cannot name it.",
        )
        acknowledge(lookup, "NIST.800.53.R5-IAMNoInlinePolicy", "CDK generates this read-only policy for this lookup only.")
        settle_aws_custom_resource_function(Stack.of(self))
