"""Prometheus (port 9090) and Grafana (port 3001, dashboard contractorlens-prod), as the manual describes them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cdk_constructs.grafana import dashboard_json
from config import load_environment
from stacks.catalogue import GRAFANA_DASHBOARD, grafana_dashboard
from tests.synth import Synthesis

COMMITTED = GRAFANA_DASHBOARD


def _container(synth: Synthesis, part: str, name: str) -> dict[str, Any]:
    for task in synth.resources(part, "AWS::ECS::TaskDefinition").values():
        for container in task["Properties"]["ContainerDefinitions"]:
            if container["Name"] == name:
                return container
    raise AssertionError(f"no container {name} in {part}")


def _environment(container: dict[str, Any]) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in container.get("Environment", [])}


# --- the dashboard file ------------------------------------------------------------------------


def test_the_committed_dashboard_is_the_generated_one() -> None:
    """`make grafana-dashboard` writes it; a changed threshold must be committed with it."""
    assert COMMITTED.read_text() == dashboard_json(grafana_dashboard(load_environment("production")))


def test_the_dashboard_is_the_manuals() -> None:
    board = json.loads(COMMITTED.read_text())
    assert board["uid"] == "contractorlens-prod"  # http://grafana-server:3001/d/contractorlens-prod
    text = json.dumps(board)
    for metric in (
        "http_request_duration_seconds_bucket",  # latency p95
        'status=~\\"5..\\"',  # error rate
        "60 * sum(rate(http_requests_total",  # throughput per minute
        "RunningTaskCount",
        "CPUUtilization",
        "DatabaseConnections",
        "gemini_request_duration_seconds",
        "estimates_generated_total",
    ):
        assert metric in text, metric


@pytest.mark.parametrize(
    ("title", "alarms"),
    [
        ("API response time p95 (s)", ["api-p95-latency"]),
        ("5xx error rate (%)", ["api-error-rate", "api-error-rate-critical"]),
        ("Running tasks", ["running-tasks"]),
        ("Database CPU (%)", ["db-cpu"]),
        ("Database connections", ["db-connections"]),
        ("Gemini API latency (s, average)", ["gemini-latency"]),
        ("Estimates generated per hour", ["estimates-per-hour"]),
    ],
)
def test_panels_draw_the_lines_of_the_cloudwatch_alarms(production: Synthesis, title: str, alarms: list[str]) -> None:
    """The lines are the deployed alarms' thresholds, which tests/unit/test_monitoring.py holds to the manual."""
    thresholds = {
        r["Properties"]["AlarmName"]: r["Properties"].get("Threshold")
        for part in ("Service", "Monitoring")
        for r in production.resources(part, "AWS::CloudWatch::Alarm").values()
    }
    panels = {p["title"]: p for p in json.loads(COMMITTED.read_text())["panels"]}
    steps = panels[title]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    lines = [s["value"] for s in steps if s["value"] is not None]
    assert sorted(lines) == sorted(thresholds[f"contractorlens-production-{key}"] for key in alarms)


def test_grafana_provisions_exactly_the_committed_dashboard(production: Synthesis) -> None:
    provisioned = json.loads(_environment(_container(production, "Monitoring", "grafana"))["DASHBOARD"])
    assert provisioned == json.loads(COMMITTED.read_text())


# --- collection on 9090 ------------------------------------------------------------------------


def test_the_collector_scrapes_port_9090_of_its_own_task(production: Synthesis) -> None:
    collector = _container(production, "Service", "metrics-collector")
    config = _environment(collector)["AOT_CONFIG_CONTENT"]
    text = json.dumps(config)
    assert "localhost:9090" in text
    assert "api/v1/remote_write" in text and "sigv4auth" in text
    assert collector["Essential"] is False
    assert "/contractorlens-public/aws-observability/aws-otel-collector:v" in collector["Image"]  # ECR Public, through the cache


def test_the_collector_may_only_write_to_its_workspace(production: Synthesis) -> None:
    (workspace_id,) = production.resources("Service", "AWS::APS::Workspace")
    statements = [
        s
        for p in production.resources("Service", "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "aps:RemoteWrite" in json.dumps(s["Action"])
    ]
    assert [s["Resource"] for s in statements] == [{"Fn::GetAtt": [workspace_id, "Arn"]}]


def test_metrics_are_stored_durably_and_never_page(production: Synthesis) -> None:
    workspace = production.template("Service")["Resources"]["PrometheusWorkspace"]
    assert workspace["DeletionPolicy"] == "RetainExceptOnCreate"
    assert "AlertManagerDefinition" not in workspace["Properties"]
    for template in production.templates.values():
        assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::APS::RuleGroupsNamespace"]


# --- nothing on 3001 or 9090 from the internet ---------------------------------------------------


def _ingress_rules(synth: Synthesis) -> list[dict[str, Any]]:
    rules = []
    for template in synth.templates.values():
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::EC2::SecurityGroup":
                rules += resource["Properties"].get("SecurityGroupIngress", [])
            elif resource["Type"] == "AWS::EC2::SecurityGroupIngress":
                rules.append(resource["Properties"])
    return rules


def test_nothing_listens_on_3001_or_9090_from_anywhere(production: Synthesis) -> None:
    for rule in _ingress_rules(production):
        ports = range(rule.get("FromPort", 0), rule.get("ToPort", 65535) + 1)
        if 3001 in ports or 9090 in ports:
            assert rule.get("CidrIp") != "0.0.0.0/0" and rule.get("CidrIpv6") != "::/0", rule


def test_no_security_group_admits_9090_at_all(production: Synthesis) -> None:
    """The collector is in the task: it reaches port 9090 over the task's loopback."""
    assert not [r for r in _ingress_rules(production) if r.get("FromPort") == 9090]


def test_grafana_port_3001_is_open_to_the_configured_ranges_only(production: Synthesis) -> None:
    rules = [r for r in _ingress_rules(production) if r.get("FromPort") == 3001 and "CidrIp" in r]
    assert {r["CidrIp"] for r in rules} == set(production.cfg.observability.grafana_allowed_cidrs)


# --- Grafana -----------------------------------------------------------------------------------


def test_grafana_runs_on_3001_behind_an_internal_load_balancer_over_https(production: Synthesis) -> None:
    grafana = _container(production, "Monitoring", "grafana")
    assert grafana["PortMappings"][0]["ContainerPort"] == 3001
    assert _environment(grafana)["GF_SERVER_HTTP_PORT"] == "3001"
    (alb,) = production.resources("Monitoring", "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    assert alb["Properties"]["Scheme"] == "internal"
    listeners = {
        listener["Properties"]["Port"]: listener["Properties"]
        for listener in production.resources("Monitoring", "AWS::ElasticLoadBalancingV2::Listener").values()
    }
    assert set(listeners) == {3001, 80}
    assert listeners[3001]["Protocol"] == "HTTPS" and listeners[3001]["Certificates"]
    (redirect,) = listeners[80]["DefaultActions"]
    assert redirect["RedirectConfig"] == {"Port": "3001", "Protocol": "HTTPS", "StatusCode": "HTTP_301"}
    # The HTTPS listener keeps the logical id it had as HTTP: a new one on the same port would
    # be created before the old one is deleted, and the load balancer refuses two on one port.
    assert any(
        k.startswith("GrafanaLoadBalancerHttp")
        for k, v in production.resources("Monitoring", "AWS::ElasticLoadBalancingV2::Listener").items()
        if v["Properties"]["Port"] == 3001
    )


def test_grafanas_certificate_names_grafana_under_the_domain_and_only_that_name_resolves_privately(production: Synthesis) -> None:
    (certificate,) = production.resources("Monitoring", "AWS::CertificateManager::Certificate").values()
    assert certificate["Properties"]["DomainName"] == "grafana.contractorlens.com"
    assert certificate["Properties"]["DomainValidationOptions"][0]["HostedZoneId"] == production.cfg.dns.hosted_zone_id
    zones = {z["Properties"]["Name"]: z for z in production.resources("Monitoring", "AWS::Route53::HostedZone").values()}
    assert set(zones) == {"contractorlens.internal.", "grafana.contractorlens.com."}
    assert all("VPCs" in zone["Properties"] for zone in zones.values())
    records = {r["Properties"]["Name"] for r in production.resources("Monitoring", "AWS::Route53::RecordSet").values()}
    assert records == {"grafana-server.contractorlens.internal.", "grafana.contractorlens.com."}
    output = production.template("Monitoring")["Outputs"]["GrafanaUrl"]["Value"]
    assert output == "https://grafana.contractorlens.com:3001/d/contractorlens-prod"


def test_grafanas_load_balancer_admits_3001_and_80_from_the_allowed_ranges_only(production: Synthesis) -> None:
    groups = production.resources("Monitoring", "AWS::EC2::SecurityGroup")
    (alb_group,) = [g for g in groups.values() if "Grafana internal ALB" in g["Properties"]["GroupDescription"]]
    ingress = {(r["CidrIp"], r["FromPort"]) for r in alb_group["Properties"]["SecurityGroupIngress"]}
    assert ingress == {(cidr, port) for cidr in production.cfg.observability.grafana_allowed_cidrs for port in (3001, 80)}


def test_grafana_admin_credentials_come_from_secrets_manager(production: Synthesis) -> None:
    grafana = _container(production, "Monitoring", "grafana")
    assert [s["Name"] for s in grafana["Secrets"]] == ["GF_SECURITY_ADMIN_PASSWORD"]
    assert "GF_SECURITY_ADMIN_PASSWORD" not in _environment(grafana)
    secret = production.template("Monitoring")["Resources"]["GrafanaAdminPassword"]
    assert secret["Properties"]["Name"] == "contractorlens/grafana-admin"
    assert "GenerateSecretString" in secret["Properties"]


def test_grafana_data_sources_are_provisioned_as_code(production: Synthesis) -> None:
    sources = json.dumps(_environment(_container(production, "Monitoring", "grafana"))["DATASOURCES"])
    assert '\\"type\\": \\"prometheus\\"' in sources and "sigV4Auth" in sources
    assert '\\"type\\": \\"cloudwatch\\"' in sources
    assert "PrometheusWorkspace" in sources  # the workspace's endpoint


def test_grafana_state_persists_on_encrypted_retained_efs(production: Synthesis) -> None:
    fs = production.template("Monitoring")["Resources"]["GrafanaState"]
    assert fs["Properties"]["Encrypted"] is True
    assert fs["DeletionPolicy"] == "RetainExceptOnCreate"
    assert fs["Properties"]["BackupPolicy"] == {"Status": "ENABLED"}
    grafana = _container(production, "Monitoring", "grafana")
    assert grafana["MountPoints"][0]["ContainerPath"] == "/var/lib/grafana"


def test_staging_collects_metrics_but_runs_no_grafana(staging: Synthesis) -> None:
    assert staging.resources("Service", "AWS::APS::Workspace")
    assert not staging.resources("Monitoring", "AWS::EFS::FileSystem")
    assert not staging.resources("Monitoring", "AWS::ElasticLoadBalancingV2::LoadBalancer")
