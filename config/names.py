"""Every resource name the manual and the runbook depend on, derived from an environment's name."""

from __future__ import annotations

# The PostgreSQL logs RDS exports: `postgresql` carries the slow-statement lines the manual
# searches; `upgrade` records engine upgrades.
DB_LOG_EXPORTS = ("postgresql", "upgrade")
# The database in the instance and its master user (RDS generates and manages the password); the
# same in every environment, since each has an instance of its own.
DATABASE_NAME = "contractorlens"
MASTER_USERNAME = "contractorlens_admin"
# The backend's own role (IAM authentication, no password), which `deploy.sh db-users` creates.
APP_DB_USER = "contractorlens_app"
# Where the backend image keeps the RDS certificate authorities' bundle (README: Backend contract).
RDS_CA_BUNDLE = "/etc/ssl/certs/rds-global-bundle.pem"
# The databases' logical ids: pinned by the stacks (a stateful resource's id never changes) and
# read by the runbook (failback, a stuck rollback's way on).
PRIMARY_DATABASE_ID = "Database"
DR_DATABASE_IDS = {"replica": "ReplicaDatabase", "backups": "RestoredDatabase"}
# The extra tag the runbook puts on each release it deploys (`deployed-1.4.2`); the repository's
# lifecycle never expires an image that carries one, so a running or rollback release stays.
KEPT_IMAGE_TAG_PREFIX = "deployed-"
# The user the Docker Hub credentials' secret holds until an operator puts a real one there: the
# Registry stack writes it, the runbook refuses a deploy while it is there.
DOCKER_HUB_PLACEHOLDER_USER = "set-me"
# The `Project` tag of every resource (the `Environment` tag is the environment's name).
PROJECT_TAG = "ContractorLens"
# The alarm `checklist weekly` sets to ALARM and back to test the alerting path: `<env>-<this>`.
ALERTING_TEST_ALARM = "alerting-test"
# The game days' experiment templates (README: Game days), each tagged Name=<prefix>-<experiment>.
GAME_DAY_EXPERIMENTS = ("task-loss", "db-failover", "az-outage")
# When AWS Backup takes the daily recovery points (UTC): the stacks' plans and the runbook's `backups`.
DAILY_BACKUP_HOUR_UTC = 5
# Grafana over HTTPS: `grafana.<dns.domain>`, a certificate validated in the public zone and a
# private zone of that one name in the VPC.
GRAFANA_HOST_LABEL = "grafana"


class Names:
    """The names of one environment's resources, stacks, alarms and parameters.

    Production carries the manual's names verbatim (`contractorlens`, `contractorlens-db`,
    `/ecs/contractorlens`); any other environment suffixes them, e.g. `contractorlens-staging`,
    so two environments never collide in one account.
    """

    def __init__(self, env: str) -> None:
        self.env = env
        self.title = env.title()
        self.prefix = "contractorlens" if env == "production" else f"contractorlens-{env}"

    def stack(self, part: str) -> str:
        """`ContractorLens-<Env>-<Part>`, e.g. ContractorLens-Production-Network."""
        return f"ContractorLens-{self.title}-{part}"

    @property
    def cluster(self) -> str:
        return self.prefix

    @property
    def service(self) -> str:
        return self.prefix

    @property
    def task_family(self) -> str:
        return self.prefix

    @property
    def repository(self) -> str:
        return self.prefix

    @property
    def app_log_group(self) -> str:
        return f"/ecs/{self.prefix}"

    @property
    def db_instance(self) -> str:
        return f"{self.prefix}-db"

    def db_log_groups(self, instance: str) -> list[str]:
        """The log groups RDS exports `instance`'s logs into, one per DB_LOG_EXPORTS."""
        return [f"/aws/rds/instance/{instance}/{export}" for export in DB_LOG_EXPORTS]

    @property
    def db_restored_instance(self) -> str:
        """A restore in the DR region: the runbook's `dr-restore`, and the DR stack's database in
        backups mode."""
        return f"{self.prefix}-db-restored"

    @property
    def db_replica_instance(self) -> str:
        """The cross-Region read replica in the DR region (replica mode); promoted in place, it
        keeps this name."""
        return f"{self.prefix}-db-replica"

    def dr_db_instance(self, database: str) -> str:
        """The DR stack's database for `dr.database` "replica" or "backups"."""
        return self.db_replica_instance if database == "replica" else self.db_restored_instance

    @property
    def db_stale_prefix(self) -> str:
        """What a failback renames the primary region's stale instance to, `<prefix>-<UTC time>`:
        kept, with the writes that never reached the DR region, until someone has compared them."""
        return f"{self.prefix}-db-stale"

    @property
    def daily_checklist(self) -> str:
        """The scheduled daily checklist's function and schedule; its log group is /aws/lambda/<this>."""
        return f"{self.prefix}-daily-checklist"

    def game_day(self, experiment: str) -> str:
        """The `Name` tag of a game day's experiment template (FIS gives templates ids, not names)."""
        return f"{self.prefix}-{experiment}"

    @property
    def game_day_log_group(self) -> str:
        """Where Fault Injection Service logs the game days' experiments. Vended logs (FIS delivers
        them through CloudWatch Logs' log delivery) go under /aws/vendedlogs/, which one resource
        policy of the account covers (CloudWatch Logs user guide, "Logs sent to CloudWatch Logs")."""
        return f"/aws/vendedlogs/fis/{self.prefix}"

    @property
    def admin_cluster(self) -> str:
        """Where `db-users` runs its one-off task: not the manual's cluster, which the Service stack
        makes after the role must exist."""
        return f"{self.prefix}-admin"

    @property
    def db_users_task_family(self) -> str:
        return f"{self.prefix}-db-users"

    @property
    def db_users_log_group(self) -> str:
        return f"/ecs/{self.prefix}/db-users"

    @property
    def public_image_cache(self) -> str:
        """The prefix of repositories that cache Amazon ECR Public images (pull through)."""
        return f"{self.prefix}-public"

    @property
    def docker_hub_cache(self) -> str:
        """The prefix of repositories that cache Docker Hub images (pull through, with credentials)."""
        return f"{self.prefix}-docker"

    @property
    def docker_hub_secret(self) -> str:
        """The Docker Hub credentials ECR pulls with; ECR requires this name prefix."""
        return f"ecr-pullthroughcache/{self.prefix}-docker-hub"

    @property
    def backup_vault(self) -> str:
        """The AWS Backup vault in the primary region (the DR region's is `<this>-dr`)."""
        return f"{self.prefix}-backups"

    @property
    def dr_backup_vault(self) -> str:
        return f"{self.prefix}-backups-dr"

    @property
    def backup_plan(self) -> str:
        """The database's AWS Backup plan."""
        return f"{self.prefix}-database"

    @property
    def grafana_backup_plan(self) -> str:
        return f"{self.prefix}-grafana"

    @property
    def restore_testing_plan(self) -> str:
        """AWS Backup allows letters, digits and underscores only in this name."""
        return f"{self.prefix.replace('-', '_')}_monthly_restore_test"

    @property
    def dr_final_snapshot_prefix(self) -> str:
        """Snapshots that `dr-standby` takes of the DR database before the stack lets it go."""
        return f"{self.prefix}-dr-final"

    def security_group(self, role: str) -> str:
        """`contractorlens-<role>-sg` for role alb, app or db."""
        return f"{self.prefix}-{role}-sg"

    @property
    def gemini_secret(self) -> str:
        """Secrets Manager name of the Gemini API key an operator sets."""
        return f"{self.prefix}/gemini-api-key"

    @property
    def exec_log_group(self) -> str:
        return f"/ecs/{self.prefix}/exec"

    @property
    def waf_log_group(self) -> str:
        # WAF only logs to groups whose name starts with aws-waf-logs-.
        return f"aws-waf-logs-{self.prefix}"

    @property
    def dr_db_subnet_group(self) -> str:
        """DB subnet group of the DR region's isolated subnets, where restores go."""
        return f"{self.prefix}-db-restored"

    @property
    def dr_db_parameter_group(self) -> str:
        """DB parameter group of a DR restore (the primary's settings)."""
        return f"{self.prefix}-db-restored"

    @property
    def health_check_parameter(self) -> str:
        """SSM parameter, in the DR region, holding the id of the primary's Route 53 health check."""
        return f"{self.parameter_prefix}/dr/primary-health-check-id"

    @property
    def db_resource_id_parameter(self) -> str:
        """SSM parameter, in the DR region, holding the primary instance's DbiResourceId."""
        return f"{self.parameter_prefix}/dr/db-resource-id"

    @property
    def grafana_dashboard_uid(self) -> str:
        """The manual's dashboard at http://grafana-server:3001/d/contractorlens-prod."""
        return "contractorlens-prod" if self.env == "production" else f"contractorlens-{self.env}"

    @property
    def grafana_admin_secret(self) -> str:
        return f"{self.prefix}/grafana-admin"

    @property
    def grafana_log_group(self) -> str:
        return f"/ecs/{self.prefix}/grafana"

    @property
    def private_zone(self) -> str:
        """Private DNS zone of the VPC, where `grafana-server` is."""
        return f"{self.prefix}.internal"

    @property
    def dashboard(self) -> str:
        """The CloudWatch dashboard (manual: "Dashboards > ContractorLens")."""
        return "ContractorLens" if self.env == "production" else f"ContractorLens-{self.title}"

    @property
    def metric_namespace(self) -> str:
        """CloudWatch namespace of the backend's own metrics and of the log-pattern counts."""
        return f"ContractorLens/{self.title}"

    def alarm_topic(self, severity: str) -> str:
        """SNS topic of the manual's "critical" or "warning" alerting channel."""
        return f"contractorlens-{self.env}-alerts-{severity}"

    def alarm(self, what: str) -> str:
        """`contractorlens-<env>-<what>`, e.g. contractorlens-production-api-error-rate."""
        return f"contractorlens-{self.env}-{what}"

    @property
    def parameter_prefix(self) -> str:
        """SSM Parameter Store path of this environment, e.g. /contractorlens/production."""
        return f"/contractorlens/{self.env}"

    @property
    def data_key_alias(self) -> str:
        """Alias of the primary region's KMS key that encrypts the database and its logs."""
        return f"alias/{self.prefix}-data"

    @property
    def flow_log_group(self) -> str:
        return f"/vpc/{self.prefix}/flow-logs"

    @property
    def dr_key_alias(self) -> str:
        """Alias of the DR region's KMS key that encrypts replicated backups and restores."""
        return f"alias/{self.prefix}-dr-data"
