"""Configuration: the files load, and every bad input ends in one line naming file, key, value, rule."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from config import CONFIG_DIR, ConfigError, load_environment


def test_production_defaults_follow_the_manual_and_the_design() -> None:
    cfg = load_environment("production")
    assert cfg.account == "123456789012"  # documented placeholder
    assert cfg.region == "us-west-2"
    assert cfg.dr_region == "us-east-1"
    assert cfg.availability_zones == ["us-west-2a", "us-west-2b", "us-west-2c"]
    assert cfg.dns.domain == "contractorlens.com"
    assert cfg.database.engine_version.startswith("15.")  # "Amazon RDS PostgreSQL 15"


def test_production_names_are_the_manuals() -> None:
    names = load_environment("production").names
    assert (names.cluster, names.service, names.task_family) == ("contractorlens",) * 3
    assert names.db_instance == "contractorlens-db"
    assert names.db_restored_instance == "contractorlens-db-restored"
    assert names.app_log_group == "/ecs/contractorlens"
    assert names.security_group("alb") == "contractorlens-alb-sg"
    assert names.security_group("app") == "contractorlens-app-sg"
    assert names.stack("Network") == "ContractorLens-Production-Network"


def test_other_environments_suffix_every_name() -> None:
    names = load_environment("staging").names
    assert names.cluster == "contractorlens-staging"
    assert names.db_instance == "contractorlens-staging-db"
    assert names.app_log_group == "/ecs/contractorlens-staging"
    assert names.security_group("db") == "contractorlens-staging-db-sg"
    assert names.stack("Data") == "ContractorLens-Staging-Data"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    for source in CONFIG_DIR.glob("*.toml"):
        shutil.copy(source, tmp_path / source.name)
    return tmp_path


def _edit(config_dir: Path, pattern: str, replacement: str) -> None:
    path = config_dir / "production.toml"
    text, count = re.subn(pattern, replacement, path.read_text(), count=1, flags=re.MULTILINE)
    assert count == 1, f"fixture pattern {pattern!r} not found"
    path.write_text(text)


def _error(config_dir: Path, name: str = "production") -> str:
    with pytest.raises(ConfigError) as caught:
        load_environment(name, config_dir)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_unknown_environment_lists_the_allowed_ones(config_dir: Path) -> None:
    message = _error(config_dir, "prod")
    assert "'prod'" in message and "production, staging" in message


def test_an_image_pinned_by_digest_is_taken_from_any_registry(config_dir: Path) -> None:
    from config import load_environment

    digest = "ghcr.io/grafana/grafana@sha256:" + "ab" * 32
    _edit(config_dir, r"^grafana_image = .*", f'grafana_image = "{digest}"')
    cfg = load_environment("production", config_dir)
    assert cfg.observability.grafana_image == digest and not cfg.needs_docker_hub_cache


@pytest.mark.parametrize(
    ("pattern", "replacement", "expected"),
    [
        # (what the user wrote, what the line must name)
        (r"^account = .*", 'account = "12345"', ["account", "'12345'", "12-digit"]),
        (r"^region = .*", 'region = "us-west-9"', ["region", "'us-west-9'", "us-west-2"]),
        (r"^dr_region = .*", 'dr_region = "us-west-2"', ["dr_region", "must differ"]),
        # Route 53 publishes health-check metrics in us-east-1 only (the primary-health alarm).
        (
            r"^dr_region = .*\n((.*\n)*)availability_zones = \[\"us-east-1a\".*",
            'dr_region = "eu-west-1"\n\\1availability_zones = ["eu-west-1a", "eu-west-1b"]',
            ["dr_region", "'eu-west-1'", "must be us-east-1", "health-check metrics"],
        ),
        (r'^database = "replica"', 'database = "warm"', ["dr.database", "'warm'", "replica", "backups"]),
        (
            r"^availability_zones = .*",
            'availability_zones = ["us-west-2a", "us-east-1b"]',
            ["availability_zones", "'us-east-1b'", "us-west-2"],
        ),
        (r"^cidr = .*", 'cidr = "10.10.0.0/33"', ["network.cidr", "'10.10.0.0/33'", "CIDR"]),
        (r"^cidr = .*", 'cidr = "10.10.0.1/16"', ["network.cidr", "CIDR"]),
        (r"^cidr = .*", 'cidr = "8.8.0.0/16"', ["network.cidr", "private"]),
        (r"^dr_cidr = .*", 'dr_cidr = "10.10.128.0/17"', ["network.dr_cidr", "overlaps network.cidr"]),
        (r"^nat_gateways = .*", "nat_gateways = -1", ["network.nat_gateways", "-1", "greater than or equal to 1"]),
        (r"^nat_gateways = .*", "nat_gateways = 4", ["network.nat_gateways", "1 to 3"]),
        (r"^nat_gateways = .*", 'nat_gateways = "3"', ["network.nat_gateways", "'3'", "integer"]),
        (r"^flow_log_retention_days = .*", "flow_log_retention_days = 10", ["flow_log_retention_days", "365"]),
        (r"^backup_retention_days = .*", "backup_retention_days = 7", ["database.backup_retention_days", "14"]),
        (r"^multi_az = .*", "multi_az = false", ["database.multi_az", "Multi-AZ"]),
        (r"^deletion_protection = .*", "deletion_protection = false", ["database.deletion_protection", "only true"]),
        (r"^engine_version = .*", 'engine_version = "16.4"', ["database.engine_version", "PostgreSQL 15"]),
        (r"^extended_support = .*", "", ["database.extended_support", "required but missing", "true or false"]),
        (r"^hosted_zone_id = .*", 'hosted_zone_id = ""', ["dns.hosted_zone_id", "together"]),
        (r"^container_port = .*", "container_port = 9090", ["service.container_port", "9090"]),
        (
            r"^# waf_large_body_paths = .*",
            'waf_large_body_paths = ["api/v1/photos"]',
            ["service.waf_large_body_paths", "'api/v1/photos'", "starting with"],
        ),
        (r"^\[network\]", "[network]\nnat_gateway = 1", ["network.nat_gateway", "unknown key", "nat_gateways"]),
        (r"^account = .*", 'acount = "123456789012"', ["acount", "unknown key", "account"]),
        (r"^\[database\]", "[databse]", ["databse", "unknown key"]),
        (r"^account = .*", 'account = "123456789012', ["production.toml", "not valid TOML"]),
        (r"^memory_mib = .*", "memory_mib = 1024", ["service.memory_mib", "1024", "with cpu 1024", "2048 to 8192"]),
        (r"^cpu = .*", "cpu = 300", ["service.cpu", "300", "256, 512"]),
        (r"^min_tasks = .*", "min_tasks = 1", ["service.min_tasks", "greater than or equal to 2"]),
        (r"^max_tasks = .*", "max_tasks = 4", ["service.max_tasks", "at least 6"]),
        (r"^cpu_target_percent = .*", "cpu_target_percent = 75", ["service.cpu_target_percent", "below", "70"]),
        (r"^image_tag = .*", 'image_tag = "latest:1"', ["service.image_tag", "'latest:1'", "image tag"]),
        (r"^vault_lock = .*", "vault_lock = false", ["backup.vault_lock", "only true"]),
        (
            r"^lock_min_retention_days = .*",
            "lock_min_retention_days = 20",
            ["backup.lock_min_retention_days", "20", "database.backup_retention_days (14)"],
        ),
        (r"^lock_max_retention_days = .*", "lock_max_retention_days = 30", ["backup.lock_max_retention_days", "daily_retention_days (35)"]),
        (
            r"^lock_changeable_for_days = .*",
            "lock_changeable_for_days = 1",
            ["backup.lock_changeable_for_days", "greater than or equal to 3"],
        ),
        (
            r"^backup_account_vault_arn = .*",
            'backup_account_vault_arn = "arn:aws:backup:us-west-2:123456789012:backup-vault:copies"',
            ["backup.backup_account_vault_arn", "another account"],
        ),
        (r"^backup_account_vault_arn = .*", 'backup_account_vault_arn = "copies"', ["backup.backup_account_vault_arn", "backup vault ARN"]),
        (r"^container_user = .*", 'container_user = "0:1000"', ["service.container_user", "'0:1000'", "non-root uid"]),
        (r"^container_user = .*", 'container_user = "root"', ["service.container_user", "'root'", "non-root uid"]),
        (
            r"^certificate_arn = .*",
            'certificate_arn = "arn:aws:acm:us-west-2:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"',
            ["dns.certificate_arn", "either dns.domain"],
        ),
        (r"^certificate_arn = .*", 'certificate_arn = "my-cert"', ["dns.certificate_arn", "ACM certificate ARN"]),
        (
            r"^domain = .*\n(# .*\n)hosted_zone_id = .*",
            'domain = ""\nhosted_zone_id = ""',
            ["dr.enabled", "DNS failover needs dns.domain"],
        ),
        (
            r'^availability_zones = \["us-east-1a".*',
            'availability_zones = ["us-west-2a", "us-west-2b"]',
            ["dr.availability_zones", "us-east-1"],
        ),
        (
            r"^grafana_allowed_cidrs = .*",
            'grafana_allowed_cidrs = ["0.0.0.0/0"]',
            ["grafana_allowed_cidrs", "never open to the whole internet"],
        ),
        (r"^grafana_image = .*", 'grafana_image = "grafana/grafana-oss:latest"', ["grafana_image", "pinned"]),
        # Issue 16: a tag of a registry not pulled through the account's ECR can be moved under us.
        (r"^grafana_image = .*", 'grafana_image = "ghcr.io/grafana/grafana:11.6.3"', ["grafana_image", "pin it by digest"]),
        (r"^collector_image = .*", 'collector_image = "quay.io/otel/collector:0.1"', ["collector_image", "pin it by digest"]),
        (r"^oncall_sms = .*", 'oncall_sms = "555-0100"', ["alerting.oncall_sms", "'555-0100'"]),
        (r"^time_zone = .*", 'time_zone = "Pacific/Nowhere"', ["alerting.time_zone", "IANA"]),
        (r"^business_hours_end = .*", "business_hours_end = 8", ["alerting.business_hours_end", "after"]),
        # Issue 17: the game day's zone is one of the environment's own.
        (r"^outage_zone = .*", 'outage_zone = "us-east-1a"', ["game_days.outage_zone", "'us-east-1a'", "one of availability_zones"]),
        (r"^outage_minutes = .*", "outage_minutes = 0", ["game_days.outage_minutes", "greater than or equal to 1"]),
    ],
)
def test_a_bad_value_is_one_line_naming_file_key_value_and_rule(
    config_dir: Path, pattern: str, replacement: str, expected: list[str]
) -> None:
    _edit(config_dir, pattern, replacement)
    message = _error(config_dir)
    assert message.startswith(str(config_dir / "production.toml"))
    for part in expected:
        assert part in message


def test_several_problems_are_counted_on_the_same_line(config_dir: Path) -> None:
    _edit(config_dir, r"^account = .*", 'account = "x"')
    _edit(config_dir, r"^region = .*", 'region = "nowhere"')
    assert "(and 1 more problem)" in _error(config_dir)


def test_a_missing_key_is_named(config_dir: Path) -> None:
    _edit(config_dir, r"^engine_version = .*\n", "")
    message = _error(config_dir)
    assert "database.engine_version" in message and "required" in message


def test_an_unreadable_file_is_reported(config_dir: Path) -> None:
    (config_dir / "production.toml").write_bytes(b"\xff\xfe")
    assert "production.toml" in _error(config_dir)


def test_an_environment_copied_from_another_must_change_its_network_blocks(config_dir: Path) -> None:
    """The newcomer's `dev`, copied from staging: same account, same ranges. One line names both."""
    staging = (config_dir / "staging.toml").read_text()
    (config_dir / "dev.toml").write_text(staging)
    message = _error(config_dir, "dev")
    assert message == (
        f"{config_dir / 'dev.toml'}: network.cidr = '10.30.0.0/16' overlaps network.cidr = '10.30.0.0/16' of "
        f"{config_dir / 'staging.toml'}, in the same account 123456789012: choose a block no other environment of the account uses"
    )
    (config_dir / "dev.toml").write_text(staging.replace('cidr = "10.30.0.0/16"', 'cidr = "10.60.0.0/16"'))
    assert "overlaps network.dr_cidr = '10.40.0.0/16' of" in _error(config_dir, "dev")  # its DR block too
    moved = staging.replace('cidr = "10.30.0.0/16"', 'cidr = "10.60.0.0/16"').replace(
        'dr_cidr = "10.40.0.0/16"', 'dr_cidr = "10.70.0.0/16"'
    )
    (config_dir / "dev.toml").write_text(moved)
    assert load_environment("dev", config_dir).network.cidr == "10.60.0.0/16"
    # Another account's environment may use the same blocks.
    (config_dir / "dev.toml").write_text(staging.replace('account = "123456789012"', 'account = "210987654321"'))
    assert load_environment("dev", config_dir).network.cidr == "10.30.0.0/16"
