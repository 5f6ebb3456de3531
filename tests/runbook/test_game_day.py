"""`./scripts/deploy.sh game-day <experiment>`: a Fault Injection Service experiment, watched.

moto holds the experiment templates (made through the API here; the sandbox makes them through
the stacks) and the experiments; moto runs no FIS action, so what an action would do to the
service is stood in for by what the watch observes (`observe`, patched where a test needs it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.moto_api import state_manager

from config.names import GAME_DAY_EXPERIMENTS
from config.thresholds import RTO_APPLICATION_MINUTES, RTO_DATABASE_MINUTES
from runbook import game_day
from runbook.aws import Aws, WaitPolicy
from runbook.context import Context
from runbook.report import Report
from tests.runbook.conftest import FAST, PRIMARY, HealthServer, World, production_config

# The manual's "Recovery Time Objectives (RTO)": Application Recovery 30 minutes, Database Recovery 2 hours.
MANUAL_APPLICATION_RTO, MANUAL_DATABASE_RTO = 30, 120


def _fis() -> Any:
    return boto3.client("fis", region_name=PRIMARY)


def _record(experiment: str) -> dict[str, Any]:
    value = boto3.client("ssm", region_name=PRIMARY).get_parameter(Name=f"/contractorlens/production/runbook/game-day/{experiment}")
    return dict(json.loads(value["Parameter"]["Value"]))


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto advances an experiment one state per GetExperiment; the polls need not wait between."""
    monkeypatch.setattr(WaitPolicy, "sleep", lambda self: None)


@pytest.fixture
def templates(world: World) -> dict[str, str]:
    """The Monitoring stack's three templates, tagged as the stack tags them; returns their ids."""
    role = boto3.client("iam").create_role(RoleName="fis", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    ids = {}
    for experiment in GAME_DAY_EXPERIMENTS:
        ids[experiment] = _fis().create_experiment_template(
            clientToken=experiment,
            description=experiment,
            stopConditions=[{"source": "none"}],
            targets={},
            actions={"A": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}},
            roleArn=role,
            tags={"Name": f"contractorlens-{experiment}"},
        )["experimentTemplate"]["id"]
    return ids


@pytest.fixture
def held_experiments() -> Iterator[None]:
    """Experiments that stay `pending` until stopped (moto's default ends them at once)."""
    state_manager.set_transition(model_name="fis::experiment", transition={"progression": "manual", "times": 10_000})
    yield
    state_manager.unset_transition(model_name="fis::experiment")


def test_the_objectives_are_the_manuals() -> None:
    assert (RTO_APPLICATION_MINUTES, RTO_DATABASE_MINUTES) == (MANUAL_APPLICATION_RTO, MANUAL_DATABASE_RTO)
    assert game_day.OBJECTIVES == {
        "task-loss": (MANUAL_APPLICATION_RTO, "Application Recovery"),
        "db-failover": (MANUAL_DATABASE_RTO, "Database Recovery"),
        "az-outage": (MANUAL_APPLICATION_RTO, "Application Recovery"),
    }


def test_a_game_day_runs_from_a_steady_service_and_is_recorded(templates: dict[str, str], health_server: HealthServer, run) -> None:
    result = run("game-day", "task-loss", "--url", health_server.url, *FAST)
    assert result.code == 0, result.out + result.err
    assert "ok    experiment:" in result.out and "completed" in result.out
    assert f"the manual's Application Recovery RTO: {MANUAL_APPLICATION_RTO} min" in result.out
    assert "alarms that fired: none" in result.out
    (started,) = _fis().list_experiments(experimentTemplateId=templates["task-loss"])["experiments"]
    assert started["tags"] == {"StartedBy": "deploy.sh game-day"}
    record = _record("task-loss")
    assert record["ok"] is True and record["status"] == "completed" and record["objective_minutes"] == MANUAL_APPLICATION_RTO


def test_the_database_failover_is_held_to_the_database_rto(templates: dict[str, str], health_server: HealthServer, run) -> None:
    result = run("game-day", "db-failover", "--url", health_server.url, *FAST)
    assert result.code == 0, result.out + result.err
    assert f"Database Recovery RTO: {MANUAL_DATABASE_RTO} min" in result.out
    assert _record("db-failover")["objective_minutes"] == MANUAL_DATABASE_RTO


def test_an_unknown_experiment_is_one_line(world: World, run) -> None:
    result = run("game-day", "region-outage", *FAST)
    assert result.code == 2
    assert "invalid choice: 'region-outage'" in result.err and "task-loss" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_no_template_names_the_stack_to_deploy(world: World, health_server: HealthServer, run) -> None:
    result = run("game-day", "az-outage", "--url", health_server.url, *FAST)
    assert result.code == 2
    assert "no experiment template tagged Name=contractorlens-az-outage" in result.err
    assert "ContractorLens-Production-Monitoring" in result.err and "game_days.enabled" in result.err


def test_an_unhealthy_service_is_not_experimented_on(templates: dict[str, str], health_server: HealthServer, run) -> None:
    health_server.status = 503
    result = run("game-day", "task-loss", "--url", health_server.url, *FAST)
    assert result.code == 1
    assert "not started: a game day starts from a steady service" in result.out
    assert _fis().list_experiments()["experiments"] == []


def test_an_alarm_already_firing_stops_it_before_it_starts(templates: dict[str, str], health_server: HealthServer, run) -> None:
    boto3.client("cloudwatch", region_name=PRIMARY).set_alarm_state(
        AlarmName="contractorlens-production-api-error-rate", StateValue="ALARM", StateReason="test"
    )
    result = run("game-day", "task-loss", "--url", health_server.url, *FAST)
    assert result.code == 1
    assert "in ALARM: contractorlens-production-api-error-rate" in result.out
    assert _fis().list_experiments()["experiments"] == []


def test_a_running_experiment_of_the_template_is_refused(
    templates: dict[str, str], held_experiments: None, health_server: HealthServer, run
) -> None:
    running = _fis().start_experiment(clientToken="x", experimentTemplateId=templates["task-loss"])["experiment"]["id"]
    result = run("game-day", "task-loss", "--url", health_server.url, *FAST)
    assert result.code == 2
    assert f"experiment {running} of contractorlens-task-loss is still running: aws fis stop-experiment --id {running}" in result.err


def test_ctrl_c_stops_the_experiment(
    templates: dict[str, str], held_experiments: None, health_server: HealthServer, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(self: WaitPolicy) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(WaitPolicy, "sleep", interrupt)
    result = run("game-day", "task-loss", "--url", health_server.url, *FAST)
    assert result.code == 130
    (experiment,) = _fis().list_experiments()["experiments"]
    assert experiment["state"]["status"] in ("stopping", "stopped")
    assert "interrupted: experiment" in result.out


def test_a_failure_while_watching_stops_the_experiment_and_is_one_line(
    templates: dict[str, str], held_experiments: None, health_server: HealthServer, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service is deleted under the watch (say, by someone's cdk destroy): one line, nothing left running."""

    def service_deleted(self: WaitPolicy) -> None:
        ecs = boto3.client("ecs", region_name=PRIMARY)
        ecs.delete_service(cluster="contractorlens", service="contractorlens", force=True)

    monkeypatch.setattr(WaitPolicy, "sleep", service_deleted)
    result = run("game-day", "task-loss", "--url", health_server.url, *FAST)
    assert result.code == 2
    assert "ECS service contractorlens not found" in result.err and len(result.err.strip().splitlines()) == 1
    (experiment,) = _fis().list_experiments()["experiments"]
    assert experiment["state"]["status"] in ("stopping", "stopped")
    assert "the watch failed: experiment" in result.out


def test_not_steady_within_the_objective_stops_it_and_fails(
    templates: dict[str, str], held_experiments: None, health_server: HealthServer, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(game_day.OBJECTIVES, "az-outage", (0, "Application Recovery"))
    result = run("game-day", "az-outage", "--url", health_server.url, *FAST)
    assert result.code == 1
    assert "FAIL  recovery: not steady within 0 min" in result.out
    (experiment,) = _fis().list_experiments()["experiments"]
    assert experiment["state"]["status"] in ("stopping", "stopped")
    assert _record("az-outage")["ok"] is False


def _context() -> Context:
    return Context(
        cfg=production_config(), aws=Aws(), report=Report(command="game-day", env="production"), wait=WaitPolicy(1, 1), region=PRIMARY
    )


def test_the_alarms_that_fired_and_the_time_to_steady_are_reported(
    world: World,
    templates: dict[str, str],
    health_server: HealthServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Between the first two polls a target is gone, /health fails and an alarm fires; by the next
    poll all is back. (moto and the health server stand in for what FIS and ECS would do, through
    the API; moto's experiment moves one state per poll. moto keeps a service's running count at
    its desired count, so lost tasks show only in the sandbox, whose emulator stands in for them.)"""
    elbv2, cloudwatch = boto3.client("elbv2", region_name=PRIMARY), boto3.client("cloudwatch", region_name=PRIMARY)
    lost_target = [{"Id": "10.10.32.10", "Port": 3000}]
    alarm = "contractorlens-production-api-error-rate"
    changes = iter(
        [
            lambda: (
                elbv2.deregister_targets(TargetGroupArn=world.target_group_arn, Targets=lost_target),
                setattr(health_server, "status", 503),
                cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="5XX"),
            ),
            lambda: (
                elbv2.register_targets(TargetGroupArn=world.target_group_arn, Targets=lost_target),
                setattr(health_server, "status", 200),
                cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="recovered"),
            ),
        ]
    )
    monkeypatch.setattr(WaitPolicy, "sleep", lambda self: next(changes, lambda: None)())
    ticks = iter([100.0, 100.0, 100.0])  # the start and the first two polls; every later poll 15 s on
    monkeypatch.setattr(game_day.time, "monotonic", lambda: next(ticks, 115.0))
    ctx = _context()
    assert game_day.game_day(ctx, "task-loss", health_server.url)
    out = capsys.readouterr().out
    assert "experiment running · health 503 · tasks 2/2 · targets 1/1 healthy" in out
    assert f"alarms that fired: {alarm} (+0:00)" in out
    assert "steady again 0:15 after the start" in out and "/health failed for about 15 s" in out
    assert _record("task-loss")["alarms"] == [alarm]


def test_quarterly_reads_each_game_day(templates: dict[str, str], health_server: HealthServer, run) -> None:
    ctx = _context()
    assert not game_day.last_game_days(ctx, 92)
    assert [c.detail.split(":")[0] for c in ctx.report.checks] == [
        "none recorded (/contractorlens/production/runbook/game-day/task-loss)"
    ] + [f"none recorded (/contractorlens/production/runbook/game-day/{e})" for e in GAME_DAY_EXPERIMENTS[1:]]
    for experiment in GAME_DAY_EXPERIMENTS:
        assert run("game-day", experiment, "--url", health_server.url, *FAST).code == 0
    ctx = _context()
    assert game_day.last_game_days(ctx, 92)
    later = _context()
    assert not game_day.last_game_days(later, 92, now=lambda: datetime.now(UTC) + timedelta(days=93))
    assert all("due again" in c.detail for c in later.report.checks)
