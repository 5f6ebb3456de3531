"""cdk_constructs/registry.py: the release repository, its lifecycle and its DR replicas."""

from __future__ import annotations

import json

import pytest

from cdk_constructs.registry import (
    ContainerRepository,
    PublicImageCache,
    RegistryReplication,
    ReplicaRepositoryTemplate,
    cached_image,
    lifecycle_policy,
)
from tests.cdk_constructs.conftest import built, of_type, one


def test_the_repository_is_scanned_immutable_encrypted_and_kept() -> None:
    _, template = built(
        lambda stack: ContainerRepository(
            stack, "Images", repository_name="app", tagged_images_to_keep=30, untagged_image_expiry_days=7, kept_tag_prefix="deployed-"
        )
    )
    repository = one(template, "AWS::ECR::Repository")
    props = repository["Properties"]
    assert props["RepositoryName"] == "app" and props["ImageTagMutability"] == "IMMUTABLE"
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["EncryptionConfiguration"] == {"EncryptionType": "KMS"}
    assert repository["DeletionPolicy"] == "RetainExceptOnCreate"


def test_the_lifecycle_expires_untagged_images_and_keeps_the_newest_tagged_ones() -> None:
    rules = json.loads(lifecycle_policy(tagged_images_to_keep=30, untagged_image_expiry_days=7, kept_tag_prefix="deployed-"))["rules"]
    rules = sorted(rules, key=lambda r: r["rulePriority"])
    assert [(r["selection"]["tagStatus"], r["selection"]["countType"], r["selection"]["countNumber"]) for r in rules] == [
        ("tagged", "imageCountMoreThan", 9999),
        ("untagged", "sinceImagePushed", 7),
        ("tagged", "imageCountMoreThan", 30),
    ]
    assert rules[0]["selection"]["tagPrefixList"] == ["deployed-"]


def _expired(policy: str, images: list[list[str]]) -> set[int]:
    """Which images (by push order, oldest first; each a list of tags) ECR's count rules expire, as
    the ECR user guide's lifecycle evaluation rules put it: rules by priority; an image that matches
    a higher-priority rule's tag selection cannot be expired by a lower one; a count rule keeps the
    newest `countNumber` of the images it selects."""
    claimed: set[int] = set()
    expired: set[int] = set()
    for rule in sorted(json.loads(policy)["rules"], key=lambda r: r["rulePriority"]):
        selection = rule["selection"]
        if selection["countType"] != "imageCountMoreThan":
            continue  # age-based: untagged images only here
        prefixes = selection.get("tagPrefixList")
        matched = [
            i for i, tags in enumerate(images) if tags and (prefixes is None or any(t.startswith(p) for p in prefixes for t in tags))
        ]
        eligible = [i for i in matched if i not in claimed]
        expired |= set(sorted(eligible)[: max(0, len(eligible) - selection["countNumber"])])
        claimed |= set(matched)
    return expired


def test_the_release_a_service_runs_never_expires_however_many_are_pushed_after_it() -> None:
    policy = lifecycle_policy(tagged_images_to_keep=30, untagged_image_expiry_days=7, kept_tag_prefix="deployed-")
    # 1.0.0 was deployed (the runbook added deployed-1.0.0), then 40 builds were pushed and never deployed.
    images = [["1.0.0", "deployed-1.0.0"], *([f"1.0.{n}"] for n in range(1, 41))]
    expired = _expired(policy, images)
    assert 0 not in expired
    assert expired == set(range(1, 11))  # the oldest ten builds beyond the 30 newest go


def test_replication_copies_the_repositorys_images_to_the_dr_region() -> None:
    _, template = built(lambda stack: RegistryReplication(stack, "Replication", destination_region="us-east-1", repository_prefix="app"))
    (rule,) = one(template, "AWS::ECR::ReplicationConfiguration")["Properties"]["ReplicationConfiguration"]["Rules"]
    assert rule["Destinations"] == [{"Region": "us-east-1", "RegistryId": "123456789012"}]
    assert rule["RepositoryFilters"] == [{"Filter": "app", "FilterType": "PREFIX_MATCH"}]


def test_replicas_get_the_sources_settings_from_a_creation_template() -> None:
    _, template = built(
        lambda stack: ReplicaRepositoryTemplate(
            stack, "Replicas", tagged_images_to_keep=30, untagged_image_expiry_days=7, kept_tag_prefix="deployed-"
        ),
        region="us-east-1",
    )
    props = one(template, "AWS::ECR::RepositoryCreationTemplate")["Properties"]
    assert (props["Prefix"], props["AppliedFor"], props["ImageTagMutability"]) == ("ROOT", ["REPLICATION"], "IMMUTABLE")
    assert props["LifecyclePolicy"] == lifecycle_policy(tagged_images_to_keep=30, untagged_image_expiry_days=7, kept_tag_prefix="deployed-")


def test_public_images_are_cached_through_the_accounts_registry() -> None:
    _, template = built(lambda stack: PublicImageCache(stack, "Cache", prefix="app-public"))
    rule = one(template, "AWS::ECR::PullThroughCacheRule")["Properties"]
    assert rule == {"EcrRepositoryPrefix": "app-public", "UpstreamRegistryUrl": "public.ecr.aws"}


def test_a_prefix_ecr_would_refuse_is_refused_at_synth() -> None:
    with pytest.raises(ValueError, match="2 to 30 characters"):
        built(lambda stack: PublicImageCache(stack, "Cache", prefix="a-prefix-far-longer-than-ecr-allows"))


def test_only_ecr_publics_images_map_to_the_cache() -> None:
    public = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"
    assert cached_image(public, prefix="app-public", account="123456789012", region="us-west-2") == (
        "123456789012.dkr.ecr.us-west-2.amazonaws.com/app-public/aws-observability/aws-otel-collector:v0.43.3"
    )
    docker_hub = "docker.io/grafana/grafana-oss:11.6.3"
    assert cached_image(docker_hub, prefix="app-public", account="123456789012", region="us-west-2") == docker_hub


def test_allow_cached_pull_lets_the_execution_role_pull_under_the_prefix_only() -> None:
    from aws_cdk import aws_ecs as ecs

    from cdk_constructs.registry import allow_cached_pull

    def build(stack):  # type: ignore[no-untyped-def]
        task = ecs.FargateTaskDefinition(stack, "Task")
        task.add_container("C", image=ecs.ContainerImage.from_registry("public.ecr.aws/x/y:1"), memory_limit_mib=512)
        allow_cached_pull(task, prefix="app-public")
        return task

    _, template = built(build)
    statement, login = one(template, "AWS::IAM::Policy")["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == "arn:aws:ecr:us-west-2:123456789012:repository/app-public/*"
    assert "ecr:BatchImportUpstreamImage" in statement["Action"] and "ecr:CreateRepository" in statement["Action"]
    assert not [a for a in statement["Action"] if a.startswith(("ecr:Put", "ecr:Delete"))]
    # Fargate logs in to the account's registry before any pull (ECS developer guide, "Task execution IAM role").
    assert login == {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"}


def test_docker_hub_images_map_to_the_cache_prefix_and_official_ones_to_library() -> None:
    from cdk_constructs.registry import docker_hub_image

    where = {"prefix": "app-docker", "account": "123456789012", "region": "us-west-2"}
    assert docker_hub_image("docker.io/grafana/grafana-oss:11.6.3", **where) == (
        "123456789012.dkr.ecr.us-west-2.amazonaws.com/app-docker/grafana/grafana-oss:11.6.3"
    )
    assert docker_hub_image("docker.io/postgres:17", **where).endswith("/app-docker/library/postgres:17")
    assert docker_hub_image("public.ecr.aws/x/y:1", **where) == "public.ecr.aws/x/y:1"


def test_the_docker_hub_cache_pulls_with_credentials_an_operator_sets() -> None:
    from cdk_constructs.registry import DockerHubCache

    _, template = built(
        lambda stack: DockerHubCache(
            stack, "Hub", prefix="app-docker", secret_name="ecr-pullthroughcache/app-hub", placeholder_user="set-me"
        )
    )
    rule = one(template, "AWS::ECR::PullThroughCacheRule")["Properties"]
    assert rule["UpstreamRegistryUrl"] == "registry-1.docker.io" and rule["UpstreamRegistry"] == "docker-hub"
    secret = one(template, "AWS::SecretsManager::Secret")
    assert rule["CredentialArn"] == {"Ref": next(iter(of_type(template, "AWS::SecretsManager::Secret")))}
    assert secret["Properties"]["Name"] == "ecr-pullthroughcache/app-hub"
    generated = secret["Properties"]["GenerateSecretString"]
    assert json.loads(generated["SecretStringTemplate"]) == {"username": "set-me"} and generated["GenerateStringKey"] == "accessToken"
    assert secret["DeletionPolicy"] == "RetainExceptOnCreate"


def test_the_docker_hub_cache_refuses_a_secret_ecr_would_not_read() -> None:
    from cdk_constructs.registry import DockerHubCache

    with pytest.raises(ValueError, match="ecr-pullthroughcache/"):
        built(lambda stack: DockerHubCache(stack, "Hub", prefix="app-docker", secret_name="app-hub", placeholder_user="set-me"))
