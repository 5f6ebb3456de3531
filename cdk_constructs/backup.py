"""AWS Backup: vaults that a compromised account cannot empty, the plans that fill them, and a
monthly restore test that measures how long a restore takes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_constructs.compliance import acknowledge

# The first Tuesday of every month at 06:00 UTC: the manual's "Monthly: Disaster recovery test".
MONTHLY_RESTORE_TEST = "cron(0 6 ? * 3#1 *)"
_BACKUP_POLICY = "service-role/AWSBackupServiceRolePolicyForBackup"
_RESTORE_POLICY = "service-role/AWSBackupServiceRolePolicyForRestores"


@dataclass(frozen=True)
class VaultLock:
    """Vault Lock in compliance mode: the range of retention a recovery point in the vault may
    have, and how long after the vault's creation the lock may still be changed or removed."""

    min_retention_days: int
    max_retention_days: int
    changeable_for_days: int
    """At least 3 (AWS's minimum). After it, nobody can delete or shorten a recovery point,
    or remove the lock: not the deploy role, not the account's root."""


def backup_vault(scope: Construct, construct_id: str, *, name: str, key: kms.IKey, lock: VaultLock | None) -> backup.BackupVault:
    """A vault named `name`, encrypted with `key` (for recovery points that AWS Backup encrypts
    itself, such as EFS's; an RDS snapshot keeps its database's key), optionally locked.

    Its access policy denies deleting a recovery point or changing its lifecycle to every
    principal, so even without the lock an early delete needs a policy change first. It is kept
    when it leaves the stack or is replaced (a vault with recovery points cannot be deleted, and
    they are the point), except in a failed first create, which deletes it empty and within
    the lock's grace time.
    """
    vault = backup.BackupVault(
        scope,
        construct_id,
        backup_vault_name=name,
        encryption_key=key,
        block_recovery_point_deletion=True,
        lock_configuration=None
        if lock is None
        else backup.LockConfiguration(
            min_retention=Duration.days(lock.min_retention_days),
            max_retention=Duration.days(lock.max_retention_days),
            changeable_for=Duration.days(lock.changeable_for_days),
        ),
        removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    )
    # Disassociating a continuous recovery point removes it from the vault and hands the backups
    # back to RDS, whose own retention anyone with rds:ModifyDBInstance can then cut to nothing
    # (AWS Backup API reference, DisassociateRecoveryPoint): as good as a delete.
    vault.add_to_access_policy(
        iam.PolicyStatement(
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["backup:DisassociateRecoveryPoint", "backup:DisassociateRecoveryPointFromParent"],
            resources=["*"],
        )
    )
    return vault


@dataclass(frozen=True)
class Copy:
    """A copy of each daily recovery point into another vault (another region or account)."""

    vault_arn: str
    retention_days: int


class BackupPlan(Construct):
    """A plan that backs `resource_arns` up into `vault`: daily recovery points kept
    `daily_retention_days` and copied to each of `copies`, and, with `continuous_retention_days`,
    continuous backup for point-in-time restore (RDS, S3 and SAP HANA only)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        vault: backup.IBackupVault,
        resource_arns: Sequence[str],
        daily_retention_days: int,
        copies: Sequence[Copy] = (),
        continuous_retention_days: int | None = None,
        allow_restores: bool = False,
        daily_hour_utc: int = 5,
    ) -> None:
        """
        :param name: the plan's name.
        :param vault: where the recovery points go.
        :param resource_arns: what is backed up.
        :param daily_retention_days: how long a daily recovery point is kept.
        :param copies: where each daily recovery point is copied. Default: nowhere.
        :param continuous_retention_days: keep continuous backup this many days (1 to 35); with
            RDS it takes over the instance's automated backups, so it must equal the instance's
            BackupRetentionPeriod. Default: no continuous backup.
        :param allow_restores: the plan's role may also restore (for a restore test). Default: false.
        :param daily_hour_utc: the hour (UTC) the daily job starts, within an hour. Default: 5.
        """
        super().__init__(scope, construct_id)
        daily = events.Schedule.cron(minute="0", hour=str(daily_hour_utc))
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(policy) for policy in self._policies(allow_restores)],
        )
        self.plan = backup.BackupPlan(self, "Plan", backup_plan_name=name)
        if continuous_retention_days is not None:
            self.plan.add_rule(
                backup.BackupPlanRule(
                    rule_name="Continuous",
                    backup_vault=vault,
                    enable_continuous_backup=True,
                    delete_after=Duration.days(continuous_retention_days),
                    schedule_expression=daily,
                )
            )
        self.plan.add_rule(self._daily(vault, schedule=daily, retention_days=daily_retention_days, copies=copies))
        self.plan.add_selection(
            "Selection",
            resources=[backup.BackupResource.from_arn(arn) for arn in resource_arns],
            role=self.role,
            backup_selection_name=name,
        )
        for policy in self._policies(allow_restores):
            acknowledge(
                self.role,
                f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{policy}]",
                "AWS Backup's own managed policy for the role it assumes: AWS keeps it to exactly what backing up "
                "(or restoring) each supported service needs, and only backup.amazonaws.com can use this role.",
            )

    @staticmethod
    def _policies(allow_restores: bool) -> tuple[str, ...]:
        return (_BACKUP_POLICY, _RESTORE_POLICY) if allow_restores else (_BACKUP_POLICY,)

    def _daily(
        self, vault: backup.IBackupVault, *, schedule: events.Schedule, retention_days: int, copies: Sequence[Copy]
    ) -> backup.BackupPlanRule:
        """A recovery point a day, started within an hour of `schedule`, and its copies."""
        return backup.BackupPlanRule(
            rule_name="Daily",
            backup_vault=vault,
            schedule_expression=schedule,
            start_window=Duration.hours(1),
            completion_window=Duration.hours(8),
            delete_after=Duration.days(retention_days),
            copy_actions=[
                backup.BackupPlanCopyActionProps(
                    destination_backup_vault=backup.BackupVault.from_backup_vault_arn(self, f"CopyTo{index}", copy.vault_arn),
                    delete_after=Duration.days(copy.retention_days),
                )
                for index, copy in enumerate(copies)
            ],
        )


class RestoreTest(Construct):
    """A restore testing plan: every month AWS Backup restores the latest recovery point of
    `database_arn` as a new instance (in the database's subnets and security group), keeps it
    for `validation_hours` and deletes it. The restore job's times are the measured restore time."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        vault: backup.IBackupVault,
        database_arn: str,
        subnet_group_name: str,
        security_group_ids: Sequence[str],
        role: iam.IRole,
        validation_hours: int = 1,
    ) -> None:
        """
        :param name: the testing plan's name (letters, digits and underscores).
        :param vault: whose recovery points are restored.
        :param database_arn: the instance whose recovery points are tested.
        :param subnet_group_name: where the restored instance is placed.
        :param security_group_ids: its security groups.
        :param role: the role AWS Backup restores with (it may restore RDS).
        :param validation_hours: how long the restored instance is kept before deletion. Default: 1.
        """
        super().__init__(scope, construct_id)
        self.plan = backup.CfnRestoreTestingPlan(
            self,
            "Plan",
            restore_testing_plan_name=name,
            schedule_expression=MONTHLY_RESTORE_TEST,
            start_window_hours=4,
            recovery_point_selection=backup.CfnRestoreTestingPlan.RestoreTestingRecoveryPointSelectionProperty(
                algorithm="LATEST_WITHIN_WINDOW",
                include_vaults=[vault.backup_vault_arn],
                recovery_point_types=["SNAPSHOT"],
                selection_window_days=7,
            ),
        )
        selection = backup.CfnRestoreTestingSelection(
            self,
            "Database",
            restore_testing_plan_name=name,
            restore_testing_selection_name="database",
            protected_resource_type="RDS",
            protected_resource_arns=[database_arn],
            iam_role_arn=role.role_arn,
            validation_window_hours=validation_hours,
            restore_metadata_overrides={
                "dbSubnetGroupName": subnet_group_name,
                "vpcSecurityGroupIds": Stack.of(self).to_json_string(list(security_group_ids)),
            },
        )
        selection.add_dependency(self.plan)


def vault_arn(*, partition: str = "aws", region: str, account: str, name: str) -> str:
    """A vault's ARN from its parts: the copy rule names a vault of another region by it."""
    return f"arn:{partition}:backup:{region}:{account}:backup-vault:{name}"
