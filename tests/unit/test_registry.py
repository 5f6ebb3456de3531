"""Registry stack: the ECR repository, its lifecycle, and replication to the DR region."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.synth import Synthesis


@pytest.fixture(scope="module")
def repository(production: Synthesis) -> dict[str, Any]:
    return production.template("Registry")["Resources"]["Repository"]


def test_repository_name_and_image_hygiene(repository: dict[str, Any]) -> None:
    props = repository["Properties"]
    assert props["RepositoryName"] == "contractorlens"
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["ImageTagMutability"] == "IMMUTABLE"
    assert props["EncryptionConfiguration"] == {"EncryptionType": "KMS"}


def test_repository_outlives_its_stack(repository: dict[str, Any]) -> None:
    assert repository["DeletionPolicy"] == "RetainExceptOnCreate"
    assert repository["UpdateReplacePolicy"] == "Retain"
    assert "EmptyOnDelete" not in repository["Properties"] or repository["Properties"]["EmptyOnDelete"] is False


def test_lifecycle_expires_untagged_and_keeps_the_last_tagged(repository: dict[str, Any]) -> None:
    rules = json.loads(repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    kept, untagged, tagged = sorted(rules, key=lambda r: r["rulePriority"])
    # First: the releases the runbook deployed (tagged deployed-<tag>), never reaching the count.
    assert kept["selection"]["tagPrefixList"] == ["deployed-"] and kept["selection"]["countNumber"] >= 9999
    assert untagged["selection"]["tagStatus"] == "untagged"
    assert untagged["selection"]["countType"] == "sinceImagePushed"
    assert untagged["selection"]["countNumber"] == 7
    assert tagged["selection"]["tagStatus"] == "tagged"
    assert tagged["selection"]["countType"] == "imageCountMoreThan"
    assert tagged["selection"]["countNumber"] == 30


def test_production_replicates_images_to_the_dr_region(production: Synthesis) -> None:
    (replication,) = production.resources("Registry", "AWS::ECR::ReplicationConfiguration").values()
    (rule,) = replication["Properties"]["ReplicationConfiguration"]["Rules"]
    assert rule["Destinations"] == [{"Region": "us-east-1", "RegistryId": "123456789012"}]
    assert rule["RepositoryFilters"] == [{"Filter": "contractorlens", "FilterType": "PREFIX_MATCH"}]


def test_replicas_get_the_same_settings_from_a_creation_template(production: Synthesis, repository: dict[str, Any]) -> None:
    (template,) = production.resources("DRFoundation", "AWS::ECR::RepositoryCreationTemplate").values()
    props = template["Properties"]
    assert props["AppliedFor"] == ["REPLICATION"]
    assert props["ImageTagMutability"] == "IMMUTABLE"
    assert props["EncryptionConfiguration"] == {"EncryptionType": "KMS"}
    assert props["LifecyclePolicy"] == repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"]
    manifest = production.manifest["artifacts"][production.cfg.names.stack("DRFoundation")]
    assert manifest["environment"] == "aws://123456789012/us-east-1"


def test_replication_deploys_after_its_dr_foundation(production: Synthesis) -> None:
    names = production.cfg.names
    registry = production.manifest["artifacts"][names.stack("Registry")]
    assert names.stack("DRFoundation") in registry["dependencies"]


def test_staging_does_not_replicate(staging: Synthesis) -> None:
    assert not staging.resources("Registry", "AWS::ECR::ReplicationConfiguration")
    assert staging.template("Registry")["Resources"]["Repository"]["Properties"]["RepositoryName"] == ("contractorlens-staging")


def test_the_collector_is_pulled_through_the_accounts_cache_of_ecr_public(production: Synthesis, staging: Synthesis) -> None:
    prefixes = set()
    for synth in (production, staging):
        rules = synth.resources("Registry", "AWS::ECR::PullThroughCacheRule").values()
        (rule,) = [r for r in rules if r["Properties"]["UpstreamRegistryUrl"] == "public.ecr.aws"]
        prefixes.add(rule["Properties"]["EcrRepositoryPrefix"])
    # One rule per prefix per region in an account: the environments may share one.
    assert prefixes == {"contractorlens-public", "contractorlens-staging-public"}
    (task,) = production.resources("Service", "AWS::ECS::TaskDefinition").values()
    (collector,) = [c for c in task["Properties"]["ContainerDefinitions"] if c["Name"] == "metrics-collector"]
    assert json.dumps(collector["Image"]).startswith('"123456789012.dkr.ecr.us-west-2.')
    assert "/contractorlens-public/aws-observability/aws-otel-collector:v0.43.3" in json.dumps(collector["Image"])
    statements = [
        s for p in production.resources("Service", "AWS::IAM::Policy").values() for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    (pull,) = [s for s in statements if "ecr:BatchImportUpstreamImage" in s["Action"]]
    assert pull["Resource"] == "arn:aws:ecr:us-west-2:123456789012:repository/contractorlens-public/*"


def _every_image(synth: Synthesis) -> list[str]:
    return [
        json.dumps(container["Image"])
        for part in ("Data", "Service", "Monitoring", "DR")
        if synth.cfg.names.stack(part) in synth.templates
        for task in synth.resources(part, "AWS::ECS::TaskDefinition").values()
        for container in task["Properties"]["ContainerDefinitions"]
    ]


def test_every_image_comes_from_the_accounts_ecr(production: Synthesis, dr_active: Synthesis, staging: Synthesis) -> None:
    """Issue 16: never a mutable tag of a public registry; the DR region's from its replica repository."""
    for synth in (production, dr_active, staging):
        for image in _every_image(synth):
            assert ".dkr.ecr." in image or "@sha256:" in image, image


def test_grafana_is_pulled_from_docker_hub_through_the_cache_with_credentials(production: Synthesis, staging: Synthesis) -> None:
    (rule,) = [
        r for r in production.resources("Registry", "AWS::ECR::PullThroughCacheRule").values() if r["Properties"].get("CredentialArn")
    ]
    assert rule["Properties"]["EcrRepositoryPrefix"] == "contractorlens-docker"
    secret = production.template("Registry")["Resources"]["DockerHubCredentials"]
    assert secret["Properties"]["Name"] == "ecr-pullthroughcache/contractorlens-docker-hub"
    assert rule["Properties"]["CredentialArn"] == {"Ref": "DockerHubCredentials"}
    (grafana,) = [i for i in _every_image(production) if "grafana" in i]
    assert "/contractorlens-docker/grafana/grafana-oss:11.6.3" in grafana
    statements = [
        s for p in production.resources("Monitoring", "AWS::IAM::Policy").values() for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert [s["Resource"] for s in statements if "ecr:BatchImportUpstreamImage" in s["Action"]] == [
        "arn:aws:ecr:us-west-2:123456789012:repository/contractorlens-docker/*"
    ]
    # Staging runs no Grafana, so it has no Docker Hub cache nor credentials to set.
    assert not [r for r in staging.resources("Registry", "AWS::ECR::PullThroughCacheRule").values() if r["Properties"].get("CredentialArn")]
