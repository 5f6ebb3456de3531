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
    assert drill.dr_activate(_context(), restore=None, run=cdk)
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
        drill.dr_activate(_context(), restore=None, run=Cdk())


def test_activate_refuses_another_restore_source_on_an_active_stack(world: World) -> None:
    """CloudFormation cannot restore an existing instance again; the way is standby, then active."""
    _dr_stack("active", "contractorlens-db-restored", "snapshot:contractorlens-db-snapshot-1")
    cdk = Cdk("contractorlens-db-restored")
    with pytest.raises(RunbookError) as caught:
        drill.dr_activate(_context(_backups_mode()), restore=None, run=cdk)
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
        drill.dr_activate(_context(_backups_mode()), restore=None, run=cdk)
    assert "contractorlens-db-restored already exists in us-east-1 outside the DR stack" in str(caught.value)
    assert "--snapshot" in str(caught.value) and "\n" not in str(caught.value)
    assert not cdk.calls


def test_activate_in_backups_mode_passes_the_restore_source(world: World) -> None:
    _dr_stack("standby", "none")
    _dr_service()
    cdk = Cdk("contractorlens-db-restored")
    from config.dr import RestoreSource

    assert drill.dr_activate(_context(_backups_mode()), restore=RestoreSource("time", "2026-11-27T18:00:00Z"), run=cdk)
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
        assert drill.dr_activate(ctx, restore=None, run=cdk)
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
        drill.dr_activate(_context(_backups_mode()), restore=None, run=cdk)
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
        drill.dr_activate(_context(), restore=None, run=cdk)
    assert not cdk.calls
