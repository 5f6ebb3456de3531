"""The manual's health checks, shared by `health-check`, `preflight` and the deploy verbs."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from botocore.exceptions import ClientError

from config.manual import API_HOST_LABEL, HEALTH_CHECK_PATH
from config.schema import GRAFANA_PLACEHOLDER_CIDR
from config.thresholds import HEALTH_TIMEOUT_SECONDS, RUNNING_TASKS
from runbook import account, db_users
from runbook.aws import RunbookError, error_code
from runbook.context import Context

HTTP_TIMEOUT_SECONDS = HEALTH_TIMEOUT_SECONDS


def health_url(ctx: Context, override: str | None = None) -> str | None:
    """`https://api.<domain>/health`, else the Service stack's ApiUrl output plus /health."""
    if override:
        return override
    if ctx.cfg.dns.domain:
        return f"https://{API_HOST_LABEL}.{ctx.cfg.dns.domain}{HEALTH_CHECK_PATH}"
    stack = ctx.cfg.names.stack("Service")
    try:
        (described,) = ctx.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        if error_code(exc) == "ValidationError":  # the stack does not exist
            return None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    return f"{outputs['ApiUrl'].rstrip('/')}{HEALTH_CHECK_PATH}" if "ApiUrl" in outputs else None


def http_status(url: str, via: str | None = None) -> tuple[int | None, str]:
    """GET `url`: its status (None when it could not be reached) and a line saying so. With `via`,
    the request goes to that host instead (a load balancer's own DNS name), still naming the URL's
    host in TLS and in the Host header, as `curl --connect-to` does: the certificate is checked
    against the name users reach."""
    if via is not None:
        return _status_via(url, via)
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_SECONDS) as response:
            return response.status, f"GET {url} -> {response.status}"
    except urllib.error.HTTPError as exc:
        return exc.code, f"GET {url} -> {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return None, f"GET {url} failed: {getattr(exc, 'reason', exc)}"


def _status_via(url: str, via: str) -> tuple[int | None, str]:
    import http.client
    import socket
    import ssl
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)

    class Connection(http.client.HTTPSConnection):
        def connect(self) -> None:
            raw = socket.create_connection((via, port), HTTP_TIMEOUT_SECONDS)
            self.sock = ssl.create_default_context().wrap_socket(raw, server_hostname=host) if secure else raw

    shown = f"GET {url} through {via}"
    try:
        connection = Connection(via, port, timeout=HTTP_TIMEOUT_SECONDS)
        connection.request("GET", parts.path or "/", headers={"Host": parts.netloc})
        status = connection.getresponse().status
        connection.close()
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{shown} failed: {exc}"
    return status, f"{shown} -> {status}"


def check_http(ctx: Context, url: str | None, via: str | None = None) -> bool:
    """The manual's `curl -f https://api.contractorlens.com/health` (through `via`: see http_status)."""
    if url is None:
        return ctx.report.check("health endpoint", False, "no URL: no domain in config and no ApiUrl output; pass --url")
    status, detail = http_status(url, via)
    return ctx.report.check("health endpoint", status == 200, detail)


def dr_balancer(ctx: Context) -> str | None:
    """The DR load balancer's own DNS name (the DR stack's LoadBalancerDnsName output), or None."""
    cfg = ctx.cfg
    try:
        (stack,) = ctx.client("cloudformation", cfg.dr_region).describe_stacks(StackName=cfg.names.stack("DR"))["Stacks"]
    except ClientError as exc:
        if error_code(exc) == "ValidationError":  # no DR stack
            return None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return outputs.get("LoadBalancerDnsName")


def check_service_http(ctx: Context, override: str | None) -> bool:
    """/health of the copy in ctx.region. In the DR region (AWS_REGION during a failover or a drill)
    that is the DR load balancer, asked by its own name whatever DNS says: with a domain, the
    request names api.<domain> (TLS and Host), so the certificate is checked as users meet it."""
    cfg = ctx.cfg
    if override is not None or ctx.region != cfg.dr_region:
        return check_http(ctx, health_url(ctx, override))
    balancer = dr_balancer(ctx)
    if balancer is None:
        return ctx.report.check("health endpoint", False, f"{cfg.names.stack('DR')} has no LoadBalancerDnsName output; pass --url")
    if cfg.dns.domain:
        return check_http(ctx, f"https://{API_HOST_LABEL}.{cfg.dns.domain}{HEALTH_CHECK_PATH}", via=balancer)
    return check_http(ctx, f"http://{balancer}{HEALTH_CHECK_PATH}")


def describe_service(ctx: Context) -> dict[str, Any]:
    """The manual's `aws ecs describe-services --cluster contractorlens --services contractorlens`."""
    names = ctx.cfg.names
    try:
        result = ctx.client("ecs").describe_services(cluster=names.cluster, services=[names.service])
    except ClientError as exc:
        if error_code(exc) == "ClusterNotFoundException":
            raise RunbookError(f"ECS cluster {names.cluster} not found in {ctx.region}: is the Service stack deployed?") from None
        raise
    services = [s for s in result.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        raise RunbookError(f"ECS service {names.service} not found in cluster {names.cluster} ({ctx.region})")
    service: dict[str, Any] = services[0]
    return service


def wait_until_stable(ctx: Context) -> None:
    """The manual's `aws ecs wait services-stable`, with the runbook's poll interval and timeout."""
    names = ctx.cfg.names
    ctx.report.say(f"waiting for {names.service} to be stable (up to {ctx.wait.timeout_minutes} min) ...")
    ctx.client("ecs").get_waiter("services_stable").wait(
        cluster=names.cluster, services=[names.service], WaiterConfig=ctx.wait.waiter_config
    )
    ctx.report.check("service stable", True, f"{names.service} reached a steady state")


def check_tasks(ctx: Context, service: dict[str, Any]) -> bool:
    running, desired = service["runningCount"], service["desiredCount"]
    floor = int(RUNNING_TASKS.value)
    ok = running >= desired and running >= floor
    return ctx.report.check("running tasks", ok, f"{running} running, {desired} desired (the manual: at least {floor} running)")


def check_steady(ctx: Context, service: dict[str, Any]) -> bool:
    deployments = service.get("deployments", [])
    steady = len(deployments) == 1 and service["runningCount"] == service["desiredCount"]
    detail = f"{len(deployments)} deployment(s), {service['runningCount']}/{service['desiredCount']} tasks"
    return ctx.report.check("service steady", steady, detail)


def check_targets(ctx: Context, service: dict[str, Any]) -> bool:
    """The manual's `aws elbv2 describe-target-health`: every target of the service healthy."""
    groups = [lb["targetGroupArn"] for lb in service.get("loadBalancers", []) if "targetGroupArn" in lb]
    if not groups:
        return ctx.report.check("load balancer targets", False, "the service has no target group")
    ok = True
    for arn in groups:
        health = ctx.client("elbv2").describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        states = [t["TargetHealth"]["State"] for t in health]
        unhealthy = [f"{t['Target']['Id']} {t['TargetHealth']['State']}" for t in health if t["TargetHealth"]["State"] != "healthy"]
        name = arn.rsplit("/", 2)[-2] if "/" in arn else arn
        group_ok = bool(states) and not unhealthy
        detail = f"{states.count('healthy')}/{len(states)} healthy" + (f"; {', '.join(unhealthy)}" if unhealthy else "")
        ok = ctx.report.check(f"targets of {name}", group_ok, detail) and ok
    return ok


def check_database(ctx: Context, identifier: str | None = None, region: str | None = None) -> bool:
    """The manual's `aws rds describe-db-instances --db-instance-identifier contractorlens-db`."""
    names = ctx.cfg.names
    # In the DR region (AWS_REGION set there during a failover) the database is the DR stack's:
    # the promoted replica, or the restore in backups mode.
    identifier = identifier or (ctx.cfg.dr_db_instance if ctx.region == ctx.cfg.dr_region else names.db_instance)
    try:
        (db,) = ctx.client("rds", region).describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    except ClientError as exc:
        if error_code(exc) == "DBInstanceNotFound":
            return ctx.report.check(f"database {identifier}", False, f"not found in {region or ctx.region}")
        raise
    status = db["DBInstanceStatus"]
    source = db.get("ReadReplicaSourceDBInstanceIdentifier")
    if identifier == names.db_instance and source:
        # Half-way through a failback: a deploy now would promote it while the DR region still writes.
        return ctx.report.check(
            f"database {identifier}",
            False,
            f"a read replica of {source}: a failback is in progress (./scripts/deploy.sh failback status --env {ctx.cfg.name})",
        )
    return ctx.report.check(f"database {identifier}", status == "available", f"status {status}")


def alarms_in_alarm(ctx: Context) -> list[str]:
    """This environment's alarms (metric and composite) now in ALARM."""
    pages = (
        ctx.client("cloudwatch")
        .get_paginator("describe_alarms")
        .paginate(AlarmNamePrefix=ctx.cfg.names.alarm(""), StateValue="ALARM", AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    )
    # The state is checked again: moto ignores StateValue when AlarmNamePrefix is given.
    return [
        a["AlarmName"]
        for page in pages
        for a in page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
        if a.get("StateValue") == "ALARM"
    ]


def check_alarms(ctx: Context) -> bool:
    """Alarms of this environment now in ALARM; ECS ignores one already firing when a deploy starts."""
    firing = alarms_in_alarm(ctx)
    ctx.report.data["alarms_in_alarm"] = firing
    return ctx.report.check("alarms", not firing, "none in ALARM" if not firing else f"in ALARM: {', '.join(firing)}")


def health_check(ctx: Context, url: str | None = None) -> bool:
    """The manual's post-deployment verification, every check run even after one fails."""
    ok = check_service_http(ctx, url)
    service = describe_service(ctx)
    ok = check_tasks(ctx, service) and ok
    ok = check_targets(ctx, service) and ok
    ok = check_database(ctx) and ok
    return check_alarms(ctx) and ok


def refuse_placeholder_ranges(ctx: Context) -> None:
    """Before a production deploy changes anything: Grafana open to the range this repository
    ships as a placeholder would admit whoever holds it, and nobody of the team."""
    if ctx.cfg.grafana_placeholder:
        raise RunbookError(
            f"{ctx.cfg.source}: observability.grafana_allowed_cidrs holds the placeholder {GRAFANA_PLACEHOLDER_CIDR}; "
            "put the VPN or office ranges that may open Grafana there, or set observability.grafana = false"
        )


def preflight(ctx: Context, url: str | None = None, image_tag: str | None = None) -> bool:
    """The manual's pre-deployment checklist, plus what a deploy needs that the manual takes for
    granted: the release image in the repository, the service-linked roles, the Docker Hub
    credentials of Grafana's image, the backend's own database role made (when it logs in as it),
    no alarm firing."""
    ok = check_http(ctx, health_url(ctx, url))
    ok = check_database(ctx) and ok
    ok = check_steady(ctx, describe_service(ctx)) and ok
    ok = account.check_image(ctx, image_tag or ctx.cfg.service.image_tag) and ok
    ok = account.check_service_linked_roles(ctx) and ok
    ok = account.check_docker_hub(ctx) and ok
    if ctx.cfg.database.app_login == "iam":
        ok = db_users.check_recorded(ctx) and ok
    return check_alarms(ctx) and ok
