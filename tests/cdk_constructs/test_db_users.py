"""cdk_constructs/db_users.py: the backend's own database role, and the one-off task that makes it."""

from __future__ import annotations

import json
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
from tests.cdk_constructs.conftest import built, of_type, one, vpc

SQL = app_role_sql(app_user="contractorlens_app", database="contractorlens", owner="contractorlens_admin")
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
