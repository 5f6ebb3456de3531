"""`./scripts/deploy.sh dr-readiness`: is the DR region ready to take over right now?

Each item is a check of its own, so that the report names every one that fails, not the first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from config.manual import API_HOST_LABEL
from config.thresholds import RPO_DATABASE_MINUTES
from runbook import drill, recovery
from runbook.aws import RunbookError, error_code
from runbook.context import Context


def dr_readiness(ctx: Context) -> bool:
    cfg = ctx.cfg
    if not cfg.dr.enabled:
        raise RunbookError(f"{cfg.name} has no DR stack (dr.enabled = false in {cfg.source})")
    state = drill.dr_state(ctx)
    standby = ctx.report.check(
        "DR stack in standby",
        state.mode == "standby",
        f"{cfg.names.stack('DR')} is {state.mode}" + (": ./scripts/deploy.sh dr-standby puts it back" if state.mode != "standby" else ""),
    )
    results = [
        standby,
        rpo(ctx) if standby else True,
        _image(ctx),
        _gemini_key(ctx),
        _certificate(ctx),
        _health_check(ctx),
    ]
    return all(results)


def rpo(ctx: Context) -> bool:
    """The replica's lag, or the replicated backups' latest restorable time, against the RPO."""
    cfg = ctx.cfg
    limit = RPO_DATABASE_MINUTES * 60
    if cfg.dr.database == "backups":
        try:
            latest = recovery.replicated_backups(ctx).get("RestoreWindow", {}).get("LatestTime")
        except RunbookError as exc:  # nothing replicated there: this item fails, the others are still checked
            return ctx.report.check("RPO (replicated backups)", False, str(exc))
        behind = (datetime.now(UTC) - latest).total_seconds() if latest else None
        detail = f"latest restorable time {behind / 60:.0f} min ago" if behind is not None else "no restorable time"
        return ctx.report.check(
            "RPO (replicated backups)", behind is not None and behind <= limit, f"{detail}; the manual: {RPO_DATABASE_MINUTES} min"
        )
    replica = cfg.dr_db_instance
    try:
        (db,) = ctx.client("rds", cfg.dr_region).describe_db_instances(DBInstanceIdentifier=replica)["DBInstances"]
    except ClientError as exc:
        if error_code(exc) != "DBInstanceNotFound":
            raise
        return ctx.report.check("RPO (replica lag)", False, f"no {replica} in {cfg.dr_region}")
    if db.get("ReadReplicaSourceDBInstanceIdentifier") != cfg.db_instance_arn:
        return ctx.report.check("RPO (replica lag)", False, f"{replica} does not replicate from {cfg.db_instance_arn}")
    lag = replica_lag(ctx, cfg.dr_region, replica)
    if lag is None:
        return ctx.report.check("RPO (replica lag)", False, f"{replica} reported no ReplicaLag in the last 5 minutes: is it replicating?")
    return ctx.report.check("RPO (replica lag)", lag <= limit, f"{replica} {lag:.0f} s behind; the manual: {RPO_DATABASE_MINUTES} min")


def replica_lag(ctx: Context, region: str, replica: str) -> float | None:
    """The replica's latest ReplicaLag in seconds (AWS/RDS, 1-minute maximum over the last 5 minutes);
    None when it reported none (a replica that does not replicate reports nothing)."""
    now = datetime.now(UTC)
    points = ctx.client("cloudwatch", region).get_metric_statistics(
        Namespace="AWS/RDS",
        MetricName="ReplicaLag",
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": replica}],
        StartTime=now - timedelta(minutes=5),
        EndTime=now,
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    return float(max(points, key=lambda p: p["Timestamp"])["Maximum"]) if points else None


def app_image(ctx: Context, region: str) -> str | None:
    """The image of the service's app container in `region` (the one from the repository)."""
    names = ctx.cfg.names
    ecs = ctx.client("ecs", region)
    services = ecs.describe_services(cluster=names.cluster, services=[names.service])["services"]
    if not services:
        return None
    definition = ecs.describe_task_definition(taskDefinition=services[0]["taskDefinition"])["taskDefinition"]
    images = [c["image"] for c in definition["containerDefinitions"] if f"/{names.repository}:" in c["image"]]
    return images[0] if images else None


def _image(ctx: Context) -> bool:
    """The primary's running release is in the DR repository, and the standby runs the same one."""
    cfg = ctx.cfg
    primary = app_image(ctx, cfg.region)
    if primary is None:
        return ctx.report.check("release in the DR region", False, f"no {cfg.names.service} service running in {cfg.region}")
    tag = primary.rpartition(":")[2]
    try:
        ctx.client("ecr", cfg.dr_region).describe_images(repositoryName=cfg.names.repository, imageIds=[{"imageTag": tag}])
        replicated = True
    except ClientError as exc:
        if error_code(exc) not in ("ImageNotFoundException", "RepositoryNotFoundException"):
            raise
        replicated = False
    ok = ctx.report.check(
        "release in the DR repository", replicated, f"{cfg.names.repository}:{tag} {'is' if replicated else 'is not'} in {cfg.dr_region}"
    )
    standby = app_image(ctx, cfg.dr_region)
    standby_tag = standby.rpartition(":")[2] if standby else None
    same = ctx.report.check(
        "standby on the same release",
        standby_tag == tag,
        f"the DR task definition runs {standby_tag or 'nothing'}; the primary {tag}"
        + ("" if standby_tag == tag else f" (deploy the DR stack: npx cdk deploy {cfg.names.stack('DR')} -c env={cfg.name})"),
    )
    return ok and same


def _gemini_key(ctx: Context) -> bool:
    cfg = ctx.cfg
    name = cfg.names.gemini_secret
    try:
        secret = ctx.client("secretsmanager", cfg.region).describe_secret(SecretId=name)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        return ctx.report.check("Gemini key replica", False, f"no secret {name} in {cfg.region}")
    status = next((r.get("Status") for r in secret.get("ReplicationStatus", []) if r.get("Region") == cfg.dr_region), None)
    return ctx.report.check("Gemini key replica", status == "InSync", f"{name} in {cfg.dr_region}: {status or 'not replicated'}")


def _certificate(ctx: Context) -> bool:
    cfg = ctx.cfg
    if not cfg.dns.domain:
        return ctx.report.check("DR certificate", True, "no dns.domain: the DR load balancer serves the configured certificate or HTTP")
    host = f"{API_HOST_LABEL}.{cfg.dns.domain}"
    found = [c for c in ctx.aws.pages("acm", cfg.dr_region, "list_certificates", "CertificateSummaryList") if c.get("DomainName") == host]
    statuses = sorted({str(c.get("Status")) for c in found})
    return ctx.report.check("DR certificate", "ISSUED" in statuses, f"{host} in {cfg.dr_region}: {', '.join(statuses) or 'none'}")


def _health_check(ctx: Context) -> bool:
    cfg, names = ctx.cfg, ctx.cfg.names
    try:
        check_id = ctx.client("ssm", cfg.dr_region).get_parameter(Name=names.health_check_parameter)["Parameter"]["Value"]
        ctx.client("route53", cfg.dr_region).get_health_check(HealthCheckId=check_id)
        found = f"health check {check_id}"
    except ClientError as exc:
        if error_code(exc) not in ("ParameterNotFound", "NoSuchHealthCheck"):
            raise
        return ctx.report.check("primary health check", False, f"{names.health_check_parameter} or its health check is missing")
    alarm = names.alarm("primary-health")
    alarms = ctx.client("cloudwatch", cfg.dr_region).describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    return ctx.report.check("primary health check", bool(alarms), f"{found}; alarm {alarm} {'present' if alarms else 'missing'}")
