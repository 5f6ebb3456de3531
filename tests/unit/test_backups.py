"""AWS Backup in the templates: locked vaults in both regions, the plans, the copies, the restore test."""

from __future__ import annotations

from typing import Any

from config import load_environment
from stacks.backups import backup_copies
from tests.synth import Synthesis

DR_VAULT_ARN = "arn:aws:backup:us-east-1:123456789012:backup-vault:contractorlens-backups-dr"


def _one(synth: Synthesis, part: str, type_name: str) -> dict[str, Any]:
    (resource,) = synth.resources(part, type_name).values()
    return resource


def _plans(synth: Synthesis, part: str) -> dict[str, dict[str, Any]]:
    plans = synth.resources(part, "AWS::Backup::BackupPlan").values()
    return {p["Properties"]["BackupPlan"]["BackupPlanName"]: p["Properties"]["BackupPlan"] for p in plans}


def _rules(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["RuleName"]: rule for rule in plan["BackupPlanRule"]}


def test_each_region_has_a_locked_vault_that_outlives_its_stack(production: Synthesis) -> None:
    cfg = production.cfg
    for part, name, key in (("Data", "contractorlens-backups", "DataKey"), ("DRFoundation", "contractorlens-backups-dr", "DrDataKey")):
        vault = _one(production, part, "AWS::Backup::BackupVault")
        props = vault["Properties"]
        assert props["BackupVaultName"] == name and props["EncryptionKeyArn"] == {"Fn::GetAtt": [key, "Arn"]}
        assert props["LockConfiguration"] == {
            "MinRetentionDays": cfg.backup.lock_min_retention_days,
            "MaxRetentionDays": cfg.backup.lock_max_retention_days,
            "ChangeableForDays": cfg.backup.lock_changeable_for_days,
        }
        # Kept on a delete or a replacement; a failed first create deletes it empty, in the lock's grace time.
        assert (vault["DeletionPolicy"], vault["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
        statements = props["AccessPolicy"]["Statement"]
        assert all(s["Effect"] == "Deny" and s["Principal"] == {"AWS": "*"} and s["Resource"] == "*" for s in statements)
        # Deleting, shortening or disassociating a recovery point (which hands it back to RDS's retention).
        assert {a for s in statements for a in s["Action"]} == {
            "backup:DeleteRecoveryPoint",
            "backup:UpdateRecoveryPointLifecycle",
            "backup:DisassociateRecoveryPoint",
            "backup:DisassociateRecoveryPointFromParent",
        }


def test_the_database_is_backed_up_continuously_and_daily_and_each_daily_point_copied_to_the_dr_region(production: Synthesis) -> None:
    cfg = production.cfg
    plan = _plans(production, "Data")["contractorlens-database"]
    rules = _rules(plan)
    assert rules["Continuous"]["EnableContinuousBackup"] is True
    # AWS Backup takes over the instance's automated backups: the same retention on both sides.
    instance = production.template("Data")["Resources"]["Database"]["Properties"]
    assert rules["Continuous"]["Lifecycle"]["DeleteAfterDays"] == instance["BackupRetentionPeriod"] == cfg.database.backup_retention_days
    daily = rules["Daily"]
    assert daily["Lifecycle"]["DeleteAfterDays"] == cfg.backup.daily_retention_days
    assert daily["CopyActions"] == [
        {"DestinationBackupVaultArn": DR_VAULT_ARN, "Lifecycle": {"DeleteAfterDays": cfg.backup.daily_retention_days}}
    ]
    selection = _one(production, "Data", "AWS::Backup::BackupSelection")["Properties"]["BackupSelection"]
    assert selection["Resources"] == ["arn:aws:rds:us-west-2:123456789012:db:contractorlens-db"]


def test_every_recovery_point_fits_the_locks_retention_range(production: Synthesis) -> None:
    """A locked vault refuses a recovery point whose retention is outside its range; the job fails."""
    lock = production.cfg.backup
    for part in ("Data", "Monitoring"):
        for plan in _plans(production, part).values():
            for rule in plan["BackupPlanRule"]:
                days = [rule["Lifecycle"]["DeleteAfterDays"]] + [c["Lifecycle"]["DeleteAfterDays"] for c in rule.get("CopyActions", [])]
                assert all(lock.lock_min_retention_days <= d <= lock.lock_max_retention_days for d in days), (part, rule)


def test_grafanas_file_system_is_in_a_plan_of_its_own_copied_to_the_dr_region(production: Synthesis) -> None:
    plan = _plans(production, "Monitoring")["contractorlens-grafana"]
    assert _rules(plan)["Daily"]["CopyActions"][0]["DestinationBackupVaultArn"] == DR_VAULT_ARN
    assert _rules(plan)["Daily"]["TargetBackupVault"] == "contractorlens-backups"
    selection = _one(production, "Monitoring", "AWS::Backup::BackupSelection")["Properties"]["BackupSelection"]
    assert selection["Resources"] == [{"Fn::GetAtt": ["GrafanaState", "Arn"]}]


def test_a_monthly_restore_test_restores_the_latest_daily_point_beside_the_database(production: Synthesis) -> None:
    plan = _one(production, "Data", "AWS::Backup::RestoreTestingPlan")["Properties"]
    assert plan["RestoreTestingPlanName"] == "contractorlens_monthly_restore_test"
    assert plan["ScheduleExpression"] == "cron(0 6 ? * 3#1 *)"  # the first Tuesday of every month
    assert plan["RecoveryPointSelection"]["Algorithm"] == "LATEST_WITHIN_WINDOW"
    selection = _one(production, "Data", "AWS::Backup::RestoreTestingSelection")["Properties"]
    assert selection["ProtectedResourceType"] == "RDS"
    assert selection["ProtectedResourceArns"] == ["arn:aws:rds:us-west-2:123456789012:db:contractorlens-db"]
    instance = production.template("Data")["Resources"]["Database"]["Properties"]
    assert selection["RestoreMetadataOverrides"]["dbSubnetGroupName"] == instance["DBSubnetGroupName"]
    assert "SecurityGroupsDatabase" in str(selection["RestoreMetadataOverrides"]["vpcSecurityGroupIds"])
    # The restore uses the plan's role, which may restore as well as back up.
    roles = production.resources("Data", "AWS::IAM::Role")
    (role,) = [r for r in roles.values() if "AWSBackupServiceRolePolicyForRestores" in str(r["Properties"].get("ManagedPolicyArns"))]
    assert {"Fn::GetAtt": [next(k for k, v in roles.items() if v is role), "Arn"]} == selection["IamRoleArn"]


def test_staging_backs_up_without_a_lock_a_dr_copy_or_a_restore_test(staging: Synthesis) -> None:
    vault = _one(staging, "Data", "AWS::Backup::BackupVault")["Properties"]
    assert vault["BackupVaultName"] == "contractorlens-staging-backups" and "LockConfiguration" not in vault
    rules = _rules(_plans(staging, "Data")["contractorlens-staging-database"])
    assert not rules["Daily"].get("CopyActions")
    assert not staging.resources("Data", "AWS::Backup::RestoreTestingPlan")


def test_a_backup_account_gets_a_third_copy() -> None:
    cfg = load_environment("production")
    third = "arn:aws:backup:us-west-2:210987654321:backup-vault:contractorlens-copies"
    cfg = cfg.model_copy(update={"backup": cfg.backup.model_copy(update={"backup_account_vault_arn": third})})
    assert [copy.vault_arn for copy in backup_copies(cfg)] == [DR_VAULT_ARN, third]
