"""Deploy, roll back, scale and restart the ECS service, as the manual does them."""

from __future__ import annotations

import json
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from botocore.exceptions import ClientError

from config.thresholds import RUNNING_TASKS
from runbook import account, checks, db_users, release
from runbook.aws import RunbookError, error_code
from runbook.checks import wait_until_stable
from runbook.context import Context

ROOT = Path(__file__).resolve().parents[1]
PRIMARY_STACKS = ("Network", "Registry", "Data", "Service", "Monitoring")

Runner = Callable[[Sequence[str]], int]


def run_command(argv: Sequence[str]) -> int:
    """Run a command in the repository, its output going straight to the user. `npx cdk` runs
    the pinned CLI from node_modules directly, as npx would find it, without npx's lookup."""
    command = list(argv)
    local = ROOT / "node_modules" / ".bin" / "cdk"
    if command[:2] == ["npx", "cdk"] and local.exists():
        command = [str(local), *command[2:]]
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def deploy(ctx: Context, *, image_tag: str | None, url: str | None, allow_older: bool = False, run: Runner = run_command) -> bool:
    """`./scripts/deploy.sh <env>`: preflight, cdk deploy, the stack's revision in place, wait for
    stability, verify the release that runs, health-check; the release kept once it is healthy."""
    names = ctx.cfg.names
    tag = image_tag or ctx.cfg.service.image_tag
    checks.refuse_placeholder_ranges(ctx)
    source = "--image-tag" if image_tag else f"service.image_tag in {ctx.cfg.source}"
    release.refuse_older(ctx, tag, source=source, allow_older=allow_older)
    step = "preflight"
    ctx.report.say(f"[1/4] {step}")
    if not checks.preflight(ctx, url, image_tag):
        ctx.report.check("deploy", False, f"stopped at step '{step}': fix what failed above, then deploy again")
        return False
    step = "cdk deploy"
    clear_failed_creates(ctx, PRIMARY_STACKS)
    stacks = [names.stack(part) for part in PRIMARY_STACKS]
    argv = ["npx", "cdk", "deploy", *stacks, "-c", f"env={ctx.cfg.name}", "--require-approval", "never"]
    if image_tag:
        argv += ["-c", f"image-tag={image_tag}"]
    ctx.report.say(f"[2/4] {step}: {shlex.join(argv)}")
    code = run(argv)
    if code != 0:
        ctx.report.check("deploy", False, f"stopped at step '{step}': it exited {code}; see its output above")
        _say_what_runs(ctx)
        return False
    ctx.report.check("cdk deploy", True, f"{len(stacks)} stacks deployed")
    ctx.report.say("[3/4] wait for the service")
    wanted = release.put_stack_revision_in_place(ctx)
    wait_until_stable(ctx)
    ctx.report.say("[4/4] verify the release and health-check")
    verified = release.verify(ctx, task_definition=wanted, tag=tag)
    if not (checks.health_check(ctx, url) and verified):
        ctx.report.check("deploy", False, "the release asked for is not running healthy: consider ./scripts/deploy.sh rollback")
        return False
    return account.keep_image(ctx, tag)  # only now: a release that never ran healthy is not kept


def _say_what_runs(ctx: Context) -> None:
    """After a failed deploy, the report's last line still says what runs."""
    now = release.running(ctx)
    if now is not None:
        ctx.report.now = f"{ctx.cfg.names.service} runs {now.api_image or '?'} as {now.revision}"


def _revision(task_definition: str) -> tuple[str, int]:
    """(family, revision) of an ARN or `family:revision`."""
    family_revision = task_definition.rsplit("/", 1)[-1]
    family, _, revision = family_revision.rpartition(":")
    return family, int(revision)


def _api_image(ctx: Context, task_definition: str) -> str:
    """The API container's image of a revision (the task definition also runs the metrics collector)."""
    container = release.api_container(ctx, release.describe_definition(ctx, task_definition))
    if container is None:
        raise RunbookError(f"{task_definition} has no container from the repository {ctx.cfg.names.repository}")
    return str(container["image"])


def rollback(ctx: Context, *, to_revision: int | None, url: str | None) -> bool:
    """`./scripts/deploy.sh rollback`: the previous ACTIVE revision of the task family (or N)."""
    names = ctx.cfg.names
    service = checks.describe_service(ctx)
    family, current = _revision(service["taskDefinition"])
    active = sorted(
        (
            _revision(arn)[1]
            for arn in ctx.aws.pages("ecs", ctx.region, "list_task_definitions", "taskDefinitionArns", familyPrefix=family, status="ACTIVE")
            if _revision(arn)[0] == family
        ),
        reverse=True,
    )
    if to_revision is not None:
        if to_revision == current:
            raise RunbookError(f"{family}:{to_revision} is already running; nothing to roll back")
        if to_revision not in active:
            raise RunbookError(f"{family}:{to_revision} is not an ACTIVE revision; ACTIVE: {', '.join(map(str, active)) or 'none'}")
        target = to_revision
    else:
        earlier = [r for r in active if r < current]
        if not earlier:
            raise RunbookError(f"no ACTIVE revision of task family {family} earlier than {current}: nothing to roll back to")
        target = earlier[0]

    bad_image, good_image = _api_image(ctx, f"{family}:{current}"), _api_image(ctx, f"{family}:{target}")
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
        f"The service now runs outside the stack, which still names {bad_image.rpartition(':')[2]}. The next deploy puts "
        f'the release it is asked for in place: set service.image_tag = "{tag}" in config/{ctx.cfg.name}.toml '
        f"(or deploy with --image-tag {tag}) before it, or it brings back the release of the file."
    )
    wait_until_stable(ctx)
    # Steady is not enough: when the revision's tasks never become healthy, ECS's circuit
    # breaker puts the service back on the revision it ran, and that is steady too.
    landed = release.verify(ctx, task_definition=f"{family}:{target}", tag=tag)
    if not landed:
        ctx.report.say("  ECS may have rolled the deployment back (its tasks never became healthy): see the service's events")
    healthy = checks.health_check(ctx, url)
    return healthy and landed and account.keep_image(ctx, tag)  # kept only once it runs healthy


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
    low, high = ctx.cfg.service.min_tasks, ctx.cfg.service.max_tasks
    if not low <= count <= high:
        side = "above the autoscaling maximum" if count > high else "below the autoscaling minimum"
        ctx.report.say(
            f"warning: {count} is {side} ({low} to {high} in {ctx.cfg.source}): "
            "Application Auto Scaling moves the desired count back into that range at its next scaling activity"
        )
    checks.describe_service(ctx)
    now = release.running(ctx)
    ctx.client("ecs").update_service(cluster=names.cluster, service=names.service, desiredCount=count)
    ctx.report.check("scale", True, f"{names.service} desired count set to {count}")
    wait_until_stable(ctx)
    return now is None or now.api_tag is None or release.verify(ctx, task_definition=now.task_definition, tag=now.api_tag)


def restart(ctx: Context, *, url: str | None) -> bool:
    """The manual's `aws ecs update-service ... --force-new-deployment`."""
    names = ctx.cfg.names
    checks.describe_service(ctx)
    now = release.running(ctx)
    ctx.client("ecs").update_service(cluster=names.cluster, service=names.service, forceNewDeployment=True)
    ctx.report.check("restart", True, f"new deployment of {names.service} started")
    wait_until_stable(ctx)
    verified = now is None or now.api_tag is None or release.verify(ctx, task_definition=now.task_definition, tag=now.api_tag)
    return checks.health_check(ctx, url) and verified


DR_REGION_PARTS = ("DRFoundation", "DR")


def clear_failed_creates(ctx: Context, parts: Sequence[str]) -> None:
    """Let the cdk CLI delete and re-create a stack whose first create rolled back.

    The CLI turns termination protection on before it runs a new stack's change set; when the
    create then fails, the stack is left ROLLBACK_COMPLETE and protected, and the CLI's own
    delete-and-retry is refused (aws-samples/aws-secure-environment-accelerator#253). A stack in
    ROLLBACK_COMPLETE holds nothing, so its protection is turned off here; the CLI turns it on
    again once the new stack is created.
    """
    for part in parts:
        name = ctx.cfg.names.stack(part)
        region = ctx.cfg.dr_region if part in DR_REGION_PARTS else ctx.cfg.region
        try:
            (stack,) = ctx.client("cloudformation", region).describe_stacks(StackName=name)["Stacks"]
        except ClientError as exc:
            if error_code(exc) == "ValidationError":  # no such stack
                continue
            raise
        status = stack["StackStatus"]
        if status == "ROLLBACK_FAILED":
            raise RunbookError(
                f"{name} is ROLLBACK_FAILED: its failed create could not delete everything it made; "
                f"read its events (aws cloudformation describe-stack-events --stack-name {name} --region {region})"
            )
        if status == "ROLLBACK_COMPLETE" and stack.get("EnableTerminationProtection"):
            ctx.client("cloudformation", region).update_termination_protection(StackName=name, EnableTerminationProtection=False)
            ctx.report.say(f"  {name}: its first create rolled back; termination protection off so that cdk can re-create it")


def cdk_deploy(
    ctx: Context,
    parts: Sequence[str],
    run: Runner,
    *,
    context: Sequence[str] = (),
    app: str | None = None,
    no_rollback: bool = False,
    again: str = "run this command again once fixed",
) -> None:
    """`npx cdk deploy` of the environment's stacks `parts` (with `-c key=value` for each of
    `context`, or from a synthesized `app`); a failure is one line that says `again`."""
    stacks = [ctx.cfg.names.stack(part) for part in parts]
    argv = ["npx", "cdk", "deploy", *stacks, *(["--app", app] if app else ["-c", f"env={ctx.cfg.name}"])]
    for value in context:
        argv += ["-c", value]
    argv += ["--no-rollback"] if no_rollback else []
    argv += ["--require-approval", "never"]
    ctx.report.say(f"  {shlex.join(argv)}")
    code = run(argv)
    if code != 0:
        raise RunbookError(f"npx cdk deploy of {', '.join(stacks)} exited {code}; see its output above; {again}")


def _cdk_deploy(ctx: Context, parts: Sequence[str], run: Runner, app: str | None = None) -> None:
    clear_failed_creates(ctx, parts)
    cdk_deploy(ctx, parts, run, app=app, again="fix it, run first-deploy again")
    ctx.report.check("cdk deploy", True, ", ".join(ctx.cfg.names.stack(part) for part in parts))


def first_deploy(ctx: Context, *, url: str | None, run: Runner = run_command) -> bool:
    """`./scripts/deploy.sh first-deploy`: a new account's first deploy, in the order that works.

    Bootstrap checked, service-linked roles created, the stacks that need no image deployed
    (with the repository, and the database, which takes longest in AWS), the release image
    checked (if it is missing, the push commands are printed and the command stops: run it
    again after the push), the backend's database role made (`db-users`), then the service and
    monitoring, the DR stack last (it reads what
    the Service stack writes), and a health-check. Every step can be run again: a deployed
    stack is left as it is, and one whose first create rolled back is created again.
    """
    cfg = ctx.cfg
    checks.refuse_placeholder_ranges(ctx)
    regions = [cfg.region] + ([cfg.dr_region] if cfg.needs_dr_foundation else [])
    missing = [region for region in regions if not account.bootstrapped(ctx, region)]
    if missing:
        targets = " ".join(f"aws://{cfg.account}/{region}" for region in missing)
        raise RunbookError(f"not bootstrapped for the CDK: {', '.join(missing)}; run: npx cdk bootstrap {targets}")
    ctx.report.check("cdk bootstrap", True, ", ".join(regions))
    in_the_way = account.leftovers(ctx)
    if in_the_way:
        raise RunbookError(
            f"{len(in_the_way)} resource(s) kept by an earlier cdk destroy are in the way of creating the stacks again "
            f"({', '.join(k.name for k in in_the_way)}); ./scripts/deploy.sh leftovers --env {cfg.name} lists them and "
            "--delete deletes them"
        )
    ctx.report.say("[1/6] service-linked roles")
    account.create_service_linked_roles(ctx)
    ctx.report.say("[2/6] synthesize once")
    with tempfile.TemporaryDirectory(prefix="contractorlens-first-deploy-") as assembly:
        argv = ["npx", "cdk", "synth", "-c", f"env={cfg.name}", "--quiet", "--output", assembly]
        ctx.report.say(f"  {shlex.join(argv)}")
        if run(argv) != 0:
            raise RunbookError("npx cdk synth failed; see its output above")
        ctx.report.say("[3/6] the stacks that need no image: the repository, the database")
        _cdk_deploy(ctx, [*(["DRFoundation"] if cfg.needs_dr_foundation else []), "Network", "Registry", "Data"], run, assembly)
        ctx.report.say("[4/6] the release image")
        tag = cfg.service.image_tag
        if not account.check_image(ctx, tag):
            ctx.report.say(f"Push {cfg.names.repository}:{tag} (service.image_tag in {cfg.source}), then run first-deploy again:")
            for line in account.push_instructions(ctx, tag):
                ctx.report.say(f"  {line}")
            return False
        if not account.check_docker_hub(ctx):
            ctx.report.say("Then run first-deploy again: Grafana's image is pulled from Docker Hub with them.")
            return False
        ctx.report.say(f"[5/6] the backend's database role ({cfg.database.app_login})")
        if cfg.database.app_login == "iam":
            # Before the Service stack: its first tasks log in as this role, or never get healthy.
            if not db_users.db_users(ctx):
                raise RunbookError("db-users failed (see above): fix it, run first-deploy again")
        else:
            ctx.report.say(f"  none: database.app_login in {cfg.source} has the backend log in with the master secret")
        ctx.report.say("[6/6] service, monitoring" + (", then the DR stack" if cfg.dr.enabled else ""))
        _cdk_deploy(ctx, ["Service", "Monitoring"], run, assembly)
        if cfg.dr.enabled:
            # After the Service stack: the DR stack reads the health check id it writes.
            _cdk_deploy(ctx, ["DR"], run, assembly)
    wait_until_stable(ctx)
    verified = release.verify(ctx, task_definition=release.stack_task_definition(ctx), tag=tag)
    return checks.health_check(ctx, url) and verified and account.keep_image(ctx, tag)


def leftovers(ctx: Context, *, delete: bool) -> bool:
    """`./scripts/deploy.sh leftovers [--delete]`: what a `cdk destroy` kept that is in the way of
    deploying the environment again (log groups, the repository, secrets, backup vaults: they
    have fixed names), and, with --delete, delete it. Production's data is never deleted here."""
    found = account.leftovers(ctx)
    for kept in found:
        ctx.report.say(f"  {kept.kind} {kept.name} ({kept.region}), kept by {ctx.cfg.names.stack(kept.part)}")
    ctx.report.data["leftovers"] = [kept.__dict__ for kept in found]
    if not found:
        return ctx.report.check("leftovers", True, "nothing kept by a destroy is in the way of a deploy")
    if not delete:
        return ctx.report.check(
            "leftovers",
            False,
            f"{len(found)} in the way of a deploy: delete them with --delete (their data goes), or import them into the new stacks",
        )
    if ctx.cfg.is_production:
        raise RunbookError(
            "production's logs, images, secrets and backup vaults are not deleted by the runbook: import them into the new stacks (README)"
        )
    for kept in found:
        account.delete_leftover(ctx, kept)
    return ctx.report.check("leftovers", True, f"deleted {len(found)}: {', '.join(k.name for k in found)}")
