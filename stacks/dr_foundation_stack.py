from __future__ import annotations

from constructs import Construct

from cdk_constructs.backup import backup_vault
from cdk_constructs.keys import customer_key
from cdk_constructs.registry import ReplicaRepositoryTemplate
from config import EnvironmentConfig
from config.names import KEPT_IMAGE_TAG_PREFIX
from stacks.backups import vault_lock
from stacks.base import EnvironmentStack, pin_logical_id


class DrFoundationStack(EnvironmentStack):
    """What must exist in the DR region before the primary region replicates into it.

    The key that encrypts replicated backups (and, in a failover, the restored database)
    and the settings of replicated repositories. Nothing here references the primary
    region and nothing in the primary region imports from here: the Data stack finds the
    key by its alias.
    """

    def __init__(self, scope: Construct, *, cfg: EnvironmentConfig) -> None:
        super().__init__(scope, cfg=cfg, part="DRFoundation", region=cfg.dr_region, description="DR-region key and replica settings")
        self.key = customer_key(
            self,
            "DrDataKey",
            alias=cfg.names.dr_key_alias,
            description=f"Encrypts {cfg.names.db_instance} backups replicated to {cfg.dr_region} and DR restores",
        )
        pin_logical_id(self.key, "DrDataKey")
        if cfg.backup.enabled:
            # Where the primary's plans copy every daily recovery point; the copy re-encrypts with
            # this region's key.
            vault = backup_vault(self, "BackupVault", name=cfg.names.dr_backup_vault, key=self.key, lock=vault_lock(cfg))
            pin_logical_id(vault, "DrBackupVault")
        if cfg.registry.replicate_to_dr:
            ReplicaRepositoryTemplate(
                self,
                "ReplicaRepositories",
                tagged_images_to_keep=cfg.registry.tagged_images_to_keep,
                untagged_image_expiry_days=cfg.registry.untagged_image_expiry_days,
                kept_tag_prefix=KEPT_IMAGE_TAG_PREFIX,
            )
