"""cdk_constructs/game_days.py: the game days' Fault Injection Service experiment templates."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from cdk_constructs.game_days import EXPERIMENTS, GameDayExperiments
from config.names import GAME_DAY_EXPERIMENTS
from tests.cdk_constructs.conftest import ACCOUNT, REGION, bare_stack, built, of_type

ALARMS = [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:app-service-down", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:app-storage"]
DB = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:app-db"


def _build(stack: Any, *, force_failover: bool = True, alarms: list[str] = ALARMS) -> GameDayExperiments:
    return GameDayExperiments(
        stack,
        "GameDays",
        name_prefix="app",
        cluster_name="app-cluster",
        service_name="app-service",
        db_instance_arn=DB,
        force_failover=force_failover,
        subnet_tags={"Project": "App", "Environment": "prod"},
        outage_zone="us-west-2b",
        outage_minutes=7,
        stop_alarm_arns=alarms,
        log_group=logs.LogGroup(stack, "Logs"),
    )


@pytest.fixture(scope="module")
def template() -> Template:
    return built(_build)[1]


def _templates(template: Template) -> dict[str, dict[str, Any]]:
    """The experiment templates by their Name tag."""
    return {t["Properties"]["Tags"]["Name"]: t["Properties"] for t in of_type(template, "AWS::FIS::ExperimentTemplate").values()}


def _statements(template: Template, role_id: str) -> list[dict[str, Any]]:
    return [
        s
        for p in of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def test_the_experiments_are_the_runbooks() -> None:
    assert EXPERIMENTS == GAME_DAY_EXPERIMENTS


def test_each_template_is_tagged_for_the_runbook_and_stopped_by_every_alarm(template: Template) -> None:
    found = _templates(template)
    assert set(found) == {f"app-{e}" for e in EXPERIMENTS}
    for props in found.values():
        assert props["StopConditions"] == [{"Source": "aws:cloudwatch:alarm", "Value": arn} for arn in ALARMS]
        assert props["LogConfiguration"]["LogSchemaVersion"] == 2
        assert "LogGroupArn" in props["LogConfiguration"]["CloudWatchLogsConfiguration"]


def test_task_loss_stops_half_the_services_tasks(template: Template) -> None:
    props = _templates(template)["app-task-loss"]
    assert props["Targets"] == {
        "ApiTasks": {
            "ResourceType": "aws:ecs:task",
            "SelectionMode": "PERCENT(50)",
            "Parameters": {"cluster": "app-cluster", "service": "app-service"},
        }
    }
    assert props["Actions"] == {"StopTasks": {"ActionId": "aws:ecs:stop-task", "Targets": {"Tasks": "ApiTasks"}}}


def test_db_failover_forces_a_failover_unless_the_instance_is_single_az(template: Template) -> None:
    props = _templates(template)["app-db-failover"]
    assert props["Targets"]["Database"] == {"ResourceType": "aws:rds:db", "SelectionMode": "ALL", "ResourceArns": [DB]}
    assert props["Actions"]["Reboot"]["ActionId"] == "aws:rds:reboot-db-instances"
    assert props["Actions"]["Reboot"]["Parameters"] == {"forceFailover": "true"}
    single = _templates(built(lambda stack: _build(stack, force_failover=False))[1])["app-db-failover"]
    assert single["Actions"]["Reboot"]["Parameters"] == {"forceFailover": "false"}


def test_az_outage_cuts_off_the_zones_subnets_for_the_configured_time(template: Template) -> None:
    props = _templates(template)["app-az-outage"]
    assert props["Targets"]["ZoneSubnets"] == {
        "ResourceType": "aws:ec2:subnet",
        "SelectionMode": "ALL",
        "ResourceTags": {"Project": "App", "Environment": "prod"},
        "Filters": [{"Path": "AvailabilityZone", "Values": ["us-west-2b"]}],
    }
    assert props["Actions"]["CutOff"] == {
        "ActionId": "aws:network:disrupt-connectivity",
        "Parameters": {"duration": "PT7M", "scope": "all"},
        "Targets": {"Subnets": "ZoneSubnets"},
    }


def test_each_role_is_assumed_by_fis_of_this_account_only(template: Template) -> None:
    roles = of_type(template, "AWS::IAM::Role")
    assert len(roles) == len(EXPERIMENTS)
    for role in roles.values():
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "fis.amazonaws.com"}
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
        assert statement["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:fis:{REGION}:{ACCOUNT}:experiment/*"}


def test_each_role_may_do_its_own_experiment_only(template: Template) -> None:
    by_name = {
        t["Properties"]["Tags"]["Name"]: t["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        for t in of_type(template, "AWS::FIS::ExperimentTemplate").values()
    }
    common = {
        "logs:CreateLogDelivery",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
        "cloudwatch:DescribeAlarms",
    }
    tasks = _statements(template, by_name["app-task-loss"])
    assert _actions(tasks) - common == {"ecs:ListTasks", "ecs:DescribeTasks", "ecs:StopTask"}
    stop = next(s for s in tasks if "ecs:StopTask" in s["Action"])
    assert stop["Resource"] == f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/app-cluster/*"
    database = _statements(template, by_name["app-db-failover"])
    assert _actions(database) - common == {"rds:RebootDBInstance", "rds:DescribeDBInstances"}
    assert next(s for s in database if "rds:RebootDBInstance" in s["Action"])["Resource"] == DB
    network = _statements(template, by_name["app-az-outage"])
    assert not any(a.startswith(("ecs:", "rds:")) for a in _actions(network))
    deletes = next(s for s in network if "ec2:DeleteNetworkAcl" in s["Action"])
    assert deletes["Condition"] == {"StringEquals": {"ec2:ResourceTag/managedByFIS": "true"}}


def test_more_stop_alarms_than_fis_takes_are_refused() -> None:
    with pytest.raises(ValueError, match="6 stop alarms; FIS takes 1 to 5"):
        _build(bare_stack(), alarms=[f"{ALARMS[0]}{i}" for i in range(6)])
