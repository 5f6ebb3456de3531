"""The schema of `config/<env>.toml`: typed, validated sections of one ContractorLens environment.

Each field documents its meaning and what is allowed; `config/<env>.toml` sets them. The
models are strict (no silent type coercion) and reject unknown keys, so a typo in a config
file stops synth instead of being ignored.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from config.names import Names

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy, `retentionInDays`).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

# Regions the installed botocore knows; read once, lazily, because only validation needs it.
_region_cache: list[str] = []


def known_regions() -> list[str]:
    """The commercial AWS regions listed in botocore's endpoint data (no network call)."""
    if not _region_cache:
        from botocore.loaders import Loader

        endpoints = Loader().load_data("endpoints")
        aws = next(p for p in endpoints["partitions"] if p["partition"] == "aws")
        _region_cache.extend(sorted(aws["regions"]))
    return _region_cache


def _account(value: str) -> str:
    if not re.fullmatch(r"\d{12}", value):
        raise ValueError("expected a 12-digit AWS account id, e.g. 123456789012")
    return value


def _region(value: str) -> str:
    if value not in known_regions():
        raise ValueError(f"expected an AWS region: {', '.join(known_regions())}")
    return value


def _cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        raise ValueError("expected an IPv4 network in CIDR form, e.g. 10.10.0.0/16") from None
    if not 16 <= network.prefixlen <= 18:
        raise ValueError("expected a block between /16 and /18 (room for three subnet tiers in up to six zones)")
    if not network.is_private:
        raise ValueError("expected a private (RFC 1918) range such as 10.0.0.0/8")
    return value


def _retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"expected a CloudWatch Logs retention: {', '.join(map(str, LOG_RETENTION_DAYS))}")
    return value


def _domain(value: str) -> str:
    if value and not re.fullmatch(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", value):
        raise ValueError('expected a lower-case DNS domain such as contractorlens.com, or "" for none')
    return value


def _zone_id(value: str) -> str:
    if value and not re.fullmatch(r"Z[A-Z0-9]{1,31}", value):
        raise ValueError('expected a Route 53 hosted zone id such as Z0123456789EXAMPLE0AB, or "" for none')
    return value


def _certificate_arn(value: str) -> str:
    if value and not re.fullmatch(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}", value):
        raise ValueError('expected an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<uuid>), or ""')
    return value


def _pg15(value: str) -> str:
    if not re.fullmatch(r"15\.\d{1,2}", value):
        raise ValueError('expected a PostgreSQL 15 minor version such as "15.17" (the manual: RDS PostgreSQL 15)')
    return value


def _instance_type(value: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9-]*\.[a-z0-9]+", value):
        raise ValueError('expected an instance type without the "db." prefix, e.g. m7g.large')
    return value


Account = Annotated[str, AfterValidator(_account)]
Region = Annotated[str, AfterValidator(_region)]
Cidr = Annotated[str, AfterValidator(_cidr)]
RetentionDays = Annotated[int, AfterValidator(_retention)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DnsConfig(_Section):
    domain: Annotated[str, AfterValidator(_domain)] = ""
    """Apex domain; the API is served at `api.<domain>`. Default: "" (no custom domain)."""
    hosted_zone_id: Annotated[str, AfterValidator(_zone_id)] = ""
    """Public Route 53 hosted zone of `domain`. Default: "" (none)."""
    certificate_arn: Annotated[str, AfterValidator(_certificate_arn)] = ""
    """An existing ACM certificate for the ALB when there is no `domain`. Default: "" (none)."""


class NetworkConfig(_Section):
    cidr: Cidr
    """The primary VPC's IPv4 block, /16 to /18, private range."""
    dr_cidr: Cidr
    """The DR region's VPC block; must not overlap `cidr`."""
    nat_gateways: int = Field(ge=1)
    """NAT gateways, 1 to the number of availability zones."""
    flow_log_retention_days: RetentionDays = 365
    """Days VPC flow logs are kept. Default: 365."""
    interface_endpoints: bool = True
    """Create interface endpoints (ECR, Logs, Secrets Manager, SSM). Default: true."""


class RegistryConfig(_Section):
    tagged_images_to_keep: int = Field(default=30, ge=1, le=1000)
    """How many tagged images the lifecycle policy keeps. Default: 30."""
    untagged_image_expiry_days: int = Field(default=7, ge=1, le=365)
    """Days after which untagged images expire. Default: 7."""
    replicate_to_dr: bool = False
    """Replicate the repository to the DR region. Default: false."""


# Registries whose images the stacks pull through the account's ECR (cache rules), and ECR itself.
_THROUGH_ECR = re.compile(r"(public\.ecr\.aws|docker\.io|\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com)/")


def _pinned_image(value: str) -> str:
    """A digest anywhere; a tag other than "latest" only from a registry pulled through the
    account's ECR (a tag elsewhere can be moved under us: issue 16)."""
    if re.fullmatch(r"[a-z0-9.:-]+/[a-z0-9._/-]+@sha256:[0-9a-f]{64}", value):
        return value
    name, _, tag = value.rpartition(":")
    if not name or "/" not in name or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag) or tag == "latest":
        raise ValueError('expected a pinned image: registry/name:tag with a tag other than "latest", or registry/name@sha256:<digest>')
    if not _THROUGH_ECR.match(value):
        raise ValueError(
            "a tag of this registry can change under the stacks: pin it by digest (registry/name@sha256:...), or use an image "
            "of public.ecr.aws or docker.io, which are pulled through the account's ECR"
        )
    return value


class DatabaseConfig(_Section):
    engine_version: Annotated[str, AfterValidator(_pg15)]
    """PostgreSQL 15 minor version, e.g. "15.17"."""
    instance_type: Annotated[str, AfterValidator(_instance_type)]
    """DB instance class without "db.", e.g. "m7g.large"."""
    multi_az: bool = True
    """Standby in a second zone. Default: true."""
    allocated_storage_gib: int = Field(ge=20, le=65536)
    """Initial gp3 storage in GiB, 20 to 65536."""
    max_allocated_storage_gib: int = Field(ge=21, le=65536)
    """Storage autoscaling ceiling in GiB; above `allocated_storage_gib`."""
    backup_retention_days: int = Field(ge=1, le=35)
    """Automated backup retention, 1 to 35 days (production: at least 14)."""
    replicate_backups_to_dr: bool = False
    """Replicate automated backups to the DR region. Default: false."""
    log_retention_days: RetentionDays = 365
    """Days the exported `postgresql` log is kept. Default: 365."""
    slow_query_log_ms: int = Field(default=1000, ge=100, le=60000)
    """`log_min_duration_statement` in ms: slower statements are logged. Default: 1000."""
    monitoring_interval_seconds: int = 60
    """Enhanced Monitoring interval: 1, 5, 10, 15, 30 or 60. Default: 60."""
    performance_insights_retention_days: int = 7
    """Performance Insights retention: 7 (free tier), whole months of 31 days up to 713, or 731. Default: 7."""
    extended_support: bool
    """What happens when RDS's standard support of the major version ends (PostgreSQL 15: RDS's
    release calendar; `checklist monthly` asks RDS for the date): true keeps the instance on it in
    RDS Extended Support, which is charged (EngineLifecycleSupport open-source-rds-extended-support,
    RDS's default); false opts out (...-disabled), and RDS then upgrades the major version itself,
    and a copy of a version past that date cannot be created. No default: each environment says
    which (README: Major version upgrades)."""
    deletion_protection: bool = True
    """Refuse deletion of the instance, also outside CloudFormation (production: true only). With
    false, `cdk destroy` deletes it after a final snapshot. Default: true."""
    created_as: Literal["new", "replica"] = "new"
    """How the running instance was created: "new" (empty, by CloudFormation) or "replica" (by a
    failback, as a read replica of the DR database, then promoted). A replica is created without
    MasterUsername and StorageEncrypted, and both are create-only: the template must go on leaving
    them out, or CloudFormation would replace the database. `./scripts/deploy.sh failback` says
    when to set it; never on a new environment. Default: "new"."""
    app_login: Literal["iam", "master-secret"] = "iam"
    """How the backend logs in: "iam", as its own role `contractorlens_app` with a token from its
    task role (`./scripts/deploy.sh db-users` creates the role; README: Backend contract); or
    "master-secret", as the master user with the secret RDS manages and rotates, the way a backend
    not yet on the contract logs in. Default: "iam"."""
    admin_image: Annotated[str, AfterValidator(_pinned_image)] = "public.ecr.aws/docker/library/postgres:17.6-alpine"
    """The image whose `psql` the `db-users` task runs (through the account's cache of Amazon ECR
    Public when it is from there), pinned. Default: the official postgres 17.6 image."""


IMAGE_TAG_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
IMAGE_TAG_RULE = "letters, digits, _ . - (up to 128, not starting with . or -)"


def _image_tag(value: str) -> str:
    if not re.fullmatch(IMAGE_TAG_PATTERN, value):
        raise ValueError(f"expected an image tag: {IMAGE_TAG_RULE}")
    return value


ImageTag = Annotated[str, AfterValidator(_image_tag)]

# Fargate's task sizes: CPU units -> allowed memory in MiB (AWS ECS developer guide, "Task size").
FARGATE_MEMORY = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}


def _path_prefix(value: str) -> str:
    if not re.fullmatch(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,199}", value):
        raise ValueError('expected a URI path prefix starting with "/", e.g. "/api/v1/photos"')
    return value


def _non_root_user(value: str) -> str:
    match = re.fullmatch(r"(\d{1,10})(?::(\d{1,10}))?", value)
    if match is None or int(match.group(1)) == 0:
        raise ValueError('expected a non-root uid, or uid:gid, such as "1000" or "1000:1000"')
    return value


class ServiceConfig(_Section):
    container_port: int = Field(default=3000, ge=1024, le=65535)
    """The backend's HTTP port, 1024 to 65535; not 9090 (metrics) or 3001 (Grafana). Default: 3000."""
    image_tag: ImageTag
    """The release to run from the repository; `-c image-tag=<tag>` overrides it for one synth."""
    cpu: int = 1024
    """Fargate CPU units per task: 256, 512, 1024, 2048, 4096, 8192 or 16384. Default: 1024."""
    memory_mib: int = 2048
    """Fargate memory per task in MiB; must fit `cpu` (see FARGATE_MEMORY). Default: 2048."""
    min_tasks: int = Field(default=2, ge=2, le=100)
    """Autoscaling floor; at least 2 (the manual: "Active ECS Tasks: >= 2"). Default: 2."""
    max_tasks: int = Field(default=6, ge=2, le=100)
    """Autoscaling ceiling, at least `min_tasks` (production: at least 6). Default: 6."""
    cpu_target_percent: int = Field(default=60, ge=10, le=90)
    """Target-tracking CPU, below the manual's 70 % alarm line. Default: 60."""
    memory_target_percent: int = Field(default=60, ge=10, le=90)
    """Target-tracking memory, below the manual's 70 % alarm line. Default: 60."""
    requests_per_target: int = Field(default=600, ge=10, le=100000)
    """Target-tracking ALB requests per task per minute. Default: 600."""
    log_retention_days: RetentionDays = 365
    """Days `/ecs/contractorlens` (and the WAF and ECS Exec logs) are kept. Default: 365."""
    firebase_project_id: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    """The Firebase project whose ID tokens the API accepts (the manual: Firebase authentication)."""
    idle_timeout_seconds: int = Field(default=60, ge=15, le=4000)
    """ALB idle timeout; well above the Gemini calls' 10 s average. Default: 60."""
    load_balancer_deletion_protection: bool = True
    """ALB deletion protection. Default: true."""
    access_log_expiry_days: int = Field(default=90, ge=1, le=3650)
    """Days ALB access logs are kept in their bucket. Default: 90."""
    waf_rate_limit: int = Field(default=2000, ge=100, le=2000000000)
    """Requests one IP may send in 5 minutes before WAF blocks it. Default: 2000."""
    container_user: Annotated[str, AfterValidator(_non_root_user)] = "1000"
    """The user the backend's container runs as: a uid, or uid:gid, never root (0). The image
    must run as it: read its files, write only /tmp. Default: "1000"."""
    waf_large_body_paths: list[Annotated[str, AfterValidator(_path_prefix)]] | None = None
    """URI path prefixes (e.g. "/api/v1/photos") where request bodies over 8 KB pass WAF; elsewhere
    they are blocked. AWS's Common Rule Set blocks every body over 8 KB (SizeRestrictions_BODY; 8 KB
    is all WAF inspects behind an ALB), which would block the app's uploads: its action is set to
    count, and with this list a rule of ours blocks large bodies outside these prefixes. None: large
    bodies pass everywhere (the backend limits them). Default: None."""


_EMAIL = r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"


def _time_zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone such as America/Los_Angeles") from None
    return value


class AlertingConfig(_Section):
    """The manual's "Alerting Channels". An endpoint left empty is not subscribed (synth says so)."""

    critical_emails: list[Annotated[str, Field(pattern=_EMAIL)]] = []
    """Critical alerts by e-mail (manual: devops@contractorlens.com)."""
    warning_emails: list[Annotated[str, Field(pattern=_EMAIL)]] = []
    """Warning alerts by e-mail (manual: team@contractorlens.com)."""
    oncall_sms: Annotated[str, Field(pattern=r"^(\+[1-9]\d{6,14})?$")] = ""
    """The primary on-call engineer's phone, E.164 (+15555550100), for critical alerts by SMS."""
    slack_workspace_id: Annotated[str, Field(pattern=r"^(T[A-Z0-9]{6,})?$")] = ""
    """The Slack workspace (team) id authorised in AWS Chatbot, e.g. T0123ABCD."""
    slack_critical_channel_id: Annotated[str, Field(pattern=r"^([CG][A-Z0-9]{6,})?$")] = ""
    """The id of Slack channel #alerts-critical, e.g. C0123ABCD."""
    slack_warning_channel_id: Annotated[str, Field(pattern=r"^([CG][A-Z0-9]{6,})?$")] = ""
    """The id of Slack channel #alerts-warning."""
    business_days: list[Annotated[int, Field(ge=1, le=7)]] = [1, 2, 3, 4, 5]
    """ISO weekdays with business hours, 1 = Monday. Default: Monday to Friday."""
    business_hours_start: int = Field(default=9, ge=0, le=23)
    """Local hour business starts. Default: 9."""
    business_hours_end: int = Field(default=17, ge=1, le=24)
    """Local hour business ends, after the start. Default: 17."""
    time_zone: Annotated[str, AfterValidator(_time_zone)] = "America/Los_Angeles"
    """IANA time zone of the business hours; its standard-time offset is used all year."""
    daily_checklist: bool = False
    """Run the manual's daily checklist in AWS every morning and post it to the warning topic
    (EventBridge Scheduler and a function; README: Maintenance). Default: false."""
    daily_checklist_hour: int = Field(default=8, ge=0, le=23)
    """The local hour (`time_zone`, daylight saving followed) it runs at. Default: 8."""


GRAFANA_PLACEHOLDER_CIDR = "10.99.0.0/16"
"""What config/production.toml holds for Grafana's allowed range until the team's VPN or office
range is known: it synthesizes (so the templates can be reviewed and tested), and
`./scripts/deploy.sh production` and `first-deploy` refuse it."""


def _allowed_cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError("expected a network in CIDR form, e.g. 10.99.0.0/16") from None
    if network.prefixlen == 0:
        raise ValueError("Grafana is never open to the whole internet; name the VPN or office ranges")
    return value


class ObservabilityConfig(_Section):
    """The manual's "Prometheus + Grafana": metrics on port 9090, Grafana on port 3001."""

    prometheus: bool = True
    """Collect the backend's Prometheus metrics (port 9090) into Amazon Managed Service for Prometheus. Default: true."""
    collector_image: Annotated[str, AfterValidator(_pinned_image)] = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"
    """The ADOT collector beside each backend task, pinned."""
    scrape_interval_seconds: int = Field(default=30, ge=10, le=300)
    """How often the collector scrapes port 9090. Default: 30."""
    grafana: bool = False
    """Run Grafana on port 3001 behind an internal load balancer. Default: false."""
    grafana_image: Annotated[str, AfterValidator(_pinned_image)] = "docker.io/grafana/grafana-oss:11.6.3"
    """The Grafana image, pinned."""
    grafana_allowed_cidrs: list[Annotated[str, AfterValidator(_allowed_cidr)]] = []
    """VPN or office ranges that may open Grafana (port 3001); never 0.0.0.0/0. Production's file
    ships with GRAFANA_PLACEHOLDER_CIDR, which deploys refuse until it is replaced."""


class DrConfig(_Section):
    """The disaster-recovery region's pilot light (the region itself is `dr_region`)."""

    enabled: bool = False
    """Build the DR stack (ContractorLens-<Env>-DR) in `dr_region`. Default: false."""
    database: Literal["replica", "backups"] = "replica"
    """What the DR region keeps of the database while in standby. "replica": a cross-Region read
    replica (`<prefix>-db-replica`), seconds behind, promoted in place on failover: the manual's
    15-minute RPO. "backups": only the replicated automated backups, restored on failover
    (`<prefix>-db-restored`): an RPO of 5 to 30 minutes (AWS Prescriptive Guidance, "Amazon RDS
    PITR snapshot replication"), which does not meet the manual's. Default: replica."""
    availability_zones: list[str] = Field(default=[], max_length=6)
    """Zones of `dr_region`, as for the primary; required when enabled."""
    nat_gateways: int = Field(default=1, ge=1)
    """NAT gateways of the DR VPC; one keeps the standby cheap. Default: 1."""
    health_check_interval_seconds: int = 30
    """Route 53 health check of the primary: 10 or 30 seconds between checks. Default: 30."""
    health_check_failure_threshold: int = Field(default=3, ge=1, le=10)
    """Consecutive failures before the primary counts as down and DNS fails over. Default: 3."""


def _backup_vault_arn(value: str) -> str:
    if value and not re.fullmatch(r"arn:aws[a-z-]*:backup:[a-z]{2}(-[a-z]+)+-\d:\d{12}:backup-vault:[A-Za-z0-9_.-]{2,50}", value):
        raise ValueError(
            'expected "" or a backup vault ARN such as "arn:aws:backup:us-west-2:210987654321:backup-vault:contractorlens-copies"'
        )
    return value


class BackupConfig(_Section):
    """AWS Backup: a locked vault per region, plans for the database and Grafana's file system,
    and a monthly restore test (README: Backups that survive a compromised account)."""

    enabled: bool = True
    """Back up with AWS Backup besides RDS's own automated backups. Default: true."""
    continuous: bool = True
    """Continuous backup of the database (point-in-time restore from the vault), kept
    database.backup_retention_days. AWS Backup then manages the instance's automated backups;
    false leaves them to RDS alone (README: Backups). Default: true."""
    daily_retention_days: int = Field(default=35, ge=7, le=36500)
    """Days a daily recovery point (and its copies) is kept. Default: 35."""
    vault_lock: bool = True
    """Vault Lock in compliance mode on every vault: once `lock_changeable_for_days` have passed,
    nobody, the account's root included, can delete a recovery point before it expires, shorten
    its retention, or remove the lock. Irreversible. Default: true."""
    lock_min_retention_days: int = Field(default=7, ge=1, le=36500)
    """The shortest retention the locked vaults accept; at most database.backup_retention_days
    (the continuous recovery point's). Default: 7."""
    lock_max_retention_days: int = Field(default=365, ge=1, le=36500)
    """The longest retention the locked vaults accept; at least `daily_retention_days`. Default: 365."""
    lock_changeable_for_days: int = Field(default=3, ge=3, le=36500)
    """Days after a vault's first deploy in which the lock may still be changed or removed (AWS's
    minimum is 3); after that it is fixed for good. Default: 3."""
    restore_testing: bool = True
    """Restore the latest database recovery point once a month, time it, and delete it again
    (the manual's "Monthly: Disaster recovery test"). Default: true."""
    backup_account_vault_arn: Annotated[str, AfterValidator(_backup_vault_arn)] = ""
    """A vault in a separate backup account that receives a third copy of every daily recovery
    point; its account must differ from `account` and its access policy must let this account
    copy in (README). "": no third copy. Default: ""."""


class GameDaysConfig(_Section):
    """Fault Injection Service experiment templates for the game days (README: Game days): lose
    half the API tasks, a database failover, an Availability Zone's network outage. Inert until
    `./scripts/deploy.sh game-day <experiment>` starts one."""

    enabled: bool = True
    """Build the experiment templates, their role and log group in the Monitoring stack. Default: true."""
    outage_zone: str = ""
    """The zone `az-outage` cuts off; one of `availability_zones`. "": the first of them. Default: ""."""
    outage_minutes: int = Field(default=10, ge=1, le=60)
    """How long `az-outage` keeps the zone's subnets cut off before FIS restores them. Default: 10."""


class EnvironmentFile(_Section):
    """The contents of `config/<env>.toml`."""

    account: Account
    """12-digit AWS account id (placeholder 123456789012 until you set yours)."""
    region: Region
    """Primary region, e.g. us-west-2."""
    dr_region: Region
    """Disaster-recovery region, e.g. us-east-1; differs from `region`."""
    availability_zones: list[str] = Field(min_length=2, max_length=6)
    """Two to six zones of `region`, e.g. ["us-west-2a", "us-west-2b"]."""
    termination_protection: bool = True
    """CloudFormation termination protection on every stack. Default: true."""
    dns: DnsConfig = DnsConfig()
    network: NetworkConfig
    registry: RegistryConfig = RegistryConfig()
    database: DatabaseConfig
    service: ServiceConfig
    alerting: AlertingConfig = AlertingConfig()
    dr: DrConfig = DrConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    backup: BackupConfig = BackupConfig()
    game_days: GameDaysConfig = GameDaysConfig()


class EnvironmentConfig(EnvironmentFile):
    """One validated environment: the file's values plus where they came from."""

    name: str
    """The environment's name, i.e. the file's stem (`production`, `staging`)."""
    source: str
    """The file the values came from, for messages."""

    @property
    def is_production(self) -> bool:
        return self.name == "production"

    @property
    def needs_docker_hub_cache(self) -> bool:
        """An image of Docker Hub runs (Grafana's), pulled through the account's ECR."""
        return self.observability.grafana and self.observability.grafana_image.startswith("docker.io/")

    @property
    def grafana_placeholder(self) -> bool:
        """Production opens Grafana to the placeholder range, not a real one."""
        obs = self.observability
        return self.is_production and obs.grafana and GRAFANA_PLACEHOLDER_CIDR in obs.grafana_allowed_cidrs

    @property
    def outage_zone(self) -> str:
        """The zone the `az-outage` game day cuts off."""
        return self.game_days.outage_zone or self.availability_zones[0]

    @property
    def names(self) -> Names:
        return Names(self.name)

    @property
    def db_instance_arn(self) -> str:
        """The primary database's ARN, built from config: the DR region's replica names its
        source by it (a cross-region stack reference would pin both stacks, aws/aws-cdk#30771)."""
        return self._arn(self.region, self.names.db_instance)

    @property
    def dr_db_instance(self) -> str:
        """The DR stack's database: the replica, or the restore in backups mode."""
        return self.names.dr_db_instance(self.dr.database)

    @property
    def dr_db_instance_arn(self) -> str:
        """The DR stack's database's ARN: the source of the primary region's replica in a failback."""
        return self._arn(self.dr_region, self.dr_db_instance)

    def _arn(self, region: str, instance: str) -> str:
        partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
        return f"arn:{partition}:rds:{region}:{self.account}:db:{instance}"

    @property
    def needs_dr_foundation(self) -> bool:
        """Whether anything of this environment replicates into the DR region."""
        return self.registry.replicate_to_dr or self.database.replicate_backups_to_dr or self.dr.enabled
