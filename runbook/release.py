"""Which release the service runs, and the checks a command that changes the service makes before
it says it passed: the service on the revision asked for, the API container on the tag asked for,
every running task on that revision with the digest ECR holds for the tag, running equal to
desired. The deploy verbs also refuse to put an older release in place unless asked to, and put
the stack's revision back in place when the service was moved off it outside the stack (a
`rollback` is a direct ECS update)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from runbook.aws import RunbookError, error_code
from runbook.checks import wait_until_stable
from runbook.context import Context

ALLOW_OLDER = "--allow-older"
"""The deploy verbs' flag that puts a release older than the running one in place on purpose."""

_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)$")


@dataclass(frozen=True)
class Running:
    task_definition: str
    """The service's task definition (ARN)."""
    api_image: str | None
    """The API container's image: the one from the environment's repository."""

    @property
    def revision(self) -> str:
        return self.task_definition.rsplit("/", 1)[-1]

    @property
    def api_tag(self) -> str | None:
        if self.api_image is None or "@" in self.api_image:
            return None
        return self.api_image.rpartition(":")[2]


def api_container(ctx: Context, definition: dict[str, Any]) -> dict[str, Any] | None:
    """The task definition's container whose image comes from the environment's repository (the
    task definition also runs the metrics collector, from the pull-through cache)."""
    repository = ctx.cfg.names.repository
    for container in definition["containerDefinitions"]:
        if re.search(rf"\.amazonaws\.com/{re.escape(repository)}[:@]", container["image"]):
            return dict(container)
    return None


def describe_definition(ctx: Context, task_definition: str) -> dict[str, Any]:
    definition: dict[str, Any] = ctx.client("ecs").describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    return definition


def running(ctx: Context) -> Running | None:
    """What the service runs now; None before the Service stack exists."""
    names = ctx.cfg.names
    try:
        services = ctx.client("ecs").describe_services(cluster=names.cluster, services=[names.service]).get("services", [])
    except ClientError as exc:
        if error_code(exc) == "ClusterNotFoundException":
            return None
        raise
    active = [s for s in services if s.get("status") != "INACTIVE"]
    if not active or not active[0].get("taskDefinition"):
        return None
    arn = active[0]["taskDefinition"]
    container = api_container(ctx, describe_definition(ctx, arn))
    return Running(arn, container["image"] if container else None)


def _image(ctx: Context, tag: str) -> dict[str, Any] | None:
    try:
        details = ctx.client("ecr").describe_images(repositoryName=ctx.cfg.names.repository, imageIds=[{"imageTag": tag}])["imageDetails"]
    except ClientError as exc:
        if error_code(exc) in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return None
        raise
    return dict(details[0]) if details else None


_ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+):([^@]+)$")


def _ecr_digest(ctx: Context, image: str) -> str | None:
    """The digest ECR holds for an image of this account's registry by tag, else None (not checked)."""
    match = _ECR_IMAGE.match(image)
    if match is None or match.group(1) != ctx.cfg.account:
        return None
    _, region, repository, tag = match.groups()
    try:
        details = ctx.client("ecr", region).describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"]
    except ClientError as exc:
        if error_code(exc) in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return "a tag ECR does not hold"
        raise
    return str(details[0]["imageDigest"]) if details else "a tag ECR does not hold"


def _older(requested: str, requested_at: datetime | None, current: str, current_at: datetime | None) -> bool:
    """Whether `requested` is an older release than `current`: by version when both tags are
    versions (1.2.0, v1.10), else by when ECR received each image."""
    a, b = _VERSION.match(requested), _VERSION.match(current)
    if a and b:
        return tuple(map(int, a.group(1).split("."))) < tuple(map(int, b.group(1).split(".")))
    return requested_at is not None and current_at is not None and requested_at < current_at


def refuse_older(ctx: Context, tag: str, *, source: str, allow_older: bool) -> None:
    """Before a deploy changes anything: it would put an older release in place of the running one
    (the config's tag after a release deployed with --image-tag, say). Refused unless --allow-older."""
    now = running(ctx)
    if now is None or now.api_tag is None or now.api_tag == tag:
        return
    current, requested = _image(ctx, now.api_tag), _image(ctx, tag)
    current_at = current.get("imagePushedAt") if current else None
    requested_at = requested.get("imagePushedAt") if requested else None
    if not _older(tag, requested_at, now.api_tag, current_at):
        return
    repository = ctx.cfg.names.repository
    if allow_older:
        ctx.report.say(
            f"note: {repository}:{tag} is older than the running {repository}:{now.api_tag}; deploying it as asked ({ALLOW_OLDER})"
        )
        return
    raise RunbookError(
        f"{ctx.cfg.names.service} runs {repository}:{now.api_tag}; this deploy would put the older {repository}:{tag} ({source}) "
        f"in its place: deploy --image-tag {now.api_tag} to keep it, set service.image_tag in {ctx.cfg.source} to the release you "
        f"want, or add {ALLOW_OLDER} to go back to {tag} on purpose"
    )


def stack_task_definition(ctx: Context) -> str:
    """The task definition the Service stack holds: what the last deploy asked the service to run."""
    stack = ctx.cfg.names.stack("Service")
    resources = ctx.client("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
    found = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::ECS::TaskDefinition"]
    if len(found) != 1:
        raise RunbookError(f"{stack} holds {len(found)} task definitions; expected one")
    return str(found[0])


def put_stack_revision_in_place(ctx: Context) -> str:
    """After `cdk deploy`: a `rollback` moved the service off the stack's revision, and CloudFormation,
    seeing no change, left it there. The stack's revision is what was asked for, so it is put back.
    Returns the stack's task definition."""
    wanted = stack_task_definition(ctx)
    now = running(ctx)
    if now is not None and now.task_definition != wanted:
        names = ctx.cfg.names
        ctx.report.say(
            f"  {names.service} runs {now.revision}, not the stack's {wanted.rsplit('/', 1)[-1]} "
            "(changed outside the stack, by a rollback): putting the stack's revision in place"
        )
        ctx.client("ecs").update_service(cluster=names.cluster, service=names.service, taskDefinition=wanted)
        wait_until_stable(ctx)
    return wanted


def verify(ctx: Context, *, task_definition: str, tag: str) -> bool:
    """What runs now against what was asked: the service on `task_definition`, its API container on
    `tag`, every running task on that revision with ECR's digest for the tag, running == desired.
    The report's last line says what runs."""
    names = ctx.cfg.names
    ecs = ctx.client("ecs")
    (service,) = ecs.describe_services(cluster=names.cluster, services=[names.service])["services"]
    revision = service["taskDefinition"].rsplit("/", 1)[-1]
    wanted_revision = task_definition.rsplit("/", 1)[-1]
    container = api_container(ctx, describe_definition(ctx, service["taskDefinition"]))
    image = container["image"] if container else "no container from the repository"
    ok = ctx.report.check(
        "release asked for",
        revision == wanted_revision and image.endswith(f"/{names.repository}:{tag}"),
        f"the service runs {revision} ({image}); asked for {wanted_revision} with {names.repository}:{tag}",
    )
    pushed = _image(ctx, tag)
    digest = pushed["imageDigest"] if pushed else None
    # Every container from this account's ECR (the API, and the collector through the pull-through
    # cache) on the digest ECR holds for its tag: ECS resolves each tag once per deployment.
    definition = describe_definition(ctx, service["taskDefinition"])
    expected = {c["name"]: _ecr_digest(ctx, c["image"]) for c in definition["containerDefinitions"]}
    arns = ecs.list_tasks(cluster=names.cluster, serviceName=names.service, desiredStatus="RUNNING")["taskArns"]
    tasks = ecs.describe_tasks(cluster=names.cluster, tasks=arns)["tasks"] if arns else []
    wrong = []
    for task in tasks:
        task_revision = task["taskDefinitionArn"].rsplit("/", 1)[-1]
        running_digests = {c.get("name"): c.get("imageDigest") for c in task.get("containers", [])}
        off = [name for name, want in expected.items() if want is not None and running_digests.get(name) != want]
        if task_revision != revision or container is None or off:
            short = task["taskArn"].rsplit("/", 1)[-1][:8]
            shown = ", ".join(f"{name} {running_digests.get(name) or 'missing'}" for name in off)
            wrong.append(f"{short} runs {task_revision}" + (f" ({shown})" if shown else ""))
    running_count, desired = len(tasks), service["desiredCount"]
    ok = (
        ctx.report.check(
            "tasks run the release",
            digest is not None and not wrong and running_count == desired == service["runningCount"],
            f"{running_count} running of {desired} desired, each with {names.repository}:{tag} as {digest or 'a tag ECR does not hold'}"
            + (f" and {len(expected) - 1} other container(s) on their images' digests" if len(expected) > 1 else "")
            + (f"; not: {', '.join(wrong)}" if wrong else ""),
        )
        and ok
    )
    ctx.report.now = (
        f"{names.service} runs {names.repository}:{tag} ({(digest or '?')[:19]}) as {revision}, {running_count}/{desired} tasks"
    )
    return ok
