"""What an account needs before the stacks deploy: the service-linked roles, the CDK bootstrap of
each region, and the release image in the repository (checked by preflight, done or explained
by first-deploy)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from botocore.exceptions import ClientError

from config import EnvironmentConfig
from config.names import DOCKER_HUB_PLACEHOLDER_USER, KEPT_IMAGE_TAG_PREFIX
from runbook.aws import RunbookError, error_code
from runbook.context import Context

# The roles ECS, Application Auto Scaling, RDS and Elastic Load Balancing act through. A service
# creates its own on first use, but not always in time for a CloudFormation create on a new
# account (aws/aws-cdk#4108: "Unable to assume the service linked role").
SERVICE_LINKED_ROLES = {
    "ecs.amazonaws.com": "ECS",
    "ecs.application-autoscaling.amazonaws.com": "Application Auto Scaling for ECS",
    "rds.amazonaws.com": "RDS",
    "elasticloadbalancing.amazonaws.com": "Elastic Load Balancing",
}
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
# ECR image tags are at most 128 characters.
MAX_TAG_LENGTH = 128


def _has_role(ctx: Context, service: str) -> bool:
    roles = ctx.aws.pages("iam", ctx.region, "list_roles", "Roles", PathPrefix=f"/aws-service-role/{service}/")
    return any(True for _ in roles)


def check_service_linked_roles(ctx: Context) -> bool:
    missing = [service for service in SERVICE_LINKED_ROLES if not _has_role(ctx, service)]
    detail = (
        "all present"
        if not missing
        else "missing for "
        + ", ".join(f"{SERVICE_LINKED_ROLES[s]} (aws iam create-service-linked-role --aws-service-name {s})" for s in missing)
    )
    return ctx.report.check("service-linked roles", not missing, detail)


def create_service_linked_roles(ctx: Context) -> None:
    """Create each missing role; one that exists already is left as it is."""
    made = []
    for service, label in SERVICE_LINKED_ROLES.items():
        if _has_role(ctx, service):
            continue
        try:
            ctx.client("iam").create_service_linked_role(AWSServiceName=service)
        except ClientError as exc:
            # "...has been taken in this account": created meanwhile, by the service itself.
            if error_code(exc) not in ("InvalidInput", "EntityAlreadyExists"):
                raise
        made.append(label)
    ctx.report.check("service-linked roles", True, f"created for {', '.join(made)}" if made else "all present")


def bootstrapped(ctx: Context, region: str) -> bool:
    """Whether `cdk bootstrap` has run in the region (its version parameter exists)."""
    try:
        ctx.client("ssm", region).get_parameter(Name=BOOTSTRAP_VERSION_PARAMETER)
    except ClientError as exc:
        if error_code(exc) == "ParameterNotFound":
            return False
        raise
    return True


def image_uri(ctx: Context, tag: str, region: str | None = None) -> str:
    region = region or ctx.region
    return f"{ctx.cfg.account}.dkr.ecr.{region}.amazonaws.com/{ctx.cfg.names.repository}:{tag}"


def check_image(ctx: Context, tag: str) -> bool:
    """The release image is in the repository: ECS could not start a task without it."""
    repository = ctx.cfg.names.repository
    try:
        ctx.client("ecr").describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    except ClientError as exc:
        code = error_code(exc)
        if code == "ImageNotFoundException":
            return ctx.report.check(
                "release image",
                False,
                f"{repository}:{tag} is not in the repository ({ctx.region}); push it first: docker push {image_uri(ctx, tag)}",
            )
        if code == "RepositoryNotFoundException":
            return ctx.report.check(
                "release image",
                False,
                f"no repository {repository} in {ctx.region}: deploy {ctx.cfg.names.stack('Registry')} first",
            )
        raise
    return ctx.report.check("release image", True, f"{repository}:{tag} is in the repository ({ctx.region})")


def check_docker_hub(ctx: Context) -> bool:
    """The Docker Hub credentials ECR's pull-through cache pulls Grafana's image with are set: the
    Registry stack creates their secret with a placeholder user, and a pull with it fails."""
    cfg, names = ctx.cfg, ctx.cfg.names
    if not cfg.needs_docker_hub_cache:
        return True
    try:
        value = ctx.client("secretsmanager", cfg.region).get_secret_value(SecretId=names.docker_hub_secret)["SecretString"]
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        return ctx.report.check(
            "Docker Hub credentials", False, f"no secret {names.docker_hub_secret}: deploy {names.stack('Registry')} first"
        )
    try:
        user = json.loads(value).get("username")
    except (ValueError, AttributeError):
        user = None
    if user and user != DOCKER_HUB_PLACEHOLDER_USER:
        return ctx.report.check("Docker Hub credentials", True, f"{names.docker_hub_secret} names the Docker Hub user {user}")
    return ctx.report.check(
        "Docker Hub credentials",
        False,
        f"{names.docker_hub_secret} has no Docker Hub user yet (Grafana's image is pulled through ECR with it); put a user and "
        f"a read-only access token there: aws secretsmanager put-secret-value --region {cfg.region} --secret-id "
        f'{names.docker_hub_secret} --secret-string \'{{"username":"USER","accessToken":"TOKEN"}}\'',
    )


def keep_image(ctx: Context, tag: str) -> bool:
    """Tag the release a deploy runs `deployed-<tag>`: the repository's lifecycle never expires an
    image with that prefix (cdk_constructs/registry.py), so neither what runs nor what a rollback
    returns to can expire. Tags are immutable, so the extra tag never moves; run again, it is there."""
    repository, kept = ctx.cfg.names.repository, f"{KEPT_IMAGE_TAG_PREFIX}{tag}"
    if tag.startswith(KEPT_IMAGE_TAG_PREFIX):
        return ctx.report.check("release kept", True, f"{repository}:{tag} carries the kept prefix itself")
    if len(kept) > MAX_TAG_LENGTH:
        return ctx.report.check(
            "release kept", False, f"{repository}:{tag} is too long for a {KEPT_IMAGE_TAG_PREFIX} tag: the lifecycle may expire it"
        )
    ecr = ctx.client("ecr")
    images = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}])["images"]
    if not images:  # expired or deleted already (a rollback to it would fail to pull: ECS says so)
        return ctx.report.check("release kept", False, f"{repository}:{tag} is not in the repository ({ctx.region}): nothing to keep")
    image = images[0]
    extra = {"imageManifestMediaType": image["imageManifestMediaType"]} if image.get("imageManifestMediaType") else {}
    try:
        ecr.put_image(repositoryName=repository, imageManifest=image["imageManifest"], imageTag=kept, **extra)
    except ClientError as exc:
        if error_code(exc) != "ImageAlreadyExistsException":
            raise
    return ctx.report.check("release kept", True, f"{repository}:{tag} also tagged {kept}: the lifecycle never expires it")


def push_instructions(ctx: Context, tag: str) -> list[str]:
    """The commands that push the first image, as the README gives them."""
    registry = f"{ctx.cfg.account}.dkr.ecr.{ctx.region}.amazonaws.com"
    return [
        f"aws ecr get-login-password --region {ctx.region} | docker login --username AWS --password-stdin {registry}",
        f"docker build -t {image_uri(ctx, tag)} .   # in the backend's repository",
        f"docker push {image_uri(ctx, tag)}",
    ]


# --- what a `cdk destroy` leaves behind --------------------------------------------------------------


@dataclass(frozen=True)
class Kept:
    """A resource with a fixed name that a stack keeps when it is destroyed (DeletionPolicy
    RetainExceptOnCreate) and that a new create of the stack would collide with."""

    part: str
    kind: str
    name: str
    region: str


def kept_on_destroy(cfg: EnvironmentConfig) -> list[Kept]:
    """Every such resource of the environment's stacks, by the names the stacks give them: the
    primary region's, and the DR stack's in the DR region (the same names, and both DR databases'
    log groups, which it keeps in every mode)."""
    names, region = cfg.names, cfg.region
    kept = [
        Kept("Network", "log group", names.flow_log_group, region),
        Kept("Registry", "repository", names.repository, region),
        *([Kept("Registry", "secret", names.docker_hub_secret, region)] if cfg.needs_docker_hub_cache else []),
        *(Kept("Data", "log group", group, region) for group in names.db_log_groups(names.db_instance)),
        Kept("Data", "log group", names.db_users_log_group, region),
        *([Kept("Data", "secret", names.db_master_secret, region)] if cfg.dr.enabled else []),
        Kept("Service", "log group", names.app_log_group, region),
        Kept("Service", "log group", names.exec_log_group, region),
        Kept("Service", "log group", names.waf_log_group, region),
        Kept("Service", "secret", names.gemini_secret, region),
    ]
    if cfg.alerting.daily_checklist:
        kept.append(Kept("Monitoring", "log group", f"/aws/lambda/{names.daily_checklist}", region))
    if cfg.game_days.enabled:
        kept.append(Kept("Monitoring", "log group", names.game_day_log_group, region))
    if cfg.observability.grafana:
        kept += [
            Kept("Monitoring", "log group", names.grafana_log_group, region),
            Kept("Monitoring", "secret", names.grafana_admin_secret, region),
        ]
    if cfg.dr.enabled:
        groups = [names.flow_log_group, names.app_log_group, names.exec_log_group, names.waf_log_group]
        for instance in (names.db_replica_instance, names.db_restored_instance):
            groups += names.db_log_groups(instance)
        kept += [Kept("DR", "log group", group, cfg.dr_region) for group in groups]
    if cfg.backup.enabled:
        kept.append(Kept("Data", "backup vault", names.backup_vault, region))
        if cfg.needs_dr_foundation:
            kept.append(Kept("DRFoundation", "backup vault", names.dr_backup_vault, cfg.dr_region))
    return kept


def _stack_exists(ctx: Context, part: str, region: str) -> bool:
    try:
        (stack,) = ctx.client("cloudformation", region).describe_stacks(StackName=ctx.cfg.names.stack(part))["Stacks"]
    except ClientError as exc:
        if error_code(exc) == "ValidationError":
            return False
        raise
    return bool(stack["StackStatus"] != "DELETE_COMPLETE")


def _exists(ctx: Context, kept: Kept) -> bool:
    try:
        if kept.kind == "log group":
            groups = ctx.client("logs", kept.region).describe_log_groups(logGroupNamePrefix=kept.name)["logGroups"]
            return any(g["logGroupName"] == kept.name for g in groups)
        if kept.kind == "repository":
            ctx.client("ecr", kept.region).describe_repositories(repositoryNames=[kept.name])
        elif kept.kind == "backup vault":
            ctx.client("backup", kept.region).describe_backup_vault(BackupVaultName=kept.name)
        else:
            ctx.client("secretsmanager", kept.region).describe_secret(SecretId=kept.name)
    except ClientError as exc:
        if error_code(exc) in ("RepositoryNotFoundException", "ResourceNotFoundException"):
            return False
        raise
    return True


def leftovers(ctx: Context) -> list[Kept]:
    """Resources a destroyed stack kept that are in the way of creating it again."""
    kept = kept_on_destroy(ctx.cfg)
    absent = {(part, region) for part, region in {(k.part, k.region) for k in kept} if not _stack_exists(ctx, part, region)}
    return [k for k in kept if (k.part, k.region) in absent and _exists(ctx, k)]


def delete_leftover(ctx: Context, kept: Kept) -> None:
    if kept.kind == "log group":
        ctx.client("logs", kept.region).delete_log_group(logGroupName=kept.name)
    elif kept.kind == "repository":
        ctx.client("ecr", kept.region).delete_repository(repositoryName=kept.name, force=True)
    elif kept.kind == "backup vault":
        _delete_vault(ctx, kept)
    else:
        secrets = ctx.client("secretsmanager", kept.region)
        # Secrets Manager refuses to delete a secret that still has replicas; removing a region
        # deletes the replica there.
        replicas = [r["Region"] for r in secrets.describe_secret(SecretId=kept.name).get("ReplicationStatus", [])]
        if replicas:
            secrets.remove_regions_from_replication(SecretId=kept.name, RemoveReplicaRegions=replicas)
        secrets.delete_secret(SecretId=kept.name, ForceDeleteWithoutRecovery=True)


def _delete_vault(ctx: Context, kept: Kept) -> None:
    """An unlocked vault: its deny-delete access policy first, then its recovery points, then
    the vault. A locked one keeps its recovery points until they expire, whoever asks."""
    backup = ctx.client("backup", kept.region)
    points = list(ctx.aws.pages("backup", kept.region, "list_recovery_points_by_backup_vault", "RecoveryPoints", BackupVaultName=kept.name))
    if points and backup.describe_backup_vault(BackupVaultName=kept.name).get("Locked"):
        raise RunbookError(
            f"backup vault {kept.name} ({kept.region}) holds {len(points)} recovery point(s) under Vault Lock: AWS deletes none "
            "before it expires; import the vault into the new stack instead (README: Tearing an environment down)"
        )
    backup.delete_backup_vault_access_policy(BackupVaultName=kept.name)
    for point in points:
        backup.delete_recovery_point(BackupVaultName=kept.name, RecoveryPointArn=point["RecoveryPointArn"])
    backup.delete_backup_vault(BackupVaultName=kept.name)
