"""rollback, scale, restart and the deploy verb, against moto."""

from __future__ import annotations

import json
from collections.abc import Sequence

import boto3
import pytest

from runbook import account, service
from runbook.aws import Aws, WaitPolicy
from runbook.context import Context
from runbook.report import Report
from tests.runbook.conftest import FAST, PRIMARY, HealthServer, World, production_config, push_image, register_revision


def _service() -> dict:
    ecs = boto3.client("ecs", region_name=PRIMARY)
    return ecs.describe_services(cluster="contractorlens", services=["contractorlens"])["services"][0]


def test_rollback_goes_to_the_previous_active_revision(world: World, health_server: HealthServer, run) -> None:
    result = run("rollback", "--url", health_server.url, *FAST)
    assert result.code == 0, result.out + result.err
    assert _service()["taskDefinition"].endswith("contractorlens:1")
    assert "contractorlens:2 -> contractorlens:1" in result.out
    # How to keep the next deploy from bringing the bad image back.
    assert 'service.image_tag = "1.0.0"' in result.out and "config/production.toml" in result.out
    record = json.loads(
        boto3.client("ssm", region_name=PRIMARY).get_parameter(Name="/contractorlens/production/runbook/last-rollback")["Parameter"][
            "Value"
        ]
    )
    assert (record["from"], record["to"]) == ("contractorlens:2", "contractorlens:1")
    assert record["from_image"].endswith(":1.1.0") and record["to_image"].endswith(":1.0.0")


def test_a_rollback_that_ecs_rolled_back_fails(world: World, health_server: HealthServer, run, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the previous revision's tasks never become healthy, ECS's circuit breaker puts the
    service back where it was, steady: the rollback must not report success."""
    from runbook import checks
    from runbook import service as service_module

    described = checks.describe_service
    waited: list[bool] = []

    def after_the_circuit_breaker(ctx):  # type: ignore[no-untyped-def]
        found = described(ctx)
        return {**found, "taskDefinition": found["taskDefinition"].rsplit(":", 1)[0] + ":2"} if waited else found

    monkeypatch.setattr(service_module, "wait_until_stable", lambda ctx: waited.append(True))
    monkeypatch.setattr(checks, "describe_service", after_the_circuit_breaker)
    result = run("rollback", "--url", health_server.url, *FAST)
    assert result.code == 1
    assert "FAIL  rollback landed: the service runs contractorlens:2, not contractorlens:1: ECS rolled the deployment back" in result.out


def test_rollback_to_a_named_revision(world: World, health_server: HealthServer, run) -> None:
    register_revision("1.2.0")
    boto3.client("ecs", region_name=PRIMARY).update_service(
        cluster="contractorlens", service="contractorlens", taskDefinition="contractorlens:3"
    )
    result = run("rollback", "--to-revision", "1", "--url", health_server.url, *FAST)
    assert result.code == 0, result.out + result.err
    assert _service()["taskDefinition"].endswith("contractorlens:1")


def test_rollback_skips_inactive_revisions(world: World, health_server: HealthServer, run) -> None:
    register_revision("1.2.0")
    ecs = boto3.client("ecs", region_name=PRIMARY)
    ecs.update_service(cluster="contractorlens", service="contractorlens", taskDefinition="contractorlens:3")
    ecs.deregister_task_definition(taskDefinition="contractorlens:2")
    result = run("rollback", "--url", health_server.url, *FAST)
    assert result.code == 0, result.out + result.err
    assert _service()["taskDefinition"].endswith("contractorlens:1")


def test_rollback_refuses_when_there_is_no_earlier_revision(world: World, run) -> None:
    boto3.client("ecs", region_name=PRIMARY).update_service(
        cluster="contractorlens", service="contractorlens", taskDefinition="contractorlens:1"
    )
    result = run("rollback", *FAST)
    assert result.code == 2
    assert result.err == "error: rollback: no ACTIVE revision of task family contractorlens earlier than 1: nothing to roll back to\n"
    assert _service()["taskDefinition"].endswith("contractorlens:1")


@pytest.mark.parametrize(("revision", "words"), [("7", "not an ACTIVE revision"), ("2", "already running")])
def test_rollback_refuses_a_bad_revision(world: World, run, revision: str, words: str) -> None:
    result = run("rollback", "--to-revision", revision, *FAST)
    assert result.code == 2 and words in result.err and result.err.count("\n") == 1


def test_scale_sets_the_desired_count(world: World, run) -> None:
    result = run("scale", "--count", "4", *FAST)
    assert result.code == 0, result.out + result.err
    assert _service()["desiredCount"] == 4


def test_scale_refuses_fewer_than_two_tasks_in_production(world: World, run) -> None:
    result = run("scale", "--count", "1", *FAST)
    assert result.code == 2 and "Active ECS Tasks >= 2" in result.err and "--force" in result.err
    assert _service()["desiredCount"] == 2


def test_scale_below_two_with_force(world: World, run) -> None:
    result = run("scale", "--count", "1", "--force", *FAST)
    assert result.code == 0, result.out + result.err
    assert _service()["desiredCount"] == 1


def test_restart_forces_a_new_deployment(world: World, health_server: HealthServer, run) -> None:
    before = _service()["deployments"][0]["id"]
    result = run("restart", "--url", health_server.url, *FAST)
    assert result.code == 0, result.out + result.err
    assert _service()["deployments"][0]["id"] != before


def _context(capsys: pytest.CaptureFixture[str]) -> Context:
    cfg = production_config()
    return Context(cfg=cfg, aws=Aws(), report=Report("production", "production"), wait=WaitPolicy(1, 1), region=PRIMARY)


class Recorder:
    """Stands in for the `npx cdk deploy` subprocess, which has no account to deploy to here."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> int:
        self.calls.append(list(argv))
        return self.code


def test_deploy_runs_preflight_cdk_deploy_wait_and_health_check(world: World, health_server: HealthServer, capsys) -> None:
    push_image("1.2.0")
    recorder = Recorder(0)
    assert service.deploy(_context(capsys), image_tag="1.2.0", url=health_server.url, run=recorder)
    (argv,) = recorder.calls
    assert argv[:3] == ["npx", "cdk", "deploy"]
    assert {"ContractorLens-Production-Service", "ContractorLens-Production-Data"} <= set(argv)
    assert "env=production" in argv and "image-tag=1.2.0" in argv
    out = capsys.readouterr().out
    assert out.index("[1/4] preflight") < out.index("[2/4] cdk deploy") < out.index("[3/4]") < out.index("[4/4] health-check")


def _tags_of(tag: str) -> set[str]:
    ecr = boto3.client("ecr", region_name=PRIMARY)
    (image,) = ecr.describe_images(repositoryName="contractorlens", imageIds=[{"imageTag": tag}])["imageDetails"]
    return set(image["imageTags"])


def test_deploy_keeps_the_release_it_runs_from_the_lifecycle(world: World, health_server: HealthServer, capsys) -> None:
    """The repository's lifecycle never expires a deployed-<tag> image (cdk_constructs/registry.py)."""
    push_image("1.2.0")
    for _ in ("deploy", "deploy again"):  # the extra tag is there already the second time
        assert service.deploy(_context(capsys), image_tag="1.2.0", url=health_server.url, run=Recorder(0))
    assert _tags_of("1.2.0") == {"1.2.0", "deployed-1.2.0"}
    assert "also tagged deployed-1.2.0" in capsys.readouterr().out


def test_a_rollback_keeps_the_release_it_goes_back_to(world: World, health_server: HealthServer, run) -> None:
    assert run("rollback", "--url", health_server.url, *FAST).code == 0
    assert "deployed-1.0.0" in _tags_of("1.0.0")


def test_a_release_already_gone_is_reported_not_a_traceback(world: World, capsys) -> None:
    """A rollback to a release the lifecycle expired before this rule existed: one line, no crash."""
    boto3.client("ecr", region_name=PRIMARY).batch_delete_image(repositoryName="contractorlens", imageIds=[{"imageTag": "1.0.0"}])
    ctx = _context(capsys)
    assert not account.keep_image(ctx, "1.0.0")
    assert "contractorlens:1.0.0 is not in the repository (us-west-2): nothing to keep" in capsys.readouterr().out


def test_deploy_names_the_step_that_failed(world: World, health_server: HealthServer, capsys) -> None:
    ctx = _context(capsys)
    assert not service.deploy(ctx, image_tag=None, url=health_server.url, run=Recorder(1))
    assert "stopped at step 'cdk deploy'" in capsys.readouterr().out


def test_deploy_stops_before_cdk_when_preflight_fails(world: World, capsys) -> None:
    recorder = Recorder(0)
    assert not service.deploy(_context(capsys), image_tag=None, url="http://127.0.0.1:9/health", run=recorder)
    assert recorder.calls == []
    assert "stopped at step 'preflight'" in capsys.readouterr().out
