"""Read a value that lives in another region at deploy time, without CloudFormation exports."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from cdk_constructs.compliance import acknowledge


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
        # The lookup runs in CDK's shared custom-resource function, a child of the stack.
        function = stack.node.try_find_child(_AWS_CUSTOM_RESOURCE_FUNCTION_ID)
        if function is not None:
            for rule, reason in _FUNCTION_REASONS.items():
                acknowledge(function, rule, reason)


# aws-cdk-lib's custom_resources.AwsCustomResource singleton: "AWS" + its uuid without dashes.
_AWS_CUSTOM_RESOURCE_FUNCTION_ID = "AWS679f53fac002430cb0da5b7982bd2287"
_DEPLOY_TIME_ONLY = (
    "CDK's AwsCustomResource function runs only when CloudFormation creates or updates the "
    "lookup, makes one read-only AWS API call and holds no data"
)
_FUNCTION_REASONS = {
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": (
        f"{_DEPLOY_TIME_ONLY}; the AWS-managed basic execution policy only lets it write its own logs."
    ),
    "NIST.800.53.R5-LambdaConcurrency": f"{_DEPLOY_TIME_ONLY}; it is invoked once per deployment.",
    "NIST.800.53.R5-LambdaDLQ": f"{_DEPLOY_TIME_ONLY}; CloudFormation receives its failures synchronously.",
    "NIST.800.53.R5-LambdaInsideVPC": f"{_DEPLOY_TIME_ONLY}; it calls the KMS API of another region, not the VPC.",
    "NIST.800.53.R5-CloudWatchLogGroupEncrypted": (
        f"{_DEPLOY_TIME_ONLY}; its log group (created by CDK) holds only the call's request and status."
    ),
}
