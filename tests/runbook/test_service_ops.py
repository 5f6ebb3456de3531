"""rollback, scale, restart and the deploy verb, against moto."""

from __future__ import annotations

import json

import boto3
import pytest

from runbook import account, service
from runbook.aws import Aws, WaitPolicy
from runbook.context import Context
from runbook.report import Report
from tests.runbook.conftest import FAST, PRIMARY, FakeCdk, HealthServer, World, production_config, push_image, register_revision


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
    from runbook import service as service_module

    def circuit_breaker(ctx) -> None:  # type: ignore[no-untyped-def]
        ecs = boto3.client("ecs", region_name=PRIMARY)
        ecs.update_service(cluster="contractorlens", service="contractorlens", taskDefinition="contractorlens:2")

    monkeypatch.setattr(service_module, "wait_until_stable", circuit_breaker)
    result = run("rollback", "--url", health_server.url, *FAST)
    assert result.code == 1
    assert "FAIL  release asked for: the service runs contractorlens:2 (" in result.out
    assert "asked for contractorlens:1 with contractorlens:1.0.0" in result.out
    assert "deployed-1.0.0" not in _tags_of("1.0.0")  # a release that did not run is not kept


def test_rollback_names_the_api_containers_tag_and_the_last_line_says_what_runs(world: World, health_server: HealthServer, run) -> None:
    """The task definition runs the API and the metrics collector (v0.43.3): the tag to put in the
    config is the API's, and the report ends with the release that runs, digest and all."""
    result = run("rollback", "--url", health_server.url, *FAST)
    assert result.code == 0, result.out + result.err
    assert 'service.image_tag = "1.0.0"' in result.out and "v0.43.3" not in result.out.split("rolling", 1)[1].split("\n", 1)[1]
    digest = _digest_of("1.0.0")
    last = result.out.rstrip().splitlines()[-1]
    assert (
        last == f"rollback: all checks passed; now: contractorlens runs contractorlens:1.0.0 ({digest[:19]}) as contractorlens:1, 2/2 tasks"
    )


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


def test_deploy_runs_preflight_cdk_deploy_wait_verify_and_health_check(world: World, health_server: HealthServer, capsys) -> None:
    push_image("1.2.0")
    cdk = FakeCdk()
    assert service.deploy(_context(capsys), image_tag="1.2.0", url=health_server.url, run=cdk)
    (argv,) = cdk.calls
    assert argv[:3] == ["npx", "cdk", "deploy"]
    assert {"ContractorLens-Production-Service", "ContractorLens-Production-Data"} <= set(argv)
    assert "env=production" in argv and "image-tag=1.2.0" in argv
    out = capsys.readouterr().out
    assert out.index("[1/4] preflight") < out.index("[2/4] cdk deploy") < out.index("[3/4]") < out.index("[4/4] verify")
    assert "ok    tasks run the release: 2 running of 2 desired, each with contractorlens:1.2.0 as sha256:" in out


def _digest_of(tag: str) -> str:
    ecr = boto3.client("ecr", region_name=PRIMARY)
    (image,) = ecr.describe_images(repositoryName="contractorlens", imageIds=[{"imageTag": tag}])["imageDetails"]
    return str(image["imageDigest"])


def _tags_of(tag: str) -> set[str]:
    ecr = boto3.client("ecr", region_name=PRIMARY)
    (image,) = ecr.describe_images(repositoryName="contractorlens", imageIds=[{"imageTag": tag}])["imageDetails"]
    return set(image["imageTags"])


def test_deploy_keeps_the_release_it_runs_from_the_lifecycle(world: World, health_server: HealthServer, capsys) -> None:
    """The repository's lifecycle never expires a deployed-<tag> image (cdk_constructs/registry.py)."""
    push_image("1.2.0")
    for _ in ("deploy", "deploy again"):  # the extra tag is there already the second time
        assert service.deploy(_context(capsys), image_tag="1.2.0", url=health_server.url, run=FakeCdk())
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
    assert not service.deploy(ctx, image_tag="1.1.0", url=health_server.url, run=FakeCdk(1))
    assert "stopped at step 'cdk deploy'" in capsys.readouterr().out


def test_deploy_stops_before_cdk_when_preflight_fails(world: World, capsys) -> None:
    cdk = FakeCdk()
    assert not service.deploy(_context(capsys), image_tag="1.1.0", url="http://127.0.0.1:9/health", run=cdk)
    assert cdk.calls == []
    assert "stopped at step 'preflight'" in capsys.readouterr().out


def test_a_deploy_that_would_put_an_older_release_back_is_refused_before_anything_changes(
    world: World, health_server: HealthServer, run
) -> None:
    """The service runs 1.1.0 (deployed with --image-tag); the file still says 1.0.0: the plain
    deploy would have put 1.0.0 back without a word."""
    result = run("production", "--url", health_server.url, *FAST)
    assert result.code == 2 and result.err.count("\n") == 1
    assert result.err.startswith(
        "error: production: contractorlens runs contractorlens:1.1.0; this deploy would put the older contractorlens:1.0.0"
    )
    assert "--image-tag 1.1.0" in result.err and "--allow-older" in result.err
    assert _service()["taskDefinition"].endswith("contractorlens:2")


def test_allow_older_puts_the_older_release_in_place_on_purpose(world: World, health_server: HealthServer, capsys) -> None:
    assert service.deploy(_context(capsys), image_tag=None, url=health_server.url, allow_older=True, run=FakeCdk())
    out = capsys.readouterr().out
    assert "note: contractorlens:1.0.0 is older than the running contractorlens:1.1.0; deploying it as asked (--allow-older)" in out
    assert "release asked for: the service runs contractorlens:3 (123456789012.dkr.ecr.us-west-2.amazonaws.com/contractorlens:1.0.0)" in out


def test_a_redeploy_after_a_rollback_puts_the_release_in_place_though_cloudformation_sees_no_change(
    world: World, health_server: HealthServer, run, capsys
) -> None:
    """rollback is a direct ECS update: the stack still names 1.2.0, so deploying 1.2.0 again is no
    change to CloudFormation. The deploy sees the service off the stack's revision and puts it back."""
    push_image("1.2.0")
    assert service.deploy(_context(capsys), image_tag="1.2.0", url=health_server.url, run=FakeCdk())
    assert run("rollback", "--url", health_server.url, *FAST).code == 0
    assert _service()["taskDefinition"].endswith("contractorlens:2")
    capsys.readouterr()
    cdk = FakeCdk()
    assert service.deploy(_context(capsys), image_tag="1.2.0", url=health_server.url, run=cdk)
    out = capsys.readouterr().out
    assert "contractorlens runs contractorlens:2, not the stack's contractorlens:3 (changed outside the stack, by a rollback)" in out
    assert _service()["taskDefinition"].endswith("contractorlens:3")


def test_a_release_that_is_not_healthy_after_the_deploy_is_not_kept(world: World, health_server: HealthServer, capsys) -> None:
    push_image("1.2.0")

    class Unhealthy(FakeCdk):
        def __call__(self, argv):  # type: ignore[no-untyped-def]
            code = super().__call__(argv)
            health_server.status = 503  # the new release answers /health with 503
            return code

    assert not service.deploy(_context(capsys), image_tag="1.2.0", url=health_server.url, run=Unhealthy())
    assert _tags_of("1.2.0") == {"1.2.0"}


def test_a_task_on_another_digest_fails_the_verification(world: World, health_server: HealthServer, capsys) -> None:
    """The check can fail: one running task's API container on a digest that is not the tag's."""
    from moto.ecs.models import ecs_backends

    from runbook import release

    ctx = _context(capsys)
    task = next(iter(ecs_backends["123456789012"][PRIMARY].tasks["contractorlens"].values()))
    task.containers[0].image_digest = "sha256:" + "0" * 64
    assert not release.verify(ctx, task_definition="contractorlens:2", tag="1.1.0")
    assert f"not: {task.id[:8]} runs contractorlens:2 (api sha256:0000" in capsys.readouterr().out


def test_a_task_whose_collector_runs_another_digest_fails_the_verification(world: World, health_server: HealthServer, capsys) -> None:
    """Each container is checked, not the API's alone: the collector comes through the pull-through cache."""
    from moto.ecs.models import ecs_backends

    from runbook import release

    task = next(iter(ecs_backends["123456789012"][PRIMARY].tasks["contractorlens"].values()))
    task.containers[1].image_digest = "sha256:" + "1" * 64
    assert not release.verify(_context(capsys), task_definition="contractorlens:2", tag="1.1.0")
    assert f"not: {task.id[:8]} runs contractorlens:2 (metrics-collector sha256:1111" in capsys.readouterr().out


@pytest.mark.parametrize(("count", "words"), [("1", "below the autoscaling minimum (2 to"), ("25", "above the autoscaling maximum (2 to")])
def test_scale_warns_outside_the_autoscaling_range(world: World, run, count: str, words: str) -> None:
    result = run("scale", "--count", count, "--force", *FAST)
    assert result.code == 0, result.out + result.err
    assert f"warning: {count} is {words}" in result.out and "Application Auto Scaling moves the desired count back" in result.out
