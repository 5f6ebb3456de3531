"""cdk_constructs/database.py: PostgreSQL 15, and a restore or a read replica of it in another region."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from cdk_constructs.database import (
    BackupReplication,
    InstanceSettings,
    PostgresDatabase,
    ReadReplica,
    RestoredPostgresDatabase,
    RestorePlacement,
    export_log_groups,
)
from tests.cdk_constructs.conftest import built, of_type, one, vpc

SETTINGS = InstanceSettings(
    engine_version="15.17", instance_type="m7g.large", multi_az=True, max_allocated_storage_gib=500,
    backup_retention_days=14, log_exports=("postgresql", "upgrade"), log_retention_days=365,
    monitoring_interval_seconds=60, performance_insights_retention_days=7, extended_support=True,
)  # fmt: skip


def _primary(stack: Stack, *, protected: bool = True) -> PostgresDatabase:
    network = vpc(stack)
    return PostgresDatabase(
        stack, "Database", vpc=network, security_group=ec2.SecurityGroup(stack, "Group", vpc=network), key=kms.Key(stack, "Key"),
        instance_identifier="app-db", database_name="app", master_username="app_admin", settings=SETTINGS,
        allocated_storage_gib=100, slow_query_log_ms=1000, parameter_prefix="/app/test",
        backup_replication=BackupReplication(region="us-east-1", kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/dr", retention_days=14),
        deletion_protection=protected,
    )  # fmt: skip


@pytest.fixture(scope="module")
def primary() -> tuple[PostgresDatabase, Template]:
    return built(_primary)


def _instance(template: Template) -> dict[str, Any]:
    return one(template, "AWS::RDS::DBInstance")


def test_it_is_encrypted_private_multi_az_and_pinned_to_its_version(primary: Any) -> None:
    props = _instance(primary[1])["Properties"]
    assert (props["StorageEncrypted"], props["PubliclyAccessible"], props["MultiAZ"]) == (True, False, True)
    assert (props["EngineVersion"], props["AutoMinorVersionUpgrade"]) == ("15.17", False)
    assert props["DBInstanceIdentifier"] == "app-db" and props["DBName"] == "app"


def test_what_happens_after_standard_support_is_said_in_the_template(primary: Any) -> None:
    """RDS's default enrols the instance in paid Extended Support without a word; the template says it."""
    assert _instance(primary[1])["Properties"]["EngineLifecycleSupport"] == "open-source-rds-extended-support"
    restored = _restored("latest", settings=dataclasses.replace(SETTINGS, extended_support=False))
    assert _instance(restored)["Properties"]["EngineLifecycleSupport"] == "open-source-rds-extended-support-disabled"
    # A replica follows its source: CreateDBInstanceReadReplica takes no such parameter.
    assert "EngineLifecycleSupport" not in _instance(_replica(promoted=False))["Properties"]


def test_rds_manages_the_password_in_secrets_manager(primary: Any) -> None:
    props = _instance(primary[1])["Properties"]
    assert props["ManageMasterUserPassword"] is True and "MasterUserPassword" not in props


def test_removal_snapshots_and_protection_is_a_last_step(primary: Any) -> None:
    instance = _instance(primary[1])
    assert (instance["DeletionPolicy"], instance["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")
    assert "DeletionProtection" not in instance["Properties"]
    (step,) = of_type(primary[1], "Custom::AWS").values()
    assert '"DeletionProtection":true' in str(step["Properties"]["Create"]).replace(" ", "")


def test_without_protection_there_is_no_protection_step() -> None:
    _, template = built(lambda stack: _primary(stack, protected=False))
    assert not of_type(template, "Custom::AWS")


def test_backups_replicate_to_the_other_region_with_its_key(primary: Any) -> None:
    props = _instance(primary[1])["Properties"]
    assert props["AutomaticBackupReplicationRegion"] == "us-east-1"
    assert props["AutomaticBackupReplicationKmsKeyId"].endswith(":key/dr")


def test_slow_statements_are_logged_and_tls_required(primary: Any) -> None:
    parameters = one(primary[1], "AWS::RDS::DBParameterGroup")["Properties"]["Parameters"]
    assert parameters == {"log_min_duration_statement": "1000", "rds.force_ssl": "1"}


def test_exported_logs_go_to_groups_made_first(primary: Any) -> None:
    # (The other group is the protection step's function's.)
    groups = {
        k: name for k, g in of_type(primary[1], "AWS::Logs::LogGroup").items() if isinstance(name := g["Properties"]["LogGroupName"], str)
    }
    assert set(groups.values()) == {"/aws/rds/instance/app-db/postgresql", "/aws/rds/instance/app-db/upgrade"}
    assert set(groups) <= set(_instance(primary[1])["DependsOn"])


def test_endpoint_port_and_secret_are_in_parameter_store(primary: Any) -> None:
    names = {p["Properties"]["Name"] for p in of_type(primary[1], "AWS::SSM::Parameter").values()}
    assert names == {"/app/test/db/endpoint", "/app/test/db/port", "/app/test/db/secret-arn"}


def _placement(stack: Stack) -> tuple[ec2.Vpc, RestorePlacement]:
    network = vpc(stack)
    placement = RestorePlacement(stack, "Placement", vpc=network, subnet_group_name="app-db-dr",
                                 parameter_group_name="app-db-dr", engine_version="15.17", slow_query_log_ms=1000)  # fmt: skip
    return network, placement


def _restored(kind: str, value: str = "", settings: InstanceSettings = SETTINGS) -> Template:
    def build(stack: Stack) -> RestoredPostgresDatabase:
        network, placement = _placement(stack)
        return RestoredPostgresDatabase(
            stack, "Restored", placement=placement, security_group=ec2.SecurityGroup(stack, "Group", vpc=network),
            key=kms.Key(stack, "Key"), instance_identifier="app-db-restored", source_resource_id="db-ABCDEFGHIJKLMNOP",
            restore_kind=kind, restore_value=value, settings=settings,
        )  # fmt: skip

    return built(build, region="us-east-1")[1]


def _replica(*, promoted: bool) -> Template:
    def build(stack: Stack) -> ReadReplica:
        network, placement = _placement(stack)
        key = kms.Key(stack, "Key")
        groups = export_log_groups(stack, instance_identifier="app-db-replica", exports=("postgresql",), retention_days=30, key=key)
        return ReadReplica(
            stack, "Replica", placement=placement, security_group=ec2.SecurityGroup(stack, "Group", vpc=network), key=key,
            instance_identifier="app-db-replica", source_instance_arn="arn:aws:rds:us-west-2:123456789012:db:app-db",
            settings=SETTINGS, log_groups=list(groups.values()), promoted=promoted,
        )  # fmt: skip

    return built(build, region="us-east-1")[1]


def test_a_replica_names_its_source_by_arn_and_is_encrypted_with_this_regions_key() -> None:
    template = _replica(promoted=False)
    replica = _instance(template)
    props = replica["Properties"]
    assert props["SourceDBInstanceIdentifier"] == "arn:aws:rds:us-west-2:123456789012:db:app-db"
    (key,) = of_type(template, "AWS::KMS::Key")
    assert props["KmsKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    # A replica has the source's users and no backups of its own to configure.
    assert "ManageMasterUserPassword" not in props and "BackupRetentionPeriod" not in props
    (group,) = [k for k, g in of_type(template, "AWS::Logs::LogGroup").items() if "app-db-replica" in str(g)]
    assert group in replica["DependsOn"]
    assert one(template, "Custom::AWS")["DependsOn"]  # deletion protection waits for the rest


def test_promoted_it_drops_its_source_and_changes_no_create_only_property() -> None:
    from review.diff import create_only

    standby, active = _instance(_replica(promoted=False))["Properties"], _instance(_replica(promoted=True))["Properties"]
    assert "SourceDBInstanceIdentifier" not in active
    assert active["BackupRetentionPeriod"] == 14 and "ManageMasterUserPassword" not in active
    for (prop,) in create_only("AWS::RDS::DBInstance", "us-east-1"):
        assert standby.get(prop) == active.get(prop), prop


def test_a_restore_from_the_replicated_backups_takes_their_latest_restorable_time() -> None:
    props = _instance(_restored("latest"))["Properties"]
    assert props["UseLatestRestorableTime"] is True and "SourceDBInstanceAutomatedBackupsArn" in props
    assert "StorageEncrypted" not in props  # a restore keeps its source's encryption; CloudFormation refuses it


def test_a_restore_from_a_snapshot_names_the_snapshot() -> None:
    props = _instance(_restored("snapshot", "app-db-final"))["Properties"]
    assert props["DBSnapshotIdentifier"] == "app-db-final" and "SourceDBInstanceAutomatedBackupsArn" not in props


def test_a_restore_to_a_point_in_time_names_the_time() -> None:
    assert _instance(_restored("time", "2026-11-27T18:00:00Z"))["Properties"]["RestoreTime"] == "2026-11-27T18:00:00Z"


def test_an_unknown_restore_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="expected latest, time or snapshot"):
        _restored("yesterday")
