"""What the environment's AWS Backup pieces share, from config: the lock and the copies."""

from __future__ import annotations

from cdk_constructs.backup import Copy, VaultLock, vault_arn
from config import EnvironmentConfig


def vault_lock(cfg: EnvironmentConfig) -> VaultLock | None:
    """The lock every vault of the environment gets, or None (`backup.vault_lock = false`)."""
    backup = cfg.backup
    if not backup.vault_lock:
        return None
    return VaultLock(
        min_retention_days=backup.lock_min_retention_days,
        max_retention_days=backup.lock_max_retention_days,
        changeable_for_days=backup.lock_changeable_for_days,
    )


def backup_copies(cfg: EnvironmentConfig) -> list[Copy]:
    """Where each daily recovery point is copied: the DR region's vault (made by the DRFoundation
    stack, deployed first) and the backup account's, when config names one."""
    copies = []
    if cfg.needs_dr_foundation:
        dr_vault = vault_arn(region=cfg.dr_region, account=cfg.account, name=cfg.names.dr_backup_vault)
        copies.append(Copy(vault_arn=dr_vault, retention_days=cfg.backup.daily_retention_days))
    if cfg.backup.backup_account_vault_arn:
        copies.append(Copy(vault_arn=cfg.backup.backup_account_vault_arn, retention_days=cfg.backup.daily_retention_days))
    return copies
