"""cdk_constructs/protection.py: deletion protection as the last step of a stack's operation."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from cdk_constructs.protection import DeletionProtection
from tests.cdk_constructs.conftest import built, of_type

BALANCER = "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/api/0123456789abcdef"


@pytest.fixture(scope="module")
def protected() -> Template:
    """Given a stack with two resources and two protections."""

    def build(stack: Stack) -> None:
        sns.Topic(stack, "One")
        DeletionProtection.of_database(stack, "Database", instance_identifier="app-db")
        DeletionProtection.of_load_balancer(stack, "LoadBalancer", load_balancer_arn=BALANCER)
        sns.Topic(stack, "Two")  # made after the protections, still waited for

    return built(build)[1]


def _steps(template: Template) -> dict[str, dict[str, Any]]:
    return of_type(template, "Custom::AWS")


def test_each_protection_waits_for_every_other_resource_of_the_stack(protected: Template) -> None:
    topics = set(of_type(protected, "AWS::SNS::Topic"))
    for step in _steps(protected).values():
        assert topics <= set(step["DependsOn"])


def test_protections_never_wait_for_one_another(protected: Template) -> None:
    steps = _steps(protected)
    for logical_id, step in steps.items():
        assert not (set(steps) - {logical_id}) & set(step["DependsOn"])


def test_each_may_change_its_one_resource_only(protected: Template) -> None:
    resources = [
        p["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]
        for p in of_type(protected, "AWS::IAM::Policy").values()
        if p["Properties"]["PolicyDocument"]["Statement"][0]["Action"] != "lambda:InvokeFunction"
    ]
    assert BALANCER in resources
    assert any(":db:app-db" in str(r) for r in resources)
