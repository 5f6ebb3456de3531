"""DR stack: a warm standby (a read replica, or backups only), a promoted replica or a restore and
the running service when active, the released step between, failover DNS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from config import load_environment
from config.dr import DrContextError, DrSettings, parse_dr_context, parse_failback_context
from config.schema import EnvironmentConfig
from config.thresholds import RPO_DATABASE_MINUTES
from review.diff import create_only
from stacks.dr_foundation_stack import DrFoundationStack
from stacks.dr_stack import DrStack
from tests.synth import CDK_JSON, Synthesis, stack_outputs

# The manual: "Restore from backup ... --db-instance-identifier contractorlens-db-restored"
RESTORED = "contractorlens-db-restored"
REPLICA = "contractorlens-db-replica"
# The manual's RPO: "Database: 15 minutes (continuous backups)".
RPO_SECONDS = 15 * 60


def _dr(synth: Synthesis, type_name: str) -> dict[str, dict[str, Any]]:
    return synth.resources("DR", type_name)


def _only(synth: Synthesis, type_name: str) -> dict[str, Any]:
    (resource,) = _dr(synth, type_name).values()
    return resource


def _backups_mode() -> EnvironmentConfig:
    """Production with `dr.database = "backups"`: the pilot light that restores on failover."""
    cfg = load_environment("production")
    return cfg.model_copy(update={"dr": cfg.dr.model_copy(update={"database": "backups"})})


def _dr_template_for(tmp_path: Path, mode: str, restore: str | None = None, cfg: EnvironmentConfig | None = None) -> dict[str, Any]:
    """Only the DR region's stacks, as `npx cdk deploy ContractorLens-Production-DR -c ...` builds them."""
    cfg = cfg or _backups_mode()
    app = cdk.App(outdir=str(tmp_path), context=CDK_JSON["context"], analytics_reporting=False)
    foundation = DrFoundationStack(app, cfg=cfg)
    dr = parse_dr_context(mode, restore, dr_region=cfg.dr_region, replica=cfg.dr.database == "replica")
    DrStack(app, cfg=cfg, dr=dr, dr_key=foundation.key)
    app.synth()
    return json.loads((tmp_path / "ContractorLens-Production-DR.template.json").read_text())


@pytest.fixture(scope="module")
def backups_active(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The DR stack of backups mode, active on the latest replicated backups."""
    return _dr_template_for(tmp_path_factory.mktemp("backups-active"), "active", "latest")


def _of_type(template: dict[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == type_name}


# --- modes and restore sources as context ---------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "restore", "expected"),
    [
        (None, None, DrSettings("standby")),
        ("standby", None, DrSettings("standby")),
        ("active", None, DrSettings("active")),
        ("released", None, DrSettings("released")),
        ("active", "latest", DrSettings("active")),
        ("active", "snapshot:contractorlens-db-snapshot-20261127", None),
        ("active", "time:2026-11-27T18:00:00Z", None),
        ("active", "time:2026-11-27T18:00:00+00:00", None),
    ],
)
def test_valid_modes(mode: str | None, restore: str | None, expected: DrSettings | None) -> None:
    settings = parse_dr_context(mode, restore, dr_region="us-east-1")
    if expected is not None:
        assert settings == expected
    else:
        assert settings.active and settings.restore.kind == restore.split(":")[0]
    if restore and restore.startswith("time:"):
        assert settings.restore.value == "2026-11-27T18:00:00Z"


@pytest.mark.parametrize(
    ("mode", "restore", "words"),
    [
        ("failover", None, ["-c dr-mode = 'failover'", "standby, active, released"]),
        ("standby", "latest", ["-c dr-restore = 'latest'", "only applies with -c dr-mode=active"]),
        ("active", "newest", ["'newest'", "latest, snapshot:", "time:"]),
        ("active", "snapshot:", ["allowed are"]),
        ("active", "snapshot:bad_name!", ["not a DB snapshot identifier"]),
        (
            "active",
            "snapshot:arn:aws:rds:us-west-2:123456789012:snapshot:contractorlens-db-snapshot-20261127",
            ["in us-west-2", "us-east-1", "copy-db-snapshot"],
        ),
        ("active", "time:yesterday", ["UTC time"]),
        ("active", "time:2026-11-27T10:00:00-08:00", ["UTC time"]),
    ],
)
def test_bad_modes_are_one_clear_line(mode: str, restore: str | None, words: list[str]) -> None:
    with pytest.raises(DrContextError) as caught:
        parse_dr_context(mode, restore, dr_region="us-east-1")
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("phase", "kwargs", "words"),
    [
        ("rewind", {}, "-c failback = 'rewind': allowed are detached, replica"),
        ("detached", {"without_dr_stack": "staging has no DR stack"}, "staging has no DR stack, so there is nothing to fail back from"),
        (
            "replica",
            {"created_as": "new", "source": "config/production.toml"},
            'set database.created_as = "replica" in config/production.toml',
        ),
    ],
)
def test_bad_failback_phases_are_one_clear_line(phase: str, kwargs: dict[str, str], words: str) -> None:
    with pytest.raises(DrContextError) as caught:
        parse_failback_context(phase, **kwargs)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_valid_failback_phases() -> None:
    assert parse_failback_context(None) is None
    assert parse_failback_context("detached") == "detached"
    assert parse_failback_context("replica", created_as="replica") == "replica"


def test_a_restore_source_is_refused_in_replica_mode() -> None:
    with pytest.raises(DrContextError) as caught:
        parse_dr_context("active", "latest", dr_region="us-east-1", replica=True)
    assert "promotes the replica" in str(caught.value) and "\n" not in str(caught.value)


# --- standby: the pilot light ---------------------------------------------------------------


def test_the_dr_stack_is_in_the_dr_region(production: Synthesis) -> None:
    artifact = production.manifest["artifacts"]["ContractorLens-Production-DR"]
    assert artifact["environment"] == "aws://123456789012/us-east-1"


def test_standby_keeps_a_cross_region_replica_of_the_primary(production: Synthesis) -> None:
    replica = production.template("DR")["Resources"]["ReplicaDatabase"]["Properties"]
    assert replica["DBInstanceIdentifier"] == REPLICA
    # Named by its ARN from config: no cross-region reference (aws/aws-cdk#30771, #12838).
    assert replica["SourceDBInstanceIdentifier"] == "arn:aws:rds:us-west-2:123456789012:db:contractorlens-db"
    assert "DrDataKey" in json.dumps(replica["KmsKeyId"])
    assert "Ref" in replica["DBSubnetGroupName"] and replica["MultiAZ"] is True and replica["PubliclyAccessible"] is False
    (db_group,) = [
        k for k, g in _dr(production, "AWS::EC2::SecurityGroup").items() if g["Properties"].get("GroupName") == "contractorlens-db-sg"
    ]
    assert replica["VPCSecurityGroups"] == [{"Fn::GetAtt": [db_group, "GroupId"]}]
    assert "ManageMasterUserPassword" not in replica and "BackupRetentionPeriod" not in replica


def test_replica_lag_alarms_hold_the_manuals_rpo(production: Synthesis) -> None:
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in _dr(production, "AWS::CloudWatch::Alarm").values()}
    warning, critical = alarms["contractorlens-production-replica-lag"], alarms["contractorlens-production-replica-lag-critical"]
    assert RPO_DATABASE_MINUTES * 60 == RPO_SECONDS
    assert critical["Threshold"] == RPO_SECONDS and critical["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert 0 < warning["Threshold"] < RPO_SECONDS
    for alarm in (warning, critical):
        assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/RDS", "ReplicaLag")
        assert alarm["Dimensions"] == [{"Name": "DBInstanceIdentifier", "Value": REPLICA}]
        assert alarm["TreatMissingData"] == "breaching"
    topics = {t["Properties"]["TopicName"]: k for k, t in _dr(production, "AWS::SNS::Topic").items()}
    assert critical["AlarmActions"] == [{"Ref": topics["contractorlens-production-alerts-critical"]}]
    assert warning["AlarmActions"] == [{"Ref": topics["contractorlens-production-alerts-warning"]}]


def test_replica_lag_is_on_the_primary_dashboard(production: Synthesis) -> None:
    (dashboard,) = production.resources("Monitoring", "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "ReplicaLag" in body and REPLICA in body and "us-east-1" in body


def test_standby_runs_no_tasks(production: Synthesis) -> None:
    service = _only(production, "AWS::ECS::Service")["Properties"]
    assert service["DesiredCount"] == 0
    assert not _dr(production, "AWS::ApplicationAutoScaling::ScalableTarget")


def test_standby_network_is_shaped_like_the_primary(production: Synthesis) -> None:
    (vpc,) = _dr(production, "AWS::EC2::VPC").values()
    assert vpc["Properties"]["CidrBlock"] == "10.20.0.0/16"
    tiers = {
        next(t["Value"] for t in s["Properties"]["Tags"] if t["Key"] == "aws-cdk:subnet-name")
        for s in _dr(production, "AWS::EC2::Subnet").values()
    }
    assert tiers == {"Public", "Private", "Isolated"}
    names = {g["Properties"].get("GroupName") for g in _dr(production, "AWS::EC2::SecurityGroup").values()}
    assert {"contractorlens-alb-sg", "contractorlens-app-sg", "contractorlens-db-sg"} <= names


def test_standby_service_uses_the_manuals_names_and_the_replicated_image(production: Synthesis) -> None:
    assert _only(production, "AWS::ECS::Cluster")["Properties"]["ClusterName"] == "contractorlens"
    assert _only(production, "AWS::ECS::Service")["Properties"]["ServiceName"] == "contractorlens"
    (container,) = _only(production, "AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"]
    image = json.dumps(container["Image"])
    assert ".dkr.ecr.us-east-1." in image and "/contractorlens:1.0.0" in image


def test_standby_alb_has_its_own_certificate_for_the_api_name(production: Synthesis) -> None:
    cert = _only(production, "AWS::CertificateManager::Certificate")["Properties"]
    assert cert["DomainName"] == "api.contractorlens.com"
    listeners = {
        listener["Properties"]["Port"]: listener["Properties"]
        for listener in _dr(production, "AWS::ElasticLoadBalancingV2::Listener").values()
    }
    assert listeners[443]["Certificates"] == [
        {"CertificateArn": {"Ref": next(iter(_dr(production, "AWS::CertificateManager::Certificate")))}}
    ]


# --- failover DNS ----------------------------------------------------------------------------


def _records(synth: Synthesis, part: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in synth.resources(part, "AWS::Route53::RecordSet").values()]


def test_the_primary_record_is_primary_with_a_health_check(production: Synthesis) -> None:
    records = _records(production, "Service")
    assert {r["Type"] for r in records} == {"A", "AAAA"}
    for record in records:
        assert record["Name"] == "api.contractorlens.com."
        assert record["Failover"] == "PRIMARY"
        assert record["AliasTarget"]["EvaluateTargetHealth"] is True
        assert record["HealthCheckId"] == {"Ref": next(iter(production.resources("Service", "AWS::Route53::HealthCheck")))}


def test_the_dr_stack_owns_the_secondary_record(production: Synthesis) -> None:
    records = _records(production, "DR")
    assert {r["Type"] for r in records} == {"A", "AAAA"}
    for record in records:
        assert record["Name"] == "api.contractorlens.com."
        assert record["Failover"] == "SECONDARY"
        assert "HealthCheckId" not in record
    identifiers = {r["SetIdentifier"] for r in records} | {r["SetIdentifier"] for r in _records(production, "Service")}
    assert len(identifiers) == 2  # one per region, shared by A and AAAA


def test_health_check_probes_the_primary_load_balancers_health_endpoint(production: Synthesis) -> None:
    (check,) = production.resources("Service", "AWS::Route53::HealthCheck").values()
    config = check["Properties"]["HealthCheckConfig"]
    assert config["Type"] == "HTTPS"
    assert config["ResourcePath"] == "/health"
    assert config["Port"] == 443
    # The ALB's own name: a check of api.contractorlens.com would follow the failover and flap back.
    assert "DNSName" in json.dumps(config["FullyQualifiedDomainName"])


def test_health_check_id_reaches_the_dr_region_as_a_parameter(production: Synthesis) -> None:
    writers = [r for r in production.resources("Service", "Custom::AWS").values() if "putParameter" in json.dumps(r)]
    (writer,) = writers
    call = json.loads("".join(p if isinstance(p, str) else "<token>" for p in writer["Properties"]["Create"]["Fn::Join"][1]))
    assert call["region"] == "us-east-1"
    assert call["parameters"]["Name"] == "/contractorlens/production/dr/primary-health-check-id"


def test_primary_health_alarm_pages_critical_in_the_dr_region(production: Synthesis) -> None:
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in _dr(production, "AWS::CloudWatch::Alarm").values()}
    alarm = alarms["contractorlens-production-primary-health"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Route53", "HealthCheckStatus")
    assert alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["Threshold"] == 1
    (dimension,) = alarm["Dimensions"]
    parameter = production.template("DR")["Parameters"][dimension["Value"]["Ref"]]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert parameter["Default"] == "/contractorlens/production/dr/primary-health-check-id"
    topics = {t["Properties"]["TopicName"]: k for k, t in _dr(production, "AWS::SNS::Topic").items()}
    assert alarm["AlarmActions"] == [{"Ref": topics["contractorlens-production-alerts-critical"]}]


def test_the_gemini_key_is_replicated_to_the_dr_region(production: Synthesis) -> None:
    secret = production.template("Service")["Resources"]["GeminiApiKey"]["Properties"]
    (replica,) = secret["ReplicaRegions"]
    assert replica["Region"] == "us-east-1"
    assert replica["KmsKeyId"] == "arn:aws:kms:us-east-1:123456789012:alias/contractorlens-dr-data"


# --- no cross-region CloudFormation references -------------------------------------------------


@pytest.mark.parametrize("env", ["production", "dr_active"])
def test_nothing_imports_across_regions(request: pytest.FixtureRequest, env: str) -> None:
    synth: Synthesis = request.getfixturevalue(env)
    for name, template in synth.templates.items():
        region = synth.manifest["artifacts"][name]["environment"].rsplit("/", 1)[1]
        text = json.dumps(template)
        assert "Fn::ImportValue" not in text, name
        for found in stack_outputs(template):
            assert found.get("Region", region) == region, f"{name} reads {found['StackName']} in {found.get('Region')}"


def test_the_dr_stack_depends_on_nothing_in_the_primary_region(production: Synthesis) -> None:
    artifacts = production.manifest["artifacts"]
    dependencies = set(artifacts["ContractorLens-Production-DR"].get("dependencies", []))
    stacks = {d for d in dependencies if d in artifacts and artifacts[d]["type"] == "aws:cloudformation:stack"}
    assert stacks == {"ContractorLens-Production-DRFoundation"}
    for stack in production.stacks.values():
        assert not getattr(stack, "_crossRegionReferences", False)


# --- active: the promoted replica and the running service --------------------------------------


def test_active_promotes_the_replica_in_place(production: Synthesis, dr_active: Synthesis) -> None:
    """Promotion is the same resource without its source (aws-cloudformation-resource-providers-rds
    PR #334): no create-only property may differ, or CloudFormation would replace it."""
    standby = production.template("DR")["Resources"]["ReplicaDatabase"]
    active = dr_active.template("DR")["Resources"]["ReplicaDatabase"]
    assert "SourceDBInstanceIdentifier" not in active["Properties"]
    for path in create_only("AWS::RDS::DBInstance", "us-east-1"):
        (prop,) = path
        assert standby["Properties"].get(prop) == active["Properties"].get(prop), prop
    assert active["Properties"]["DBInstanceIdentifier"] == REPLICA
    assert active["Properties"]["BackupRetentionPeriod"] == dr_active.cfg.database.backup_retention_days
    assert "DeletionProtection" not in active["Properties"]  # switched on last (tests/unit/test_lifecycle.py)
    assert active["DeletionPolicy"] == "Snapshot" and active["UpdateReplacePolicy"] == "Snapshot"


def test_active_keeps_the_primarys_credentials(dr_active: Synthesis) -> None:
    """Promoted, the replica keeps the primary's master password, which the master secret's replica
    here holds (RDS may not manage it: failback makes a replica of it). The backend does not use
    it: it logs in as its own role, replicated with the data, with a token its task role may sign
    in this region."""
    props = dr_active.template("DR")["Resources"]["ReplicaDatabase"]["Properties"]
    assert not {"ManageMasterUserPassword", "MasterUserSecret", "MasterUserPassword"} & set(props)
    assert props["EnableIAMDatabaseAuthentication"] is True
    (container,) = _only(dr_active, "AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"]
    assert not {"DB_USERNAME", "DB_PASSWORD"} & {s["Name"] for s in container["Secrets"]}
    environment = {e["Name"]: json.dumps(e["Value"]) for e in container["Environment"]}
    assert "ReplicaDatabase" in environment["DB_HOST"] and "Endpoint.Address" in environment["DB_HOST"]
    assert json.loads(environment["DB_USERNAME"]) == "contractorlens_app" and json.loads(environment["DB_AUTH"]) == "iam"
    statements = [
        statement
        for policy in dr_active.resources("DR", "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "rds-db:connect"
    ]
    assert [s["Resource"] for s in statements] == ["arn:aws:rds-db:us-east-1:123456789012:dbuser:*/contractorlens_app"]


def test_active_runs_the_production_count(dr_active: Synthesis) -> None:
    assert "DesiredCount" not in _only(dr_active, "AWS::ECS::Service")["Properties"]
    target = _only(dr_active, "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    assert target["MinCapacity"] >= 2
    assert target["MaxCapacity"] == dr_active.cfg.service.max_tasks


ACTIVE_ALARMS = (
    "running-tasks",
    "no-healthy-targets",
    "api-error-rate-critical",
    "db-free-storage-critical",
    "failed-logins",
    "certificate-expiry-critical",
    "service-down",
    "primary-health",
)


def _alarm_names(template: dict[str, Any]) -> set[str]:
    return {
        a["Properties"]["AlarmName"]
        for a in [*_of_type(template, "AWS::CloudWatch::Alarm").values(), *_of_type(template, "AWS::CloudWatch::CompositeAlarm").values()]
    }


def test_active_has_the_critical_alarms_and_no_lag_alarm(dr_active: Synthesis) -> None:
    template = dr_active.template("DR")
    assert _alarm_names(template) == {f"contractorlens-production-{key}" for key in ACTIVE_ALARMS}
    db_alarms = [a for a in _dr(dr_active, "AWS::CloudWatch::Alarm").values() if "DBInstanceIdentifier" in json.dumps(a)]
    assert db_alarms and all(REPLICA in json.dumps(a) for a in db_alarms)


# --- released: between an active drill and a new replica ---------------------------------------


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _dr_template_for(tmp_path_factory.mktemp("released"), "released", cfg=load_environment("production"))


def test_released_lets_the_database_go_and_keeps_its_log_groups(production: Synthesis, released: dict[str, Any]) -> None:
    assert not _of_type(released, "AWS::RDS::DBInstance")
    assert "DatabaseDeletionProtectionTurnOn" not in json.dumps(list(released["Resources"]))
    service = _of_type(released, "AWS::ECS::Service")
    assert [s["Properties"]["DesiredCount"] for s in service.values()] == [0]
    assert released["Outputs"]["Mode"]["Value"] == "released"
    assert released["Outputs"]["DatabaseInstance"]["Value"] == "none"
    # The log groups have fixed names: the same resources in every mode, so no activation creates
    # them again (AlreadyExists) and none is deleted in between.
    standby_groups = {
        k
        for k, r in production.template("DR")["Resources"].items()
        if "/aws/rds/instance/" in json.dumps(r.get("Properties", {}).get("LogGroupName", ""))
    }
    released_groups = {
        k for k, r in released["Resources"].items() if "/aws/rds/instance/" in json.dumps(r.get("Properties", {}).get("LogGroupName", ""))
    }
    both = {"ReplicaPostgresqlLogGroup", "ReplicaUpgradeLogGroup", "RestoredPostgresqlLogGroup", "RestoredUpgradeLogGroup"}
    assert standby_groups == released_groups == both


# --- backups mode: the pilot light that restores ---------------------------------------------------


@pytest.fixture(scope="module")
def backups_standby(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _dr_template_for(tmp_path_factory.mktemp("backups-standby"), "standby")


def test_backups_standby_has_no_database_but_its_log_groups(backups_standby: dict[str, Any], backups_active: dict[str, Any]) -> None:
    assert not _of_type(backups_standby, "AWS::RDS::DBInstance")
    assert not [k for k in _alarm_names(backups_standby) if "replica-lag" in k]
    groups = {k for k, r in _of_type(backups_standby, "AWS::Logs::LogGroup").items() if "/aws/rds/instance/" in json.dumps(r)}
    # Both modes' groups: switching dr.database never adds a group a previous mode left behind.
    assert groups == {"RestoredPostgresqlLogGroup", "RestoredUpgradeLogGroup", "ReplicaPostgresqlLogGroup", "ReplicaUpgradeLogGroup"}
    assert groups <= set(backups_active["Resources"])


def test_backups_active_restores_the_manuals_instance_name_shaped_like_the_primary(
    backups_active: dict[str, Any], dr_active: Synthesis
) -> None:
    db = backups_active["Resources"]["RestoredDatabase"]
    props = db["Properties"]
    assert props["DBInstanceIdentifier"] == RESTORED
    assert props["MultiAZ"] is True
    assert props["Engine"] == "postgres" and props["EngineVersion"].startswith("15.")
    assert props["PubliclyAccessible"] is False
    assert "DeletionProtection" not in props
    assert db["DeletionPolicy"] == "Snapshot" and db["UpdateReplacePolicy"] == "Snapshot"
    (group,) = _of_type(backups_active, "AWS::RDS::DBParameterGroup").values()
    (primary_group,) = dr_active.resources("Data", "AWS::RDS::DBParameterGroup").values()
    assert group["Properties"]["Parameters"] == primary_group["Properties"]["Parameters"]
    assert not {"ManageMasterUserPassword", "MasterUserSecret", "MasterUserPassword"} & set(props)  # the backups' password
    # What happens after standard support: as production's config says for its primary.
    primary = dr_active.template("Data")["Resources"]["Database"]["Properties"]
    assert props["EngineLifecycleSupport"] == primary["EngineLifecycleSupport"] == "open-source-rds-extended-support"
    assert _alarm_names(backups_active) == {f"contractorlens-production-{key}" for key in ACTIVE_ALARMS}


def test_backups_latest_looks_up_the_current_primarys_backups_by_resource_id(backups_active: dict[str, Any]) -> None:
    """By DbiResourceId, not by name: a name also finds backups kept from an earlier instance of it."""
    props = backups_active["Resources"]["RestoredDatabase"]["Properties"]
    assert props["UseLatestRestorableTime"] is True
    lookup_id = props["SourceDBInstanceAutomatedBackupsArn"]["Fn::GetAtt"][0]
    create = backups_active["Resources"][lookup_id]["Properties"]["Create"]
    parts = create["Fn::Join"][1]
    call = json.loads("".join(p if isinstance(p, str) else "<token>" for p in parts))
    assert call["action"] == "describeDBInstanceAutomatedBackups"
    assert call["parameters"] == {"DbiResourceId": "<token>"}
    # The same parameter in the call and in the custom resource's id.
    (ref,) = {p["Ref"] for p in parts if not isinstance(p, str)}
    parameter = backups_active["Parameters"][ref]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert parameter["Default"] == "/contractorlens/production/dr/db-resource-id"


def test_the_data_stack_writes_its_resource_id_into_the_dr_region(production: Synthesis) -> None:
    writers = [r for r in production.resources("Data", "Custom::AWS").values() if "db-resource-id" in json.dumps(r)]
    (writer,) = writers
    parts = writer["Properties"]["Create"]["Fn::Join"][1]
    call = json.loads("".join(p if isinstance(p, str) else "<token>" for p in parts))
    assert call["region"] == "us-east-1" and call["action"] == "putParameter"
    (token,) = [p for p in parts if not isinstance(p, str)]
    assert token == {"Fn::GetAtt": ["Database", "DbiResourceId"]}


def test_a_named_snapshot_is_restored(tmp_path: Path) -> None:
    template = _dr_template_for(tmp_path, "active", "snapshot:contractorlens-db-snapshot-20261127")
    props = template["Resources"]["RestoredDatabase"]["Properties"]
    assert props["DBSnapshotIdentifier"] == "contractorlens-db-snapshot-20261127"
    assert "SourceDBInstanceAutomatedBackupsArn" not in props and "RestoreTime" not in props


def test_a_point_in_time_is_restored(tmp_path: Path) -> None:
    props = _dr_template_for(tmp_path, "active", "time:2026-11-27T18:00:00Z")["Resources"]["RestoredDatabase"]["Properties"]
    assert props["RestoreTime"] == "2026-11-27T18:00:00Z"
    assert "SourceDBInstanceAutomatedBackupsArn" in props
    assert "UseLatestRestorableTime" not in props and "DBSnapshotIdentifier" not in props


PRODUCTION_SYNTHESES = ("production", "dr_active", "backups_standby", "backups_active", "failback_detached", "failback_replica")


def test_no_database_a_replica_is_made_of_has_rds_manage_its_password(synthesis: Any) -> None:
    """RDS refuses a read replica of an instance whose master password it manages (RDS user guide,
    'Password management with Amazon RDS and AWS Secrets Manager', Limitations): the DR replica of
    the primary, and failback's replica of the DR copy, would each fail their create."""
    instances, sources = {}, set()
    for name in PRODUCTION_SYNTHESES:
        synth = synthesis(name)
        for stack, template in synth.templates.items():
            for logical_id, db in template["Resources"].items():
                if db["Type"] != "AWS::RDS::DBInstance":
                    continue
                props = db["Properties"]
                instances[f"{name}/{stack}/{logical_id}"] = props
                if "SourceDBInstanceIdentifier" in props:
                    sources.add(str(props["SourceDBInstanceIdentifier"]).rsplit(":", 1)[-1])
    cfg = load_environment("production")
    assert sources == {cfg.names.db_instance, cfg.names.db_replica_instance}
    # Every copy in the DR region may be failback's source (backups mode: the restore).
    sources.add(cfg.names.db_restored_instance)
    managed = [
        where
        for where, props in instances.items()
        if props.get("DBInstanceIdentifier") in sources and props.get("ManageMasterUserPassword")
    ]
    assert managed == []
