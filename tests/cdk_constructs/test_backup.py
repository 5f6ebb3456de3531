"""cdk_constructs/backup.py: a vault, a plan and a restore test, each built alone."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from cdk_constructs.backup import BackupPlan, Copy, RestoreTest, VaultLock, backup_vault, vault_arn
from tests.cdk_constructs.conftest import built, of_type, one

OTHER = vault_arn(region="us-east-1", account="123456789012", name="app-backups-dr")


def _plan(stack: Stack, **changes: Any) -> BackupPlan:
    vault = backup_vault(stack, "Vault", name="app-backups", key=kms.Key(stack, "Key"), lock=None)
    options: dict[str, Any] = {
        "name": "app",
        "vault": vault,
        "resource_arns": ["arn:aws:rds:us-west-2:123456789012:db:app-db"],
        "daily_retention_days": 35,
        **changes,
    }
    return BackupPlan(stack, "Plan", **options)


def test_a_vault_without_a_lock_still_denies_deleting_recovery_points() -> None:
    _, template = built(lambda stack: backup_vault(stack, "Vault", name="app-backups", key=kms.Key(stack, "Key"), lock=None))
    vault = one(template, "AWS::Backup::BackupVault")
    assert "LockConfiguration" not in vault["Properties"]
    assert vault["Properties"]["AccessPolicy"]["Statement"][0]["Effect"] == "Deny"
    assert vault["DeletionPolicy"] == "RetainExceptOnCreate"


def test_a_locked_vault_carries_the_locks_three_numbers() -> None:
    lock = VaultLock(min_retention_days=7, max_retention_days=365, changeable_for_days=3)
    _, template = built(lambda stack: backup_vault(stack, "Vault", name="app-backups", key=kms.Key(stack, "Key"), lock=lock))
    lock_configuration = one(template, "AWS::Backup::BackupVault")["Properties"]["LockConfiguration"]
    assert lock_configuration == {"MinRetentionDays": 7, "MaxRetentionDays": 365, "ChangeableForDays": 3}


def test_a_plan_without_continuous_backup_has_the_daily_rule_only_and_copies_it() -> None:
    _, template = built(lambda stack: _plan(stack, copies=[Copy(vault_arn=OTHER, retention_days=30)]))
    (rule,) = one(template, "AWS::Backup::BackupPlan")["Properties"]["BackupPlan"]["BackupPlanRule"]
    assert rule["RuleName"] == "Daily" and rule["ScheduleExpression"] == "cron(0 5 * * ? *)"
    assert rule["CopyActions"] == [{"DestinationBackupVaultArn": OTHER, "Lifecycle": {"DeleteAfterDays": 30}}]


def test_a_plans_role_may_restore_only_when_asked() -> None:
    for allow, policies in ((False, 1), (True, 2)):
        _, template = built(lambda stack, allow=allow: _plan(stack, allow_restores=allow))
        (role,) = of_type(template, "AWS::IAM::Role").values()
        assert len(role["Properties"]["ManagedPolicyArns"]) == policies
        assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "backup.amazonaws.com"}


def test_a_restore_test_places_the_restore_and_waits_for_its_plan() -> None:
    def build(stack: Stack) -> None:
        vault = backup_vault(stack, "Vault", name="app-backups", key=kms.Key(stack, "Key"), lock=None)
        role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/restore")
        RestoreTest(
            stack,
            "Test",
            name="app_monthly",
            vault=vault,
            database_arn="arn:aws:rds:us-west-2:123456789012:db:app-db",
            subnet_group_name="app-subnets",
            security_group_ids=["sg-0123456789abcdef0"],
            role=role,
        )

    _, template = built(build)
    selection = one(template, "AWS::Backup::RestoreTestingSelection")
    assert selection["Properties"]["RestoreMetadataOverrides"] == {
        "dbSubnetGroupName": "app-subnets",
        "vpcSecurityGroupIds": '["sg-0123456789abcdef0"]',
    }
    assert selection["Properties"]["ValidationWindowHours"] == 1
    (plan_id,) = of_type(template, "AWS::Backup::RestoreTestingPlan")
    assert selection["DependsOn"] == [plan_id]
