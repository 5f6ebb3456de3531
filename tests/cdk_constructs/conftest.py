"""Each construct built alone in a bare stack, with the feature flags of cdk.json.

A module builds its construct once (given/when, a module fixture) and asserts one behaviour
per test (then), reading the template as CloudFormation would get it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from cdk_constructs.threshold import Comparison, MissingData, Severity, Statistic, Threshold
from tests.synth import CDK_JSON

ACCOUNT, REGION = "123456789012", "us-west-2"
ZONES = ["us-west-2a", "us-west-2b"]


def bare_stack(region: str = REGION) -> Stack:
    """An empty stack in an app with the project's feature flags."""
    return Stack(App(context=CDK_JSON["context"]), "Test", env=Environment(account=ACCOUNT, region=region))


def vpc(stack: Stack) -> ec2.Vpc:
    """A plain three-tier VPC over explicit zones, for constructs that need one."""
    return ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=ZONES,
        nat_gateways=1,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC),
            ec2.SubnetConfiguration(name="Private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ],
    )


def built(build: Callable[[Stack], Any], region: str = REGION) -> tuple[Any, Template]:
    """`build` run in a bare stack; what it returned and the stack's template."""
    stack = bare_stack(region)
    result = build(stack)
    return result, Template.from_stack(stack)


def of_type(template: Template, type_name: str) -> dict[str, dict[str, Any]]:
    """The template's resources of one type, by logical id."""
    return {k: v for k, v in template.to_json()["Resources"].items() if v["Type"] == type_name}


def one(template: Template, type_name: str) -> dict[str, Any]:
    (resource,) = of_type(template, type_name).values()
    return resource


def threshold(**changes: Any) -> Threshold:
    """A threshold for a construct to draw or alarm on: 2 percent and above by default."""
    base = Threshold(
        value=2, unit="percent", comparison=Comparison.ABOVE, severity=Severity.WARNING, manual="m", runbook="r",
        statistic=Statistic.SUM, period_minutes=1, evaluation_periods=1, datapoints_to_alarm=1,
        missing_data=MissingData.MISSING, why_missing="w",
    )  # fmt: skip
    return dataclasses.replace(base, **changes)
