"""dr-readiness against moto: a DR region ready to take over, and each way it can fall short."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from config import load_environment
from runbook import readiness
from runbook.aws import Aws, WaitPolicy
from runbook.context import Context
from runbook.report import Report
from tests.runbook.conftest import DR, FAST, PRIMARY, World, push_image

STACK = "ContractorLens-Production-DR"
REPLICA = "contractorlens-db-replica"
# The manual's RPO: "Database: 15 minutes (continuous backups)".
RPO_SECONDS = 15 * 60


def _client(service: str, region: str = DR):
    return boto3.client(service, region_name=region)


def _ready(lag_seconds: float = 4.0, *, dr_tag: str = "1.1.0", replicate_image: bool = True) -> None:
    """The DR region as a healthy standby leaves it (the primary runs contractorlens:1.1.0)."""
    body = {"Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"Mode": {"Value": "standby"}}}
    _client("cloudformation").create_stack(StackName=STACK, TemplateBody=json.dumps(body))
    (primary,) = _client("rds", PRIMARY).describe_db_instances(DBInstanceIdentifier="contractorlens-db")["DBInstances"]
    _client("rds").create_db_instance_read_replica(
        DBInstanceIdentifier=REPLICA, SourceDBInstanceIdentifier=primary["DBInstanceArn"], DBInstanceClass="db.m7g.large"
    )
    _client("cloudwatch").put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": "ReplicaLag",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": REPLICA}],
                "Timestamp": datetime.now(UTC) - timedelta(minutes=1),
                "Value": lag_seconds,
                "Unit": "Seconds",
            }
        ],
    )
    _client("ecr").create_repository(repositoryName="contractorlens")
    if replicate_image:
        push_image("1.1.0", DR)
    ecs = _client("ecs")
    ecs.create_cluster(clusterName="contractorlens")
    image = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/contractorlens:{dr_tag}"
    ecs.register_task_definition(family="contractorlens", containerDefinitions=[{"name": "api", "image": image, "memory": 512}])
    ecs.create_service(cluster="contractorlens", serviceName="contractorlens", taskDefinition="contractorlens:1", desiredCount=0)
    _client("secretsmanager", PRIMARY).create_secret(
        Name="contractorlens/gemini-api-key", SecretString="key", AddReplicaRegions=[{"Region": DR}]
    )
    acm = _client("acm")
    certificate = acm.request_certificate(DomainName="api.contractorlens.com", ValidationMethod="DNS")["CertificateArn"]
    assert acm.describe_certificate(CertificateArn=certificate)["Certificate"]["Status"] == "ISSUED"
    check = _client("route53").create_health_check(
        CallerReference=str(uuid.uuid4()),
        HealthCheckConfig={"Type": "HTTPS", "FullyQualifiedDomainName": "primary.example.com", "Port": 443, "ResourcePath": "/health"},
    )["HealthCheck"]["Id"]
    _client("ssm").put_parameter(Name="/contractorlens/production/dr/primary-health-check-id", Value=check, Type="String")
    _client("cloudwatch").put_metric_alarm(
        AlarmName="contractorlens-production-primary-health",
        MetricName="HealthCheckStatus",
        Namespace="AWS/Route53",
        Statistic="Minimum",
        Period=60,
        EvaluationPeriods=2,
        Threshold=1,
        ComparisonOperator="LessThanThreshold",
    )


@pytest.fixture(autouse=True)
def _issued_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto issues a requested certificate once this many seconds have passed (ACM: once DNS validates)."""
    from moto import settings

    monkeypatch.setattr(settings, "ACM_VALIDATION_WAIT", -1)


def test_a_ready_dr_region_passes_every_item(world: World, run) -> None:
    _ready()
    result = run("dr-readiness", "--json", *FAST)
    assert result.code == 0, result.out + result.err
    names = [c["name"] for c in json.loads(result.out)["checks"]]
    assert names == [
        "DR stack in standby",
        "RPO (replica lag)",
        "release in the DR repository",
        "standby on the same release",
        "Gemini key replica",
        "DR certificate",
        "primary health check",
    ]


def test_a_replica_lagging_past_the_rpo_fails(world: World, run) -> None:
    _ready(lag_seconds=RPO_SECONDS + 60)
    result = run("dr-readiness", *FAST)
    assert result.code == 1
    assert "FAIL  RPO (replica lag): contractorlens-db-replica 960 s behind; the manual: 15 min" in result.out


def test_a_release_not_replicated_and_a_standby_on_another_fail_by_name(world: World, run) -> None:
    _ready(dr_tag="1.0.0", replicate_image=False)
    result = run("dr-readiness", *FAST)
    assert result.code == 1
    assert "FAIL  release in the DR repository: contractorlens:1.1.0 is not in us-east-1" in result.out
    assert "FAIL  standby on the same release: the DR task definition runs 1.0.0; the primary 1.1.0" in result.out
    assert "ok    Gemini key replica" in result.out  # the other items are still checked


def test_an_active_dr_stack_is_not_ready_for_a_failover(world: World, run) -> None:
    _ready()
    body = {"Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"Mode": {"Value": "active"}}}
    _client("cloudformation").update_stack(StackName=STACK, TemplateBody=json.dumps(body))
    result = run("dr-readiness", *FAST)
    assert result.code == 1 and "FAIL  DR stack in standby: ContractorLens-Production-DR is active" in result.out


def test_without_a_dr_stack_it_is_one_line(aws: None, run) -> None:
    result = run("dr-readiness", "--env", "staging", *FAST)
    assert result.code == 2 and "staging has no DR stack" in result.err and result.err.count("\n") == 1


def test_a_missing_gemini_key_fails_its_item_and_the_rest_are_still_checked(world: World, run) -> None:
    _ready()
    _client("secretsmanager", PRIMARY).remove_regions_from_replication(SecretId="contractorlens/gemini-api-key", RemoveReplicaRegions=[DR])
    _client("secretsmanager", PRIMARY).delete_secret(SecretId="contractorlens/gemini-api-key", ForceDeleteWithoutRecovery=True)
    result = run("dr-readiness", *FAST)
    assert result.code == 1, result.err
    assert "FAIL  Gemini key replica: no secret contractorlens/gemini-api-key in us-west-2" in result.out
    assert "ok    primary health check" in result.out


def test_backups_mode_without_replicated_backups_fails_the_rpo_item(world: World) -> None:
    _ready()
    cfg = load_environment("production")
    cfg = cfg.model_copy(update={"dr": cfg.dr.model_copy(update={"database": "backups"})})
    ctx = Context(cfg=cfg, aws=Aws(), report=Report("dr-readiness", "production"), wait=WaitPolicy(1, 1), region=PRIMARY)
    assert not readiness.dr_readiness(ctx)
    failed = {c.name: c.detail for c in ctx.report.checks if not c.ok}
    assert list(failed) == ["RPO (replicated backups)"]
    assert "no /contractorlens/production/dr/db-resource-id in us-east-1" in failed["RPO (replicated backups)"]
