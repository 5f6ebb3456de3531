"""A boto3-only function that EventBridge Scheduler runs every morning: the daily checklist."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from cdk_constructs.compliance import CONTROL_TOWER, acknowledge


class ScheduledChecklist(Construct):
    """The function (its code: one file, the standard library and the runtime's boto3), its
    schedule, and the least privilege it reads with: CloudWatch metrics and alarms, the ECS
    service, the RDS instance, and Publish on one topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function_name: str,
        code_directory: str,
        handler: str,
        settings: Mapping[str, Any],
        topic_arn: str,
        topic_key_arn: str | None,
        log_group: logs.ILogGroup,
        hour: int,
        time_zone: str,
        cluster_name: str,
        service_name: str,
        db_instance: str,
    ) -> None:
        """
        :param function_name: e.g. contractorlens-production-daily-checklist.
        :param code_directory: the directory whose files are the function's code.
        :param handler: `module.function` in it, e.g. daily.handler.
        :param settings: what the function checks and against which limits, as JSON in its
            environment (`CHECKLIST`).
        :param topic_arn: where it posts the result (the warning topic).
        :param topic_key_arn: the KMS key that encrypts that topic, or None for an unencrypted one:
            a publisher needs `kms:GenerateDataKey*` and `kms:Decrypt` on it (SNS developer guide,
            "Key management"), or SNS refuses every publish.
        :param log_group: its log group.
        :param hour: the hour it runs, every day, in `time_zone`.
        :param time_zone: an IANA time zone, e.g. America/Los_Angeles.
        :param cluster_name: the ECS cluster it reads the service of.
        :param service_name: that service.
        :param db_instance: the RDS instance it reads.
        """
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            # The newest Python runtime of this CDK (AwsSolutions-L1); the code needs 3.11 or later.
            runtime=lambda_.Runtime.PYTHON_3_14,
            code=lambda_.Code.from_asset(code_directory, exclude=["__pycache__", "*.pyc"]),
            handler=handler,
            timeout=Duration.minutes(2),
            memory_size=256,
            # to_json_string: the settings hold tokens (the load balancer's name) resolved at deploy.
            environment={"CHECKLIST": stack.to_json_string(dict(sorted(settings.items())))},
            log_group=log_group,
            description="The manual's daily checklist (runbook/scheduled/daily.py), posted to the warning topic",
        )
        self._grant_reads(cluster_name=cluster_name, service_name=service_name, db_instance=db_instance, topic_arn=topic_arn)
        self._topic_key = topic_key_arn is not None
        if topic_key_arn is not None:
            self.function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    resources=[topic_key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"sns.{stack.region}.amazonaws.com"}},
                )
            )
        invoker = iam.Role(self, "SchedulerRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"))
        # The function itself, not its versions (grant_invoke would add `:*`): the schedule calls it unqualified.
        invoker.add_to_policy(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.function.function_arn]))
        self._invoker = invoker
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            name=function_name,
            description="Every morning: the manual's daily checklist, posted to the warning topic",
            schedule_expression=f"cron(0 {hour} * * ? *)",
            schedule_expression_timezone=time_zone,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(arn=self.function.function_arn, role_arn=invoker.role_arn),
        )
        self._acknowledge_findings()

    def _grant_reads(self, *, cluster_name: str, service_name: str, db_instance: str, topic_arn: str) -> None:
        """What it reads, and the one topic it may publish to."""
        stack = Stack.of(self)
        # format_arn, not str.format over a string holding tokens (a token's text has braces).
        service_arn = stack.format_arn(service="ecs", resource="service", resource_name=f"{cluster_name}/{service_name}")
        db_arn = stack.format_arn(service="rds", resource="db", resource_name=db_instance, arn_format=ArnFormat.COLON_RESOURCE_NAME)
        for statement in (
            iam.PolicyStatement(actions=["cloudwatch:GetMetricStatistics", "cloudwatch:DescribeAlarms"], resources=["*"]),
            iam.PolicyStatement(actions=["ecs:DescribeServices"], resources=[service_arn]),
            iam.PolicyStatement(actions=["rds:DescribeDBInstances"], resources=[db_arn]),
            iam.PolicyStatement(actions=["sns:Publish"], resources=[topic_arn]),
        ):
            self.function.add_to_role_policy(statement)

    def _acknowledge_findings(self) -> None:
        function = self.function
        role = cast(iam.Role, function.role)
        policy = role.node.find_child("DefaultPolicy")
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "cloudwatch:GetMetricStatistics and DescribeAlarms have no resource-level permissions (the service authorization reference).",
        )
        if self._topic_key:
            acknowledge(
                policy,
                "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                "The action list SNS's key-management guide gives a publisher to an encrypted topic; held to the topic's "
                "one key and to calls made through SNS (kms:ViaService).",
            )
        for rule in ("AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",):
            acknowledge(role, rule, "AWS's managed policy lets the function write its own log group, nothing else.")
        for rule in ("NIST.800.53.R5-LambdaInsideVPC", f"{CONTROL_TOWER}lambda_inside_vpc_check"):
            acknowledge(
                function,
                rule,
                "It reads CloudWatch, ECS and RDS through their public endpoints and GETs the API's public /health, as a user "
                "would; in the VPC it would need a NAT or endpoints for the same.",
            )
        for rule in ("NIST.800.53.R5-LambdaConcurrency", "NIST.800.53.R5-LambdaDLQ"):
            acknowledge(function, rule, "Run once a day by its schedule; a failed run is retried by the scheduler and seen in its log.")
        acknowledge(policy, "NIST.800.53.R5-IAMNoInlinePolicy", "CDK generates this policy for this function's role only.")
        acknowledge(
            self._invoker.node.find_child("DefaultPolicy"),
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "CDK generates this policy for the schedule's role only: invoke this one function.",
        )
