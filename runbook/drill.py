"""The DR stack from standby to active and back, drill after drill (README: Disaster recovery).

The stack says what it is in its outputs (Mode, DatabaseInstance, RestoreSource), so each
command reads where it is and does only what is left: run again after a failure or Ctrl-C, it
picks up from there.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from config.dr import RestoreSource
from config.names import DR_DATABASE_IDS
from runbook import checks
from runbook.aws import RunbookError, error_code
from runbook.checks import wait_until_stable
from runbook.context import Context
from runbook.service import Runner, cdk_deploy, run_command

# Where a stack can be switched from: anything else is still moving, or stuck.
SETTLED = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")


@dataclass(frozen=True)
class DrState:
    mode: str
    """standby, active, released, or absent (no DR stack yet)."""
    database: str
    """The DR database's identifier, or "none"."""
    restore: str | None = None
    """Backups mode, active: what the database was restored from (`-c dr-restore` form)."""


def dr_state(ctx: Context, *, resumable: bool = False) -> DrState:
    """The DR stack's mode, from its outputs. With `resumable`, a stack that an activation left
    UPDATE_FAILED (it runs with rollback disabled) counts as settled: the activation goes on."""
    cfg = ctx.cfg
    name = cfg.names.stack("DR")
    try:
        (stack,) = ctx.client("cloudformation", cfg.dr_region).describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if error_code(exc) == "ValidationError" and "does not exist" in str(exc):
            return DrState("absent", "none")
        raise
    status = stack["StackStatus"]
    if status == "UPDATE_FAILED" and not resumable:
        raise RunbookError(
            f"{name} is UPDATE_FAILED: an activation stopped half-way; run ./scripts/deploy.sh dr-activate --env {cfg.name} "
            "again to finish it (it resumes), then this command"
        )
    if status == "UPDATE_ROLLBACK_FAILED":
        raise RunbookError(
            f"{name} is UPDATE_ROLLBACK_FAILED: an activation deployed without --no-rollback promoted the replica and cannot "
            f"undo that; skip it in the rollback (aws cloudformation continue-update-rollback --stack-name {name} --region "
            f"{cfg.dr_region} --resources-to-skip {DR_DATABASE_IDS[cfg.dr.database]}), then ./scripts/deploy.sh dr-standby --env {cfg.name} "
            "(it snapshots the promoted database and makes a new replica; README: DR drill)"
        )
    if status not in SETTLED and not (resumable and status == "UPDATE_FAILED"):
        raise RunbookError(
            f"{name} is {status}: wait until it settles, or read its events "
            f"(aws cloudformation describe-stack-events --stack-name {name} --region {cfg.dr_region})"
        )
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return DrState(outputs.get("Mode", "standby"), outputs.get("DatabaseInstance", "none"), outputs.get("RestoreSource"))


def require_dr_stack(ctx: Context, *, resumable: bool = False) -> DrState:
    cfg = ctx.cfg
    if not cfg.dr.enabled:
        raise RunbookError(f"{cfg.name} has no DR stack (dr.enabled = false in {cfg.source})")
    state = dr_state(ctx, resumable=resumable)
    if state.mode == "absent":
        raise RunbookError(
            f"no {cfg.names.stack('DR')} in {cfg.dr_region}: deploy it in standby first "
            f"(npx cdk deploy {cfg.names.stack('DR')} -c env={cfg.name})"
        )
    return state


def _standby_database(ctx: Context) -> str:
    """What the DR stack's DatabaseInstance output says in standby: the replica, or none."""
    return ctx.cfg.dr_db_instance if ctx.cfg.dr.database == "replica" else "none"


def _deploy(ctx: Context, mode: str, restore: str | None, run: Runner) -> None:
    # An activation is not rolled back: a promotion cannot be undone (the rollback would fail), and
    # in an outage half a DR region is better than none. Run again, it resumes where it stopped.
    context = [f"dr-mode={mode}", *([f"dr-restore={restore}"] if restore else [])]
    cdk_deploy(ctx, ["DR"], run, context=context, no_rollback=mode == "active")
    ctx.report.check(f"DR stack {mode}", True, ctx.cfg.names.stack("DR"))


MOVE_TRAFFIC = "--move-traffic"
"""dr-activate's flag for a drill that sends real users to the DR copy (README: DR drill)."""


def health_check_id(ctx: Context) -> str | None:
    """The primary's Route 53 health check, which the DR stack's failover records follow."""
    cfg = ctx.cfg
    try:
        return str(ctx.client("ssm", cfg.dr_region).get_parameter(Name=cfg.names.health_check_parameter)["Parameter"]["Value"])
    except ClientError as exc:
        if error_code(exc) != "ParameterNotFound":
            raise
        return None


def health_check_inverted(ctx: Context, check_id: str | None) -> bool | None:
    if check_id is None:
        return None
    check = ctx.client("route53", "us-east-1").get_health_check(HealthCheckId=check_id)["HealthCheck"]
    return bool(check["HealthCheckConfig"].get("Inverted", False))


def _last_drill(ctx: Context) -> dict[str, object]:
    try:
        value = ctx.client("ssm", ctx.cfg.region).get_parameter(Name=_drill_parameter(ctx))["Parameter"]["Value"]
    except ClientError as exc:
        if error_code(exc) != "ParameterNotFound":
            raise
        return {}
    found: dict[str, object] = json.loads(value)
    return found


def _drill_parameter(ctx: Context) -> str:
    return f"{ctx.cfg.names.parameter_prefix}/runbook/last-drill"


def real_writes(ctx: Context) -> str | None:
    """Why the active DR copy may hold real users' writes, or None: DNS is held on the DR region (the
    primary's health check inverted), or the activation moved traffic there (--move-traffic)."""
    if health_check_inverted(ctx, health_check_id(ctx)):
        return "the primary's health check is inverted: DNS sends real users to the DR region"
    drill = _last_drill(ctx)
    if drill.get("moved_traffic"):
        return f"the activation of {drill.get('at')} moved real users to the DR region ({MOVE_TRAFFIC})"
    return None


def dr_activate(
    ctx: Context, *, restore: RestoreSource | None, url: str | None = None, move_traffic: bool = False, run: Runner = run_command
) -> bool:
    """`./scripts/deploy.sh dr-activate`: promote the replica (or restore the backups), run the
    service at the production floor in the DR region, and check the DR copy through its own load
    balancer. DNS is left alone unless `move_traffic`: then the primary's health check is inverted
    and real users go to the DR copy, whose writes only `failback` brings back."""
    cfg = ctx.cfg
    check_id = health_check_id(ctx) if move_traffic else None
    if move_traffic and check_id is None:
        raise RunbookError(f"{MOVE_TRAFFIC}: no primary health check found through {cfg.names.health_check_parameter} in {cfg.dr_region}")
    replica = cfg.dr.database == "replica"
    if replica and restore is not None:
        raise RunbookError(f'dr.database is "replica" in {cfg.source}: activation promotes the replica; drop --latest/--snapshot/--time')
    state = require_dr_stack(ctx, resumable=True)
    wanted = None if replica else (restore or RestoreSource("latest")).context_value
    if state.mode == "standby" and state.database != _standby_database(ctx):
        raise RunbookError(
            f"the standby holds {state.database}, but dr.database is {cfg.dr.database!r} in {cfg.source}: put the standby in "
            f"that mode first (./scripts/deploy.sh dr-standby --env {cfg.name}), then activate"
        )
    if replica and state.mode == "standby" and _promoted_outside(ctx, state.database):
        raise RunbookError(
            f"{state.database} is no longer a replica though {cfg.names.stack('DR')} says standby (an activation was rolled "
            f"back with it skipped): run ./scripts/deploy.sh dr-standby --env {cfg.name} first, which snapshots it and makes a new replica"
        )
    if replica and state.mode == "released":
        raise RunbookError(
            f"{cfg.names.stack('DR')} is released: it has no replica to promote until it is back in standby "
            f"(./scripts/deploy.sh dr-standby --env {cfg.name})"
        )
    if state.mode == "active" and state.restore and wanted and state.restore != wanted:
        raise RunbookError(
            f"the DR database was restored from {state.restore}, and CloudFormation cannot restore it again from {wanted}: "
            f"go back to standby first (./scripts/deploy.sh dr-standby --env {cfg.name}, which snapshots it), "
            "then dr-activate with the new source"
        )
    if not replica and state.mode != "active":
        _restore_not_in_the_way(ctx)
    ctx.report.say(f"[1/3] {cfg.names.stack('DR')} to active" + (f" ({wanted})" if wanted else f": promote {cfg.dr_db_instance}"))
    started = datetime.now(UTC)
    _deploy(ctx, "active", wanted, run)
    ctx.report.say("[2/3] the service in the DR region")
    wait_until_stable(dataclasses.replace(ctx, region=cfg.dr_region))
    _record_drill(ctx, started, restore=wanted, moved_traffic=move_traffic)
    ctx.report.say("[3/3] the DR copy, through its own load balancer")
    healthy = checks.check_service_http(dataclasses.replace(ctx, region=cfg.dr_region), url)
    if not move_traffic:
        return ctx.report.check(
            "dr-activate",
            healthy,
            f"{cfg.dr_db_instance} serves in {cfg.dr_region}; DNS unchanged: real users stay on the primary "
            f"(a drill that moves them: {MOVE_TRAFFIC}); back with ./scripts/deploy.sh dr-standby --env {cfg.name}",
        )
    ctx.client("route53", "us-east-1").update_health_check(HealthCheckId=check_id, Inverted=True)
    return ctx.report.check(
        "dr-activate",
        healthy,
        f"{cfg.dr_db_instance} serves in {cfg.dr_region}, and the primary's health check is inverted: DNS sends real users "
        f"there, and their writes land in {cfg.dr_db_instance}. Come back with ./scripts/deploy.sh failback status --env "
        f"{cfg.name} (dr-standby would throw those writes away, and refuses)",
    )


def _record_drill(ctx: Context, started: datetime, *, restore: str | None, moved_traffic: bool = False) -> None:
    """How long the DR region took to serve: the measured RTO that `checklist quarterly` reads."""
    minutes = (datetime.now(UTC) - started).total_seconds() / 60
    record = {
        "at": started.isoformat(timespec="seconds"),
        "minutes": round(minutes, 1),
        "database": ctx.cfg.dr.database,
        "restore": restore,
        "moved_traffic": moved_traffic,
    }
    parameter = _drill_parameter(ctx)
    ctx.client("ssm", ctx.cfg.region).put_parameter(Name=parameter, Value=json.dumps(record), Type="String", Overwrite=True)
    ctx.report.say(f"  the DR region served {minutes:.1f} min after the activation began; recorded in SSM {parameter}")


def _restore_not_in_the_way(ctx: Context) -> None:
    """Backups mode: the stack restores its database under the manual's name; a restore that
    `dr-restore` made outside it would make the activation fail half-way (AlreadyExists)."""
    cfg = ctx.cfg
    name = cfg.dr_db_instance
    found = ctx.client("rds", cfg.dr_region).describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [name]}])["DBInstances"]
    if found:
        raise RunbookError(
            f"{name} already exists in {cfg.dr_region} outside the DR stack (made by dr-restore), and the activation restores "
            "its own under that name: turn its deletion protection off and delete it with a final snapshot (README: DR drill), "
            "then run dr-activate again (with --snapshot <that snapshot> to serve its data)"
        )


def _promoted_outside(ctx: Context, database: str) -> bool:
    """Replica mode, standby: the stack's replica exists but replicates nothing (promoted by an
    activation that was then rolled back with the database skipped)."""
    if ctx.cfg.dr.database != "replica" or database == "none":
        return False
    found = ctx.client("rds", ctx.cfg.dr_region).describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [database]}])[
        "DBInstances"
    ]
    return bool(found) and not found[0].get("ReadReplicaSourceDBInstanceIdentifier")


def _primary_available(ctx: Context) -> None:
    """A drill leaves the primary serving; after a real failover the DR database holds the data."""
    cfg, names = ctx.cfg, ctx.cfg.names
    db: dict[str, str] = {}
    try:
        (db,) = ctx.client("rds", cfg.region).describe_db_instances(DBInstanceIdentifier=names.db_instance)["DBInstances"]
        status = db["DBInstanceStatus"]
    except ClientError as exc:
        if error_code(exc) != "DBInstanceNotFound":
            raise
        status = "missing"
    if status != "available":
        raise RunbookError(
            f"{names.db_instance} in {cfg.region} is {status}: after a real failover the DR database holds the only "
            f"current data, and going back to standby would leave it behind; fail back instead "
            f"(./scripts/deploy.sh failback status --env {cfg.name})"
        )
    if db.get("ReadReplicaSourceDBInstanceIdentifier"):
        raise RunbookError(
            f"{names.db_instance} in {cfg.region} is a read replica of the DR database: a failback is half-way; "
            f"go on with it (./scripts/deploy.sh failback status --env {cfg.name})"
        )


def _final_snapshot(ctx: Context, instance: str) -> str:
    cfg = ctx.cfg
    snapshot = f"{cfg.names.dr_final_snapshot_prefix}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    rds = ctx.client("rds", cfg.dr_region)
    rds.create_db_snapshot(
        DBInstanceIdentifier=instance,
        DBSnapshotIdentifier=snapshot,
        Tags=[{"Key": "Project", "Value": "ContractorLens"}, {"Key": "Environment", "Value": cfg.name}],
    )
    ctx.report.say(f"  snapshot {snapshot} of {instance} ({cfg.dr_region}) requested; waiting until it is available ...")
    rds.get_waiter("db_snapshot_available").wait(DBSnapshotIdentifier=snapshot, WaiterConfig=ctx.wait.waiter_config)
    ctx.report.check("final snapshot", True, f"{snapshot} in {cfg.dr_region} holds {instance} as the drill left it")
    ctx.report.data["final_snapshot"] = snapshot
    return snapshot


def dr_standby(ctx: Context, *, run: Runner = run_command, failed_back: bool = False) -> bool:
    """`./scripts/deploy.sh dr-standby`: back to standby after a drill. The DR database is
    snapshotted first (the identifier is printed), its deletion protection turned off, and the
    stack lets it go; in replica mode a new replica of the primary is then created. Refused while
    the DR copy may hold real users' writes, unless `failed_back` (failback's finish: the primary
    holds them again)."""
    cfg = ctx.cfg
    state = require_dr_stack(ctx)
    wanted = _standby_database(ctx)
    # A rolled-back activation whose promotion was skipped: the stack says standby, the replica is not one.
    promoted = state.mode == "active" or (state.mode == "standby" and state.database == wanted and _promoted_outside(ctx, wanted))
    if state.mode == "standby" and state.database == wanted and not promoted:
        return ctx.report.check("dr-standby", True, f"{cfg.names.stack('DR')} is in standby already")
    if state.mode == "standby" and state.database != "none" and not promoted:
        # dr.database changed in the config: the standby's replica holds nothing the primary does
        # not, so it is let go without a snapshot.
        ctx.report.say(f"dr.database is {cfg.dr.database!r} in {cfg.source}: {state.database} (a replica) is let go")
        ctx.client("rds", cfg.dr_region).modify_db_instance(
            DBInstanceIdentifier=state.database, DeletionProtection=False, ApplyImmediately=True
        )
    snapshot = None
    if promoted:
        _primary_available(ctx)
        moved = None if failed_back else real_writes(ctx)
        if moved:
            raise RunbookError(
                f"{moved}, so {state.database} holds their writes and going back to standby would throw them away "
                f"(into a snapshot); bring them back with ./scripts/deploy.sh failback status --env {cfg.name}"
            )
        ctx.report.say(f"[1/3] final snapshot of {state.database}")
        snapshot = _final_snapshot(ctx, state.database)
        ctx.report.say(f"[2/3] deletion protection of {state.database} off, so that the stack can let it go")
        ctx.client("rds", cfg.dr_region).modify_db_instance(
            DBInstanceIdentifier=state.database, DeletionProtection=False, ApplyImmediately=True
        )
        if cfg.dr.database == "replica":
            # A promoted instance cannot be a replica again: let it go, then create a new one.
            _deploy(ctx, "released", None, run)
    ctx.report.say("[3/3] standby" + (f": a new replica of {cfg.names.db_instance}" if cfg.dr.database == "replica" else ""))
    _deploy(ctx, "standby", None, run)
    kept = f"; the drill's database is in snapshot {snapshot} ({cfg.dr_region})" if snapshot else ""
    return ctx.report.check("dr-standby", True, f"{cfg.names.stack('DR')} in standby{kept}")
