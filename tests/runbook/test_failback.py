"""failback against moto: each step's checks, what it refuses out of order, and the deploys it runs
(`npx cdk` is recorded, not run; the record changes the account as the deploy would)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto.rds.models import rds_backends

from config import load_environment
from config.schema import EnvironmentConfig
from runbook import checks, drill, failback
from runbook.aws import Aws, RunbookError, WaitPolicy
from runbook.context import Context
from runbook.report import Report
from tests.runbook.conftest import DR, FAST, PRIMARY, World
from tests.runbook.test_drill import REPLICA, _dr_database, _dr_service, _dr_stack

DATA = "ContractorLens-Production-Data"
PRIMARY_DB = "contractorlens-db"
DR_ARN = f"arn:aws:rds:{DR}:123456789012:db:{REPLICA}"
HEALTH_PARAMETER = "/contractorlens/production/dr/primary-health-check-id"


def _replica_config() -> EnvironmentConfig:
    """production.toml with database.created_as = "replica", as the procedure asks before `replicate`."""
    cfg = load_environment("production")
    return cfg.model_copy(update={"database": cfg.database.model_copy(update={"created_as": "replica"})})


def _context(cfg: EnvironmentConfig | None = None) -> Context:
    return Context(cfg=cfg or _replica_config(), aws=Aws(), report=Report("failback", "production"), wait=WaitPolicy(1, 1), region=PRIMARY)


def _data_stack(*, with_database: bool, update: bool = False) -> None:
    resources = {"Database" if with_database else "Placeholder": {"Type": "AWS::SNS::Topic"}}
    cfn = boto3.client("cloudformation", region_name=PRIMARY)
    (cfn.update_stack if update else cfn.create_stack)(StackName=DATA, TemplateBody=json.dumps({"Resources": resources}))


def _health_check(*, inverted: bool = False) -> str:
    check = boto3.client("route53").create_health_check(
        CallerReference="primary",
        HealthCheckConfig={"Type": "HTTPS", "FullyQualifiedDomainName": "alb.example.com", "Port": 443, "ResourcePath": "/health"},
    )["HealthCheck"]["Id"]
    boto3.client("route53").update_health_check(HealthCheckId=check, Inverted=inverted)
    boto3.client("ssm", region_name=DR).put_parameter(Name=HEALTH_PARAMETER, Value=check, Type="String")
    return str(check)


def _inverted(check: str) -> bool:
    return bool(boto3.client("route53").get_health_check(HealthCheckId=check)["HealthCheck"]["HealthCheckConfig"]["Inverted"])


def _lag(seconds: float) -> None:
    boto3.client("cloudwatch", region_name=PRIMARY).put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": "ReplicaLag",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": PRIMARY_DB}],
                "Timestamp": datetime.now(UTC) - timedelta(seconds=30),  # a minute's datum, as RDS publishes it
                "Value": seconds,
                "Unit": "Seconds",
            }
        ],
    )


@pytest.fixture
def failed_over(world: World) -> str:
    """A real failover: the DR stack active on the promoted replica and running; the primary region
    back with its stale database and the Data stack that owns it. Returns the health check's id."""
    _dr_stack("active")
    _dr_service()
    _dr_database(BackupRetentionPeriod=14)  # promoted, with backups (a replica's source needs them)
    _data_stack(with_database=True)
    return _health_check()


class Cdk:
    """Stands in for `npx cdk deploy`: records the call and changes the account as the deploy would."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> int:
        self.calls.append(list(argv))
        context = [a for a in argv if "=" in a and not a.startswith("env=")]
        rds = boto3.client("rds", region_name=PRIMARY)
        if "failback=detached" in context:
            _data_stack(with_database=False, update=True)
        elif "failback=replica" in context:
            rds.create_db_instance_read_replica(DBInstanceIdentifier=PRIMARY_DB, SourceDBInstanceIdentifier=DR_ARN)
            _data_stack(with_database=True, update=True)
        elif any(a.startswith("dr-mode=") for a in context):
            mode = context[0].split("=", 1)[1]
            _dr_stack(mode, "none" if mode == "released" else REPLICA, update=True)
        else:  # the primary stacks without -c failback: the replica promoted in place
            rds.promote_read_replica(DBInstanceIdentifier=PRIMARY_DB, BackupRetentionPeriod=14)
            # moto keeps a cross-region replica's source after promoting it (sandbox/emulation/rds.py mends it there).
            rds_backends["123456789012"][PRIMARY].databases[PRIMARY_DB].source_db_instance_identifier = None
        return 0

    def contexts(self) -> list[list[str]]:
        return [[a for a in call if "=" in a and not a.startswith("env=")] for call in self.calls]


@pytest.mark.parametrize(
    ("mode", "inverted", "source", "data_has_database", "dr_tasks", "step"),
    [
        ("standby", False, None, True, 0, "none"),  # no failover
        ("active", False, None, True, 2, "hold"),  # after a failover (or in a drill)
        ("active", True, None, True, 2, "replicate"),  # held; contractorlens-db is the stale one
        ("active", True, None, False, 2, "replicate"),  # replicate stopped after the detached deploy
        ("active", True, DR_ARN, True, 2, "switchover"),
        ("active", False, DR_ARN, True, 2, "hold"),  # someone reverted the health check half-way
        ("active", True, None, True, 0, "finish"),  # switched over
        ("released", False, None, True, 0, "finish"),  # finish stopped after DNS, before standby
        ("standby", True, None, True, 0, "finish"),  # finish stopped before reverting DNS
    ],
)
def test_the_next_step_follows_from_what_the_account_says(
    mode: str, inverted: bool, source: str | None, data_has_database: bool, dr_tasks: int, step: str
) -> None:
    primary = {"DBInstanceStatus": "available", **({"ReadReplicaSourceDBInstanceIdentifier": source} if source else {})}
    state = failback.FailbackState(
        dr=drill.DrState(mode, REPLICA),
        inverted=inverted,
        primary=primary,
        data_has_database=data_has_database,
        dr_tasks=dr_tasks,
        source_arn=DR_ARN,
    )
    assert failback.next_step(state) == step


def test_status_names_hold_first(failed_over: str) -> None:
    ctx = _context()
    assert failback.status(ctx)
    assert ctx.report.data["next"] == "hold"


def test_a_step_out_of_order_is_refused_with_one_line(failed_over: str, run) -> None:
    for step, needed in (("replicate", "failback hold"), ("switchover", "failback hold"), ("finish", "failback switchover")):
        result = run("failback", step, *FAST)
        assert result.code == 2 and needed in result.err and result.err.count("\n") == 1, (step, result.err)
    assert not _inverted(failed_over)


def test_an_unknown_step_is_a_usage_error(run) -> None:
    result = run("failback", "rewind")
    assert result.code == 2 and "invalid choice: 'rewind'" in result.err and "switchover" in result.err


def test_hold_inverts_the_health_check_once(failed_over: str) -> None:
    assert failback.hold(_context())
    assert _inverted(failed_over)
    assert failback.hold(_context())  # again: nothing more to do
    assert _inverted(failed_over)


def test_hold_refuses_without_a_failover(world: World) -> None:
    _dr_stack("standby")
    _dr_service()
    _data_stack(with_database=True)
    _health_check()
    with pytest.raises(RunbookError, match="nothing to fail back"):
        failback.hold(_context())


def test_replicate_needs_the_config_to_say_the_database_is_created_as_a_replica(failed_over: str) -> None:
    failback.hold(_context())
    cdk = Cdk()
    with pytest.raises(RunbookError, match=r'set database.created_as = "replica" in config/production.toml'):
        failback.replicate(_context(load_environment("production")), cdk)
    assert not cdk.calls
    assert boto3.client("rds", region_name=PRIMARY).describe_db_instances(DBInstanceIdentifier=PRIMARY_DB)["DBInstances"]


def test_replicate_keeps_the_stale_primary_aside_and_replicates_the_dr_database(failed_over: str) -> None:
    failback.hold(_context())
    cdk, ctx = Cdk(), _context()
    assert failback.replicate(ctx, cdk)
    assert cdk.contexts() == [["failback=detached"], ["failback=replica"]]
    assert all(call[:4] == ["npx", "cdk", "deploy", DATA] for call in cdk.calls)
    rds = boto3.client("rds", region_name=PRIMARY)
    stale = ctx.report.data["stale_instance"]
    assert stale.startswith("contractorlens-db-stale-")
    (kept,) = rds.describe_db_instances(DBInstanceIdentifier=stale)["DBInstances"]
    assert kept["DBInstanceStatus"] == "available"
    (db,) = rds.describe_db_instances(DBInstanceIdentifier=PRIMARY_DB)["DBInstances"]
    assert db["ReadReplicaSourceDBInstanceIdentifier"] == DR_ARN
    # Run again: nothing left to do.
    again = Cdk()
    assert failback.replicate(_context(), again)
    assert not again.calls
    assert failback.next_step(failback.observe(_context())) == "switchover"


def test_replicate_resumes_after_the_detached_deploy(failed_over: str) -> None:
    """Stopped after the first deploy (Ctrl-C, say): the name is free and the database out of the stack."""
    failback.hold(_context())
    boto3.client("rds", region_name=PRIMARY).modify_db_instance(
        DBInstanceIdentifier=PRIMARY_DB, NewDBInstanceIdentifier="contractorlens-db-stale-20261128-000000", ApplyImmediately=True
    )
    _data_stack(with_database=False, update=True)
    cdk = Cdk()
    assert failback.replicate(_context(), cdk)
    assert cdk.contexts() == [["failback=replica"]]


def _replicating(failed_over: str) -> None:
    failback.hold(_context())
    failback.replicate(_context(), Cdk())
    autoscaling = boto3.client("application-autoscaling", region_name=DR)
    autoscaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId="service/contractorlens/contractorlens",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=2,
        MaxCapacity=6,
    )


def test_switchover_stops_the_dr_writes_waits_for_lag_0_and_promotes(failed_over: str) -> None:
    _replicating(failed_over)
    _lag(0)
    cdk = Cdk()
    assert failback.switchover(_context(), cdk)
    (service,) = boto3.client("ecs", region_name=DR).describe_services(cluster="contractorlens", services=["contractorlens"])["services"]
    assert service["desiredCount"] == 0
    (target,) = boto3.client("application-autoscaling", region_name=DR).describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert all(target["SuspendedState"].values())
    # Both primary stacks, no failback context, and no rollback: a promotion cannot be undone.
    (call,) = cdk.calls
    assert call[3:5] == [DATA, "ContractorLens-Production-Service"]
    assert "--no-rollback" in call and not cdk.contexts()[0]
    (db,) = boto3.client("rds", region_name=PRIMARY).describe_db_instances(DBInstanceIdentifier=PRIMARY_DB)["DBInstances"]
    assert not db.get("ReadReplicaSourceDBInstanceIdentifier")
    assert failback.next_step(failback.observe(_context())) == "finish"


def test_switchover_promotes_nothing_while_the_replica_lags(failed_over: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _replicating(failed_over)
    _lag(42)
    cdk = Cdk()
    slept: list[int] = []
    monkeypatch.setattr(WaitPolicy, "sleep", lambda self: slept.append(self.delay_seconds))
    ctx = dataclasses.replace(_context(), wait=WaitPolicy(delay_seconds=20, timeout_minutes=1))
    with pytest.raises(RunbookError, match=r"still 42.0 s behind after 1 min; nothing was promoted"):
        failback.switchover(ctx, cdk)
    assert not cdk.calls and slept == [20, 20, 20]


def test_finish_returns_dns_and_puts_the_dr_region_in_standby(failed_over: str) -> None:
    _replicating(failed_over)
    _lag(0)
    failback.switchover(_context(), Cdk())
    cdk, ctx = Cdk(), _context()
    assert failback.finish(ctx, cdk)
    assert not _inverted(failed_over)
    assert cdk.contexts() == [["dr-mode=released"], ["dr-mode=standby"]]
    (snapshot,) = boto3.client("rds", region_name=DR).describe_db_snapshots(DBInstanceIdentifier=REPLICA, SnapshotType="manual")[
        "DBSnapshots"
    ]
    assert snapshot["DBSnapshotIdentifier"].startswith("contractorlens-dr-final-")
    assert "contractorlens-db-stale-" in ctx.report.checks[-1].detail  # what is left to compare and delete
    assert failback.next_step(failback.observe(_context())) == "none"


def test_dr_standby_and_the_deploys_refuse_a_primary_that_is_a_replica(failed_over: str) -> None:
    """Half-way through a failback, a drill's end or a deploy would promote it while the DR region writes."""
    _replicating(failed_over)
    with pytest.raises(RunbookError, match="a failback is half-way"):
        drill.dr_standby(_context(), run=Cdk())
    ctx = _context()
    assert not checks.check_database(ctx)
    assert "a failback is in progress" in ctx.report.checks[-1].detail


def test_the_stale_primary_stops_copying_its_backups_into_the_dr_region(aws: None) -> None:
    """moto has no StopDBInstanceAutomatedBackupsReplication: RDS's answers at the API boundary (the
    sandbox's failback scenario runs it against the emulator's)."""
    from botocore.stub import Stubber

    ctx = _context()
    primary = {"DbiResourceId": "db-STALE", "DBInstanceArn": f"arn:aws:rds:{PRIMARY}:123456789012:db:contractorlens-db"}
    copies = {"DBInstanceAutomatedBackups": [{"DbiResourceId": "db-STALE", "Status": "replicating"}]}
    with Stubber(ctx.client("rds", DR)) as stubber:
        stubber.add_response("describe_db_instance_automated_backups", copies, {"DbiResourceId": "db-STALE"})
        stubber.add_response("stop_db_instance_automated_backups_replication", {}, {"SourceDBInstanceArn": primary["DBInstanceArn"]})
        failback.stop_backup_replication(ctx, primary)
        # Nothing replicating (stopped before, or never): nothing to stop.
        stubber.add_response("describe_db_instance_automated_backups", {"DBInstanceAutomatedBackups": []}, {"DbiResourceId": "db-STALE"})
        failback.stop_backup_replication(ctx, primary)
        stubber.assert_no_pending_responses()
    assert [c.name for c in ctx.report.checks] == ["stale primary's backup replication"]
