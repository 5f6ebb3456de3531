"""`./scripts/deploy.sh db-password`: production's master password, changed in a rotation's order."""

from __future__ import annotations

import json

import boto3
import pytest

from runbook.credentials import EXCLUDED_CHARACTERS
from tests.runbook.conftest import DR, FAST, PRIMARY

SECRET = "contractorlens/db-master"


def _database() -> None:
    """contractorlens-db, its master password set by the stack."""
    boto3.client("rds", region_name=PRIMARY).create_db_instance(
        DBInstanceIdentifier="contractorlens-db",
        DBInstanceClass="db.m7g.large",
        Engine="postgres",
        MasterUsername="contractorlens_admin",
        MasterUserPassword="first-password-1",
        AllocatedStorage=100,
    )


def _password() -> str:
    """The instance's master password, as moto (in this process) holds it."""
    from moto.rds.models import rds_backends

    return str(rds_backends["123456789012"][PRIMARY].databases["contractorlens-db"]._master_user_password)


@pytest.fixture
def primary(aws: None) -> str:
    """contractorlens-db with its password in the replicated secret, as the Data stack leaves them."""
    secrets = boto3.client("secretsmanager", region_name=PRIMARY)
    value = {"username": "contractorlens_admin", "password": "first-password-1", "host": "db.example"}
    secrets.create_secret(Name=SECRET, SecretString=json.dumps(value), AddReplicaRegions=[{"Region": DR}])
    _database()
    return str(secrets.describe_secret(SecretId=SECRET)["ARN"])


def _stages(region: str = PRIMARY) -> dict[str, list[str]]:
    return boto3.client("secretsmanager", region_name=region).describe_secret(SecretId=SECRET)["VersionIdsToStages"]


def test_the_new_password_is_the_secrets_current_one_in_both_regions(primary: str, run) -> None:
    before = json.loads(boto3.client("secretsmanager", region_name=PRIMARY).get_secret_value(SecretId=SECRET)["SecretString"])
    result = run("db-password", *FAST)
    assert result.code == 0, result.out + result.err
    for region in (PRIMARY, DR):
        found = boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=SECRET, VersionStage="AWSCURRENT")
        after = json.loads(found["SecretString"])
        assert after["password"] != before["password"] and len(after["password"]) == 30, region
        assert {k: v for k, v in after.items() if k != "password"} == {k: v for k, v in before.items() if k != "password"}
        assert not set(after["password"]) & set(EXCLUDED_CHARACTERS)
    assert _password() == after["password"]  # the instance has what the secret holds
    assert sorted(stage for stages in _stages().values() for stage in stages) == ["AWSCURRENT", "AWSPREVIOUS"]
    assert "db-password: all checks passed; now: contractorlens-db's master password is the one in contractorlens/db-master" in result.out


def test_an_interrupted_wait_still_moves_the_secret_to_what_rds_was_given(primary: str, run, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C after RDS took the new password: the secret must not keep the old one."""
    from botocore.waiter import Waiter

    def interrupted(self: Waiter, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Waiter, "wait", interrupted)
    assert run("db-password", *FAST).code == 130
    (current,) = [v for v, stages in _stages().items() if "AWSCURRENT" in stages]
    (previous,) = [v for v, stages in _stages().items() if "AWSPREVIOUS" in stages]
    assert current != previous


def test_where_rds_manages_the_password_it_refuses_in_one_line(aws: None, run) -> None:
    boto3.client("rds", region_name=PRIMARY).create_db_instance(
        DBInstanceIdentifier="contractorlens-staging-db",
        DBInstanceClass="db.t4g.micro",
        Engine="postgres",
        MasterUsername="contractorlens_admin",
        ManageMasterUserPassword=True,
        AllocatedStorage=20,
    )
    result = run("db-password", "--env", "staging", *FAST)
    assert result.code == 2
    assert "RDS manages contractorlens-staging-db's master password in staging and rotates it every 7 days" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_without_the_secret_nothing_changes(aws: None, run) -> None:
    _database()
    result = run("db-password", *FAST)
    assert result.code == 2 and "no secret contractorlens/db-master in us-west-2" in result.err
    assert _password() == "first-password-1"
