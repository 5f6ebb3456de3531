"""The backend's container repository, its lifecycle, and its replication to the DR region."""

from __future__ import annotations

import json
from typing import cast

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cdk_constructs.compliance import acknowledge

# The count of the rule that keeps deployed images, as in the CDK's own example of a rule that
# protects a tag prefix (aws_ecr.LifecycleRule): years of daily deploys before the oldest goes.
KEEP_FOREVER = 9999


def lifecycle_policy(*, tagged_images_to_keep: int, untagged_image_expiry_days: int, kept_tag_prefix: str) -> str:
    """The ECR lifecycle policy text shared by the repository and its DR replicas.

    The first rule selects the images a deploy tagged `<kept_tag_prefix>...` and never reaches its
    count: an image a higher-priority rule selects cannot be expired by a lower one (ECR user
    guide, "Lifecycle policy evaluation rules"), so the release a service runs, and every one a
    rollback may go back to, outlives the count of the third rule.
    """
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Never expire an image a deploy ran (tagged {kept_tag_prefix}...)",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPrefixList": [kept_tag_prefix],
                        "countType": "imageCountMoreThan",
                        "countNumber": KEEP_FOREVER,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"Expire untagged images after {untagged_image_expiry_days} days",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": untagged_image_expiry_days,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 3,
                    "description": f"Keep the {tagged_images_to_keep} most recent tagged images",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": ["*"],
                        "countType": "imageCountMoreThan",
                        "countNumber": tagged_images_to_keep,
                    },
                    "action": {"type": "expire"},
                },
            ]
        },
        sort_keys=True,
    )


class ContainerRepository(Construct):
    """An ECR repository for release images: scanned, immutable, encrypted, retained."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        repository_name: str,
        tagged_images_to_keep: int,
        untagged_image_expiry_days: int,
        kept_tag_prefix: str,
    ) -> None:
        """
        :param repository_name: the repository's name (manual: contractorlens).
        :param tagged_images_to_keep: how many tagged images the lifecycle keeps; older ones expire.
        :param untagged_image_expiry_days: days after push when untagged images expire.
        :param kept_tag_prefix: images with a tag of this prefix never expire (the runbook tags
            each release it deploys so).
        """
        super().__init__(scope, construct_id)
        self.repository = ecr.Repository(
            self,
            "Repository",
            repository_name=repository_name,
            image_scan_on_push=True,
            # A tag names one build forever, so a rollback to a tag is a rollback to that build.
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.KMS,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
            empty_on_delete=False,
        )
        # The L2 lifecycle rules cannot be shared with the DR template; the policy text can.
        cast(ecr.CfnRepository, self.repository.node.default_child).lifecycle_policy = ecr.CfnRepository.LifecyclePolicyProperty(
            lifecycle_policy_text=lifecycle_policy(
                tagged_images_to_keep=tagged_images_to_keep,
                untagged_image_expiry_days=untagged_image_expiry_days,
                kept_tag_prefix=kept_tag_prefix,
            )
        )


ECR_PUBLIC = "public.ecr.aws"


class PublicImageCache(Construct):
    """An ECR pull-through cache rule for Amazon ECR Public (no credentials needed): an image
    `public.ecr.aws/<path>:<tag>` is pulled as `<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<path>:<tag>`,
    so tasks pull from the account's own registry, and a tag already pulled keeps working if the
    public registry changes or goes away. ECR creates each cached repository on its first pull."""

    def __init__(self, scope: Construct, construct_id: str, *, prefix: str) -> None:
        """
        :param prefix: the cached repositories' prefix, at most 30 characters; one rule per
            prefix per region in an account, so each environment has its own.
        """
        super().__init__(scope, construct_id)
        if not 2 <= len(prefix) <= 30:
            raise ValueError(f"prefix {prefix!r}: ECR allows 2 to 30 characters")
        self.prefix = prefix
        ecr.CfnPullThroughCacheRule(self, "Rule", ecr_repository_prefix=prefix, upstream_registry_url=ECR_PUBLIC)


DOCKER_HUB = "docker.io"


class DockerHubCache(Construct):
    """An ECR pull-through cache rule for Docker Hub, which needs credentials: a Docker Hub user
    and access token in a Secrets Manager secret whose name starts with `ecr-pullthroughcache/`
    (ECR user guide, "Creating a pull through cache rule"). The stack creates the secret with a
    placeholder user; an operator puts the real ones (README), and `./scripts/deploy.sh` checks
    them with ECR's ValidatePullThroughCacheRule before a deploy that would pull."""

    def __init__(self, scope: Construct, construct_id: str, *, prefix: str, secret_name: str, placeholder_user: str) -> None:
        """
        :param prefix: the cached repositories' prefix, 2 to 30 characters.
        :param secret_name: the credentials' secret, `ecr-pullthroughcache/...`.
        :param placeholder_user: the user the secret holds until an operator sets the real one.
        """
        super().__init__(scope, construct_id)
        if not 2 <= len(prefix) <= 30:
            raise ValueError(f"prefix {prefix!r}: ECR allows 2 to 30 characters")
        if not secret_name.startswith("ecr-pullthroughcache/"):
            raise ValueError(f"secret {secret_name!r}: ECR reads only secrets named ecr-pullthroughcache/...")
        self.prefix = prefix
        self.secret = secretsmanager.Secret(
            self,
            "Credentials",
            secret_name=secret_name,
            description="Docker Hub user and access token that ECR's pull-through cache pulls with; an operator sets them (README)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"username": placeholder_user}), generate_string_key="accessToken"
            ),
            # Kept on delete like the Gemini key: what an operator typed in is not the stack's to drop.
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        ecr.CfnPullThroughCacheRule(
            self,
            "Rule",
            ecr_repository_prefix=prefix,
            upstream_registry="docker-hub",
            upstream_registry_url="registry-1.docker.io",
            credential_arn=self.secret.secret_arn,
        )
        for rule in ("AwsSolutions-SMG4", "NIST.800.53.R5-SecretsManagerRotationEnabled"):
            acknowledge(self.secret, rule, "Docker Hub issues the access token; AWS cannot rotate it. Operators replace it (README).")
        acknowledge(
            self.secret,
            "NIST.800.53.R5-SecretsManagerUsingKMSKey",
            "ECR's pull-through cache reads the secret with its service-linked role, which the AWS managed key allows "
            "without a key policy of ours; a Docker Hub read token guards public images only.",
        )


def docker_hub_image(image: str, *, prefix: str, account: str, region: str) -> str:
    """Where a Docker Hub image is pulled from through the cache rule with `prefix`, e.g.
    docker.io/grafana/grafana-oss:11.6.3 -> <account>.dkr.ecr.<region>.amazonaws.com/<prefix>/grafana/grafana-oss:11.6.3
    (an official image, docker.io/postgres:17, is library/postgres upstream). Any other image as it is."""
    if not image.startswith(f"{DOCKER_HUB}/"):
        return image
    path = image.removeprefix(f"{DOCKER_HUB}/")
    if "/" not in path.split(":", 1)[0].split("@", 1)[0]:
        path = f"library/{path}"
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{prefix}/{path}"


def cached_image(image: str, *, prefix: str, account: str, region: str) -> str:
    """Where a public image is pulled from through the cache rule with `prefix`, e.g.
    public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3 ->
    <account>.dkr.ecr.<region>.amazonaws.com/<prefix>/aws-observability/aws-otel-collector:v0.43.3.
    An image of another registry is returned as it is."""
    if not image.startswith(f"{ECR_PUBLIC}/"):
        return image
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{prefix}/{image.removeprefix(ECR_PUBLIC + '/')}"


def cached_pull(*, prefix: str, account: str, region: str) -> iam.PolicyStatement:
    """What a task's execution role needs to pull through the cache: the pull itself, and, for
    an image not cached yet, the import from upstream into a repository ECR creates then
    (ECR user guide, "IAM permissions required to sync an upstream registry")."""
    return iam.PolicyStatement(
        actions=[
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchImportUpstreamImage",
            "ecr:CreateRepository",
        ],
        resources=[f"arn:aws:ecr:{region}:{account}:repository/{prefix}/*"],
    )


def allow_cached_pull(task_definition: ecs.TaskDefinition, *, prefix: str) -> None:
    """Lets the task definition's execution role pull through the cache rule with `prefix`
    (`cached_pull`), and log in to the account's registry first: without
    `ecr:GetAuthorizationToken` the task stops with CannotPullContainerError (ECS developer guide,
    "Task execution IAM role"); with the reasons a reviewer reads for the wildcards."""
    stack = Stack.of(task_definition)
    pull = cached_pull(prefix=prefix, account=stack.account, region=stack.region)
    task_definition.add_to_execution_role_policy(pull)
    task_definition.add_to_execution_role_policy(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))
    policy = task_definition.obtain_execution_role().node.find_child("DefaultPolicy")
    acknowledge(
        policy,
        f"AwsSolutions-IAM5[Resource::{pull.resources[0]}]",
        "ECR creates one cached repository per upstream image path on its first pull, under the cache rule's "
        "prefix; the statement covers that prefix only, and the pull and import actions only.",
    )
    acknowledge(
        policy,
        "AwsSolutions-IAM5[Resource::*]",
        "ecr:GetAuthorizationToken has no resource-level permissions (AWS documents Resource '*'); "
        "the pulls themselves are held to the cache rule's prefix.",
    )


class RegistryReplication(Construct):
    """The registry's replication rule: repositories under a prefix are copied to one region.

    The replication configuration is a singleton of the account's registry in this region;
    two stacks that both declare one overwrite each other.
    """

    def __init__(self, scope: Construct, construct_id: str, *, destination_region: str, repository_prefix: str) -> None:
        """
        :param destination_region: the region that receives the replicas (the DR region).
        :param repository_prefix: repositories whose names start with this are replicated.
        """
        super().__init__(scope, construct_id)
        ecr.CfnReplicationConfiguration(
            self,
            "Configuration",
            replication_configuration=ecr.CfnReplicationConfiguration.ReplicationConfigurationProperty(
                rules=[
                    ecr.CfnReplicationConfiguration.ReplicationRuleProperty(
                        destinations=[
                            ecr.CfnReplicationConfiguration.ReplicationDestinationProperty(
                                region=destination_region, registry_id=Stack.of(self).account
                            )
                        ],
                        repository_filters=[
                            ecr.CfnReplicationConfiguration.RepositoryFilterProperty(filter=repository_prefix, filter_type="PREFIX_MATCH")
                        ],
                    )
                ]
            ),
        )


class ReplicaRepositoryTemplate(Construct):
    """The settings ECR gives the repositories it creates by replication in this region.

    Replicas are created by ECR, not by CloudFormation, so without a creation template they
    would be mutable and unscanned, and would keep every image. The template's prefix is
    `ROOT` because a prefix only matches names below it (`contractorlens/...`), never
    `contractorlens` itself.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tagged_images_to_keep: int,
        untagged_image_expiry_days: int,
        kept_tag_prefix: str,
    ) -> None:
        """
        :param tagged_images_to_keep: as for `ContainerRepository`.
        :param untagged_image_expiry_days: as for `ContainerRepository`.
        :param kept_tag_prefix: as for `ContainerRepository`.
        """
        super().__init__(scope, construct_id)
        ecr.CfnRepositoryCreationTemplate(
            self,
            "Template",
            prefix="ROOT",
            applied_for=["REPLICATION"],
            description="ContractorLens DR replicas: immutable tags, KMS encryption, same lifecycle as the source",
            image_tag_mutability="IMMUTABLE",
            encryption_configuration=ecr.CfnRepositoryCreationTemplate.EncryptionConfigurationProperty(encryption_type="KMS"),
            lifecycle_policy=lifecycle_policy(
                tagged_images_to_keep=tagged_images_to_keep,
                untagged_image_expiry_days=untagged_image_expiry_days,
                kept_tag_prefix=kept_tag_prefix,
            ),
        )
