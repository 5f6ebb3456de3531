"""dr-activate and dr-standby against moto: what each reads from the DR stack, what it refuses, and
the deploys it runs (`npx cdk` is recorded, not run; the record moves the stack's mode as a deploy would)."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence

import boto3
import pytest
from botocore.stub import Stubber

from config import load_environment
from config.schema import EnvironmentConfig
from runbook import checks, drill
from runbook.aws import Aws, RunbookError, WaitPolicy
from runbook.context import Context
from runbook.report import Report
from tests.runbook.conftest import DR, FAST, PRIMARY, World

STACK = "ContractorLens-Production-DR"
HEALTHY = ""
"""The DR copy's /health (a server on 127.0.0.1 answering 200), which dr-activate checks."""


@pytest.fixture(autouse=True)
def _dr_copy_answers(health_server) -> None:  # type: ignore[no-untyped-def]
    global HEALTHY
    HEALTHY = health_server.url


REPLICA = "contractorlens-db-replica"


def _context(cfg: EnvironmentConfig | None = None) -> Context:
    return Context(
        cfg=cfg or load_environment("production"), aws=Aws(), report=Report("drill", "production"), wait=WaitPolicy(1, 1), region=PRIMARY
    )


def _backups_mode() -> EnvironmentConfig:
    cfg = load_environment("production")
    return cfg.model_copy(update={"dr": cfg.dr.model_copy(update={"database": "backups"})})


def _dr_stack(mode: str, database: str = REPLICA, restore: str | None = None, *, update: bool = False) -> None:
    """The DR stack as a deploy of `mode` leaves it: its outputs say what it is."""
    outputs = {"Mode": {"Value": mode}, "DatabaseInstance": {"Value": database}}
    if restore:
        outputs["RestoreSource"] = {"Value": restore}
    body = json.dumps({"Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}}, "Outputs": outputs})
    cfn = boto3.client("cloudformation", region_name=DR)
    (cfn.update_stack if update else cfn.create_stack)(StackName=STACK, TemplateBody=body)


def _dr_database(identifier: str = REPLICA, **settings: int) -> None:
    boto3.client("rds", region_name=DR).create_db_instance(
        DBInstanceIdentifier=identifier,
        DBInstanceClass="db.m7g.large",
        Engine="postgres",
        MasterUsername="contractorlens_admin",
        MasterUserPassword="not-a-real-password-1",
        AllocatedStorage=100,
        DeletionProtection=True,
        **settings,
    )


def _dr_service() -> None:
    ecs = boto3.client("ecs", region_name=DR)
    ecs.create_cluster(clusterName="contractorlens")
    ecs.register_task_definition(family="contractorlens", containerDefinitions=[{"name": "api", "image": "api:1.0.0", "memory": 512}])
    ecs.create_service(cluster="contractorlens", serviceName="contractorlens", taskDefinition="contractorlens:1", desiredCount=2)


class Cdk:
    """Stands in for `npx cdk deploy` of the DR stack: records the call and moves the stack's mode."""

    def __init__(self, database: str = REPLICA) -> None:
        self.calls: list[list[str]] = []
        self.database = database

    def __call__(self, argv: Sequence[str]) -> int:
        self.calls.append(list(argv))
        mode = next(a.split("=", 1)[1] for a in argv if a.startswith("dr-mode="))
        restore = next((a.split("=", 1)[1] for a in argv if a.startswith("dr-restore=")), None)
        database = "none" if mode == "released" or (mode == "standby" and self.database.endswith("-restored")) else self.database
        _dr_stack(mode, database, restore, update=True)
        return 0

    def modes(self) -> list[str]:
        return [next(a for a in call if a.startswith("dr-mode=")) for call in self.calls]


def test_activate_promotes_the_replica_and_waits_for_the_service(world: World) -> None:
    _dr_stack("standby")
    _dr_service()
    cdk = Cdk()
    assert drill.dr_activate(_context(), restore=None, url=HEALTHY, run=cdk)
    # Not rolled back on a failure: a promotion cannot be undone, and running it again resumes.
    expected = [
        "npx",
        "cdk",
        "deploy",
        STACK,
        "-c",
        "env=production",
        "-c",
        "dr-mode=active",
        "--no-rollback",
        "--require-approval",
        "never",
    ]
    assert cdk.calls == [expected]
    assert drill.dr_state(_context()).mode == "active"
    # The measured RTO, which `checklist quarterly` reads.
    record = json.loads(
        boto3.client("ssm", region_name=PRIMARY).get_parameter(Name="/contractorlens/production/runbook/last-drill")["Parameter"]["Value"]
    )
    assert record["database"] == "replica" and 0 <= record["minutes"] < 5


def test_activate_refuses_a_restore_source_in_replica_mode(world: World, run) -> None:
    result = run("dr-activate", "--latest", *FAST)
    assert result.code == 2 and 'dr.database is "replica"' in result.err and result.err.count("\n") == 1


def test_activate_needs_the_dr_stack(world: World, run) -> None:
    result = run("dr-activate", *FAST)
    assert result.code == 2 and f"no {STACK} in us-east-1: deploy it in standby first" in result.err


def test_activate_refuses_a_released_stack_in_replica_mode(world: World) -> None:
    _dr_stack("released", "none")
    with pytest.raises(RunbookError, match="no replica to promote"):
        drill.dr_activate(_context(), restore=None, url=HEALTHY, run=Cdk())


def test_activate_refuses_another_restore_source_on_an_active_stack(world: World) -> None:
    """CloudFormation cannot restore an existing instance again; the way is standby, then active."""
    _dr_stack("active", "contractorlens-db-restored", "snapshot:contractorlens-db-snapshot-1")
    cdk = Cdk("contractorlens-db-restored")
    with pytest.raises(RunbookError) as caught:
        drill.dr_activate(_context(_backups_mode()), restore=None, url=HEALTHY, run=cdk)
    message = str(caught.value)
    assert "restored from snapshot:contractorlens-db-snapshot-1" in message and "from latest" in message
    assert "dr-standby" in message and "\n" not in message
    assert not cdk.calls


def test_activate_in_backups_mode_refuses_while_a_dr_restore_holds_the_name(world: World) -> None:
    """The stack restores its own contractorlens-db-restored: CloudFormation would fail half-way on the name."""
    _dr_stack("standby", "none")
    _dr_service()
    _dr_database("contractorlens-db-restored")  # what dr-restore left
    cdk = Cdk("contractorlens-db-restored")
    with pytest.raises(RunbookError) as caught:
        drill.dr_activate(_context(_backups_mode()), restore=None, url=HEALTHY, run=cdk)
    assert "contractorlens-db-restored already exists in us-east-1 outside the DR stack" in str(caught.value)
    assert "--snapshot" in str(caught.value) and "\n" not in str(caught.value)
    assert not cdk.calls


def test_activate_in_backups_mode_passes_the_restore_source(world: World) -> None:
    _dr_stack("standby", "none")
    _dr_service()
    cdk = Cdk("contractorlens-db-restored")
    from config.dr import RestoreSource

    assert drill.dr_activate(_context(_backups_mode()), restore=RestoreSource("time", "2026-11-27T18:00:00Z"), url=HEALTHY, run=cdk)
    assert "dr-restore=time:2026-11-27T18:00:00Z" in cdk.calls[0]


def test_standby_after_a_drill_snapshots_releases_and_creates_a_new_replica(world: World) -> None:
    _dr_stack("active")
    _dr_database()
    cdk = Cdk()
    ctx = _context()
    assert drill.dr_standby(ctx, run=cdk)
    rds = boto3.client("rds", region_name=DR)
    (snapshot,) = rds.describe_db_snapshots(DBInstanceIdentifier=REPLICA, SnapshotType="manual")["DBSnapshots"]
    assert snapshot["DBSnapshotIdentifier"].startswith("contractorlens-dr-final-")
    assert ctx.report.data["final_snapshot"] == snapshot["DBSnapshotIdentifier"]
    (db,) = rds.describe_db_instances(DBInstanceIdentifier=REPLICA)["DBInstances"]
    assert db["DeletionProtection"] is False  # so that the released stack can let it go
    assert cdk.modes() == ["dr-mode=released", "dr-mode=standby"]
    assert drill.dr_state(ctx).mode == "standby"


def test_standby_in_backups_mode_needs_one_deploy(world: World) -> None:
    _dr_stack("active", "contractorlens-db-restored", "latest")
    _dr_database("contractorlens-db-restored")
    cdk = Cdk("contractorlens-db-restored")
    assert drill.dr_standby(_context(_backups_mode()), run=cdk)
    assert cdk.modes() == ["dr-mode=standby"]


def test_standby_picks_up_after_the_release(world: World) -> None:
    _dr_stack("released", "none")
    cdk = Cdk()
    assert drill.dr_standby(_context(), run=cdk)
    assert cdk.modes() == ["dr-mode=standby"]
    assert not boto3.client("rds", region_name=DR).describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]


def test_standby_when_in_standby_changes_nothing(world: World) -> None:
    _dr_stack("standby")
    cdk = Cdk()
    assert drill.dr_standby(_context(), run=cdk)
    assert not cdk.calls


def test_standby_refuses_while_the_primary_database_is_not_available(world: World) -> None:
    """After a real failover the DR database has the only current data: that is a failback."""
    _dr_stack("active")
    _dr_database()
    rds = boto3.client("rds", region_name=PRIMARY)
    rds.delete_db_instance(DBInstanceIdentifier="contractorlens-db", SkipFinalSnapshot=True)
    cdk = Cdk()
    with pytest.raises(RunbookError, match=r"contractorlens-db in us-west-2 is missing.*failback status"):
        drill.dr_standby(_context(), run=cdk)
    assert not cdk.calls
    assert not boto3.client("rds", region_name=DR).describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]


def test_a_deleted_stack_reads_as_absent(world: World) -> None:
    _dr_stack("standby")
    boto3.client("cloudformation", region_name=DR).delete_stack(StackName=STACK)
    assert drill.dr_state(_context()).mode == "absent"


def test_a_stack_that_is_still_moving_is_named_and_left_alone(world: World) -> None:
    ctx = _context()
    stubber = Stubber(ctx.aws.client("cloudformation", DR))
    moving = {"StackName": STACK, "StackStatus": "UPDATE_IN_PROGRESS", "CreationTime": "2026-11-28T00:00:00Z"}
    stubber.add_response("describe_stacks", {"Stacks": [moving]}, {"StackName": STACK})
    cdk = Cdk()
    with stubber, pytest.raises(RunbookError, match=f"{STACK} is UPDATE_IN_PROGRESS: wait until it settles"):
        drill.dr_standby(ctx, run=cdk)
    assert not cdk.calls


def test_in_the_dr_region_health_checks_the_dr_stacks_database(world: World) -> None:
    """`AWS_REGION=us-east-1 ./scripts/deploy.sh health-check` after dr-activate: the promoted replica."""
    _dr_database()
    ctx = dataclasses.replace(_context(), region=DR)
    assert checks.check_database(ctx)
    assert [c.name for c in ctx.report.checks] == [f"database {REPLICA}"]


def _failed_half_way(ctx: Context) -> Stubber:
    stubber = Stubber(ctx.aws.client("cloudformation", DR))
    stopped = {
        "StackName": STACK,
        "StackStatus": "UPDATE_FAILED",
        "CreationTime": "2026-11-28T00:00:00Z",
        "Outputs": [{"OutputKey": "Mode", "OutputValue": "active"}, {"OutputKey": "DatabaseInstance", "OutputValue": REPLICA}],
    }
    stubber.add_response("describe_stacks", {"Stacks": [stopped]}, {"StackName": STACK})
    return stubber


def test_an_activation_that_stopped_half_way_is_resumed_by_running_it_again(world: World) -> None:
    _dr_stack("active")  # what the deploy will update; CloudFormation itself answers UPDATE_FAILED below
    _dr_service()
    ctx, cdk = _context(), Cdk()
    with _failed_half_way(ctx):
        assert drill.dr_activate(ctx, restore=None, url=HEALTHY, run=cdk)
    assert cdk.modes() == ["dr-mode=active"]


def test_standby_after_an_activation_stopped_half_way_says_to_finish_it_first(world: World) -> None:
    ctx, cdk = _context(), Cdk()
    with _failed_half_way(ctx), pytest.raises(RunbookError, match=r"UPDATE_FAILED: an activation stopped half-way.*dr-activate"):
        drill.dr_standby(ctx, run=cdk)
    assert not cdk.calls


def test_standby_switches_a_replica_standby_to_backups_mode(world: World) -> None:
    """dr.database changed from "replica" to "backups": the replica is a copy of the primary and goes."""
    _dr_stack("standby", REPLICA)
    _dr_database()
    cdk = Cdk("contractorlens-db-restored")
    assert drill.dr_standby(_context(_backups_mode()), run=cdk)
    (db,) = boto3.client("rds", region_name=DR).describe_db_instances(DBInstanceIdentifier=REPLICA)["DBInstances"]
    assert db["DeletionProtection"] is False
    assert cdk.modes() == ["dr-mode=standby"]
    assert not boto3.client("rds", region_name=DR).describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]


def test_standby_switches_a_backups_standby_to_replica_mode(world: World) -> None:
    _dr_stack("standby", "none")
    cdk = Cdk()
    assert drill.dr_standby(_context(), run=cdk)
    assert cdk.modes() == ["dr-mode=standby"]


def test_activate_refuses_a_standby_of_the_other_mode(world: World) -> None:
    """dr.database changed in the config but the standby not switched: activating would leave the replica behind."""
    _dr_stack("standby", REPLICA)
    cdk = Cdk("contractorlens-db-restored")
    with pytest.raises(RunbookError, match=re.escape("the standby holds contractorlens-db-replica, but dr.database is 'backups'")):
        drill.dr_activate(_context(_backups_mode()), restore=None, url=HEALTHY, run=cdk)
    assert not cdk.calls


def test_a_stuck_rollback_of_an_activation_says_the_way_on(world: World) -> None:
    """A plain `cdk deploy -c dr-mode=active` without --no-rollback: the rollback cannot demote."""
    ctx = _context()
    cfn = ctx.client("cloudformation", DR)
    with Stubber(cfn) as stubber:
        stubber.add_response(
            "describe_stacks",
            {"Stacks": [{"StackName": STACK, "StackStatus": "UPDATE_ROLLBACK_FAILED", "CreationTime": "2026-11-28T00:00:00Z"}]},
        )
        with pytest.raises(RunbookError) as caught:
            drill.dr_state(ctx)
    message = str(caught.value)
    assert (
        "continue-update-rollback --stack-name ContractorLens-Production-DR --region us-east-1 --resources-to-skip ReplicaDatabase"
        in message
    )
    assert "dr-standby" in message and "\n" not in message


def _promoted_standby() -> None:
    """What that way on leaves: the stack back in standby, its replica promoted all the same."""
    _dr_stack("standby")
    _dr_database(BackupRetentionPeriod=14)  # standalone: no source


def test_standby_snapshots_and_replaces_a_replica_the_stack_does_not_know_was_promoted(world: World) -> None:
    _promoted_standby()
    cdk = Cdk()
    assert drill.dr_standby(_context(), run=cdk)
    assert cdk.modes() == ["dr-mode=released", "dr-mode=standby"]
    (snapshot,) = boto3.client("rds", region_name=DR).describe_db_snapshots(DBInstanceIdentifier=REPLICA, SnapshotType="manual")[
        "DBSnapshots"
    ]
    assert snapshot["DBSnapshotIdentifier"].startswith("contractorlens-dr-final-")


def test_activate_refuses_a_replica_the_stack_does_not_know_was_promoted(world: World) -> None:
    """CloudFormation would call PromoteReadReplica on a standalone instance (the handler decides from the templates)."""
    _promoted_standby()
    cdk = Cdk()
    with pytest.raises(RunbookError, match=r"no longer a replica though ContractorLens-Production-DR says standby.*dr-standby"):
        drill.dr_activate(_context(), restore=None, url=HEALTHY, run=cdk)
    assert not cdk.calls


def _primary_health_check(*, inverted: bool = False) -> str:
    """The primary's Route 53 health check, its id where the DR stack finds it."""
    route53 = boto3.client("route53")
    check = route53.create_health_check(
        CallerReference="primary",
        HealthCheckConfig={"Type": "HTTPS", "FullyQualifiedDomainName": "alb.example.com", "Port": 443, "ResourcePath": "/health"},
    )["HealthCheck"]["Id"]
    route53.update_health_check(HealthCheckId=check, Inverted=inverted)
    name = load_environment("production").names.health_check_parameter
    boto3.client("ssm", region_name=DR).put_parameter(Name=name, Value=check, Type="String")
    return str(check)


def _inverted(check: str) -> bool:
    return bool(boto3.client("route53").get_health_check(HealthCheckId=check)["HealthCheck"]["HealthCheckConfig"]["Inverted"])


def test_a_drill_moves_no_real_user_and_checks_the_dr_copy_itself(world: World, capsys) -> None:
    """The README's drill inverted the health check: real users' writes went to the promoted copy,
    and dr-standby then threw them away. By default DNS is left alone."""
    check = _primary_health_check()
    _dr_stack("standby")
    _dr_service()
    ctx = _context()
    assert drill.dr_activate(ctx, restore=None, url=HEALTHY, run=Cdk())
    assert not _inverted(check)
    out = capsys.readouterr().out
    assert f"ok    health endpoint: GET {HEALTHY} -> 200" in out and "DNS unchanged: real users stay on the primary" in out
    # Back to standby is allowed: nobody wrote to the copy.
    _dr_database()
    assert drill.dr_standby(_context(), run=Cdk())


def test_a_dr_copy_that_does_not_answer_fails_the_activation(world: World, health_server, capsys) -> None:
    _primary_health_check()
    _dr_stack("standby")
    _dr_service()
    health_server.status = 503
    assert not drill.dr_activate(_context(), restore=None, url=health_server.url, run=Cdk())
    assert f"FAIL  health endpoint: GET {health_server.url} -> 503" in capsys.readouterr().out


def test_a_drill_that_moves_traffic_can_only_come_back_by_failback(world: World, capsys) -> None:
    check = _primary_health_check()
    _dr_stack("standby")
    _dr_service()
    assert drill.dr_activate(_context(), restore=None, url=HEALTHY, move_traffic=True, run=Cdk())
    assert _inverted(check)
    assert "Come back with ./scripts/deploy.sh failback status --env production" in capsys.readouterr().out
    _dr_database()
    # The health check put back by hand does not make the copy's writes go away: the record says so.
    boto3.client("route53").update_health_check(HealthCheckId=check, Inverted=False)
    cdk = Cdk()
    with pytest.raises(RunbookError, match=r"moved real users to the DR region \(--move-traffic\).*failback status --env production"):
        drill.dr_standby(_context(), run=cdk)
    assert not cdk.calls
    assert not boto3.client("rds", region_name=DR).describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
    # failback's finish brings the writes back first, then goes to standby.
    assert drill.dr_standby(_context(), run=Cdk(), failed_back=True)


def test_dr_standby_refuses_while_dns_is_held_on_the_dr_region(world: World) -> None:
    """However the health check came to be inverted (failback hold, or by hand), real users write to the copy."""
    _primary_health_check(inverted=True)
    _dr_stack("active")
    _dr_database()
    with pytest.raises(RunbookError, match=r"health check is inverted.*failback status"):
        drill.dr_standby(_context(), run=Cdk())


def test_move_traffic_without_a_health_check_is_refused_before_anything_changes(world: World) -> None:
    _dr_stack("standby")
    cdk = Cdk()
    with pytest.raises(RunbookError, match=r"--move-traffic: no primary health check found"):
        drill.dr_activate(_context(), restore=None, url=HEALTHY, move_traffic=True, run=cdk)
    assert not cdk.calls


def test_the_dr_copy_is_asked_through_its_load_balancer_by_the_users_host_name(health_server) -> None:
    """`curl --connect-to`: the request goes to the DR load balancer's own address and names api.<domain>."""
    port = health_server.url.split(":")[2].split("/")[0]
    status, detail = checks.http_status(f"http://api.contractorlens.example:{port}/health", via="127.0.0.1")
    assert (status, detail) == (200, f"GET http://api.contractorlens.example:{port}/health through 127.0.0.1 -> 200")


def test_in_the_dr_region_health_asks_the_dr_load_balancer_not_dns(world: World, health_server, capsys) -> None:
    """`AWS_REGION=us-east-1 ./scripts/deploy.sh health-check` checked https://api.<domain>/health,
    which DNS sends to the primary during a drill: the copy there was never asked."""
    address = health_server.url.split("/")[2]  # 127.0.0.1:<port>, standing in for the DR ALB's DNS name
    outputs = {"Mode": {"Value": "active"}, "DatabaseInstance": {"Value": REPLICA}, "LoadBalancerDnsName": {"Value": address}}
    body = json.dumps({"Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}}, "Outputs": outputs})
    boto3.client("cloudformation", region_name=DR).create_stack(StackName=STACK, TemplateBody=body)
    cfg = load_environment("production")
    without_domain = cfg.model_copy(update={"dns": cfg.dns.model_copy(update={"domain": ""})})
    ctx = dataclasses.replace(_context(without_domain), region=DR)
    assert checks.check_service_http(ctx, None)
    assert f"ok    health endpoint: GET http://{address}/health -> 200" in capsys.readouterr().out
