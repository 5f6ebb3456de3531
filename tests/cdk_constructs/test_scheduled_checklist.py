"""cdk_constructs/scheduled_checklist.py: the daily checklist, run by EventBridge Scheduler."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from cdk_constructs.scheduled_checklist import ScheduledChecklist
from tests.cdk_constructs.conftest import built, of_type, one

CODE = Path(__file__).resolve().parents[2] / "runbook" / "scheduled"
TOPIC = "arn:aws:sns:us-west-2:123456789012:app-alerts-warning"
TOPIC_KEY = "arn:aws:kms:us-west-2:123456789012:key/alerts"


def _checklist(stack: Stack) -> ScheduledChecklist:
    return ScheduledChecklist(
        stack,
        "Daily",
        function_name="app-daily-checklist",
        code_directory=str(CODE),
        handler="daily.handler",
        settings={"env": "prod", "limits": {"ecs_cpu": 70}},
        topic_arn=TOPIC,
        topic_key_arn=TOPIC_KEY,
        log_group=logs.LogGroup(stack, "Logs"),
        hour=8,
        time_zone="America/Los_Angeles",
        cluster_name="app",
        service_name="app",
        db_instance="app-db",
    )


@pytest.fixture(scope="module")
def template() -> Template:
    return built(_checklist)[1]


def test_it_builds_in_a_stack_whose_account_and_region_are_not_known_yet() -> None:
    """An environment-agnostic stack: the ARNs hold tokens, whose text has braces (str.format failed on them)."""
    stack = Stack(App(), "Agnostic")
    _checklist(stack)
    statements = json.dumps(Template.from_stack(stack).to_json())
    assert "service/app/app" in statements and "db:app-db" in statements


def test_it_runs_every_morning_in_the_configured_time_zone(template: Template) -> None:
    props = one(template, "AWS::Scheduler::Schedule")["Properties"]
    assert props["ScheduleExpression"] == "cron(0 8 * * ? *)" and props["ScheduleExpressionTimezone"] == "America/Los_Angeles"
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    function_id = next(iter(of_type(template, "AWS::Lambda::Function")))
    assert props["Target"]["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}


def test_the_function_gets_its_settings_and_only_what_it_reads(template: Template) -> None:
    function = one(template, "AWS::Lambda::Function")["Properties"]
    assert function["Handler"] == "daily.handler" and function["Runtime"].startswith("python3.")
    assert json.loads(function["Environment"]["Variables"]["CHECKLIST"]) == {"env": "prod", "limits": {"ecs_cpu": 70}}
    statements = [s for p in of_type(template, "AWS::IAM::Policy").values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {
        "cloudwatch:GetMetricStatistics",
        "cloudwatch:DescribeAlarms",
        "ecs:DescribeServices",
        "rds:DescribeDBInstances",
        "sns:Publish",
        "kms:GenerateDataKey*",
        "kms:Decrypt",
        "lambda:InvokeFunction",
    }
    (publish,) = [s for s in statements if s["Action"] == "sns:Publish"]
    assert publish["Resource"] == TOPIC


def test_it_may_use_the_topic_key_through_sns_only(template: Template) -> None:
    """SNS refuses a publish to a KMS-encrypted topic unless the publisher may use its key
    (SNS developer guide, "Key management")."""
    statements = [s for p in of_type(template, "AWS::IAM::Policy").values() for s in p["Properties"]["PolicyDocument"]["Statement"]]
    (key,) = [s for s in statements if "kms:Decrypt" in s["Action"]]
    assert key["Resource"] == TOPIC_KEY
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": "sns.us-west-2.amazonaws.com"}}


def test_the_function_code_is_one_file_of_the_standard_library_and_boto3() -> None:
    """No third-party dependency: what the Lambda runtime has is all it imports."""
    import ast
    import sys

    tree = ast.parse((CODE / "daily.py").read_text())
    imported = {n.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for n in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - set(sys.stdlib_module_names) == {"boto3"}
