"""Stateful resources survive `cdk destroy` and replacement, and their logical ids never move."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import SYNTHESES
from tests.synth import Synthesis

# Resource types that hold data or keys to data. A new one in any template must be added
# here, and to PINNED below, before the suite passes.
STATEFUL_TYPES = {
    "AWS::RDS::DBInstance",
    "AWS::KMS::Key",
    "AWS::ECR::Repository",
    "AWS::Logs::LogGroup",
    "AWS::S3::Bucket",
    "AWS::SecretsManager::Secret",
    "AWS::DynamoDB::Table",
    "AWS::EFS::FileSystem",
    "AWS::APS::Workspace",
    "AWS::Backup::BackupVault",
}

# Logical ids are what CloudFormation keys a resource on: if one changes, CloudFormation
# creates a new resource and deletes (or orphans) the old. Written out, not computed.
PINNED = {
    "Network": {"Vpc": "AWS::EC2::VPC", "FlowLogsKey": "AWS::KMS::Key", "FlowLogGroup": "AWS::Logs::LogGroup"},
    "Registry": {"Repository": "AWS::ECR::Repository", "DockerHubCredentials": "AWS::SecretsManager::Secret"},
    "Data": {
        "DataKey": "AWS::KMS::Key",
        "Database": "AWS::RDS::DBInstance",
        "PostgresqlLogGroup": "AWS::Logs::LogGroup",
        "UpgradeLogGroup": "AWS::Logs::LogGroup",
        "DbUsersLogGroup": "AWS::Logs::LogGroup",
        # The master password, which the database's final snapshot and every DR copy still have.
        "DatabaseMasterSecret": "AWS::SecretsManager::Secret",
        "BackupVault": "AWS::Backup::BackupVault",
        # CDK's shared custom-resource function's log group; its id derives from a fixed uuid.
        "AWS679f53fac002430cb0da5b7982bd2287LogGroup449FB7C2": "AWS::Logs::LogGroup",
    },
    "DRFoundation": {"DrDataKey": "AWS::KMS::Key", "DrBackupVault": "AWS::Backup::BackupVault"},
    "Service": {
        "ServiceKey": "AWS::KMS::Key",
        "ExecSessionKey": "AWS::KMS::Key",
        "AppLogGroup": "AWS::Logs::LogGroup",
        "ExecLogGroup": "AWS::Logs::LogGroup",
        "WafLogGroup": "AWS::Logs::LogGroup",
        "AccessLogsBucket": "AWS::S3::Bucket",
        "GeminiApiKey": "AWS::SecretsManager::Secret",
        "AWS679f53fac002430cb0da5b7982bd2287LogGroup449FB7C2": "AWS::Logs::LogGroup",
        "PrometheusWorkspace": "AWS::APS::Workspace",
    },
    "Monitoring": {
        "AlertsKey": "AWS::KMS::Key",
        "LogsKey": "AWS::KMS::Key",
        "GrafanaLogGroup": "AWS::Logs::LogGroup",
        "GrafanaState": "AWS::EFS::FileSystem",
        "GrafanaAdminPassword": "AWS::SecretsManager::Secret",
        "DailyChecklistLogGroup": "AWS::Logs::LogGroup",
        "GameDaysLogGroup": "AWS::Logs::LogGroup",
        "AWS679f53fac002430cb0da5b7982bd2287LogGroup449FB7C2": "AWS::Logs::LogGroup",
    },
    "DR": {
        "Vpc": "AWS::EC2::VPC",
        "FlowLogsKey": "AWS::KMS::Key",
        "FlowLogGroup": "AWS::Logs::LogGroup",
        "ServiceKey": "AWS::KMS::Key",
        "ExecSessionKey": "AWS::KMS::Key",
        "AppLogGroup": "AWS::Logs::LogGroup",
        "ExecLogGroup": "AWS::Logs::LogGroup",
        "WafLogGroup": "AWS::Logs::LogGroup",
        "AccessLogsBucket": "AWS::S3::Bucket",
        "AlertsKey": "AWS::KMS::Key",
        "AWS679f53fac002430cb0da5b7982bd2287LogGroup449FB7C2": "AWS::Logs::LogGroup",
        # The replica, which active promotes in place: the same logical id in both modes.
        "ReplicaDatabase": "AWS::RDS::DBInstance",
        "ReplicaPostgresqlLogGroup": "AWS::Logs::LogGroup",
        "ReplicaUpgradeLogGroup": "AWS::Logs::LogGroup",
        # The restore's (backups mode, and the runbook's dr-restore): in the stack in every mode.
        "RestoredPostgresqlLogGroup": "AWS::Logs::LogGroup",
        "RestoredUpgradeLogGroup": "AWS::Logs::LogGroup",
    },
}
# An active DR stack keeps every id of the standby one.
PINNED_DR_ACTIVE = PINNED["DR"]


def _assert_pinned(resources: dict, pinned: dict[str, str], part: str) -> None:
    for logical_id, type_name in pinned.items():
        assert resources.get(logical_id, {}).get("Type") == type_name, f"{part}: {logical_id} moved or vanished"
    unpinned = {k for k, r in resources.items() if r["Type"] in STATEFUL_TYPES} - set(pinned)
    assert not unpinned, f"{part}: stateful resources without a pinned logical id: {sorted(unpinned)}"


@pytest.mark.parametrize("part", sorted(PINNED))
def test_stateful_logical_ids_are_pinned(production: Synthesis, part: str) -> None:
    _assert_pinned(production.template(part)["Resources"], PINNED[part], part)


def test_an_active_dr_stack_pins_its_promoted_database_too(dr_active: Synthesis) -> None:
    _assert_pinned(dr_active.template("DR")["Resources"], PINNED_DR_ACTIVE, "DR (active)")


@pytest.mark.parametrize("env", SYNTHESES)
def test_stateful_resources_are_retained_or_snapshotted(synthesis: Callable[[str], Synthesis], env: str) -> None:
    synth: Synthesis = synthesis(env)
    checked = 0
    for stack, template in synth.templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] in STATEFUL_TYPES:
                checked += 1
                where = f"{stack}/{logical_id}"
                # RetainExceptOnCreate: kept, except by the rollback of a failed first create (test_lifecycle.py).
                assert resource.get("DeletionPolicy") in ("RetainExceptOnCreate", "Retain", "Snapshot"), where
                assert resource.get("UpdateReplacePolicy") in ("Retain", "Snapshot"), where
    assert checked, "no stateful resource found: STATEFUL_TYPES is out of date"


def test_production_stacks_have_termination_protection(production: Synthesis, staging: Synthesis) -> None:
    for name in production.templates:
        assert production.manifest["artifacts"][name]["properties"].get("terminationProtection") is True, name
    for name in staging.templates:
        assert not staging.manifest["artifacts"][name]["properties"].get("terminationProtection"), name


@pytest.mark.parametrize("env", SYNTHESES)
def test_every_key_limits_grants_to_aws_services(request: pytest.FixtureRequest, env: str) -> None:
    """Every key is made by cdk_constructs/keys.py, which denies other grants (CT.KMS.PR.3)."""
    synth = request.getfixturevalue("synthesis")(env)
    for name, template in synth.templates.items():
        for logical_id, key in template["Resources"].items():
            if key["Type"] != "AWS::KMS::Key":
                continue
            denies = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Effect"] == "Deny"]
            assert [s.get("Sid") for s in denies] == ["GrantsOnlyForAwsResources"], f"{name} {logical_id}"
