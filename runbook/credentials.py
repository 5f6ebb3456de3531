"""`./scripts/deploy.sh db-password`: a new master password for a database RDS may not manage.

Read replicas are made of production's database, so RDS may not manage (and rotate) its master
password (README: Database credentials); the Data stack keeps it in its own secret, replicated to
the DR region. This changes it in the order a Secrets Manager rotation function uses, so that no
moment leaves the password nowhere: the new one goes into the secret as `AWSPENDING`, then onto
the instance, then becomes the secret's `AWSCURRENT`. The DR copies take it from their source.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from runbook.aws import RunbookError, error_code
from runbook.context import Context

# What the generated secret excludes (CDK's default for a database secret, which the Data
# template holds): RDS forbids / @ " and space, the rest keeps the password shell-safe.
EXCLUDED_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\"
PASSWORD_LENGTH = 30


def _instance(ctx: Context) -> dict[str, Any]:
    """The primary, when its password is ours to change: it exists, is standalone and RDS does not manage it."""
    cfg, names = ctx.cfg, ctx.cfg.names
    try:
        (db,) = ctx.client("rds", cfg.region).describe_db_instances(DBInstanceIdentifier=names.db_instance)["DBInstances"]
    except ClientError as exc:
        if error_code(exc) == "DBInstanceNotFound":
            raise RunbookError(f"no {names.db_instance} in {cfg.region}: deploy {names.stack('Data')} first") from None
        raise
    if db.get("MasterUserSecret"):
        raise RunbookError(
            f"RDS manages {names.db_instance}'s master password in {cfg.name} and rotates it every 7 days; to rotate it now: "
            f"aws rds modify-db-instance --db-instance-identifier {names.db_instance} --rotate-master-user-password --apply-immediately"
        )
    if db.get("ReadReplicaSourceDBInstanceIdentifier"):
        raise RunbookError(f"{names.db_instance} is a read replica (a failback is under way): change the password on its source")
    if db["DBInstanceStatus"] != "available":
        raise RunbookError(f"{names.db_instance} is {db['DBInstanceStatus']}: wait until it is available")
    return dict(db)


def _current(ctx: Context) -> tuple[str, dict[str, Any]]:
    """(version id, value) of the master secret's AWSCURRENT version."""
    cfg, names = ctx.cfg, ctx.cfg.names
    try:
        found = ctx.client("secretsmanager", cfg.region).get_secret_value(SecretId=names.db_master_secret, VersionStage="AWSCURRENT")
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise RunbookError(f"no secret {names.db_master_secret} in {cfg.region}: deploy {names.stack('Data')} first") from None
        raise
    return str(found["VersionId"]), json.loads(found["SecretString"])


def change_master_password(ctx: Context) -> bool:
    """Change the password; True once the secret's current version holds it and every replica is in sync."""
    cfg, names = ctx.cfg, ctx.cfg.names
    _instance(ctx)
    current_version, value = _current(ctx)
    secrets, rds = ctx.client("secretsmanager", cfg.region), ctx.client("rds", cfg.region)
    password = secrets.get_random_password(PasswordLength=PASSWORD_LENGTH, ExcludeCharacters=EXCLUDED_CHARACTERS)["RandomPassword"]
    pending = secrets.put_secret_value(
        SecretId=names.db_master_secret, SecretString=json.dumps(value | {"password": password}), VersionStages=["AWSPENDING"]
    )["VersionId"]
    ctx.report.say(f"  the new password is in {names.db_master_secret} as AWSPENDING ({pending}); setting it on {names.db_instance} ...")
    rds.modify_db_instance(DBInstanceIdentifier=names.db_instance, MasterUserPassword=password, ApplyImmediately=True)
    try:
        rds.get_waiter("db_instance_available").wait(DBInstanceIdentifier=names.db_instance, WaiterConfig=ctx.wait.waiter_config)
    finally:
        # RDS has the request: whatever happens to the wait (Ctrl-C included), the secret follows it.
        secrets.update_secret_version_stage(
            SecretId=names.db_master_secret, VersionStage="AWSCURRENT", MoveToVersionId=pending, RemoveFromVersionId=current_version
        )
        secrets.update_secret_version_stage(SecretId=names.db_master_secret, VersionStage="AWSPENDING", RemoveFromVersionId=pending)
    return _verify(ctx, pending, password)


def _verify(ctx: Context, pending: str, password: str) -> bool:
    cfg, names = ctx.cfg, ctx.cfg.names
    secrets = ctx.client("secretsmanager", cfg.region)
    version, value = _current(ctx)
    holds = ctx.report.check(
        "master secret", version == pending and value.get("password") == password, f"{names.db_master_secret} AWSCURRENT is {version}"
    )
    (db,) = ctx.client("rds", cfg.region).describe_db_instances(DBInstanceIdentifier=names.db_instance)["DBInstances"]
    waiting = "MasterUserPassword" in db.get("PendingModifiedValues", {})
    applied = ctx.report.check(
        "database", db["DBInstanceStatus"] == "available" and not waiting, f"{names.db_instance} {db['DBInstanceStatus']}"
    )
    replicas = secrets.describe_secret(SecretId=names.db_master_secret).get("ReplicationStatus", [])
    behind = [f"{r['Region']}: {r.get('Status')}" for r in replicas if r.get("Status") != "InSync"]
    synced = ctx.report.check(
        "replicas",
        not behind,
        ", ".join(f"{r['Region']} {r.get('Status')}" for r in replicas) or "none (no DR region)"
        if not behind
        else f"not in sync: {', '.join(behind)}",
    )
    ctx.report.now = f"{names.db_instance}'s master password is the one in {names.db_master_secret} (version {version})"
    return holds and applied and synced
