"""`./scripts/deploy.sh game-day <experiment>`: one of the Monitoring stack's Fault Injection
Service experiments, watched until the service is steady again.

It starts only from a steady state (the health-check passes, no alarm in ALARM, no experiment of
the template running). While the experiment runs it polls FIS, the health endpoint, the service's
tasks and targets, the database and the alarms, and prints a line whenever one of them changes.
It ends when the experiment has ended and the service is steady again, or when the manual's
recovery objective has passed (the experiment is stopped then, as on Ctrl-C: FIS puts back what
it still holds, e.g. the zone's network ACLs). It records the result in SSM
`/<prefix>/runbook/game-day/<experiment>`, which `checklist quarterly` reads.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from config.names import GAME_DAY_EXPERIMENTS
from config.thresholds import RTO_APPLICATION_MINUTES, RTO_DATABASE_MINUTES
from runbook import checks
from runbook.aws import RunbookError, error_code
from runbook.context import Context

STARTED_BY = "deploy.sh game-day"
# What each experiment is held to: the manual's "Recovery Time Objectives (RTO)".
OBJECTIVES: dict[str, tuple[int, str]] = {
    "task-loss": (RTO_APPLICATION_MINUTES, "Application Recovery"),
    "db-failover": (RTO_DATABASE_MINUTES, "Database Recovery"),
    "az-outage": (RTO_APPLICATION_MINUTES, "Application Recovery"),
}
ENDED = ("completed", "stopped", "failed", "cancelled")


@dataclass(frozen=True)
class Observation:
    """What the watch sees at one poll."""

    experiment: str
    health: int | None
    tasks: tuple[int, int]
    targets: tuple[int, int]
    database: str
    alarms: frozenset[str]

    @property
    def steady(self) -> bool:
        running, desired = self.tasks
        healthy, total = self.targets
        return self.health == 200 and running >= desired and total > 0 and healthy == total and self.database == "available"

    def line(self) -> str:
        return (
            f"experiment {self.experiment} · health {self.health or 'unreachable'} · tasks {self.tasks[0]}/{self.tasks[1]} · "
            f"targets {self.targets[0]}/{self.targets[1]} healthy · database {self.database} · "
            f"alarms: {', '.join(sorted(self.alarms)) or 'none'}"
        )


@dataclass
class Watch:
    """The watch's findings, kept as it polls."""

    started: float
    fired: dict[str, float] = field(default_factory=dict)
    """Each alarm seen in ALARM, with the seconds after the start it was first seen."""
    unhealthy_seconds: float = 0.0
    """How long /health did not answer 200, to the poll: from a failed poll to the next."""
    recovered_after: float | None = None
    last: Observation | None = None
    last_at: float = 0.0


def record_parameter(ctx: Context, experiment: str) -> str:
    """Where a game day's result is recorded, for `checklist quarterly`."""
    return f"{ctx.cfg.names.parameter_prefix}/runbook/game-day/{experiment}"


def find_template(ctx: Context, experiment: str) -> str:
    """The id of the template tagged Name=<prefix>-<experiment> in this region."""
    names = ctx.cfg.names
    wanted = names.game_day(experiment)
    fis = ctx.client("fis")
    token: str | None = None
    while True:
        page = fis.list_experiment_templates(**({"nextToken": token} if token else {}))
        for template in page.get("experimentTemplates", []):
            if template.get("tags", {}).get("Name") == wanted:
                return str(template["id"])
        token = page.get("nextToken")
        if not token:
            raise RunbookError(
                f"no experiment template tagged Name={wanted} in {ctx.region}: deploy {names.stack('Monitoring')} "
                f"with game_days.enabled = true in {ctx.cfg.source}"
            )


def _running(ctx: Context, template_id: str) -> list[str]:
    experiments = ctx.client("fis").list_experiments(experimentTemplateId=template_id).get("experiments", [])
    return [e["id"] for e in experiments if e.get("state", {}).get("status") not in ENDED]


def game_day(ctx: Context, experiment: str, url: str | None = None) -> bool:
    """Start the experiment from a steady state, watch it, report against the manual's objective."""
    if experiment not in GAME_DAY_EXPERIMENTS:  # argparse's choices already refuse it; a direct call too
        raise RunbookError(f"unknown experiment {experiment!r}: one of {', '.join(GAME_DAY_EXPERIMENTS)}")
    template_id = find_template(ctx, experiment)
    busy = _running(ctx, template_id)
    if busy:
        raise RunbookError(
            f"experiment {busy[0]} of {ctx.cfg.names.game_day(experiment)} is still running: aws fis stop-experiment --id {busy[0]}"
        )
    url = checks.health_url(ctx, url)
    ctx.report.say("  before: the service must be steady")
    if not checks.health_check(ctx, url):
        return ctx.report.check("game day", False, "not started: a game day starts from a steady service (see the failed checks above)")
    minutes, objective = OBJECTIVES[experiment]
    fis = ctx.client("fis")
    started = fis.start_experiment(clientToken=str(uuid.uuid4()), experimentTemplateId=template_id, tags={"StartedBy": STARTED_BY})[
        "experiment"
    ]
    experiment_id = started["id"]
    ctx.report.say(f"  started {experiment_id} ({experiment}); watching until steady, at most {minutes} min ({objective})")
    watch = Watch(started=time.monotonic())
    try:
        final = _watch(ctx, experiment_id, url, watch, deadline=watch.started + minutes * 60)
    except BaseException as exc:
        # Ctrl-C, or AWS failing a poll: the experiment is not left running unwatched.
        fis.stop_experiment(id=experiment_id)
        why = "interrupted" if isinstance(exc, KeyboardInterrupt) else "the watch failed"
        ctx.report.say(f"  {why}: experiment {experiment_id} stopped (FIS puts back what it still holds)")
        raise
    return _report(ctx, experiment, experiment_id, final, watch)


def _watch(ctx: Context, experiment_id: str, url: str | None, watch: Watch, *, deadline: float) -> dict[str, Any]:
    """Poll until the experiment has ended and the service is steady, or the deadline; returns the experiment."""
    fis = ctx.client("fis")
    while True:
        found: dict[str, Any] = fis.get_experiment(id=experiment_id)["experiment"]
        status = found.get("state", {}).get("status", "unknown")
        seen = observe(ctx, url, status)
        now = time.monotonic()
        for alarm in seen.alarms:
            watch.fired.setdefault(alarm, now - watch.started)
        if watch.last is not None and watch.last.health != 200:
            watch.unhealthy_seconds += now - watch.last_at
        if seen != watch.last:
            ctx.report.say(f"  +{_clock(now - watch.started)}  {seen.line()}")
        watch.last, watch.last_at = seen, now
        if status in ENDED and seen.steady:
            watch.recovered_after = now - watch.started
            return found
        if now >= deadline:
            if status not in ENDED:
                found = fis.stop_experiment(id=experiment_id)["experiment"]
            return found
        ctx.wait.sleep()


def observe(ctx: Context, url: str | None, experiment_status: str) -> Observation:
    """One poll: health, tasks, targets, database, alarms (nothing printed)."""
    names = ctx.cfg.names
    health = checks.http_status(url)[0] if url else None
    service = checks.describe_service(ctx)
    healthy = total = 0
    for balancer in service.get("loadBalancers", []):
        if "targetGroupArn" in balancer:
            states = [
                t["TargetHealth"]["State"]
                for t in ctx.client("elbv2").describe_target_health(TargetGroupArn=balancer["targetGroupArn"])["TargetHealthDescriptions"]
            ]
            healthy, total = healthy + states.count("healthy"), total + len(states)
    try:
        (db,) = ctx.client("rds").describe_db_instances(DBInstanceIdentifier=names.db_instance)["DBInstances"]
        database = str(db["DBInstanceStatus"])
    except ClientError as exc:
        if error_code(exc) != "DBInstanceNotFound":
            raise
        database = "not found"
    alarms = frozenset(checks.alarms_in_alarm(ctx))
    return Observation(
        experiment=experiment_status,
        health=health,
        tasks=(int(service["runningCount"]), int(service["desiredCount"])),
        targets=(healthy, total),
        database=database,
        alarms=alarms,
    )


def _report(ctx: Context, experiment: str, experiment_id: str, found: dict[str, Any], watch: Watch) -> bool:
    minutes, objective = OBJECTIVES[experiment]
    state = found.get("state", {})
    status, reason = state.get("status", "unknown"), state.get("reason", "")
    ok = ctx.report.check(
        "experiment", status == "completed", f"{experiment_id} {status}" + (f": {reason}" if reason and status != "completed" else "")
    )
    recovered = watch.recovered_after
    if recovered is None:
        ok = ctx.report.check(
            "recovery", False, f"not steady within {minutes} min (the manual's {objective} RTO); the experiment was stopped"
        )
    else:
        ok = (
            ctx.report.check(
                "recovery",
                recovered <= minutes * 60,
                f"steady again {_clock(recovered)} after the start (the manual's {objective} RTO: {minutes} min); "
                f"/health failed for about {watch.unhealthy_seconds:.0f} s",
            )
            and ok
        )
    fired = ", ".join(f"{name} (+{_clock(at)})" for name, at in sorted(watch.fired.items(), key=lambda kv: kv[1])) or "none"
    ctx.report.say(f"  alarms that fired: {fired}")
    record = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "experiment_id": experiment_id,
        "status": status,
        "recovered_minutes": None if recovered is None else round(recovered / 60, 1),
        "objective_minutes": minutes,
        "alarms": sorted(watch.fired),
        "ok": ok,
    }
    ctx.report.data["game_day"] = {"experiment": experiment, **record}
    ctx.client("ssm", ctx.cfg.region).put_parameter(
        Name=record_parameter(ctx, experiment), Value=json.dumps(record), Type="String", Overwrite=True
    )
    return ok


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def last_game_days(ctx: Context, max_age_days: int, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> bool:
    """`checklist quarterly`: each game day run within `max_age_days` and within its objective."""
    ok = True
    ssm = ctx.client("ssm", ctx.cfg.region)
    for experiment in GAME_DAY_EXPERIMENTS:
        parameter = record_parameter(ctx, experiment)
        try:
            record = json.loads(ssm.get_parameter(Name=parameter)["Parameter"]["Value"])
        except ClientError as exc:
            if error_code(exc) != "ParameterNotFound":
                raise
            ok = (
                ctx.report.check(f"game day {experiment}", False, f"none recorded ({parameter}): ./scripts/deploy.sh game-day {experiment}")
                and ok
            )
            continue
        at = datetime.fromisoformat(record["at"])
        age = (now() - at).days
        recovered = record.get("recovered_minutes")
        detail = (
            f"{at:%Y-%m-%d}, {age} days ago: {record.get('status')}, "
            + (f"steady after {recovered} min" if recovered is not None else "not steady")
            + f" (objective {record.get('objective_minutes')} min); alarms: {', '.join(record.get('alarms', [])) or 'none'}"
            + (f"; over {max_age_days} days: due again" if age > max_age_days else "")
        )
        ok = ctx.report.check(f"game day {experiment}", bool(record.get("ok")) and age <= max_age_days, detail) and ok
    return ok
