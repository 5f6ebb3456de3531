"""The PostgreSQL 15 database: instance, parameters, key, logs and the SSM parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cdk_constructs.compliance import acknowledge
from cdk_constructs.logs import encrypted_log_group
from cdk_constructs.network import POSTGRES_PORT

MASTER_USERNAME = "contractorlens_admin"
DATABASE_NAME = "contractorlens"
# `postgresql` carries the slow-statement log the manual searches; `upgrade` records engine upgrades.
LOG_EXPORTS = ("postgresql", "upgrade")


@dataclass(frozen=True)
class BackupReplication:
    """Where automated backups are copied: region, the key there, and for how many days."""

    region: str
    kms_key_arn: str
    retention_days: int


class PostgresDatabase(Construct):
    """RDS for PostgreSQL 15 in isolated subnets, encrypted with a customer-managed key.

    The master password is generated, stored and rotated by RDS in Secrets Manager
    (`manage_master_user_password`): it never appears in a template, and rotation needs no
    Lambda reaching Secrets Manager from an isolated subnet. The instance is snapshotted,
    not deleted, when it leaves the template, and deletion protection stops `cdk destroy`.
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
        engine_version: str,
        instance_type: str,
        multi_az: bool,
        allocated_storage_gib: int,
        max_allocated_storage_gib: int,
        backup_retention_days: int,
        log_retention_days: int,
        slow_query_log_ms: int,
        monitoring_interval_seconds: int,
        performance_insights_retention_days: int,
        parameter_prefix: str,
        backup_replication: BackupReplication | None = None,
    ) -> None:
        """
        :param vpc: the VPC; the instance goes into its isolated subnets.
        :param security_group: the database's group (contractorlens-db-sg).
        :param key: encrypts storage, Performance Insights, the secret and the log group.
        :param instance_identifier: the DB instance identifier (manual: contractorlens-db).
        :param engine_version: PostgreSQL 15 minor version, e.g. "15.17"; auto minor upgrades
            are off so that the version in config is the version that runs.
        :param instance_type: instance class without "db.", e.g. "m7g.large".
        :param multi_az: keep a synchronous standby in a second zone.
        :param allocated_storage_gib: initial gp3 storage.
        :param max_allocated_storage_gib: storage autoscaling ceiling.
        :param backup_retention_days: automated backup (point-in-time recovery) window.
        :param log_retention_days: retention of the exported logs (`postgresql`, `upgrade`).
        :param slow_query_log_ms: `log_min_duration_statement`, for the manual's "slow query" search.
        :param monitoring_interval_seconds: Enhanced Monitoring interval.
        :param performance_insights_retention_days: Performance Insights retention.
        :param parameter_prefix: SSM path; endpoint, port and secret ARN go under `<prefix>/db/`.
        :param backup_replication: copy automated backups to another region. Default: none.
        """
        super().__init__(scope, construct_id)
        engine = rds.DatabaseInstanceEngine.postgres(
            version=rds.PostgresEngineVersion.of(engine_version, engine_version.split(".")[0])
        )
        self.parameter_group = rds.ParameterGroup(
            self,
            "Parameters",
            engine=engine,
            description=f"{instance_identifier}: slow statements logged, TLS required",
            parameters={
                "log_min_duration_statement": str(slow_query_log_ms),
                "rds.force_ssl": "1",
            },
        )
        # RDS would otherwise create each export's log group itself, unencrypted and kept
        # forever; ours exist first, with our key, retention and removal policy.
        self.log_groups = {
            export: encrypted_log_group(
                self,
                f"{export.title()}Log",
                name=f"/aws/rds/instance/{instance_identifier}/{export}",
                retention_days=log_retention_days,
                key=key,
            )
            for export in LOG_EXPORTS
        }
        self.instance = rds.DatabaseInstance(
            self,
            "Instance",
            engine=engine,
            instance_identifier=instance_identifier,
            instance_type=ec2.InstanceType(instance_type),
            database_name=DATABASE_NAME,
            port=POSTGRES_PORT,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[security_group],
            publicly_accessible=False,
            multi_az=multi_az,
            storage_type=rds.StorageType.GP3,
            allocated_storage=allocated_storage_gib,
            max_allocated_storage=max_allocated_storage_gib,
            storage_encrypted=True,
            storage_encryption_key=key,
            manage_master_user_password=True,
            credentials=rds.Credentials.from_username(MASTER_USERNAME, encryption_key=key),
            iam_authentication=True,
            parameter_group=self.parameter_group,
            auto_minor_version_upgrade=False,
            backup_retention=Duration.days(backup_retention_days),
            delete_automated_backups=False,
            copy_tags_to_snapshot=True,
            deletion_protection=True,
            removal_policy=RemovalPolicy.SNAPSHOT,
            cloudwatch_logs_exports=list(LOG_EXPORTS),
            monitoring_interval=Duration.seconds(monitoring_interval_seconds),
            enable_performance_insights=True,
            performance_insight_encryption_key=key,
            performance_insight_retention=_performance_insights_retention(performance_insights_retention_days),
            ca_certificate=rds.CaCertificate.RDS_CA_RSA2048_G1,
        )
        for group in self.log_groups.values():
            self.instance.node.add_dependency(group)
        self._acknowledge_findings()

        if backup_replication is not None:
            cfn = cast(rds.CfnDBInstance, self.instance.node.default_child)
            cfn.automatic_backup_replication_region = backup_replication.region
            cfn.automatic_backup_replication_kms_key_id = backup_replication.kms_key_arn
            cfn.automatic_backup_replication_retention_period = backup_replication.retention_days

        # manage_master_user_password always yields the secret RDS created.
        secret = cast(secretsmanager.ISecret, self.instance.secret)
        self.secret = secret
        self.parameters = {
            "endpoint": self.instance.db_instance_endpoint_address,
            "port": self.instance.db_instance_endpoint_port,
            "secret-arn": secret.secret_arn,
        }
        for name, value in self.parameters.items():
            ssm.StringParameter(
                self,
                f"{name.title().replace('-', '')}Parameter",
                parameter_name=f"{parameter_prefix}/db/{name}",
                string_value=value,
                description=f"{instance_identifier} {name} (the manual: database credentials in Parameter Store)",
            )


    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.instance,
            "AwsSolutions-RDS11",
            "PostgreSQL keeps its standard port 5432: the instance is in isolated subnets and its "
            "security group admits only the backend's group, so a non-standard port would hide nothing.",
        )
        acknowledge(
            self.instance,
            "NIST.800.53.R5-RDSInBackupPlan",
            "Recovery rests on RDS automated backups with point-in-time recovery, replicated to the DR "
            "region (the manual's 15-minute RPO), and on the final snapshot at removal; an AWS Backup "
            "plan would keep a second, slower copy of the same data.",
        )
        acknowledge(
            self.instance,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]",
            "Enhanced Monitoring's role uses the AWS-managed policy written for exactly that role; it only "
            "lets RDS publish OS metrics to CloudWatch Logs.",
        )


def _performance_insights_retention(days: int) -> rds.PerformanceInsightRetention:
    """7 days is the free tier; longer periods are whole months of 31 days, up to 731."""
    if days == 7:
        return rds.PerformanceInsightRetention.DEFAULT
    if days == 731:
        return rds.PerformanceInsightRetention.LONG_TERM
    return rds.PerformanceInsightRetention[f"MONTHS_{days // 31}"]
