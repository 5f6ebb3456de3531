"""What AWS does on the stacks' behalf (review/access/acts.py) is allowed on every template of every
synthesis, and every row's check can fail: removing the permission a request needs, from the
synthesized template, makes the row report it with its documentation page."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from review.access.account import Account
from review.access.acts import ACTS, DEPLOYER, Finding, check, decide, markdown_table
from review.access.policy import Grant
from tests.conftest import MODES, SYNTHESES
from tests.synth import ROOT, Synthesis

ALL = [*SYNTHESES, *MODES]
"""Every environment and mode: DR active, backups mode standing by and restored, failback's phases."""


@pytest.fixture(scope="module")
def accounts(synthesis: Callable[[str], Synthesis]) -> dict[str, Account]:
    found = {}
    for name in ALL:
        synth = synthesis(name)
        assert synth.error is None, synth.error
        found[name] = Account.from_synthesis(synth.templates, synth.manifest)
    return found


@pytest.mark.parametrize("name", ALL)
def test_aws_may_do_everything_it_does_for_the_stacks(accounts: dict[str, Account], name: str) -> None:
    _, denied = check(accounts[name])
    assert not [str(finding) for finding in denied]


def test_every_row_checks_something(accounts: dict[str, Account]) -> None:
    """A row that makes no request in any synthesis proves nothing, so no mutation could break it."""
    asked = {act.name for account in accounts.values() for act, _, _ in check(account)[0]}
    assert asked == {act.name for act in ACTS}


def _statement(account: Account, grant: Grant) -> Any:
    node: Any = account.templates[grant.source.stack]["Resources"][grant.source.logical_id]
    for step in grant.source.path:
        node = node[step]
    return node


@contextmanager
def _removed(account: Account, grants: list[Grant]) -> Iterator[None]:
    """The templates without the grants (an Action entry, or a managed policy's attachment), put back after."""
    undo: list[Callable[[], None]] = []
    # A managed policy is detached once, whichever of its statements allowed; a policy outside the
    # templates (the bootstrap's deploying role) is not the template's to change.
    unique = {
        (g.source, None if g.pattern is None else g.statement, g.pattern): g for g in grants if g.source.stack in account.templates
    }.values()
    # Managed policies are detached from the end of each list first, so that the other indexes hold.
    for grant in sorted(unique, key=lambda g: -int(g.source.path[-1]) if g.pattern is None else 0):
        if grant.pattern is None:
            owner = _statement(
                account, Grant(grant.source.__class__(grant.source.stack, grant.source.logical_id, grant.source.path[:-1]), 0, None)
            )
            index = int(grant.source.path[-1])
            detached = owner.pop(index)
            undo.append(lambda owner=owner, index=index, detached=detached: owner.insert(index, detached))
            continue
        holder = _statement(account, grant)
        statements = holder["Statement"] if isinstance(holder["Statement"], list) else [holder["Statement"]]
        statement = statements[grant.statement]
        key = "NotAction" if grant.pattern == "<NotAction>" else "Action"
        before = statement[key]
        actions = before if isinstance(before, list) else [before]
        statement[key] = "*" if key == "NotAction" else [a for a in actions if a != grant.pattern]
        undo.append(lambda statement=statement, key=key, before=before: statement.__setitem__(key, before))
    try:
        yield
    finally:
        for step in reversed(undo):
            step()


@pytest.mark.parametrize("name", ALL)
def test_removing_any_permission_a_row_needs_is_reported_with_the_row_and_its_page(accounts: dict[str, Account], name: str) -> None:
    account = accounts[name]
    decided, _ = check(account)
    by_grants: dict[tuple[Grant, ...], list[Any]] = {}
    for act, need, decision in decided:
        if not decision.allowed:
            continue  # a denied request is the first test's failure
        by_grants.setdefault(tuple(decision.grants), []).append((act, need))
    survivors = []
    for grants, needs in by_grants.items():
        assert grants, f"allowed with no grant to remove: {needs[0][1]}"
        if all(g.source.stack not in account.templates for g in grants):
            # Allowed by the CDK bootstrap's deploying role alone, which no template holds: only the
            # deployer's own requests may rest on it (the waf-logging row's refusal test breaks that row).
            assert {need.request.principal.rsplit("/", 1)[-1].startswith(DEPLOYER) for _, need in needs} == {True}, needs
            continue
        with _removed(account, list(grants)):
            for act, need in needs:
                decision = decide(account, need)
                finding = str(Finding(act, need, decision))
                if decision.allowed or act.name not in finding or act.source not in finding:
                    survivors.append(f"[{act.name}] {need.subject} {need.request.action}")
    assert not survivors


def test_the_readme_has_the_table_as_the_rows_write_it() -> None:
    assert markdown_table() in (ROOT / "README.md").read_text()


@pytest.fixture(scope="module")
def custom_resource_calls(synthesis: Callable[[str], Synthesis]) -> dict[Path, list[dict[str, Any]]]:
    """Every distinct AwsCustomResource call of every synthesis, by the handler bundled for it."""
    import json

    from review.access.handler import handler_index

    found: dict[Path, list[dict[str, Any]]] = {}
    for name in ALL:
        synth = synthesis(name)
        account = Account.from_synthesis(synth.templates, synth.manifest)
        for stack, logical_id, _ in account.resources("Custom::AWS"):
            token = synth.templates[stack]["Resources"][logical_id]["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
            index = handler_index(synth.outdir, synth.templates[stack]["Resources"][token])
            for event in ("Create", "Update", "Delete"):
                call = account.prop(stack, logical_id, event)
                if call and json.loads(call) not in found.setdefault(index, []):
                    found[index].append(json.loads(call))
    return found


def test_the_bundled_handler_resolves_every_custom_resource_call(custom_resource_calls: dict[Path, list[dict[str, Any]]]) -> None:
    """CDK's handler maps `service` to an SDK v3 client and finds the command at deploy time only:
    `ElasticLoadBalancingV2` passed every synth and failed every first deploy of the Service stack."""
    from review.access.handler import unresolved_calls

    assert custom_resource_calls
    assert not {call: reason for index, calls in custom_resource_calls.items() for call, reason in unresolved_calls(index, calls).items()}


def _account_where(account: Account, change: Callable[[dict[str, Any]], None]) -> Account:
    templates = copy.deepcopy(account.templates)
    change(templates)
    return Account(templates, dict(account.envs))


def test_a_waf_log_group_without_the_prefix_waf_requires_is_reported(accounts: dict[str, Account]) -> None:
    def rename(templates: dict[str, Any]) -> None:
        for resource in templates["ContractorLens-Production-Service"]["Resources"].values():
            if resource["Type"] == "AWS::Logs::LogGroup" and resource["Properties"].get("LogGroupName") == "aws-waf-logs-contractorlens":
                resource["Properties"]["LogGroupName"] = "/contractorlens/waf"

    _, denied = check(_account_where(accounts["production"], rename))
    reasons = {f.decision.reason for f in denied if f.act.name == "waf-logging"}
    assert reasons == {"WAF refuses a log group whose name does not start aws-waf-logs- (WAFInvalidParameterException)"}


def test_replicated_backups_under_a_key_the_dr_region_does_not_hold_are_reported(accounts: dict[str, Account]) -> None:
    """The lookup names the primary region's alias: RDS needs the key in the destination region."""

    def primary_alias(templates: dict[str, Any]) -> None:
        for resource in templates["ContractorLens-Production-Data"]["Resources"].values():
            if resource["Type"] == "Custom::AWS" and "describeKey" in json.dumps(resource["Properties"]["Create"]):
                for event in ("Create", "Update"):
                    call = json.loads(resource["Properties"][event])
                    call["parameters"]["KeyId"] = "alias/contractorlens-data"
                    resource["Properties"][event] = json.dumps(call)

    _, denied = check(_account_where(accounts["production"], primary_alias))
    missing = "no KMS key in these templates is {} in us-east-1"
    assert sorted((f.act.name, f.decision.reason) for f in denied) == [
        # the lookup's describeKey fails on create and on update ...
        ("custom-resource-call", missing.format("alias/contractorlens-data") + " (KMS: NotFoundException)"),
        ("custom-resource-call", missing.format("alias/contractorlens-data") + " (KMS: NotFoundException)"),
        # ... and RDS would have no key in the destination region (both requests of the row)
        ("rds-keys", missing.format("arn:aws:kms:us-east-1:123456789012:alias/contractorlens-data")),
        ("rds-keys", missing.format("arn:aws:kms:us-east-1:123456789012:alias/contractorlens-data")),
    ]
    assert {f.need.subject for f in denied if f.act.name == "rds-keys"} == {
        "ContractorLens-Production-Data/Database replicated backups key (us-east-1)"
    }


def test_a_secret_replica_under_a_key_its_region_does_not_hold_is_reported(accounts: dict[str, Account]) -> None:
    """The master secret's replica names the primary region's alias in us-east-1: Secrets Manager
    could not encrypt the copy there, and the DR copies of the database would open with nothing."""

    def primary_alias(templates: dict[str, Any]) -> None:
        secret = templates["ContractorLens-Production-Data"]["Resources"]["DatabaseMasterSecret"]
        secret["Properties"]["ReplicaRegions"][0]["KmsKeyId"] = "arn:aws:kms:us-east-1:123456789012:alias/contractorlens-data"

    _, denied = check(_account_where(accounts["production"], primary_alias))
    missing = "no KMS key in these templates is arn:aws:kms:us-east-1:123456789012:alias/contractorlens-data in us-east-1"
    assert sorted((f.act.name, f.need.subject, f.decision.reason) for f in denied) == [
        ("secret-replication", "ContractorLens-Production-Data/DatabaseMasterSecret in us-east-1", missing),
        ("secret-replication", "ContractorLens-Production-Data/DatabaseMasterSecret in us-east-1", missing),
    ]


def test_a_dr_task_whose_repository_no_replication_rule_copies_is_reported(accounts: dict[str, Account]) -> None:
    """The DR tasks pull contractorlens in us-east-1: a filter that misses it leaves them no image."""

    def other_filter(templates: dict[str, Any]) -> None:
        for resource in templates["ContractorLens-Production-Registry"]["Resources"].values():
            if resource["Type"] == "AWS::ECR::ReplicationConfiguration":
                resource["Properties"]["ReplicationConfiguration"]["Rules"][0]["RepositoryFilters"] = [
                    {"Filter": "other", "FilterType": "PREFIX_MATCH"}
                ]

    _, denied = check(_account_where(accounts["production"], other_filter))
    assert {(f.act.name, f.decision.reason) for f in denied} == {
        ("ecr-replication", "no replication rule copies contractorlens from us-west-2 to us-east-1: the image is not there")
    }
    assert all(f.need.subject.startswith("ContractorLens-Production-DR/") for f in denied)


def test_a_file_system_policy_that_denies_aws_backup_is_reported(accounts: dict[str, Account]) -> None:
    """Grafana's file-system policy denies NFS clients other than its task role; widened to every EFS
    action, its explicit deny would also stop AWS Backup's role (IAM policy evaluation logic)."""

    def every_action(templates: dict[str, Any]) -> None:
        for resource in templates["ContractorLens-Production-Monitoring"]["Resources"].values():
            if resource["Type"] == "AWS::EFS::FileSystem":
                resource["Properties"]["FileSystemPolicy"]["Statement"][0]["Action"] = "elasticfilesystem:*"

    _, denied = check(_account_where(accounts["production"], every_action))
    assert sorted({(f.act.name, f.need.request.action) for f in denied}) == [
        ("backup-rds", "elasticfilesystem:Backup"),
        ("backup-rds", "elasticfilesystem:DescribeTags"),
    ]
    assert {f.decision.reason for f in denied} == {"explicitly denied by the policy of GrafanaState"}
