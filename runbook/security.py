"""Certificates, security groups, and the manual's log searches."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from config.thresholds import THRESHOLDS
from runbook.aws import RunbookError, error_code
from runbook.context import Context

PUBLIC_CIDRS = ("0.0.0.0/0", "::/0")
# Gemini, Firebase and the AWS APIs: the only internet traffic the tasks send (cdk_constructs/network.py).
APP_PUBLIC_EGRESS_PORT = 443
ALB_PUBLIC_PORTS = (80, 443)


def parse_since(text: str) -> timedelta:
    """`10m`, `2h`, `1d`, `30s`."""
    match = re.fullmatch(r"(\d+)([smhd])", text)
    if not match:
        raise RunbookError(f"--since {text!r}: expected a number and a unit, e.g. 30s, 10m, 2h, 1d")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def filter_pattern(pattern: str) -> str:
    """A phrase such as `slow query` is quoted, as the manual's --filter-pattern needs."""
    if " " in pattern and not pattern.startswith('"'):
        return f'"{pattern}"'
    return pattern


def log_events(ctx: Context, *, since: timedelta, pattern: str | None) -> Iterator[dict[str, Any]]:
    """The manual's `aws logs tail /ecs/contractorlens` and `filter-log-events --filter-pattern`."""
    kwargs: dict[str, Any] = {
        "logGroupName": ctx.cfg.names.app_log_group,
        "startTime": int((time.time() - since.total_seconds()) * 1000),
    }
    if pattern:
        kwargs["filterPattern"] = filter_pattern(pattern)
    try:
        yield from ctx.aws.pages("logs", ctx.region, "filter_log_events", "events", **kwargs)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise RunbookError(f"log group {ctx.cfg.names.app_log_group} not found in {ctx.region}") from None
        raise


FOLLOW_POLL_SECONDS = 2
"""How often `logs --follow` asks for new events (`aws logs tail --follow` polls about as often)."""


def logs(ctx: Context, *, since: str, pattern: str | None, follow: bool = False) -> bool:
    """The manual's `aws logs tail /ecs/contractorlens [--follow]`; with --follow, new events are
    printed as they arrive until Ctrl-C, which ends the command normally."""
    seen: set[str] = set()
    newest = 0

    def show(window: timedelta) -> None:
        nonlocal newest
        for event in log_events(ctx, since=window, pattern=pattern):
            key = event.get("eventId") or f"{event['timestamp']}/{event.get('logStreamName')}/{event['message']}"
            if key in seen:
                continue
            seen.add(key)
            newest = max(newest, int(event["timestamp"]))
            stamp = datetime.fromtimestamp(event["timestamp"] / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            ctx.report.say(f"{stamp} {event.get('logStreamName', '')} {event['message'].rstrip()}")

    window = parse_since(since)
    show(window)
    what = f"matching {filter_pattern(pattern)}" if pattern else "in total"
    detail = f"{{}} event(s) {what} in {ctx.cfg.names.app_log_group} over the last {since}"
    if follow:
        ctx.report.say(f"following {ctx.cfg.names.app_log_group} (Ctrl-C to stop) ...")
        try:
            while True:
                time.sleep(FOLLOW_POLL_SECONDS)
                # From the newest event seen, less a margin for events that arrive late; repeats are skipped.
                show(timedelta(seconds=max(60.0, time.time() - newest / 1000 + 60)) if newest else window)
        except KeyboardInterrupt:
            detail += ", then followed until Ctrl-C"
    ctx.report.data["events"] = len(seen)
    return ctx.report.check("logs", True, detail.format(len(seen)))


def certs(ctx: Context) -> bool:
    """The manual's `aws acm list-certificates --certificate-statuses EXPIRED,PENDING_VALIDATION`, plus
    certificates that expire within the warning threshold, in the primary and DR regions."""
    warn_days = int(THRESHOLDS["certificate-expiry"].value)
    horizon = datetime.now(UTC) + timedelta(days=warn_days)
    domain = ctx.cfg.dns.domain
    regions = [ctx.cfg.region] + ([ctx.cfg.dr_region] if ctx.cfg.dr.enabled else [])
    findings = []
    checked = 0
    for region in regions:
        for summary in ctx.aws.pages("acm", region, "list_certificates", "CertificateSummaryList"):
            if domain and not summary["DomainName"].endswith(domain):
                continue
            checked += 1
            cert = ctx.client("acm", region).describe_certificate(CertificateArn=summary["CertificateArn"])["Certificate"]
            status, not_after = cert["Status"], cert.get("NotAfter")
            label = f"{cert['DomainName']} ({region})"
            if status in ("EXPIRED", "PENDING_VALIDATION", "FAILED", "REVOKED"):
                findings.append(f"{label} is {status}")
            elif not_after is not None and not_after < horizon:
                findings.append(f"{label} expires {not_after:%Y-%m-%d}")
    ctx.report.data["certificates_checked"] = checked
    return ctx.report.check(
        "certificates",
        not findings,
        "; ".join(findings) if findings else f"{checked} checked: none expired, pending or expiring within {warn_days} days",
    )


def _public_rules(group: dict[str, Any], region: str, *, alb_group: str, app_group: str) -> list[str]:
    """The group's rules that reach the internet (`0.0.0.0/0`, `::/0`), in or out, beyond the
    design's: the ALB's 80/443 in, the app's HTTPS 443 out (README: Security groups). An egress
    rule matters too: EC2's default allow-all egress is what a group left without one gets."""
    found = []
    designed = {
        "IpPermissions": {(alb_group, port) for port in ALB_PUBLIC_PORTS},
        "IpPermissionsEgress": {(app_group, APP_PUBLIC_EGRESS_PORT)},
    }
    for direction, key in (("from", "IpPermissions"), ("to", "IpPermissionsEgress")):
        for rule in group.get(key, []):
            cidrs = [r["CidrIp"] for r in rule.get("IpRanges", [])] + [r["CidrIpv6"] for r in rule.get("Ipv6Ranges", [])]
            public = [c for c in cidrs if c in PUBLIC_CIDRS]
            port = rule.get("FromPort")
            if not public or (
                rule.get("IpProtocol") == "tcp" and port == rule.get("ToPort") and (group["GroupName"], port) in designed[key]
            ):
                continue
            ports = "all" if rule.get("IpProtocol") == "-1" else f"{rule.get('FromPort')}-{rule.get('ToPort')}"
            found.append(f"{group['GroupName']} ({region}) {rule.get('IpProtocol')} {ports} {direction} {', '.join(public)}")
    return found


def security_review(ctx: Context) -> bool:
    """The manual's security-group review (by group-name filter: `--group-names` only works in a
    default VPC), in both directions, and its failed-login search over the last 24 hours."""
    names = ctx.cfg.names
    roles = {"alb_group": names.security_group("alb"), "app_group": names.security_group("app")}
    regions = [ctx.cfg.region] + ([ctx.cfg.dr_region] if ctx.cfg.dr.enabled else [])
    open_rules = []
    groups_seen = 0
    for region in regions:
        for group in ctx.aws.pages(
            "ec2",
            region,
            "describe_security_groups",
            "SecurityGroups",
            Filters=[{"Name": "group-name", "Values": [f"{names.prefix}-*"]}],
        ):
            if re.fullmatch(rf"{re.escape(names.prefix)}-(alb|app|db)-sg", group["GroupName"]):
                groups_seen += 1
                open_rules += _public_rules(group, region, **roles)
    if not groups_seen:
        detail = f"none of {names.prefix}-alb-sg, -app-sg, -db-sg found in {', '.join(regions)}: is the environment deployed?"
    elif open_rules:
        detail = "open to the internet: " + "; ".join(open_rules)
    else:
        detail = f"{groups_seen} checked; only the ALB's 80/443 in and the app's 443 out reach the internet"
    groups_ok = ctx.report.check("security groups", bool(groups_seen) and not open_rules, detail)
    keys_ok = _keys(ctx)
    failed_logins = sum(1 for _ in log_events(ctx, since=timedelta(days=1), pattern="FAILED_LOGIN"))
    ctx.report.data["failed_logins_24h"] = failed_logins
    ctx.report.say(f"FAILED_LOGIN events in the last 24 h: {failed_logins}")
    return groups_ok and keys_ok


# The stacks that hold KMS keys, by region: the primary's and the DR region's.
_KEY_STACKS = {"primary": ("Network", "Data", "Service", "Monitoring"), "dr": ("DRFoundation", "DR")}


def _keys(ctx: Context) -> bool:
    """Every KMS key of the environment's stacks is enabled: a key scheduled for deletion takes
    with it every backup it encrypts, locked vaults' included (README: what the deploy role can
    and cannot destroy); its waiting period is the time to cancel."""
    cfg = ctx.cfg
    regions = {cfg.region: _KEY_STACKS["primary"]}
    if cfg.needs_dr_foundation:
        regions[cfg.dr_region] = _KEY_STACKS["dr"]
    states: list[str] = []
    findings: list[str] = []
    for region, parts in regions.items():
        kms = ctx.client("kms", region)
        for part in parts:
            for key_id in _stack_keys(ctx, region, cfg.names.stack(part)):
                key = kms.describe_key(KeyId=key_id)["KeyMetadata"]
                states.append(key["KeyState"])
                if key["KeyState"] != "Enabled":
                    when = f", deleted on {key['DeletionDate']:%Y-%m-%d}" if key.get("DeletionDate") else ""
                    cancel = (
                        f": aws kms cancel-key-deletion --key-id {key_id} --region {region}" if key["KeyState"] == "PendingDeletion" else ""
                    )
                    findings.append(f"{key_id} ({region}, {cfg.names.stack(part)}) is {key['KeyState']}{when}{cancel}")
    ctx.report.data["keys"] = len(states)
    return ctx.report.check(
        "keys", not findings, "; ".join(findings) if findings else f"{len(states)} key(s) of the stacks checked: all enabled"
    )


def _stack_keys(ctx: Context, region: str, stack: str) -> list[str]:
    try:
        resources = list(ctx.aws.pages("cloudformation", region, "list_stack_resources", "StackResourceSummaries", StackName=stack))
    except ClientError as exc:
        if error_code(exc) == "ValidationError":  # the stack does not exist (yet, or any more)
            return []
        raise
    return [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::KMS::Key" and r.get("PhysicalResourceId")]
