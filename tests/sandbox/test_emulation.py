"""The emulator behaves like CloudFormation and the services where the lifecycle depends on it:
each test deploys a small template through the CloudFormation API, as the cdk CLI does, and
looks at the account afterwards. One emulator for the module, on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from config import load_environment
from sandbox import emulator
from sandbox.emulator import Running

REGION = "us-west-2"
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    started = emulator.start(load_environment("staging"), tmp_path_factory.mktemp("emulator") / "emulator.log")
    try:
        yield started
    finally:
        emulator.stop(started.pid)


def _cfn(running: Running) -> Any:
    return running.client("cloudformation", REGION)


def _deploy(running: Running, name: str, resources: dict[str, Any], *, update: bool = False) -> str:
    body = json.dumps({"Resources": resources})
    cfn = _cfn(running)
    (cfn.update_stack if update else cfn.create_stack)(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
    return str(cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def _reasons(running: Running, name: str) -> list[str]:
    events = _cfn(running).describe_stack_events(StackName=name)["StackEvents"]
    return [e.get("ResourceStatusReason") or "" for e in events if e["ResourceStatus"].endswith("FAILED")]


def _log_group(name: str, policy: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": name}}
    if policy:
        resource["DeletionPolicy"] = policy
        resource["UpdateReplacePolicy"] = "Retain"
    return resource


def _failing(after: str) -> dict[str, Any]:
    """A resource that fails once `after` exists: an alarm whose period is not a number."""
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "DependsOn": after,
        "Properties": {
            "AlarmName": f"fails-after-{after.lower()}",
            "MetricName": "Errors",
            "Namespace": "Sandbox",
            "Statistic": "Sum",
            "Period": "sixty",
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanThreshold",
        },
    }


def _groups(running: Running) -> set[str]:
    return {g["logGroupName"] for g in running.client("logs", REGION).describe_log_groups()["logGroups"]}


def test_a_failed_create_rolls_back_under_each_deletion_policy(running: Running) -> None:
    status = _deploy(
        running,
        "FailedCreate",
        {
            "Kept": _log_group("/probe/retain", "Retain"),
            "KeptExceptOnCreate": _log_group("/probe/retain-except-on-create", "RetainExceptOnCreate"),
            "Deleted": _log_group("/probe/delete"),
            "Fails": _failing("Deleted"),
        },
    )
    assert status == "ROLLBACK_COMPLETE"
    assert any("Period" in reason for reason in _reasons(running, "FailedCreate"))
    groups = _groups(running)
    assert "/probe/retain" in groups  # the retry would fail on it
    assert "/probe/retain-except-on-create" not in groups and "/probe/delete" not in groups


def test_a_name_taken_outside_the_stack_fails_with_already_exists(running: Running) -> None:
    running.client("logs", REGION).create_log_group(logGroupName="/probe/taken")
    assert _deploy(running, "Taken", {"Group": _log_group("/probe/taken")}) == "ROLLBACK_COMPLETE"
    assert any("with identifier '/probe/taken' already exists" in r and "AlreadyExists" in r for r in _reasons(running, "Taken"))


def test_a_failed_update_puts_the_previous_state_back(running: Running) -> None:
    alarm = _failing("Group")
    alarm["Properties"]["Period"] = 60
    del alarm["DependsOn"]
    alarm["Properties"]["AlarmName"] = "probe-threshold"
    assert _deploy(running, "Update", {"Group": _log_group("/probe/update"), "Alarm": alarm}) == "CREATE_COMPLETE"
    changed = json.loads(json.dumps(alarm))
    changed["Properties"]["Threshold"] = 5
    status = _deploy(
        running,
        "Update",
        {
            "Group": _log_group("/probe/update"),
            "Alarm": changed,
            "Added": _log_group("/probe/added"),
            "Fails": _failing("Added"),
        },
        update=True,
    )
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    (restored,) = running.client("cloudwatch", REGION).describe_alarms(AlarmNames=["probe-threshold"])["MetricAlarms"]
    assert restored["Threshold"] == 1
    assert "/probe/added" not in _groups(running)
    # The stack can be updated again once the cause is fixed.
    assert _deploy(running, "Update", {"Group": _log_group("/probe/update"), "Alarm": changed}, update=True) == "UPDATE_COMPLETE"


def _database(identifier: str) -> dict[str, Any]:
    return {
        "Type": "AWS::RDS::DBInstance",
        "DeletionPolicy": "Snapshot",
        "UpdateReplacePolicy": "Snapshot",
        "Properties": {
            "DBInstanceIdentifier": identifier,
            "DBInstanceClass": "db.t4g.micro",
            "Engine": "postgres",
            "EngineVersion": "15.17",
            "MasterUsername": "probe",
            "MasterUserPassword": "probe-password-1",
            "AllocatedStorage": "20",
        },
    }


def test_a_protected_database_refuses_deletion(running: Running) -> None:
    assert _deploy(running, "Protected", {"Db": _database("probe-protected")}) == "CREATE_COMPLETE"
    rds = running.client("rds", REGION)
    rds.modify_db_instance(DBInstanceIdentifier="probe-protected", DeletionProtection=True, ApplyImmediately=True)
    _cfn(running).delete_stack(StackName="Protected")
    assert _cfn(running).describe_stacks(StackName="Protected")["Stacks"][0]["StackStatus"] == "DELETE_FAILED"
    assert any("Cannot delete protected DB Instance" in r for r in _reasons(running, "Protected"))


def test_removing_a_protected_database_fails_only_in_the_cleanup(running: Running) -> None:
    """CloudFormation removes it from the stack, cannot delete it, and completes the update."""
    assert _deploy(running, "Removed", {"Db": _database("probe-removed")}) == "CREATE_COMPLETE"
    rds = running.client("rds", REGION)
    rds.modify_db_instance(DBInstanceIdentifier="probe-removed", DeletionProtection=True, ApplyImmediately=True)
    assert _deploy(running, "Removed", {"Other": _log_group("/probe/other")}, update=True) == "UPDATE_COMPLETE"
    (stack,) = _cfn(running).describe_stacks(StackName="Removed")["Stacks"]
    assert stack.get("StackStatusReason") == "Update successful. One or more resources could not be deleted."
    assert rds.describe_db_instances(DBInstanceIdentifier="probe-removed")["DBInstances"]
    resources = _cfn(running).list_stack_resources(StackName="Removed")["StackResourceSummaries"]
    assert [r["LogicalResourceId"] for r in resources] == ["Other"]


def test_a_database_renamed_outside_the_stack_is_not_followed(running: Running) -> None:
    """CloudFormation knows the instance by the identifier it created: after a rename an update
    fails NotFound (and so does its rollback: the stack is stuck), while removing the resource
    deletes nothing (the handler's NotFound counts as deleted); a failback relies on the latter."""
    rds = running.client("rds", REGION)
    for stack in ("Renamed", "RenamedRemoved"):
        assert _deploy(running, stack, {"Db": _database(f"probe-{stack.lower()}")}) == "CREATE_COMPLETE"
        rds.modify_db_instance(
            DBInstanceIdentifier=f"probe-{stack.lower()}", NewDBInstanceIdentifier=f"probe-{stack.lower()}-aside", ApplyImmediately=True
        )
    changed = _database("probe-renamed")
    changed["Properties"]["DBInstanceClass"] = "db.t4g.small"
    assert _deploy(running, "Renamed", {"Db": changed}, update=True) == "UPDATE_ROLLBACK_FAILED"
    assert any("not found" in r and "NotFound" in r for r in _reasons(running, "Renamed"))
    assert _deploy(running, "RenamedRemoved", {"Other": _log_group("/probe/renamed")}, update=True) == "UPDATE_COMPLETE"
    for stack in ("Renamed", "RenamedRemoved"):
        (aside,) = rds.describe_db_instances(DBInstanceIdentifier=f"probe-{stack.lower()}-aside")["DBInstances"]
        assert aside["DBInstanceStatus"] == "available" and aside["DBInstanceClass"] == "db.t4g.micro"


def test_a_snapshot_policy_takes_a_final_snapshot(running: Running) -> None:
    assert _deploy(running, "Snapshotted", {"Db": _database("probe-snapshotted")}) == "CREATE_COMPLETE"
    _cfn(running).delete_stack(StackName="Snapshotted")
    snapshots = running.client("rds", REGION).describe_db_snapshots(DBInstanceIdentifier="probe-snapshotted")["DBSnapshots"]
    assert [s["DBSnapshotIdentifier"] for s in snapshots] and snapshots[0]["DBSnapshotIdentifier"].startswith("snapshotted-snapshot-db-")


DR_REGION = "us-east-1"


# A key RDS can use in the DR region (it refuses one KMS does not have there): made by `dr_key`.
DR_KEY = f"arn:aws:kms:{DR_REGION}:{ACCOUNT}:alias/probe-dr"


@pytest.fixture(scope="module")
def dr_key(running: Running) -> str:
    kms = running.client("kms", DR_REGION)
    kms.create_alias(AliasName="alias/probe-dr", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    return DR_KEY


def _replica(source_arn: str, *, promoted: bool = False, kms: bool = True) -> dict[str, Any]:
    props: dict[str, Any] = {
        "DBInstanceIdentifier": "probe-replica",
        "DBInstanceClass": "db.t4g.micro",
        **({"KmsKeyId": DR_KEY} if kms else {}),
    }
    if promoted:
        props |= {"BackupRetentionPeriod": 7, "ManageMasterUserPassword": True}
    else:
        props["SourceDBInstanceIdentifier"] = source_arn
    return {"Type": "AWS::RDS::DBInstance", "DeletionPolicy": "Snapshot", "UpdateReplacePolicy": "Snapshot", "Properties": props}


def _in_dr_region(running: Running, name: str, resources: dict[str, Any], *, update: bool = False) -> str:
    cfn = running.client("cloudformation", DR_REGION)
    (cfn.update_stack if update else cfn.create_stack)(StackName=name, TemplateBody=json.dumps({"Resources": resources}))
    return str(cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def _replica_lag(running: Running) -> list[tuple[float, float]]:
    """(Maximum, SampleCount) of the replica's lag over the last minute."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    points = running.client("cloudwatch", DR_REGION).get_metric_statistics(
        Namespace="AWS/RDS",
        MetricName="ReplicaLag",
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": "probe-replica"}],
        StartTime=now - timedelta(minutes=1),
        EndTime=now,
        Period=60,
        Statistics=["Maximum", "SampleCount"],
    )["Datapoints"]
    return [(p["Maximum"], p["SampleCount"]) for p in points]


@pytest.fixture(scope="module")
def source_arn(running: Running, dr_key: str) -> str:
    """An encrypted primary with automated backups, in the primary region."""
    source = _database("probe-source")
    source["Properties"] |= {"StorageEncrypted": True, "BackupRetentionPeriod": 7}
    assert _deploy(running, "Source", {"Db": source}) == "CREATE_COMPLETE"
    (db,) = running.client("rds", REGION).describe_db_instances(DBInstanceIdentifier="probe-source")["DBInstances"]
    return str(db["DBInstanceArn"])


def _master_secret(name: str) -> dict[str, Any]:
    template = json.dumps({"username": "probe"})
    return {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {"Name": name, "GenerateSecretString": {"SecretStringTemplate": template, "GenerateStringKey": "password"}},
    }


def _password_of(secret: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret}, ":SecretString:password::}}"]]}


def test_a_generated_master_secret_opens_the_instance_and_learns_its_address(running: Running) -> None:
    """The instance's password is read from the secret (a dynamic reference; one to a secret or JSON
    key that is not there fails the resource), and the attachment writes the address into it."""
    db = _database("probe-attached")
    db["Properties"]["MasterUserPassword"] = _password_of("Secret")
    attachment = {
        "Type": "AWS::SecretsManager::SecretTargetAttachment",
        "Properties": {"SecretId": {"Ref": "Secret"}, "TargetId": {"Ref": "Db"}, "TargetType": "AWS::RDS::DBInstance"},
    }
    resources = {"Secret": _master_secret("probe/db-master"), "Db": db, "Attachment": attachment}
    assert _deploy(running, "Attached", resources) == "CREATE_COMPLETE"
    secrets = running.client("secretsmanager", REGION)
    value = json.loads(secrets.get_secret_value(SecretId="probe/db-master")["SecretString"])
    (found,) = running.client("rds", REGION).describe_db_instances(DBInstanceIdentifier="probe-attached")["DBInstances"]
    assert (value["username"], value["host"], value["dbInstanceIdentifier"]) == ("probe", found["Endpoint"]["Address"], "probe-attached")
    missing = _database("probe-unopened")
    missing["Properties"]["MasterUserPassword"] = "{{resolve:secretsmanager:probe/not-there:SecretString:password::}}"
    assert _deploy(running, "Unopened", {"Db": missing}) == "ROLLBACK_COMPLETE"
    assert any("probe/not-there" in reason for reason in _reasons(running, "Unopened"))
    missing["Properties"]["MasterUserPassword"] = "{{resolve:secretsmanager:probe/db-master:SecretString:passwort::}}"
    assert _deploy(running, "Unkeyed", {"Db": missing}) == "ROLLBACK_COMPLETE"
    assert any("no JSON key passwort" in reason for reason in _reasons(running, "Unkeyed"))


def test_no_replica_is_made_of_a_source_whose_password_rds_manages(running: Running) -> None:
    """RDS user guide, 'Password management with Amazon RDS and AWS Secrets Manager', Limitations."""
    source = _database("probe-managed")
    source["Properties"] |= {"BackupRetentionPeriod": 7, "ManageMasterUserPassword": True}
    del source["Properties"]["MasterUserPassword"]
    assert _deploy(running, "ManagedSource", {"Db": source}) == "CREATE_COMPLETE"
    (db,) = running.client("rds", REGION).describe_db_instances(DBInstanceIdentifier="probe-managed")["DBInstances"]
    replica = _replica(str(db["DBInstanceArn"]), kms=False)
    replica["Properties"]["DBInstanceIdentifier"] = "probe-managed-replica"
    assert _in_dr_region(running, "ManagedReplica", {"Db": replica}) == "ROLLBACK_COMPLETE"
    events = running.client("cloudformation", DR_REGION).describe_stack_events(StackName="ManagedReplica")["StackEvents"]
    assert any("where ManageMasterUserPassword is enabled is not supported" in (e.get("ResourceStatusReason") or "") for e in events)


def test_a_cross_region_replica_of_an_encrypted_source_needs_a_key_in_its_region(running: Running, source_arn: str) -> None:
    assert _in_dr_region(running, "KeylessReplica", {"Db": _replica(source_arn, kms=False)}) == "ROLLBACK_COMPLETE"
    cfn = running.client("cloudformation", DR_REGION)
    events = cfn.describe_stack_events(StackName="KeylessReplica")["StackEvents"]
    assert any("KmsKeyId is required" in (e.get("ResourceStatusReason") or "") for e in events)


def test_a_replica_under_a_key_its_region_does_not_hold_fails_its_create(running: Running, source_arn: str) -> None:
    """A key of the primary region, or none at all by that name: RDS cannot use it in us-east-1."""
    primary_key = running.client("kms", REGION).create_key()["KeyMetadata"]["Arn"]
    for name, key in (("OtherRegionKey", primary_key), ("MissingKey", f"arn:aws:kms:{DR_REGION}:{ACCOUNT}:alias/not-there")):
        replica = _replica(source_arn)
        replica["Properties"] |= {"KmsKeyId": key, "DBInstanceIdentifier": f"probe-{name.lower()}"}
        assert _in_dr_region(running, name, {"Db": replica}) == "ROLLBACK_COMPLETE"
        events = running.client("cloudformation", DR_REGION).describe_stack_events(StackName=name)["StackEvents"]
        assert any("KMSKeyNotAccessibleFault" in (e.get("ResourceStatusReason") or "") for e in events), name


def test_a_replica_is_promoted_in_place_and_cannot_become_a_replica_again(running: Running, source_arn: str) -> None:
    rds, primary = running.client("rds", DR_REGION), running.client("rds", REGION)
    assert _in_dr_region(running, "Replica", {"Db": _replica(source_arn)}) == "CREATE_COMPLETE"
    (replica,) = rds.describe_db_instances(DBInstanceIdentifier="probe-replica")["DBInstances"]
    (source,) = primary.describe_db_instances(DBInstanceIdentifier="probe-source")["DBInstances"]
    assert replica["ReadReplicaSourceDBInstanceIdentifier"] == source_arn
    assert replica["DbiResourceId"] != source["DbiResourceId"]
    assert "MasterUserSecret" not in replica and not replica["DeletionProtection"]
    assert _replica_lag(running) == [(0.0, 1.0)]
    # Promotion: the same resource without its source.
    assert _in_dr_region(running, "Replica", {"Db": _replica(source_arn, promoted=True)}, update=True) == "UPDATE_COMPLETE"
    assert _replica_lag(running) == [(0.0, 1.0)]  # the sample from before; a standalone instance adds none
    (promoted,) = rds.describe_db_instances(DBInstanceIdentifier="probe-replica")["DBInstances"]
    assert "ReadReplicaSourceDBInstanceIdentifier" not in promoted
    assert promoted["BackupRetentionPeriod"] == 7 and promoted["MasterUserSecret"]["SecretArn"]
    assert promoted["DbiResourceId"] == replica["DbiResourceId"]  # not replaced
    (source,) = primary.describe_db_instances(DBInstanceIdentifier="probe-source")["DBInstances"]
    assert not source.get("ReadReplicaDBInstanceIdentifiers")
    # A source again is immutable: the update fails and rolls back, the instance stays standalone.
    assert _in_dr_region(running, "Replica", {"Db": _replica(source_arn)}, update=True) == "UPDATE_ROLLBACK_COMPLETE"
    events = running.client("cloudformation", DR_REGION).describe_stack_events(StackName="Replica")["StackEvents"]
    assert any("Resource is immutable" in (e.get("ResourceStatusReason") or "") for e in events)
    # Let go, it leaves a final snapshot (a promoted instance is no replica).
    running.client("cloudformation", DR_REGION).delete_stack(StackName="Replica")
    snapshots = rds.describe_db_snapshots(DBInstanceIdentifier="probe-replica")["DBSnapshots"]
    assert len(snapshots) == 1


def test_a_failure_after_a_promotion_cannot_be_rolled_back(running: Running, source_arn: str) -> None:
    """The rollback would make the promoted instance a replica again, which the handler refuses."""
    replica = _replica(source_arn)
    replica["Properties"]["DBInstanceIdentifier"] = "probe-replica-3"
    assert _in_dr_region(running, "Promoted", {"Db": replica}) == "CREATE_COMPLETE"
    promoted = _replica(source_arn, promoted=True)
    promoted["Properties"]["DBInstanceIdentifier"] = "probe-replica-3"
    status = _in_dr_region(running, "Promoted", {"Db": promoted, "Broken": _failing("Db")}, update=True)
    assert status == "UPDATE_ROLLBACK_FAILED"
    (db,) = running.client("rds", DR_REGION).describe_db_instances(DBInstanceIdentifier="probe-replica-3")["DBInstances"]
    assert "ReadReplicaSourceDBInstanceIdentifier" not in db  # promoted, and it stays so
    # A stack whose rollback failed takes no update (ContinueUpdateRollback is the way on).
    cfn = running.client("cloudformation", DR_REGION)
    with pytest.raises(ClientError, match="UPDATE_ROLLBACK_FAILED state and can not be updated"):
        cfn.create_change_set(
            StackName="Promoted", ChangeSetName="again", ChangeSetType="UPDATE", TemplateBody=json.dumps({"Resources": {"Db": promoted}})
        )


def test_a_replica_is_deleted_without_a_final_snapshot(running: Running, source_arn: str) -> None:
    replica = _replica(source_arn)
    replica["Properties"]["DBInstanceIdentifier"] = "probe-replica-2"
    assert _in_dr_region(running, "Replica2", {"Db": replica}) == "CREATE_COMPLETE"
    running.client("cloudformation", DR_REGION).delete_stack(StackName="Replica2")
    rds = running.client("rds", DR_REGION)
    assert not rds.describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": ["probe-replica-2"]}])["DBInstances"]
    assert not rds.describe_db_snapshots(DBInstanceIdentifier="probe-replica-2")["DBSnapshots"]


def test_a_changed_restore_source_is_immutable(running: Running) -> None:
    db = _database("probe-restore-source")
    assert _deploy(running, "RestoreSource", {"Db": db}) == "CREATE_COMPLETE"
    running.client("rds", REGION).create_db_snapshot(DBInstanceIdentifier="probe-restore-source", DBSnapshotIdentifier="probe-snap-1")
    restored = _database("probe-restored")
    restored["Properties"] = {k: v for k, v in restored["Properties"].items() if k not in ("MasterUsername", "MasterUserPassword")}
    restored["Properties"]["DBSnapshotIdentifier"] = "probe-snap-1"
    assert _deploy(running, "Restored", {"Db": restored}) == "CREATE_COMPLETE"
    running.client("rds", REGION).create_db_snapshot(DBInstanceIdentifier="probe-restored", DBSnapshotIdentifier="probe-snap-2")
    restored["Properties"]["DBSnapshotIdentifier"] = "probe-snap-2"
    assert _deploy(running, "Restored", {"Db": restored}, update=True) == "UPDATE_ROLLBACK_COMPLETE"
    assert any("Resource is immutable" in r for r in _reasons(running, "Restored"))


def _replicating(running: Running, identifier: str, stack: str) -> dict[str, Any]:
    """A database that replicates its automated backups into DR_REGION, as the Data stack's does."""
    source = _database(identifier)
    source["Properties"] |= {
        "BackupRetentionPeriod": 7,
        "AutomaticBackupReplicationRegion": DR_REGION,
        "AutomaticBackupReplicationKmsKeyId": DR_KEY,
    }
    assert _deploy(running, stack, {"Db": source}) == "CREATE_COMPLETE"
    (db,) = running.client("rds", REGION).describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    return dict(db)


def test_replicated_backups_are_found_by_their_sources_resource_id(running: Running, dr_key: str) -> None:
    db = _replicating(running, "probe-replicating", "Replicating")
    rds = running.client("rds", DR_REGION)
    found = rds.describe_db_instance_automated_backups(DbiResourceId=db["DbiResourceId"])["DBInstanceAutomatedBackups"]
    assert [b["DBInstanceIdentifier"] for b in found] == ["probe-replicating"]
    assert not rds.describe_db_instance_automated_backups(DbiResourceId="db-NOTTHISONE")["DBInstanceAutomatedBackups"]


def test_backup_replication_stops_and_the_copies_stay(running: Running, dr_key: str) -> None:
    """What failback's replicate asks of RDS for the stale primary, before it renames it."""
    db = _replicating(running, "probe-stopping", "Stopping")
    dr = running.client("rds", DR_REGION)
    dr.stop_db_instance_automated_backups_replication(SourceDBInstanceArn=db["DBInstanceArn"])
    (copy,) = dr.describe_db_instance_automated_backups(DbiResourceId=db["DbiResourceId"])["DBInstanceAutomatedBackups"]
    assert copy["Status"] == "retained"
    # Only the errors the API lists: a stop of a stopped replication, and of a source never replicated here.
    with pytest.raises(ClientError, match="InvalidDBInstanceState"):
        dr.stop_db_instance_automated_backups_replication(SourceDBInstanceArn=db["DBInstanceArn"])
    with pytest.raises(ClientError, match="DBInstanceNotFound"):
        dr.stop_db_instance_automated_backups_replication(SourceDBInstanceArn=db["DBInstanceArn"].replace("probe-stopping", "probe-never"))


def test_point_in_time_restores_stay_inside_the_restore_window(running: Running, dr_key: str) -> None:
    """dr-restore --time and a backups-mode dr-activate --time: RDS refuses a time outside the
    window, and a source without automated backups."""
    from datetime import UTC, datetime, timedelta

    source = _database("probe-windowed")
    source["Properties"] |= {"BackupRetentionPeriod": 7, "AutomaticBackupReplicationRegion": DR_REGION}
    assert _deploy(running, "Windowed", {"Db": source}) == "CREATE_COMPLETE"
    primary, dr = running.client("rds", REGION), running.client("rds", DR_REGION)
    (db,) = primary.describe_db_instances(DBInstanceIdentifier="probe-windowed")["DBInstances"]
    (backups,) = dr.describe_db_instance_automated_backups(DbiResourceId=db["DbiResourceId"])["DBInstanceAutomatedBackups"]
    window = backups["RestoreWindow"]
    before = window["EarliestTime"] - timedelta(hours=1)
    with pytest.raises(ClientError, match=r"InvalidRestoreFault.*outside the restorable window"):
        dr.restore_db_instance_to_point_in_time(
            SourceDBInstanceAutomatedBackupsArn=backups["DBInstanceAutomatedBackupsArn"],
            TargetDBInstanceIdentifier="probe-too-early",
            RestoreTime=before,
        )
    dr.restore_db_instance_to_point_in_time(
        SourceDBInstanceAutomatedBackupsArn=backups["DBInstanceAutomatedBackupsArn"],
        TargetDBInstanceIdentifier="probe-in-window",
        RestoreTime=window["LatestTime"],
    )
    with pytest.raises(ClientError, match="InvalidRestoreFault"):
        primary.restore_db_instance_to_point_in_time(
            SourceDBInstanceIdentifier="probe-windowed",
            TargetDBInstanceIdentifier="probe-in-the-future",
            RestoreTime=datetime.now(UTC) + timedelta(days=1),
        )
    unbacked = _database("probe-unbacked")
    unbacked["Properties"]["BackupRetentionPeriod"] = 0
    assert _deploy(running, "Unbacked", {"Db": unbacked}) == "CREATE_COMPLETE"
    with pytest.raises(ClientError, match="PointInTimeRestoreNotEnabled"):
        primary.restore_db_instance_to_point_in_time(
            SourceDBInstanceIdentifier="probe-unbacked", TargetDBInstanceIdentifier="probe-never", UseLatestRestorableTime=True
        )


@pytest.mark.parametrize(
    ("name", "change", "refusal"),
    [
        ("probe-downgrade", {"EngineVersion": "15.2"}, "Cannot upgrade postgres from 15.17 to 15.2"),
        (
            "probe-major",
            {"EngineVersion": "16.4"},
            "The AllowMajorVersionUpgrade flag must be present when upgrading to a new major version.",
        ),
        ("probe-shrink", {"AllocatedStorage": 10}, "storage can only grow"),
    ],
)
def test_rds_refuses_a_downgrade_a_silent_major_upgrade_and_less_storage(
    running: Running, name: str, change: dict[str, Any], refusal: str
) -> None:
    """The README's minor-upgrade procedure changes database.engine_version: what RDS refuses must fail here too.

    Each case names its own instance: the emulator is shared by the module (a name made from hash() of
    the refusal collided under another PYTHONHASHSEED and failed CI with DBInstanceAlreadyExists).
    """
    rds = running.client("rds", REGION)
    rds.create_db_instance(
        DBInstanceIdentifier=name, DBInstanceClass="db.t4g.micro", Engine="postgres", EngineVersion="15.17",
        MasterUsername="probe", MasterUserPassword="probe-password-1", AllocatedStorage=20,
    )  # fmt: skip
    with pytest.raises(ClientError, match=re.escape(refusal)):
        rds.modify_db_instance(DBInstanceIdentifier=name, ApplyImmediately=True, **change)
    rds.modify_db_instance(DBInstanceIdentifier=name, ApplyImmediately=True, EngineVersion="15.18", AllocatedStorage=30)


def test_rds_says_when_standard_support_of_postgresql_15_ends(running: Running) -> None:
    """What `checklist monthly` asks (moto has no DescribeDBMajorEngineVersions)."""
    rds = running.client("rds", REGION)
    (version,) = rds.describe_db_major_engine_versions(Engine="postgres", MajorEngineVersion="15")["DBMajorEngineVersions"]
    (lifecycle,) = version["SupportedEngineLifecycles"]
    assert lifecycle["LifecycleSupportName"] == "open-source-rds-standard-support"
    assert lifecycle["LifecycleSupportEndDate"].date().isoformat() == "2028-02-29"
    assert rds.describe_db_major_engine_versions(Engine="postgres", MajorEngineVersion="16")["DBMajorEngineVersions"] == []


def test_rds_refuses_a_bad_instance_class_and_a_parameter_group_of_another_family(running: Running) -> None:
    rds = running.client("rds", REGION)
    rds.create_db_parameter_group(DBParameterGroupName="probe-pg14", DBParameterGroupFamily="postgres14", Description="old")
    base = {
        "Engine": "postgres",
        "EngineVersion": "15.17",
        "MasterUsername": "probe",
        "MasterUserPassword": "probe-password-1",
        "AllocatedStorage": 20,
    }
    with pytest.raises(ClientError, match=r"Invalid DB Instance class: t4g\.micro"):
        rds.create_db_instance(DBInstanceIdentifier="probe-classless", DBInstanceClass="t4g.micro", **base)
    with pytest.raises(ClientError, match="Use a Parameter Group with DBParameterGroupFamily postgres15"):
        rds.create_db_instance(
            DBInstanceIdentifier="probe-family", DBInstanceClass="db.t4g.micro", DBParameterGroupName="probe-pg14", **base
        )


def test_a_stack_whose_groups_an_outside_instance_uses_is_not_deleted(running: Running) -> None:
    """As `dr-restore`'s instance in the DR stack's groups: the stack's deletion stops at them."""
    ec2, rds, cfn = running.client("ec2", REGION), running.client("rds", REGION), _cfn(running)
    vpc = ec2.create_vpc(CidrBlock="10.78.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.78.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    groups = {
        "Subnets": {
            "Type": "AWS::RDS::DBSubnetGroup",
            "Properties": {"DBSubnetGroupName": "probe-in-use", "DBSubnetGroupDescription": "probe", "SubnetIds": subnets},
        },
        "Parameters": {
            "Type": "AWS::RDS::DBParameterGroup",
            "Properties": {"DBParameterGroupName": "probe-in-use", "Family": "postgres15", "Description": "probe"},
        },
    }
    assert _deploy(running, "InUse", groups) == "CREATE_COMPLETE"
    rds.create_db_instance(
        DBInstanceIdentifier="probe-outside", DBInstanceClass="db.t4g.micro", Engine="postgres", EngineVersion="15.17",
        MasterUsername="probe", MasterUserPassword="probe-password-1", AllocatedStorage=20,
        DBSubnetGroupName="probe-in-use", DBParameterGroupName="probe-in-use",
    )  # fmt: skip
    cfn.delete_stack(StackName="InUse")
    assert cfn.describe_stacks(StackName="InUse")["Stacks"][0]["StackStatus"] == "DELETE_FAILED"
    reasons = " ".join(_reasons(running, "InUse"))
    assert "InvalidDBSubnetGroupStateFault" in reasons or "InvalidDBParameterGroupState" in reasons, reasons
    (db,) = rds.describe_db_instances(DBInstanceIdentifier="probe-outside")["DBInstances"]
    assert db["DBSubnetGroup"]["DBSubnetGroupName"] == "probe-in-use"


def test_termination_protection_refuses_delete_stack(running: Running) -> None:
    assert _deploy(running, "Guarded", {"Group": _log_group("/probe/guarded")}) == "CREATE_COMPLETE"
    cfn = _cfn(running)
    cfn.update_termination_protection(StackName="Guarded", EnableTerminationProtection=True)
    with pytest.raises(ClientError, match="cannot be deleted while TerminationProtection is enabled"):
        cfn.delete_stack(StackName="Guarded")
    assert cfn.describe_stacks(StackName="Guarded")["Stacks"][0]["EnableTerminationProtection"] is True


def test_change_sets_are_found_by_stack_and_name(running: Running) -> None:
    """The cdk CLI names every stack's change set `cdk-deploy-change-set`."""
    cfn = _cfn(running)
    for stack in ("First", "Second"):
        body = json.dumps({"Resources": {"Group": _log_group(f"/probe/{stack.lower()}")}})
        cfn.create_change_set(StackName=stack, ChangeSetName="cdk-deploy-change-set", ChangeSetType="CREATE", TemplateBody=body)
        assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
    described = cfn.describe_change_set(StackName="Second", ChangeSetName="cdk-deploy-change-set")
    assert described["StackName"] == "Second"
    assert [c["ResourceChange"]["Action"] for c in described["Changes"]] == ["Add"]
    cfn.execute_change_set(StackName="Second", ChangeSetName="cdk-deploy-change-set")
    assert cfn.describe_stacks(StackName="Second")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert cfn.describe_stacks(StackName="First")["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
    cfn.delete_change_set(StackName="First", ChangeSetName="no-such-change-set")  # by name: already gone
    same = json.dumps({"Resources": {"Group": _log_group("/probe/second")}})
    cfn.create_change_set(StackName="Second", ChangeSetName="again", ChangeSetType="UPDATE", TemplateBody=same)
    unchanged = cfn.describe_change_set(StackName="Second", ChangeSetName="again")
    assert unchanged["Status"] == "FAILED" and unchanged["StatusReason"].startswith("The submitted information didn't contain changes.")


def test_a_change_set_names_each_changed_property_and_whether_it_replaces(running: Running) -> None:
    """DescribeChangeSet's Details, which the cdk CLI's diff reads: without them it hides a changed
    property whose value holds a Ref or Fn::GetAtt (CloudFormation API reference, ResourceChangeDetail)."""
    cfn = _cfn(running)
    statement = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
    key = {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": [statement]}}}
    first = {"Key": key, "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/probe/details", "RetentionInDays": 7}}}
    assert _deploy(running, "Details", first) == "CREATE_COMPLETE"
    second = json.loads(json.dumps(first))
    second["Group"]["Properties"] |= {"RetentionInDays": 30, "KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}
    cfn.create_change_set(
        StackName="Details", ChangeSetName="details", ChangeSetType="UPDATE", TemplateBody=json.dumps({"Resources": second})
    )
    (change,) = [c["ResourceChange"] for c in cfn.describe_change_set(StackName="Details", ChangeSetName="details")["Changes"]]
    assert change["Scope"] == ["Properties"] and change["Replacement"] == "False"
    assert {d["Target"]["Name"]: d["Target"]["RequiresRecreation"] for d in change["Details"]} == {
        "KmsKeyId": "Never",
        "RetentionInDays": "Never",
    }
    renamed = json.loads(json.dumps(first))
    renamed["Group"]["Properties"]["LogGroupName"] = "/probe/details-renamed"
    cfn.create_change_set(
        StackName="Details", ChangeSetName="rename", ChangeSetType="UPDATE", TemplateBody=json.dumps({"Resources": renamed})
    )
    (change,) = [c["ResourceChange"] for c in cfn.describe_change_set(StackName="Details", ChangeSetName="rename")["Changes"]]
    assert change["Replacement"] == "True"
    assert [(d["Target"]["Name"], d["Target"]["RequiresRecreation"]) for d in change["Details"]] == [("LogGroupName", "Always")]


def test_an_ssm_parameter_type_is_resolved_again_by_each_change_set(running: Running) -> None:
    """The same template, but the Parameter Store value behind a parameter changed: the change set
    updates what refers to it (a failback's new database secret reaches the service this way)."""
    ssm, cfn = running.client("ssm", REGION), _cfn(running)
    ssm.put_parameter(Name="/probe/source", Value="first", Type="String")
    body = json.dumps(
        {
            "Parameters": {"Source": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/probe/source"}},
            "Resources": {
                "Copy": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/probe/copy", "Type": "String", "Value": {"Ref": "Source"}}}
            },
        }
    )
    cfn.create_stack(StackName="Resolved", TemplateBody=body)
    cfn.create_change_set(StackName="Resolved", ChangeSetName="same", ChangeSetType="UPDATE", TemplateBody=body)
    assert cfn.describe_change_set(StackName="Resolved", ChangeSetName="same")["Status"] == "FAILED"  # nothing changed
    ssm.put_parameter(Name="/probe/source", Value="second", Type="String", Overwrite=True)
    cfn.create_change_set(StackName="Resolved", ChangeSetName="resolved", ChangeSetType="UPDATE", TemplateBody=body)
    described = cfn.describe_change_set(StackName="Resolved", ChangeSetName="resolved")
    assert [(c["ResourceChange"]["LogicalResourceId"], c["ResourceChange"]["Action"]) for c in described["Changes"]] == [("Copy", "Modify")]
    cfn.execute_change_set(StackName="Resolved", ChangeSetName="resolved")
    assert ssm.get_parameter(Name="/probe/copy")["Parameter"]["Value"] == "second"


def _change(running: Running, stack: str, resources: dict[str, Any], name: str, *, disable_rollback: bool) -> str:
    cfn = _cfn(running)
    body = json.dumps({"Resources": resources})
    cfn.create_change_set(StackName=stack, ChangeSetName=name, ChangeSetType="UPDATE", TemplateBody=body)
    cfn.execute_change_set(StackName=stack, ChangeSetName=name, DisableRollback=disable_rollback)
    return str(cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"])


def test_with_rollback_disabled_a_failed_update_keeps_what_succeeded_and_is_retried(running: Running) -> None:
    assert _deploy(running, "Kept", {"Group": _log_group("/probe/kept")}) == "CREATE_COMPLETE"
    grown = {"Group": _log_group("/probe/kept"), "Added": _log_group("/probe/kept-added"), "Broken": _failing("Added")}
    assert _change(running, "Kept", grown, "first", disable_rollback=True) == "UPDATE_FAILED"
    assert "/probe/kept-added" in _groups(running)  # not rolled back
    fixed = {**grown, "Broken": _log_group("/probe/kept-fixed")}
    assert _change(running, "Kept", fixed, "second", disable_rollback=True) == "UPDATE_COMPLETE"
    assert {"/probe/kept-added", "/probe/kept-fixed"} <= _groups(running)


def test_a_template_url_on_the_emulator_is_read_from_its_s3(running: Running) -> None:
    s3 = running.client("s3", REGION)
    s3.create_bucket(Bucket="probe-templates", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="probe-templates", Key="t.json", Body=json.dumps({"Resources": {"Group": _log_group("/probe/url")}}).encode())
    _cfn(running).create_stack(StackName="FromUrl", TemplateURL=f"{running.endpoint}/probe-templates/t.json")
    assert _cfn(running).describe_stacks(StackName="FromUrl")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def _task(image: str, retain: bool) -> dict[str, Any]:
    task: dict[str, Any] = {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {
            "Family": f"probe-{'retain' if retain else 'default'}",
            "ContainerDefinitions": [{"Name": "app", "Image": image, "Memory": 512}],
        },
    }
    if retain:
        task["UpdateReplacePolicy"] = "Retain"
    return task


@pytest.mark.parametrize("retain", [False, True], ids=["default-policy", "retain-on-replace"])
def test_a_replaced_task_definition_is_deregistered_unless_retained(running: Running, retain: bool) -> None:
    """CloudFormation deregisters the replaced revision (aws/aws-cdk#24372) unless
    UpdateReplacePolicy is Retain: deploy.sh rollback needs it ACTIVE."""
    stack = f"Task{'Retain' if retain else 'Default'}"
    _deploy(running, stack, {"Task": _task("app:1", retain)})
    assert _deploy(running, stack, {"Task": _task("app:2", retain)}, update=True) == "UPDATE_COMPLETE"
    family = f"probe-{'retain' if retain else 'default'}"
    active = running.client("ecs", REGION).list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"]
    assert [arn.rsplit(":", 1)[1] for arn in active] == (["1", "2"] if retain else ["2"])


def test_security_groups_have_exactly_the_templates_rules(running: Running) -> None:
    ec2 = running.client("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    ec2.associate_vpc_cidr_block(VpcId=vpc, AmazonProvidedIpv6CidrBlock=True)
    _deploy(
        running,
        "Groups",
        {
            "Public": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {
                    "GroupDescription": "public",
                    "VpcId": vpc,
                    "SecurityGroupIngress": [
                        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"},
                        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIpv6": "::/0"},
                    ],
                },
            },
            "Closed": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {
                    "GroupDescription": "closed",
                    "VpcId": vpc,
                    "SecurityGroupEgress": [
                        {"IpProtocol": "icmp", "FromPort": 252, "ToPort": 86, "CidrIp": "255.255.255.255/32"},
                    ],
                },
            },
        },
    )
    groups = {g["Description"]: g for g in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]}
    public, closed = groups["public"], groups["closed"]
    ingress_v4 = {r["CidrIp"] for p in public["IpPermissions"] for r in p["IpRanges"]}
    ingress_v6 = {r["CidrIpv6"] for p in public["IpPermissions"] for r in p["Ipv6Ranges"]}
    assert (ingress_v4, ingress_v6) == ({"0.0.0.0/0"}, {"::/0"})
    # IPv4 allow-all kept without SecurityGroupEgress; no IPv6 default egress for CloudFormation's groups.
    assert [(p["IpProtocol"], p["IpRanges"], p["Ipv6Ranges"]) for p in public["IpPermissionsEgress"]] == [
        ("-1", [{"CidrIp": "0.0.0.0/0"}], [])
    ]
    assert [(p["IpProtocol"], p["IpRanges"][0]["CidrIp"]) for p in closed["IpPermissionsEgress"]] == [("icmp", "255.255.255.255/32")]


# What a task execution role needs to pull from the account's ECR, through a cache rule too, and
# read a secret (ECS developer guide, "Task execution IAM role"; ECR, "pull through cache IAM").
PULL = ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
PULL_THROUGH = [*PULL, "ecr:BatchImportUpstreamImage", "ecr:CreateRepository", "secretsmanager:GetSecretValue"]


def _execution_role(actions: list[str], resource: str = "*") -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            },
            "Policies": [
                {
                    "PolicyName": "execution",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}],
                    },
                }
            ],
        },
    }


def _service_stack(image: str, execution: list[str] = PULL) -> dict[str, Any]:
    return {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": "probe"}},
        "ExecutionRole": _execution_role(execution),
        "Task": {
            "Type": "AWS::ECS::TaskDefinition",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Family": "probe-app",
                "ExecutionRoleArn": {"Fn::GetAtt": ["ExecutionRole", "Arn"]},
                "ContainerDefinitions": [{"Name": "app", "Image": image, "Memory": 512, "Essential": True}],
            },
        },
        "Service": {
            "Type": "AWS::ECS::Service",
            "Properties": {
                "ServiceName": "probe",
                "Cluster": {"Ref": "Cluster"},
                "TaskDefinition": {"Ref": "Task"},
                "DesiredCount": 2,
                "DeploymentConfiguration": {"DeploymentCircuitBreaker": {"Enable": True, "Rollback": True}},
            },
        },
    }


def _push(running: Running, repository: str, tag: str, region: str = REGION) -> str:
    ecr = running.client("ecr", region)
    with contextlib.suppress(ClientError):
        ecr.create_repository(repositoryName=repository)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": "sha256:" + "b" * 64},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1, "digest": _layer(tag)}],
    }
    ecr.put_image(repositoryName=repository, imageTag=tag, imageManifest=json.dumps(manifest))
    return f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{repository}:{tag}"


def _layer(tag: str) -> str:
    """A build's layer: each tag pushed here is a build of its own."""
    return "sha256:" + tag.encode().hex().ljust(64, "0")[:64]


def test_a_service_whose_image_is_not_pushed_fails_its_create(running: Running) -> None:
    image = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/probe-app:missing"
    assert _deploy(running, "NoImage", _service_stack(image)) == "ROLLBACK_COMPLETE"
    assert any("Circuit Breaker was triggered" in r for r in _reasons(running, "NoImage"))


STARTS = [*PULL, "secretsmanager:GetSecretValue", "ssm:GetParameters", "logs:CreateLogStream", "logs:PutLogEvents"]


def _starting(image: str, **container: Any) -> dict[str, Any]:
    stack = _service_stack(image, STARTS)
    stack["Task"]["Properties"]["ContainerDefinitions"][0] |= container
    return stack


@pytest.mark.parametrize(
    ("case", "container", "reason"),
    [
        (
            "missing-json-key",
            {"Secrets": [{"Name": "DB_PASSWORD", "ValueFrom": {"Fn::Join": ["", [{"Ref": "Secret"}, ":passwort::"]]}}]},
            "did not contain json key passwort",
        ),
        ("missing-parameter", {"Secrets": [{"Name": "FLAG", "ValueFrom": "/probe/not-there"}]}, "invalid ssm parameters: /probe/not-there"),
        (
            "missing-log-group",
            {
                "LogConfiguration": {
                    "LogDriver": "awslogs",
                    "Options": {"awslogs-group": "/probe/none", "awslogs-region": REGION, "awslogs-stream-prefix": "app"},
                }
            },
            "The specified log group does not exist. (/probe/none)",
        ),
    ],
)
def test_a_service_whose_task_cannot_start_fails_its_deployment(
    running: Running, case: str, container: dict[str, Any], reason: str
) -> None:
    """ECS stops such a task with ResourceInitializationError, the circuit breaker fails the
    deployment and the stack rolls back (the emulator used to check the image alone, and secrets
    only on RunTask)."""
    image = _push(running, f"probe-{case}", "1.0.0")
    secret = {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": f"probe-{case}", "SecretString": '{"password": "p"}'}}

    def stack(**extra: Any) -> dict[str, Any]:
        found = _starting(image, **extra)
        found["Cluster"]["Properties"]["ClusterName"] = found["Service"]["Properties"]["ServiceName"] = f"probe-{case}"
        return found | {"Secret": secret}

    name = "Starts" + case.title().replace("-", "")
    assert _deploy(running, name, stack()) == "CREATE_COMPLETE"
    assert _deploy(running, name, stack(**container), update=True) == "UPDATE_ROLLBACK_COMPLETE"
    assert any("Circuit Breaker was triggered" in r for r in _reasons(running, name))
    (service,) = running.client("ecs", REGION).describe_services(cluster=f"probe-{case}", services=[f"probe-{case}"])["services"]
    failed = [e["message"] for e in service["events"] if "deployment failed" in e["message"]]
    assert failed and "ResourceInitializationError" in failed[0] and reason in failed[0], failed


def test_a_task_whose_secrets_and_log_group_are_there_starts(running: Running) -> None:
    image = _push(running, "probe-starts", "1.0.0")
    running.client("ssm", REGION).put_parameter(Name="/probe/there", Value="on", Type="String")
    container = {
        "Secrets": [
            {"Name": "DB_PASSWORD", "ValueFrom": {"Fn::Join": ["", [{"Ref": "Secret"}, ":password::"]]}},
            {"Name": "FLAG", "ValueFrom": "/probe/there"},
        ],
        "LogConfiguration": {
            "LogDriver": "awslogs",
            "Options": {"awslogs-group": "/probe/made", "awslogs-region": REGION, "awslogs-create-group": "true"},
        },
    }
    stack = _starting(image, **container)
    stack["Cluster"]["Properties"]["ClusterName"] = stack["Service"]["Properties"]["ServiceName"] = "probe-starts"
    stack["Secret"] = {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "probe-starts", "SecretString": '{"password": "p"}'}}
    assert _deploy(running, "Starts", stack) == "CREATE_COMPLETE", _reasons(running, "Starts")


def test_a_fargate_task_size_outside_fargates_table_is_refused(running: Running) -> None:
    ecs = running.client("ecs", REGION)
    container = [{"name": "app", "image": "public.ecr.aws/nginx/nginx:1", "essential": True}]
    fargate = {"requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "containerDefinitions": container}
    ecs.register_task_definition(family="probe-size", cpu="1024", memory="3072", **fargate)  # 1 vCPU: 2-8 GB
    ecs.register_task_definition(family="probe-size", cpu="0.25 vCPU", memory="0.5 GB", **fargate)
    with pytest.raises(ClientError, match=r"ClientException.*No Fargate configuration exists for given values: 256 CPU, 4096 memory"):
        ecs.register_task_definition(family="probe-size", cpu="256", memory="4096", **fargate)


def test_a_load_balancer_naming_a_container_or_port_the_task_lacks_is_refused(running: Running) -> None:
    ecs = running.client("ecs", REGION)
    ecs.create_cluster(clusterName="probe-wiring")
    container = {"name": "app", "image": "public.ecr.aws/nginx/nginx:1", "essential": True, "memory": 512}
    ecs.register_task_definition(family="probe-wiring", containerDefinitions=[container | {"portMappings": [{"containerPort": 8080}]}])
    target_group = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/probe/0123456789abcdef"
    for balancer, message in (
        ({"containerName": "api", "containerPort": 8080}, "The container api does not exist in the task definition."),
        ({"containerName": "app", "containerPort": 3000}, "The container app did not have a container port 3000 defined."),
    ):
        with pytest.raises(ClientError, match=re.escape(message)):
            ecs.create_service(
                cluster="probe-wiring",
                serviceName="probe-wiring",
                taskDefinition="probe-wiring",
                desiredCount=0,
                loadBalancers=[balancer | {"targetGroupArn": target_group}],
            )


def test_deployments_complete_and_a_failed_one_is_rolled_back(running: Running) -> None:
    good = _push(running, "probe-app", "1.0.0")
    assert _deploy(running, "App", _service_stack(good)) == "CREATE_COMPLETE"
    ecs = running.client("ecs", REGION)
    (service,) = ecs.describe_services(cluster="probe", services=["probe"])["services"]
    assert [d["rolloutState"] for d in service["deployments"]] == ["COMPLETED"] and service["runningCount"] == 2
    before = service["deployments"][0]["id"]
    ecs.update_service(cluster="probe", service="probe", forceNewDeployment=True)
    (service,) = ecs.describe_services(cluster="probe", services=["probe"])["services"]
    assert service["deployments"][0]["id"] != before and service["deployments"][0]["rolloutState"] == "COMPLETED"
    # A release whose image is missing: the update fails and the stack is rolled back.
    missing = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/probe-app:2.0.0"
    assert _deploy(running, "App", _service_stack(missing), update=True) == "UPDATE_ROLLBACK_COMPLETE"
    (service,) = ecs.describe_services(cluster="probe", services=["probe"])["services"]
    image = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]["containerDefinitions"][0]["image"]
    assert image == good
    with pytest.raises(ClientError, match=r"ClientException.*Invalid revision number"):
        ecs.update_service(cluster="probe", service="probe", taskDefinition="probe-app:NOTANUMBER")


def test_a_services_tasks_run_its_revision_on_the_digest_each_deployment_resolved(running: Running) -> None:
    """What `deploy.sh` verifies a release by: ListTasks of the service (moto listed every task of
    the cluster), each task on the service's revision, its container on the digest ECR holds for the
    tag (moto gave layerless images one digest, and service tasks none)."""
    stack = _service_stack(_push(running, "probe-tasks", "1.0.0"))
    stack["Task"]["Properties"]["Family"] = "probe-tasks"
    stack["Cluster"]["Properties"]["ClusterName"] = stack["Service"]["Properties"]["ServiceName"] = "probe-tasks"
    assert _deploy(running, "Tasks", stack) == "CREATE_COMPLETE"
    ecs, ecr = running.client("ecs", REGION), running.client("ecr", REGION)

    def running_tasks() -> list[tuple[str, str]]:
        arns = ecs.list_tasks(cluster="probe-tasks", serviceName="probe-tasks", desiredStatus="RUNNING")["taskArns"]
        tasks = ecs.describe_tasks(cluster="probe-tasks", tasks=arns)["tasks"] if arns else []
        return [(t["taskDefinitionArn"].rsplit("/", 1)[1], t["containers"][0]["imageDigest"]) for t in tasks]

    def digest(tag: str) -> str:
        return str(ecr.describe_images(repositoryName="probe-tasks", imageIds=[{"imageTag": tag}])["imageDetails"][0]["imageDigest"])

    assert running_tasks() == [("probe-tasks:1", digest("1.0.0"))] * 2
    stack["Task"]["Properties"]["ContainerDefinitions"][0]["Image"] = _push(running, "probe-tasks", "1.1.0")
    assert _deploy(running, "Tasks", stack, update=True) == "UPDATE_COMPLETE"
    assert digest("1.1.0") != digest("1.0.0")
    assert running_tasks() == [("probe-tasks:2", digest("1.1.0"))] * 2
    ecs.update_service(cluster="probe-tasks", service="probe-tasks", desiredCount=3)
    assert running_tasks() == [("probe-tasks:2", digest("1.1.0"))] * 3
    assert ecs.list_tasks(cluster="probe-tasks", serviceName="another")["taskArns"] == []


def test_an_execution_role_that_cannot_log_in_to_the_registry_trips_the_circuit_breaker_until_it_can(running: Running) -> None:
    """Fargate logs in to ECR with the execution role before it pulls: without
    ecr:GetAuthorizationToken the task stops with ResourceInitializationError, the first deployment
    fails, the create rolls back; the same template with the permission is created on the retry."""
    image = _push(running, "probe-login", "1.0.0")
    stack = _service_stack(image, execution=[a for a in PULL if a != "ecr:GetAuthorizationToken"])
    stack["Task"]["Properties"]["Family"] = "probe-login"
    stack["Cluster"]["Properties"]["ClusterName"] = stack["Service"]["Properties"]["ServiceName"] = "probe-login"
    assert _deploy(running, "NoLogin", stack) == "ROLLBACK_COMPLETE"
    assert any("Circuit Breaker was triggered" in r for r in _reasons(running, "NoLogin"))
    _cfn(running).delete_stack(StackName="NoLogin")
    stack["ExecutionRole"] = _execution_role(PULL)
    assert _deploy(running, "NoLogin", stack) == "CREATE_COMPLETE"


def _key(running: Running, *, delegates: bool) -> str:
    """A customer-managed key whose policy lets the account's IAM decide (delegates), or names only the root user's own use."""
    root = f"arn:aws:iam::{ACCOUNT}:root"
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"}
    if not delegates:
        statement["Action"] = ["kms:Describe*", "kms:Put*", "kms:ScheduleKeyDeletion"]
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    return str(running.client("kms", REGION).create_key(Policy=policy)["KeyMetadata"]["Arn"])


@pytest.mark.parametrize(
    ("delegates", "decrypt", "started"),
    [(True, True, True), (True, False, False), (False, True, False)],
    ids=["key-and-role-allow", "role-may-not-decrypt", "key-policy-does-not-delegate"],
)
def test_a_secret_under_a_customer_key_is_read_only_when_the_role_and_the_key_policy_allow_it(
    running: Running, delegates: bool, decrypt: bool, started: bool
) -> None:
    """ECS decrypts the secret through Secrets Manager with the execution role: kms:Decrypt must be
    in the role's policy and the key policy must let IAM decide (KMS developer guide, "Key policies")."""
    cluster = f"keyed-{delegates}-{decrypt}".lower()
    key = _key(running, delegates=delegates)
    secret = running.client("secretsmanager", REGION).create_secret(Name=f"probe-{cluster}", SecretString='{"password": "p"}', KmsKeyId=key)
    image = _push(running, f"probe-{cluster}", "1.0.0")
    actions = [*PULL, "secretsmanager:GetSecretValue", *(["kms:Decrypt"] if decrypt else [])]
    assert _deploy(running, f"Keyed{delegates}{decrypt}", _one_off_stack(image, secret["ARN"], cluster, actions)) == "CREATE_COMPLETE"
    stopped = _run_once(running, cluster)
    if started:
        assert stopped["containers"][0]["exitCode"] == 0, stopped.get("stoppedReason")
    else:
        assert stopped["stoppedReason"].startswith("ResourceInitializationError: unable to pull secrets or registry auth")
        assert "unable to retrieve secret from asm" in stopped["stoppedReason"] and "kms:Decrypt" in stopped["stoppedReason"]
        assert "exitCode" not in stopped["containers"][0]


def test_the_awslogs_driver_needs_the_execution_role_to_make_its_stream(running: Running) -> None:
    image = _push(running, "probe-logged", "1.0.0")
    stack = _one_off_stack(image, "arn:aws:secretsmanager:us-west-2:123456789012:secret:unused", "logged", PULL)
    container = stack["Task"]["Properties"]["ContainerDefinitions"][0]
    container.pop("Secrets")
    container["LogConfiguration"] = {"LogDriver": "awslogs", "Options": {"awslogs-group": "/probe/logged", "awslogs-region": REGION}}
    assert _deploy(running, "Logged", stack) == "CREATE_COMPLETE"
    stopped = _run_once(running, "logged")
    assert stopped["stoppedReason"].startswith("ResourceInitializationError: failed to validate logger args")
    assert "logs:CreateLogStream" in stopped["stoppedReason"]
    # The grant CDK writes: the group's Fn::GetAtt Arn, which CloudFormation returns ending in `:*`.
    stack["Group"] = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/probe/logged"}}
    policy = stack["ExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    policy["Statement"].append(
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": {"Fn::GetAtt": ["Group", "Arn"]}}
    )
    assert _deploy(running, "Logged", stack, update=True) == "UPDATE_COMPLETE"
    stopped = _run_once(running, "logged")
    assert stopped["containers"][0]["exitCode"] == 0, stopped.get("stoppedReason")


def test_a_replica_secret_is_read_by_its_partial_arn_under_its_own_regions_key(running: Running) -> None:
    """As the DR stack's task reads the API key's replica: `valueFrom` is the partial ARN in us-east-1,
    and the replica is encrypted with the key its replica configuration names, which the role must
    be allowed to use there."""
    dr = "us-east-1"
    primary_key = _key(running, delegates=True)
    dr_key = running.client("kms", dr).create_key(Policy=json.dumps(_delegating_policy()))["KeyMetadata"]["Arn"]
    running.client("secretsmanager", REGION).create_secret(
        Name="probe/replicated",
        SecretString='{"password": "k"}',
        KmsKeyId=primary_key,
        AddReplicaRegions=[{"Region": dr, "KmsKeyId": dr_key}],
    )
    partial = f"arn:aws:secretsmanager:{dr}:{ACCOUNT}:secret:probe/replicated"
    image = _push(running, "probe-dr", "1.0.0", dr)
    for cluster, key in (("dr-primary-key", primary_key), ("dr-replica-key", dr_key)):
        stack = _one_off_stack(image, partial, cluster, PULL)
        policy = stack["ExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        policy["Statement"].append({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": f"{partial}-??????"})
        policy["Statement"].append({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key})
        cfn = running.client("cloudformation", dr)
        cfn.create_stack(
            StackName=f"Replica{cluster.title().replace('-', '')}",
            TemplateBody=json.dumps({"Resources": stack}),
            Capabilities=["CAPABILITY_IAM"],
        )
        stopped = _run_once(running, cluster, region=dr)
        if key == dr_key:
            assert stopped["containers"][0].get("exitCode") == 0, stopped.get("stoppedReason")
        else:  # the primary region's key does not decrypt the replica
            assert "unable to retrieve secret from asm" in stopped["stoppedReason"] and "kms:Decrypt" in stopped["stoppedReason"]


def _delegating_policy() -> dict[str, Any]:
    root = f"arn:aws:iam::{ACCOUNT}:root"
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"}]}


def test_a_role_updated_in_place_gets_its_new_inline_policy(running: Running) -> None:
    """CloudFormation updates a role's `Policies` in place: a permission an update adds takes effect."""
    image = _push(running, "probe-updated", "1.0.0")
    stack = _one_off_stack(image, "unused", "updated", [a for a in PULL if a != "ecr:GetAuthorizationToken"])
    stack["Task"]["Properties"]["ContainerDefinitions"][0].pop("Secrets")
    assert _deploy(running, "Updated", stack) == "CREATE_COMPLETE"
    assert "ecr:GetAuthorizationToken" in _run_once(running, "updated")["stoppedReason"]
    stack["ExecutionRole"] = _execution_role(PULL)
    assert _deploy(running, "Updated", stack, update=True) == "UPDATE_COMPLETE"
    stopped = _run_once(running, "updated")
    assert stopped["containers"][0]["exitCode"] == 0, stopped.get("stoppedReason")


def test_health_answers_200_only_while_healthy_tasks_run(running: Running) -> None:
    """The stand-in /health is the primary region's `contractorlens-staging` service: not deployed
    in this emulator, so no task runs and it must not answer 200."""
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(running.health_url, timeout=5)
    assert failed.value.code == 503


def test_fn_cidr_splits_as_cloudformation_documents() -> None:
    """The documentation's example: `!Cidr [192.168.0.0/24, 6, 5]` gives six /27 blocks."""
    from sandbox.emulation.cloudformation import _cidr

    assert _cidr("192.168.0.0/24", 6, 5) == [f"192.168.0.{32 * i}/27" for i in range(6)]
    assert _cidr("2600:1f14:abc:de00::/56", 2, 64) == ["2600:1f14:abc:de00::/64", "2600:1f14:abc:de01::/64"]


HANDLERS = "package/custom-resource-handlers/dist"


def _handler_zip(*members: tuple[str, str]) -> bytes:
    """A custom resource's function as `cdk synth` bundles it, from the pinned aws-cdk-lib: each
    (file in the zip, its source in the library's package)."""
    import glob
    import io
    import tarfile
    import zipfile
    from pathlib import Path

    import aws_cdk

    (tgz,) = glob.glob(str(Path(aws_cdk.__file__).parent / "_jsii" / "aws-cdk-lib@*.jsii.tgz"))
    out = io.BytesIO()
    with tarfile.open(tgz) as bundle, zipfile.ZipFile(out, "w") as archive:
        for name, source in members:
            member = bundle.extractfile(f"{HANDLERS}/{source}")
            assert member is not None
            archive.writestr(name, member.read())
    return out.getvalue()


def _function(running: Running, key: str, code: bytes, handler: str) -> dict[str, Any]:
    """A Lambda function of that code, its zip put in the emulator's S3 as the cdk CLI puts an asset."""
    s3 = running.client("s3", REGION)
    with contextlib.suppress(ClientError):
        s3.create_bucket(Bucket="probe-assets", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="probe-assets", Key=key, Body=code)
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Code": {"S3Bucket": "probe-assets", "S3Key": key},
            "Handler": handler,
            "Runtime": "nodejs24.x",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
        },
    }


def _lambda_role() -> dict[str, Any]:
    trust = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [trust]}}}


def _custom_resource_stack(running: Running, call: dict[str, Any]) -> dict[str, Any]:
    code = _handler_zip(("index.js", "custom-resources/aws-custom-resource-handler/index.js"))
    return {
        "Role": _lambda_role(),
        "Handler": _function(running, "aws-custom-resource.zip", code, "index.handler"),
        "Call": {
            "Type": "Custom::AWS",
            "Properties": {"ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]}, "Create": json.dumps(call), "InstallLatestAwsSdk": False},
        },
    }


def test_the_default_security_group_is_closed_by_cdks_own_handler(running: Running) -> None:
    """Custom::VpcRestrictDefaultSG's function (CDK's provider entrypoint and handler, with the
    pinned @aws-sdk/client-ec2) revokes the default group's all-traffic egress and self-reference."""
    code = _handler_zip(
        ("__entrypoint__.js", "core/nodejs-entrypoint-handler/index.js"),
        ("index.js", "aws-ec2/restrict-default-security-group-handler/index.js"),
    )
    stack = {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.78.0.0/16"}},
        "Role": _lambda_role(),
        "Handler": _function(running, "restrict-default-sg.zip", code, "__entrypoint__.handler"),
        "Restrict": {
            "Type": "Custom::VpcRestrictDefaultSG",
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": ["Handler", "Arn"]},
                "DefaultSecurityGroupId": {"Fn::GetAtt": ["Vpc", "DefaultSecurityGroup"]},
                "Account": ACCOUNT,
            },
        },
    }
    assert _deploy(running, "Restricted", stack) == "CREATE_COMPLETE", _reasons(running, "Restricted")
    vpc = running.client("cloudformation", REGION).describe_stack_resource(StackName="Restricted", LogicalResourceId="Vpc")
    ec2 = running.client("ec2", REGION)
    (group,) = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc["StackResourceDetail"]["PhysicalResourceId"]]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"]
    assert group["IpPermissions"] == [] and group["IpPermissionsEgress"] == []


def test_a_custom_resource_runs_cdks_own_handler_with_the_sdk_clients_lambda_provides(running: Running) -> None:
    """The handler resolves the service to its SDK v3 client, makes the call against the emulator,
    flattens the answer and filters it by outputPaths, as in Lambda (the emulator made the call itself)."""
    running.client("ssm", REGION).put_parameter(Name="/probe/handler", Value="from-the-sdk", Type="String")
    call = {
        "service": "SSM",
        "action": "getParameter",
        "parameters": {"Name": "/probe/handler"},
        "outputPaths": ["Parameter.Value"],
        "physicalResourceId": {"id": "probe-handler"},
    }
    stack = _custom_resource_stack(running, call)
    stack["Echo"] = {
        "Type": "AWS::SSM::Parameter",
        "Properties": {"Name": "/probe/echo", "Type": "String", "Value": {"Fn::GetAtt": ["Call", "Parameter.Value"]}},
    }
    assert _deploy(running, "Handler", stack) == "CREATE_COMPLETE", _reasons(running, "Handler")
    assert running.client("ssm", REGION).get_parameter(Name="/probe/echo")["Parameter"]["Value"] == "from-the-sdk"


@pytest.mark.parametrize(
    ("service", "message"),
    [
        ("ElasticLoadBalancingV2", "Package @aws-sdk/client-elasticloadbalancingv2 does not exist"),
        ("SSM", "Unable to find command named: NoSuchThingCommand"),
    ],
    ids=["unknown-client", "unknown-command"],
)
def test_a_custom_resource_whose_handler_cannot_make_its_call_fails_as_cloudformation_reports_it(
    running: Running, service: str, message: str
) -> None:
    """aws/aws-cdk: the handler maps `ELBv2` (v2 name) or `@aws-sdk/client-elastic-load-balancing-v2` to its client; the
    class name `ElasticLoadBalancingV2` is in neither map, so the call fails at deploy time, never at synth."""
    action = "modifyLoadBalancerAttributes" if service.startswith("Elastic") else "noSuchThing"
    call = {"service": service, "action": action, "parameters": {}, "physicalResourceId": {"id": "probe"}}
    name = f"BadCall{service[:3]}"
    assert _deploy(running, name, _custom_resource_stack(running, call)) == "ROLLBACK_COMPLETE"
    reasons = " ".join(_reasons(running, name))
    assert "Received response status [FAILED] from custom resource" in reasons and message in reasons


def _vault(name: str, **lock: int) -> dict[str, Any]:
    properties: dict[str, Any] = {"BackupVaultName": name}
    if lock:
        properties["LockConfiguration"] = lock
    return {
        "Type": "AWS::Backup::BackupVault",
        "DeletionPolicy": "RetainExceptOnCreate",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }


def test_a_vault_is_made_with_its_lock_and_a_plan_and_restore_testing_plan_with_it(running: Running) -> None:
    plan = {
        "Type": "AWS::Backup::BackupPlan",
        "Properties": {
            "BackupPlan": {
                "BackupPlanName": "probe-plan",
                "BackupPlanRule": [
                    {
                        "RuleName": "Daily",
                        "TargetBackupVault": {"Ref": "Vault"},
                        "ScheduleExpression": "cron(0 5 * * ? *)",
                        "Lifecycle": {"DeleteAfterDays": 35},
                    }
                ],
            }
        },
    }
    testing = {
        "Type": "AWS::Backup::RestoreTestingPlan",
        "Properties": {
            "RestoreTestingPlanName": "probe_monthly",
            "ScheduleExpression": "cron(0 6 ? * 3#1 *)",
            "RecoveryPointSelection": {"Algorithm": "LATEST_WITHIN_WINDOW", "IncludeVaults": ["*"], "RecoveryPointTypes": ["SNAPSHOT"]},
        },
    }
    vault = _vault("probe-vault", MinRetentionDays=7, MaxRetentionDays=365, ChangeableForDays=3)
    assert _deploy(running, "Vaults", {"Vault": vault, "Plan": plan, "Testing": testing}) == "CREATE_COMPLETE"
    backup = running.client("backup", REGION)
    described = backup.describe_backup_vault(BackupVaultName="probe-vault")
    assert described["Locked"] and (described["MinRetentionDays"], described["MaxRetentionDays"]) == (7, 365)
    assert [p["BackupPlanName"] for p in backup.list_backup_plans()["BackupPlansList"]] == ["probe-plan"]
    arn = backup.get_restore_testing_plan(RestoreTestingPlanName="probe_monthly")["RestoreTestingPlan"]["RestoreTestingPlanArn"]
    # Nothing runs here: no recovery point, no restore job.
    assert backup.list_recovery_points_by_backup_vault(BackupVaultName="probe-vault")["RecoveryPoints"] == []
    assert backup.list_restore_jobs(ByRestoreTestingPlanArn=arn)["RestoreJobs"] == []
    _cfn(running).delete_stack(StackName="Vaults")
    # The vault outlives its stack; the plans go with it.
    assert backup.describe_backup_vault(BackupVaultName="probe-vault")["BackupVaultName"] == "probe-vault"
    assert backup.list_backup_plans()["BackupPlansList"] == []
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        backup.get_restore_testing_plan(RestoreTestingPlanName="probe_monthly")
    # A stack made again (after a destroy, or a failed first create) makes its plan again by name.
    assert _deploy(running, "VaultsAgain", {"Plan": plan, "Vault": _vault("probe-vault-2")}) == "CREATE_COMPLETE"


def test_a_lock_the_template_drops_is_removed_within_its_grace_time(running: Running) -> None:
    assert _deploy(running, "LockGoes", {"Vault": _vault("probe-lock", MinRetentionDays=7, ChangeableForDays=3)}) == "CREATE_COMPLETE"
    assert _deploy(running, "LockGoes", {"Vault": _vault("probe-lock")}, update=True) == "UPDATE_COMPLETE"
    assert not running.client("backup", REGION).describe_backup_vault(BackupVaultName="probe-lock").get("Locked")


def test_a_kept_vaults_name_makes_the_next_create_fail_with_already_exists(running: Running) -> None:
    assert _deploy(running, "VaultOnce", {"Vault": _vault("probe-kept")}) == "CREATE_COMPLETE"
    _cfn(running).delete_stack(StackName="VaultOnce")
    assert _deploy(running, "VaultAgain", {"Vault": _vault("probe-kept")}) == "ROLLBACK_COMPLETE"
    assert any("AlreadyExists" in r or "already exists" in r for r in _reasons(running, "VaultAgain"))
    # A failed first create deletes the vault it made (RetainExceptOnCreate): the retry is not blocked.
    assert _deploy(running, "VaultFails", {"Vault": _vault("probe-new"), "Fails": _failing("Vault")}) == "ROLLBACK_COMPLETE"
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        running.client("backup", REGION).describe_backup_vault(BackupVaultName="probe-new")


def _one_off_stack(
    image: str, secret_arn: dict[str, Any] | str, cluster: str = "admin", execution: list[str] = PULL_THROUGH
) -> dict[str, Any]:
    return {
        "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": cluster}},
        "ExecutionRole": _execution_role(execution),
        "Task": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": f"one-off-{cluster}",
                "ExecutionRoleArn": {"Fn::GetAtt": ["ExecutionRole", "Arn"]},
                "RequiresCompatibilities": ["FARGATE"],
                "NetworkMode": "awsvpc",
                "Cpu": "256",
                "Memory": "512",
                "ContainerDefinitions": [
                    {
                        "Name": "psql",
                        "Image": image,
                        "Essential": True,
                        "Memory": 512,
                        "Secrets": [{"Name": "PGPASSWORD", "ValueFrom": {"Fn::Join": ["", [secret_arn, ":password::"]]}}],
                    }
                ],
            },
        },
    }


def _run_once(running: Running, cluster: str = "admin", *, region: str = REGION) -> dict[str, Any]:
    ec2, ecs = running.client("ec2", region), running.client("ecs", region)
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # as CDK's VPCs have it
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"probe-{subnet}", Description="probe", VpcId=vpc)["GroupId"]
    (task,) = ecs.run_task(
        cluster=cluster,
        taskDefinition=f"one-off-{cluster}",
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}},
    )["tasks"]
    ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=[task["taskArn"]], WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    (stopped,) = ecs.describe_tasks(cluster=cluster, tasks=[task["taskArn"]])["tasks"]
    return stopped


def test_one_off_tasks_stop_with_exit_0_only_when_their_image_and_secrets_resolve(running: Running) -> None:
    """As `db-users` runs its task: pulled through a cache rule (the repository made on the first
    pull), the master secret read. Nothing runs in the container: exit 0 proves only the wiring."""
    secrets = running.client("secretsmanager", REGION)
    secret = secrets.create_secret(Name="probe-master", SecretString='{"username": "u", "password": "p"}')["ARN"]
    cached = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/probe-public/docker/library/postgres:17.6-alpine"
    rule = {
        "Type": "AWS::ECR::PullThroughCacheRule",
        "Properties": {"EcrRepositoryPrefix": "probe-public", "UpstreamRegistryUrl": "public.ecr.aws"},
    }
    assert _deploy(running, "NoCacheRule", _one_off_stack(cached, secret)) == "CREATE_COMPLETE"
    stopped = _run_once(running)
    assert stopped["lastStatus"] == "STOPPED" and "exitCode" not in stopped["containers"][0]
    assert stopped["stoppedReason"].startswith("CannotPullContainerError: repository probe-public/docker/library/postgres not found")
    assert _deploy(running, "CacheRule", {"Rule": rule}) == "CREATE_COMPLETE"
    for _ in range(2):  # the first pull creates the repository; the second finds it
        stopped = _run_once(running)
        assert stopped["containers"][0]["exitCode"] == 0, stopped.get("stoppedReason")
    assert running.client("ecr", REGION).describe_repositories(repositoryNames=["probe-public/docker/library/postgres"])["repositories"]
    # One rule per prefix in a region.
    assert _deploy(running, "CacheRuleAgain", {"Rule": rule}) == "ROLLBACK_COMPLETE"
    assert any("PullThroughCacheRuleAlreadyExistsException" in r for r in _reasons(running, "CacheRuleAgain"))
    # A secret that is not there: the task never starts its container.
    secrets.delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)
    stopped = _run_once(running)
    assert (
        stopped["stoppedReason"].startswith("ResourceInitializationError: unable to pull secrets")
        and "exitCode" not in stopped["containers"][0]
    )


def test_a_pull_through_a_rule_with_credentials_fails_until_they_are_set(running: Running) -> None:
    """As Grafana's image from Docker Hub: the stack's placeholder user is refused upstream."""
    secrets = running.client("secretsmanager", REGION)
    master = secrets.create_secret(Name="probe-master-2", SecretString='{"username": "u", "password": "p"}')["ARN"]
    resources = {
        "Credentials": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Name": "ecr-pullthroughcache/probe-hub",
                "GenerateSecretString": {"SecretStringTemplate": '{"username": "set-me"}', "GenerateStringKey": "accessToken"},
            },
        },
        "Rule": {
            "Type": "AWS::ECR::PullThroughCacheRule",
            "Properties": {
                "EcrRepositoryPrefix": "probe-hub",
                "UpstreamRegistry": "docker-hub",
                "UpstreamRegistryUrl": "registry-1.docker.io",
                "CredentialArn": {"Ref": "Credentials"},
            },
        },
    }
    assert _deploy(running, "HubCache", resources) == "CREATE_COMPLETE"
    image = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/probe-hub/grafana/grafana-oss:11.6.3"
    assert _deploy(running, "HubTask", _one_off_stack(image, master, "hub")) == "CREATE_COMPLETE"
    stopped = _run_once(running, "hub")
    assert "UnableToGetUpstreamImageException" in stopped["stoppedReason"]
    secrets.put_secret_value(SecretId="ecr-pullthroughcache/probe-hub", SecretString='{"username": "team", "accessToken": "t"}')
    stopped = _run_once(running, "hub")
    assert stopped["containers"][0].get("exitCode") == 0, stopped["stoppedReason"]
    # The first pull keeps the image in the cached repository (moto's: none), where a deploy's
    # verification finds the digest the tasks run.
    cached = running.client("ecr", REGION).describe_images(repositoryName="probe-hub/grafana/grafana-oss")["imageDetails"]
    assert [i["imageTags"] for i in cached] == [["11.6.3"]]
    # A rule whose secret does not exist is refused.
    missing = dict(resources["Rule"], Properties=dict(resources["Rule"]["Properties"], EcrRepositoryPrefix="probe-hub-2"))
    missing["Properties"]["CredentialArn"] = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ecr-pullthroughcache/none-AbCdEf"
    assert _deploy(running, "HubCacheNoSecret", {"Rule": missing}) == "ROLLBACK_COMPLETE"
    assert any("SecretNotFoundException" in r for r in _reasons(running, "HubCacheNoSecret"))


def test_an_alarm_set_to_alarm_publishes_to_its_topic_and_sns_counts_it(running: Running) -> None:
    """`checklist weekly`'s alerting test: SetAlarmState, then SNS's own metrics."""
    sns, cw = running.client("sns", REGION), running.client("cloudwatch", REGION)
    topic = sns.create_topic(Name="probe-warning")["TopicArn"]
    # The e-mail subscription is not confirmed yet, so only the queue counts as delivered.
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="oncall@example.com")
    sqs = running.client("sqs", REGION)
    queue = sqs.get_queue_attributes(QueueUrl=sqs.create_queue(QueueName="probe-inbox")["QueueUrl"], AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue["Attributes"]["QueueArn"])
    cw.put_metric_alarm(
        AlarmName="probe-alerting-test", MetricName="AlertingTest", Namespace="Probe", Statistic="Maximum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[topic], OKActions=[topic],
    )  # fmt: skip
    cw.set_alarm_state(AlarmName="probe-alerting-test", StateValue="ALARM", StateReason="test")
    cw.set_alarm_state(AlarmName="probe-alerting-test", StateValue="OK", StateReason="test done")
    cw.set_alarm_state(AlarmName="probe-alerting-test", StateValue="OK", StateReason="no change: no message")
    now = datetime.now(UTC)

    def total(metric: str) -> float:
        points = cw.get_metric_statistics(
            Namespace="AWS/SNS", MetricName=metric, Dimensions=[{"Name": "TopicName", "Value": "probe-warning"}],
            StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1), Period=360, Statistics=["Sum"],
        )["Datapoints"]  # fmt: skip
        return sum(p["Sum"] for p in points)

    assert total("NumberOfMessagesPublished") == 2 and total("NumberOfNotificationsDelivered") == 2
    # SNS lists the e-mail subscription as pending until its endpoint confirms it (moto listed it confirmed).
    listed = {x["Protocol"]: x["SubscriptionArn"] for x in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
    assert listed["email"] == "PendingConfirmation" and listed["sqs"].startswith(topic)
    with pytest.raises(ClientError, match="Invalid token"):
        sns.confirm_subscription(TopicArn=topic, Token="someone-else@example.com")
    sns.confirm_subscription(TopicArn=topic, Token="oncall@example.com")
    assert all(x["SubscriptionArn"] != "PendingConfirmation" for x in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"])
    cw.set_alarm_state(AlarmName="probe-alerting-test", StateValue="ALARM", StateReason="test again, confirmed")
    now = datetime.now(UTC)
    assert total("NumberOfMessagesPublished") == 3 and total("NumberOfNotificationsDelivered") == 4


@pytest.mark.parametrize("cloudwatch_may_use_the_key", [True, False], ids=["key-policy-names-cloudwatch", "key-policy-does-not"])
def test_an_alarm_publishes_to_an_encrypted_topic_only_when_its_key_policy_lets_cloudwatch_use_the_key(
    running: Running, cloudwatch_may_use_the_key: bool
) -> None:
    """SNS developer guide, "Key management": CloudWatch publishes with the topic's key as itself, so
    the key policy must name cloudwatch.amazonaws.com (delegating to the account is not enough)."""
    policy = _delegating_policy()
    if cloudwatch_may_use_the_key:
        policy["Statement"].append(
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            }
        )
    key = running.client("kms", REGION).create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    sns, cw = running.client("sns", REGION), running.client("cloudwatch", REGION)
    name = f"probe-encrypted-{cloudwatch_may_use_the_key}".lower()
    topic = sns.create_topic(Name=name, Attributes={"KmsMasterKeyId": key})["TopicArn"]
    cw.put_metric_alarm(
        AlarmName=name, MetricName="AlertingTest", Namespace="Probe", Statistic="Maximum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[topic],
    )  # fmt: skip
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")
    now = datetime.now(UTC)
    points = cw.get_metric_statistics(
        Namespace="AWS/SNS", MetricName="NumberOfMessagesPublished", Dimensions=[{"Name": "TopicName", "Value": name}],
        StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1), Period=360, Statistics=["Sum"],
    )["Datapoints"]  # fmt: skip
    assert sum(p["Sum"] for p in points) == (1 if cloudwatch_may_use_the_key else 0)


@pytest.mark.parametrize("logs_may_use_the_key", [True, False], ids=["key-policy-names-logs", "key-policy-does-not"])
def test_a_log_group_under_a_key_is_created_only_when_its_key_policy_lets_cloudwatch_logs_use_it(
    running: Running, logs_may_use_the_key: bool
) -> None:
    name = f"/probe/keyed-{logs_may_use_the_key}".lower()
    policy = _delegating_policy()
    if logs_may_use_the_key:
        context = {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"}}
        policy["Statement"].append(
            {
                "Effect": "Allow", "Principal": {"Service": f"logs.{REGION}.amazonaws.com"}, "Resource": "*", "Condition": context,
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            }
        )  # fmt: skip
    key = running.client("kms", REGION).create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    group = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": name, "KmsKeyId": key}}
    stack = f"KeyedLogs{logs_may_use_the_key}"
    assert _deploy(running, stack, {"Group": group}) == ("CREATE_COMPLETE" if logs_may_use_the_key else "ROLLBACK_COMPLETE")
    if logs_may_use_the_key:
        (found,) = running.client("logs", REGION).describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        assert found["kmsKeyId"] == key
    else:
        assert any("is not allowed to be used with Arn" in r for r in _reasons(running, stack))


def test_percentiles_are_answered_from_the_raw_values(running: Running) -> None:
    cw = running.client("cloudwatch", REGION)
    now = datetime.now(UTC)
    cw.put_metric_data(Namespace="Probe", MetricData=[{"MetricName": "Latency", "Value": float(v), "Timestamp": now} for v in range(1, 21)])
    (point,) = cw.get_metric_statistics(
        Namespace="Probe", MetricName="Latency", StartTime=now - timedelta(minutes=1), EndTime=now + timedelta(minutes=1),
        Period=120, ExtendedStatistics=["p95", "p50"],
    )["Datapoints"]  # fmt: skip
    assert point["ExtendedStatistics"] == {"p95": 19.0, "p50": 10.0}


def test_a_schedule_is_made_through_eventbridge_schedulers_api(running: Running) -> None:
    resources = {
        "Schedule": {
            "Type": "AWS::Scheduler::Schedule",
            "Properties": {
                "Name": "probe-daily",
                "ScheduleExpression": "cron(0 8 * * ? *)",
                "ScheduleExpressionTimezone": "America/Los_Angeles",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "Target": {"Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:probe", "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/probe"},
            },
        }
    }
    assert _deploy(running, "Scheduled", resources) == "CREATE_COMPLETE"
    schedule = running.client("scheduler", REGION).get_schedule(Name="probe-daily")
    assert schedule["ScheduleExpressionTimezone"] == "America/Los_Angeles" and schedule["Target"]["Arn"].endswith(":function:probe")
    _cfn(running).delete_stack(StackName="Scheduled")
    with pytest.raises(ClientError, match="ResourceNotFound"):
        running.client("scheduler", REGION).get_schedule(Name="probe-daily")


def test_scan_on_push_scans_each_image_of_its_own_digest(running: Running) -> None:
    """Three releases whose manifests differ and have no layers (to which moto gave one digest):
    each push lands and is scanned; a scan by one shared digest would find the first image again
    and fail the next push (make sandbox's bad releases did)."""
    ecr = running.client("ecr", REGION)
    ecr.create_repository(repositoryName="probe-scanned", imageScanningConfiguration={"scanOnPush": True})
    for tag in ("1.0.0", "1.0.1", "1.0.2"):  # three builds: manifests that differ, as the sandbox's pushes do
        config = {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1,
            "digest": "sha256:" + tag.encode().hex().ljust(64, "0"),
        }
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "config": config, "layers": []}
        ecr.put_image(repositoryName="probe-scanned", imageTag=tag, imageManifest=json.dumps(manifest))
    for tag in ("1.0.0", "1.0.1", "1.0.2"):
        findings = ecr.describe_image_scan_findings(repositoryName="probe-scanned", imageId={"imageTag": tag})
        assert findings["imageScanStatus"]["status"] == "COMPLETE"
    # Each its own digest, the SHA-256 of its manifest (ECR API reference, ImageIdentifier).
    digests = {i["imageDigest"] for i in ecr.describe_images(repositoryName="probe-scanned")["imageDetails"]}
    assert len(digests) == 3


def test_a_changed_cache_rule_is_replaced_and_fails_on_its_own_prefix(running: Running) -> None:
    """Every AWS::ECR::PullThroughCacheRule property is create-only: a change replaces the rule,
    and the new one's prefix is still the old one's (one rule per prefix)."""
    secrets = running.client("secretsmanager", REGION)
    first = secrets.create_secret(Name="ecr-pullthroughcache/probe-one", SecretString='{"username": "a", "accessToken": "b"}')["ARN"]
    second = secrets.create_secret(Name="ecr-pullthroughcache/probe-two", SecretString='{"username": "a", "accessToken": "b"}')["ARN"]

    def rule(credential: str) -> dict[str, Any]:
        return {
            "Rule": {
                "Type": "AWS::ECR::PullThroughCacheRule",
                "Properties": {
                    "EcrRepositoryPrefix": "probe-swap",
                    "UpstreamRegistry": "docker-hub",
                    "UpstreamRegistryUrl": "registry-1.docker.io",
                    "CredentialArn": credential,
                },
            }
        }

    assert _deploy(running, "SwapRule", rule(first)) == "CREATE_COMPLETE"
    assert _deploy(running, "SwapRule", rule(second), update=True) == "UPDATE_ROLLBACK_COMPLETE"
    assert any("PullThroughCacheRuleAlreadyExistsException" in r for r in _reasons(running, "SwapRule"))


def _experiment_stack(
    image: str, *, action_key: str = "Tasks", service: str = "fisprobe", description: str = "lose half"
) -> dict[str, Any]:
    """A service of two tasks, an alarm, and an experiment template that stops half its tasks."""
    resources = _service_stack(image)
    resources["Cluster"]["Properties"]["ClusterName"] = "fisprobe"
    resources["Service"]["Properties"]["ServiceName"] = "fisprobe"
    resources["Task"]["Properties"]["Family"] = "fisprobe-app"
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    alarm = {
        "AlarmName": "fisprobe-down", "MetricName": "Down", "Namespace": "Probe", "Statistic": "Maximum", "Period": 60,
        "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    }  # fmt: skip
    return {
        **resources,
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "fisprobe", "AssumeRolePolicyDocument": trust}},
        "Down": {"Type": "AWS::CloudWatch::Alarm", "Properties": alarm},
        "Experiment": {
            "Type": "AWS::FIS::ExperimentTemplate",
            "DependsOn": "Service",
            "Properties": {
                "Description": description,
                "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                "StopConditions": [{"Source": "aws:cloudwatch:alarm", "Value": {"Fn::GetAtt": ["Down", "Arn"]}}],
                "Targets": {
                    "Api": {
                        "ResourceType": "aws:ecs:task",
                        "SelectionMode": "PERCENT(50)",
                        "Parameters": {"cluster": "fisprobe", "service": service},
                    }
                },
                "Actions": {"Stop": {"ActionId": "aws:ecs:stop-task", "Targets": {action_key: "Api"}}},
                "Tags": {"Name": "fisprobe-task-loss"},
            },
        },
    }


def _probe_template(running: Running) -> str:
    (found,) = [
        t["id"]
        for t in running.client("fis", REGION).list_experiment_templates()["experimentTemplates"]
        if t["tags"].get("Name") == "fisprobe-task-loss"
    ]
    return str(found)


def _run_experiment(running: Running, template_id: str) -> list[tuple[str, int]]:
    """Start an experiment and poll it until it ends: its states, with the service's running tasks at each."""
    fis, ecs = running.client("fis", REGION), running.client("ecs", REGION)
    experiment = fis.start_experiment(clientToken=str(time.time()), experimentTemplateId=template_id)["experiment"]["id"]
    seen = []
    for _ in range(10):
        status = fis.get_experiment(id=experiment)["experiment"]["state"]["status"]
        (service,) = ecs.describe_services(cluster="fisprobe", services=["fisprobe"])["services"]
        seen.append((status, service["runningCount"]))
        if status in ("completed", "stopped", "failed"):
            break
    return seen


def test_an_experiment_template_is_checked_made_updated_run_and_deleted(running: Running) -> None:
    image = _push(running, "fisprobe-app", "1.0.0")
    # An action with a target key its action does not take: CreateExperimentTemplate refuses it.
    assert _deploy(running, "Fis", _experiment_stack(image, action_key="Instances")) == "ROLLBACK_COMPLETE"
    assert any("aws:ecs:stop-task takes target key Tasks, not Instances" in r for r in _reasons(running, "Fis"))
    _cfn(running).delete_stack(StackName="Fis")
    assert _deploy(running, "Fis", _experiment_stack(image)) == "CREATE_COMPLETE"
    template = _probe_template(running)
    assert _deploy(running, "Fis", _experiment_stack(image, description="lose half, again"), update=True) == "UPDATE_COMPLETE"
    assert _probe_template(running) == template  # updated in place
    assert running.client("fis", REGION).get_experiment_template(id=template)["experimentTemplate"]["description"] == "lose half, again"
    # One state per poll; while it runs, half the tasks are gone; ECS has them back when it ends.
    assert _run_experiment(running, template) == [("initiating", 2), ("running", 1), ("completed", 2)]
    running.client("cloudwatch", REGION).set_alarm_state(AlarmName="fisprobe-down", StateValue="ALARM", StateReason="test")
    assert _run_experiment(running, template)[-1] == ("stopped", 2)
    running.client("cloudwatch", REGION).set_alarm_state(AlarmName="fisprobe-down", StateValue="OK", StateReason="test")
    _cfn(running).delete_stack(StackName="Fis")
    assert running.client("fis", REGION).list_experiment_templates()["experimentTemplates"] == []


def test_an_experiment_whose_target_resolves_to_nothing_fails(running: Running) -> None:
    image = _push(running, "fisprobe-app", "1.0.1")
    assert _deploy(running, "FisNoTarget", _experiment_stack(image, service="absent")) == "CREATE_COMPLETE"
    fis = running.client("fis", REGION)
    experiment = fis.start_experiment(clientToken="absent", experimentTemplateId=_probe_template(running))["experiment"]["id"]
    state = fis.get_experiment(id=experiment)["experiment"]["state"]
    assert state["status"] == "failed" and "Target resolution failed for Api" in state["reason"]
    _cfn(running).delete_stack(StackName="FisNoTarget")


@pytest.mark.parametrize(
    ("name", "change", "reason"),
    [
        ("FisUnknownAction", {"ActionId": "aws:ecs:stop-tasks"}, "aws:ecs:stop-tasks is not an action the emulator knows"),
        ("FisNoDuration", {"ActionId": "aws:network:disrupt-connectivity", "Targets": {"Subnets": "Api"}}, "needs parameter duration"),
        ("FisBadSelection", {"SelectionMode": "HALF"}, "selectionMode HALF is not ALL, COUNT(n) or PERCENT(n)"),
    ],
)
def test_an_experiment_template_createexperimenttemplate_would_refuse_fails_its_create(
    running: Running, name: str, change: dict[str, Any], reason: str
) -> None:
    resources = _experiment_stack(_push(running, "fisprobe-app", name.lower()))
    properties = resources["Experiment"]["Properties"]
    if "SelectionMode" in change:
        properties["Targets"]["Api"]["SelectionMode"] = change["SelectionMode"]
    else:
        properties["Actions"]["Stop"] = {**properties["Actions"]["Stop"], **change}
    assert _deploy(running, name, resources) == "ROLLBACK_COMPLETE"
    assert any(reason in r and "ValidationException" in r for r in _reasons(running, name))
    _cfn(running).delete_stack(StackName=name)


def test_a_stacks_sns_subscription_is_made_pending_and_goes_with_the_stack(running: Running) -> None:
    """AWS::SNS::Subscription was created as nothing, so the weekly alerting test saw no subscriber."""
    stack = {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "probe-subscribed"}},
        "Mail": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {"TopicArn": {"Ref": "Topic"}, "Protocol": "email", "Endpoint": "oncall@example.com"},
        },
    }
    assert _deploy(running, "Subscribed", stack) == "CREATE_COMPLETE"
    sns = running.client("sns", REGION)
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:probe-subscribed"
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(x["Protocol"], x["Endpoint"], x["SubscriptionArn"]) for x in listed] == [
        ("email", "oncall@example.com", "PendingConfirmation")
    ]
    _cfn(running).delete_stack(StackName="Subscribed")
    assert not [x for x in sns.list_subscriptions()["Subscriptions"] if x["TopicArn"] == topic]


def test_elb_refuses_a_security_policy_it_does_not_have(running: Running) -> None:
    """A misspelt or retired SslPolicy fails the listener's create, as ELB fails it (SSLPolicyNotFound)."""
    ec2, elb = running.client("ec2", REGION), running.client("elbv2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.79.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.79.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    balancer = elb.create_load_balancer(Name="probe-tls", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    certificate = running.client("acm", REGION).request_certificate(DomainName="probe.example.com")["CertificateArn"]
    listener = {
        "LoadBalancerArn": balancer,
        "Protocol": "HTTPS",
        "Port": 443,
        "Certificates": [{"CertificateArn": certificate}],
        "DefaultActions": [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    }
    with pytest.raises(ClientError, match="SSLPolicyNotFound"):
        elb.create_listener(SslPolicy="ELBSecurityPolicy-TLS13-1-2-Res-2099-01", **listener)
    arn = elb.create_listener(SslPolicy="ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09", **listener)["Listeners"][0]["ListenerArn"]
    with pytest.raises(ClientError, match="SSLPolicyNotFound"):
        elb.modify_listener(ListenerArn=arn, SslPolicy="ELBSecurityPolicy-TLS-0-9")


def test_a_security_group_still_in_use_is_not_deleted(running: Running) -> None:
    """Referenced by another group's rule, or by a load balancer: DependencyViolation, as EC2 refuses
    it (moto deleted it). A stack deletion that reaches such a group ends DELETE_FAILED."""
    ec2, elb = running.client("ec2", REGION), running.client("elbv2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.81.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.81.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    front, back = (ec2.create_security_group(GroupName=f"probe-{n}", Description=n, VpcId=vpc)["GroupId"] for n in ("front", "back"))
    ec2.authorize_security_group_ingress(
        GroupId=back, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupId": front}]}]
    )
    with pytest.raises(ClientError, match=rf"DependencyViolation.*{back}"):
        ec2.delete_security_group(GroupId=front)
    balancer = elb.create_load_balancer(Name="probe-in-use", Subnets=subnets, SecurityGroups=[back])["LoadBalancers"][0]
    with pytest.raises(ClientError, match=r"DependencyViolation.*probe-in-use"):
        ec2.delete_security_group(GroupId=back)
    elb.delete_load_balancer(LoadBalancerArn=balancer["LoadBalancerArn"])
    ec2.delete_security_group(GroupId=back)
    ec2.delete_security_group(GroupId=front)
