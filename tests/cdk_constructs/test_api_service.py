"""cdk_constructs/api_service.py: the backend on Fargate behind a listener, rolled back when bad."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from cdk_constructs.api_service import ApiService, Scaling, TaskSize
from tests.cdk_constructs.conftest import built, of_type, one, vpc

SCALING = Scaling(min_tasks=2, max_tasks=6, cpu_percent=60, memory_percent=60, requests_per_target=600)


def _service(stack: Stack, *, scaling: Scaling | None, alarmed: bool = False) -> ApiService:
    network = vpc(stack)
    alb = elbv2.ApplicationLoadBalancer(stack, "Alb", vpc=network)
    api = ApiService(
        stack, "Api", vpc=network, security_group=ec2.SecurityGroup(stack, "Group", vpc=network),
        cluster_name="app", service_name="app", task_family="app",
        repository=ecr.Repository.from_repository_name(stack, "Repository", "app"), image_tag="1.4.2",
        size=TaskSize(cpu=1024, memory_mib=2048, container_port=3000), environment={"MODE": "test"},
        secrets={}, exec_key=kms.Key(stack, "ExecKey"), log_group=logs.LogGroup(stack, "Logs"),
        exec_log_group=logs.LogGroup(stack, "ExecLogs"), listener=alb.add_listener("Http", port=80),
        health_check_path="/health", scaling=scaling,
    )  # fmt: skip
    if alarmed:
        metric = cloudwatch.Metric(namespace="App", metric_name="Errors")
        api.roll_back_on([cloudwatch.Alarm(stack, "Errors", metric=metric, threshold=1, evaluation_periods=1)])
    return api


@pytest.fixture(scope="module")
def running() -> tuple[ApiService, Template]:
    return built(lambda stack: _service(stack, scaling=SCALING, alarmed=True))


def test_the_image_is_the_release_tag_of_the_repository(running: Any) -> None:
    (container,) = one(running[1], "AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"]
    assert container["Image"]["Fn::Join"][1][-1].endswith("/app:1.4.2")
    assert {"Name": "PORT", "Value": "3000"} in container["Environment"]


def test_a_deployment_rolls_back_on_the_circuit_breaker_and_on_the_alarms(running: Any) -> None:
    service = one(running[1], "AWS::ECS::Service")
    config = service["Properties"]["DeploymentConfiguration"]
    assert config["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    (alarm_id,) = of_type(running[1], "AWS::CloudWatch::Alarm")
    assert config["Alarms"] == {"AlarmNames": [{"Ref": alarm_id}], "Enable": True, "Rollback": True}
    assert alarm_id in service["DependsOn"]


def test_autoscaling_owns_the_task_count(running: Any) -> None:
    """A deploy must not reset a scaled-out service to the floor (aws/aws-cdk#3919)."""
    assert "DesiredCount" not in one(running[1], "AWS::ECS::Service")["Properties"]
    target = one(running[1], "AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
    assert len(of_type(running[1], "AWS::ApplicationAutoScaling::ScalingPolicy")) == 3


def test_the_load_balancer_checks_the_health_path(running: Any) -> None:
    group = one(running[1], "AWS::ElasticLoadBalancingV2::TargetGroup")["Properties"]
    assert (group["HealthCheckPath"], group["Port"], group["Matcher"]) == ("/health", 3000, {"HttpCode": "200"})


def test_earlier_task_revisions_stay_active_for_a_rollback(running: Any) -> None:
    task = one(running[1], "AWS::ECS::TaskDefinition")
    assert (task["DeletionPolicy"], task["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")


def test_without_scaling_it_is_a_pilot_light_at_zero_tasks() -> None:
    _, template = built(lambda stack: _service(stack, scaling=None))
    assert one(template, "AWS::ECS::Service")["Properties"]["DesiredCount"] == 0
    assert not of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget")
