"""Load `config/<env>.toml` into a validated `EnvironmentConfig`.

`app.py`, the runbook, `make diff` and the sandbox call `load_environment`, so a resource name
or region is never typed twice. Every problem becomes a `ConfigError` whose message is one
line: the file, the key, the bad value and what is allowed.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ValidationError

from config.manual import GRAFANA_PORT, METRICS_PORT, ROUTE53_METRICS_REGION
from config.names import Names
from config.schema import FARGATE_MEMORY, EnvironmentConfig, EnvironmentFile
from config.thresholds import ECS_CPU, ECS_MEMORY

__all__ = [
    "CONFIG_DIR",
    "DEFAULT_ENVIRONMENT",
    "ConfigError",
    "EnvironmentConfig",
    "Names",
    "available_environments",
    "load_environment",
    "with_image_tag",
]

CONFIG_DIR = Path(__file__).resolve().parent
DEFAULT_ENVIRONMENT = "production"


class ConfigError(Exception):
    """A configuration problem a user can fix; `str()` is the one line to print."""


def available_environments(directory: Path = CONFIG_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.toml"))


def load_environment(name: str, directory: Path = CONFIG_DIR) -> EnvironmentConfig:
    """Read, validate and cross-check one environment's file."""
    allowed = available_environments(directory)
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,19}", name) or name not in allowed:
        raise ConfigError(
            f"unknown environment {name!r}: allowed are {', '.join(allowed) or '(none)'} "
            f"(one file per environment in {_display(directory)}/)"
        )
    path = directory / f"{name}.toml"
    source = _display(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{source}: cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: is not UTF-8 text; save it as UTF-8 TOML") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: is not valid TOML: {exc}") from None

    for reserved in ("name", "source"):
        if reserved in data:
            raise ConfigError(f"{source}: {reserved} = {data[reserved]!r} is not allowed: the {reserved} comes from the file")
    try:
        cfg = EnvironmentConfig.model_validate({**data, "name": name, "source": source})
    except ValidationError as exc:
        raise ConfigError(_describe(source, exc)) from None
    _cross_check(cfg)
    _check_other_environments(cfg, directory)
    return cfg


def _check_other_environments(cfg: EnvironmentConfig, directory: Path) -> None:
    """An environment's network blocks must not overlap another's in the same account: a `dev`
    copied from staging would otherwise keep staging's ranges, and no route, peering or VPN could
    ever tell the two apart. The other files are read as they are (their own load reports their
    own mistakes)."""
    mine = {
        key: ipaddress.IPv4Network(value) for key, value in (("network.cidr", cfg.network.cidr), ("network.dr_cidr", cfg.network.dr_cidr))
    }
    for other in available_environments(directory):
        if other == cfg.name:
            continue
        path = directory / f"{other}.toml"
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            network = data.get("network", {})
            theirs = {f"network.{key}": ipaddress.IPv4Network(network[key]) for key in ("cidr", "dr_cidr") if key in network}
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError, TypeError, AttributeError):
            continue
        if str(data.get("account")) != cfg.account:
            continue
        for key, block in mine.items():
            for their_key, their_block in theirs.items():
                if block.overlaps(their_block):
                    raise ConfigError(
                        f"{cfg.source}: {key} = {str(block)!r} overlaps {their_key} = {str(their_block)!r} of {_display(path)}, "
                        f"in the same account {cfg.account}: choose a block no other environment of the account uses"
                    )


def with_image_tag(cfg: EnvironmentConfig, tag: str) -> EnvironmentConfig:
    """`cfg` with `-c image-tag=<tag>` applied, validated like the file's own value."""
    try:
        service = type(cfg.service).model_validate({**cfg.service.model_dump(), "image_tag": tag})
    except ValidationError as exc:
        raise ConfigError(f"-c image-tag = {tag!r}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None
    return cfg.model_copy(update={"service": service})


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _describe(source: str, exc: ValidationError) -> str:
    """The first validation error as one line; the count of the others after it.

    An unknown key comes first: a misspelt key is also reported as a missing one, and the
    misspelling is what the user has to fix.
    """
    errors = sorted(exc.errors(include_url=False), key=lambda error: error["type"] != "extra_forbidden")
    first = errors[0]
    key = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        model = _model_at(EnvironmentFile, first["loc"][:-1])
        allowed = ", ".join(model.model_fields) if model else "see config/schema.py"
        what = f"unknown key; allowed here: {allowed}"
    elif first["type"] == "missing":
        what = f"is required but missing: {_expected(first['loc'])}"
    else:
        what = first["msg"].removeprefix("Value error, ")
    value = "" if first["type"] == "missing" else f" = {first['input']!r}"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return f"{source}: {key}{value}: {what}{more}"


def _expected(loc: tuple[int | str, ...]) -> str:
    """What a missing key takes: true or false for a switch, else where its rules are written."""
    model = _model_at(EnvironmentFile, loc[:-1])
    field = model.model_fields.get(str(loc[-1])) if model else None
    if field is not None and field.annotation is bool:
        return "set it to true or false (config/schema.py says what each means)"
    return "config/schema.py says what it takes"


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _cross_check(cfg: EnvironmentConfig) -> None:
    """Rules that relate two keys, each reported against the key a user would change."""

    def fail(key: str, value: object, allowed: str) -> None:
        raise ConfigError(f"{cfg.source}: {key} = {value!r}: {allowed}")

    if cfg.dr_region == cfg.region:
        fail("dr_region", cfg.dr_region, f"must differ from region ({cfg.region})")
    for zone in cfg.availability_zones:
        if not re.fullmatch(rf"{re.escape(cfg.region)}[a-z]", zone):
            fail("availability_zones", zone, f"is not a zone of region {cfg.region}; expected e.g. {cfg.region}a")
    if len(set(cfg.availability_zones)) != len(cfg.availability_zones):
        fail("availability_zones", cfg.availability_zones, "lists a zone twice")
    if cfg.game_days.outage_zone and cfg.game_days.outage_zone not in cfg.availability_zones:
        fail("game_days.outage_zone", cfg.game_days.outage_zone, f'must be one of availability_zones {cfg.availability_zones}, or ""')
    net = cfg.network
    if ipaddress.IPv4Network(net.cidr).overlaps(ipaddress.IPv4Network(net.dr_cidr)):
        fail("network.dr_cidr", net.dr_cidr, f"overlaps network.cidr ({net.cidr}); choose a disjoint block")
    if net.nat_gateways > len(cfg.availability_zones):
        fail("network.nat_gateways", net.nat_gateways, f"must be 1 to {len(cfg.availability_zones)} (one per zone at most)")
    db = cfg.database
    if db.max_allocated_storage_gib <= db.allocated_storage_gib:
        fail(
            "database.max_allocated_storage_gib",
            db.max_allocated_storage_gib,
            f"must exceed database.allocated_storage_gib ({db.allocated_storage_gib}) for storage autoscaling",
        )
    if db.monitoring_interval_seconds not in (1, 5, 10, 15, 30, 60):
        fail("database.monitoring_interval_seconds", db.monitoring_interval_seconds, "allowed are 1, 5, 10, 15, 30, 60")
    pi = db.performance_insights_retention_days
    if not (pi in (7, 731) or (pi % 31 == 0 and 31 <= pi <= 713)):
        fail("database.performance_insights_retention_days", pi, "allowed are 7, 731, or a multiple of 31 from 31 to 713")
    if cfg.is_production and not db.multi_az:
        fail("database.multi_az", db.multi_az, "production runs Multi-AZ: only true is allowed")
    if cfg.is_production and not db.deletion_protection:
        fail(
            "database.deletion_protection", db.deletion_protection, "production's database keeps deletion protection: only true is allowed"
        )
    if cfg.is_production and db.backup_retention_days < 14:
        fail("database.backup_retention_days", db.backup_retention_days, "production keeps backups at least 14 days (14 to 35)")
    svc = cfg.service
    if svc.memory_mib not in FARGATE_MEMORY.get(svc.cpu, ()):
        if svc.cpu not in FARGATE_MEMORY:
            fail("service.cpu", svc.cpu, f"allowed are {', '.join(map(str, FARGATE_MEMORY))}")
        sizes = FARGATE_MEMORY[svc.cpu]
        fail(
            "service.memory_mib",
            svc.memory_mib,
            f"with cpu {svc.cpu}, allowed are {sizes[0]} to {sizes[-1]} in steps of {sizes[1] - sizes[0]}",
        )
    if svc.max_tasks < svc.min_tasks:
        fail("service.max_tasks", svc.max_tasks, f"must be at least service.min_tasks ({svc.min_tasks})")
    if cfg.is_production and svc.max_tasks < 6:
        fail("service.max_tasks", svc.max_tasks, "production scales to at least 6 tasks (the manual scales up to 4 in an incident)")
    for key, value, line in (
        ("cpu_target_percent", svc.cpu_target_percent, ECS_CPU),
        ("memory_target_percent", svc.memory_target_percent, ECS_MEMORY),
    ):
        if value >= line.value:
            fail(f"service.{key}", value, f"must stay below the manual's {line.value:g} % alarm line, so scaling acts first")
    if cfg.dns.domain and cfg.dns.certificate_arn:
        fail(
            "dns.certificate_arn",
            cfg.dns.certificate_arn,
            "give either dns.domain (a certificate is issued) or a certificate ARN, not both",
        )
    alerting = cfg.alerting
    if alerting.business_hours_end <= alerting.business_hours_start:
        fail(
            "alerting.business_hours_end",
            alerting.business_hours_end,
            f"must be after alerting.business_hours_start ({alerting.business_hours_start})",
        )
    if len(set(alerting.business_days)) != len(alerting.business_days) or not alerting.business_days:
        fail("alerting.business_days", alerting.business_days, "list each ISO weekday (1 = Monday ... 7 = Sunday) once")
    if (alerting.slack_critical_channel_id or alerting.slack_warning_channel_id) and not alerting.slack_workspace_id:
        fail("alerting.slack_workspace_id", alerting.slack_workspace_id, "Slack channel ids need the workspace id too")
    dr = cfg.dr
    if dr.enabled:
        if len(dr.availability_zones) < 2:
            fail("dr.availability_zones", dr.availability_zones, f"list two to six zones of {cfg.dr_region} when dr.enabled")
        for zone in dr.availability_zones:
            if not re.fullmatch(rf"{re.escape(cfg.dr_region)}[a-z]", zone):
                fail("dr.availability_zones", zone, f"is not a zone of dr_region {cfg.dr_region}; expected e.g. {cfg.dr_region}a")
        if dr.nat_gateways > len(dr.availability_zones):
            fail("dr.nat_gateways", dr.nat_gateways, f"must be 1 to {len(dr.availability_zones)} (one per zone at most)")
        if not cfg.dns.domain:
            fail("dr.enabled", True, "DNS failover needs dns.domain and dns.hosted_zone_id; set them or dr.enabled = false")
        if cfg.dr_region != ROUTE53_METRICS_REGION:
            # The DR stack holds the alarm on the primary's health check, and Route 53 publishes
            # HealthCheckStatus in us-east-1 only: in any other region the alarm never has data.
            fail(
                "dr_region",
                cfg.dr_region,
                f"with dr.enabled the DR region must be {ROUTE53_METRICS_REGION}: Route 53 publishes health-check "
                f"metrics only there, and the DR stack alarms on the primary's health check",
            )
        if not cfg.database.replicate_backups_to_dr or not cfg.registry.replicate_to_dr:
            fail("dr.enabled", True, "needs database.replicate_backups_to_dr and registry.replicate_to_dr: the DR stack restores those")
    if dr.health_check_interval_seconds not in (10, 30):
        fail("dr.health_check_interval_seconds", dr.health_check_interval_seconds, "allowed are 10 and 30")
    obs = cfg.observability
    if obs.grafana and not obs.grafana_allowed_cidrs:
        fail("observability.grafana_allowed_cidrs", [], "list the VPN or office ranges allowed to open Grafana")
    if obs.grafana and not obs.prometheus:
        fail("observability.grafana", True, "Grafana's dashboard reads Prometheus: set observability.prometheus = true")
    if cfg.service.container_port in (GRAFANA_PORT, METRICS_PORT):
        fail(
            "service.container_port",
            cfg.service.container_port,
            f"{GRAFANA_PORT} is Grafana's and {METRICS_PORT} the metrics port; choose another",
        )
    _check_backup(cfg, fail)
    if bool(cfg.dns.domain) != bool(cfg.dns.hosted_zone_id):
        fail("dns.hosted_zone_id", cfg.dns.hosted_zone_id, "set dns.domain and dns.hosted_zone_id together, or leave both empty")


def _check_backup(cfg: EnvironmentConfig, fail: Callable[[str, object, str], None]) -> None:
    """AWS Backup refuses a recovery point whose retention a locked vault does not allow, so the
    lock's range must hold every rule's retention."""
    backup, db = cfg.backup, cfg.database
    if cfg.is_production and backup.enabled and not backup.vault_lock:
        fail("backup.vault_lock", False, "production's vaults stay locked: only true is allowed")
    if backup.vault_lock and backup.lock_min_retention_days > db.backup_retention_days:
        fail(
            "backup.lock_min_retention_days",
            backup.lock_min_retention_days,
            f"must be at most database.backup_retention_days ({db.backup_retention_days}), the continuous recovery point's retention",
        )
    if backup.vault_lock and backup.lock_max_retention_days < backup.daily_retention_days:
        fail(
            "backup.lock_max_retention_days",
            backup.lock_max_retention_days,
            f"must be at least backup.daily_retention_days ({backup.daily_retention_days})",
        )
    if backup.backup_account_vault_arn and backup.backup_account_vault_arn.split(":")[4] == cfg.account:
        fail("backup.backup_account_vault_arn", backup.backup_account_vault_arn, "must be a vault of another account than `account`")
