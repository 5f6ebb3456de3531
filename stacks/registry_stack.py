from __future__ import annotations

from constructs import Construct

from cdk_constructs.registry import ContainerRepository, DockerHubCache, PublicImageCache, RegistryReplication
from config import EnvironmentConfig
from config.names import DOCKER_HUB_PLACEHOLDER_USER, KEPT_IMAGE_TAG_PREFIX
from stacks.base import EnvironmentStack, pin_logical_id


class RegistryStack(EnvironmentStack):
    """The backend's ECR repository and, when configured, its replication to the DR region."""

    def __init__(self, scope: Construct, *, cfg: EnvironmentConfig) -> None:
        super().__init__(scope, cfg=cfg, part="Registry", region=cfg.region, description="container registry")
        self.repository = ContainerRepository(
            self,
            "Images",
            repository_name=cfg.names.repository,
            tagged_images_to_keep=cfg.registry.tagged_images_to_keep,
            untagged_image_expiry_days=cfg.registry.untagged_image_expiry_days,
            kept_tag_prefix=KEPT_IMAGE_TAG_PREFIX,
        ).repository
        pin_logical_id(self.repository, "Repository")
        # The metrics collector's image comes from Amazon ECR Public through the account's ECR.
        PublicImageCache(self, "PublicImages", prefix=cfg.names.public_image_cache)
        if cfg.needs_docker_hub_cache:
            # Grafana's image is on Docker Hub only; pulled through the account's ECR, with credentials.
            cache = DockerHubCache(
                self,
                "DockerHubImages",
                prefix=cfg.names.docker_hub_cache,
                secret_name=cfg.names.docker_hub_secret,
                placeholder_user=DOCKER_HUB_PLACEHOLDER_USER,
            )
            pin_logical_id(cache.secret, "DockerHubCredentials")
        if cfg.registry.replicate_to_dr:
            RegistryReplication(self, "Replication", destination_region=cfg.dr_region, repository_prefix=cfg.names.repository)
