"""Deletion protection switched on as the last step of the stack operation that creates a resource.

A DB instance or load balancer created with deletion protection cannot be rolled back: when a
later resource of the same first create fails, CloudFormation's delete is refused, the stack
ends ROLLBACK_FAILED, and the retry first needs the resource deleted by hand. So the template
leaves the property out (then CloudFormation also never turns it off again in an update: the
handlers send only the properties a template sets), and a custom resource that depends on every
other resource of the stack turns protection on once everything else exists. A first create
that fails rolls back an unprotected resource; one that succeeds leaves it protected.
"""

from __future__ import annotations

from collections.abc import Sequence

import jsii
from aws_cdk import ArnFormat, AspectPriority, Aspects, CfnResource, IAspect, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from cdk_constructs.compliance import acknowledge, settle_aws_custom_resource_function

# Why the compliance packs' "deletion protection enabled" rules are acknowledged where this is used.
LATE_PROTECTION = (
    "Deletion protection is on, but not in the template: a DeletionProtection custom resource turns it on "
    "after every other resource of the stack exists, so that a failed first create can roll back "
    "(cdk_constructs/protection.py; tests/unit/test_lifecycle.py)."
)


class DeletionProtection(Construct):
    """Turns on a resource's deletion protection after every other resource of the stack exists."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: str,
        action: str,
        parameters: dict[str, object],
        iam_action: str,
        resource_arn: str,
        physical_id: str,
    ) -> None:
        """
        :param service: the SDK client, e.g. "RDS".
        :param action: the SDK call that turns protection on, e.g. "modifyDBInstance".
        :param parameters: its parameters.
        :param iam_action: the one IAM action the call needs, e.g. "rds:ModifyDBInstance".
        :param resource_arn: the protected resource, the only one the policy names.
        :param physical_id: a stable id for the custom resource (the protected resource's name).
        """
        super().__init__(scope, construct_id)
        call = cr.AwsSdkCall(
            service=service,
            action=action,
            parameters=parameters,
            physical_resource_id=cr.PhysicalResourceId.of(f"deletion-protection/{physical_id}"),
        )
        self.resource = cr.AwsCustomResource(
            self,
            "TurnOn",
            on_create=call,
            on_update=call,
            install_latest_aws_sdk=False,
            policy=cr.AwsCustomResourcePolicy.from_statements([iam.PolicyStatement(actions=[iam_action], resources=[resource_arn])]),
        )
        acknowledge(
            self.resource,
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "CDK generates this single-statement policy, limited to the one protected resource, for this step only.",
        )
        stack = Stack.of(self)
        settle_aws_custom_resource_function(stack)
        _STEPS.setdefault(id(stack), []).append(f"{self.node.path}/")
        # On this construct, not the stack: an aspect costs a jsii round trip per construct it visits.
        Aspects.of(self).add(_AfterEverything(self), priority=AspectPriority.MUTATING)

    @classmethod
    def of_database(cls, scope: Construct, construct_id: str, *, instance_identifier: str) -> DeletionProtection:
        """Deletion protection of the DB instance `instance_identifier` in this stack's region."""
        stack = Stack.of(scope)
        return cls(
            scope,
            construct_id,
            service="RDS",
            action="modifyDBInstance",
            parameters={"DBInstanceIdentifier": instance_identifier, "DeletionProtection": True, "ApplyImmediately": True},
            iam_action="rds:ModifyDBInstance",
            resource_arn=stack.format_arn(
                service="rds", resource="db", resource_name=instance_identifier, arn_format=ArnFormat.COLON_RESOURCE_NAME
            ),
            physical_id=instance_identifier,
        )

    @classmethod
    def of_load_balancer(cls, scope: Construct, construct_id: str, *, load_balancer_arn: str) -> DeletionProtection:
        """Deletion protection of an application load balancer of this stack."""
        return cls(
            scope,
            construct_id,
            # The handler's name for the client: it maps the SDK v2 name `ELBv2` to
            # @aws-sdk/client-elastic-load-balancing-v2; the class name `ElasticLoadBalancingV2` is
            # in none of its maps and fails the resource at deploy time (review/access/handler.py).
            service="ELBv2",
            action="modifyLoadBalancerAttributes",
            parameters={
                "LoadBalancerArn": load_balancer_arn,
                "Attributes": [{"Key": "deletion_protection.enabled", "Value": "true"}],
            },
            iam_action="elasticloadbalancing:ModifyLoadBalancerAttributes",
            resource_arn=load_balancer_arn,
            physical_id=Stack.of(scope).stack_name + "/" + construct_id,
        )


# The construct paths of each stack's protections (by the stack object's id), which must not wait
# for one another: they would wait in a circle. Paths, because jsii hands out a new Python object
# for a construct made on its side each time it is returned.
_STEPS: dict[int, list[str]] = {}


@jsii.implements(IAspect)
class _AfterEverything:
    """Makes a protection depend on every other resource of its stack, at synthesis, when the
    stack holds everything it will."""

    def __init__(self, protection: DeletionProtection) -> None:
        self.protection = protection

    def visit(self, node: IConstruct) -> None:
        if node is not self.protection:
            return
        stack = Stack.of(node)
        steps = tuple(_STEPS[id(stack)])
        others: Sequence[IConstruct] = [
            c for c in stack.node.find_all() if isinstance(c, CfnResource) and not c.node.path.startswith(steps)
        ]
        self.protection.resource.node.add_dependency(*others)
