"""CloudWatch log groups that outlive their stack and are encrypted with our own key."""

from __future__ import annotations

from typing import cast

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdk_constructs.keys import customer_key


def encrypted_log_group(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    retention_days: int,
    key: kms.IKey,
    statement_id: str = "",
) -> logs.LogGroup:
    """A named log group, KMS-encrypted, retained when its stack is deleted or replaced.

    :param name: the log group's name; the manual's commands use it verbatim.
    :param retention_days: one of CloudWatch Logs' retention periods (validated in config).
    :param key: the customer-managed key; its policy is extended so that CloudWatch Logs may
        use it for this log group only (the encryption context names the group's ARN).
    :param statement_id: the Sid of that key policy statement, unique in the key's policy.
        Default: CloudWatchLogs<construct_id>.
    """
    stack = Stack.of(scope)
    group_arn = stack.format_arn(service="logs", resource="log-group", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=statement_id or f"CloudWatchLogs{construct_id}",
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            resources=["*"],
            conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": group_arn}},
        )
    )
    group = logs.LogGroup(
        scope,
        construct_id,
        log_group_name=name,
        encryption_key=key,
        removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    )
    # RetentionDays members carry names, not numbers; the config already holds a valid number.
    cast(logs.CfnLogGroup, group.node.default_child).retention_in_days = retention_days
    return group


class ServiceLogs(Construct):
    """The backend's log groups, the manual's `/ecs/contractorlens` first, and their keys.

    One key for the application log, the ECS Exec session log, the WAF log and the service's
    secrets; another for ECS Exec sessions themselves. All retained.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key_alias: str,
        app_log_group: str,
        exec_log_group: str,
        waf_log_group: str,
        retention_days: int,
    ) -> None:
        """
        :param key_alias: the key's alias, e.g. alias/contractorlens-service.
        :param app_log_group: the application's group (manual: /ecs/contractorlens).
        :param exec_log_group: where ECS Exec sessions are logged.
        :param waf_log_group: WAF's log group; its name starts with aws-waf-logs-.
        :param retention_days: retention of all three.
        """
        super().__init__(scope, construct_id)
        self.key = customer_key(
            self,
            "Key",
            alias=key_alias,
            description=f"Encrypts {app_log_group}, the ECS Exec and WAF logs and the service's secrets",
        )
        # ECS Exec's session key is separate: CDK grants CloudWatch Logs the use of that key for
        # every log group of the account, which must not reach the key of the app's logs and secrets.
        self.exec_session_key = customer_key(
            self,
            "ExecSessionKey",
            description="Encrypts ECS Exec sessions of the ContractorLens backend",
        )
        self.app = encrypted_log_group(self, "App", name=app_log_group, retention_days=retention_days, key=self.key)
        self.exec = encrypted_log_group(self, "Exec", name=exec_log_group, retention_days=retention_days, key=self.key)
        self.waf = encrypted_log_group(self, "Waf", name=waf_log_group, retention_days=retention_days, key=self.key)
