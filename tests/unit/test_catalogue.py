"""stacks/catalogue.py: every threshold placed once, with its owner, graph and panel."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

from config import load_environment
from config.thresholds import SERVICE_DOWN_MEMBERS, THRESHOLDS
from stacks import catalogue
from stacks.catalogue import (
    CATALOGUE,
    GRAPHS,
    CatalogueError,
    Entry,
    Measured,
    Owner,
    check_catalogue,
    graphs,
    metric_sources,
    owned_by,
    watched_by_active_dr,
)
from tests.cdk_constructs.conftest import bare_stack, vpc


def test_the_table_and_the_catalogue_agree() -> None:
    check_catalogue()


def test_every_threshold_has_exactly_one_owner() -> None:
    owners = [owned_by(owner) for owner in Owner]
    assert sorted(key for keys in owners for key in keys) == sorted(THRESHOLDS)
    assert owned_by(Owner.SERVICE) == ["api-p95-latency", "api-error-rate"]  # ECS rolls back on them
    # Route 53 health metrics are in us-east-1 only; the replica is in the DR region.
    assert owned_by(Owner.DR) == ["primary-health", "replica-lag", "replica-lag-critical"]


def test_an_active_dr_region_watches_the_critical_alarms_and_the_outage_signals() -> None:
    watched = watched_by_active_dr()
    assert set(SERVICE_DOWN_MEMBERS) <= set(watched)
    assert {"failed-logins", "db-free-storage-critical", "certificate-expiry-critical"} <= set(watched)
    assert not {"ecs-cpu", "api-p95-latency", "primary-health"} & set(watched)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda c: c.pop("gemini-errors"), "no entry for ['gemini-errors']"),
        (lambda c: c.update({"api-teapot-rate": c["api-error-rate"]}), "entries without a threshold: ['api-teapot-rate']"),
        (lambda c: c.update({"api-p95-latency": c.pop("api-p95-latency")}), "not in the table's order"),
        (lambda c: c.update({"db-cpu": dataclasses.replace(c["db-cpu"], panel="CPU")}), "db-cpu names panel 'CPU'"),
    ],
    ids=["missing", "extra", "order", "panel"],
)
def test_a_catalogue_out_of_step_with_the_table_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[dict[str, Entry]], object], words: str
) -> None:
    changed = dict(CATALOGUE)
    change(changed)
    monkeypatch.setattr(catalogue, "CATALOGUE", changed)
    with pytest.raises(CatalogueError) as raised:
        check_catalogue()
    assert words in str(raised.value) and "\n" not in str(raised.value)


def test_a_graph_no_spec_names_becomes_a_graph_of_its_alarms_after_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given an entry naming a new graph, when the dashboard's graphs are derived, then that graph
    comes last, plots the alarm's metric and draws its line."""
    changed = dict(CATALOGUE)
    changed["no-healthy-targets"] = dataclasses.replace(CATALOGUE["no-healthy-targets"], graph="Healthy targets")
    monkeypatch.setattr(catalogue, "CATALOGUE", changed)
    stack = bare_stack()
    network = vpc(stack)
    task = ecs.FargateTaskDefinition(stack, "Task")
    task.add_container(
        "App", image=ecs.ContainerImage.from_registry("public.ecr.aws/app:1"), port_mappings=[ecs.PortMapping(container_port=80)]
    )
    service = ecs.FargateService(stack, "Service", cluster=ecs.Cluster(stack, "Cluster", vpc=network), task_definition=task)
    alb = elbv2.ApplicationLoadBalancer(stack, "Alb", vpc=network)
    group = alb.add_listener("Http", port=80).add_targets("App", port=80, targets=[service])
    cfg = load_environment("staging")
    sources = metric_sources(cfg, load_balancer=alb, target_group=group, service=service, db_instance_identifier="db", certificate_arn=None)
    alarm = cloudwatch.Alarm(stack, "Healthy", metric=group.metrics.healthy_host_count(), threshold=1, evaluation_periods=1)
    keys = ["running-tasks", "db-cpu", "db-connections", "db-free-storage", "no-healthy-targets"]
    derived = graphs(Measured(sources=sources, alarms=dict.fromkeys(keys, alarm), metrics={}))
    # A graph with nothing to plot is left out: staging has no DR replica, and no log pattern was measured here.
    assert sources.dr_replica is None
    empty = {"DR replica lag (s)", "Log patterns"}
    assert [g.title for g in derived] == [*(spec.title for spec in GRAPHS if spec.title not in empty), "Healthy targets"]
    assert list(derived[-1].lines) == ["no-healthy-targets"] and len(derived[-1].metrics) == 1
