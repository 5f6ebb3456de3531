"""Data stack: the manual's PostgreSQL 15 database, its key, credentials, logs and parameters."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.synth import Synthesis


@pytest.fixture(scope="module")
def db(production: Synthesis) -> dict[str, Any]:
    (instance,) = production.resources("Data", "AWS::RDS::DBInstance").values()
    return instance


def test_instance_identifier_is_the_manuals(db: dict[str, Any]) -> None:
    # aws rds describe-db-instances --db-instance-identifier contractorlens-db
    assert db["Properties"]["DBInstanceIdentifier"] == "contractorlens-db"


def test_postgresql_15_with_a_pinned_minor_that_rds_does_not_move(db: dict[str, Any]) -> None:
    props = db["Properties"]
    assert props["Engine"] == "postgres"
    major, minor = props["EngineVersion"].split(".")
    assert major == "15" and minor.isdigit()
    assert props["AutoMinorVersionUpgrade"] is False


def test_each_environment_says_what_happens_after_standard_support(db: dict[str, Any], staging: Synthesis) -> None:
    """config: production stays on PostgreSQL 15 in RDS Extended Support; staging lets RDS upgrade it."""
    assert db["Properties"]["EngineLifecycleSupport"] == "open-source-rds-extended-support"
    (staging_db,) = staging.resources("Data", "AWS::RDS::DBInstance").values()
    assert staging_db["Properties"]["EngineLifecycleSupport"] == "open-source-rds-extended-support-disabled"


def test_production_is_multi_az_and_staging_is_not(db: dict[str, Any], staging: Synthesis) -> None:
    assert db["Properties"]["MultiAZ"] is True
    (staging_db,) = staging.resources("Data", "AWS::RDS::DBInstance").values()
    assert staging_db["Properties"]["MultiAZ"] is False


def test_gp3_storage_that_grows_on_its_own(db: dict[str, Any]) -> None:
    props = db["Properties"]
    assert props["StorageType"] == "gp3"
    assert int(props["MaxAllocatedStorage"]) > int(props["AllocatedStorage"])


def test_storage_and_insights_are_encrypted_with_the_customer_key(production: Synthesis, db: dict[str, Any]) -> None:
    props = db["Properties"]
    key = {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert props["StorageEncrypted"] is True
    assert props["KmsKeyId"] == key
    assert props["EnablePerformanceInsights"] is True
    assert props["PerformanceInsightsKMSKeyId"] == key
    data_key = production.template("Data")["Resources"]["DataKey"]
    assert data_key["Properties"]["EnableKeyRotation"] is True
    assert data_key["DeletionPolicy"] == "RetainExceptOnCreate"


def test_in_isolated_subnets_and_never_public(production: Synthesis, db: dict[str, Any]) -> None:
    assert db["Properties"]["PubliclyAccessible"] is False
    (group,) = production.resources("Data", "AWS::RDS::DBSubnetGroup").values()
    imports = json.dumps(group["Properties"]["SubnetIds"])
    assert imports.count("IsolatedSubnet") == 3
    assert "PrivateSubnet" not in imports and "PublicSubnet" not in imports


def test_guarded_against_deletion(production: Synthesis, db: dict[str, Any]) -> None:
    # Deletion protection is switched on by the stack's last step (tests/unit/test_lifecycle.py).
    assert "DeletionProtection" not in db["Properties"]
    (protection,) = [
        r
        for k, r in production.template("Data")["Resources"].items()
        if k.startswith("DatabaseDeletionProtection") and r["Type"] == "Custom::AWS"
    ]
    assert '"DeletionProtection":true' in protection["Properties"]["Create"]
    assert db["DeletionPolicy"] == "Snapshot"
    assert db["UpdateReplacePolicy"] == "Snapshot"
    assert db["Properties"]["DeleteAutomatedBackups"] is False


def test_backups_kept_for_the_configured_days(db: dict[str, Any], staging: Synthesis) -> None:
    assert db["Properties"]["BackupRetentionPeriod"] >= 14
    (staging_db,) = staging.resources("Data", "AWS::RDS::DBInstance").values()
    assert staging_db["Properties"]["BackupRetentionPeriod"] == 7


def test_backups_replicate_to_the_dr_region_with_the_dr_key(production: Synthesis, db: dict[str, Any]) -> None:
    """The manual's 15-minute database RPO must hold in us-east-1, not only in the primary."""
    props = db["Properties"]
    assert props["AutomaticBackupReplicationRegion"] == "us-east-1"
    lookup_id = props["AutomaticBackupReplicationKmsKeyId"]["Fn::GetAtt"][0]
    lookup = production.template("Data")["Resources"][lookup_id]
    call = json.loads(lookup["Properties"]["Create"])
    assert (call["service"], call["action"], call["region"]) == ("KMS", "describeKey", "us-east-1")
    assert call["parameters"]["KeyId"] == "alias/contractorlens-dr-data"
    dr_key = production.template("DRFoundation")["Resources"]["DrDataKey"]
    (alias,) = production.resources("DRFoundation", "AWS::KMS::Alias").values()
    assert alias["Properties"]["AliasName"] == "alias/contractorlens-dr-data"
    assert dr_key["DeletionPolicy"] == "RetainExceptOnCreate" and dr_key["Properties"]["EnableKeyRotation"] is True


def test_staging_keeps_its_backups_in_region(staging: Synthesis) -> None:
    (staging_db,) = staging.resources("Data", "AWS::RDS::DBInstance").values()
    assert "AutomaticBackupReplicationRegion" not in staging_db["Properties"]
    assert staging.cfg.names.stack("DRFoundation") not in staging.templates


def test_staging_has_rds_generate_and_rotate_the_master_password(staging: Synthesis) -> None:
    """No read replica is made of staging's database: RDS manages its password (rotated every 7 days)."""
    (props,) = [r["Properties"] for r in staging.resources("Data", "AWS::RDS::DBInstance").values()]
    assert props["ManageMasterUserPassword"] is True and "MasterUserPassword" not in props
    assert props["MasterUserSecret"]["KmsKeyId"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert not staging.resources("Data", "AWS::SecretsManager::Secret")


def test_productions_master_password_is_in_a_secret_replicated_to_the_dr_region(production: Synthesis, db: dict[str, Any]) -> None:
    """Read replicas are made of production's database, so RDS may not manage its password: the
    stack generates it, and the DR region's copies of the database open with the secret's replica."""
    props = db["Properties"]
    assert props["ManageMasterUserPassword"] is False and "MasterUserSecret" not in props
    secret = production.template("Data")["Resources"]["DatabaseMasterSecret"]
    assert props["MasterUserPassword"] == {
        "Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": "DatabaseMasterSecret"}, ":SecretString:password::}}"]]
    }
    assert secret["Properties"]["Name"] == production.cfg.names.db_master_secret == "contractorlens/db-master"
    # Kept on destroy (the final snapshot has its password), known to leftovers; not by a failed first create.
    assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    from runbook.account import kept_on_destroy

    assert ("Data", "contractorlens/db-master") in {(k.part, k.name) for k in kept_on_destroy(production.cfg)}
    assert secret["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert secret["Properties"]["ReplicaRegions"] == [
        {"Region": "us-east-1", "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:alias/contractorlens-dr-data"}
    ]
    (attachment,) = production.resources("Data", "AWS::SecretsManager::SecretTargetAttachment").values()
    assert attachment["Properties"] == {
        "SecretId": {"Ref": "DatabaseMasterSecret"},
        "TargetId": {"Ref": "Database"},
        "TargetType": "AWS::RDS::DBInstance",
    }


def test_monitoring_insights_and_log_export(db: dict[str, Any]) -> None:
    props = db["Properties"]
    assert props["MonitoringInterval"] == 60
    assert "MonitoringRoleArn" in props
    assert "postgresql" in props["EnableCloudwatchLogsExports"]


def test_exported_logs_land_in_our_encrypted_retained_groups(production: Synthesis, db: dict[str, Any]) -> None:
    groups = production.resources("Data", "AWS::Logs::LogGroup")
    postgres = groups["PostgresqlLogGroup"]
    assert postgres["Properties"]["LogGroupName"] == "/aws/rds/instance/contractorlens-db/postgresql"
    assert postgres["Properties"]["RetentionInDays"] == 365
    assert postgres["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert postgres["DeletionPolicy"] == "RetainExceptOnCreate"
    # Created before the instance, or RDS creates it first, unencrypted and never expiring.
    assert "PostgresqlLogGroup" in db["DependsOn"]


def test_parameter_group_logs_slow_queries_and_forces_tls(production: Synthesis, db: dict[str, Any]) -> None:
    (group,) = production.resources("Data", "AWS::RDS::DBParameterGroup").values()
    assert group["Properties"]["Family"] == "postgres15"
    params = group["Properties"]["Parameters"]
    assert params["rds.force_ssl"] == "1"
    assert int(params["log_min_duration_statement"]) > 0  # the manual's "slow query" filter needs these lines


def test_connection_details_are_in_parameter_store(production: Synthesis) -> None:
    """The manual: "Verify database credentials in Parameter Store"."""
    params = {p["Properties"]["Name"]: p["Properties"] for p in production.resources("Data", "AWS::SSM::Parameter").values()}
    assert set(params) == {
        "/contractorlens/production/db/endpoint",
        "/contractorlens/production/db/port",
        "/contractorlens/production/db/secret-arn",
    }
    assert params["/contractorlens/production/db/endpoint"]["Value"] == {"Fn::GetAtt": ["Database", "Endpoint.Address"]}
    assert params["/contractorlens/production/db/secret-arn"]["Value"] == {"Ref": "DatabaseInstanceSecretAttachmentFCA06D38"}


def test_the_master_secret_goes_to_the_db_users_task_only(production: Synthesis) -> None:
    """Issue 16: the master secret is injected into `db-users`'s one-off task and no other."""
    readers = []
    for part in ("DRFoundation", "Network", "Registry", "Data", "Service", "Monitoring", "DR"):
        template = production.template(part)
        # A secret's ARN from a Parameter Store value reads as its parameter's name.
        names = {ref: p.get("Default") for ref, p in template.get("Parameters", {}).items()}
        for task in production.resources(part, "AWS::ECS::TaskDefinition").values():
            for container in task["Properties"]["ContainerDefinitions"]:
                text = json.dumps(container.get("Secrets", []))
                if any(x in text for x in ("MasterUserSecret", "DatabaseInstanceSecretAttachment", "db-master")) or any(
                    f'"{ref}"' in text and "secret-arn" in str(name) for ref, name in names.items()
                ):
                    readers.append((part, container["Name"]))
    assert readers == [("Data", "psql")]
    (task,) = production.resources("Data", "AWS::ECS::TaskDefinition").values()
    assert task["Properties"]["Family"] == "contractorlens-db-users"
    (cluster,) = production.resources("Data", "AWS::ECS::Cluster").values()
    assert cluster["Properties"]["ClusterName"] == "contractorlens-admin"
    environment = {e["Name"]: e["Value"] for e in task["Properties"]["ContainerDefinitions"][0]["Environment"]}
    assert environment["PGHOST"] == {"Fn::GetAtt": ["Database", "Endpoint.Address"]}


def test_the_db_users_log_group_is_kept_and_known_to_leftovers(production: Synthesis) -> None:
    from runbook.account import kept_on_destroy

    (group,) = [
        g
        for g in production.resources("Data", "AWS::Logs::LogGroup").values()
        if g["Properties"]["LogGroupName"] == "/ecs/contractorlens/db-users"
    ]
    assert group["DeletionPolicy"] == "RetainExceptOnCreate"
    assert ("Data", "/ecs/contractorlens/db-users") in {(k.part, k.name) for k in kept_on_destroy(production.cfg)}


def test_db_password_generates_what_the_data_stacks_secret_generates(production: Synthesis) -> None:
    """`./scripts/deploy.sh db-password` makes the same kind of password the stack generated."""
    from runbook.credentials import EXCLUDED_CHARACTERS, PASSWORD_LENGTH

    secret = production.template("Data")["Resources"]["DatabaseMasterSecret"]["Properties"]["GenerateSecretString"]
    assert (secret["ExcludeCharacters"], secret["PasswordLength"]) == (EXCLUDED_CHARACTERS, PASSWORD_LENGTH)


def test_each_environment_has_a_database_role_of_its_own(production: Synthesis, staging: Synthesis) -> None:
    """IAM decides who may sign a login token by user name: with one name in both environments (one
    account), staging's task role could log in to production's database wherever the network let it."""
    for synth, user in ((production, "contractorlens_app"), (staging, "contractorlens_staging_app")):
        (db_users,) = synth.resources("Data", "AWS::ECS::TaskDefinition").values()
        assert f"CREATE ROLE {user} LOGIN" in db_users["Properties"]["ContainerDefinitions"][0]["Command"][-1]
        (api,) = synth.resources("Service", "AWS::ECS::TaskDefinition").values()
        environment = {e["Name"]: e["Value"] for e in api["Properties"]["ContainerDefinitions"][0]["Environment"]}
        assert environment["DB_USERNAME"] == user
        policies = json.dumps(list(synth.resources("Service", "AWS::IAM::Policy").values()))
        assert f":dbuser:*/{user}" in policies and (user == "contractorlens_app" or ':dbuser:*/contractorlens_app"' not in policies)
