"""What a change does to each stack, grouped by the risk a reviewer looks for.

Compares two templates of a stack (the committed snapshot and a fresh synth, or two
snapshots) resource by resource. Which property changes make CloudFormation *replace* a
resource comes from the resource provider schemas that cfn-lint ships
(`createOnlyProperties`), not from a hand-written list.
"""

from __future__ import annotations

import json
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
    values: list[str] = field(default_factory=list)
    """Each changed value: `path: old -> new`, JSON inside a string diffed path by path."""

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


_MAX_VALUE = 72
_MAX_VALUES = 12


def _as_text(node: Any) -> str | None:
    """A string, or an Fn::Join of strings and intrinsic functions, as one string: each function
    as `${...}` with its arguments, so that a changed reference shows as a changed value."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and list(node) == ["Fn::Join"] and node["Fn::Join"][0] == "":
        parts = []
        for part in node["Fn::Join"][1]:
            if isinstance(part, dict) and len(part) == 1:
                ((kind, arg),) = part.items()
                part = "${" + kind.removeprefix("Fn::") + " " + json.dumps(arg, separators=(",", ":")).replace('"', "'") + "}"
            if not isinstance(part, str):
                return None
            parts.append(part)
        return "".join(parts)
    return None


def _embedded_json(node: Any) -> Any:
    """The JSON document a string (or a Join) holds, as a dashboard body does; else None."""
    text = _as_text(node)
    if text is None or not text.lstrip().startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _short(value: Any, limit: int = _MAX_VALUE) -> str:
    text = "(none)" if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _trimmed(old: str, new: str) -> tuple[str, str]:
    """Two long one-line strings with their common start and end cut to `…`."""
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[-1 - end] == new[-1 - end]:
        end += 1
    start, end = max(0, start - 16), max(0, end - 16)  # some context either side

    def cut(text: str) -> str:
        return ("…" if start else "") + text[start : len(text) - end] + ("…" if end else "")

    return cut(old), cut(new)


def _values(old: Any, new: Any, path: tuple[str, ...]) -> Iterator[str]:
    """`path: old -> new` for each value that differs under `path`: into objects key by key,
    lists element by element (an element one side lacks is `(none)` there), and JSON held in a string (or a Join of strings
    and references, as a dashboard body is) path by path."""
    if old == new:
        return
    old_doc, new_doc = _embedded_json(old), _embedded_json(new)
    if old_doc is not None and new_doc is not None:
        old, new = old_doc, new_doc
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            yield from _values(old.get(key), new.get(key), (*path, key))
        return
    if isinstance(old, list) and isinstance(new, list):
        # Element by element; an element only one side has shows as added or removed.
        for index in range(max(len(old), len(new))):
            a = old[index] if index < len(old) else None
            b = new[index] if index < len(new) else None
            yield from _values(a, b, (*path, str(index)))
        return
    if isinstance(old, str) and isinstance(new, str) and max(len(old), len(new)) > _MAX_VALUE:
        old, new = _trimmed(old, new)
    # A value added or removed has the line to itself.
    limit = 2 * _MAX_VALUE if old is None or new is None else _MAX_VALUE
    yield f"{'.'.join(path) or '(value)'}: {_short(old, limit)} -> {_short(new, limit)}"


def _until_function(path: tuple[str, ...]) -> tuple[str, ...]:
    """A property's path up to an intrinsic function: `DashboardBody`, not `DashboardBody.Fn::Join`."""
    cut = next((i for i, step in enumerate(path) if step.startswith("Fn::")), len(path))
    return path[:cut] or path


def value_lines(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed in a resource, value by value (Metadata left out; properties by their name)."""
    lines: list[str] = []
    for key in sorted((set(before) | set(after)) - {"Metadata"}):
        if key == "Properties":
            lines += _values(before.get(key) or {}, after.get(key) or {}, ())
        else:
            lines += _values(before.get(key), after.get(key), (key,))
    return lines


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
        shown = list(dict.fromkeys(".".join(_until_function(p[1:] if p[0] == "Properties" else p)) for p in paths))
        values = value_lines(before_body, after_body)
        if replaced_by:
            why = f"replaced: {', '.join(replaced_by)} changed"
            changes.append(Change(logical_id, after["Type"], "replace", shown, ["replacement", *groups], why, values))
        else:
            changes.append(Change(logical_id, after["Type"], "modify", shown, groups, "; ".join(policy_changes), values))
    return changes


def summary_line(stack: str, changes: list[Change]) -> str:
    counts = {action: sum(1 for c in changes if c.action == action) for action in ("add", "remove", "modify", "replace")}
    blocking = sum(1 for c in changes if c.blocking)
    text = f"{stack}: {counts['add']} added, {counts['remove']} removed, {counts['modify']} modified, {counts['replace']} replaced"
    if blocking:
        text += f" -- {blocking} stateful resource(s) replaced or deleted"
    return text


def render(stack: str, changes: list[Change]) -> list[str]:
    """A stack's section: its summary line, then each change once, in its riskiest group (the
    others it belongs to named after it), with its values. Asset hashes never show: both sides are
    normalized (review/synth.py), since they move with the CDK version and the machine."""
    lines = [summary_line(stack, changes)]
    for group in GROUPS:
        members = [c for c in changes if c.groups and next(g for g in GROUPS if g in c.groups) == group]
        if members:
            lines.append(f"  {TITLES[group]}")
            for change in members:
                also = [g for g in change.groups if g not in (group, "replacement", "other")]
                lines.append(f"    {change.line()}" + (f" (also {', '.join(also)})" if also else ""))
                shown = change.values[:_MAX_VALUES]
                lines += [f"        {value}" for value in shown]
                if len(change.values) > len(shown):
                    lines.append(f"        (+{len(change.values) - len(shown)} more values)")
    return lines
