"""cdk_constructs/grafana.py: Grafana behind an internal load balancer, and its dashboard."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from cdk_constructs.grafana import GrafanaService, Panel, dashboard, prometheus_query
from cdk_constructs.threshold import Comparison, Severity, Threshold
from tests.cdk_constructs.conftest import built, of_type, one, threshold, vpc

BODY = {"uid": "app-dash", "title": "App", "panels": []}


def _threshold(value: float, severity: Severity, comparison: Comparison) -> Threshold:
    return threshold(value=value, severity=severity, comparison=comparison, manual=f"line {value}")


@pytest.fixture(scope="module")
def grafana() -> tuple[GrafanaService, Template]:
    def build(stack: Stack) -> GrafanaService:
        network = vpc(stack)
        return GrafanaService(
            stack, "Grafana", vpc=network, cluster=ecs.Cluster(stack, "Cluster", vpc=network),
            image="docker.io/grafana/grafana-oss:11.6.3", port=3001, host_name="grafana-server",
            allowed_cidrs=["10.99.0.0/16"], prometheus_endpoint="https://aps/ws/", prometheus_arn="arn:aws:aps:us-west-2:123456789012:workspace/ws",
            region="us-west-2", dashboard_body=BODY, admin_secret_name="app/grafana-admin", key=kms.Key(stack, "Key"),
            log_group=logs.LogGroup(stack, "Logs"), private_zone_name="app.internal", deletion_protection=False,
        )  # fmt: skip

    return built(build)


def _groups(template: Template) -> dict[str, dict[str, Any]]:
    return {
        g["Properties"]["GroupDescription"].split(":")[0]: g["Properties"] for g in of_type(template, "AWS::EC2::SecurityGroup").values()
    }


def test_only_the_allowed_ranges_reach_its_port(grafana: Any) -> None:
    ingress = _groups(grafana[1])["Grafana internal ALB"]["SecurityGroupIngress"]
    assert [(r["CidrIp"], r["FromPort"]) for r in ingress] == [("10.99.0.0/16", 3001)]


def test_its_load_balancer_is_internal(grafana: Any) -> None:
    assert one(grafana[1], "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]["Scheme"] == "internal"


def test_its_name_in_the_private_zone_and_its_url(grafana: Any) -> None:
    records = [r["Properties"]["Name"] for r in of_type(grafana[1], "AWS::Route53::RecordSet").values()]
    assert records == ["grafana-server.app.internal."]
    assert grafana[0].url == "http://grafana-server.app.internal:3001/d/app-dash"


def test_its_state_and_password_survive_the_stack(grafana: Any) -> None:
    assert one(grafana[1], "AWS::EFS::FileSystem")["DeletionPolicy"] == "RetainExceptOnCreate"
    assert one(grafana[1], "AWS::SecretsManager::Secret")["DeletionPolicy"] == "RetainExceptOnCreate"


def test_only_grafanas_tasks_mount_its_file_system_and_only_over_tls(grafana: Any) -> None:
    template = grafana[1]
    statements = {s.get("Sid", "default"): s for s in one(template, "AWS::EFS::FileSystem")["Properties"]["FileSystemPolicy"]["Statement"]}
    only = statements["OnlyGrafanaTasks"]
    assert only["Effect"] == "Deny" and only["Principal"] == {"AWS": "*"}
    assert set(only["Action"]) == {"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"}
    (role,) = only["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]["Fn::GetAtt"][:1]
    task = one(template, "AWS::ECS::TaskDefinition")["Properties"]
    assert task["TaskRoleArn"] == {"Fn::GetAtt": [role, "Arn"]}
    tls = statements["OnlyTls"]
    assert tls["Effect"] == "Deny" and tls["Action"] == "*" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_grafana_runs_as_its_images_own_non_root_user(grafana: Any) -> None:
    containers = one(grafana[1], "AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"]
    (container,) = [c for c in containers if c["Name"] == "grafana"]
    assert container["User"] == "472"  # the official image's grafana user (Grafana docs: "runs with user ID 472")


def test_grafanas_root_file_system_is_read_only_with_scratch_space_under_tmp(grafana: Any) -> None:
    task = one(grafana[1], "AWS::ECS::TaskDefinition")["Properties"]
    (container,) = [c for c in task["ContainerDefinitions"] if c["Name"] == "grafana"]
    assert container["ReadonlyRootFilesystem"] is True and container["Memory"] == int(task["Memory"])
    mounts = {m["ContainerPath"]: m["SourceVolume"] for m in container["MountPoints"]}
    volumes = {v["Name"]: v for v in task["Volumes"]}
    # /tmp is a bind mount on the task's own storage (a volume with no EFS or host source).
    assert volumes[mounts["/tmp"]] == {"Name": mounts["/tmp"]}
    assert "EFSVolumeConfiguration" in volumes[mounts["/var/lib/grafana"]]
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment["GF_LOG_MODE"] == "console"  # no log files on the read-only root
    assert "/tmp/grafana/" in environment["PROVIDERS"]


def test_the_dashboard_is_provisioned_from_the_task_definition(grafana: Any) -> None:
    containers = one(grafana[1], "AWS::ECS::TaskDefinition")["Properties"]["ContainerDefinitions"]
    (container,) = [c for c in containers if c["Name"] == "grafana"]
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert json.loads(environment["DASHBOARD"]) == BODY and environment["GF_SERVER_HTTP_PORT"] == "3001"


def test_panels_draw_their_lines_as_steps_and_quote_the_manual() -> None:
    above = Panel("Errors", prometheus_query("errors"), "percent",
                  thresholds=[_threshold(5, Severity.CRITICAL, Comparison.ABOVE), _threshold(1, Severity.WARNING, Comparison.ABOVE)])  # fmt: skip
    below = Panel("Tasks", prometheus_query("tasks"), "none", thresholds=[_threshold(2, Severity.CRITICAL, Comparison.BELOW)])
    band = Panel("Requests", prometheus_query("requests"), "reqpm", thresholds=[_threshold(2, Severity.WARNING, Comparison.OUTSIDE_BAND)])
    panels = dashboard(uid="u", title="t", panels=[above, below, band])["panels"]
    assert panels[0]["fieldConfig"]["defaults"]["thresholds"]["steps"] == [
        {"color": "green", "value": None}, {"color": "orange", "value": 1}, {"color": "red", "value": 5},
    ]  # fmt: skip
    assert panels[1]["fieldConfig"]["defaults"]["thresholds"]["steps"] == [{"color": "red", "value": None}, {"color": "green", "value": 2}]
    assert "thresholds" not in panels[2]["fieldConfig"]["defaults"] and panels[2]["description"] == "line 2"
    assert [p["gridPos"]["x"] for p in panels] == [0, 12, 0]
