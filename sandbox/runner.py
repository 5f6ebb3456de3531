"""`make sandbox`: the lifecycle scenarios, each in an account of its own in the emulator.

Scenarios that build on one another (new-account, then bad-release, on-call and dr-switch) share
an account; failed-first-deploy and teardown need an empty one each. The accounts are rehearsed
side by side, each from a checkout of its own, and every emulator is stopped whatever happens.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from config import EnvironmentConfig, load_environment
from sandbox import emulator, terminal
from sandbox.scenarios import SCENARIOS, Scenario
from sandbox.session import Session, Step, make_checkout

# What a green sandbox does not show. The report prints it every time.
NOT_PROVEN = (
    (
        "IAM: only three acts of AWS are decided on the roles and key policies (ECS starting a task with its execution "
        "role, CloudWatch Logs creating a log group under a key, an alarm notifying an encrypted topic); every other call, "
        "the runbook's and CloudFormation's own included, is let through, and no grant, permission boundary or service "
        "control policy is exercised"
    ),
    "CloudWatch alarms never evaluate (no metrics): ECS's alarm-based rollback never acts, nothing pages",
    "no container runs: a stand-in answers /health and the target health checks; images are manifests without layers",
    "no SQL runs: `db-users`' task stops with exit code 0 once its image and secret resolve, without a database; its SQL is checked only by PostgreSQL's parser in the tests",
    "no fault is injected by a game day: FIS's stop-task and reboot are the emulator's stand-ins (a lower running count, a 'rebooting' instance, both back when the experiment ends) and a network disruption changes nothing, so `game-day`'s recovery time is the emulator's, not the service's",
    "Route 53 health checks and failover, ACM validation, WAF rules and NAT do nothing",
    "timing: resources, restores, replication and deployments finish at once (an RDS create takes minutes in AWS)",
    "no data: a read replica is current at once (ReplicaLag always 0, so no lag alarm or dr-readiness RPO item fails) and a promotion loses nothing (in AWS, writes within the replica's lag are lost); a drill's final snapshot holds no rows",
    "failback: the DR database's writes reach the primary region's replica at once (so switchover never waits for lag 0), a rename frees the name at once (RDS takes minutes), and the stale instance holds no unreplicated writes to compare; that CloudFormation's delete of the renamed-away Database finds nothing rests on the RDS handler's code, not on a run",
    "rollback disabled: only updates honour DisableRollback; a later update of an UPDATE_FAILED stack without it is carried out, where CloudFormation's exact behaviour was not confirmed",
    "template Rules (the bootstrap-version check) and CloudFormation's own template validation are not evaluated",
    "service quotas, and names taken in a real account outside these stacks",
    "a custom resource's Delete call (the sandbox runs Create and Update only), and Route 53 records taken outside a stack",
)


@dataclass
class Group:
    """Scenarios that run one after another in one account."""

    label: str
    environment: str
    scenarios: list[Scenario]


@dataclass
class Outcome:
    steps: list[Step] = field(default_factory=list)
    not_rehearsed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    logs: dict[str, Path] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)
    """Resource types the emulator created as nothing (`sandbox-skipped-` ids), seen in the stacks."""

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.steps) and all(step.ok for step in self.steps)


def plan(names: Sequence[str], environment: str) -> list[Group]:
    """The groups that rehearse `names`, each in an account of its own: a scenario that needs a
    deployed environment follows one that leaves it (one asked for anyway if there is one)."""
    starters = [name for name in names if not SCENARIOS[name].needs]
    groups = {
        name: Group(label=name, environment=SCENARIOS[name].environment or environment, scenarios=[SCENARIOS[name]]) for name in starters
    }
    for name in names:
        scenario = SCENARIOS[name]
        if not scenario.needs:
            continue
        after = next((need for need in scenario.needs if need in groups), scenario.needs[-1])
        if after not in groups:
            groups[after] = Group(label=after, environment=SCENARIOS[after].environment or environment, scenarios=[SCENARIOS[after]])
        groups[after].scenarios.append(scenario)
    return list(groups.values())


def _applies(scenario: Scenario, cfg: EnvironmentConfig) -> str:
    """Why a scenario cannot run in this environment, or ""."""
    if scenario.name in ("dr-switch", "failback") and not cfg.dr.enabled:
        return f"{cfg.name} has no DR stack (dr.enabled = false)"
    return ""


def run_group(group: Group, workdir: Path, outcome: Outcome, lock: threading.Lock) -> None:
    cfg = load_environment(group.environment)
    base = workdir / group.label
    log = base / "emulator.log"
    with lock:
        outcome.logs[group.label] = base
    running = emulator.start(cfg, log)
    try:
        session = Session(running=running, cfg=cfg, checkout=make_checkout(base / "checkout"), logs=base / "steps", label=group.label)
        session.say(f"{cfg.name} in an empty account: emulator on {running.endpoint} (pid {running.pid})")
        for scenario in group.scenarios:
            why = _applies(scenario, cfg)
            if why:
                with lock:
                    outcome.not_rehearsed.append(f"{scenario.name}: {why}")
                continue
            session.scenario = scenario.name
            session.say(f"scenario {scenario.name}: {scenario.what}")
            scenario.run(session)
        with lock:
            outcome.steps += session.steps
    except (emulator.SandboxError, terminal.CommandTimeoutError) as exc:
        with lock:
            outcome.errors.append(f"{group.label}: {exc}")
    finally:
        skipped = _skipped_types(running, cfg)
        with lock:
            outcome.skipped |= skipped
        emulator.stop(running.pid)


def _skipped_types(running: emulator.Running, cfg: EnvironmentConfig) -> set[str]:
    """The types of the stacks' resources that the emulator made as nothing, in both regions."""
    from botocore.exceptions import BotoCoreError, ClientError

    from sandbox.emulation import SKIPPED_PREFIX

    types: set[str] = set()
    try:
        for region in (cfg.region, cfg.dr_region):
            cfn = running.client("cloudformation", region)
            for stack in cfn.describe_stacks()["Stacks"]:
                for resource in cfn.list_stack_resources(StackName=stack["StackName"])["StackResourceSummaries"]:
                    if str(resource.get("PhysicalResourceId", "")).startswith(SKIPPED_PREFIX):
                        types.add(resource["ResourceType"])
    except (BotoCoreError, ClientError):  # an emulator that is gone has nothing more to say
        pass
    return types


def run(names: Sequence[str], environment: str, workdir: Path) -> Outcome:
    """Rehearse the scenarios; the groups run side by side. Ctrl-C stops every emulator and
    command before it is raised again."""
    outcome = Outcome()
    lock = threading.Lock()

    def target(group: Group) -> None:
        try:
            run_group(group, workdir, outcome, lock)
        except Exception as exc:  # noqa: BLE001 - reported, never lost in a thread
            with lock:
                outcome.errors.append(f"{group.label}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=target, args=(group,), daemon=True) for group in plan(names, environment)]
    try:
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            time.sleep(0.2)
    except BaseException:
        stop_everything()
        raise
    # Every emulator and command of a run ends with it: one left behind would hold a port and
    # a checkout, and say the run could not stop what it started.
    left = _still_running(workdir)
    if left or emulator.STARTED or terminal.RUNNING:
        pids = sorted(left | emulator.STARTED | set(terminal.RUNNING))
        outcome.errors.append(f"left running after the run: {'; '.join(_described(pid) for pid in pids)}")
    return outcome


# How long a process that is exiting has, once the run is over, before it counts as left behind.
EXIT_GRACE_SECONDS = 5.0


def _still_running(workdir: Path) -> set[int]:
    """What still runs under the run's folder once anything that was exiting has had a few seconds
    to go (a command's grandchild, such as jsii's Node runtime, can outlive it by a moment); a
    process that is really left behind is still there then."""
    deadline = time.monotonic() + EXIT_GRACE_SECONDS
    left = emulator.processes_under(workdir)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = emulator.processes_under(workdir)
    return left


def _described(pid: int) -> str:
    """`pid (its command line)`, so that a report says what was left, not only its number."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        command = "gone"
    return f"{pid} ({command[:160]})"


def stop_everything() -> None:
    """Every command and emulator this process started, stopped; none starts after this."""
    terminal.STOPPING.set()
    for pid in list(terminal.RUNNING):
        terminal.stop_group(pid)
    for pid in list(emulator.STARTED):
        emulator.stop(pid)


def report(outcome: Outcome, extensions: dict[str, str]) -> str:
    lines = ["Sandbox report", ""]
    current = None
    for step in outcome.steps:
        if step.scenario != current:
            current = step.scenario
            lines.append(f"{current}:")
        lines.append(f"  {'pass' if step.ok else 'FAIL'}  {step.name:<52} {step.seconds:5.1f} s  {step.command}")
        lines.append(f"        expected {step.expected}; {step.detail}")
    if outcome.not_rehearsed:
        lines += ["", "Not rehearsed in this environment:"] + [f"  - {item}" for item in outcome.not_rehearsed]
    if outcome.skipped:
        lines += ["", "Created as nothing by the emulator (no model; `sandbox-skipped-` ids), so not rehearsed beyond their references:"]
        lines += [f"  - {name}" for name in sorted(outcome.skipped)]
    lines += ["", "Where the emulator stands in for AWS (sandbox/emulation/, each with the behaviour it models):"]
    lines += [f"  {name}: {what}" for name, what in extensions.items()]
    lines += ["", "Not proven by a green sandbox:"] + [f"  - {item}" for item in NOT_PROVEN]
    passed = sum(step.ok for step in outcome.steps)
    verdict = (
        f"every step passed ({passed} steps)"
        if outcome.ok
        else "FAILED: " + "; ".join(outcome.errors or [f"{len(outcome.steps) - passed} of {len(outcome.steps)} steps failed (above)"])
    )
    return "\n".join([*lines, "", f"Result: {verdict}"])
