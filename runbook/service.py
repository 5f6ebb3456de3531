"""Deploy, roll back, scale and restart the ECS service, as the manual does them."""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from config.thresholds import RUNNING_TASKS
from runbook import checks
from runbook.aws import RunbookError
from runbook.context import Context

ROOT = Path(__file__).resolve().parents[1]
PRIMARY_STACKS = ("Network", "Registry", "Data", "Service", "Monitoring")

Runner = Callable[[Sequence[str]], int]


def run_command(argv: Sequence[str]) -> int:
    """Run a command in the repository, its output going straight to the user."""
    return subprocess.run(list(argv), cwd=ROOT, check=False).returncode


def wait_until_stable(ctx: Context) -> None:
    """The manual's `aws ecs wait services-stable`, with the runbook's poll interval and timeout."""
    names = ctx.cfg.names
    ctx.report.say(f"waiting for {names.service} to be stable (up to {ctx.wait.timeout_minutes} min) ...")
    ctx.client("ecs").get_waiter("services_stable").wait(
        cluster=names.cluster, services=[names.service], WaiterConfig=ctx.wait.waiter_config
    )
    ctx.report.check("service stable", True, f"{names.service} reached a steady state")


def deploy(ctx: Context, *, image_tag: str | None, url: str | None, run: Runner = run_command) -> bool:
    """`./scripts/deploy.sh <env>`: preflight, cdk deploy, wait for stability, health-check."""
    names = ctx.cfg.names
    step = "preflight"
    ctx.report.say(f"[1/4] {step}")
    if not checks.preflight(ctx, url):
        ctx.report.check("deploy", False, f"stopped at step '{step}': fix what failed above, then deploy again")
        return False
    step = "cdk deploy"
    stacks = [names.stack(part) for part in PRIMARY_STACKS]
    argv = ["npx", "cdk", "deploy", *stacks, "-c", f"env={ctx.cfg.name}", "--require-approval", "never"]
    if image_tag:
        argv += ["-c", f"image-tag={image_tag}"]
    ctx.report.say(f"[2/4] {step}: {shlex.join(argv)}")
    code = run(argv)
    if code != 0:
        ctx.report.check("deploy", False, f"stopped at step '{step}': it exited {code}; see its output above")
        return False
    ctx.report.check("cdk deploy", True, f"{len(stacks)} stacks deployed")
    ctx.report.say("[3/4] wait for the service")
    wait_until_stable(ctx)
    ctx.report.say("[4/4] health-check")
    if not checks.health_check(ctx, url):
        ctx.report.check(
            "deploy", False, "step 'health-check' failed after the deploy: consider ./scripts/deploy.sh rollback"
        )
        return False
    return True


def _revision(task_definition: str) -> tuple[str, int]:
    """(family, revision) of an ARN or `family:revision`."""
    family_revision = task_definition.rsplit("/", 1)[-1]
    family, _, revision = family_revision.rpartition(":")
    return family, int(revision)


def _image(ctx: Context, task_definition: str) -> str:
    described = ctx.client("ecs").describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    return ", ".join(c["image"] for c in described["containerDefinitions"])


def rollback(ctx: Context, *, to_revision: int | None, url: str | None) -> bool:
    """`./scripts/deploy.sh rollback`: the previous ACTIVE revision of the task family (or N)."""
    names = ctx.cfg.names
    service = checks.describe_service(ctx)
    family, current = _revision(service["taskDefinition"])
    active = sorted(
        (_revision(arn)[1] for arn in ctx.aws.pages(
            "ecs", ctx.region, "list_task_definitions", "taskDefinitionArns", familyPrefix=family, status="ACTIVE"
        ) if _revision(arn)[0] == family),
        reverse=True,
    )
    if to_revision is not None:
        if to_revision == current:
            raise RunbookError(f"{family}:{to_revision} is already running; nothing to roll back")
        if to_revision not in active:
            raise RunbookError(
                f"{family}:{to_revision} is not an ACTIVE revision; ACTIVE: {', '.join(map(str, active)) or 'none'}"
            )
        target = to_revision
    else:
        earlier = [r for r in active if r < current]
        if not earlier:
            raise RunbookError(f"no ACTIVE revision of task family {family} earlier than {current}: nothing to roll back to")
        target = earlier[0]

    bad_image, good_image = _image(ctx, f"{family}:{current}"), _image(ctx, f"{family}:{target}")
    ctx.report.say(f"rolling {names.service} back from {family}:{current} ({bad_image}) to {family}:{target} ({good_image})")
    ctx.client("ecs").update_service(cluster=names.cluster, service=names.service, taskDefinition=f"{family}:{target}")
    record = {
        "from": f"{family}:{current}",
        "to": f"{family}:{target}",
        "from_image": bad_image,
        "to_image": good_image,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "region": ctx.region,
    }
    parameter = f"{names.parameter_prefix}/runbook/last-rollback"
    ctx.client("ssm").put_parameter(Name=parameter, Value=json.dumps(record), Type="String", Overwrite=True)
    ctx.report.data["rollback"] = record
    ctx.report.check("rollback", True, f"{record['from']} -> {record['to']}, recorded in SSM {parameter}")
    tag = good_image.rpartition(":")[2]
    ctx.report.say(
        f"The next `cdk deploy` registers the image of config/{ctx.cfg.name}.toml (service.image_tag) again. "
        f'Set service.image_tag = "{tag}" there (or deploy with -c image-tag={tag}) before the next deploy.'
    )
    wait_until_stable(ctx)
    return checks.health_check(ctx, url)


def scale(ctx: Context, *, count: int, force: bool) -> bool:
    """The manual's `aws ecs update-service ... --desired-count N`."""
    names = ctx.cfg.names
    floor = int(RUNNING_TASKS.value)
    if count < 0:
        raise RunbookError(f"--count {count}: a task count is 0 or more")
    if count < floor and ctx.cfg.is_production and not force:
        raise RunbookError(
            f"--count {count} is below the manual's 'Active ECS Tasks >= {floor}' in production; add --force to do it anyway"
        )
    if count > ctx.cfg.service.max_tasks:
        ctx.report.say(
            f"note: {count} is above the autoscaling ceiling ({ctx.cfg.service.max_tasks}); autoscaling may scale it back"
        )
    checks.describe_service(ctx)
    ctx.client("ecs").update_service(cluster=names.cluster, service=names.service, desiredCount=count)
    ctx.report.check("scale", True, f"{names.service} desired count set to {count}")
    wait_until_stable(ctx)
    return True


def restart(ctx: Context, *, url: str | None) -> bool:
    """The manual's `aws ecs update-service ... --force-new-deployment`."""
    names = ctx.cfg.names
    checks.describe_service(ctx)
    ctx.client("ecs").update_service(cluster=names.cluster, service=names.service, forceNewDeployment=True)
    ctx.report.check("restart", True, f"new deployment of {names.service} started")
    wait_until_stable(ctx)
    return checks.health_check(ctx, url)
