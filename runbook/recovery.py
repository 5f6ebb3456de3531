"""Backups and their RPO, and the manual's database restore into the DR region."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from config.dr import RestoreSource
from config.names import DAILY_BACKUP_HOUR_UTC, DB_LOG_EXPORTS
from config.thresholds import RPO_DATABASE_MINUTES, RTO_DATABASE_MINUTES
from runbook.aws import RunbookError, error_code
from runbook.context import Context


def _minutes_since(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    return (datetime.now(UTC) - moment).total_seconds() / 60


def backups(ctx: Context) -> bool:
    """Snapshots and automated backups in the primary region, and in the DR region when the
    environment replicates them there, and the RPO they give now."""
    cfg, names = ctx.cfg, ctx.cfg.names
    ok = True
    summary: dict[str, Any] = {}
    regions = [cfg.region]
    if cfg.database.replicate_backups_to_dr:
        regions.append(cfg.dr_region)
    else:
        ctx.report.say(f"{cfg.dr_region}: not checked, {cfg.name} does not replicate backups there (database.replicate_backups_to_dr)")
    for region in regions:
        snapshots = list(ctx.aws.pages("rds", region, "describe_db_snapshots", "DBSnapshots", DBInstanceIdentifier=names.db_instance))
        snapshots.sort(key=lambda s: s.get("SnapshotCreateTime") or datetime.min.replace(tzinfo=UTC))
        automated = list(
            ctx.aws.pages(
                "rds",
                region,
                "describe_db_instance_automated_backups",
                "DBInstanceAutomatedBackups",
                DBInstanceIdentifier=names.db_instance,
            )
        )
        latest: datetime | None = None
        for backup in automated:
            moment = backup.get("RestoreWindow", {}).get("LatestTime")
            latest = max(latest, moment) if latest and moment else (moment or latest)
        if region == cfg.region:
            try:
                (db,) = ctx.client("rds", region).describe_db_instances(DBInstanceIdentifier=names.db_instance)["DBInstances"]
                latest = db.get("LatestRestorableTime") or latest
            except ClientError as exc:
                if error_code(exc) != "DBInstanceNotFound":
                    raise
        newest = snapshots[-1]["DBSnapshotIdentifier"] if snapshots else None
        ctx.report.say(
            f"{region}: {len(snapshots)} snapshot(s)"
            + (f", newest {newest}" if newest else "")
            + f"; {len(automated)} automated backup(s); latest restorable time {latest or 'none'}"
        )
        rpo = _minutes_since(latest)
        where = "primary" if region == cfg.region else "DR"
        ok = (
            ctx.report.check(
                f"RPO in {region} ({where})",
                rpo is not None and rpo <= RPO_DATABASE_MINUTES,
                f"{rpo:.0f} min behind (the manual: at most {RPO_DATABASE_MINUTES})"
                if rpo is not None
                else "no restorable time: no automated backups here",
            )
            and ok
        )
        summary[region] = {
            "snapshots": [s["DBSnapshotIdentifier"] for s in snapshots],
            "automated_backups": [b.get("DBInstanceAutomatedBackupsArn") for b in automated],
            "latest_restorable_time": latest,
            "rpo_minutes": None if rpo is None else round(rpo, 1),
        }
    ctx.report.data["backups"] = summary
    return aws_backup(ctx) and ok


# A daily recovery point is started within an hour of DAILY_BACKUP_HOUR_UTC and may take eight to complete;
# older than this, a day was missed.
DAILY_RECOVERY_POINT_HOURS = 26
# The restore test runs monthly; older than this, a month was missed.
RESTORE_TEST_DAYS = 35


def aws_backup(ctx: Context) -> bool:
    """AWS Backup: each vault's lock and newest recovery point, and the last monthly restore
    test with the time it took, against the manual's database RTO."""
    cfg, names = ctx.cfg, ctx.cfg.names
    if not cfg.backup.enabled:
        ctx.report.say(f"AWS Backup: off in {cfg.name} (backup.enabled = false)")
        return True
    vaults = [(cfg.region, names.backup_vault)]
    if cfg.needs_dr_foundation:
        vaults.append((cfg.dr_region, names.dr_backup_vault))
    ok = True
    summary: dict[str, Any] = {}
    for region, vault in vaults:
        ok = _vault(ctx, region, vault, summary) and ok
    if cfg.backup.restore_testing:
        ok = restore_test(ctx, summary) and ok
    ctx.report.data["aws_backup"] = summary
    return ok


def _vault(ctx: Context, region: str, vault: str, summary: dict[str, Any]) -> bool:
    backup = ctx.client("backup", region)
    try:
        described = backup.describe_backup_vault(BackupVaultName=vault)
    except ClientError as exc:
        if error_code(exc) not in ("ResourceNotFoundException", "AccessDeniedException"):
            raise
        return ctx.report.check(f"vault {vault} ({region})", False, "not found: deploy the stack that makes it (README: Backups)")
    locked = bool(described.get("Locked"))
    lock = (
        f"locked, retention {described.get('MinRetentionDays')} to {described.get('MaxRetentionDays')} days, "
        f"immutable from {described['LockDate']:%Y-%m-%d %H:%M} UTC"
        if locked and described.get("LockDate")
        else "not locked"
    )
    ok = ctx.report.check(f"vault {vault} ({region}) lock", locked or not ctx.cfg.backup.vault_lock, lock)
    points = list(ctx.aws.pages("backup", region, "list_recovery_points_by_backup_vault", "RecoveryPoints", BackupVaultName=vault))
    newest = max((p["CreationDate"] for p in points if p.get("CreationDate")), default=None)
    newest_minutes = _minutes_since(newest)
    age_hours = None if newest_minutes is None else newest_minutes / 60
    vault_age_hours = (_minutes_since(described["CreationDate"]) or 0) / 60
    if age_hours is None and vault_age_hours < DAILY_RECOVERY_POINT_HOURS:
        ctx.report.say(
            f"  vault {vault} ({region}): no recovery point yet; the first daily backup starts at {DAILY_BACKUP_HOUR_UTC:02d}:00 UTC"
        )
    else:
        ok = (
            ctx.report.check(
                f"vault {vault} ({region}) recovery points",
                age_hours is not None and age_hours <= DAILY_RECOVERY_POINT_HOURS,
                f"{len(points)}, newest {age_hours:.0f} h old (a daily one is due every 24 h)"
                if age_hours is not None
                else f"none, in a vault {vault_age_hours:.0f} h old: the daily backup is not running (aws backup list-backup-jobs)",
            )
            and ok
        )
    summary[vault] = {"region": region, "locked": locked, "recovery_points": len(points), "newest": newest}
    return ok


def restore_test(ctx: Context, summary: dict[str, Any]) -> bool:
    """The last run of the monthly restore testing plan, and how long its restore took."""
    name = ctx.cfg.names.restore_testing_plan
    backup = ctx.client("backup", ctx.cfg.region)
    try:
        plan = backup.get_restore_testing_plan(RestoreTestingPlanName=name)["RestoreTestingPlan"]
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        return ctx.report.check("restore test", False, f"no restore testing plan {name}: deploy the Data stack")
    jobs = list(
        ctx.aws.pages("backup", ctx.cfg.region, "list_restore_jobs", "RestoreJobs", ByRestoreTestingPlanArn=plan["RestoreTestingPlanArn"])
    )
    if not jobs:
        ctx.report.say(f"  restore test: none has run yet ({name} runs on {plan.get('ScheduleExpression', 'its schedule')})")
        summary["restore_test"] = None
        return True
    last = max(jobs, key=lambda job: job["CreationDate"])
    started, completed, status = last["CreationDate"], last.get("CompletionDate"), last.get("Status", "")
    minutes = None if completed is None else (completed - started).total_seconds() / 60
    took = (
        f"restored in {minutes:.0f} min (the manual's database RTO: {RTO_DATABASE_MINUTES} min)" if minutes is not None else "not finished"
    )
    age_days = (_minutes_since(started) or 0) / (24 * 60)
    summary["restore_test"] = {"started": started, "status": status, "minutes": None if minutes is None else round(minutes, 1)}
    return ctx.report.check(
        "last restore test",
        status == "COMPLETED" and minutes is not None and minutes <= RTO_DATABASE_MINUTES and age_days <= RESTORE_TEST_DAYS,
        f"{started:%Y-%m-%d %H:%M} UTC, {status}, {took}"
        + (f"; {age_days:.0f} days ago, the monthly test has stopped" if age_days > RESTORE_TEST_DAYS else "")
        + (f"; {last.get('StatusMessage')}" if last.get("StatusMessage") else ""),
    )


def replicated_backups(ctx: Context) -> dict[str, Any]:
    """The automated backups the current `contractorlens-db` replicates into the DR region: found by
    its DbiResourceId (which the Data stack writes there), not its name, which would also find
    backups kept from an earlier instance of that name; the one replicating, at the latest time."""
    cfg, names = ctx.cfg, ctx.cfg.names
    region, parameter = cfg.dr_region, names.db_resource_id_parameter
    try:
        resource_id = ctx.client("ssm", region).get_parameter(Name=parameter)["Parameter"]["Value"]
    except ClientError as exc:
        if error_code(exc) != "ParameterNotFound":
            raise
        raise RunbookError(
            f"no {parameter} in {region}: the Data stack writes it when database.replicate_backups_to_dr is on; "
            "deploy it, or restore from a snapshot there instead (--snapshot)"
        ) from None
    found = [
        b
        for b in ctx.aws.pages(
            "rds", region, "describe_db_instance_automated_backups", "DBInstanceAutomatedBackups", DbiResourceId=resource_id
        )
        if b.get("Status") == "replicating"
    ]
    if not found:
        raise RunbookError(
            f"no automated backups of {names.db_instance} ({resource_id}) replicating to {region}; "
            "restore from a snapshot there instead (--snapshot)"
        )
    return max(found, key=lambda b: b.get("RestoreWindow", {}).get("LatestTime") or datetime.min.replace(tzinfo=UTC))


def dr_restore(ctx: Context, source: RestoreSource) -> bool:
    """The manual's `restore-db-instance-from-db-snapshot --db-instance-identifier contractorlens-db-restored`,
    in the DR region, from its snapshots or replicated backups. Never touches an existing instance."""
    cfg, names = ctx.cfg, ctx.cfg.names
    region, target = cfg.dr_region, names.db_restored_instance
    rds = ctx.client("rds", region)
    try:
        rds.describe_db_instances(DBInstanceIdentifier=target)
    except ClientError as exc:
        if error_code(exc) != "DBInstanceNotFound":
            raise
    else:
        raise RunbookError(f"{target} already exists in {region}; dr-restore never overwrites it. Delete it first, or restore elsewhere")

    groups = ctx.client("ec2", region).describe_security_groups(
        Filters=[
            {"Name": "group-name", "Values": [names.security_group("db")]},
            {"Name": "tag:aws:cloudformation:stack-name", "Values": [names.stack("DR")]},
        ]
    )["SecurityGroups"]
    if not groups:
        raise RunbookError(f"no {names.security_group('db')} of stack {names.stack('DR')} in {region}: deploy the DR stack (standby) first")
    placement = {
        "DBSubnetGroupName": names.dr_db_subnet_group,
        "VpcSecurityGroupIds": [groups[0]["GroupId"]],
        "DBParameterGroupName": names.dr_db_parameter_group,
        "DBInstanceClass": f"db.{cfg.database.instance_type}",
        "MultiAZ": cfg.database.multi_az,
        "PubliclyAccessible": False,
        "DeletionProtection": True,
        "CopyTagsToSnapshot": True,
        "EnableIAMDatabaseAuthentication": True,
        "EnableCloudwatchLogsExports": list(DB_LOG_EXPORTS),
        "Tags": [{"Key": "Project", "Value": "ContractorLens"}, {"Key": "Environment", "Value": cfg.name}],
    }
    started = time.monotonic()
    if source.kind == "snapshot":
        ctx.report.say(f"restoring {target} in {region} from snapshot {source.value} ...")
        rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier=target, DBSnapshotIdentifier=source.value, **placement)
    else:
        backups = replicated_backups(ctx)
        moment = (
            {"UseLatestRestorableTime": True}
            if source.kind == "latest"
            else {"RestoreTime": datetime.strptime(source.value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)}
        )
        when = "the latest restorable time" if source.kind == "latest" else source.value
        ctx.report.say(f"restoring {target} in {region} from the replicated backups at {when} ...")
        rds.restore_db_instance_to_point_in_time(
            SourceDBInstanceAutomatedBackupsArn=backups["DBInstanceAutomatedBackupsArn"],
            TargetDBInstanceIdentifier=target,
            **moment,
            **placement,
        )
    ctx.report.say(f"waiting for {target} to be available (up to {ctx.wait.timeout_minutes} min) ...")
    rds.get_waiter("db_instance_available").wait(DBInstanceIdentifier=target, WaiterConfig=ctx.wait.waiter_config)
    (db,) = rds.describe_db_instances(DBInstanceIdentifier=target)["DBInstances"]
    minutes = (time.monotonic() - started) / 60
    endpoint = db.get("Endpoint", {}).get("Address", "(no endpoint yet)")
    ctx.report.data["restore"] = {"instance": target, "region": region, "endpoint": endpoint, "minutes": round(minutes, 1)}
    # RDS does not manage the copy's password: it keeps the one its source had, which the master
    # secret's replica holds, and the DR stack may adopt the copy as failback's source (README:
    # Database credentials).
    opened_by = f"master password: the backups' own, in {names.db_master_secret} ({region})"
    return ctx.report.check("dr-restore", True, f"{target} available at {endpoint} after {minutes:.1f} min; {opened_by}")
