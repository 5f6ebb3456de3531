"""`./scripts/deploy.sh db-users`: the one-off task that makes the backend's database role.

RDS and EC2 are moto's; ECS is stubbed with the answers ECS gives for a task's outcomes (moto's
tasks never stop with an exit code).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from config import load_environment
from config.schema import EnvironmentConfig
from runbook import db_users
from runbook.aws import Aws, RunbookError, WaitPolicy
from runbook.context import Context
from runbook.report import Report
from tests.runbook.conftest import FAST, PRIMARY, HealthServer, World

CLUSTER = "contractorlens-admin"
FAMILY = "contractorlens-db-users"
TASK_ARN = f"arn:aws:ecs:{PRIMARY}:123456789012:task/{CLUSTER}/0123456789abcdef"
TASK_DEFINITION = {
    "taskDefinitionArn": f"arn:aws:ecs:{PRIMARY}:123456789012:task-definition/{FAMILY}:3",
    "family": FAMILY,
    "revision": 3,
    "containerDefinitions": [],
    "status": "ACTIVE",
}


@pytest.fixture
def app_network(world: World) -> tuple[list[str], str]:
    """What the Network stack leaves: the app's group and the VPC's private subnets (tagged by CDK)."""
    ec2 = boto3.client("ec2", region_name=PRIMARY)
    group = ec2.create_security_group(GroupName="contractorlens-app-sg", Description="app", VpcId=world.vpc_id)["GroupId"]
    subnets = []
    for index, kind in enumerate(("Private", "Private", "Isolated", "Public")):
        subnet = ec2.create_subnet(VpcId=world.vpc_id, CidrBlock=f"10.10.{index * 16}.0/20")["Subnet"]["SubnetId"]
        ec2.create_tags(Resources=[subnet], Tags=[{"Key": "aws-cdk:subnet-type", "Value": kind}])
        if kind == "Private":
            subnets.append(subnet)
    return sorted(subnets), group


def _context(cfg: EnvironmentConfig | None = None) -> Context:
    cfg = cfg or load_environment("production")
    return Context(cfg=cfg, aws=Aws(), report=Report("db-users", cfg.name), wait=WaitPolicy(1, 1), region=PRIMARY)


def _stopped(**container: Any) -> dict[str, Any]:
    reason = container.pop("stoppedReason", "Essential container in task exited")
    return {
        "tasks": [{"taskArn": TASK_ARN, "lastStatus": "STOPPED", "stoppedReason": reason, "containers": [{"name": "psql", **container}]}]
    }


def _ecs(ctx: Context, network: tuple[list[str], str], outcome: dict[str, Any]) -> Stubber:
    """ECS answering a run of the task: started, then stopped with `outcome`."""
    subnets, group = network
    stubber = Stubber(ctx.client("ecs", PRIMARY))
    stubber.add_response("describe_task_definition", {"taskDefinition": TASK_DEFINITION}, {"taskDefinition": FAMILY})
    expected_run = {
        "cluster": CLUSTER,
        "taskDefinition": f"{FAMILY}:3",
        "launchType": "FARGATE",
        "count": 1,
        "startedBy": "deploy.sh db-users",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group], "assignPublicIp": "DISABLED"}},
    }
    stubber.add_response("run_task", {"tasks": [{"taskArn": TASK_ARN, "lastStatus": "PROVISIONING"}], "failures": []}, expected_run)
    # The waiter's poll, then the command's own read.
    stubber.add_response("describe_tasks", outcome, {"cluster": CLUSTER, "tasks": [TASK_ARN]})
    stubber.add_response("describe_tasks", outcome, {"cluster": CLUSTER, "tasks": [TASK_ARN]})
    return stubber


def test_the_task_runs_in_the_apps_subnets_and_group_and_psql_exiting_0_passes(app_network, capsys) -> None:
    ctx = _context()
    with _ecs(ctx, app_network, _stopped(exitCode=0)) as stubber:
        assert db_users.db_users(ctx)
        stubber.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert "contractorlens-db-users:3 started on contractorlens-admin" in out
    assert "contractorlens_app in contractorlens-db: logs in with IAM only (rds_iam)" in out
    record = boto3.client("ssm", region_name=PRIMARY).get_parameter(Name="/contractorlens/production/runbook/db-users")["Parameter"]
    assert json.loads(record["Value"])["task_definition"] == "contractorlens-db-users:3"
    assert json.loads(record["Value"])["user"] == "contractorlens_app"  # which role it made: preflight compares


@pytest.mark.parametrize(("env", "ok"), [("production", True), ("staging", False)])
def test_preflight_refuses_a_record_of_another_role_than_the_backend_logs_in_as(aws: None, capsys, env: str, ok: bool) -> None:
    """A record from before each environment had a role of its own made contractorlens_app: right for
    production; staging's tasks now log in as contractorlens_staging_app, which db-users must make."""
    ctx = _context(load_environment(env))
    parameter = db_users.record_parameter(ctx)
    boto3.client("ssm", region_name=PRIMARY).put_parameter(
        Name=parameter, Value=json.dumps({"at": "2026-12-01T08:00:00+00:00"}), Type="String"
    )
    assert db_users.check_recorded(ctx) is ok
    out = capsys.readouterr().out
    if not ok:
        assert (
            "db-users made contractorlens_app in staging at 2026-12-01T08:00:00+00:00, but the backend now logs in as contractorlens_staging_app"
            in out
        )
        assert "run ./scripts/deploy.sh db-users --env staging before this deploy" in out


def test_preflight_refuses_a_deploy_until_db_users_has_run(world: World, health_server: HealthServer, run) -> None:
    """An environment deployed when the backend logged in with the master secret: its first deploy
    on IAM login would start tasks that cannot log in. Preflight names the way through."""
    boto3.client("ssm", region_name=PRIMARY).delete_parameter(Name="/contractorlens/production/runbook/db-users")
    result = run("preflight", "--url", health_server.url, *FAST)
    assert result.code == 1
    (line,) = [ln for ln in result.out.splitlines() if "FAIL" in ln]
    assert "db-users has not run in production" in line
    assert "npx cdk deploy ContractorLens-Production-Data -c env=production, then ./scripts/deploy.sh db-users --env production" in line


def test_a_failed_psql_fails_with_its_exit_code_and_where_its_output_is(app_network, capsys) -> None:
    ssm = boto3.client("ssm", region_name=PRIMARY)
    ssm.delete_parameter(Name="/contractorlens/production/runbook/db-users")
    ctx = _context()
    with _ecs(ctx, app_network, _stopped(exitCode=2)):
        assert not db_users.db_users(ctx)
    assert not ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["/contractorlens/production/runbook/db-users"]}])[
        "Parameters"
    ]
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if "FAIL" in ln]
    assert "psql exited 2" in line
    assert "aws logs tail /ecs/contractorlens/db-users --since 1h --region us-west-2" in line


def test_a_task_that_never_ran_psql_fails_with_ecs_reason(app_network, capsys) -> None:
    ctx = _context()
    pull = "CannotPullContainerError: pull image manifest has been retried 5 time(s)"
    with _ecs(ctx, app_network, _stopped(stoppedReason=pull, reason=pull)):
        assert not db_users.db_users(ctx)
    out = capsys.readouterr().out
    assert f"the task stopped before psql ran: {pull}" in out


def test_ctrl_c_stops_the_task_before_exiting(app_network, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _context()
    ecs = ctx.client("ecs", PRIMARY)

    class Interrupted:
        def wait(self, **kwargs: Any) -> None:
            raise KeyboardInterrupt

    monkeypatch.setattr(ecs, "get_waiter", lambda name: Interrupted())
    with Stubber(ecs) as stubber:
        stubber.add_response("describe_task_definition", {"taskDefinition": TASK_DEFINITION})
        stubber.add_response("run_task", {"tasks": [{"taskArn": TASK_ARN}], "failures": []})
        stubber.add_response(
            "stop_task",
            {"task": {"taskArn": TASK_ARN, "desiredStatus": "STOPPED"}},
            {"cluster": CLUSTER, "task": TASK_ARN, "reason": "deploy.sh db-users interrupted"},
        )
        with pytest.raises(KeyboardInterrupt):
            db_users.db_users(ctx)
        stubber.assert_no_pending_responses()


def test_ecs_refusing_to_start_the_task_is_one_line(app_network) -> None:
    ctx = _context()
    with Stubber(ctx.client("ecs", PRIMARY)) as stubber:
        stubber.add_response("describe_task_definition", {"taskDefinition": TASK_DEFINITION})
        stubber.add_response("run_task", {"tasks": [], "failures": [{"reason": "MISSING", "detail": "cluster contractorlens-admin"}]})
        with pytest.raises(RunbookError, match="ECS did not start contractorlens-db-users on contractorlens-admin: MISSING cluster"):
            db_users.db_users(ctx)


def test_a_replica_primary_is_refused_before_anything_runs(app_network, monkeypatch: pytest.MonkeyPatch) -> None:
    """Half-way through a failback contractorlens-db is a replica: it has the role from its source."""
    ctx = _context()
    rds = ctx.client("rds", PRIMARY)
    original = rds.describe_db_instances

    def as_replica(**kwargs: Any) -> Any:
        found = original(**kwargs)
        found["DBInstances"][0]["ReadReplicaSourceDBInstanceIdentifier"] = "arn:aws:rds:us-east-1:123456789012:db:contractorlens-db-replica"
        return found

    monkeypatch.setattr(rds, "describe_db_instances", as_replica)
    with Stubber(ctx.client("ecs", PRIMARY)), pytest.raises(RunbookError, match=r"is a read replica .* run db-users after the switchover"):
        db_users.db_users(ctx)  # the stubber has no answer queued: any ECS call would fail the test differently


def test_without_the_data_stack_it_is_one_line_and_exit_2(aws: None, run) -> None:
    result = run("db-users", *FAST)
    assert result.code == 2 and result.err.count("\n") == 1
    assert "no contractorlens-db in us-west-2: deploy the Data stack first (ContractorLens-Production-Data)" in result.err


def test_without_the_task_definition_it_is_one_line(world: World, run) -> None:
    result = run("db-users", *FAST)
    assert result.code == 2 and result.err.count("\n") == 1
    assert "no task definition contractorlens-db-users in us-west-2: deploy ContractorLens-Production-Data first" in result.err


def test_a_task_that_does_not_stop_in_time_is_stopped_and_is_one_line(app_network, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import WaiterError

    ctx = _context()
    ecs = ctx.client("ecs", PRIMARY)

    class TimedOut:
        def wait(self, **kwargs: Any) -> None:
            raise WaiterError("TasksStopped", "Max attempts exceeded", {})

    monkeypatch.setattr(ecs, "get_waiter", lambda name: TimedOut())
    with Stubber(ecs) as stubber:
        stubber.add_response("describe_task_definition", {"taskDefinition": TASK_DEFINITION})
        stubber.add_response("run_task", {"tasks": [{"taskArn": TASK_ARN}], "failures": []})
        stubber.add_response(
            "stop_task", {"task": {"taskArn": TASK_ARN}}, {"cluster": CLUSTER, "task": TASK_ARN, "reason": "deploy.sh db-users timed out"}
        )
        with pytest.raises(RunbookError, match=r"did not stop within 1 min, so it was stopped"):
            db_users.db_users(ctx)
        stubber.assert_no_pending_responses()
