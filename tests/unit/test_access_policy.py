"""The evaluator (review/access/policy.py) decides as AWS's IAM User Guide ("Policy evaluation logic",
"Condition operators") and KMS Developer Guide ("Key policies") say, and refuses what it does not model."""

from __future__ import annotations

from typing import Any

import pytest

from review.access.policy import Policy, Request, Source, UnsupportedError, decide, matches

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/task-execution"
KEY = f"arn:aws:kms:us-west-2:{ACCOUNT}:key/1234"
TOPIC = f"arn:aws:sns:us-west-2:{ACCOUNT}:alerts"


def _policy(*statements: dict[str, Any]) -> Policy:
    return Policy({"Version": "2012-10-17", "Statement": list(statements)}, Source("Stack", "Thing", ("PolicyDocument",)))


def _allow(action: str, resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


DELEGATE = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}


def test_nothing_allows_what_no_policy_names() -> None:
    decision = decide(Request(ROLE, "sns:Publish", TOPIC), [_policy(_allow("sns:Subscribe", TOPIC))], None, account=ACCOUNT)
    assert not decision.allowed


def test_an_identity_policy_allows_within_the_account() -> None:
    assert decide(Request(ROLE, "sns:Publish", TOPIC), [_policy(_allow("sns:Publish", TOPIC))], None, account=ACCOUNT).allowed


def test_an_explicit_deny_in_the_resource_policy_wins_over_an_identity_allow() -> None:
    deny = _policy({"Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Resource": TOPIC})
    decision = decide(Request(ROLE, "sns:Publish", TOPIC), [_policy(_allow("sns:*"))], deny, account=ACCOUNT)
    assert not decision.allowed and "explicitly denied" in decision.reason


def test_a_service_principal_is_allowed_only_by_a_resource_policy_that_names_it() -> None:
    request = Request("events.amazonaws.com", "sns:Publish", TOPIC)
    names_it = _policy({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish", "Resource": TOPIC})
    names_another = _policy(
        {"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish", "Resource": TOPIC}
    )
    assert decide(request, [], names_it, account=ACCOUNT).allowed
    assert not decide(request, [], names_another, account=ACCOUNT).allowed


def test_a_key_policy_that_delegates_to_the_account_needs_the_identity_policy_too() -> None:
    request = Request(ROLE, "kms:Decrypt", KEY)
    assert not decide(request, [], _policy(DELEGATE), account=ACCOUNT, key_policy=True).allowed
    assert decide(request, [_policy(_allow("kms:Decrypt", KEY))], _policy(DELEGATE), account=ACCOUNT, key_policy=True).allowed


def test_an_identity_allow_is_not_enough_when_the_key_policy_does_not_delegate() -> None:
    only_logs = _policy({"Effect": "Allow", "Principal": {"Service": "logs.us-west-2.amazonaws.com"}, "Action": "kms:*", "Resource": "*"})
    decision = decide(Request(ROLE, "kms:Decrypt", KEY), [_policy(_allow("kms:*"))], only_logs, account=ACCOUNT, key_policy=True)
    assert not decision.allowed


def test_a_key_policy_naming_the_role_allows_it_without_an_identity_policy() -> None:
    names_role = _policy({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:Decrypt", "Resource": "*"})
    assert decide(Request(ROLE, "kms:Decrypt", KEY), [], names_role, account=ACCOUNT, key_policy=True).allowed


@pytest.mark.parametrize(
    ("via", "allowed"), [("secretsmanager.us-west-2.amazonaws.com", True), ("ssm.us-west-2.amazonaws.com", False), (None, False)]
)
def test_a_condition_on_a_key_is_met_only_by_the_value_it_names(via: str | None, allowed: bool) -> None:
    statement = _allow("kms:Decrypt", KEY, Condition={"StringEquals": {"kms:ViaService": "secretsmanager.us-west-2.amazonaws.com"}})
    context = {} if via is None else {"kms:ViaService": via}
    assert decide(Request(ROLE, "kms:Decrypt", KEY, context), [_policy(statement)], None, account=ACCOUNT).allowed is allowed


def test_an_absent_key_fails_a_matching_operator_but_not_if_exists_or_a_negated_one() -> None:
    def allowed(condition: dict[str, Any]) -> bool:
        return decide(
            Request(ROLE, "sns:Publish", TOPIC), [_policy(_allow("sns:Publish", Condition=condition))], None, account=ACCOUNT
        ).allowed

    assert not allowed({"StringEquals": {"aws:SourceAccount": ACCOUNT}})
    assert allowed({"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}})
    assert allowed({"StringNotEquals": {"aws:SourceAccount": ACCOUNT}})


def test_an_encryption_context_condition_names_one_log_group() -> None:
    group = f"arn:aws:logs:us-west-2:{ACCOUNT}:log-group:/ecs/contractorlens"
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "logs.us-west-2.amazonaws.com"},
        "Action": ["kms:Encrypt*", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": group}},
    }
    key = _policy(DELEGATE, statement)

    def allowed(context_group: str) -> bool:
        request = Request("logs.us-west-2.amazonaws.com", "kms:GenerateDataKey", KEY, {"kms:EncryptionContext:aws:logs:arn": context_group})
        return decide(request, [], key, account=ACCOUNT, key_policy=True).allowed

    assert allowed(group)
    assert not allowed(group + "/grafana")


def test_for_any_value_matches_one_of_a_multivalued_key() -> None:
    statement = _allow("kms:DescribeKey", Condition={"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/dr"}})
    request = Request(ROLE, "kms:DescribeKey", KEY, {"kms:ResourceAliases": ["alias/other", "alias/dr"]})
    assert decide(request, [_policy(statement)], None, account=ACCOUNT).allowed


def test_wildcards_match_as_iam_documents_them() -> None:
    assert matches("ecr:Batch*", "ecr:BatchGetImage")
    assert matches("arn:aws:secretsmanager:*:*:secret:name-??????", "arn:aws:secretsmanager:us-east-1:1:secret:name-AbCdEf")
    assert not matches("arn:aws:secretsmanager:*:*:secret:name", "arn:aws:secretsmanager:us-east-1:1:secret:name-AbCdEf")
    assert not matches("arn:aws:logs:a.b", "arn:aws:logs:axb")  # a dot is a dot, not a regular expression
    assert matches("ECR:batchgetimage", "ecr:BatchGetImage", case_sensitive=False)


@pytest.mark.parametrize(
    "statement",
    [
        _allow("sns:Publish", Condition={"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}),
        {"Effect": "Allow", "NotPrincipal": {"AWS": ROLE}, "Action": "sns:Publish", "Resource": "*"},
        _allow("sns:Publish", "arn:aws:sns:us-west-2:1:${aws:username}"),
    ],
    ids=["numeric operator", "NotPrincipal", "policy variable"],
)
def test_what_it_does_not_model_is_refused_not_guessed(statement: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedError):
        decide(Request(ROLE, "sns:Publish", TOPIC), [_policy(statement)], _policy(statement), account=ACCOUNT)
