"""`make sandbox`: the synthesized stacks in an emulator on 127.0.0.1, the runbook rehearsed
against them through scripts/deploy.sh, and nothing left running afterwards."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from sandbox import emulator, rehearsal
from sandbox.__main__ import main
from sandbox.deploy import Deployer, deployment_order, read_assembly
from sandbox.rehearsal import Assemblies, Outcome
from tests.synth import Synthesis

# The rehearsal, in the runbook's words (the steps, and the manual's other procedures):
# every one must run and pass.
MANUAL_STEPS = (
    "health-check",
    "preflight",
    "deploy a bad release",
    "health-check sees the bad release",
    "rollback",
    "restart",
    "scale --count",
    "logs --filter FAILED_LOGIN",
    "certs",
    "backups",
    "dr-restore --latest",
    "security-review",
    "DR stack to active",
    "health-check in us-east-1",
)
# The manual's stack and resource names that an on-call engineer types.
PRIMARY = ("Network", "Registry", "Data", "Service", "Monitoring")


def group_gone(pid: int) -> bool:
    """No process of the emulator's process group (it runs in a session of its own) is left."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return all(not emulator.alive(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit() and _pgid(p) == pid)


def _pgid(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[2])
    except (OSError, IndexError, ValueError):
        return None


@pytest.fixture(scope="module")
def rehearsed(production: Synthesis, dr_active: Synthesis, tmp_path_factory: pytest.TempPathFactory) -> tuple[Outcome, str]:
    """One end-to-end run: the session's production and DR-active syntheses, plus the bad release."""
    workdir = tmp_path_factory.mktemp("sandbox")
    bad = rehearsal.synthesize(production.cfg, workdir, only=("bad_release",))
    assemblies = Assemblies(base=production.outdir, bad_release=bad.bad_release, dr_active=dr_active.outdir)
    lines: list[str] = []
    outcome = rehearsal.run(production.cfg, assemblies, workdir=workdir, say=lines.append)
    return outcome, rehearsal.report(outcome, rehearsal_extensions())


def rehearsal_extensions() -> dict[str, str]:
    from sandbox.emulation import EXTENSIONS

    return EXTENSIONS


def test_every_rehearsal_step_passes(rehearsed: tuple[Outcome, str]) -> None:
    outcome, report = rehearsed
    assert outcome.ok, report
    names = [step.name for step in outcome.steps]
    for wanted in MANUAL_STEPS:
        assert any(name.startswith(wanted) for name in names), f"{wanted} not rehearsed: {names}"
    assert all(step.ok for step in outcome.steps), report
    assert report.rstrip().endswith("Result: every step passed")


def test_the_bad_release_is_caught_then_rolled_back(rehearsed: tuple[Outcome, str]) -> None:
    outcome, _ = rehearsed
    steps = {step.name: step for step in outcome.steps}
    assert steps["health-check sees the bad release"].detail.startswith("exit 1:")
    assert "health endpoint" in steps["health-check sees the bad release"].detail
    assert steps["rollback"].detail.startswith("exit 0:")
    assert steps["health-check"].detail.startswith("exit 0:")


def test_every_stack_of_the_environment_deploys_as_synthesized(rehearsed: tuple[Outcome, str], production: Synthesis) -> None:
    outcome, _ = rehearsed
    names = production.cfg.names
    created = {d.stack: d for d in outcome.deployed if d.action == "create"}
    assert set(created) == {names.stack(p) for p in (*PRIMARY, "DRFoundation", "DR")}
    assert created[names.stack("DR")].region == production.cfg.dr_region
    updated = [d.stack for d in outcome.deployed if d.action == "update"]
    assert updated == [names.stack("Service"), names.stack("DR")]  # the bad release, then DR active
    assert outcome.created()["AWS::RDS::DBInstance"] == 2  # contractorlens-db, and the restored one


def test_the_report_names_what_the_emulator_does_not_model(rehearsed: tuple[Outcome, str]) -> None:
    outcome, report = rehearsed
    # The examples: WAF, alarms, health checks.
    assert "AWS::WAFv2::WebACL" in outcome.skipped()
    assert "AWS::WAFv2::WebACL" in report.split("Skipped by the emulator")[1]
    not_proven = report.split("Not proven by a green sandbox:")[1]
    assert "alarms never evaluate" in not_proven and "Route 53 health checks" in not_proven and "IAM" in not_proven
    assert "Custom::AWS" in report.split("Stood in for by the sandbox")[1]


def test_no_emulator_is_left_running(rehearsed: tuple[Outcome, str]) -> None:
    outcome, _ = rehearsed
    assert outcome.emulator_pid > 0
    assert group_gone(outcome.emulator_pid)


def _assembly(root: Path, template: dict[str, Any]) -> Path:
    """A cloud assembly of one stack, `Broken`, in us-west-2."""
    root.mkdir(parents=True)
    (root / "Broken.template.json").write_text(json.dumps(template))
    manifest = {"artifacts": {"Broken": {
        "type": "aws:cloudformation:stack", "environment": "aws://123456789012/us-west-2",
        "properties": {"templateFile": "Broken.template.json"},
    }}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def _broken_assembly(root: Path) -> Path:
    """One stack with an alarm whose Period is not a number: the API, so the emulator, refuses it."""
    return _assembly(root, {
        "Resources": {
            "Broken": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": "broken", "MetricName": "Errors", "Namespace": "Sandbox", "Statistic": "Sum",
                    "Period": "sixty", "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold",
                },
            }
        }
    })


def test_a_template_the_emulator_rejects_fails_the_run_with_stack_and_reason(production: Synthesis, tmp_path: Path) -> None:
    broken = _broken_assembly(tmp_path / "broken")
    outcome = rehearsal.run(production.cfg, Assemblies(broken, broken, broken), workdir=tmp_path, say=lambda _: None)
    assert not outcome.ok
    assert outcome.error is not None
    assert outcome.error.startswith("Broken (us-west-2): ROLLBACK_COMPLETE: Broken (AWS::CloudWatch::Alarm):")
    assert "Period" in outcome.error
    assert group_gone(outcome.emulator_pid)


def test_ctrl_c_stops_the_emulator(production: Synthesis, dr_active: Synthesis, tmp_path: Path) -> None:
    seen: list[str] = []

    def interrupt_once_deploying(line: str) -> None:
        seen.append(line)
        if line.startswith("deploy"):
            raise KeyboardInterrupt

    assemblies = Assemblies(production.outdir, production.outdir, dr_active.outdir)
    with pytest.raises(KeyboardInterrupt):
        rehearsal.run(production.cfg, assemblies, workdir=tmp_path, say=interrupt_once_deploying)
    pid = int(seen[0].split("(pid ")[1].split(")")[0])
    assert group_gone(pid)


def _listening_addresses(port: int) -> set[str]:
    """Local addresses bound to `port`, from /proc/net/tcp and tcp6 (hex, as the kernel shows them)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                found.add(address)
    return found


def test_sandbox_up_keeps_one_running_and_down_stops_it(
    production: Synthesis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(emulator, "STATE_DIR", tmp_path / "state")
    monkeypatch.setattr(rehearsal, "synthesize", lambda cfg, outdir, only=(): Assemblies(production.outdir, production.outdir, production.outdir))
    assert main(["up"]) == 0
    out = capsys.readouterr().out
    running = emulator.load()
    assert running is not None
    try:
        assert f"export AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox AWS_ENDPOINT_URL={running.endpoint}" in out
        assert f"--url {running.health_url}" in out
        port = int(running.endpoint.rsplit(":", 1)[1])
        assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, and nothing else
        names = production.cfg.names
        described = running.client("ecs", production.cfg.region).describe_services(cluster=names.cluster, services=[names.service])
        assert described["services"][0]["runningCount"] >= 2

        assert main(["up"]) == 2
        assert "already runs" in capsys.readouterr().err
    finally:
        assert main(["down"]) == 0
    assert group_gone(running.pid)
    assert not emulator.state_file().exists()
    assert main(["down"]) == 0
    assert "no sandbox is running" in capsys.readouterr().out


def test_an_unknown_environment_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--env", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: sandbox run: unknown environment 'nope': allowed are production, staging")
    assert len(err.splitlines()) == 1

    with pytest.raises(SystemExit) as exited:
        main(["rehearse"])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: python -m sandbox: argument verb: invalid choice: 'rehearse'") and len(err.splitlines()) == 1


def _task_definition_template(image: str, retain: bool) -> dict[str, Any]:
    task: dict[str, Any] = {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {"Family": "probe", "ContainerDefinitions": [{"Name": "app", "Image": image, "Memory": 512}]},
    }
    if retain:
        task["UpdateReplacePolicy"] = "Retain"
    return {"Resources": {"Task": task}}


@pytest.mark.parametrize("retain", [False, True], ids=["default-policy", "retain-on-replace"])
def test_the_emulator_deregisters_a_replaced_task_definition_as_cloudformation_does(
    production: Synthesis, tmp_path: Path, retain: bool
) -> None:
    """The premise of the rollback finding: a CloudFormation update deregisters the previous
    revision (aws/aws-cdk#24372) unless UpdateReplacePolicy is Retain."""
    assembly = _assembly(tmp_path / "probe", _task_definition_template("app:1", retain))
    (stack,) = read_assembly(assembly).values()
    running = emulator.start(production.cfg, tmp_path / "emulator.log")
    try:
        deployer = Deployer(running.client)
        deployer.deploy(stack, _task_definition_template("app:1", retain))
        deployer.deploy(stack, _task_definition_template("app:2", retain))
        ecs = running.client("ecs", stack.region)
        active = ecs.list_task_definitions(familyPrefix="probe", status="ACTIVE")["taskDefinitionArns"]
    finally:
        emulator.stop(running.pid)
    assert [arn.rsplit(":", 1)[1] for arn in active] == (["1", "2"] if retain else ["2"])


def test_the_dr_stack_deploys_after_every_primary_stack(production: Synthesis) -> None:
    """The DR stack reads the parameter the Service stack writes, but has no stack dependency on
    it (it must deploy with the primary region down), so the sandbox orders it last."""
    names = production.cfg.names
    order = deployment_order(read_assembly(production.outdir), last=(names.stack("DR"),))
    assert order[-1] == names.stack("DR")
    assert order.index(names.stack("DRFoundation")) < order.index(names.stack("Data"))
    assert order.index(names.stack("Service")) < order.index(names.stack("Monitoring"))


def test_fn_cidr_splits_as_cloudformation_documents() -> None:
    """The documentation's example: `!Cidr [192.168.0.0/24, 6, 5]` gives six /27 blocks."""
    from sandbox.emulation.cloudformation import _cidr

    assert _cidr("192.168.0.0/24", 6, 5) == [f"192.168.0.{32 * i}/27" for i in range(6)]
    assert _cidr("2600:1f14:abc:de00::/56", 2, 64) == ["2600:1f14:abc:de00::/64", "2600:1f14:abc:de01::/64"]


def test_custom_resource_answers_are_flattened_as_aws_custom_resource_does() -> None:
    """`Fn::GetAtt [Lookup, KeyMetadata.Arn]` and `DBInstanceAutomatedBackups.0.DBInstanceAutomatedBackupsArn`."""
    from sandbox.emulation.custom_resources import _flatten

    flat = _flatten({
        "KeyMetadata": {"Arn": "arn:aws:kms:us-east-1:123456789012:key/k", "Enabled": True},
        "DBInstanceAutomatedBackups": [{"DBInstanceAutomatedBackupsArn": "arn:aws:rds:us-east-1:123456789012:auto-backup:ab-1"}],
        "ResponseMetadata": {"HTTPStatusCode": 200},
    })
    assert flat == {
        "KeyMetadata.Arn": "arn:aws:kms:us-east-1:123456789012:key/k",
        "KeyMetadata.Enabled": "true",
        "DBInstanceAutomatedBackups.0.DBInstanceAutomatedBackupsArn": "arn:aws:rds:us-east-1:123456789012:auto-backup:ab-1",
    }
