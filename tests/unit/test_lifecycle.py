"""A failed first create leaves nothing that blocks its retry; data is still kept on update and delete.

On the rollback of a failed create, CloudFormation keeps every resource whose DeletionPolicy is
`Retain`, and the retry then fails with AlreadyExists on each fixed name (log groups, secrets,
the repository). `RetainExceptOnCreate` keeps a resource on every later delete but lets the
rollback of the operation that created it delete it. And a resource created with deletion
protection cannot be deleted by that rollback at all (ROLLBACK_FAILED), so protection is switched
on by the stack's last step instead (cdk_constructs/protection.py). The sandbox's
`failed-first-deploy` scenario rehearses both against the emulator.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from graphlib import CycleError, TopologicalSorter
from typing import Any

import pytest

from sandbox.emulation.engine import dependencies
from tests.conftest import SYNTHESES
from tests.synth import Synthesis

# Resources kept even by the rollback of a failed first create, each with the reason.
RETAINED_ON_A_FAILED_CREATE = {
    "AccessLogsBucket": (
        "AWS::S3::Bucket",
        (
            "ELB writes a test object into the bucket as soon as access logging is on, and S3 refuses to delete "
            "a bucket that is not empty: a rollback that tried would end ROLLBACK_FAILED. Its name is generated, "
            "so the bucket left behind never blocks the retry."
        ),
    ),
}
# A database is snapshotted, not retained: the final snapshot's name is generated per deletion.
SNAPSHOTTED = {"AWS::RDS::DBInstance"}


def _environments(synthesis: Callable[[str], Synthesis]) -> list[Synthesis]:
    return [synthesis(name) for name in SYNTHESES]


def _resources(synth: Synthesis):
    for stack, template in synth.templates.items():
        for logical_id, resource in template["Resources"].items():
            yield stack, logical_id, resource


def test_a_failed_first_create_keeps_only_the_listed_exceptions(synthesis: Callable[[str], Synthesis]) -> None:
    kept = set()
    for synth in _environments(synthesis):
        for stack, logical_id, resource in _resources(synth):
            if resource.get("DeletionPolicy") == "Retain":
                assert logical_id in RETAINED_ON_A_FAILED_CREATE, (
                    f"{stack}/{logical_id} ({resource['Type']}) is Retain: a failed first create keeps it and "
                    "the retry may fail on it; use RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE or list it here with the reason"
                )
                assert resource["Type"] == RETAINED_ON_A_FAILED_CREATE[logical_id][0]
                kept.add(logical_id)
    assert kept == set(RETAINED_ON_A_FAILED_CREATE), "an exception that no longer applies: remove it from the list"


def test_what_is_retained_is_kept_on_every_later_delete_and_replacement(synthesis: Callable[[str], Synthesis]) -> None:
    checked = 0
    for synth in _environments(synthesis):
        for stack, logical_id, resource in _resources(synth):
            policy = resource.get("DeletionPolicy")
            if policy in (None, "Delete"):
                continue
            checked += 1
            where = f"{stack}/{logical_id}"
            if resource["Type"] in SNAPSHOTTED:
                assert policy == "Snapshot" and resource.get("UpdateReplacePolicy") == "Snapshot", where
            else:
                assert policy in ("RetainExceptOnCreate", "Retain"), where
                assert resource.get("UpdateReplacePolicy") == "Retain", where
    assert checked > 20


def _protections(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "Custom::AWS" and "deletion-protection/" in json.dumps(resource["Properties"].get("Create", ""))
    }


@pytest.mark.parametrize(
    ("env", "part", "protected"),
    [
        ("production", "Data", ["AWS::RDS::DBInstance"]),
        ("production", "Service", ["AWS::ElasticLoadBalancingV2::LoadBalancer"]),
        ("production", "Monitoring", ["AWS::ElasticLoadBalancingV2::LoadBalancer"]),
        ("production", "DR", ["AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::RDS::DBInstance"]),
        ("dr_active", "DR", ["AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::RDS::DBInstance"]),
    ],
)
def test_deletion_protection_is_switched_on_after_everything_else(
    synthesis: Callable[[str], Synthesis], env: str, part: str, protected: list[str]
) -> None:
    template = synthesis(env).template(part)
    protections = _protections(template)
    calls = sorted(json.dumps(p["Properties"]["Create"]) for p in protections.values())
    assert len(calls) == len(protected)
    expected = {
        "AWS::RDS::DBInstance": '\\"DeletionProtection\\":true',
        "AWS::ElasticLoadBalancingV2::LoadBalancer": "deletion_protection.enabled",
    }
    for kind in protected:
        assert any(expected[kind] in call for call in calls), kind
    # Everything but the protection steps themselves (each custom resource and its policy).
    steps = {k for k in template["Resources"] if "DeletionProtectionTurnOn" in k}
    assert set(protections) <= steps
    for logical_id, protection in protections.items():
        waits_for = set(protection.get("DependsOn", []))
        others = set(template["Resources"]) - steps
        assert others <= waits_for, f"{logical_id} does not wait for {sorted(others - waits_for)}"


@pytest.mark.parametrize("env", SYNTHESES)
def test_the_template_never_sets_deletion_protection_itself(synthesis: Callable[[str], Synthesis], env: str) -> None:
    """CloudFormation's handlers send what a template sets on every update: a `false` left in the
    template would turn the protection off again."""
    for stack, logical_id, resource in _resources(synthesis(env)):
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::RDS::DBInstance":
            assert "DeletionProtection" not in props, f"{stack}/{logical_id}"
        if resource["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            keys = {a["Key"] for a in props.get("LoadBalancerAttributes", [])}
            assert "deletion_protection.enabled" not in keys, f"{stack}/{logical_id}"


def test_stagings_database_can_be_destroyed(staging: Synthesis) -> None:
    """staging.toml turns the database's deletion protection off, so `cdk destroy` removes it after
    a final snapshot (the sandbox's `teardown` scenario)."""
    assert not _protections(staging.template("Data"))
    (db,) = staging.resources("Data", "AWS::RDS::DBInstance").values()
    assert db["DeletionPolicy"] == "Snapshot"


def test_no_template_waits_in_a_circle(synthesis: Callable[[str], Synthesis]) -> None:
    """CloudFormation refuses a template whose resources depend on one another in a circle; the
    protections, which wait for everything else, must not wait for each other."""
    for synth in _environments(synthesis):
        for stack, template in synth.templates.items():
            graph = dependencies(template["Resources"])
            try:
                list(TopologicalSorter(graph).static_order())
            except CycleError as exc:
                pytest.fail(f"{stack}: circular dependency {exc.args[1]}")
