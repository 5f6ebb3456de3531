"""What a change does to each stack, grouped by the risk a reviewer looks for.

Compares two templates of a stack (the committed snapshot and a fresh synth, or two
snapshots) resource by resource. Which property changes make CloudFormation *replace* a
resource comes from the resource provider schemas that cfn-lint ships
(`createOnlyProperties`), not from a hand-written list.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

# Resources that hold data, keys to data, or everything built on them. Replacing or
# deleting one of these loses data or forces a rebuild: `make diff` fails on it.
STATEFUL_TYPES = frozenset(
    {
        "AWS::RDS::DBInstance",
        "AWS::KMS::Key",
        "AWS::ECR::Repository",
        "AWS::Logs::LogGroup",
        "AWS::S3::Bucket",
        "AWS::SecretsManager::Secret",
        "AWS::EFS::FileSystem",
        "AWS::APS::Workspace",
        "AWS::DynamoDB::Table",
        "AWS::EC2::VPC",
        "AWS::Backup::BackupVault",
    }
)
# Property names whose change weakens or strengthens how data is kept.
DATA_PROTECTION_PROPERTIES = frozenset(
    {
        "DeletionProtection",
        "BackupRetentionPeriod",
        "DeleteAutomatedBackups",
        "AutomaticBackupReplicationRegion",
        "AutomaticBackupReplicationKmsKeyId",
        "AutomaticBackupReplicationRetentionPeriod",
        "StorageEncrypted",
        "KmsKeyId",
        "Encrypted",
        "EncryptionConfiguration",
        "BucketEncryption",
        "EnableKeyRotation",
        "BackupPolicy",
        "RetentionInDays",
        "ImageTagMutability",
        "EmptyOnDelete",
        "LifecyclePolicy",
        "LifecycleConfiguration",
        "VersioningConfiguration",
        "MultiAZ",
        # AWS Backup: a plan's rules (retention, copies) and a vault's lock and access policy.
        "BackupPlan",
        "LockConfiguration",
        "AccessPolicy",
    }
)
SECURITY_TYPES = frozenset(
    {
        "AWS::IAM::Policy",
        "AWS::IAM::Role",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::User",
        "AWS::IAM::Group",
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::SecurityGroupEgress",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::SecretsManager::ResourcePolicy",
        "AWS::Lambda::Permission",
        "AWS::WAFv2::WebACL",
        "AWS::WAFv2::WebACLAssociation",
    }
)
SECURITY_PROPERTIES = frozenset(
    {
        "KeyPolicy",
        "PolicyDocument",
        "AssumeRolePolicyDocument",
        "ManagedPolicyArns",
        "PubliclyAccessible",
        "Scheme",
        "PublicAccessBlockConfiguration",
        "MapPublicIpOnLaunch",
        "NetworkConfiguration",
        "SslPolicy",
        "Certificates",
        "SecurityGroups",
        "VPCSecurityGroups",
        "EnableIAMDatabaseAuthentication",
    }
)
RETAINING_POLICIES = ("Retain", "RetainExceptOnCreate", "Snapshot")

GROUPS = ("replacement", "data protection", "security", "other")
TITLES = {
    "replacement": "REPLACEMENT: CloudFormation creates a new resource and deletes the old one",
    "data protection": "DATA PROTECTION: deletion, retention, backups, encryption",
    "security": "SECURITY: IAM, security groups, public exposure, TLS, WAF",
    "other": "OTHER CHANGES",
}


@dataclass
class Change:
    logical_id: str
    type: str
    action: str
    """"add", "remove", "modify" or "replace"."""
    paths: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    why: str = ""

    @property
    def stateful(self) -> bool:
        return self.type in STATEFUL_TYPES

    @property
    def blocking(self) -> bool:
        """A stateful resource that would be replaced or deleted."""
        return self.stateful and self.action in ("replace", "remove")

    def line(self) -> str:
        mark = {"add": "+", "remove": "-", "modify": "~", "replace": "!"}[self.action]
        if self.blocking:
            mark = "!!"
        detail = ", ".join(self.paths[:6]) + (f" (+{len(self.paths) - 6} more)" if len(self.paths) > 6 else "")
        why = f" [{self.why}]" if self.why else ""
        return f"{mark} {self.logical_id} ({self.type}){': ' + detail if detail else ''}{why}"


@cache
def create_only(resource_type: str, region: str) -> tuple[tuple[str, ...], ...]:
    """The property paths whose change replaces a resource of this type (provider schema)."""
    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except Exception:  # noqa: BLE001 - an unknown type (custom resource) has no schema
        return ()
    return tuple(
        tuple(part for part in pointer.split("/")[2:] if part != "*")
        for pointer in schema.get("createOnlyProperties", [])
        if pointer.startswith("/properties/")
    )


def _changed_paths(old: Any, new: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                yield from _changed_paths(old.get(key), new.get(key), (*prefix, key))
    elif old != new:
        yield prefix


def _replaces(paths: list[tuple[str, ...]], create_only_paths: tuple[tuple[str, ...], ...]) -> list[str]:
    hits = set()
    for path in paths:
        keys = tuple(p for p in path if not p.isdigit())
        hits.update(".".join(pointer) for pointer in create_only_paths if keys[: len(pointer)] == pointer)
    return sorted(hits)


def _groups_of(resource_type: str, paths: list[tuple[str, ...]], policy_changes: list[str]) -> list[str]:
    groups = []
    # Any level counts: a key id deep in a configuration block is still an encryption change.
    names = {part for p in paths if len(p) > 1 and p[0] == "Properties" for part in p[1:]}
    if policy_changes or names & DATA_PROTECTION_PROPERTIES:
        groups.append("data protection")
    if resource_type in SECURITY_TYPES or names & SECURITY_PROPERTIES:
        groups.append("security")
    return groups or ["other"]


def diff_stack(old: dict[str, Any], new: dict[str, Any], *, region: str) -> list[Change]:
    """Every resource that differs between two templates of one stack."""
    old_resources, new_resources = old.get("Resources", {}), new.get("Resources", {})
    changes: list[Change] = []
    for logical_id in sorted(set(old_resources) | set(new_resources)):
        before, after = old_resources.get(logical_id), new_resources.get(logical_id)
        if before == after:
            continue
        if before is None:
            changes.append(Change(logical_id, after["Type"], "add", groups=_groups_of(after["Type"], [], [])))
            continue
        if after is None:
            kept = before.get("DeletionPolicy") in RETAINING_POLICIES
            why = f"DeletionPolicy {before['DeletionPolicy']}: kept, but no longer managed" if kept else "deleted"
            groups = ["data protection"] if before["Type"] in STATEFUL_TYPES else _groups_of(before["Type"], [], [])
            changes.append(Change(logical_id, before["Type"], "remove", groups=groups, why=why))
            continue
        if before["Type"] != after["Type"]:
            changes.append(Change(logical_id, after["Type"], "replace", [f"Type {before['Type']}"], ["replacement"], "type changed"))
            continue
        before_body = {k: v for k, v in before.items() if k != "Metadata"}
        after_body = {k: v for k, v in after.items() if k != "Metadata"}
        paths = list(_changed_paths(before_body, after_body))
        if not paths:
            continue
        policy_changes = [
            f"{key} {before.get(key)} -> {after.get(key)}"
            for key in ("DeletionPolicy", "UpdateReplacePolicy")
            if before.get(key) != after.get(key)
        ]
        replaced_by = _replaces([p[1:] for p in paths if p[0] == "Properties"], create_only(after["Type"], region))
        groups = _groups_of(after["Type"], paths, policy_changes)
        shown = [".".join(p[1:] if p[0] == "Properties" else p) for p in paths]
        if replaced_by:
            changes.append(
                Change(logical_id, after["Type"], "replace", shown, ["replacement", *groups], f"replaced: {', '.join(replaced_by)}")
            )
        else:
            changes.append(Change(logical_id, after["Type"], "modify", shown, groups, "; ".join(policy_changes)))
    return changes


def summary_line(stack: str, changes: list[Change]) -> str:
    counts = {action: sum(1 for c in changes if c.action == action) for action in ("add", "remove", "modify", "replace")}
    blocking = sum(1 for c in changes if c.blocking)
    text = f"{stack}: {counts['add']} added, {counts['remove']} removed, {counts['modify']} modified, {counts['replace']} replaced"
    if blocking:
        text += f" -- {blocking} stateful resource(s) replaced or deleted"
    return text


def render(stack: str, changes: list[Change]) -> list[str]:
    """A stack's section: its summary line, then the changes by group."""
    lines = [summary_line(stack, changes)]
    for group in GROUPS:
        members = [c for c in changes if group in c.groups]
        if members:
            lines.append(f"  {TITLES[group]}")
            lines += [f"    {change.line()}" for change in members]
    return lines
