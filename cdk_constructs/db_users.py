"""The one-off Fargate task that creates the backend's own database role (`deploy.sh db-users`)."""

from __future__ import annotations

import re

from aws_cdk import Annotations, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk_constructs.compliance import acknowledge
from cdk_constructs.registry import allow_cached_pull, cached_image

CONTAINER_NAME = "psql"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def app_role_sql(*, app_user: str, database: str, owner: str) -> str:
    """What `db-users` runs as the master user, in one transaction, as often as it is asked.

    The role logs in with IAM tokens only (`rds_iam`), may read and write the rows of every table
    and sequence in `public`, now and later (default privileges of `owner`, who creates them), and
    nothing else: no DDL, no other role's rights, not `rds_superuser`. Each statement is
    idempotent: the role is created only when missing, and a grant already held is a no-op.
    """
    for name in (app_user, database, owner):
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"{name!r}: expected a lower-case PostgreSQL identifier (letters, digits, _)")
    return " ".join(
        [
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{app_user}') THEN CREATE ROLE {app_user} LOGIN; END IF; END $$;",
            f"GRANT rds_iam TO {app_user};",
            f"GRANT CONNECT ON DATABASE {database} TO {app_user};",
            f"GRANT USAGE ON SCHEMA public TO {app_user};",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app_user};",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app_user};",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app_user};",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {app_user};",
        ]
    )


class DatabaseUsersTask(Construct):
    """A cluster of its own and a task definition that runs `psql` once, as the master user.

    The master secret is injected into this task only: the backend's tasks never see it. The
    task is in the Data stack because the role must exist before the Service stack's first
    tasks log in (first deploy: Data, then `db-users`, then Service). It runs in the app's
    subnets with the app's security group, the only group the database admits.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        cluster_name: str,
        family: str,
        image: str,
        master_secret: secretsmanager.ISecret,
        secret_key: kms.IKey,
        host: str,
        port: str,
        database: str,
        sql: str,
        log_group: logs.ILogGroup,
        image_cache_prefix: str | None = None,
    ) -> None:
        """
        :param vpc: the VPC whose private subnets the task runs in (the cluster's VPC).
        :param cluster_name: the cluster `db-users` runs the task on, e.g. contractorlens-admin.
        :param family: the task definition family, e.g. contractorlens-db-users.
        :param image: an image with `psql` (PostgreSQL 15 or later client), pinned; one of Amazon
            ECR Public is pulled through the cache rule with `image_cache_prefix` when given.
        :param master_secret: the RDS-managed master secret (username, password).
        :param secret_key: the key that encrypts it; decrypt is granted through Secrets Manager only.
        :param host: the database's endpoint address.
        :param port: its port.
        :param database: the database `psql` connects to.
        :param sql: what it runs (`app_role_sql`).
        :param log_group: where psql's output goes.
        :param image_cache_prefix: the prefix of the account's pull-through cache rule for Amazon
            ECR Public (`PublicImageCache`). Default: none, `image` as it is.
        """
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        pulled = cached_image(image, prefix=image_cache_prefix, account=stack.account, region=stack.region) if image_cache_prefix else image
        self.cluster = ecs.Cluster(self, "Cluster", vpc=vpc, cluster_name=cluster_name, container_insights_v2=ecs.ContainerInsights.ENABLED)
        self.task_definition = ecs.FargateTaskDefinition(self, "Task", family=family, cpu=256, memory_limit_mib=512)
        # Each change registers a new revision; like the API's, the earlier ones stay ACTIVE.
        self.task_definition.apply_removal_policy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
        container = self._container(
            image=pulled, sql=sql, host=host, port=port, database=database, master_secret=master_secret, log_group=log_group
        )
        # Only through Secrets Manager, for the secret it injects: not a key to decrypt anything with.
        self.task_definition.add_to_execution_role_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[secret_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}},
            )
        )
        if pulled != image and image_cache_prefix:
            allow_cached_pull(self.task_definition, prefix=image_cache_prefix)
            Annotations.of(container).acknowledge_warning(
                "@aws-cdk/aws-ecs:ecrImageRequiresPolicy", "The execution role may pull from the cache's repositories (allow_cached_pull)."
            )
        self._acknowledge_findings()

    def _container(
        self,
        *,
        image: str,
        sql: str,
        host: str,
        port: str,
        database: str,
        master_secret: secretsmanager.ISecret,
        log_group: logs.ILogGroup,
    ) -> ecs.ContainerDefinition:
        return self.task_definition.add_container(
            "Psql",
            container_name=CONTAINER_NAME,
            image=ecs.ContainerImage.from_registry(image),
            command=["psql", "--no-psqlrc", "--set=ON_ERROR_STOP=1", "--command", sql],
            environment={
                "PGHOST": host,
                "PGPORT": port,
                "PGDATABASE": database,
                # Encrypted but unverified: the public postgres image has no RDS CA bundle to
                # verify-full against (README: Database contract, what is not confirmed).
                "PGSSLMODE": "require",
                "PGCONNECT_TIMEOUT": "30",
                # A lock held by the backend fails the run in seconds, rather than hanging it.
                "PGOPTIONS": "-c lock_timeout=10s -c statement_timeout=60s",
            },
            secrets={
                "PGUSER": ecs.Secret.from_secrets_manager(master_secret, "username"),
                "PGPASSWORD": ecs.Secret.from_secrets_manager(master_secret, "password"),
            },
            logging=ecs.LogDrivers.aws_logs(stream_prefix="db-users", log_group=log_group),
            essential=True,
            # The image's postgres user; with --command psql writes nothing (no history).
            user="postgres",
            readonly_root_filesystem=True,
            memory_limit_mib=512,
        )

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.task_definition,
            "AwsSolutions-ECS2",
            "The plain environment variables are the database's host, port and name and libpq's TLS mode; the "
            "credentials come from Secrets Manager.",
        )
        acknowledge(
            self.task_definition.obtain_execution_role().node.find_child("DefaultPolicy"),
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "CDK generates this policy for this execution role only: pull the psql image, read the master secret, "
            "write this task's log group.",
        )
