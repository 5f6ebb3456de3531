"""cdk_constructs/logs.py: named, encrypted, retained log groups, and the service's set of them."""

from __future__ import annotations

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template
from aws_cdk.aws_logs import LogGroup

from cdk_constructs.keys import customer_key
from cdk_constructs.logs import ServiceLogs, encrypted_log_group
from tests.cdk_constructs.conftest import built, of_type, one


def test_a_log_group_has_its_name_retention_and_key_and_survives_its_stack() -> None:
    def build(stack: Stack) -> LogGroup:
        return encrypted_log_group(stack, "Group", name="/ecs/app", retention_days=365, key=customer_key(stack, "Key", description="d"))

    _, template = built(build)
    group = one(template, "AWS::Logs::LogGroup")
    assert (group["Properties"]["LogGroupName"], group["Properties"]["RetentionInDays"]) == ("/ecs/app", 365)
    assert group["DeletionPolicy"] == "RetainExceptOnCreate"
    (key_id,) = of_type(template, "AWS::KMS::Key")
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_cloudwatch_logs_may_use_the_key_for_that_group_only() -> None:
    def build(stack: Stack) -> LogGroup:
        return encrypted_log_group(stack, "Group", name="/ecs/app", retention_days=30, key=customer_key(stack, "Key", description="d"))

    _, template = built(build)
    statements = one(template, "AWS::KMS::Key")["Properties"]["KeyPolicy"]["Statement"]
    (logs,) = [s for s in statements if s.get("Sid") == "CloudWatchLogsGroup"]
    assert logs["Principal"] == {"Service": "logs.us-west-2.amazonaws.com"}
    assert "/ecs/app" in str(logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"])


@pytest.fixture(scope="module")
def service_logs() -> tuple[ServiceLogs, Template]:
    return built(
        lambda stack: ServiceLogs(
            stack, "Logs", key_alias="alias/app", app_log_group="/ecs/app", exec_log_group="/ecs/app/exec",
            waf_log_group="aws-waf-logs-app", retention_days=90,
        )
    )  # fmt: skip


def test_the_service_has_its_three_groups(service_logs: tuple[ServiceLogs, Template]) -> None:
    names = {g["Properties"]["LogGroupName"] for g in of_type(service_logs[1], "AWS::Logs::LogGroup").values()}
    assert names == {"/ecs/app", "/ecs/app/exec", "aws-waf-logs-app"}


def test_exec_sessions_have_a_key_of_their_own(service_logs: tuple[ServiceLogs, Template]) -> None:
    """CDK lets CloudWatch Logs use the ECS Exec key for any group; that key must not be the one of the app's logs."""
    logs, template = service_logs
    assert len(of_type(template, "AWS::KMS::Key")) == 2
    assert logs.key is not logs.exec_session_key
