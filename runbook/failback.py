"""Failback after a real failover (README: Failback): the primary region takes the data back from
the DR region without losing a write, in the steps `./scripts/deploy.sh failback <step>` runs.

  hold        Route 53 keeps answering with the DR region whatever the recovered primary region
              does (the primary's health check inverted): the stale primary must take no writes.
  replicate   the stale contractorlens-db renamed aside (kept, still protected, its automated
              backups no longer replicated into the DR region); the Data stack
              deployed without its database (-c failback=detached: CloudFormation's delete finds
              nothing by that name), then with contractorlens-db as a cross-Region read replica of
              the DR database (-c failback=replica).
  switchover  a planned window: the DR service stopped (no more writes), the replica caught up
              (ReplicaLag 0), the Data stack promoting it in place and the Service stack on it.
  finish      DNS back to the primary region, and the DR region back to standby: a final snapshot
              of its database and a fresh replica (dr-standby).

`status` says where things are and which step is next. Every step reads the account first,
refuses a step out of order with one line, and does only what is left when run again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from config.names import PRIMARY_DATABASE_ID
from runbook import drill
from runbook.aws import RunbookError, error_code
from runbook.checks import wait_until_stable
from runbook.context import Context
from runbook.readiness import replica_lag
from runbook.service import Runner, cdk_deploy, run_command

STEPS = ("status", "hold", "replicate", "switchover", "finish")


@dataclass(frozen=True)
class FailbackState:
    """What the account says about a failback."""

    dr: drill.DrState
    inverted: bool | None
    """The primary's Route 53 health check inverted (DNS held on the DR region); None: not found."""
    primary: dict[str, Any] | None
    """contractorlens-db in the primary region, as DescribeDBInstances has it; None: no such instance."""
    data_has_database: bool
    """The Data stack holds its `Database` resource (not while detached)."""
    dr_tasks: int
    """The DR service's desired count."""
    source_arn: str
    """The DR database's ARN: what contractorlens-db replicates from during a failback."""

    @property
    def replicating(self) -> bool:
        return bool(self.primary) and (self.primary or {}).get("ReadReplicaSourceDBInstanceIdentifier") == self.source_arn

    @property
    def standalone(self) -> bool:
        return bool(self.primary) and not (self.primary or {}).get("ReadReplicaSourceDBInstanceIdentifier")


_health_check_id = drill.health_check_id
_inverted = drill.health_check_inverted


def _primary(ctx: Context) -> dict[str, Any] | None:
    cfg = ctx.cfg
    try:
        (db,) = ctx.client("rds", cfg.region).describe_db_instances(DBInstanceIdentifier=cfg.names.db_instance)["DBInstances"]
    except ClientError as exc:
        if error_code(exc) != "DBInstanceNotFound":
            raise
        return None
    return dict(db)


def _data_has_database(ctx: Context) -> bool:
    name = ctx.cfg.names.stack("Data")
    resources = ctx.client("cloudformation", ctx.cfg.region).describe_stack_resources(StackName=name)["StackResources"]
    return any(r["LogicalResourceId"] == PRIMARY_DATABASE_ID and r["ResourceStatus"] != "DELETE_COMPLETE" for r in resources)


def _dr_tasks(ctx: Context) -> int:
    names = ctx.cfg.names
    services = ctx.client("ecs", ctx.cfg.dr_region).describe_services(cluster=names.cluster, services=[names.service])["services"]
    return int(services[0]["desiredCount"]) if services and services[0].get("status") == "ACTIVE" else 0


def observe(ctx: Context) -> FailbackState:
    """Read the failback's state from the account; nothing is changed."""
    dr = drill.require_dr_stack(ctx)
    return FailbackState(
        dr=dr,
        inverted=_inverted(ctx, _health_check_id(ctx)),
        primary=_primary(ctx),
        data_has_database=_data_has_database(ctx),
        dr_tasks=_dr_tasks(ctx),
        source_arn=ctx.cfg.dr_db_instance_arn,
    )


def next_step(state: FailbackState) -> str:
    """The step to run now, or "none" (no failback to do, or it is finished)."""
    if state.replicating and state.data_has_database:
        return "switchover" if state.inverted else "hold"
    # Switched over (the primary serves, the DR service stopped), or finish stopped half-way.
    back = state.standalone and state.data_has_database and state.dr_tasks == 0 and state.dr.mode != "standby"
    if back or (state.inverted and state.dr.mode != "active"):
        return "finish"
    if not state.inverted:
        return "hold" if state.dr.mode == "active" else "none"
    return "replicate"


# --- what each step checks first --------------------------------------------------------------------


def _command(ctx: Context, step: str) -> str:
    return f"./scripts/deploy.sh failback {step} --env {ctx.cfg.name}"


def _require_held(ctx: Context, state: FailbackState) -> None:
    if state.dr.mode != "active":
        raise RunbookError(
            f"{ctx.cfg.names.stack('DR')} is {state.dr.mode}: a failback brings the data back after a failover "
            f"(dr-activate); there is nothing to fail back ({_command(ctx, 'status')})"
        )
    if not state.inverted:
        raise RunbookError(
            f"DNS is not held on the DR region: run {_command(ctx, 'hold')} first (a recovered primary region would "
            "otherwise take traffic again on stale data)"
        )


def _require_created_as_replica(ctx: Context) -> None:
    cfg = ctx.cfg
    if cfg.database.created_as != "replica":
        raise RunbookError(
            f'set database.created_as = "replica" in {cfg.source} (and commit it) first: {cfg.names.db_instance} is about to be '
            "created as a read replica, without MasterUsername and StorageEncrypted, and every later deploy must leave them out"
        )


# --- the steps -----------------------------------------------------------------------------------


def status(ctx: Context, run: Runner = run_command) -> bool:
    """Where the failback is, and the step to run next."""
    del run
    cfg, state = ctx.cfg, observe(ctx)
    primary = state.primary
    ctx.report.say(f"  DR stack: {state.dr.mode} ({state.dr.database}); {state.dr_tasks} tasks in {cfg.dr_region}")
    ctx.report.say(f"  health check inverted (DNS held on {cfg.dr_region}): {state.inverted}")
    if primary is None:
        ctx.report.say(f"  {cfg.names.db_instance} in {cfg.region}: none")
    else:
        role = f"a read replica of {primary['ReadReplicaSourceDBInstanceIdentifier']}" if not state.standalone else "standalone"
        ctx.report.say(f"  {cfg.names.db_instance} in {cfg.region}: {primary['DBInstanceStatus']}, {role}")
    ctx.report.say(f"  Data stack holds its database: {state.data_has_database}")
    step = next_step(state)
    ctx.report.data["next"] = step
    return ctx.report.check("next step", True, "none: no failback in progress" if step == "none" else _command(ctx, step))


def hold(ctx: Context, run: Runner = run_command) -> bool:
    """Keep DNS on the DR region: invert the primary's health check."""
    del run
    cfg, state = ctx.cfg, observe(ctx)
    if state.dr.mode != "active":
        _require_held(ctx, state)  # says why: nothing to fail back
    if state.inverted is None:
        raise RunbookError(f"no primary health check found through {cfg.names.health_check_parameter} in {cfg.dr_region}")
    if not state.inverted:
        check_id = _health_check_id(ctx)
        ctx.client("route53", "us-east-1").update_health_check(HealthCheckId=check_id, Inverted=True)
    return ctx.report.check(
        "hold",
        True,
        f"Route 53 treats the primary as down: DNS stays on {cfg.dr_region}; next: {_command(ctx, 'replicate')}",
    )


def stop_backup_replication(ctx: Context, primary: dict[str, Any]) -> None:
    """The stale primary stops copying its automated backups into the DR region (RDS API reference,
    StopDBInstanceAutomatedBackupsReplication, called in the destination region); the copies made so
    far stay there for their retention. Else it would go on copying, and costing, for as long as it
    is kept, beside the backups of the database that takes its name."""
    dr = ctx.client("rds", ctx.cfg.dr_region)
    copies = dr.describe_db_instance_automated_backups(DbiResourceId=primary["DbiResourceId"])["DBInstanceAutomatedBackups"]
    if not any(copy.get("Status") == "replicating" for copy in copies):
        return
    dr.stop_db_instance_automated_backups_replication(SourceDBInstanceArn=primary["DBInstanceArn"])
    ctx.report.check(
        "stale primary's backup replication", True, f"stopped into {ctx.cfg.dr_region}; the copies made so far stay for their retention"
    )


def _rename_stale(ctx: Context, primary: dict[str, Any]) -> str:
    """The stale primary out of the way, kept: its writes that never reached the DR region are in it."""
    cfg, names = ctx.cfg, ctx.cfg.names
    stale = f"{names.db_stale_prefix}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    # Before the rename, while its ARN is the one RDS knows the replication by.
    stop_backup_replication(ctx, primary)
    rds = ctx.client("rds", cfg.region)
    change: dict[str, Any] = {"DBInstanceIdentifier": names.db_instance, "NewDBInstanceIdentifier": stale, "ApplyImmediately": True}
    exports = primary.get("EnabledCloudwatchLogsExports") or []
    if exports:
        # Renamed, its logs would go into new, unencrypted groups named after it, kept forever.
        change["CloudwatchLogsExportConfiguration"] = {"DisableLogTypes": exports}
    rds.modify_db_instance(**change)
    ctx.report.say(f"  {names.db_instance} renamed {stale}; waiting until the name is free ...")
    rds.get_waiter("db_instance_deleted").wait(DBInstanceIdentifier=names.db_instance, WaiterConfig=ctx.wait.waiter_config)
    rds.get_waiter("db_instance_available").wait(DBInstanceIdentifier=stale, WaiterConfig=ctx.wait.waiter_config)
    ctx.report.check("stale primary kept", True, f"{stale} in {cfg.region} (deletion protection on): compare it, then delete it")
    ctx.report.data["stale_instance"] = stale
    return stale


def replicate(ctx: Context, run: Runner = run_command) -> bool:
    """contractorlens-db as a read replica of the DR database, owned by the Data stack."""
    cfg, names, state = ctx.cfg, ctx.cfg.names, observe(ctx)
    _require_held(ctx, state)
    _require_created_as_replica(ctx)
    if state.replicating and state.data_has_database:
        return ctx.report.check("replicate", True, f"{names.db_instance} replicates already; next: {_command(ctx, 'switchover')}")
    ctx.report.say(f"[1/3] the stale {names.db_instance} aside")
    if state.primary is not None:
        _rename_stale(ctx, state.primary)
    ctx.report.say(f"[2/3] the Data stack without its database (CloudFormation's delete finds no {names.db_instance})")
    if state.data_has_database:
        cdk_deploy(ctx, ["Data"], run, context=["failback=detached"], again="run this step again once fixed")
    ctx.report.say(f"[3/3] {names.db_instance} as a read replica of {cfg.dr_db_instance} ({cfg.dr_region})")
    cdk_deploy(ctx, ["Data"], run, context=["failback=replica"], again="run this step again once fixed")
    return ctx.report.check(
        "replicate",
        True,
        f"{names.db_instance} replicates {state.source_arn}; next, in a planned window (the API stops): {_command(ctx, 'switchover')}",
    )


def _stop_dr_writes(ctx: Context) -> None:
    """The DR service to 0 tasks, with its scaling suspended so that nothing starts one again."""
    cfg, names = ctx.cfg, ctx.cfg.names
    dr = dataclasses.replace(ctx, region=cfg.dr_region)
    resource = f"service/{names.cluster}/{names.service}"
    scaling = ctx.client("application-autoscaling", cfg.dr_region)
    for target in scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[resource])["ScalableTargets"]:
        scaling.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=resource,
            ScalableDimension=target["ScalableDimension"],
            SuspendedState={"DynamicScalingInSuspended": True, "DynamicScalingOutSuspended": True, "ScheduledScalingSuspended": True},
        )
    ctx.client("ecs", cfg.dr_region).update_service(cluster=names.cluster, service=names.service, desiredCount=0)
    wait_until_stable(dr)


def _wait_caught_up(ctx: Context) -> None:
    """ReplicaLag 0: every write the DR region took is in contractorlens-db."""
    cfg, names = ctx.cfg, ctx.cfg.names
    lag = None
    for _ in range(ctx.wait.waiter_config["MaxAttempts"]):  # as a boto3 waiter: the poll interval, up to the timeout
        lag = replica_lag(ctx, cfg.region, names.db_instance)
        if lag == 0:
            ctx.report.check("caught up", True, f"{names.db_instance} ReplicaLag 0 s")
            return
        ctx.report.say(f"  {names.db_instance} ReplicaLag {lag if lag is not None else 'not reported'}; waiting ...")
        ctx.wait.sleep()
    raise RunbookError(
        f"{names.db_instance} still {lag} s behind after {ctx.wait.timeout_minutes} min; nothing was promoted; run this step again"
    )


def switchover(ctx: Context, run: Runner = run_command) -> bool:
    """Stop the DR region's writes, let the replica catch up, promote it, run the service on it."""
    names, state = ctx.cfg.names, observe(ctx)
    _require_held(ctx, state)
    _require_created_as_replica(ctx)
    if not (state.replicating and state.data_has_database) and not (state.standalone and state.dr_tasks == 0):
        raise RunbookError(
            f"{names.db_instance} is not a read replica of {ctx.cfg.dr_db_instance}: run {_command(ctx, 'replicate')} first "
            "(a standalone one while the DR region takes writes is stale, and replicate keeps it aside)"
        )
    ctx.report.say(f"[1/4] writes stop: the DR service to 0 tasks in {ctx.cfg.dr_region}")
    if state.dr_tasks:
        _stop_dr_writes(ctx)
    ctx.report.say(f"[2/4] {names.db_instance} catches up")
    if state.replicating:
        _wait_caught_up(ctx)
    ctx.report.say(f"[3/4] promote {names.db_instance} in place, the service on it")
    # Not rolled back: a promotion cannot be undone (the handler refuses a source again).
    cdk_deploy(ctx, ["Data", "Service"], run, no_rollback=True, again="run this step again once fixed")
    ctx.report.say("[4/4] the service in the primary region")
    # There, whatever AWS_REGION the failover left in the shell (the manual's `export AWS_REGION=us-east-1`).
    wait_until_stable(dataclasses.replace(ctx, region=ctx.cfg.region))
    return ctx.report.check("switchover", True, f"{names.db_instance} is the primary again; next: {_command(ctx, 'finish')}")


def finish(ctx: Context, run: Runner = run_command) -> bool:
    """DNS back to the primary region; the DR region back to standby with a fresh replica."""
    cfg, names, state = ctx.cfg, ctx.cfg.names, observe(ctx)
    if not (state.standalone and state.data_has_database):
        raise RunbookError(f"{names.db_instance} is not the primary yet: run {_command(ctx, 'switchover')} first")
    if state.dr.mode == "active" and state.dr_tasks:
        raise RunbookError(f"the DR service still runs {state.dr_tasks} tasks: run {_command(ctx, 'switchover')} first (it stops them)")
    ctx.report.say("[1/2] DNS back to the primary region (health check no longer inverted)")
    if state.inverted:
        ctx.client("route53", "us-east-1").update_health_check(HealthCheckId=_health_check_id(ctx), Inverted=False)
    ctx.report.say(f"[2/2] {cfg.names.stack('DR')} back to standby")
    drill.dr_standby(ctx, run=run, failed_back=True)
    stale = [
        db["DBInstanceIdentifier"]
        for db in ctx.aws.pages("rds", cfg.region, "describe_db_instances", "DBInstances")
        if db["DBInstanceIdentifier"].startswith(names.db_stale_prefix)
    ]
    kept = f"; kept aside: {', '.join(stale)} (turn its deletion protection off and delete it once compared)" if stale else ""
    return ctx.report.check("failback", True, f"{names.db_instance} serves in {cfg.region}, DR in standby{kept}")


STEP_FUNCTIONS: dict[str, Callable[[Context, Runner], bool]] = {
    "status": status,
    "hold": hold,
    "replicate": replicate,
    "switchover": switchover,
    "finish": finish,
}
