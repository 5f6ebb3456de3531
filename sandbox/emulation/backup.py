"""AWS Backup: vaults (with Vault Lock) and plans made through moto's Backup API, restore testing
plans kept here, and the read calls the runbook's `backups` makes. No backup or restore job ever
runs in the emulator, so no recovery point and no restore job ever appears (said in the report)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sandbox.emulation.common import client

EXTENSIONS = {
    "AWS::Backup::BackupVault": "creates the vault through the Backup API, then its Vault Lock (compliance mode); an update that changes the lock puts it again, one that drops it deletes it, and moto refuses either once ChangeableForDays have passed, as AWS does ('After the grace time is expired, the vault and its lock are immutable', AWS re:Post knowledge center, backup-delete-vault-lock; API reference, DeleteBackupVaultLockConfiguration: InvalidRequestException once immutable); a taken name fails AlreadyExists, as AWS",
    "AWS::Backup::BackupPlan": "creates the plan through the Backup API; an update deletes and creates it again under a new id (moto has no UpdateBackupPlan; AWS updates it in place, keeping its id, which only the selections, not modelled, refer to); no backup job ever runs, so no recovery point appears",
    "AWS::Backup::RestoreTestingPlan": "kept by the emulator and answered by GetRestoreTestingPlan; no restore test ever runs",
    "ListRecoveryPointsByBackupVault, ListRestoreJobs": "answer with none: no backup or restore job runs here (moto has neither call)",
    "deleted backup plans": "a deleted plan is gone and its name can be used again, as after a failed first create or a destroy (API reference, CreateBackupPlan: AlreadyExistsException for 'a plan that already exists'; moto kept deleted plans and refused their names); two live plans of one name are still refused, as moto does",
    "vault access policies": "not kept nor evaluated (the deny-delete statement is checked in the templates only); DeleteBackupVaultAccessPolicy answers for a vault that exists",
}

# Restore testing plans by (account, region, name): what GetRestoreTestingPlan answers.
RESTORE_TESTING_PLANS: dict[tuple[str, str, str], dict[str, Any]] = {}


def define_models() -> None:
    from moto.core.common_models import CloudFormationModel

    from sandbox.emulation.resources import MODELS, _ApiModel

    class BackupVault(_ApiModel, CloudFormationModel):
        NAME_PROPERTY = "BackupVaultName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Backup::BackupVault"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("BackupVaultName", "BackupVaultArn")

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            backup = client("backup", self.region)
            described = backup.describe_backup_vault(BackupVaultName=self.physical_id)
            return described[attribute_name]

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            backup = client("backup", region)
            name = props["BackupVaultName"]
            kwargs = {"BackupVaultName": name, "BackupVaultTags": props.get("BackupVaultTags") or {}}
            if props.get("EncryptionKeyArn"):
                kwargs["EncryptionKeyArn"] = props["EncryptionKeyArn"]
            backup.create_backup_vault(**kwargs)
            lock = props.get("LockConfiguration")
            if lock:
                backup.put_backup_vault_lock_configuration(BackupVaultName=name, **{k: int(v) for k, v in lock.items()})
            return str(name)

        @classmethod
        def update(cls, physical_id: str, props: dict[str, Any], region: str) -> str:
            backup = client("backup", region)
            lock = props.get("LockConfiguration")
            if lock:
                backup.put_backup_vault_lock_configuration(BackupVaultName=physical_id, **{k: int(v) for k, v in lock.items()})
            elif backup.describe_backup_vault(BackupVaultName=physical_id).get("Locked"):
                # The template no longer locks it: the lock goes, or the update fails once immutable.
                backup.delete_backup_vault_lock_configuration(BackupVaultName=physical_id)
            return physical_id

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            client("backup", region).delete_backup_vault(BackupVaultName=physical_id)

    class BackupPlan(_ApiModel, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Backup::BackupPlan"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr in ("BackupPlanId", "BackupPlanArn", "VersionId")

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            plan = client("backup", self.region).get_backup_plan(BackupPlanId=self.physical_id)
            return {"BackupPlanId": plan["BackupPlanId"], "BackupPlanArn": plan["BackupPlanArn"], "VersionId": plan["VersionId"]}[
                attribute_name
            ]

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            plan = dict(props["BackupPlan"])
            plan["Rules"] = [_rule(rule) for rule in plan.pop("BackupPlanRule")]
            answer = client("backup", region).create_backup_plan(BackupPlan=plan, BackupPlanTags=props.get("BackupPlanTags") or {})
            return str(answer["BackupPlanId"])

        @classmethod
        def update(cls, physical_id: str, props: dict[str, Any], region: str) -> str:
            # moto has no UpdateBackupPlan: the plan is made again (its id changes, as nothing here
            # keeps one).
            cls.remove(physical_id, region)
            return cls.create(props, region)

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            client("backup", region).delete_backup_plan(BackupPlanId=physical_id)

    class RestoreTestingPlan(_ApiModel, CloudFormationModel):
        NAME_PROPERTY = "RestoreTestingPlanName"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Backup::RestoreTestingPlan"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "RestoreTestingPlanArn"

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            return _plan(self.region, self.physical_id)["RestoreTestingPlanArn"]

        @classmethod
        def create(cls, props: dict[str, Any], region: str) -> str:
            from moto.core import DEFAULT_ACCOUNT_ID

            name = props["RestoreTestingPlanName"]
            RESTORE_TESTING_PLANS[(DEFAULT_ACCOUNT_ID, region, name)] = {
                "RestoreTestingPlanName": name,
                "RestoreTestingPlanArn": f"arn:aws:backup:{region}:{DEFAULT_ACCOUNT_ID}:restore-testing-plan:{name}-{uuid.uuid4()}",
                "ScheduleExpression": props["ScheduleExpression"],
                "StartWindowHours": int(props.get("StartWindowHours", 24)),
                "RecoveryPointSelection": props["RecoveryPointSelection"],
            }
            return str(name)

        @classmethod
        def update(cls, physical_id: str, props: dict[str, Any], region: str) -> str:
            arn = _plan(region, physical_id)["RestoreTestingPlanArn"]
            cls.create(props, region)
            _plan(region, physical_id)["RestoreTestingPlanArn"] = arn
            return physical_id

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            from moto.core import DEFAULT_ACCOUNT_ID

            RESTORE_TESTING_PLANS.pop((DEFAULT_ACCOUNT_ID, region, physical_id), None)

    MODELS.extend((BackupVault, BackupPlan, RestoreTestingPlan))


def _rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A plan rule as the API spells it (CloudFormation: TargetBackupVault; the API: TargetBackupVaultName)."""
    api = {k: v for k, v in rule.items() if k != "TargetBackupVault"}
    api["TargetBackupVaultName"] = rule["TargetBackupVault"]
    return api


def _plan(region: str, name: str) -> dict[str, Any]:
    from moto.core import DEFAULT_ACCOUNT_ID

    return RESTORE_TESTING_PLANS[(DEFAULT_ACCOUNT_ID, region, name)]


def install_plan_names() -> None:
    """A new plan may take a deleted plan's name (moto compares with every plan it ever had)."""
    from moto.backup.models import BackupBackend

    create = BackupBackend.create_backup_plan

    def create_backup_plan(self: Any, backup_plan: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        deleted = {k: v for k, v in self.plans.items() if v.deletion_date is not None}
        for plan_id in deleted:
            del self.plans[plan_id]
        try:
            return create(self, backup_plan, *args, **kwargs)
        finally:
            self.plans.update(deleted)

    BackupBackend.create_backup_plan = create_backup_plan  # type: ignore[method-assign]


def install_reads() -> None:
    """The read calls moto's Backup API lacks, on its routes."""
    from moto.backup import urls
    from moto.backup.exceptions import ResourceNotFoundException
    from moto.backup.responses import BackupResponse

    def list_recovery_points_by_backup_vault(self: Any) -> str:
        name = self.uri.split("/backup-vaults/", 1)[1].split("/", 1)[0]
        self.backup_backend.describe_backup_vault(name)  # ResourceNotFound for an unknown vault, as AWS
        return json.dumps({"RecoveryPoints": []})

    def get_restore_testing_plan(self: Any) -> str:
        name = self.uri.rstrip("/").rsplit("/", 1)[1]
        plan = RESTORE_TESTING_PLANS.get((self.current_account, self.region, name))
        if plan is None:
            raise ResourceNotFoundException(msg=f"Restore testing plan {name} not found")
        return json.dumps({"RestoreTestingPlan": {**plan, "CreationTime": 0}})

    def list_restore_jobs(self: Any) -> str:
        return json.dumps({"RestoreJobs": []})

    def delete_backup_vault_access_policy(self: Any) -> str:
        name = self.uri.split("/backup-vaults/", 1)[1].split("/", 1)[0]
        self.backup_backend.describe_backup_vault(name)
        return "{}"

    BackupResponse.list_recovery_points_by_backup_vault = list_recovery_points_by_backup_vault  # type: ignore[attr-defined]
    BackupResponse.get_restore_testing_plan = get_restore_testing_plan  # type: ignore[attr-defined]
    BackupResponse.list_restore_jobs = list_restore_jobs  # type: ignore[attr-defined]
    BackupResponse.delete_backup_vault_access_policy = delete_backup_vault_access_policy  # type: ignore[attr-defined]
    dispatch = BackupResponse.dispatch
    urls.url_paths.update(
        {
            # As botocore writes the paths (the werkzeug routes take no optional slash).
            "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$": dispatch,
            "{0}/restore-testing/plans/(?P<name>[^/]+)$": dispatch,
            "{0}/restore-jobs/$": dispatch,
            "{0}/backup-vaults/(?P<name>[^/]+)/access-policy$": dispatch,
        }
    )
