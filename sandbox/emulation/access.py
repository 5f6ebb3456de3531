"""Permissions AWS checks when it acts for the stacks, checked here at the moment AWS would: with the
evaluator and the rows that `make test` runs over the templates (review/access), on the account
as the emulator holds it now (its IAM roles and their policies, its KMS keys and key policies)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from review.access.account import aws_managed_policy
from review.access.acts import (
    Need,
    SecretOf,
    alarm_publish_needs,
    kms_context,
    log_group_key_needs,
    log_needs,
    pull_needs,
    pull_through_needs,
    secret_needs,
)
from review.access.policy import Decision, Policy, Request, Source, decide
from sandbox.emulation.common import client

EXTENSIONS = {
    "ECS task execution role": (
        "before a task starts (a service's deployment, RunTask), ECS's requests with the execution role are decided on the "
        "account as the emulator holds it (the role's inline and attached policies, the keys' key policies): the registry login "
        "and pull, the pull-through import, each secret and its customer-managed key, the log stream (rows ecs-pull-image, "
        "ecs-pull-through-cache, ecs-inject-secret, ecs-awslogs of review/access/acts.py; ECS developer guide, 'Task execution IAM "
        "role' and 'Stopped tasks errors'). A denied request stops the task with ECS's reason and the AccessDeniedException, so a "
        "deployment fails and the circuit breaker rolls it back. Not modelled: service control policies, permissions boundaries, "
        "KMS grants, the registry's permissions policy, the role's trust policy"
    ),
    "log groups under a customer-managed key": (
        "CreateLogGroup (and so a log group's create in a stack) fails with AccessDeniedException 'The specified KMS key does "
        "not exist or is not allowed to be used with Arn ...' unless the key exists in the region and its key policy lets the "
        "regional CloudWatch Logs principal encrypt for that group's encryption context (row logs-customer-key; CloudWatch Logs "
        "user guide, 'Encrypt log data in CloudWatch Logs using AWS KMS'); moto also dropped a template's KmsKeyId. Kinder "
        "than AWS where not modelled: AssociateKmsKey on an existing group, and a key policy changed after the group was made "
        "(AWS then fails the group's writes; here nothing is written to fail)"
    ),
    "alarm notifications to an encrypted topic": (
        "an alarm's publish to a topic whose key policy does not let cloudwatch.amazonaws.com use the key fails: nothing is "
        "published or counted (row alarm-publish-encrypted-topic; SNS developer guide, 'Key management'). Not modelled: the "
        "'Failed to execute action' entry AWS writes in the alarm's history"
    ),
}


def _role_policies(account: str, role_arn: str) -> list[Policy]:
    """The role's inline and attached policies, as IAM holds them now; none for a role that is gone.
    Read from moto's IAM itself: its GetRolePolicy answers a role's CloudFormation `Policies` as
    Python's repr rather than JSON."""
    from moto.iam.models import iam_backends

    name = role_arn.rsplit("/", 1)[-1]
    role = next((r for r in iam_backends[account]["aws"].roles.values() if r.name == name), None)
    if role is None:
        return []
    found = [Policy(_document(document), Source("IAM", name, (policy,))) for policy, document in role.policies.items()]
    for arn, managed in role.managed_policies.items():
        if arn.startswith("arn:aws:iam::aws:policy/"):
            document = aws_managed_policy(arn)
        else:
            (version,) = [v for v in managed.versions if v.is_default]
            document = _document(version.document)
        found.append(Policy(document, Source("IAM", name, (arn,)), managed=True))
    return found


def _document(value: Any) -> dict[str, Any]:
    return dict(json.loads(value) if isinstance(value, str) else value)


def _key(region: str, reference: str) -> tuple[str, Policy, list[str]] | None:
    """(ARN, key policy, aliases) of a key by id, ARN or alias in the region; None when KMS has none."""
    from botocore.exceptions import ClientError

    kms = client("kms", region)
    try:
        meta = kms.describe_key(KeyId=reference)["KeyMetadata"]
    except ClientError:
        return None
    policy = _document(kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"])
    aliases = [a["AliasName"] for a in kms.list_aliases(KeyId=meta["KeyId"]).get("Aliases", [])]
    return meta["Arn"], Policy(policy, Source("KMS", meta["KeyId"], ())), aliases


def decide_live(account: str, need: Need) -> Decision:
    """One request of a row, decided on the emulator's IAM and KMS as they are now."""
    request = need.request
    identity = [] if request.is_service else _role_policies(account, request.principal)
    if need.key is None:
        return decide(request, identity, None, account=account)
    region = need.key_region or ""
    found = _key(region, need.key)
    if found is None:
        return Decision(False, f"NotFoundException: Key '{need.key}' does not exist in {region}")
    arn, key_policy, aliases = found
    keyed = Request(request.principal, request.action, arn, kms_context(account, aliases, request.context))
    return decide(keyed, identity, key_policy, account=account, key_policy=True)


def _secret_of(account: str, region: str) -> SecretOf:
    def of(value_from: str) -> tuple[str, str | None]:
        from moto.secretsmanager.models import SecretsManagerBackend, secretsmanager_backends

        arn = ":".join(value_from.split(":")[:7])  # less `:json-key:version-stage:version-id`
        # From the store itself: it finds a replica by a partial ARN, as ECS does; DescribeSecret here does not.
        secret = secretsmanager_backends[account][region].secrets.get(arn)
        if secret is None:
            return arn, None  # a secret that is not there: ecs.secret_problem says so
        key = getattr(secret, "kms_key_id", None)
        return secret.arn, None if key in (None, SecretsManagerBackend.DEFAULT_KMS_KEY_ALIAS) else key

    return of


def _pascal(container: dict[str, Any]) -> dict[str, Any]:
    """The API's container definition in the template's casing, which the rows read."""
    logs = container.get("logConfiguration") or {}
    return {
        "Name": container.get("name", ""),
        "Image": container.get("image", ""),
        "Secrets": [{"Name": s["name"], "ValueFrom": s["valueFrom"]} for s in container.get("secrets") or []],
        "LogConfiguration": {"LogDriver": logs.get("logDriver"), "Options": logs.get("options") or {}},
    }


def _task_start_needs(account: str, region: str, task_definition: Any) -> Iterator[Need]:
    from sandbox.emulation.ecs import PULL_THROUGH_CACHE_RULES

    role = getattr(task_definition, "execution_role_arn", None) or f"arn:aws:iam::{account}:role/no-execution-role"
    prefixes = {prefix: where for (owner, where, prefix) in PULL_THROUGH_CACHE_RULES if owner == account}
    for raw in task_definition.container_definitions:
        if not raw.get("essential", True):
            continue
        container, subject = _pascal(raw), f"container {raw.get('name')}"
        yield from pull_needs(account, role, container, subject)
        yield from pull_through_needs(account, role, container, prefixes, subject)
        yield from secret_needs(account, region, role, container, _secret_of(account, region), subject)
        yield from log_needs(account, role, container, subject)


def _stopped_reason(account: str, need: Need, decision: Decision) -> str:
    """ECS's stopped reason for a request AWS refused (ECS developer guide, 'Stopped tasks errors')."""
    r = need.request
    denied = (
        f"AccessDeniedException: User: arn:aws:sts::{account}:assumed-role/{r.principal.rsplit('/', 1)[-1]}/task "
        f"is not authorized to perform: {r.action} on resource: {r.resource} ({decision.reason})"
    )
    prefix = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed"
    if r.action == "ecr:GetAuthorizationToken":
        return f"{prefix}: unable to retrieve ecr registry auth: service call has been retried 3 time(s): {denied}"
    if r.action.startswith("ecr:"):
        return f"CannotPullContainerError: pull image manifest has been retried 1 time(s): 403 Forbidden: {denied}"
    if r.action.startswith("ssm:"):
        return f"{prefix}: unable to retrieve secrets from ssm: service call has been retried 1 time(s): {denied}"
    if r.action.startswith(("secretsmanager:", "kms:")):
        return f"{prefix}: unable to retrieve secret from asm: service call has been retried 1 time(s): {denied}"
    return f"ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: {denied}"


def task_start_problem(account: str, region: str, task_definition: Any) -> str | None:
    """Why ECS could not start a task of this definition with its execution role, or None."""
    for need in _task_start_needs(account, region, task_definition):
        decision = decide_live(account, need)
        if not decision.allowed:
            return _stopped_reason(account, need, decision)
    return None


def log_group_key_problem(account: str, region: str, group: str, key: str) -> str | None:
    """Why CloudWatch Logs would refuse to create `group` under `key`, or None."""
    for need in log_group_key_needs(account, region, group, key, group):
        if not decide_live(account, need).allowed:
            arn = f"arn:aws:logs:{region}:{account}:log-group:{group}"
            return f"The specified KMS key does not exist or is not allowed to be used with Arn '{arn}'"
    return None


def alarm_publish_allowed(account: str, region: str, alarm_arn: str, topic_arn: str) -> bool:
    """Whether CloudWatch may publish the alarm's notification to the topic (its key, if it has one)."""
    from moto.sns.models import sns_backends

    topic = sns_backends[account][region].topics.get(topic_arn)
    key = getattr(topic, "kms_master_key_id", "") if topic is not None else ""
    if not key:
        return True
    return all(decide_live(account, need).allowed for need in alarm_publish_needs(account, alarm_arn, key, region, alarm_arn))


def install() -> None:
    """CreateLogGroup checks its key, for the API and for CloudFormation, which passes `KmsKeyId`."""
    from moto.core.exceptions import JsonRESTError
    from moto.logs.models import LogsBackend

    create = LogsBackend.create_log_group

    def create_log_group(self: Any, log_group_name: str, tags: dict[str, str], **kwargs: Any) -> Any:
        key = kwargs.get("kmsKeyId") or kwargs.get("KmsKeyId")
        if key:
            problem = log_group_key_problem(self.account_id, self.region_name, log_group_name, key)
            if problem:
                raise JsonRESTError("AccessDeniedException", problem)
            kwargs["kmsKeyId"] = key
        return create(self, log_group_name, tags, **kwargs)

    LogsBackend.create_log_group = create_log_group  # type: ignore[method-assign]
