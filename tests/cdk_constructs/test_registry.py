"""cdk_constructs/registry.py: the release repository, its lifecycle and its DR replicas."""

from __future__ import annotations

import json

from cdk_constructs.registry import ContainerRepository, RegistryReplication, ReplicaRepositoryTemplate, lifecycle_policy
from tests.cdk_constructs.conftest import built, one


def test_the_repository_is_scanned_immutable_encrypted_and_kept() -> None:
    _, template = built(
        lambda stack: ContainerRepository(stack, "Images", repository_name="app", tagged_images_to_keep=30, untagged_image_expiry_days=7)
    )
    repository = one(template, "AWS::ECR::Repository")
    props = repository["Properties"]
    assert props["RepositoryName"] == "app" and props["ImageTagMutability"] == "IMMUTABLE"
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["EncryptionConfiguration"] == {"EncryptionType": "KMS"}
    assert repository["DeletionPolicy"] == "RetainExceptOnCreate"


def test_the_lifecycle_expires_untagged_images_and_keeps_the_newest_tagged_ones() -> None:
    rules = json.loads(lifecycle_policy(tagged_images_to_keep=30, untagged_image_expiry_days=7))["rules"]
    assert [(r["selection"]["tagStatus"], r["selection"]["countType"], r["selection"]["countNumber"]) for r in rules] == [
        ("untagged", "sinceImagePushed", 7),
        ("tagged", "imageCountMoreThan", 30),
    ]


def test_replication_copies_the_repositorys_images_to_the_dr_region() -> None:
    _, template = built(lambda stack: RegistryReplication(stack, "Replication", destination_region="us-east-1", repository_prefix="app"))
    (rule,) = one(template, "AWS::ECR::ReplicationConfiguration")["Properties"]["ReplicationConfiguration"]["Rules"]
    assert rule["Destinations"] == [{"Region": "us-east-1", "RegistryId": "123456789012"}]
    assert rule["RepositoryFilters"] == [{"Filter": "app", "FilterType": "PREFIX_MATCH"}]


def test_replicas_get_the_sources_settings_from_a_creation_template() -> None:
    _, template = built(
        lambda stack: ReplicaRepositoryTemplate(stack, "Replicas", tagged_images_to_keep=30, untagged_image_expiry_days=7),
        region="us-east-1",
    )
    props = one(template, "AWS::ECR::RepositoryCreationTemplate")["Properties"]
    assert (props["Prefix"], props["AppliedFor"], props["ImageTagMutability"]) == ("ROOT", ["REPLICATION"], "IMMUTABLE")
    assert props["LifecyclePolicy"] == lifecycle_policy(tagged_images_to_keep=30, untagged_image_expiry_days=7)
