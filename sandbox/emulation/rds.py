"""RDS: instances made through the API (so every property the template sets is honoured and
checked), and automated backups replicated to another region, which moto does not model."""

from __future__ import annotations

from typing import Any

from sandbox.emulation.common import api_kwargs, client

EXTENSIONS = {
    "AWS::RDS::DBInstance": "creates or restores the instance through the RDS API with the template's properties (moto's CloudFormation drops most)",
    "backup replication": "AutomaticBackupReplicationRegion replicates automated backups to that region at once; a restore from them works there",
    "AWS::RDS::DBParameterGroup": "keeps the template's name (moto names it after the logical id)",
}

# CloudFormation's names for DBInstance properties the API spells differently.
_RDS_RENAMES = {"VPCSecurityGroups": "VpcSecurityGroupIds"}
# Replicated automated backups, by (account, destination region): what AutomaticBackupReplicationRegion starts.
REPLICATED_BACKUPS: dict[tuple[str, str], list[dict[str, Any]]] = {}


def _create_db_instance(
    cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
) -> Any:
    from moto.moto_api._internal import mock_random
    from moto.rds.models import rds_backends

    props = dict(cloudformation_json["Properties"])
    props.setdefault("DBInstanceIdentifier", resource_name.lower())
    if isinstance(props.get("MasterUserSecret"), dict) and props["MasterUserSecret"].get("KmsKeyId"):
        props["MasterUserSecretKmsKeyId"] = props["MasterUserSecret"]["KmsKeyId"]
    rds = client("rds", region_name)
    identifier = props["DBInstanceIdentifier"]
    if props.get("SourceDBInstanceAutomatedBackupsArn") or props.get("SourceDBInstanceIdentifier"):
        call = api_kwargs(rds, "RestoreDBInstanceToPointInTime", {**props, "TargetDBInstanceIdentifier": identifier}, _RDS_RENAMES)
        rds.restore_db_instance_to_point_in_time(**call)
    elif props.get("DBSnapshotIdentifier"):
        rds.restore_db_instance_from_db_snapshot(**api_kwargs(rds, "RestoreDBInstanceFromDBSnapshot", props, _RDS_RENAMES))
    else:
        rds.create_db_instance(**api_kwargs(rds, "CreateDBInstance", props, _RDS_RENAMES))
    instance = rds_backends[account_id][region_name].databases[identifier]
    destination = props.get("AutomaticBackupReplicationRegion")
    if destination:
        REPLICATED_BACKUPS.setdefault((account_id, destination), []).append(
            {
                "DBInstanceAutomatedBackupsArn": f"arn:aws:rds:{destination}:{account_id}:auto-backup:ab-{mock_random.get_random_hex(26)}",
                "DBInstanceArn": instance.db_instance_arn,
                "DBInstanceIdentifier": identifier,
                "Region": region_name,
                "SourceRegion": region_name,
                "Engine": instance.engine,
                "EngineVersion": instance.engine_version,
                "Encrypted": True,
                "KmsKeyId": props.get("AutomaticBackupReplicationKmsKeyId"),
                "BackupRetentionPeriod": props.get("AutomaticBackupReplicationRetentionPeriod", 7),
                "Status": "replicating",
                "_source": (account_id, region_name, identifier),
            }
        )
    return instance


def install() -> None:
    from moto.core.utils import utcnow

    # `Ref` to these gives their name in CloudFormation; moto hands over the object.
    from moto.efs.models import AccessPoint, FileSystem
    from moto.rds.models import DBInstance, DBParameterGroup, DBSubnetGroup, RDSBackend, rds_backends

    AccessPoint.physical_resource_id = property(lambda self: self.access_point_id)  # type: ignore[attr-defined]
    FileSystem.physical_resource_id = property(lambda self: self.file_system_id)  # type: ignore[attr-defined]
    DBSubnetGroup.physical_resource_id = property(lambda self: self.name)  # type: ignore[attr-defined]
    DBParameterGroup.physical_resource_id = property(lambda self: self.name)  # type: ignore[attr-defined]
    # moto names a parameter group after its logical id, ignoring the template's name.
    DBParameterGroup.cloudformation_name_type = staticmethod(lambda: "DBParameterGroupName")  # type: ignore[method-assign]
    DBInstance.create_from_cloudformation_json = classmethod(_create_db_instance)  # type: ignore[method-assign,assignment]

    def _replicated(backend: Any, identifier: str | None) -> list[dict[str, Any]]:
        found = []
        for backup in REPLICATED_BACKUPS.get((backend.account_id, backend.region_name), []):
            if identifier in (None, backup["DBInstanceIdentifier"], backup["DBInstanceAutomatedBackupsArn"]):
                account, region, source = backup["_source"]
                # Replication is modelled as instant: the copy is as recent as its source.
                latest = (
                    rds_backends[account][region].databases[source].latest_restorable_time
                    if source in rds_backends[account][region].databases
                    else utcnow()
                )
                found.append(
                    {k: v for k, v in backup.items() if not k.startswith("_")}
                    | {
                        "RestoreWindow": {"EarliestTime": latest, "LatestTime": latest},
                    }
                )
        return found

    describe = RDSBackend.describe_db_instance_automated_backups

    def describe_db_instance_automated_backups(self: Any, db_instance_identifier: str | None = None, **kwargs: Any) -> Any:
        identifier = db_instance_identifier or kwargs.get("db_instance_automated_backups_arn")
        return list(describe(self, db_instance_identifier, **kwargs)) + _replicated(self, identifier)

    RDSBackend.describe_db_instance_automated_backups = describe_db_instance_automated_backups  # type: ignore[method-assign]

    restore = RDSBackend.restore_db_instance_to_point_in_time

    def restore_db_instance_to_point_in_time(
        self: Any, source_db_identifier: str, target_db_identifier: str, overrides: dict[str, Any]
    ) -> Any:
        arn = overrides.get("source_db_instance_automated_backups_arn")
        if not arn or source_db_identifier:
            return restore(self, source_db_identifier, target_db_identifier, overrides)
        backups = _replicated(self, arn)
        if not backups:
            from moto.rds.exceptions import RDSClientError

            raise RDSClientError("DBInstanceAutomatedBackupNotFoundFault", f"no automated backups {arn} in {self.region_name}")
        account, region, source = next(
            b["_source"] for b in REPLICATED_BACKUPS[(self.account_id, self.region_name)] if b["DBInstanceAutomatedBackupsArn"] == arn
        )
        # moto restores only within one region: copy the source into this one, restore, drop the copy.
        source_instance = rds_backends[account][region].databases[source]
        self.databases[source] = source_instance
        try:
            return restore(self, source, target_db_identifier, overrides)
        finally:
            self.databases.pop(source, None)

    RDSBackend.restore_db_instance_to_point_in_time = restore_db_instance_to_point_in_time  # type: ignore[method-assign]
