"""The compliance rule packs a synth runs, and how a finding is acknowledged.

cdk-nag's AwsSolutions and NIST 800-53 rev 5 packs run as CDK validation plugins in every
synth; cfn-guard with AWS Control Tower's proactive-control rules (cdklabs'
cdk-validator-cfnguard) runs beside them when asked (`make test` always asks: it costs about
8 s per environment). An unacknowledged finding fails the synth. An acknowledgement sits on
the narrowest construct that causes the finding and carries the reason a reviewer needs to
accept it.
"""

from __future__ import annotations

import functools
import re
import tarfile
from pathlib import Path
from typing import IO, cast

from aws_cdk import Acknowledgment, App, CfnResource, IPolicyValidationPlugin, RemovalPolicy, Stack, Validations
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks
from constructs import IConstruct

PACKS = {"AwsSolutions-": "AwsSolutions", "NIST.800.53.R5-": "NIST.800.53.R5"}
BUILT_IN = "CloudFormation-Validate::"
CONTROL_TOWER = "cdk-validator-cfnguard::"
_RULES = "package/rules/control-tower/cfn-guard/"
_RESOURCE_TYPE = re.compile(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+")


def add_compliance_checks(app: App, *, control_tower: bool = False) -> None:
    """Run both cdk-nag packs after synthesis and, with `control_tower`, cfn-guard's Control
    Tower rules (those bundled with the pinned plugin; default: off). Call it once the app's
    stacks are built."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app))
    if control_tower:
        # Imported here: loading the plugin's jsii assembly (12 MB, the cfn-guard binary in it)
        # costs a plain synth, which does not run it, about half a second.
        from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

        present = {c.cfn_resource_type for c in app.node.find_all() if isinstance(c, CfnResource)}
        # A rule about resource types the app has none of can find nothing; cfn-guard evaluates
        # every rule against every template all the same (about 15 ms each), so those are left
        # out: 143 of the 237 today, more than half of the gate's time.
        idle = sorted(rule for rule, types in control_tower_rule_types().items() if types and not types & present)
        # Built against the interface's older (Beta1) name; jsii matches the two at run time.
        Validations.of(app).add_plugins(cast(IPolicyValidationPlugin, CfnGuardValidator(disabled_rules=idle)))


@functools.cache
def control_tower_rule_types() -> dict[str, frozenset[str]]:
    """Each Control Tower rule the plugin bundles (its file name, e.g. ct-kms-pr-3) and the
    resource types it checks, read from the plugin's own package."""
    from cdklabs import cdk_validator_cfnguard

    package = Path(cdk_validator_cfnguard.__file__).parent / "_jsii"
    (tarball,) = package.glob("*.jsii.tgz")
    rules: dict[str, frozenset[str]] = {}
    with tarfile.open(tarball) as tar:
        for member in tar:
            if member.name.startswith(_RULES) and member.name.endswith(".guard"):
                text = cast(IO[bytes], tar.extractfile(member)).read().decode()
                rules[Path(member.name).stem] = frozenset(_RESOURCE_TYPE.findall(text))
    return rules


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Accept one rule's findings on `scope` and below, e.g. rule="AwsSolutions-RDS11".

    A rule with a finding id (`AwsSolutions-IAM5[Resource::...]`) accepts that finding only;
    a rule of CDK's built-in CloudFormation validation or of the Control Tower rules is written
    in full, as the synth's report names it (`CloudFormation-Validate::W3010`,
    `cdk-validator-cfnguard::ecs_containers_readonly_access_check`).
    """
    pack = next((name for prefix, name in PACKS.items() if rule.startswith(prefix)), None)
    if pack is not None:
        rule_id = f"{pack}::{rule}"
    elif rule.startswith((BUILT_IN, CONTROL_TOWER)):
        rule_id = rule
    else:
        raise ValueError(f"{rule!r}: expected a rule of {', '.join(PACKS)}, {BUILT_IN}<rule> or {CONTROL_TOWER}<rule>")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


# aws-cdk-lib's custom_resources.AwsCustomResource runs in one function per stack, a child of
# the stack with this id ("AWS" + a fixed uuid without dashes).
AWS_CUSTOM_RESOURCE_FUNCTION_ID = "AWS679f53fac002430cb0da5b7982bd2287"


def settle_aws_custom_resource_function(stack: Stack) -> None:
    """Accept the findings on CDK's AwsCustomResource function of `stack`, once it exists, and
    keep its log group on a delete except in a failed first create, like every retained resource.

    The function runs only when CloudFormation creates, updates or deletes one of the stack's
    AwsCustomResources; it makes the one AWS API call that resource names and holds no data.
    """
    function = stack.node.try_find_child(AWS_CUSTOM_RESOURCE_FUNCTION_ID)
    if function is None:
        return
    log_group = function.node.try_find_child("LogGroup")
    if log_group is not None:
        cast(CfnResource, log_group.node.default_child).apply_removal_policy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)
    deploy_time_only = (
        "CDK's AwsCustomResource function runs only while CloudFormation deploys this stack, makes one "
        "AWS API call per custom resource and holds no data"
    )
    for rule, reason in {
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": (
            f"{deploy_time_only}; the AWS-managed basic execution policy only lets it write its own logs."
        ),
        "NIST.800.53.R5-LambdaConcurrency": f"{deploy_time_only}; it is invoked a few times per deployment.",
        "NIST.800.53.R5-LambdaDLQ": f"{deploy_time_only}; CloudFormation receives its failures synchronously.",
        "NIST.800.53.R5-LambdaInsideVPC": f"{deploy_time_only}; it calls regional AWS APIs, nothing in the VPC.",
        f"{CONTROL_TOWER}lambda_inside_vpc_check": f"{deploy_time_only}; it calls regional AWS APIs, nothing in the VPC.",
        "NIST.800.53.R5-CloudWatchLogGroupEncrypted": (
            f"{deploy_time_only}; its log group (created by CDK) holds only the calls' requests and status."
        ),
        f"{CONTROL_TOWER}cloudwatch_log_group_encrypted_check": (
            f"{deploy_time_only}; its log group (created by CDK) holds only the calls' requests and status."
        ),
    }.items():
        acknowledge(function, rule, reason)
