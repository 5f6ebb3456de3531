"""Values across regions at deploy time, without CloudFormation exports: look a key up, write a parameter."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from cdk_constructs.compliance import acknowledge, settle_aws_custom_resource_function


class RemoteKeyArn(Construct):
    """The ARN of a KMS key in another region, looked up by its alias at deploy time.

    RDS needs the ARN of the DR region's key to replicate backups, and a key's ARN holds a
    random id. A cross-region export would pin the DR stack forever (aws/aws-cdk#30771), so
    the key keeps a fixed alias and this read-only `kms:DescribeKey` call resolves it when
    the lookup is created or its region or alias change.
    """

    def __init__(self, scope: Construct, construct_id: str, *, region: str, alias_name: str) -> None:
        """
        :param region: the key's region.
        :param alias_name: the key's alias, e.g. alias/contractorlens-dr-data.
        """
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        call = cr.AwsSdkCall(
            service="KMS",
            action="describeKey",
            parameters={"KeyId": alias_name},
            region=region,
            physical_resource_id=cr.PhysicalResourceId.of(f"{region}/{alias_name}"),
            output_paths=["KeyMetadata.Arn"],
        )
        key_arns = f"arn:{stack.partition}:kms:{region}:{stack.account}:key/*"
        self._lookup = cr.AwsCustomResource(
            self,
            "Lookup",
            on_create=call,
            on_update=call,
            install_latest_aws_sdk=False,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["kms:DescribeKey"],
                        resources=[key_arns],
                        conditions={"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias_name}},
                    )
                ]
            ),
        )
        self.key_arn: str = self._lookup.get_response_field("KeyMetadata.Arn")

        acknowledge(
            self._lookup,
            f"AwsSolutions-IAM5[Resource::{key_arns}]",
            "A key's ARN is what is being looked up, so the statement cannot name it; the "
            "kms:ResourceAliases condition limits it to the key behind this one alias, and to DescribeKey.",
        )
        acknowledge(
            self._lookup,
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "CDK generates this single-statement policy for this lookup's role only.",
        )
        settle_aws_custom_resource_function(stack)


class ParameterInRegion(Construct):
    """An SSM parameter written into another region, so a stack there can read it locally.

    The reader resolves it with an SSM parameter reference in its own region: nothing is
    exported, and the reader keeps working when this stack's region is gone (the parameter
    lives in the reader's region). Deleted with this construct.
    """

    def __init__(self, scope: Construct, construct_id: str, *, region: str, name: str, value: str, description: str) -> None:
        """
        :param region: where the parameter is written.
        :param name: the parameter's name, e.g. /contractorlens/production/dr/primary-health-check-id.
        :param value: its value; may be a token of this stack (it is resolved at deploy time).
        :param description: shown in Parameter Store.
        """
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        parameter_arn = f"arn:{stack.partition}:ssm:{region}:{stack.account}:parameter{name}"
        put = cr.AwsSdkCall(
            service="SSM",
            action="putParameter",
            parameters={"Name": name, "Value": value, "Type": "String", "Overwrite": True, "Description": description},
            region=region,
            physical_resource_id=cr.PhysicalResourceId.of(f"{region}{name}"),
        )
        writer = cr.AwsCustomResource(
            self,
            "Writer",
            on_create=put,
            on_update=put,
            on_delete=cr.AwsSdkCall(
                service="SSM",
                action="deleteParameter",
                parameters={"Name": name},
                region=region,
                ignore_error_codes_matching="ParameterNotFound",
            ),
            install_latest_aws_sdk=False,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["ssm:PutParameter", "ssm:DeleteParameter"], resources=[parameter_arn])]
            ),
        )
        acknowledge(
            writer,
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "CDK generates this single-statement policy, limited to this one parameter, for this writer only.",
        )
        settle_aws_custom_resource_function(stack)
