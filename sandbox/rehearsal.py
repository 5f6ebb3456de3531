"""`make sandbox`: deploy an environment into the emulator and rehearse the runbook against it.

The order is the manual's: the primary stacks, the DR stack in standby, then on-call work
(health-check and preflight; a bad release and its rollback; restart and scale; the log
search; certificates; backups; a database restore in the DR region; the security review),
and last the DR drill's switch of the DR stack to active.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config import EnvironmentConfig
from runbook.aws import AWS_ERRORS, describe
from sandbox import emulator
from sandbox.deploy import Deployed, Deployer, DeployError, StackArtifact, deployment_order, read_assembly
from sandbox.emulator import BAD_RELEASE_TAG, ROOT, Running, SandboxError

DEPLOY_SH = ROOT / "scripts" / "deploy.sh"
# The emulator answers at once: poll every second, give up after a minute.
FAST = ["--poll-seconds", "1", "--timeout-minutes", "1"]
STEP_TIMEOUT_SECONDS = 120

# What a green sandbox does not show. The report prints it every time, beside what was skipped.
NOT_PROVEN = (
    "IAM: moto lets every call through, so no policy, role or key grant is exercised",
    "CloudWatch alarms never evaluate (no metrics): they stay INSUFFICIENT_DATA, and nothing pages",
    "no container runs: a stand-in answers /health, healthy unless the release is the rehearsal's bad one",
    "ECS's circuit breaker and alarm rollback do not act: the bad release stays until `rollback`",
    "Route 53 health checks and failover, ACM validation, WAF rules and NAT are not exercised",
    "RDS restores are instant and backup replication is modelled as instant; no data is copied",
    "deploy-time limits (quotas, name clashes in a real account, timing) are not checked",
)


@dataclass
class Step:
    name: str
    expected: str
    ok: bool = False
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Outcome:
    env: str
    emulator_pid: int = 0
    deployed: list[Deployed] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    not_rehearsed: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(s.ok for s in self.steps)

    def latest(self) -> list[Deployed]:
        """Each stack as its last deploy left it."""
        return list({d.stack: d for d in self.deployed}.values())

    def created(self) -> Counter[str]:
        return sum((d.created for d in self.latest()), Counter())

    def skipped(self) -> Counter[str]:
        return sum((d.skipped for d in self.latest()), Counter())


Say = Callable[[str], None]


@dataclass(frozen=True)
class Assemblies:
    """Cloud assemblies of one environment, as `cdk synth` writes them."""

    base: Path
    """as configured: the primary stacks and the DR stack in standby"""
    bad_release: Path
    """`-c image-tag=sandbox-bad-release`: the release the stand-in application fails"""
    dr_active: Path
    """`-c dr-mode=active -c dr-restore=latest`: the DR drill"""


def deploy_all(running: Running, cfg: EnvironmentConfig, assembly: Path, outcome: Outcome, say: Say) -> Deployer:
    """Every stack of the assembly, the DR stack last (see deployment_order)."""
    deployer = Deployer(running.client)
    stacks = read_assembly(assembly)
    for name in deployment_order(stacks, last=(cfg.names.stack("DR"),)):
        result = deployer.deploy(stacks[name])
        outcome.deployed.append(result)
        say(f"  {result.action:<6} {name} ({result.region}): {sum(result.created.values())} resources"
            + (f", {sum(result.skipped.values())} skipped" if result.skipped else "") + f" [{result.seconds:.1f} s]")
    return deployer


def runbook(running: Running, *args: str, region: str | None = None) -> subprocess.CompletedProcess[str]:
    """`scripts/deploy.sh <args>` against the emulator, as an engineer would type it."""
    env = running.environment()
    if region:
        env["AWS_REGION"] = region  # the manual's `export AWS_REGION=us-east-1` during a failover
    try:
        return subprocess.run(
            [str(DEPLOY_SH), *args, "--env", running.env, *FAST],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_SECONDS, check=False,
        )
    except subprocess.TimeoutExpired:
        raise SandboxError(f"deploy.sh {args[0]} did not finish within {STEP_TIMEOUT_SECONDS} s") from None


def _instances(rds: Any, identifier: str) -> list[dict[str, Any]]:
    paginator = rds.get_paginator("describe_db_instances")
    return [
        db for page in paginator.paginate(Filters=[{"Name": "db-instance-id", "Values": [identifier]}])
        for db in page["DBInstances"]
    ]


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return lines[-1] if lines else ""


class Rehearsal:
    """Runs and records the steps: each passes or fails on its own, and the run goes on."""

    def __init__(self, running: Running, cfg: EnvironmentConfig, outcome: Outcome, say: Say) -> None:
        self.running, self.cfg, self.outcome, self.say = running, cfg, outcome, say

    def step(self, name: str, expected: str, action: Callable[[], tuple[bool, str]]) -> bool:
        step = Step(name, expected)
        started = time.monotonic()
        try:
            step.ok, step.detail = action()
        except (DeployError, SandboxError) as exc:
            step.ok, step.detail = False, str(exc)
        except AWS_ERRORS as exc:
            step.ok, step.detail = False, describe(exc)
        step.seconds = time.monotonic() - started
        self.outcome.steps.append(step)
        self.say(f"  {'pass' if step.ok else 'FAIL'}  {name} [{step.seconds:.1f} s]: {step.detail}")
        return step.ok

    def command(self, name: str, args: Sequence[str], *, expect: int = 0, region: str | None = None) -> bool:
        def action() -> tuple[bool, str]:
            done = runbook(self.running, *args, region=region)
            detail = f"exit {done.returncode}: {_last_line(done)}"
            return done.returncode == expect, detail

        return self.step(name, f"exit {expect}", action)


def rehearse(running: Running, cfg: EnvironmentConfig, assemblies: Assemblies, outcome: Outcome, say: Say) -> None:
    names = cfg.names
    url = ["--url", running.health_url]
    say("deploy (primary stacks" + (", then the DR stack in standby)" if cfg.dr.enabled else ")"))
    deployer = deploy_all(running, cfg, assemblies.base, outcome, say)
    r = Rehearsal(running, cfg, outcome, say)

    say("rehearse the runbook")
    r.command("health-check", ["health-check", *url])
    r.command("preflight", ["preflight", *url])

    def bad_release() -> tuple[bool, str]:
        result = deployer.deploy(read_assembly(assemblies.bad_release)[names.stack("Service")])
        outcome.deployed.append(result)
        return True, f"Service stack updated to image tag {BAD_RELEASE_TAG} [{result.seconds:.1f} s]"

    r.step(f"deploy a bad release ({BAD_RELEASE_TAG})", "stack updated", bad_release)
    r.command("health-check sees the bad release", ["health-check", *url], expect=1)
    r.command("rollback", ["rollback", *url])
    r.command("restart", ["restart", *url])
    floor = cfg.service.min_tasks
    r.command(f"scale --count {floor + 1}", ["scale", "--count", str(floor + 1)])
    r.command(f"scale --count {floor}", ["scale", "--count", str(floor)])
    r.command("logs --filter FAILED_LOGIN", ["logs", "--since", "1h", "--filter", "FAILED_LOGIN"])
    r.command("certs", ["certs"])
    r.command("backups", ["backups"])
    # Both restores need the DR stack's placement and backups replicated into its region.
    restorable = cfg.dr.enabled and cfg.database.replicate_backups_to_dr
    why = f"{cfg.name} has no DR stack with replicated backups (dr.enabled, database.replicate_backups_to_dr)"
    if restorable:
        r.command("dr-restore --latest", ["dr-restore", "--latest"])
    else:
        outcome.not_rehearsed.append(f"dr-restore --latest: {why}")
    r.command("security-review", ["security-review"])
    if restorable:
        drill(r, deployer, assemblies)
    else:
        outcome.not_rehearsed.append(f"the DR drill (DR stack to active): {why}")


def drill(r: Rehearsal, deployer: Deployer, assemblies: Assemblies) -> None:
    """The DR stack switched to active, and the manual's health-check run in the DR region."""
    running, cfg, outcome, names = r.running, r.cfg, r.outcome, r.cfg.names

    def dr_active() -> tuple[bool, str]:
        rds = running.client("rds", cfg.dr_region)
        # The drill's clean-up of the runbook's restore: the active DR stack restores the same name.
        if _instances(rds, names.db_restored_instance):
            rds.modify_db_instance(DBInstanceIdentifier=names.db_restored_instance, DeletionProtection=False, ApplyImmediately=True)
            rds.delete_db_instance(DBInstanceIdentifier=names.db_restored_instance, SkipFinalSnapshot=True)
        stack: StackArtifact = read_assembly(assemblies.dr_active)[names.stack("DR")]
        result = deployer.deploy(stack)
        outcome.deployed.append(result)
        (db,) = rds.describe_db_instances(DBInstanceIdentifier=names.db_restored_instance)["DBInstances"]
        return db["DBInstanceStatus"] == "available", (
            f"{stack.name} updated to active; {names.db_restored_instance} {db['DBInstanceStatus']} [{result.seconds:.1f} s]"
        )

    r.step("DR stack to active (restore from the replicated backups)", "stack updated, database available", dr_active)
    dr_url = ["--url", running.health_url.replace("/health", f"/{cfg.dr_region}/health")]
    r.command(f"health-check in {cfg.dr_region} (AWS_REGION)", ["health-check", *dr_url], region=cfg.dr_region)


def run(cfg: EnvironmentConfig, assemblies: Assemblies, *, workdir: Path, say: Say = print) -> Outcome:
    """Start the emulator, deploy, rehearse, and stop the emulator whatever happens."""
    outcome = Outcome(env=cfg.name)
    running = emulator.start(cfg, workdir / "emulator.log")
    outcome.emulator_pid = running.pid
    say(f"emulator on {running.endpoint} (pid {running.pid}); stand-in /health on {running.health_url}")
    try:
        rehearse(running, cfg, assemblies, outcome, say)
    except (DeployError, SandboxError) as exc:
        outcome.error = str(exc)
    except AWS_ERRORS as exc:  # the emulator failed a call outside any stack: its log says why
        outcome.error = describe(exc)
    finally:
        emulator.stop(running.pid)
    return outcome


def report(outcome: Outcome, extensions: dict[str, str]) -> str:
    """The closing report: stacks, resources, what the emulator skipped or stood in for, the steps."""
    lines = [f"Sandbox report · {outcome.env}", "", "Stacks deployed:"]
    for d in outcome.deployed:
        lines.append(f"  {d.action:<6} {d.stack:<45} {d.region:<10} {sum(d.created.values()):>4} resources,"
                     f" {sum(d.skipped.values()):>2} skipped  {d.seconds:5.1f} s")
    lines += ["", "Resources created, by type (each stack as its last deploy left it):"]
    lines += _columns([f"{count:>4}  {type_name}" for type_name, count in sorted(outcome.created().items())])
    skipped = outcome.skipped()
    lines += ["", "Skipped by the emulator (not modelled: created as nothing, references answered with placeholders):"]
    lines += [f"  {count:>4}  {type_name}" for type_name, count in sorted(skipped.items())] or ["  none"]
    lines += ["", "Stood in for by the sandbox (sandbox/emulation/), not by moto as shipped:"]
    lines += [f"  {name}: {what}" for name, what in extensions.items()]
    lines += ["", "Rehearsal:"]
    for s in outcome.steps:
        lines.append(f"  {'pass' if s.ok else 'FAIL'}  {s.name:<58} {s.seconds:5.1f} s  expected {s.expected}; {s.detail}")
    if outcome.not_rehearsed:
        lines += ["", "Not rehearsed in this environment:"]
        lines += [f"  - {item}" for item in outcome.not_rehearsed]
    lines += ["", "Not proven by a green sandbox:"]
    lines += [f"  - {item}" for item in NOT_PROVEN]
    verdict = "every step passed" if outcome.ok else f"FAILED: {outcome.error or 'a rehearsal step failed (above)'}"
    lines += ["", f"Result: {verdict}"]
    return "\n".join(lines)


def _columns(cells: list[str], count: int = 2) -> list[str]:
    """Cells in `count` columns, down then across, so that long lists stay short."""
    rows = -(-len(cells) // count)
    width = max((len(c) for c in cells), default=0) + 2
    return ["  " + "".join(cells[i + r].ljust(width) for i in range(0, len(cells), rows) if i + r < len(cells)).rstrip()
            for r in range(rows)]


def synthesize(cfg: EnvironmentConfig, outdir: Path, *, only: Sequence[str] = ("base", "bad_release", "dr_active")) -> Assemblies:
    """The assemblies, in-process (as `make diff` does), into outdir/<name>; `only` skips the
    ones a caller already has (the tests reuse their session's syntheses)."""
    from config import with_image_tag
    from config.dr import parse_dr_context
    from review.synth import synthesize as synth

    jobs: dict[str, tuple[Any, Any]] = {
        "base": (cfg, None),
        "bad_release": (with_image_tag(cfg, BAD_RELEASE_TAG), None),
        "dr_active": (cfg, parse_dr_context("active", "latest", dr_region=cfg.dr_region)),
    }
    for name in only:
        if name == "dr_active" and not (cfg.dr.enabled and cfg.database.replicate_backups_to_dr):
            continue  # no drill to rehearse (see rehearse)
        config, dr = jobs[name]
        result = synth(config, outdir / name, dr)
        if result.error:
            raise SandboxError(f"synthesis of {cfg.name} ({name}) failed: {result.error.splitlines()[0]}")
    return Assemblies(base=outdir / "base", bad_release=outdir / "bad_release", dr_active=outdir / "dr_active")
