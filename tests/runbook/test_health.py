"""health-check and preflight against moto and a health endpoint on 127.0.0.1."""

from __future__ import annotations

import json

import boto3

from tests.runbook.conftest import FAST, PRIMARY, HealthServer, World


def test_health_check_passes_when_everything_holds(world: World, health_server: HealthServer, run) -> None:
    result = run("health-check", "--url", health_server.url, *FAST)
    assert result.code == 0, result.out + result.err
    for line in ("health endpoint", "running tasks: 2 running, 2 desired", "2/2 healthy", "database contractorlens-db", "alarms"):
        assert line in result.out


def test_an_unreachable_url_is_a_failed_check_not_a_crash(world: World, run) -> None:
    result = run("health-check", "--url", "http://127.0.0.1:9/health", *FAST)
    assert result.code == 1
    assert "FAIL  health endpoint" in result.out
    assert "Traceback" not in result.err


def test_an_error_status_fails_the_check(world: World, health_server: HealthServer, run) -> None:
    health_server.status = 503
    result = run("health-check", "--url", health_server.url, *FAST)
    assert result.code == 1 and "-> 503" in result.out


def test_unhealthy_targets_fail_the_check(world: World, health_server: HealthServer, run) -> None:
    ec2 = boto3.client("ec2", region_name=PRIMARY)
    instance = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    boto3.client("elbv2", region_name=PRIMARY).register_targets(TargetGroupArn=world.target_group_arn, Targets=[{"Id": instance}])
    ec2.stop_instances(InstanceIds=[instance])
    result = run("health-check", "--url", health_server.url, *FAST)
    assert result.code == 1
    assert "2/3 healthy" in result.out and f"{instance} unused" in result.out


def test_a_database_that_is_not_available_fails_the_check(world: World, health_server: HealthServer, run) -> None:
    boto3.client("rds", region_name=PRIMARY).stop_db_instance(DBInstanceIdentifier="contractorlens-db")
    result = run("health-check", "--url", health_server.url, *FAST)
    assert result.code == 1 and "FAIL  database contractorlens-db: status stopped" in result.out


def test_alarms_in_alarm_are_listed(world: World, health_server: HealthServer, run) -> None:
    boto3.client("cloudwatch", region_name=PRIMARY).set_alarm_state(
        AlarmName="contractorlens-production-api-error-rate", StateValue="ALARM", StateReason="test"
    )
    result = run("health-check", "--url", health_server.url, "--json", *FAST)
    assert result.code == 1
    document = json.loads(result.out)
    assert document["ok"] is False
    assert document["data"]["alarms_in_alarm"] == ["contractorlens-production-api-error-rate"]


def test_a_missing_service_is_one_line(aws: None, health_server: HealthServer, run) -> None:
    result = run("health-check", "--url", health_server.url, *FAST)
    assert result.code == 2
    assert result.err.strip().count("\n") == 0
    assert "cluster contractorlens not found" in result.err or "service contractorlens not found" in result.err


def test_json_output_lists_every_check(world: World, health_server: HealthServer, run) -> None:
    result = run("health-check", "--url", health_server.url, "--json", *FAST)
    document = json.loads(result.out)
    assert document["command"] == "health-check" and document["env"] == "production" and document["ok"] is True
    assert {c["name"] for c in document["checks"]} >= {"health endpoint", "running tasks", "database contractorlens-db", "alarms"}


def test_preflight_runs_the_manuals_checklist(world: World, health_server: HealthServer, run) -> None:
    result = run("preflight", "--url", health_server.url, *FAST)
    assert result.code == 0, result.out
    assert "service steady" in result.out and "database contractorlens-db" in result.out


def test_preflight_reports_an_alarm_already_firing(world: World, health_server: HealthServer, run) -> None:
    """ECS ignores an alarm already in ALARM when a deployment starts, so preflight must not."""
    boto3.client("cloudwatch", region_name=PRIMARY).set_alarm_state(
        AlarmName="contractorlens-production-api-error-rate", StateValue="ALARM", StateReason="test"
    )
    result = run("preflight", "--url", health_server.url, *FAST)
    assert result.code == 1 and "in ALARM: contractorlens-production-api-error-rate" in result.out


def test_aws_region_points_the_checks_at_the_dr_region(world: World, health_server: HealthServer, run, monkeypatch) -> None:
    """The manual's failover step is `export AWS_REGION=us-east-1`; the runbook follows it."""
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    result = run("health-check", "--url", health_server.url, *FAST)
    assert result.code == 2
    assert "production · us-east-1" in result.out
    assert "cluster contractorlens not found in us-east-1" in result.err
