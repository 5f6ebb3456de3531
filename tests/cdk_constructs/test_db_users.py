"""cdk_constructs/db_users.py: the backend's own database role, and the one-off task that makes it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Template
from pglast import parse_sql
from pglast.ast import AlterDefaultPrivilegesStmt, DoStmt, GrantRoleStmt, GrantStmt

from cdk_constructs.db_users import DatabaseUsersTask, app_role_sql
from config.names import MASTER_USERNAME
from tests.cdk_constructs.conftest import built, of_type, one, vpc
from tests.postgres import Cluster, throwaway_cluster

SQL = app_role_sql(app_user="contractorlens_app", database="contractorlens", owner=MASTER_USERNAME)
SECRET = "arn:aws:secretsmanager:us-west-2:123456789012:secret:rds!db-0123-AbCdEf"


def _statements() -> list[Any]:
    return [raw.stmt for raw in parse_sql(SQL)]


def test_the_sql_parses_as_postgresql_statements_of_the_kinds_expected() -> None:
    """PostgreSQL's own parser: the role (only if missing), IAM login, and grants; nothing that
    drops, alters a table, or makes a superuser."""
    kinds = [type(stmt) for stmt in _statements()]
    assert kinds[:2] == [DoStmt, GrantRoleStmt]
    assert set(kinds[2:]) == {GrantStmt, AlterDefaultPrivilegesStmt}
    (do,) = [stmt for stmt in _statements() if isinstance(stmt, DoStmt)]
    body = do.args[0].arg.sval
    assert "IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'contractorlens_app')" in body
    assert "CREATE ROLE contractorlens_app LOGIN;" in body


def test_the_role_logs_in_with_iam_and_is_granted_row_access_only() -> None:
    (grant_role,) = [stmt for stmt in _statements() if isinstance(stmt, GrantRoleStmt)]
    assert [r.priv_name for r in grant_role.granted_roles] == ["rds_iam"]
    assert [r.rolename for r in grant_role.grantee_roles] == ["contractorlens_app"]
    privileges = set()
    for stmt in _statements():
        grant = stmt.action if isinstance(stmt, AlterDefaultPrivilegesStmt) else stmt
        if isinstance(grant, GrantStmt):
            assert grant.is_grant and [r.rolename for r in grant.grantees] == ["contractorlens_app"]
            privileges |= {p.priv_name for p in grant.privileges}
    # No CREATE, TRUNCATE, REFERENCES, TRIGGER or ALL: the backend cannot change the schema.
    assert privileges == {"connect", "usage", "select", "insert", "update", "delete"}


def test_later_tables_of_the_owner_are_granted_too() -> None:
    defaults = [stmt for stmt in _statements() if isinstance(stmt, AlterDefaultPrivilegesStmt)]
    owners = {item.rolename for stmt in defaults for option in stmt.options if option.defname == "roles" for item in option.arg}
    assert owners == {"contractorlens_admin"}


@pytest.mark.parametrize("name", ["App", "app; DROP TABLE x", "1app", "a" * 64])
def test_an_identifier_postgresql_would_need_quoted_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="lower-case PostgreSQL identifier"):
        app_role_sql(app_user=name, database="contractorlens", owner="contractorlens_admin")


def _task(stack: Stack) -> DatabaseUsersTask:
    key = kms.Key(stack, "Key")
    return DatabaseUsersTask(
        stack,
        "DbUsers",
        vpc=vpc(stack),
        cluster_name="contractorlens-admin",
        family="contractorlens-db-users",
        image="public.ecr.aws/docker/library/postgres:17.6-alpine",
        image_cache_prefix="contractorlens-public",
        master_secret=secretsmanager.Secret.from_secret_complete_arn(stack, "Master", SECRET),
        secret_key=key,
        host="db.example",
        port="5432",
        database="contractorlens",
        sql=SQL,
        log_group=logs.LogGroup(stack, "Logs"),
    )


@pytest.fixture(scope="module")
def template() -> Template:
    return built(_task)[1]


def _container(template: Template) -> dict[str, Any]:
    (container,) = one(template, "AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"]
    return container


def test_the_task_runs_psql_with_the_sql_and_stops_on_the_first_error(template: Template) -> None:
    command = _container(template)["Command"]
    assert command[0] == "psql" and "--set=ON_ERROR_STOP=1" in command and command[-1] == SQL


def test_the_master_credentials_come_from_the_secret_and_the_connection_is_encrypted(template: Template) -> None:
    container = _container(template)
    secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
    assert secrets == {"PGUSER": f"{SECRET}:username::", "PGPASSWORD": f"{SECRET}:password::"}
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment["PGSSLMODE"] == "require" and environment["PGHOST"] == "db.example"
    # A lock the backend holds fails the run in seconds; it never hangs until the runbook gives up.
    assert "lock_timeout=10s" in environment["PGOPTIONS"]


def test_the_container_is_not_root_and_cannot_write_its_root(template: Template) -> None:
    container = _container(template)
    assert container["User"] == "postgres" and container["ReadonlyRootFilesystem"] is True


def test_the_image_is_pulled_through_the_accounts_cache(template: Template) -> None:
    assert _container(template)["Image"] == (
        "123456789012.dkr.ecr.us-west-2.amazonaws.com/contractorlens-public/docker/library/postgres:17.6-alpine"
    )
    statements = json.dumps(one(template, "AWS::IAM::Policy")["Properties"]["PolicyDocument"])
    assert "arn:aws:ecr:us-west-2:123456789012:repository/contractorlens-public/*" in statements


def test_the_key_decrypts_through_secrets_manager_only(template: Template) -> None:
    (decrypt,) = [s for s in one(template, "AWS::IAM::Policy")["Properties"]["PolicyDocument"]["Statement"] if s["Action"] == "kms:Decrypt"]
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "secretsmanager.us-west-2.amazonaws.com"}}


def test_its_cluster_is_named_and_revisions_are_kept(template: Template) -> None:
    assert one(template, "AWS::ECS::Cluster")["Properties"]["ClusterName"] == "contractorlens-admin"
    task = one(template, "AWS::ECS::TaskDefinition")
    assert task["Properties"]["Family"] == "contractorlens-db-users"
    assert task["UpdateReplacePolicy"] == "Retain" and not of_type(template, "AWS::ECS::Service")


# --- on a real PostgreSQL 15 -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def applied(template: Template) -> Iterator[tuple[Cluster, list[int]]]:
    """The task's own command, run twice as the master user on a throwaway cluster set up as RDS
    sets up an instance (RDS user guide, "Master user account privileges"): the master user is no
    superuser but has CREATEROLE and CREATEDB and is a member of `rds_superuser`; `rds_iam` exists;
    the database belongs to the master user. A table exists before the run and one is made after.
    Yields the cluster and the two runs' exit codes."""
    container = _container(template)
    libpq = {e["Name"]: e["Value"] for e in container["Environment"] if e["Name"] in ("PGSSLMODE", "PGOPTIONS", "PGCONNECT_TIMEOUT")}
    with throwaway_cluster() as cluster:
        cluster.ok(f"CREATE ROLE rds_superuser NOLOGIN; CREATE ROLE rds_iam NOLOGIN; "
                   f"CREATE ROLE {MASTER_USERNAME} LOGIN CREATEROLE CREATEDB IN ROLE rds_superuser;")  # fmt: skip
        cluster.ok(f"CREATE DATABASE contractorlens OWNER {MASTER_USERNAME};")
        owner = {"user": MASTER_USERNAME, "database": "contractorlens"}
        cluster.ok("CREATE TABLE jobs (id serial PRIMARY KEY, name text NOT NULL);", **owner)
        runs = []
        for _ in range(2):
            done = cluster.run(container["Command"], user=MASTER_USERNAME, database="contractorlens", extra_env=libpq)
            assert done.returncode == 0 or "ERROR" in done.stderr, done.stderr
            runs.append(done.returncode)
        cluster.ok("CREATE TABLE photos (id bigserial PRIMARY KEY, job integer REFERENCES jobs);", **owner)
        yield cluster, runs


def test_the_sql_runs_as_the_master_user_and_again_without_error(applied: tuple[Cluster, list[int]]) -> None:
    """`db-users` is run on every first deploy and may be run again: both runs must succeed."""
    assert applied[1] == [0, 0]


def test_the_app_role_logs_in_through_iam_and_holds_no_other_role_or_attribute(applied: tuple[Cluster, list[int]]) -> None:
    cluster = applied[0]
    roles = cluster.ok("SELECT string_agg(r.rolname, ',' ORDER BY r.rolname) FROM pg_auth_members m "
                       "JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = 'contractorlens_app';")  # fmt: skip
    assert roles == "rds_iam"
    attributes = cluster.ok(
        "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = 'contractorlens_app';"
    )
    assert attributes == "t|f|f|f|f"


@pytest.mark.parametrize("table", ["jobs", "photos"], ids=["made-before", "made-after"])
def test_the_app_role_reads_and_writes_rows_of_tables_made_before_and_after(applied: tuple[Cluster, list[int]], table: str) -> None:
    cluster, app = applied[0], {"user": "contractorlens_app", "database": "contractorlens"}
    columns = "(name) VALUES ('kitchen')" if table == "jobs" else "(job) VALUES (NULL)"
    row = cluster.ok(f"INSERT INTO {table} {columns} RETURNING id;", **app)  # a sequence's nextval too
    assert cluster.ok(f"SELECT count(*) FROM {table} WHERE id = {row};", **app) == "1"
    cluster.ok(f"UPDATE {table} SET id = id WHERE id = {row};", **app)
    cluster.ok(f"DELETE FROM {table} WHERE id = {row};", **app)


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE quotes (id int);",
        "DROP TABLE photos;",
        "ALTER TABLE jobs ADD COLUMN note text;",
        "CREATE INDEX ON jobs (name);",
        "TRUNCATE jobs;",
        "CREATE SCHEMA app;",
        "GRANT SELECT ON jobs TO PUBLIC;",
        "CREATE ROLE intruder LOGIN;",
        "ALTER ROLE contractorlens_app CREATEROLE;",
        "GRANT rds_superuser TO contractorlens_app;",
        f"SET ROLE {MASTER_USERNAME};",
    ],
)
def test_every_schema_or_role_change_by_the_app_role_is_refused(applied: tuple[Cluster, list[int]], statement: str) -> None:
    """The backend cannot change the schema or anyone's rights: migrations run as the owner. (A
    GRANT of what one may not grant is PostgreSQL's warning, not an error: nothing is granted.)"""
    done = applied[0].psql(statement, user="contractorlens_app", database="contractorlens")
    refusals = ("permission denied", "must be owner", "must have admin option", "no privileges were granted")
    assert any(refusal in done.stderr for refusal in refusals), done.stderr
    assert done.returncode != 0 or "WARNING:  no privileges were granted" in done.stderr
