"""The compliance rule packs every synth runs, and how a finding is acknowledged.

cdk-nag's AwsSolutions and NIST 800-53 rev 5 packs run as CDK validation plugins: an
unacknowledged finding fails the synth. An acknowledgement sits on the narrowest construct
that causes the finding and carries the reason a reviewer needs to accept it.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks
from constructs import IConstruct

PACKS = {"AwsSolutions-": "AwsSolutions", "NIST.800.53.R5-": "NIST.800.53.R5"}
BUILT_IN = "CloudFormation-Validate::"


def add_compliance_checks(app: App) -> None:
    """Run both packs after synthesis."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app))


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Accept one rule's findings on `scope` and below, e.g. rule="AwsSolutions-RDS11".

    A rule with a finding id (`AwsSolutions-IAM5[Resource::...]`) accepts that finding only;
    a rule of CDK's built-in CloudFormation validation is written in full
    (`CloudFormation-Validate::W3010`).
    """
    pack = next((name for prefix, name in PACKS.items() if rule.startswith(prefix)), None)
    if pack is not None:
        rule_id = f"{pack}::{rule}"
    elif rule.startswith(BUILT_IN):
        rule_id = rule
    else:
        raise ValueError(f"{rule!r}: expected a rule of {', '.join(PACKS)} or {BUILT_IN}<rule>")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))
