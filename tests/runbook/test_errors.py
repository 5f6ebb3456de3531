"""AWS faults and user mistakes end in one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import socket

import boto3
import pytest
from botocore.stub import Stubber

from config import load_environment
from runbook.aws import Aws
from tests.runbook.conftest import FAST, PRIMARY, World


def _stub_error(code: str, message: str, times: int = 1) -> Aws:
    aws = Aws()
    stubber = Stubber(aws.client("ecs", PRIMARY))
    for _ in range(times):
        stubber.add_client_error("describe_services", service_error_code=code, service_message=message, http_status_code=400)
    stubber.activate()
    return aws


@pytest.mark.parametrize(
    ("code", "times", "words"),
    [
        ("AccessDeniedException", 1, ["AWS denied DescribeServices", "AWS_PROFILE"]),
        ("ExpiredTokenException", 1, ["rejected the credentials", "aws sso login"]),
        # Standard retry mode makes 3 attempts before it gives up on throttling.
        ("ThrottlingException", 3, ["kept throttling DescribeServices after retries"]),
    ],
)
def test_aws_faults_are_one_line(aws: None, run, code: str, times: int, words: list[str]) -> None:
    result = run("health-check", "--url", "http://127.0.0.1:9/health", *FAST, aws=_stub_error(code, "no", times))
    assert result.code == 2
    assert "Traceback" not in result.err
    assert result.err.count("\n") == 1 and result.err.startswith("error: health-check: ")
    for word in words:
        assert word in result.err


def test_an_endpoint_that_does_not_answer(monkeypatch: pytest.MonkeyPatch, run) -> None:
    with socket.socket() as probe:  # a free port on loopback, closed again: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    result = run("scale", "--count", "3", *FAST)
    assert result.code == 2
    assert "cannot reach AWS" in result.err and "AWS_ENDPOINT_URL" in result.err and result.err.count("\n") == 1


def test_no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path, run) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = run("scale", "--count", "3", *FAST)
    assert result.code == 2 and "no usable AWS credentials" in result.err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["health-check", "--env", "prod"], ["unknown environment 'prod'", "production, staging"]),
        (["scale", "--count", "-1"], ["--count", "expected a task count, 0 or more"]),
        (["logs", "--poll-seconds", "0"], ["--poll-seconds"]),
        (["rollback", "--to-revision", "two"], ["--to-revision", "expected a revision number"]),
        (["production", "--image-tag", "release/1"], ["--image-tag", "not an image tag"]),
        (["restart", "--url", "http://127.0.0.1:99999/health"], ["--url", "the port is not a number from 0 to 65535"]),
    ],
)
def test_bad_input_is_one_line(aws: None, run, argv: list[str], words: list[str]) -> None:
    result = run(*argv)
    assert result.code == 2 and result.err.count("\n") == 1
    for word in words:
        assert word in result.err


@pytest.mark.parametrize("command", ["restart", "rollback", "preflight", "health-check", "first-deploy", "production"])
def test_a_bad_url_is_refused_before_anything_changes(world: World, run, command: str) -> None:
    """A --url that cannot be checked is refused before a command changes anything: `restart`
    must not force a deployment that it then cannot health-check."""
    ecs = boto3.client("ecs", region_name=PRIMARY)
    before = ecs.describe_services(cluster="contractorlens", services=["contractorlens"])["services"][0]
    result = run(command, "--url", "not-a-url", *FAST)
    assert result.code == 2 and result.err.count("\n") == 1 and "Traceback" not in result.err
    assert "--url" in result.err and "'not-a-url' is not an http(s) URL" in result.err
    after = ecs.describe_services(cluster="contractorlens", services=["contractorlens"])["services"][0]
    assert after["deployments"] == before["deployments"] and after["taskDefinition"] == before["taskDefinition"]


@pytest.mark.parametrize("command", ["production", "first-deploy"])
def test_production_as_shipped_is_refused_until_grafanas_placeholder_range_is_replaced(
    world: World, run, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: config/production.toml ships 10.99.0.0/16 for Grafana; no deploy may open Grafana
    to it. One line, exit 2, before anything changes (no stack, no image tag, no role)."""
    monkeypatch.setattr("runbook.cli.load_environment", load_environment)  # the file as it is in the repository
    assert "10.99.0.0/16" in load_environment("production").observability.grafana_allowed_cidrs
    tags_before = boto3.client("ecr", region_name=PRIMARY).describe_images(repositoryName="contractorlens")["imageDetails"]
    result = run(command, *FAST)
    assert result.code == 2 and result.err.count("\n") == 1
    assert "config/production.toml: observability.grafana_allowed_cidrs holds the placeholder 10.99.0.0/16" in result.err
    assert "cdk" not in result.out
    assert boto3.client("ecr", region_name=PRIMARY).describe_images(repositoryName="contractorlens")["imageDetails"] == tags_before


def test_a_url_with_a_space_is_refused_before_restart_changes_anything(world: World, health_server, run) -> None:
    """`restart --url "$URL x"` restarted the service, then died in a traceback on the URL."""
    ecs = boto3.client("ecs", region_name=PRIMARY)
    before = ecs.describe_services(cluster="contractorlens", services=["contractorlens"])["services"][0]["deployments"]
    result = run("restart", "--url", f"{health_server.url} x", *FAST)
    assert result.code == 2 and result.err.count("\n") == 1 and "not an http(s) URL (no spaces" in result.err
    assert ecs.describe_services(cluster="contractorlens", services=["contractorlens"])["services"][0]["deployments"] == before


def test_an_aws_region_outside_the_environments_is_one_line_before_any_call(aws: None, run, monkeypatch: pytest.MonkeyPatch) -> None:
    """`AWS_REGION=mars-north-1` printed an HTML error page."""
    monkeypatch.setenv("AWS_REGION", "mars-north-1")
    result = run("health-check", "--url", "http://127.0.0.1:9/health", *FAST)
    assert result.code == 2 and result.err == (
        "error: health-check: AWS_REGION=mars-north-1: production runs in us-west-2 and fails over to us-east-1; "
        "set AWS_REGION to one of them, or unset it\n"
    )


def test_a_reader_that_leaves_early_is_no_traceback() -> None:
    """`./scripts/deploy.sh logs ... | head` gave a BrokenPipeError traceback once head had exited.
    Here the reader is gone before the first write: stdout is a pipe whose read end is closed."""
    import os
    import subprocess

    from tests.synth import ROOT

    read, write = os.pipe()
    os.close(read)
    try:
        # Its first line ("health-check · production · us-west-2") is written before any AWS call.
        argv = ["./scripts/deploy.sh", "health-check", "--url", "http://127.0.0.1:9/health"]
        shell = subprocess.run(argv, cwd=ROOT, stdout=write, stderr=subprocess.PIPE, text=True, check=False)
    finally:
        os.close(write)
    assert shell.returncode == 141, shell.stderr
    assert shell.stderr == ""
