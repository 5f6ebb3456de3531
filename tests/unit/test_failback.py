"""The Data stack through a failback (README: Failback): without its database, with a read replica of
the DR database under the same logical id and name, then promoted in place; the Service stack the
same in every phase."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from cdk_constructs.compliance import add_compliance_checks
from config import load_environment
from config.schema import EnvironmentConfig
from review.diff import create_only
from stacks.data_stack import DataStack
from stacks.network_stack import NetworkStack
from stacks.service_stack import ServiceStack
from tests.synth import CDK_JSON, Synthesis

# The manual's names.
PRIMARY_DB = "contractorlens-db"
DR_DB_ARN = "arn:aws:rds:us-east-1:123456789012:db:contractorlens-db-replica"
PARAMETERS = {f"/contractorlens/production/db/{name}" for name in ("endpoint", "port", "secret-arn")}


def _created_as_replica() -> EnvironmentConfig:
    cfg = load_environment("production")
    return cfg.model_copy(update={"database": cfg.database.model_copy(update={"created_as": "replica"})})


def _primary_stacks(outdir: Path, cfg: EnvironmentConfig, failback: str | None) -> dict[str, dict[str, Any]]:
    """The Data and Service stacks as `npx cdk deploy ContractorLens-Production-Data -c failback=...` builds
    them, through the compliance gates as every synth."""
    app = cdk.App(outdir=str(outdir), context=CDK_JSON["context"], analytics_reporting=False)
    network = NetworkStack(app, cfg=cfg)
    data = DataStack(app, cfg=cfg, network=network.network, failback=failback)
    service = ServiceStack(app, cfg=cfg, network=network.network, data=data.outputs)
    add_compliance_checks(app)
    app.synth()
    return {
        part: json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
        for part, stack in (("Data", data), ("Service", service))
    }


@pytest.fixture(scope="module")
def phases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, Any]]]:
    """new: production as it is; detached, replica, and after: the deploy without -c failback once the
    config says created_as = "replica"."""
    cfg = _created_as_replica()
    found = {
        phase: _primary_stacks(tmp_path_factory.mktemp(phase), cfg, None if phase == "after" else phase)
        for phase in ("detached", "replica", "after")
    }
    return {**found, "new": _primary_stacks(tmp_path_factory.mktemp("new"), load_environment("production"), None)}


def _of_type(template: dict[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == type_name}


def _parameter_names(template: dict[str, Any]) -> set[str]:
    return {r["Properties"]["Name"] for r in _of_type(template, "AWS::SSM::Parameter").values()}


def test_detached_leaves_the_database_out_and_keeps_what_comes_back(phases: dict[str, Any], production: Synthesis) -> None:
    detached = phases["detached"]["Data"]
    assert not _of_type(detached, "AWS::RDS::DBInstance")
    # Nothing that refers to it: no parameters, no protection, no resource id in the DR region.
    assert not _parameter_names(detached) & PARAMETERS
    assert not _of_type(detached, "Custom::AWS").keys() - {k for k in _of_type(detached, "Custom::AWS") if "DrBackupKey" in k}
    # What the instance that comes back uses stays, under the same logical ids.
    kept = {"DataKey", "PostgresqlLogGroup", "UpgradeLogGroup"}
    for type_name in ("AWS::RDS::DBSubnetGroup", "AWS::RDS::DBParameterGroup", "AWS::IAM::Role"):
        kept |= set(_of_type(production.template("Data"), type_name))
    # Only the db-users task leaves with the instance: it is given the master secret, which goes too.
    assert kept - set(detached["Resources"]) == {"DbUsersTaskExecutionRoleB83AC57B", "DbUsersTaskTaskRoleED87BD7E"}
    assert "DbUsersLogGroup" in detached["Resources"]  # a fixed name, kept: it stays in every phase


def test_replica_is_the_same_resource_replicating_the_dr_database(phases: dict[str, Any], production: Synthesis) -> None:
    db = phases["replica"]["Data"]["Resources"]["Database"]
    props = db["Properties"]
    assert props["DBInstanceIdentifier"] == PRIMARY_DB
    assert props["SourceDBInstanceIdentifier"] == DR_DB_ARN
    # CloudFormation refuses these beside a source (cfn-lint F3020) or a replica cannot have them.
    for absent in (
        "MasterUsername",
        "StorageEncrypted",
        "ManageMasterUserPassword",
        "MasterUserSecret",
        "MasterUserPassword",
        "BackupRetentionPeriod",
        # The source's storage, which autoscaling may have grown past database.allocated_storage_gib:
        # asking for less would fail the create, with the stale primary already renamed away.
        "AllocatedStorage",
    ):
        assert absent not in props, absent
    assert not any(k.startswith("AutomaticBackupReplication") for k in props)
    assert props["KmsKeyId"] == {"Fn::GetAtt": ["DataKey", "Arn"]}  # encrypted with the data key all the same
    assert db["DeletionPolicy"] == db["UpdateReplacePolicy"] == "Snapshot"
    assert _parameter_names(phases["replica"]["Data"]) & PARAMETERS == PARAMETERS - {"/contractorlens/production/db/secret-arn"}


def test_the_replica_is_promoted_in_place(phases: dict[str, Any]) -> None:
    """No create-only property may differ between the replica and what follows, or CloudFormation
    would replace contractorlens-db (and a custom name cannot be replaced)."""
    replica = phases["replica"]["Data"]["Resources"]["Database"]["Properties"]
    after = phases["after"]["Data"]["Resources"]["Database"]["Properties"]
    for prop, *_rest in create_only("AWS::RDS::DBInstance", "us-west-2"):
        assert replica.get(prop) == after.get(prop), prop
    assert "SourceDBInstanceIdentifier" not in after
    # The password it has from the DR copy is the master secret's, which the promotion sets again.
    assert after["ManageMasterUserPassword"] is False and after["BackupRetentionPeriod"] == 14
    assert after["MasterUserPassword"] == {
        "Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": "DatabaseMasterSecret"}, ":SecretString:password::}}"]]
    }
    assert after["AutomaticBackupReplicationRegion"] == "us-east-1"
    assert _parameter_names(phases["after"]["Data"]) & PARAMETERS == PARAMETERS


def test_created_as_replica_differs_from_new_only_in_what_a_replica_is_created_without(phases: dict[str, Any]) -> None:
    new = phases["new"]["Data"]["Resources"]["Database"]["Properties"]
    after = phases["after"]["Data"]["Resources"]["Database"]["Properties"]
    # Nor, once promoted, a storage figure below what it has: an update may only grow storage.
    assert {k for k in new.keys() | after.keys() if new.get(k) != after.get(k)} == {
        "MasterUsername",
        "StorageEncrypted",
        "AllocatedStorage",
    }
    assert after["MaxAllocatedStorage"] == new["MaxAllocatedStorage"]  # autoscaling goes on


def test_the_service_stack_is_the_same_in_every_phase(phases: dict[str, Any]) -> None:
    """It reads the database from Parameter Store by fixed names, so no phase of the Data stack changes it."""
    service = phases["new"]["Service"]
    for phase in ("detached", "replica", "after"):
        assert phases[phase]["Service"] == service, phase
    resolved = {p["Default"] for p in service["Parameters"].values() if p["Type"] == "AWS::SSM::Parameter::Value<String>"}
    # Not the master secret's ARN: the backend logs in with an IAM token (database.app_login = "iam").
    assert resolved >= PARAMETERS - {"/contractorlens/production/db/secret-arn"}
