"""`./scripts/deploy.sh db-users`: the backend's own database role, made by a one-off Fargate task.

The task (the Data stack's `contractorlens-db-users`, on cluster `contractorlens-admin`) runs
`psql` as the master user, whose secret it alone is given, in the app's private subnets with the
app's security group (the only one the database admits). Its SQL is in the template, so a
reviewer reads it in the snapshot diff; it is idempotent, so the command may be run again at any
time. Ctrl-C stops the task before exiting.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from config.names import APP_DB_USER
from runbook.aws import RunbookError, error_code
from runbook.context import Context

CONTAINER = "psql"
STARTED_BY = "deploy.sh db-users"


def record_parameter(ctx: Context) -> str:
    """Where a successful run is recorded: what `preflight` checks before a deploy whose tasks log
    in as the role (the role itself cannot be seen from outside the database)."""
    return f"{ctx.cfg.names.parameter_prefix}/runbook/db-users"


def check_recorded(ctx: Context) -> bool:
    """Preflight: db-users has made the role in this environment (first-deploy runs it; an
    environment deployed before the backend logged in as its own role has to, once)."""
    cfg, names = ctx.cfg, ctx.cfg.names
    parameter = record_parameter(ctx)
    try:
        record = json.loads(ctx.client("ssm", cfg.region).get_parameter(Name=parameter)["Parameter"]["Value"])
    except ClientError as exc:
        if error_code(exc) != "ParameterNotFound":
            raise
        return ctx.report.check(
            "database role",
            False,
            f"db-users has not run in {cfg.name} ({parameter} missing): the backend logs in as {names.app_db_user} "
            f'(database.app_login = "iam"), which it creates; run: npx cdk deploy {names.stack("Data")} -c env={cfg.name}, '
            f"then ./scripts/deploy.sh db-users --env {cfg.name}",
        )
    # A record from before each environment had a role of its own names none: it made production's.
    made = record.get("user", APP_DB_USER)
    if made != names.app_db_user:
        return ctx.report.check(
            "database role",
            False,
            f"db-users made {made} in {cfg.name} at {record.get('at')}, but the backend now logs in as {names.app_db_user}: "
            f"run ./scripts/deploy.sh db-users --env {cfg.name} before this deploy (then drop {made} by hand)",
        )
    return ctx.report.check("database role", True, f"{names.app_db_user} made by db-users at {record.get('at')}")


def db_users(ctx: Context) -> bool:
    """Create (or confirm) the backend's role; True when psql exited 0."""
    cfg, names = ctx.cfg, ctx.cfg.names
    _writable_primary(ctx)
    task_definition = _task_definition(ctx)
    subnets, group = _app_network(ctx)
    ecs = ctx.client("ecs", cfg.region)
    started = ecs.run_task(
        cluster=names.admin_cluster,
        taskDefinition=task_definition,
        launchType="FARGATE",
        count=1,
        startedBy=STARTED_BY,
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group], "assignPublicIp": "DISABLED"}},
    )
    if started.get("failures") or not started.get("tasks"):
        reasons = "; ".join(f"{f.get('reason')} {f.get('detail') or ''}".strip() for f in started.get("failures", []))
        raise RunbookError(f"ECS did not start {names.db_users_task_family} on {names.admin_cluster}: {reasons or 'no task'}")
    arn = started["tasks"][0]["taskArn"]
    ctx.report.say(f"  {task_definition} started on {names.admin_cluster}: {arn.rsplit('/', 1)[-1]}; waiting for it to stop")
    try:
        ecs.get_waiter("tasks_stopped").wait(cluster=names.admin_cluster, tasks=[arn], WaiterConfig=ctx.wait.waiter_config)
    except KeyboardInterrupt:
        # Nothing is left running: a half-run psql rolls its one transaction back when it dies.
        ecs.stop_task(cluster=names.admin_cluster, task=arn, reason=f"{STARTED_BY} interrupted")
        raise
    except WaiterError:
        ecs.stop_task(cluster=names.admin_cluster, task=arn, reason=f"{STARTED_BY} timed out")
        raise RunbookError(
            f"the task did not stop within {ctx.wait.timeout_minutes} min, so it was stopped (its transaction rolls back); "
            f"read its output: aws logs tail {names.db_users_log_group} --since 1h --region {cfg.region}"
        ) from None
    (task,) = ecs.describe_tasks(cluster=names.admin_cluster, tasks=[arn])["tasks"]
    if not _outcome(ctx, task):
        return False
    record = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "instance": names.db_instance,
        "task_definition": task_definition,
        "user": names.app_db_user,
    }
    ctx.client("ssm", cfg.region).put_parameter(Name=record_parameter(ctx), Value=json.dumps(record), Type="String", Overwrite=True)
    return True


def _outcome(ctx: Context, task: dict[str, Any]) -> bool:
    cfg, names = ctx.cfg, ctx.cfg.names
    container: dict[str, Any] = next((c for c in task.get("containers", []) if c.get("name") == CONTAINER), {})
    code = container.get("exitCode")
    if code == 0:
        return ctx.report.check(
            "db-users", True, f"{names.app_db_user} in {names.db_instance}: logs in with IAM only (rds_iam), reads and writes rows, no DDL"
        )
    why = (
        f"psql exited {code}"
        if code is not None
        else f"the task stopped before psql ran: {task.get('stoppedReason') or container.get('reason') or 'no reason given'}"
    )
    return ctx.report.check(
        "db-users", False, f"{why}; read its output: aws logs tail {names.db_users_log_group} --since 1h --region {cfg.region}"
    )


def _writable_primary(ctx: Context) -> None:
    """The role is made on the primary; a replica has it from its source, and refuses writes."""
    cfg, names = ctx.cfg, ctx.cfg.names
    try:
        (db,) = ctx.client("rds", cfg.region).describe_db_instances(DBInstanceIdentifier=names.db_instance)["DBInstances"]
    except ClientError as exc:
        if error_code(exc) != "DBInstanceNotFound":
            raise
        raise RunbookError(f"no {names.db_instance} in {cfg.region}: deploy the Data stack first ({names.stack('Data')})") from None
    if db["DBInstanceStatus"] != "available":
        raise RunbookError(f"{names.db_instance} in {cfg.region} is {db['DBInstanceStatus']}: run db-users once it is available")
    if db.get("ReadReplicaSourceDBInstanceIdentifier"):
        raise RunbookError(
            f"{names.db_instance} is a read replica (a failback is half-way): it has {names.app_db_user} from its source; "
            f"run db-users after the switchover (./scripts/deploy.sh failback status --env {cfg.name})"
        )


def _task_definition(ctx: Context) -> str:
    """The family's newest ACTIVE revision, as `family:N`."""
    cfg, names = ctx.cfg, ctx.cfg.names
    try:
        found = ctx.client("ecs", cfg.region).describe_task_definition(taskDefinition=names.db_users_task_family)["taskDefinition"]
    except ClientError as exc:
        if error_code(exc) not in ("ClientException", "InvalidParameterException"):
            raise
        raise RunbookError(f"no task definition {names.db_users_task_family} in {cfg.region}: deploy {names.stack('Data')} first") from None
    return f"{found['family']}:{found['revision']}"


def _app_network(ctx: Context) -> tuple[list[str], str]:
    """The app's security group (by name, in the environment's VPC) and that VPC's private subnets."""
    cfg, names = ctx.cfg, ctx.cfg.names
    ec2 = ctx.client("ec2", cfg.region)
    group_name = names.security_group("app")
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [group_name]}])["SecurityGroups"]
    if len(groups) != 1:
        raise RunbookError(
            f"expected one security group {group_name} in {cfg.region}, found {len(groups)}: deploy {names.stack('Network')} first"
        )
    (group,) = groups
    subnets = ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [group["VpcId"]]}, {"Name": "tag:aws-cdk:subnet-type", "Values": ["Private"]}]
    )["Subnets"]
    if not subnets:
        raise RunbookError(f"no private subnets in {group['VpcId']} ({cfg.region}), the VPC of {group_name}")
    return sorted(s["SubnetId"] for s in subnets), group["GroupId"]
