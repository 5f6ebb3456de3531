"""cdk_constructs/prometheus.py: the workspace, and the collector beside each task."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from cdk_constructs.prometheus import PrometheusWorkspace, add_collector, collector_config
from tests.cdk_constructs.conftest import built, of_type, one


@pytest.fixture(scope="module")
def collected() -> Template:
    def build(stack: Stack) -> None:
        task = ecs.FargateTaskDefinition(stack, "Task")
        task.add_container("Api", image=ecs.ContainerImage.from_registry("public.ecr.aws/app:1"))
        add_collector(
            task, image="public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3",
            workspace=PrometheusWorkspace(stack, "Prometheus", alias="app"), region="us-west-2",
            scrape_interval_seconds=30, metrics_port=9090, job="app", log_group=logs.LogGroup(stack, "Logs"),
        )  # fmt: skip

    return built(build)[1]


def test_the_workspace_outlives_its_stack(collected: Template) -> None:
    workspace = one(collected, "AWS::APS::Workspace")
    assert workspace["Properties"]["Alias"] == "app" and workspace["DeletionPolicy"] == "RetainExceptOnCreate"


def test_the_collector_is_not_essential_to_the_task(collected: Template) -> None:
    containers = {c["Name"]: c for c in one(collected, "AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"]}
    assert containers["metrics-collector"]["Essential"] is False


def test_the_collectors_root_filesystem_is_read_only(collected: Template) -> None:
    containers = one(collected, "AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"]
    (collector,) = [c for c in containers if c["Name"] == "metrics-collector"]
    assert collector["ReadonlyRootFilesystem"] is True


def test_the_collector_runs_as_its_images_non_root_user_within_a_hard_limit(collected: Template) -> None:
    containers = one(collected, "AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"]
    (collector,) = [c for c in containers if c["Name"] == "metrics-collector"]
    assert (collector["User"], collector["MemoryReservation"], collector["Memory"]) == ("10001", 128, 256)


def test_the_task_may_write_to_its_workspace_only(collected: Template) -> None:
    statements = [s for p in of_type(collected, "AWS::IAM::Policy").values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    (write,) = [s for s in statements if s["Action"] == "aps:RemoteWrite"]
    assert "Fn::GetAtt" in write["Resource"]


def test_the_collector_scrapes_the_metrics_port_on_loopback_and_writes_with_sigv4() -> None:
    text = collector_config(
        remote_write_url="https://aps/ws/api/v1/remote_write", region="us-west-2", scrape_interval_seconds=30, job="app", metrics_port=9090
    )
    config: dict[str, Any] = json.loads(text)
    (scrape,) = config["receivers"]["prometheus"]["config"]["scrape_configs"]
    assert scrape["static_configs"] == [{"targets": ["localhost:9090"]}]
    assert config["exporters"]["prometheusremotewrite"]["auth"] == {"authenticator": "sigv4auth"}
