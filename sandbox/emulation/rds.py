"""RDS: instances made through the API (so every property the template sets is honoured and
checked), and automated backups replicated to another region, which moto does not model."""

from __future__ import annotations

import re
from typing import Any

from sandbox.emulation.common import ResourceFailedError, api_kwargs, client

EXTENSIONS = {
    "AWS::RDS::DBInstance": "creates or restores the instance through the RDS API with the template's properties (moto's CloudFormation drops most)",
    "engine and storage changes": "ModifyDBInstance refuses an engine downgrade ('Cannot upgrade postgres from ... to ...'), a major upgrade without AllowMajorVersionUpgrade ('The AllowMajorVersionUpgrade flag must be present when upgrading to a new major version.') and less allocated storage (RDS user guide, 'Upgrading the PostgreSQL DB engine for Amazon RDS' and 'Increasing DB instance storage capacity'; InvalidParameterCombination); CreateDBInstance refuses an instance class not shaped db.<family>.<size> and a parameter group whose family is not the engine's major version (RDS user guide, 'Parameter groups for Amazon RDS': a DB parameter group belongs to one engine family). Not modelled: which engine versions and instance classes RDS offers (any 15.x is taken), and how much storage must grow at once",
    "groups in use": "a DB subnet group or parameter group that an instance still uses is not deleted (InvalidDBSubnetGroupStateFault, InvalidDBParameterGroupState; RDS API reference, DeleteDBSubnetGroup and DeleteDBParameterGroup), so a stack deletion that reaches one ends DELETE_FAILED; moto deleted it and then answered the instance's describe with HTTP 500",
    "KMS keys": "each key a DB instance is handed (KmsKeyId, PerformanceInsightsKMSKeyId, MasterUserSecret's, and AutomaticBackupReplicationKmsKeyId in the destination region) must be an enabled key of that region, else the create (or the update that starts backup replication) fails KMSKeyNotAccessibleFault (RDS API reference, CreateDBInstance, CreateDBInstanceReadReplica and StartDBInstanceAutomatedBackupsReplication: Errors); moto took any string",
    "point-in-time restores": "RestoreDBInstanceToPointInTime refuses a RestoreTime outside the restore window (InvalidRestoreFault; RDS API reference: RestoreTime 'must be before the latest restorable time', and DBInstanceAutomatedBackup RestoreWindow), replicated backups' window opening when their replication started, and a source without automated backups (PointInTimeRestoreNotEnabled: 'BackupRetentionPeriod equal to 0'); the error message is the emulator's",
    "backup replication": "AutomaticBackupReplicationRegion replicates automated backups to that region at once; a restore from them works there within their window; they carry the source's DbiResourceId, and DescribeDBInstanceAutomatedBackups finds them by it",
    "AWS::RDS::DBParameterGroup": "keeps the template's name (moto names it after the logical id)",
    "DbiResourceId": "every instance has a resource id of its own, also a replica (RDS API reference, DBInstance: 'the Amazon Web Services Region-unique, immutable identifier for the DB instance'; moto gives every instance the same one); GetAtt DbiResourceId returns it (AWS::RDS::DBInstance return values)",
    "read replicas": "SourceDBInstanceIdentifier creates a read replica (CreateDBInstanceReadReplica); across regions an encrypted source needs KmsKeyId, and the source needs automated backups (RDS API reference, CreateDBInstanceReadReplica: KmsKeyId, and 'you must enable automatic backups on the source'); a source whose master password RDS manages is refused, InvalidParameterValue (RDS user guide, 'Password management with Amazon RDS and AWS Secrets Manager', Limitations: 'Creating a read replica when the source DB ... manages credentials with Secrets Manager'; the message as terraform-aws-modules/terraform-aws-rds#532 quotes it); the replica has no master secret of its own and its own deletion protection (moto copies the source's)",
    "promotion": "an update that drops SourceDBInstanceIdentifier promotes the replica in place with the template's BackupRetentionPeriod, then applies the other changed properties, e.g. ManageMasterUserPassword (aws-cloudformation-resource-providers-rds PR #334: UpdateHandler, Translator.promoteReadReplicaRequest)",
    "immutable DB properties": "an update that adds or changes SourceDBInstanceIdentifier, or sets DBSnapshotIdentifier, RestoreTime, UseLatestRestorableTime, SourceDBInstanceAutomatedBackupsArn or SourceDbiResourceId to another non-empty value, fails NotUpdatable 'Resource is immutable' (the RDS handler's ImmutabilityHelper.isChangeMutable)",
    "ReplicaLag": "a read replica reports AWS/RDS ReplicaLag (RDS user guide, 'Amazon CloudWatch metrics for Amazon RDS': the time a read replica lags behind its source; not reported by a standalone instance); here 0 for the last minute whenever it is asked for: replication is modelled as instant, which no lag alarm or RPO check can fail on (said in the report)",
    "replica deletion": "a read replica is deleted without a final snapshot whatever the DeletionPolicy (the RDS handler's DeleteHandler.decideSnapshotIdentifier: final snapshots are not allowed for read replicas)",
    "physical id": "CloudFormation addresses a DB instance by the identifier it created it with (the physical id; the handlers' contract: 'the only input guaranteed to exist in the model is the DB instance identifier', DeleteHandler): after a rename outside the stack an update fails NotFound, and a delete finds nothing and succeeds (the handler returns NotFound, which CloudFormation takes as deleted), or deletes whatever now has that name (moto keeps the renamed object, which the stack would otherwise follow)",
    "support dates": "DescribeDBMajorEngineVersions (moto has none) answers for PostgreSQL 15 with RDS standard support ending 2028-02-29, the date RDS's release calendar gives as issue 28 quotes it; other engines and versions, and the Extended Support entry, are not modelled (an empty answer)",
    "stopping backup replication": "StopDBInstanceAutomatedBackupsReplication (moto has none), called in the destination region with the source's ARN, stops the replication: the copies made so far stay, with status retained, and the call for a source that replicates nothing there fails with one of the two errors the API lists (RDS API reference, StopDBInstanceAutomatedBackupsReplication: Errors): DBInstanceNotFound for an ARN that never replicated here, InvalidDBInstanceState for one already stopped; which of the two AWS picks for each, and its message, are the emulator's guess. The retained copies' window is not closed at the stop",
    "backup replication on update": "adding AutomaticBackupReplicationRegion in an update starts the replication (StartDBInstanceAutomatedBackupsReplication: aws-cloudformation-resource-providers-rds, ResourceModelHelper.shouldStartAutomaticBackupReplication in the UpdateHandler), e.g. after a failback's promotion",
}

# CloudFormation's names for DBInstance properties the API spells differently.
_RDS_RENAMES = {"VPCSecurityGroups": "VpcSecurityGroupIds"}
# Replicated automated backups, by (account, destination region): what AutomaticBackupReplicationRegion starts.
REPLICATED_BACKUPS: dict[tuple[str, str], list[dict[str, Any]]] = {}


# The properties whose change the RDS handler refuses on an update (ImmutabilityHelper): a new
# non-empty value is "Resource is immutable"; dropping one is allowed (for the source: promotion).
_RESTORE_SOURCES = (
    "DBSnapshotIdentifier",
    "UseLatestRestorableTime",
    "RestoreTime",
    "SourceDBInstanceAutomatedBackupsArn",
    "SourceDbiResourceId",
    "SourceDBInstanceIdentifier",
)
IMMUTABLE = 'Resource handler returned message: "Resource is immutable" (HandlerErrorCode: NotUpdatable)'


def _api_props(cloudformation_json: dict[str, Any], resource_name: str) -> dict[str, Any]:
    props = dict(cloudformation_json["Properties"])
    props.setdefault("DBInstanceIdentifier", resource_name.lower())
    if isinstance(props.get("MasterUserSecret"), dict) and props["MasterUserSecret"].get("KmsKeyId"):
        props["MasterUserSecretKmsKeyId"] = props["MasterUserSecret"]["KmsKeyId"]
    return props


def new_resource_id() -> str:
    from moto.moto_api._internal import mock_random

    return "db-" + "".join(mock_random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(26))


def _create_read_replica(rds: Any, props: dict[str, Any], account_id: str, region_name: str) -> None:
    from moto.rds.exceptions import InvalidParameterCombination, InvalidParameterValue
    from moto.rds.models import rds_backends

    source_id = props["SourceDBInstanceIdentifier"]
    source = rds_backends[account_id][region_name].find_db_from_id(source_id)
    if not source.backup_retention_period:
        raise InvalidParameterValue(f"Automated backups are not enabled for this database instance: {source.db_instance_identifier}")
    if source.manage_master_user_password:
        raise InvalidParameterValue(
            f"Creating read replicas for source instance with engine {source.engine} where ManageMasterUserPassword is enabled is not supported."
        )
    if source.region != region_name and source.storage_encrypted and not props.get("KmsKeyId"):
        raise InvalidParameterCombination("KmsKeyId is required to create an encrypted cross-region read replica")
    rds.create_db_instance_read_replica(**api_kwargs(rds, "CreateDBInstanceReadReplica", props, _RDS_RENAMES))
    replica = rds_backends[account_id][region_name].databases[props["DBInstanceIdentifier"]]
    # moto's replica is a shallow copy of its source: give it what is its own in RDS.
    replica.dbi_resource_id = new_resource_id()
    replica.deletion_protection = bool(props.get("DeletionProtection", False))
    replica.manage_master_user_password = False
    replica.__dict__.pop("master_user_secret", None)
    replica.enabled_cloudwatch_logs_exports = list(props.get("EnableCloudwatchLogsExports", []))
    replica.kms_key_id = props.get("KmsKeyId", source.kms_key_id)
    replica.backup_retention_period = 0
    replica.status = "available"


def key_problem(key: Any, region: str) -> str | None:
    """Why RDS could not use a KMS key in `region`, or None: KMS has no such key there (a key of
    another region included) or it is not enabled (RDS API reference: KMSKeyNotAccessibleFault)."""
    from botocore.exceptions import ClientError

    if not key:
        return None
    try:
        state = client("kms", region).describe_key(KeyId=str(key))["KeyMetadata"]["KeyState"]
    except ClientError:
        return f"KMSKeyNotAccessibleFault: An error occurred accessing an AWS KMS key: {key} is not a key in {region}"
    if state != "Enabled":
        return f"KMSKeyNotAccessibleFault: An error occurred accessing an AWS KMS key: {key} is {state}"
    return None


# The keys a DBInstance hands RDS, and the region each must be in (its own, or the replication's).
_KEYS = ("KmsKeyId", "PerformanceInsightsKMSKeyId", "MasterUserSecretKmsKeyId")


def _keys_problem(props: dict[str, Any], region: str) -> str | None:
    wanted = [(props.get(k), region) for k in _KEYS]
    if props.get("AutomaticBackupReplicationRegion"):
        wanted.append((props.get("AutomaticBackupReplicationKmsKeyId"), props["AutomaticBackupReplicationRegion"]))
    return next(filter(None, (key_problem(key, where) for key, where in wanted)), None)


def _create_db_instance(
    cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
) -> Any:
    from moto.rds.models import rds_backends

    props = _api_props(cloudformation_json, resource_name)
    rds = client("rds", region_name)
    identifier = props["DBInstanceIdentifier"]
    problem = _keys_problem(props, region_name)
    if problem:
        raise ResourceFailedError(resource_name, "AWS::RDS::DBInstance", problem)
    if props.get("SourceDBInstanceAutomatedBackupsArn"):
        call = api_kwargs(rds, "RestoreDBInstanceToPointInTime", {**props, "TargetDBInstanceIdentifier": identifier}, _RDS_RENAMES)
        rds.restore_db_instance_to_point_in_time(**call)
    elif props.get("SourceDBInstanceIdentifier"):
        _create_read_replica(rds, props, account_id, region_name)
    elif props.get("DBSnapshotIdentifier"):
        rds.restore_db_instance_from_db_snapshot(**api_kwargs(rds, "RestoreDBInstanceFromDBSnapshot", props, _RDS_RENAMES))
    else:
        rds.create_db_instance(**api_kwargs(rds, "CreateDBInstance", props, _RDS_RENAMES))
    instance = rds_backends[account_id][region_name].databases[identifier]
    instance.cfn_properties = props
    instance.cfn_physical_id = identifier
    _replicate_backups(instance, props, account_id, region_name)
    return instance


def _replicate_backups(instance: Any, props: dict[str, Any], account_id: str, region_name: str) -> None:
    """StartDBInstanceAutomatedBackupsReplication: the handler calls it on create and on an update
    that adds AutomaticBackupReplicationRegion."""
    from moto.moto_api._internal import mock_random

    identifier = instance.db_instance_identifier
    destination = props.get("AutomaticBackupReplicationRegion")
    problem = key_problem(props.get("AutomaticBackupReplicationKmsKeyId"), destination) if destination else None
    if problem:
        raise ResourceFailedError(identifier, "AWS::RDS::DBInstance", problem)
    if destination:
        REPLICATED_BACKUPS.setdefault((account_id, destination), []).append(
            {
                "DBInstanceAutomatedBackupsArn": f"arn:aws:rds:{destination}:{account_id}:auto-backup:ab-{mock_random.get_random_hex(26)}",
                "DBInstanceArn": instance.db_instance_arn,
                "DBInstanceIdentifier": identifier,
                "DbiResourceId": instance.dbi_resource_id,
                "Region": region_name,
                "SourceRegion": region_name,
                "Engine": instance.engine,
                "EngineVersion": instance.engine_version,
                "Encrypted": True,
                "KmsKeyId": props.get("AutomaticBackupReplicationKmsKeyId"),
                "BackupRetentionPeriod": props.get("AutomaticBackupReplicationRetentionPeriod", 7),
                "Status": "replicating",
                "_source": (account_id, region_name, identifier),
                "_started": _now(),
            }
        )


def _now() -> Any:
    from moto.core.utils import utcnow

    return utcnow()


def _as_time(value: Any) -> Any:
    """A RestoreTime as the API hands it on: a datetime, or ISO 8601 text."""
    from datetime import UTC, datetime

    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    found = datetime.fromisoformat(str(value))
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def restore_window_problem(earliest: Any, latest: Any, overrides: dict[str, Any]) -> str | None:
    """Why RDS refuses a point-in-time restore's RestoreTime, or None (RDS API reference,
    RestoreDBInstanceToPointInTime: RestoreTime 'must be before the latest restorable time', and
    within the backups' restore window, DBInstanceAutomatedBackup RestoreWindow)."""
    if not overrides.get("restore_time"):
        return None
    wanted, earliest, latest = _as_time(overrides["restore_time"]), _as_time(earliest), _as_time(latest)
    if earliest <= wanted <= latest:
        return None
    return f"Restore time {wanted.isoformat()} is outside the restorable window {earliest.isoformat()} to {latest.isoformat()}"


def _update_db_instance(
    cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
) -> Any:
    """The RDS handler's update: refuse an immutable change, promote a replica whose source left
    the template, then modify what changed."""
    from moto.rds.models import rds_backends

    props = _api_props(cloudformation_json, new_resource_name)
    previous: dict[str, Any] = getattr(original_resource, "cfn_properties", {})
    instance = by_physical_id(original_resource, account_id, region_name)
    if instance is None:
        raise ResourceFailedError(
            "",
            "AWS::RDS::DBInstance",
            f'Resource handler returned message: "DBInstance {physical_id(original_resource)} not found." (HandlerErrorCode: NotFound)',
        )
    for name in _RESTORE_SOURCES:
        if props.get(name) and props.get(name) != previous.get(name):
            raise ResourceFailedError("", "AWS::RDS::DBInstance", IMMUTABLE)
    rds = client("rds", region_name)
    identifier = instance.db_instance_identifier
    if previous.get("SourceDBInstanceIdentifier") and not props.get("SourceDBInstanceIdentifier") and instance.is_replica:
        source_id = instance.source_db_instance_identifier
        promote = {"DBInstanceIdentifier": identifier}
        if props.get("BackupRetentionPeriod") is not None:
            promote["BackupRetentionPeriod"] = int(props["BackupRetentionPeriod"])
        rds.promote_read_replica(**promote)
        source = rds_backends[account_id][region_name].find_db_from_id(source_id)
        source.remove_replica(instance)
        instance.source_db_instance_identifier = None
    changed = {k: v for k, v in props.items() if previous.get(k) != v and k not in _RESTORE_SOURCES}
    modify = api_kwargs(rds, "ModifyDBInstance", changed, _RDS_RENAMES)
    modify.pop("DBInstanceIdentifier", None)
    if modify:
        rds.modify_db_instance(DBInstanceIdentifier=identifier, ApplyImmediately=True, **modify)
    if not previous.get("AutomaticBackupReplicationRegion"):
        _replicate_backups(instance, props, account_id, region_name)
    instance.cfn_properties = props
    instance.cfn_physical_id = identifier
    return instance


def physical_id(instance: Any) -> str:
    """The identifier CloudFormation created (or last updated) the instance with."""
    return str(getattr(instance, "cfn_physical_id", instance.db_instance_identifier))


def by_physical_id(instance: Any, account_id: str, region_name: str) -> Any:
    """What has the stack's physical id now: moto renames the object in place, AWS does not
    follow a rename."""
    from moto.rds.models import rds_backends

    return rds_backends[account_id][region_name].databases.get(physical_id(instance))


_INSTANCE_CLASS = re.compile(r"^db\.[a-z][a-z0-9-]*\.[a-z0-9]+$")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", str(text)))


def create_problem(backend: Any, kwargs: dict[str, Any]) -> str | None:
    """CreateDBInstance's refusals the stacks could meet, or None: an instance class that is not
    `db.<family>.<size>`, a parameter group of another family than the engine's major version."""
    klass = kwargs.get("db_instance_class")
    if klass and not _INSTANCE_CLASS.match(str(klass)):
        return f"InvalidParameterValue: Invalid DB Instance class: {klass}"
    group_name, version = kwargs.get("db_parameter_group_name"), kwargs.get("engine_version")
    group = backend.db_parameter_groups.get(group_name) if group_name else None
    if group is not None and version and kwargs.get("engine") == "postgres":
        wanted = f"postgres{_version(version)[0]}"
        if group.family != wanted:
            return (
                f"InvalidParameterCombination: The Parameter Group {group_name} with DBParameterGroupFamily {group.family} "
                f"can't be used for this instance. Use a Parameter Group with DBParameterGroupFamily {wanted}."
            )
    return None


def modify_problem(instance: Any, kwargs: dict[str, Any]) -> str | None:
    """ModifyDBInstance's refusals, or None: an engine downgrade, a major upgrade without
    AllowMajorVersionUpgrade, less allocated storage (RDS user guide, 'Upgrading the PostgreSQL DB
    engine for Amazon RDS' and 'Increasing DB instance storage capacity': storage only grows)."""
    wanted = kwargs.get("engine_version")
    if wanted and instance.engine_version and _version(wanted) != _version(instance.engine_version):
        now, then = _version(instance.engine_version), _version(wanted)
        if then < now:
            return f"InvalidParameterCombination: Cannot upgrade {instance.engine} from {instance.engine_version} to {wanted}"
        if then[0] != now[0] and str(kwargs.get("allow_major_version_upgrade", "")).lower() != "true":
            return "InvalidParameterCombination: The AllowMajorVersionUpgrade flag must be present when upgrading to a new major version."
    storage = kwargs.get("allocated_storage")
    if storage is not None and int(storage) < int(instance.allocated_storage or 0):
        return f"InvalidParameterCombination: Invalid storage size: {storage} GiB is less than the {instance.allocated_storage} GiB allocated; storage can only grow"
    return None


def install() -> None:
    from moto.core.utils import utcnow

    # `Ref` to these gives their name in CloudFormation; moto hands over the object.
    from moto.efs.models import AccessPoint, FileSystem
    from moto.rds.exceptions import RDSClientError
    from moto.rds.models import DBInstance, DBParameterGroup, DBSubnetGroup, RDSBackend, rds_backends

    AccessPoint.physical_resource_id = property(lambda self: self.access_point_id)  # type: ignore[attr-defined]
    FileSystem.physical_resource_id = property(lambda self: self.file_system_id)  # type: ignore[attr-defined]
    DBSubnetGroup.physical_resource_id = property(lambda self: self.name)  # type: ignore[attr-defined]
    DBParameterGroup.physical_resource_id = property(lambda self: self.name)  # type: ignore[attr-defined]
    # moto names a parameter group after its logical id, ignoring the template's name.
    DBParameterGroup.cloudformation_name_type = staticmethod(lambda: "DBParameterGroupName")  # type: ignore[method-assign]
    DBInstance.create_from_cloudformation_json = classmethod(_create_db_instance)  # type: ignore[method-assign,assignment]
    DBInstance.update_from_cloudformation_json = classmethod(_update_db_instance)  # type: ignore[method-assign,assignment]

    initialise = DBInstance.__init__

    def init_with_own_resource_id(self: Any, *args: Any, **kwargs: Any) -> None:
        initialise(self, *args, **kwargs)
        self.dbi_resource_id = new_resource_id()

    DBInstance.__init__ = init_with_own_resource_id  # type: ignore[method-assign]

    backend_create, backend_modify = RDSBackend.create_db_instance, RDSBackend.modify_db_instance

    def create_db_instance(self: Any, db_kwargs: dict[str, Any]) -> Any:
        problem = create_problem(self, db_kwargs)
        if problem:
            code, _, message = problem.partition(": ")
            raise RDSClientError(code, message)
        return backend_create(self, db_kwargs)

    def modify_db_instance(self: Any, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> Any:
        problem = modify_problem(self.describe_db_instances(db_instance_identifier)[0], db_kwargs)
        if problem:
            code, _, message = problem.partition(": ")
            raise RDSClientError(code, message)
        return backend_modify(self, db_instance_identifier, db_kwargs)

    RDSBackend.create_db_instance = create_db_instance  # type: ignore[method-assign]
    RDSBackend.modify_db_instance = modify_db_instance  # type: ignore[method-assign]
    _install_in_use_groups()

    create_replica = RDSBackend.create_db_instance_read_replica

    def create_db_instance_read_replica(self: Any, db_kwargs: dict[str, Any]) -> Any:
        # moto sets the replica's region last, after looking its subnet group up in the source's.
        if self.arn_regex.match(db_kwargs["source_db_instance_identifier"]):
            db_kwargs = {"backend": self, **db_kwargs}
        return create_replica(self, db_kwargs)

    RDSBackend.create_db_instance_read_replica = create_db_instance_read_replica  # type: ignore[method-assign]
    _install_replica_lag()
    _install_major_engine_versions()
    _install_stop_backup_replication()

    def remove_replica(self: Any, replica: Any) -> None:
        # moto lists a cross-region replica by ARN but removes it by name.
        for name in (replica.db_instance_identifier, replica.db_instance_arn):
            if name in self.replicas:
                self.replicas.remove(name)

    DBInstance.remove_replica = remove_replica  # type: ignore[method-assign]

    def _replicated(backend: Any, identifier: str | None, resource_id: str | None = None) -> list[dict[str, Any]]:
        found = []
        for backup in REPLICATED_BACKUPS.get((backend.account_id, backend.region_name), []):
            if resource_id not in (None, backup["DbiResourceId"]):
                continue
            if identifier in (None, backup["DBInstanceIdentifier"], backup["DBInstanceAutomatedBackupsArn"]):
                account, region, source = backup["_source"]
                # Replication is modelled as instant: the copy is as recent as its source.
                latest = (
                    rds_backends[account][region].databases[source].latest_restorable_time
                    if source in rds_backends[account][region].databases
                    else utcnow()
                )
                # The window opens when the replication started (nothing older was copied here).
                earliest = min(backup["_started"], latest)
                found.append(
                    {k: v for k, v in backup.items() if not k.startswith("_")}
                    | {
                        "RestoreWindow": {"EarliestTime": earliest, "LatestTime": latest},
                    }
                )
        return found

    describe = RDSBackend.describe_db_instance_automated_backups

    def describe_db_instance_automated_backups(self: Any, db_instance_identifier: str | None = None, **kwargs: Any) -> Any:
        identifier = db_instance_identifier or kwargs.get("db_instance_automated_backups_arn")
        resource_id = kwargs.get("dbi_resource_id")
        own = list(describe(self, db_instance_identifier, **kwargs))
        if resource_id:
            own = [b for b in own if getattr(self.databases.get(b.db_instance_identifier), "dbi_resource_id", None) == resource_id]
        return own + _replicated(self, identifier, resource_id)

    RDSBackend.describe_db_instance_automated_backups = describe_db_instance_automated_backups  # type: ignore[method-assign]

    restore = RDSBackend.restore_db_instance_to_point_in_time

    def restore_db_instance_to_point_in_time(
        self: Any, source_db_identifier: str, target_db_identifier: str, overrides: dict[str, Any]
    ) -> Any:
        from moto.rds.exceptions import RDSClientError

        arn = overrides.get("source_db_instance_automated_backups_arn")
        if not arn or source_db_identifier:
            source_instance = self.databases.get(source_db_identifier)
            if source_instance is not None and not source_instance.backup_retention_period:
                raise RDSClientError(
                    "PointInTimeRestoreNotEnabled", f"{source_db_identifier} has BackupRetentionPeriod 0: no point-in-time restore"
                )
            if source_instance is not None:
                problem = restore_window_problem(source_instance.created, source_instance.latest_restorable_time, overrides)
                if problem:
                    raise RDSClientError("InvalidRestoreFault", problem)
            return restore(self, source_db_identifier, target_db_identifier, overrides)
        backups = _replicated(self, arn)
        if not backups:
            raise RDSClientError("DBInstanceAutomatedBackupNotFoundFault", f"no automated backups {arn} in {self.region_name}")
        window = backups[0]["RestoreWindow"]
        problem = restore_window_problem(window["EarliestTime"], window["LatestTime"], overrides)
        if problem:
            raise RDSClientError("InvalidRestoreFault", problem)
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


def _users(backend: Any, attribute: str, name: str) -> list[str]:
    """The instances of the region whose `attribute` names the group `name`."""
    return sorted(i.db_instance_identifier for i in backend.databases.values() if getattr(i, attribute, None) == name)


def _install_in_use_groups() -> None:
    """A subnet or parameter group an instance still uses is not deleted (RDS API reference,
    DeleteDBSubnetGroup: InvalidDBSubnetGroupStateFault, and DeleteDBParameterGroup:
    InvalidDBParameterGroupState); moto deleted it, and its describe of the instance then failed."""
    from moto.rds.exceptions import RDSClientError
    from moto.rds.models import RDSBackend

    delete_subnets, delete_parameters = RDSBackend.delete_subnet_group, RDSBackend.delete_db_parameter_group

    def delete_subnet_group(self: Any, subnet_name: str) -> Any:
        users = _users(self, "db_subnet_group_name", subnet_name)
        if users:
            raise RDSClientError(
                "InvalidDBSubnetGroupStateFault",
                f"Cannot delete the subnet group '{subnet_name}' because at least one database instance: {users[0]} is still using it.",
            )
        return delete_subnets(self, subnet_name)

    def delete_db_parameter_group(self: Any, db_parameter_group_name: str) -> Any:
        users = _users(self, "db_parameter_group_name", db_parameter_group_name)
        if users:
            raise RDSClientError(
                "InvalidDBParameterGroupState",
                f"One or more database instances are still members of this parameter group {db_parameter_group_name}, "
                "so the group cannot be deleted",
            )
        return delete_parameters(self, db_parameter_group_name)

    RDSBackend.delete_subnet_group = delete_subnet_group  # type: ignore[method-assign]
    RDSBackend.delete_db_parameter_group = delete_db_parameter_group  # type: ignore[method-assign]


def _install_replica_lag() -> None:
    from datetime import timedelta

    from moto.cloudwatch.models import CloudWatchBackend
    from moto.rds.models import rds_backends

    statistics = CloudWatchBackend.get_metric_statistics

    def get_metric_statistics(
        self: Any, namespace: str, metric_name: str, start_time: Any, end_time: Any, *args: Any, **kwargs: Any
    ) -> Any:
        dimensions = kwargs.get("dimensions") or (args[2] if len(args) > 2 else [])
        if (namespace, metric_name) == ("AWS/RDS", "ReplicaLag"):
            names = [d.get("Value") for d in dimensions or [] if d.get("Name") == "DBInstanceIdentifier"]
            databases = rds_backends[self.account_id][self.region_name].databases
            if names and names[0] in databases and databases[names[0]].is_replica:
                datum = {"MetricName": metric_name, "Value": 0.0, "Unit": "Seconds", "Dimensions": dimensions}
                self.put_metric_data(namespace, [{**datum, "Timestamp": end_time - timedelta(seconds=30)}])
        return statistics(self, namespace, metric_name, start_time, end_time, *args, **kwargs)

    CloudWatchBackend.get_metric_statistics = get_metric_statistics  # type: ignore[method-assign]


# RDS standard support by PostgreSQL major version: (start, end), as RDS's release calendar gives them.
STANDARD_SUPPORT = {"15": ("2023-02-27", "2028-02-29")}


def _install_major_engine_versions() -> None:
    from datetime import UTC, datetime

    from moto.core.responses import ActionResult
    from moto.rds.responses import RDSResponse

    def describe_db_major_engine_versions(self: Any) -> Any:
        engine, major = self._get_param("Engine"), self._get_param("MajorEngineVersion")
        found = [
            {
                "Engine": "postgres",
                "MajorEngineVersion": version,
                "SupportedEngineLifecycles": [
                    {
                        "LifecycleSupportName": "open-source-rds-standard-support",
                        "LifecycleSupportStartDate": datetime.fromisoformat(start).replace(tzinfo=UTC),
                        "LifecycleSupportEndDate": datetime.fromisoformat(end).replace(tzinfo=UTC),
                    }
                ],
            }
            for version, (start, end) in STANDARD_SUPPORT.items()
            if engine in (None, "postgres") and major in (None, version)
        ]
        return ActionResult({"DBMajorEngineVersions": found})

    RDSResponse.describe_db_major_engine_versions = describe_db_major_engine_versions  # type: ignore[attr-defined]


def _install_stop_backup_replication() -> None:
    from moto.core.responses import ActionResult
    from moto.rds.exceptions import RDSClientError
    from moto.rds.responses import RDSResponse

    def stop_db_instance_automated_backups_replication(self: Any) -> Any:
        source = self._get_param("SourceDBInstanceArn")
        known = [b for b in REPLICATED_BACKUPS.get((self.current_account, self.region), []) if b["DBInstanceArn"] == source]
        copies = [b for b in known if b["Status"] == "replicating"]
        if not known:
            raise RDSClientError("DBInstanceNotFound", f"no automated backups of {source} are replicated to {self.region}")
        if not copies:
            raise RDSClientError("InvalidDBInstanceState", f"the replication of {source}'s automated backups to {self.region} is stopped")
        for copy in copies:
            copy["Status"] = "retained"
        return ActionResult({"DBInstanceAutomatedBackup": {k: v for k, v in copies[0].items() if not k.startswith("_")}})

    RDSResponse.stop_db_instance_automated_backups_replication = stop_db_instance_automated_backups_replication  # type: ignore[attr-defined]
