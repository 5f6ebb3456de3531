"""backups and dr-restore against moto (and stubbed answers where moto has no RestoreWindow)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from config import load_environment
from runbook import recovery
from runbook.aws import Aws, WaitPolicy
from runbook.context import Context
from runbook.report import Report
from tests.runbook.conftest import DR, FAST, PRIMARY, World


def _stub_dr_backups(aws: Aws, latest: datetime) -> Stubber:
    """The DR region's replicated backups as RDS describes them (moto has no RestoreWindow)."""
    stubber = Stubber(aws.client("rds", DR))
    stubber.add_response("describe_db_snapshots", {"DBSnapshots": []}, {"DBInstanceIdentifier": "contractorlens-db"})
    stubber.add_response(
        "describe_db_instance_automated_backups",
        {
            "DBInstanceAutomatedBackups": [
                {
                    "DBInstanceAutomatedBackupsArn": "arn:aws:rds:us-east-1:123456789012:auto-backup:ab-abcdefghijklmnop",
                    "DBInstanceIdentifier": "contractorlens-db",
                    "Region": PRIMARY,
                    "RestoreWindow": {"EarliestTime": latest - timedelta(days=14), "LatestTime": latest},
                }
            ]
        },
        {"DBInstanceIdentifier": "contractorlens-db"},
    )
    stubber.activate()
    return stubber


VAULT_ARN = "arn:aws:backup:{region}:123456789012:backup-vault:{name}"
PLAN_ARN = "arn:aws:backup:us-west-2:123456789012:restore-testing-plan:contractorlens_monthly_restore_test-0a1b2c3d"


def _stub_aws_backup(
    aws: Aws,
    *,
    env: str = "production",
    locked: bool = True,
    newest_hours: float | None = 3,
    vault_hours: float = 24 * 90,
    restore_jobs: list[dict[str, object]] | None = None,
    missing_vault: bool = False,
) -> list[Stubber]:
    """AWS Backup as the stacks leave it, answered at the API boundary: moto has no
    ListRecoveryPointsByBackupVault, GetRestoreTestingPlan or ListRestoreJobs."""
    cfg = load_environment(env)
    now = datetime.now(UTC)
    vaults = [(PRIMARY, cfg.names.backup_vault)] + ([(DR, cfg.names.dr_backup_vault)] if cfg.needs_dr_foundation else [])
    stubbers = {region: Stubber(aws.client("backup", region)) for region, _ in vaults}
    for region, name in vaults:
        stubber = stubbers[region]
        if missing_vault:
            stubber.add_client_error("describe_backup_vault", "ResourceNotFoundException", f"Backup vault {name} not found")
            continue
        vault: dict[str, object] = {
            "BackupVaultName": name,
            "BackupVaultArn": VAULT_ARN.format(region=region, name=name),
            "CreationDate": now - timedelta(hours=vault_hours),
            "Locked": locked,
        }
        if locked:
            vault.update(MinRetentionDays=7, MaxRetentionDays=365, LockDate=now - timedelta(hours=vault_hours - 72))
        stubber.add_response("describe_backup_vault", vault, {"BackupVaultName": name})
        points = (
            [] if newest_hours is None else [{"RecoveryPointArn": f"{name}-point", "CreationDate": now - timedelta(hours=newest_hours)}]
        )
        stubber.add_response("list_recovery_points_by_backup_vault", {"RecoveryPoints": points}, {"BackupVaultName": name})
    if cfg.backup.restore_testing and missing_vault:
        stubbers[PRIMARY].add_client_error("get_restore_testing_plan", "ResourceNotFoundException", "not found")
    elif cfg.backup.restore_testing:
        plan = {
            "RestoreTestingPlanName": cfg.names.restore_testing_plan,
            "RestoreTestingPlanArn": PLAN_ARN,
            "CreationTime": now - timedelta(days=90),
            "ScheduleExpression": "cron(0 6 ? * 3#1 *)",
            "RecoveryPointSelection": {"Algorithm": "LATEST_WITHIN_WINDOW", "IncludeVaults": ["*"], "RecoveryPointTypes": ["SNAPSHOT"]},
        }
        stubbers[PRIMARY].add_response(
            "get_restore_testing_plan", {"RestoreTestingPlan": plan}, {"RestoreTestingPlanName": cfg.names.restore_testing_plan}
        )
        stubbers[PRIMARY].add_response("list_restore_jobs", {"RestoreJobs": restore_jobs or []}, {"ByRestoreTestingPlanArn": PLAN_ARN})
    for stubber in stubbers.values():
        stubber.activate()
    return list(stubbers.values())


def _restore_job(*, days_ago: float, minutes: float | None, status: str = "COMPLETED", message: str = "") -> dict[str, object]:
    started = datetime.now(UTC) - timedelta(days=days_ago)
    job: dict[str, object] = {"RestoreJobId": "job-1", "CreationDate": started, "Status": status}
    if minutes is not None:
        job["CompletionDate"] = started + timedelta(minutes=minutes)
    if message:
        job["StatusMessage"] = message
    return job


def test_backups_report_both_regions_and_the_rpo(world: World, run) -> None:
    boto3.client("rds", region_name=PRIMARY).create_db_snapshot(
        DBInstanceIdentifier="contractorlens-db", DBSnapshotIdentifier="contractorlens-db-snapshot-20261127"
    )
    aws = Aws()
    stubber = _stub_dr_backups(aws, datetime.now(UTC) - timedelta(minutes=6))
    _stub_aws_backup(aws)
    result = run("backups", "--json", *FAST, aws=aws)
    stubber.assert_no_pending_responses()
    assert result.code == 0, result.out + result.err
    document = json.loads(result.out)
    primary, dr = document["data"]["backups"][PRIMARY], document["data"]["backups"][DR]
    assert "contractorlens-db-snapshot-20261127" in primary["snapshots"]
    assert primary["rpo_minutes"] < 15
    assert 5 < dr["rpo_minutes"] < 15


def test_a_dr_copy_older_than_15_minutes_fails_the_rpo(world: World, run) -> None:
    aws = Aws()
    _stub_dr_backups(aws, datetime.now(UTC) - timedelta(minutes=40))
    _stub_aws_backup(aws)
    result = run("backups", *FAST, aws=aws)
    assert result.code == 1
    assert f"FAIL  RPO in {DR} (DR): 40 min behind (the manual: at most 15)" in result.out


def test_no_replicated_backups_fails_the_dr_rpo(world: World, run) -> None:
    aws = Aws()
    _stub_aws_backup(aws)
    result = run("backups", *FAST, aws=aws)
    assert result.code == 1
    assert f"FAIL  RPO in {DR} (DR): no restorable time" in result.out


def test_an_environment_without_replication_is_checked_in_its_own_region_only(aws: None, run) -> None:
    """Staging keeps its backups in us-west-2 (database.replicate_backups_to_dr = false): its
    DR region has none to count, and that is not a failed RPO."""
    boto3.client("rds", region_name=PRIMARY).create_db_instance(
        DBInstanceIdentifier="contractorlens-staging-db",
        DBInstanceClass="db.t4g.medium",
        Engine="postgres",
        MasterUsername="contractorlens_admin",
        MasterUserPassword="not-a-real-password-1",
        AllocatedStorage=20,
    )
    aws = Aws()
    stubbers = _stub_aws_backup(aws, env="staging", locked=False)
    result = run("backups", "--env", "staging", "--json", *FAST, aws=aws)
    assert result.code == 0, result.out + result.err
    assert set(json.loads(result.out)["data"]["backups"]) == {PRIMARY}
    # Staging's one vault, unlocked by its config and still passing; no restore test to read.
    assert json.loads(result.out)["data"]["aws_backup"]["contractorlens-staging-backups"]["locked"] is False
    for stubber in stubbers:
        stubber.assert_no_pending_responses()


def _aws_backup_only(run, aws: Aws) -> tuple[int, str, dict[str, object]]:
    """`backups` with the RDS side healthy, so that only AWS Backup decides the result."""
    _stub_dr_backups(aws, datetime.now(UTC) - timedelta(minutes=6))
    result = run("backups", "--json", *FAST, aws=aws)
    document = json.loads(result.out)
    failed = "; ".join(f"{c['name']}: {c['detail']}" for c in document["checks"] if not c["ok"])
    return result.code, failed, document["data"].get("aws_backup", {})


def test_aws_backup_reports_the_locked_vaults_and_the_last_restore_test_with_its_time(world: World, run) -> None:
    aws = Aws()
    stubbers = _stub_aws_backup(aws, restore_jobs=[_restore_job(days_ago=40, minutes=20), _restore_job(days_ago=12, minutes=37)])
    code, failed, data = _aws_backup_only(run, aws)
    assert (code, failed) == (0, "")
    assert data["contractorlens-backups"]["locked"] and data["contractorlens-backups-dr"]["locked"]
    assert data["restore_test"]["minutes"] == 37  # the newest job, timed from start to completion
    for stubber in stubbers:
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("state", "words"),
    [
        ({"locked": False}, "vault contractorlens-backups (us-west-2) lock: not locked"),
        ({"newest_hours": 30}, "recovery points: 1, newest 30 h old"),
        ({"newest_hours": None}, "none, in a vault 2160 h old: the daily backup is not running"),
        ({"restore_jobs": [_restore_job(days_ago=3, minutes=150)]}, "restored in 150 min (the manual's database RTO: 120 min)"),
        ({"restore_jobs": [_restore_job(days_ago=50, minutes=30)]}, "50 days ago, the monthly test has stopped"),
        (
            {"restore_jobs": [_restore_job(days_ago=3, minutes=None, status="FAILED", message="DBSubnetGroupNotFoundFault")]},
            "FAILED, not finished; DBSubnetGroupNotFoundFault",
        ),
        ({"missing_vault": True}, "vault contractorlens-backups (us-west-2): not found"),
    ],
)
def test_aws_backup_fails_with_the_reason(world: World, run, state: dict[str, object], words: str) -> None:
    aws = Aws()
    _stub_aws_backup(aws, **state)  # type: ignore[arg-type]
    code, failed, _ = _aws_backup_only(run, aws)
    assert code == 1 and words in failed, failed


def test_a_new_vault_without_recovery_points_and_no_restore_test_yet_pass(world: World, run, capsys) -> None:
    aws = Aws()
    _stub_aws_backup(aws, newest_hours=None, vault_hours=5)
    _stub_dr_backups(aws, datetime.now(UTC) - timedelta(minutes=6))
    result = run("backups", *FAST, aws=aws)
    assert result.code == 0, result.out
    assert "no recovery point yet; the first daily backup starts at 05:00 UTC" in result.out
    assert "restore test: none has run yet" in result.out


@pytest.fixture
def dr_standby(world: World) -> str:
    """What the DR stack leaves in us-east-1 in standby, and a snapshot copied there."""
    ec2, rds = boto3.client("ec2", region_name=DR), boto3.client("rds", region_name=DR)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")["Subnet"]["SubnetId"]
        for i, zone in enumerate("ab")
    ]
    group = ec2.create_security_group(
        GroupName="contractorlens-db-sg",
        Description="db",
        VpcId=vpc,
        TagSpecifications=[
            {"ResourceType": "security-group", "Tags": [{"Key": "aws:cloudformation:stack-name", "Value": "ContractorLens-Production-DR"}]}
        ],
    )["GroupId"]
    rds.create_db_subnet_group(DBSubnetGroupName="contractorlens-db-restored", DBSubnetGroupDescription="dr", SubnetIds=subnets)
    rds.create_db_parameter_group(DBParameterGroupName="contractorlens-db-restored", DBParameterGroupFamily="postgres15", Description="dr")
    rds.create_db_instance(
        DBInstanceIdentifier="snapshot-source",
        DBInstanceClass="db.m7g.large",
        Engine="postgres",
        MasterUsername="contractorlens_admin",
        MasterUserPassword="not-a-real-password-1",
        AllocatedStorage=100,
    )
    rds.create_db_snapshot(DBInstanceIdentifier="snapshot-source", DBSnapshotIdentifier="contractorlens-db-snapshot-20261127")
    return group


def test_dr_restore_from_a_snapshot(dr_standby: str, run) -> None:
    result = run("dr-restore", "--snapshot", "contractorlens-db-snapshot-20261127", "--json", *FAST)
    assert result.code == 0, result.out + result.err
    restore = json.loads(result.out)["data"]["restore"]
    assert restore["instance"] == "contractorlens-db-restored" and restore["region"] == DR
    (db,) = boto3.client("rds", region_name=DR).describe_db_instances(DBInstanceIdentifier="contractorlens-db-restored")["DBInstances"]
    assert db["DBSubnetGroup"]["DBSubnetGroupName"] == "contractorlens-db-restored"
    assert [g["VpcSecurityGroupId"] for g in db["VpcSecurityGroups"]] == [dr_standby]
    assert db["DeletionProtection"] is True
    assert restore["endpoint"] == db["Endpoint"]["Address"]
    # The source's password, which the master secret's replica opens: RDS may not manage it on an
    # instance failback could make a read replica of.
    assert "MasterUserSecret" not in db
    assert "master password: the backups' own, in contractorlens/db-master (us-east-1)" in result.out


def test_dr_restore_never_touches_an_existing_instance(dr_standby: str, run) -> None:
    assert run("dr-restore", "--snapshot", "contractorlens-db-snapshot-20261127", *FAST).code == 0
    result = run("dr-restore", "--snapshot", "contractorlens-db-snapshot-20261127", *FAST)
    assert result.code == 2 and "already exists in us-east-1" in result.err and "never overwrites" in result.err


def test_dr_restore_latest_needs_the_primarys_resource_id_in_the_dr_region(dr_standby: str, run) -> None:
    result = run("dr-restore", "--latest", *FAST)
    assert result.code == 2 and "no /contractorlens/production/dr/db-resource-id in us-east-1" in result.err


def test_dr_restore_latest_needs_replicated_backups(dr_standby: str, run) -> None:
    boto3.client("ssm", region_name=DR).put_parameter(
        Name="/contractorlens/production/dr/db-resource-id", Value="db-CURRENT", Type="String"
    )
    result = run("dr-restore", "--latest", *FAST)
    assert result.code == 2 and "no automated backups of contractorlens-db (db-CURRENT) replicating to us-east-1" in result.err


def test_the_replicated_backups_are_the_current_instances_by_resource_id(world: World) -> None:
    """Backups kept from an earlier contractorlens-db carry the same name: the resource id and the
    status tell them apart, and of what is left the latest restorable time wins."""
    boto3.client("ssm", region_name=DR).put_parameter(
        Name="/contractorlens/production/dr/db-resource-id", Value="db-CURRENT", Type="String"
    )
    ctx = Context(
        cfg=load_environment("production"), aws=Aws(), report=Report("dr-restore", "production"), wait=WaitPolicy(1, 1), region=PRIMARY
    )
    now = datetime.now(UTC)

    def backup(arn: str, status: str, latest: datetime) -> dict[str, object]:
        return {
            "DBInstanceAutomatedBackupsArn": f"arn:aws:rds:us-east-1:123456789012:auto-backup:{arn}",
            "DBInstanceIdentifier": "contractorlens-db",
            "Status": status,
            "RestoreWindow": {"EarliestTime": latest - timedelta(days=1), "LatestTime": latest},
        }

    stubber = Stubber(ctx.aws.client("rds", DR))
    stubber.add_response(
        "describe_db_instance_automated_backups",
        {
            "DBInstanceAutomatedBackups": [
                backup("ab-retained", "retained", now),
                backup("ab-current", "replicating", now - timedelta(minutes=5)),
            ]
        },
        {"DbiResourceId": "db-CURRENT"},
    )
    with stubber:
        found = recovery.replicated_backups(ctx)
    assert found["DBInstanceAutomatedBackupsArn"].endswith("ab-current")


def test_dr_restore_needs_the_dr_stack(world: World, run) -> None:
    result = run("dr-restore", "--latest", *FAST)
    assert result.code == 2 and "deploy the DR stack (standby) first" in result.err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--time", "2026-11-27 18:00"], "UTC time"),
        (["--snapshot", "arn:aws:rds:us-west-2:123456789012:snapshot:contractorlens-db-snapshot-1"], "copy-db-snapshot"),
    ],
)
def test_dr_restore_rejects_a_bad_source_in_one_line(world: World, run, argv: list[str], words: str) -> None:
    result = run("dr-restore", *argv, *FAST)
    assert result.code == 2 and words in result.err and result.err.count("\n") == 1
