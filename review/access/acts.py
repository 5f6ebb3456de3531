"""The table of what AWS does on the stacks' behalf: one row (`Act`) per act, with who acts, the
permissions AWS's documentation names for it, that page, and the requests the act makes against a
synthesis's templates (`needs`). `check` decides every request; `markdown_table` writes the
README's table (`make access-table`).

A request a row makes is the one AWS makes: its principal (the role the service assumes, or the
service principal itself), its action, the resource's ARN and the context keys AWS sets
(`kms:ViaService`, the encryption context, `aws:SourceAccount`, ...), so a condition in a policy
is checked against what AWS would send.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import botocore.session
from botocore import xform_name

from review.access.account import Account, UnresolvedError
from review.access.policy import Context, Decision, Request


@dataclass(frozen=True)
class Need:
    """One request an act makes; `key` names the KMS key whose key policy decides it too."""

    subject: str
    request: Request
    key: str | None = None
    key_region: str | None = None
    assume: bool = False
    refusal: str | None = None
    """Set when AWS refuses the request before it evaluates a policy (a name it does not accept)."""


@dataclass(frozen=True)
class Act:
    name: str
    who: str
    what: str
    needs_text: str
    source: str
    needs: Callable[[Account], Iterator[Need]] = field(repr=False)


@dataclass(frozen=True)
class Finding:
    act: Act
    need: Need
    decision: Decision

    def __str__(self) -> str:
        r = self.need.request
        return (
            f"[{self.act.name}] {self.need.subject}: {r.principal} may not {r.action} on {r.resource} "
            f"({self.decision.reason}); AWS documents it at {self.act.source}"
        )


def decide(account: Account, need: Need) -> Decision:
    if need.refusal is not None:
        return Decision(False, need.refusal)
    if need.assume:
        return account.assume(need.request)
    if need.key is not None:
        try:
            key_arn, key_policy = account.key(need.key, region=need.key_region or "")
        except UnresolvedError as missing:  # AWS refuses a key that is not in the region (KMS: NotFoundException)
            return Decision(False, str(missing))
        context = kms_context(account.account, account.key_aliases(key_arn), need.request.context)
        return account.decide(Request(need.request.principal, need.request.action, key_arn, context), key=key_policy)
    return account.decide(need.request)


def check(account: Account, acts: list[Act] | None = None) -> tuple[list[tuple[Act, Need, Decision]], list[Finding]]:
    """Every request of every act, decided; and the denied ones."""
    decided, denied = [], []
    for act in acts if acts is not None else ACTS:
        for need in act.needs(account):
            decision = decide(account, need)
            decided.append((act, need, decision))
            if not decision.allowed:
                denied.append(Finding(act, need, decision))
    return decided, denied


# --- contexts ----------------------------------------------------------------------------------


def _context(account: str, principal: str, extra: Context | None = None) -> dict[str, Any]:
    """The global keys AWS sets on every request (IAM User Guide, "AWS global condition context keys")."""
    service = not principal.startswith("arn:")
    found: dict[str, Any] = {"aws:SecureTransport": "true", "aws:PrincipalIsAWSService": str(service).lower()}
    if service:
        found["aws:SourceAccount"] = account
    else:
        found |= {"aws:PrincipalArn": principal, "aws:PrincipalAccount": account}
    return found | dict(extra or {})


def kms_context(account: str, aliases: list[str], context: Context) -> dict[str, Any]:
    """What KMS adds to a request on a key: the caller's account and the key's aliases."""
    return {"kms:CallerAccount": account, "kms:ResourceAliases": aliases, **context}


def request(account: str, principal: str, action: str, resource: str, extra: Context | None = None) -> Request:
    """A request as AWS makes it: the action on the resource, with the global context keys."""
    return Request(principal, action, resource, _context(account, principal, extra))


def _request(account: Account, principal: str, action: str, resource: str, extra: Context | None = None) -> Request:
    return request(account.account, principal, action, resource, extra)


# --- ECS -----------------------------------------------------------------------------------------

_ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)")


def _containers(account: Account) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(stack, task definition id, its resolved properties, one container)."""
    for stack, logical_id, _ in account.resources("AWS::ECS::TaskDefinition"):
        props = account.props(stack, logical_id)
        for container in props["ContainerDefinitions"]:
            yield stack, logical_id, props, container


def pull_needs(account: str, role: str, container: Mapping[str, Any], subject: str) -> Iterator[Need]:
    """ECS logs in to the account's registry and pulls the container's image with the execution role."""
    image = _ECR_IMAGE.match(str(container["Image"]))
    if image is None:
        return
    registry, region, repository = image.groups()
    repo = f"arn:aws:ecr:{region}:{registry}:repository/{repository}"
    yield Need(f"{subject} ({repository})", request(account, role, "ecr:GetAuthorizationToken", "*"))
    for action in ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"):
        yield Need(f"{subject} ({repository})", request(account, role, action, repo))


def pull_through_needs(account: str, role: str, container: Mapping[str, Any], prefixes: Mapping[str, str], subject: str) -> Iterator[Need]:
    """The first pull through a cache rule (`prefixes`: prefix -> the rule's region) imports the image."""
    image = _ECR_IMAGE.match(str(container["Image"]))
    if image is None:
        return
    registry, region, repository = image.groups()
    prefix = repository.split("/", 1)[0]
    if "/" not in repository or prefix not in prefixes:
        return
    if prefixes[prefix] != region:
        raise UnresolvedError(f"{subject}: {repository} is pulled in {region}, but its cache rule is in {prefixes[prefix]}")
    repo = f"arn:aws:ecr:{region}:{registry}:repository/{repository}"
    for action in ("ecr:BatchImportUpstreamImage", "ecr:CreateRepository"):
        yield Need(f"{subject} (cache {prefix})", request(account, role, action, repo))


SecretOf = Callable[[str], tuple[str, "str | None"]]
"""A `valueFrom` -> (the secret's full ARN, its customer-managed KMS key or None)."""


def secret_needs(account: str, region: str, role: str, container: Mapping[str, Any], secret_of: SecretOf, subject: str) -> Iterator[Need]:
    """ECS reads each secret with the execution role, and decrypts it through Secrets Manager."""
    for secret in container.get("Secrets", []):
        where = f"{subject} secret {secret['Name']}"
        value_from = str(secret["ValueFrom"])
        if not value_from.startswith("arn:aws:secretsmanager:"):
            name = value_from.split(":parameter", 1)[-1].lstrip("/")
            yield Need(where, request(account, role, "ssm:GetParameters", f"arn:aws:ssm:{region}:{account}:parameter/{name}"))
            continue
        arn, key = secret_of(value_from)
        yield Need(where, request(account, role, "secretsmanager:GetSecretValue", arn))
        if key is not None:
            via = {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com", "kms:EncryptionContext:SecretARN": arn}
            yield Need(where, request(account, role, "kms:Decrypt", "*", via), key=str(key), key_region=region)


def log_needs(account: str, role: str, container: Mapping[str, Any], subject: str) -> Iterator[Need]:
    """The awslogs driver makes the task's stream in the group and writes to it, with the execution role."""
    options = container.get("LogConfiguration", {})
    if options.get("LogDriver") != "awslogs":
        return
    group, region = options["Options"]["awslogs-group"], options["Options"]["awslogs-region"]
    stream = f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:stream"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        yield Need(f"{subject} logs to {group}", request(account, role, action, stream))


def _ecs_pull(account: Account) -> Iterator[Need]:
    for stack, task, props, container in _containers(account):
        yield from pull_needs(account.account, props["ExecutionRoleArn"], container, f"{stack}/{task} container {container['Name']}")


def _cache_prefixes(account: Account) -> dict[str, str]:
    """Pull-through cache prefix -> region of the rule."""
    return {
        str(account.props(s, lid)["EcrRepositoryPrefix"]): account.envs[s].region
        for s, lid, _ in account.resources("AWS::ECR::PullThroughCacheRule")
    }


def _ecs_pull_through(account: Account) -> Iterator[Need]:
    prefixes = _cache_prefixes(account)
    for stack, task, props, container in _containers(account):
        subject = f"{stack}/{task} container {container['Name']}"
        yield from pull_through_needs(account.account, props["ExecutionRoleArn"], container, prefixes, subject)


def _secret(account: Account, value_from: str, region: str) -> tuple[str, str | None]:
    """(full ARN, KMS key) of the secret a `valueFrom` names: a full or partial ARN with or
    without a JSON key (ECS developer guide, "Pass Secrets Manager secrets ..."), a replica too."""
    parts = value_from.split(":")
    wanted = ":".join(parts[:7])
    for stack, logical_id, _ in account.resources("AWS::SecretsManager::Secret"):
        props, env = account.props(stack, logical_id), account.envs[stack]
        full = account.resolve(stack, {"Ref": logical_id})
        homes = [(env.region, full, props.get("KmsKeyId"))] + [
            (r["Region"], full.replace(f":{env.region}:", f":{r['Region']}:"), r.get("KmsKeyId")) for r in props.get("ReplicaRegions", [])
        ]
        for home, arn, key in homes:
            if wanted in (arn, arn.removesuffix(arn[-7:])) and home == region:
                return arn, key
    for stack, logical_id, _ in account.resources("AWS::RDS::DBInstance"):
        props = account.props(stack, logical_id)
        arn = account.resolve(stack, {"Fn::GetAtt": [logical_id, "MasterUserSecret.SecretArn"]})
        if wanted == arn:
            return arn, props.get("MasterUserSecret", {}).get("KmsKeyId")
    raise UnresolvedError(f"no secret in these templates is {value_from} in {region}")


def _ecs_secrets(account: Account) -> Iterator[Need]:
    for stack, task, props, container in _containers(account):
        region = account.envs[stack].region

        def secret_of(value_from: str, region: str = region) -> tuple[str, str | None]:
            return _secret(account, value_from, region)

        subject = f"{stack}/{task} container {container['Name']}"
        yield from secret_needs(account.account, region, props["ExecutionRoleArn"], container, secret_of, subject)


def _ecs_logs(account: Account) -> Iterator[Need]:
    for stack, task, props, container in _containers(account):
        yield from log_needs(account.account, props["ExecutionRoleArn"], container, f"{stack}/{task} container {container['Name']}")


def _db_resource_id(account: Account, region: str) -> str:
    """The DbiResourceId of the region's one database instance; while failback has detached it
    from the stack, an instance outside the templates, whose id no policy can know in advance."""
    found = [(s, lid) for s, lid, _ in account.resources("AWS::RDS::DBInstance") if account.envs[s].region == region]
    if not found:
        return "db-OUTSIDETHESETEMPLATES"
    if len(found) > 1:
        raise UnresolvedError(f"{len(found)} database instances in {region}; the IAM login row expects one")
    stack, logical_id = found[0]
    return str(account.resolve(stack, {"Fn::GetAtt": [logical_id, "DbiResourceId"]}))


def _task_role_calls(account: Account) -> Iterator[Need]:
    """The backend contract: IAM database login (`DB_AUTH=iam`) and the collector's remote write."""
    for stack, task, props, container in _containers(account):
        env = {e["Name"]: e["Value"] for e in container.get("Environment", [])}
        region, subject = account.envs[stack].region, f"{stack}/{task} container {container['Name']}"
        if env.get("DB_AUTH") == "iam":
            user = account.envs[stack].arn("rds-db", f"dbuser:{_db_resource_id(account, region)}/{env['DB_USERNAME']}")
            yield Need(f"{subject} logs in to the database", _request(account, props["TaskRoleArn"], "rds-db:connect", user))
        if "AOT_CONFIG_CONTENT" in env:
            for ws_stack, workspace, _ in account.resources("AWS::APS::Workspace"):
                if ws_stack == stack:
                    arn = account.resolve(stack, {"Fn::GetAtt": [workspace, "Arn"]})
                    yield Need(f"{subject} writes metrics", _request(account, props["TaskRoleArn"], "aps:RemoteWrite", arn))


# --- roles that services assume ------------------------------------------------------------------


def _source(account: Account, stack: str, service: str, name: str) -> dict[str, str]:
    """The `aws:SourceArn` a service sends when it assumes a role for a resource, where its guide
    gives one (FIS: the experiment; Scheduler: the schedule). Elsewhere none is sent here, so a
    trust policy that demands one fails the check rather than passing unproven."""
    env = account.envs[stack]
    arns = {
        "fis.amazonaws.com": env.arn("fis", "experiment/EXPaBcDeFgHiJkLmN"),
        "scheduler.amazonaws.com": env.arn("scheduler", f"schedule/default/{name}"),
    }
    return {"aws:SourceArn": arns[service]} if service in arns else {}


_ROLE_HOLDERS: list[tuple[str, tuple[str, ...], str]] = [
    ("AWS::ECS::TaskDefinition", ("ExecutionRoleArn",), "ecs-tasks.amazonaws.com"),
    ("AWS::ECS::TaskDefinition", ("TaskRoleArn",), "ecs-tasks.amazonaws.com"),
    ("AWS::Lambda::Function", ("Role",), "lambda.amazonaws.com"),
    ("AWS::Scheduler::Schedule", ("Target", "RoleArn"), "scheduler.amazonaws.com"),
    ("AWS::FIS::ExperimentTemplate", ("RoleArn",), "fis.amazonaws.com"),
    ("AWS::Backup::BackupSelection", ("BackupSelection", "IamRoleArn"), "backup.amazonaws.com"),
    ("AWS::Backup::RestoreTestingSelection", ("IamRoleArn",), "backup.amazonaws.com"),
    ("AWS::RDS::DBInstance", ("MonitoringRoleArn",), "monitoring.rds.amazonaws.com"),
    ("AWS::EC2::FlowLog", ("DeliverLogsPermissionArn",), "vpc-flow-logs.amazonaws.com"),
]


def _assumed_roles(account: Account) -> Iterator[Need]:
    for type_name, path, service in _ROLE_HOLDERS:
        for stack, logical_id, _ in account.resources(type_name):
            value: Any = account.prop(stack, logical_id, path[0])
            for step in path[1:]:
                value = value.get(step) if isinstance(value, dict) else None
            if value:
                name = str(account.prop(stack, logical_id, "Name") or logical_id)
                context = _context(account.account, service, _source(account, stack, service, name))
                yield Need(f"{stack}/{logical_id}", Request(service, "sts:AssumeRole", str(value), context), assume=True)


# --- Lambda, custom resources, Scheduler ------------------------------------------------------------


def _lambda_logs(account: Account) -> Iterator[Need]:
    for stack, logical_id, _ in account.resources("AWS::Lambda::Function"):
        props = account.props(stack, logical_id)
        group = props.get("LoggingConfig", {}).get("LogGroup") or f"/aws/lambda/{account.resolve(stack, {'Ref': logical_id})}"
        stream = f"arn:aws:logs:{account.envs[stack].region}:{account.account}:log-group:{group}:log-stream:stream"
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            yield Need(f"{stack}/{logical_id} logs to {group}", _request(account, props["Role"], action, stream))


# The SDK client names AwsCustomResource's handler accepts, with the IAM service prefix of each
# (the handler's own map in cdk.out, `asset.*/index.js`, and the Service Authorization Reference).
_IAM_PREFIX = {"RDS": "rds", "SSM": "ssm", "KMS": "kms", "ElasticLoadBalancingV2": "elasticloadbalancing", "ELBv2": "elasticloadbalancing"}


def _custom_resource_target(account: Account, stack: str, call: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(IAM action, resource ARN, context) of one AwsCustomResource call."""
    service, action, params = call["service"], call["action"], call.get("parameters", {})
    if service not in _IAM_PREFIX:
        raise UnresolvedError(f"{stack}: AwsCustomResource service {service} has no IAM prefix in this table")
    iam_action = f"{_IAM_PREFIX[service]}:{action[0].upper()}{action[1:]}"
    env = account.envs[stack]
    region = call.get("region", env.region)
    arn_of: dict[str, Callable[[], str]] = {
        "rds:ModifyDBInstance": lambda: f"arn:aws:rds:{region}:{env.account}:db:{params['DBInstanceIdentifier']}",
        "elasticloadbalancing:ModifyLoadBalancerAttributes": lambda: params["LoadBalancerArn"],
        "ssm:PutParameter": lambda: f"arn:aws:ssm:{region}:{env.account}:parameter{params['Name']}",
        "ssm:DeleteParameter": lambda: f"arn:aws:ssm:{region}:{env.account}:parameter{params['Name']}",
        "kms:DescribeKey": lambda: account.key(params["KeyId"], region=region)[0],
        # The replicated backups' ARN (RDS API reference, DBInstanceAutomatedBackup), by the source's resource id.
        "rds:DescribeDBInstanceAutomatedBackups": lambda: f"arn:aws:rds:{region}:{env.account}:auto-backup:ab-{params['DbiResourceId']}",
    }
    if iam_action not in arn_of:
        raise UnresolvedError(f"{stack}: no row knows the resource of {iam_action}; add it to the table")
    resource = arn_of[iam_action]()
    context = {"kms:ResourceAliases": account.key_aliases(resource)} if iam_action.startswith("kms:") else {}
    return iam_action, resource, context


def _custom_resource_calls(account: Account) -> Iterator[Need]:
    functions = {account.resolve(s, {"Fn::GetAtt": [lid, "Arn"]}): (s, lid) for s, lid, _ in account.resources("AWS::Lambda::Function")}
    for stack, logical_id, _ in account.resources("Custom::AWS"):
        props = account.props(stack, logical_id)
        fn_stack, fn = functions[props["ServiceToken"]]
        role = account.props(fn_stack, fn)["Role"]
        for event in ("Create", "Update", "Delete"):
            if event not in props:
                continue
            call = json.loads(props[event])
            try:
                action, resource, context = _custom_resource_target(account, stack, call)
            except UnresolvedError as missing:
                if (call["service"], call["action"]) != ("KMS", "describeKey"):
                    raise
                # KMS answers NotFoundException for a key the region does not hold, so the call fails.
                refusal = f"{missing} (KMS: NotFoundException)"
                yield Need(f"{stack}/{logical_id} on {event}", _request(account, role, "kms:DescribeKey", "*"), refusal=refusal)
                continue
            yield Need(f"{stack}/{logical_id} on {event}", _request(account, role, action, resource, context))


def _scheduler_invokes(account: Account) -> Iterator[Need]:
    for stack, logical_id, _ in account.resources("AWS::Scheduler::Schedule"):
        target = account.props(stack, logical_id)["Target"]
        if ":lambda:" in target["Arn"]:
            yield Need(f"{stack}/{logical_id}", _request(account, target["RoleArn"], "lambda:InvokeFunction", target["Arn"]))


# --- SNS and CloudWatch Logs with customer-managed keys --------------------------------------------


def _topics(account: Account) -> dict[str, tuple[str, str | None]]:
    """Topic ARN -> (region, its KMS key or None)."""
    return {
        account.resolve(s, {"Ref": lid}): (account.envs[s].region, account.props(s, lid).get("KmsMasterKeyId"))
        for s, lid, _ in account.resources("AWS::SNS::Topic")
    }


def alarm_publish_needs(account: str, alarm_arn: str, key: str, region: str, subject: str) -> Iterator[Need]:
    """CloudWatch publishes an alarm's notification to a topic under `key` as itself: the key policy decides."""
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield Need(
            subject, request(account, "cloudwatch.amazonaws.com", action, "*", {"aws:SourceArn": alarm_arn}), key=key, key_region=region
        )


def _alarm_publish(account: Account) -> Iterator[Need]:
    topics = _topics(account)
    for kind in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
        for stack, logical_id, _ in account.resources(kind):
            actions = [account.prop(stack, logical_id, k) or [] for k in ("AlarmActions", "OKActions", "InsufficientDataActions")]
            for arn in sorted({a for listed in actions for a in listed if a in topics}):
                region, key = topics[arn]
                if key is not None:
                    alarm = account.envs[stack].arn("cloudwatch", f"alarm:{logical_id}")
                    yield from alarm_publish_needs(
                        account.account, alarm, key, region, f"{stack}/{logical_id} notifies {arn.rsplit(':', 1)[-1]}"
                    )


def _function_publish(account: Account) -> Iterator[Need]:
    """A function whose settings carry a topic's ARN publishes to it (the daily checklist)."""
    topics = _topics(account)
    for stack, logical_id, _ in account.resources("AWS::Lambda::Function"):
        props = account.props(stack, logical_id)
        settings = json.dumps(props.get("Environment", {}))
        for arn, (region, key) in topics.items():
            if arn not in settings:
                continue
            subject = f"{stack}/{logical_id} publishes to {arn.rsplit(':', 1)[-1]}"
            yield Need(subject, _request(account, props["Role"], "sns:Publish", arn))
            if key is not None:
                for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                    request = _request(account, props["Role"], action, "*", {"kms:ViaService": f"sns.{region}.amazonaws.com"})
                    yield Need(subject, request, key=key, key_region=region)


def log_group_key_needs(account: str, region: str, group: str, key: str, subject: str) -> Iterator[Need]:
    """CloudWatch Logs uses a log group's key as its regional principal, for that group's encryption context."""
    context = {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account}:log-group:{group}"}
    for action in ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"):
        yield Need(subject, request(account, f"logs.{region}.amazonaws.com", action, "*", context), key=key, key_region=region)


def _log_group_keys(account: Account) -> Iterator[Need]:
    for stack, logical_id, _ in account.resources("AWS::Logs::LogGroup"):
        props = account.props(stack, logical_id)
        if "KmsKeyId" in props:
            group = props.get("LogGroupName", account.resolve(stack, {"Ref": logical_id}))
            yield from log_group_key_needs(
                account.account, account.envs[stack].region, group, str(props["KmsKeyId"]), f"{stack}/{logical_id}"
            )


def _flow_logs(account: Account) -> Iterator[Need]:
    for stack, logical_id, _ in account.resources("AWS::EC2::FlowLog"):
        props = account.props(stack, logical_id)
        if props.get("LogDestinationType") != "cloud-watch-logs":
            continue
        group = account.envs[stack].arn("logs", f"log-group:{props['LogGroupName']}:*")
        for action in ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"):
            yield Need(f"{stack}/{logical_id}", _request(account, props["DeliverLogsPermissionArn"], action, group))


# The account Elastic Load Balancing writes access logs from, in the regions the stacks use (Elastic
# Load Balancing user guide, "Enable access logs for your Application Load Balancer": regions available
# before August 2022). Another region is added from that page, never guessed.
ELB_LOG_ACCOUNTS = {"us-east-1": "127311923021", "us-west-2": "797873946194"}


def _alb_access_logs(account: Account) -> Iterator[Need]:
    for stack, logical_id, _ in account.resources("AWS::ElasticLoadBalancingV2::LoadBalancer"):
        attributes = {a["Key"]: a["Value"] for a in account.prop(stack, logical_id, "LoadBalancerAttributes") or []}
        if str(attributes.get("access_logs.s3.enabled")).lower() != "true":
            continue
        region = account.envs[stack].region
        if region not in ELB_LOG_ACCOUNTS:
            raise UnresolvedError(f"{stack}/{logical_id}: add {region}'s Elastic Load Balancing account to ELB_LOG_ACCOUNTS")
        prefix = f"{attributes['access_logs.s3.prefix']}/" if attributes.get("access_logs.s3.prefix") else ""
        key = f"{prefix}AWSLogs/{account.account}/elasticloadbalancing/{region}/2026/12/07/access.log.gz"
        principal = f"arn:aws:iam::{ELB_LOG_ACCOUNTS[region]}:root"
        yield Need(
            f"{stack}/{logical_id}",
            _request(account, principal, "s3:PutObject", f"arn:aws:s3:::{attributes['access_logs.s3.bucket']}/{key}"),
        )


# --- a function's own calls, AWS Backup, RDS's keys --------------------------------------------------

SCHEDULED_CODE = Path(__file__).resolve().parents[2] / "runbook" / "scheduled"
# boto3's client name -> the service's IAM prefix (Service Authorization Reference); they differ for some.
_CLIENTS = {
    "cloudwatch": "cloudwatch",
    "ecs": "ecs",
    "rds": "rds",
    "sns": "sns",
    "elbv2": "elasticloadbalancing",
    "logs": "logs",
    "backup": "backup",
    "ssm": "ssm",
    "secretsmanager": "secretsmanager",
}


@lru_cache(maxsize=8)
def _code_calls(module: Path) -> list[tuple[str, str]]:
    """(client, operation) of every AWS call in a function's code: each `x.<operation>(...)` and
    `get_paginator("<operation>")` whose name one botocore service model has (and only one)."""
    session = botocore.session.get_session()
    operations: dict[str, list[tuple[str, str]]] = {}
    for client, prefix in _CLIENTS.items():
        for name in session.get_service_model(client).operation_names:
            operations.setdefault(xform_name(name), []).append((prefix, name))
    called = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            called.add(node.func.attr)
            if node.func.attr == "get_paginator" and node.args and isinstance(node.args[0], ast.Constant):
                called.add(str(node.args[0].value))
    return sorted(hit[0] for name in called if len(hit := operations.get(name, [])) == 1)


def _call_resource(service: str, operation: str, settings: dict[str, Any], env: Any) -> str:
    """The resource one call names, from the function's settings; `*` where IAM has no resource type."""
    named = {
        ("ecs", "DescribeServices"): lambda: env.arn("ecs", f"service/{settings['cluster']}/{settings['service']}"),
        ("rds", "DescribeDBInstances"): lambda: env.arn("rds", f"db:{settings['db_instance']}"),
        ("sns", "Publish"): lambda: settings["topic_arn"],
    }
    return str(named[(service, operation)]()) if (service, operation) in named else "*"


def _function_code_calls(account: Account) -> Iterator[Need]:
    """Each scheduled function's calls, read from its code (runbook/scheduled), on the resources its settings name."""
    for stack, logical_id, _ in account.resources("AWS::Lambda::Function"):
        module = SCHEDULED_CODE / f"{str(account.prop(stack, logical_id, 'Handler')).split('.')[0]}.py"
        if not module.is_file():
            continue
        props = account.props(stack, logical_id)
        variables = props.get("Environment", {}).get("Variables", {})
        settings = json.loads(next(iter(variables.values()), "{}"))
        for service, operation in _code_calls(module):
            resource = _call_resource(service, operation, settings, account.envs[stack])
            yield Need(
                f"{stack}/{logical_id} calls {service}:{operation}", _request(account, props["Role"], f"{service}:{operation}", resource)
            )


def _backups(account: Account) -> Iterator[Need]:
    """AWS Backup with the plan's role: the RDS snapshot under the database's key, and each copy
    into another vault under that vault's key."""
    plans = {
        account.resolve(s, {"Fn::GetAtt": [lid, "BackupPlanId"]}): (s, lid) for s, lid, _ in account.resources("AWS::Backup::BackupPlan")
    }
    for stack, logical_id, _ in account.resources("AWS::Backup::BackupSelection"):
        selection = account.props(stack, logical_id)
        role, env = selection["BackupSelection"]["IamRoleArn"], account.envs[stack]
        plan_stack, plan = plans[selection["BackupPlanId"]]
        rules = account.props(plan_stack, plan)["BackupPlan"]["BackupPlanRule"]
        copies = [c for rule in rules for c in rule.get("CopyActions", [])]
        for arn in selection["BackupSelection"].get("Resources", []):
            if ":elasticfilesystem:" in arn:
                yield from _efs_backup(account, role, arn, copies, f"{stack}/{logical_id} backs up {arn.rsplit('/', 1)[-1]}")
                continue
            if ":rds:" not in arn:
                continue
            subject = f"{stack}/{logical_id} backs up {arn.rsplit(':', 1)[-1]}"
            yield Need(subject, _request(account, role, "rds:CreateDBSnapshot", arn))
            key = _db_key(account, env.region, arn)
            for action in ("kms:CreateGrant", "kms:DescribeKey") if key else ():
                grant = {"kms:GrantIsForAWSResource": "true", "kms:ViaService": f"rds.{env.region}.amazonaws.com"}
                yield Need(subject, _request(account, role, action, "*", grant), key=key, key_region=env.region)
            for copy in copies:
                vault = copy["DestinationBackupVaultArn"]
                yield Need(f"{subject}, copied to {vault}", _request(account, role, "backup:CopyIntoBackupVault", vault))
                yield Need(f"{subject}, copied to {vault}", _request(account, role, "rds:CopyDBSnapshot", arn))
                vault_key, region = _vault_key(account, vault)
                for action in ("kms:CreateGrant", "kms:DescribeKey"):
                    grant = {"kms:GrantIsForAWSResource": "true", "kms:ViaService": f"rds.{region}.amazonaws.com"}
                    yield Need(
                        f"{subject}, copied to {vault}", _request(account, role, action, "*", grant), key=vault_key, key_region=region
                    )


def _efs_backup(account: Account, role: str, arn: str, copies: list[dict[str, Any]], subject: str) -> Iterator[Need]:
    """EFS is fully managed by AWS Backup: the plan's role backs the file system up and copies the
    recovery point into each destination vault (AWS Backup developer guide, 'Feature availability by
    resource'; the managed policy AWSBackupServiceRolePolicyForBackup)."""
    yield Need(subject, _request(account, role, "elasticfilesystem:Backup", arn))
    yield Need(subject, _request(account, role, "elasticfilesystem:DescribeTags", arn))
    for copy in copies:
        vault = copy["DestinationBackupVaultArn"]
        _vault_key(account, vault)  # a copy into a vault no template holds cannot be checked
        yield Need(f"{subject}, copied to {vault}", _request(account, role, "backup:CopyIntoBackupVault", vault))


def _restore_tests(account: Account) -> Iterator[Need]:
    """A restore test's role restores the latest snapshot into a new instance under the snapshot's
    key, and deletes it after the validation window (AWS Backup developer guide, 'Restore testing':
    the role needs AWSBackupServiceRolePolicyForRestores or its permissions). The instance's name is
    AWS Backup's own; a stand-in name stands for it."""
    for stack, logical_id, _ in account.resources("AWS::Backup::RestoreTestingSelection"):
        props, env = account.props(stack, logical_id), account.envs[stack]
        if props["ProtectedResourceType"] != "RDS":
            raise UnresolvedError(f"{stack}/{logical_id}: no row knows restore tests of {props['ProtectedResourceType']}")
        role = str(props["IamRoleArn"])
        restored = env.arn("rds", "db:awsbackup-restore-test-instance")
        snapshot = env.arn("rds", "snapshot:awsbackup:job-restore-test")
        for source in props.get("ProtectedResourceArns", []):
            subject = f"{stack}/{logical_id} restores {str(source).rsplit(':', 1)[-1]}"
            for action in ("rds:RestoreDBInstanceFromDBSnapshot", "rds:AddTagsToResource", "rds:DeleteDBInstance"):
                yield Need(subject, _request(account, role, action, restored))
            yield Need(subject, _request(account, role, "rds:DescribeDBSnapshots", snapshot))
            key = _db_key(account, env.region, str(source))
            for action in ("kms:CreateGrant", "kms:DescribeKey") if key else ():
                grant = {"kms:GrantIsForAWSResource": "true", "kms:ViaService": f"rds.{env.region}.amazonaws.com"}
                yield Need(subject, _request(account, role, action, "*", grant), key=key, key_region=env.region)


def _db_key(account: Account, region: str, arn: str) -> str | None:
    """The database's storage key; None for an instance failback has detached from the stack,
    whose key no template names (its backups go on under the key it already has)."""
    for stack, logical_id, _ in account.resources("AWS::RDS::DBInstance"):
        if account.envs[stack].region == region and arn.endswith(f":db:{account.resolve(stack, {'Ref': logical_id})}"):
            return str(account.prop(stack, logical_id, "KmsKeyId"))
    return None


def _vault_key(account: Account, vault_arn: str) -> tuple[str, str]:
    for stack, logical_id, _ in account.resources("AWS::Backup::BackupVault"):
        props, env = account.props(stack, logical_id), account.envs[stack]
        if vault_arn == env.arn("backup", f"backup-vault:{props['BackupVaultName']}"):
            return str(props["EncryptionKeyArn"]), env.region
    raise UnresolvedError(f"a copy goes to {vault_arn}, a vault no template holds")


# The CDK bootstrap's execution role, which CloudFormation deploys with: AdministratorAccess unless
# `cdk bootstrap --cloudformation-execution-policies` says otherwise (CDK developer guide, "Bootstrapping").
DEPLOYER = "cdk-hnb659fds-cfn-exec-role"


def _rds_keys(account: Account) -> Iterator[Need]:
    """RDS uses each key it is handed through the deploying role: in the instance's own region, and
    the replicated backups' key in the destination region."""
    for stack, logical_id, _ in account.resources("AWS::RDS::DBInstance"):
        env = account.envs[stack]
        deployer = f"arn:aws:iam::{env.account}:role/{DEPLOYER}-{env.account}-{env.region}"
        secret = account.prop(stack, logical_id, "MasterUserSecret") or {}
        replication = account.prop(stack, logical_id, "AutomaticBackupReplicationRegion")
        keys: dict[str, tuple[Any, str]] = {
            "storage": (account.prop(stack, logical_id, "KmsKeyId"), env.region),
            "Performance Insights": (account.prop(stack, logical_id, "PerformanceInsightsKMSKeyId"), env.region),
            "master secret": (secret.get("KmsKeyId"), env.region),
        }
        if replication is not None:
            # RDS API reference, StartDBInstanceAutomatedBackupsReplication: "the KMS encryption key in
            # the destination AWS Region"; a key that region does not hold fails the deploy.
            keys["replicated backups"] = (account.prop(stack, logical_id, "AutomaticBackupReplicationKmsKeyId"), replication)
        for use, (key, region) in keys.items():
            if key is None:
                continue
            for action in ("kms:CreateGrant", "kms:DescribeKey"):
                context = {"kms:GrantIsForAWSResource": "true", "kms:ViaService": f"rds.{region}.amazonaws.com"}
                request = _request(account, deployer, action, "*", context)
                yield Need(f"{stack}/{logical_id} {use} key ({region})", request, key=str(key), key_region=region)


def _secret_replication(account: Account) -> Iterator[Need]:
    """Secrets Manager copies each version of a replicated secret with the identity that wrote it
    (here CloudFormation's deploying role, which creates the secret and, through the attachment,
    writes its address): it decrypts under the secret's key and encrypts under each replica's key
    in the replica's region, which must hold that key (ReplicateSecretToRegions, 'Required
    permissions')."""
    for stack, logical_id, _ in account.resources("AWS::SecretsManager::Secret"):
        props, env = account.props(stack, logical_id), account.envs[stack]
        if not props.get("ReplicaRegions"):
            continue
        deployer = f"arn:aws:iam::{env.account}:role/{DEPLOYER}-{env.account}-{env.region}"
        arn = str(account.resolve(stack, {"Ref": logical_id}))
        uses = [(props.get("KmsKeyId"), env.region, ("kms:Decrypt",))] + [
            (replica.get("KmsKeyId"), replica["Region"], ("kms:GenerateDataKey", "kms:Encrypt")) for replica in props["ReplicaRegions"]
        ]
        for key, region, actions in uses:
            if key is None:  # aws/secretsmanager: AWS's own key, no policy of ours decides
                continue
            context = {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com", "kms:EncryptionContext:SecretARN": arn}
            for action in actions:
                request = _request(account, deployer, action, "*", context)
                yield Need(f"{stack}/{logical_id} in {region}", request, key=str(key), key_region=region)


def _ecr_replication(account: Account) -> Iterator[Need]:
    """Each container a task runs from this account's ECR in a region other than the repository's
    home must have been copied there by a replication rule: a destination in that region and a
    filter whose prefix the repository name starts with (ECR user guide, 'Private image
    replication'). The deploying role sets the rules up; ECR replicates with its service-linked
    role, which the first PutReplicationConfiguration creates. A creation template that sets a
    customer-managed key or tags needs a custom role ('Repository creation templates')."""
    homes = {str(account.prop(s, lid, "RepositoryName")): account.envs[s].region for s, lid, _ in account.resources("AWS::ECR::Repository")}
    rules = [
        (account.envs[s].region, rule)
        for s, lid, _ in account.resources("AWS::ECR::ReplicationConfiguration")
        for rule in account.props(s, lid)["ReplicationConfiguration"]["Rules"]
    ]
    for stack, lid, _ in account.resources("AWS::ECR::ReplicationConfiguration"):
        env = account.envs[stack]
        deployer = f"arn:aws:iam::{env.account}:role/{DEPLOYER}-{env.account}-{env.region}"
        yield Need(f"{stack}/{lid}", _request(account, deployer, "ecr:PutReplicationConfiguration", env.arn("ecr", "registry/*")))
        linked = f"arn:aws:iam::{env.account}:role/aws-service-role/replication.ecr.amazonaws.com/AWSServiceRoleForECRReplication"
        context = {"iam:AWSServiceName": "replication.ecr.amazonaws.com"}
        yield Need(f"{stack}/{lid}", _request(account, deployer, "iam:CreateServiceLinkedRole", linked, context))
    for stack, task, props, container in _containers(account):
        image = _ECR_IMAGE.match(str(container["Image"]))
        if image is None or image.group(3) not in homes or homes[image.group(3)] == image.group(2):
            continue
        registry, region, repository = image.groups()
        subject = f"{stack}/{task} container {container['Name']} ({repository} in {region})"
        request = _request(
            account, str(props["ExecutionRoleArn"]), "ecr:BatchGetImage", f"arn:aws:ecr:{region}:{registry}:repository/{repository}"
        )
        copied = any(
            home == homes[repository]
            and any(d["Region"] == region and str(d.get("RegistryId", registry)) == registry for d in rule["Destinations"])
            and any(repository.startswith(str(f["Filter"])) for f in rule.get("RepositoryFilters", [{"Filter": ""}]))
            for home, rule in rules
        )
        if not copied:
            refusal = f"no replication rule copies {repository} from {homes[repository]} to {region}: the image is not there"
            yield Need(subject, request, refusal=refusal)
    for stack, lid, _ in account.resources("AWS::ECR::RepositoryCreationTemplate"):
        props = account.props(stack, lid)
        customer_key = props.get("EncryptionConfiguration", {}).get("KmsKey")
        if (customer_key or props.get("ResourceTags")) and not props.get("CustomRoleArn"):
            env = account.envs[stack]
            deployer = f"arn:aws:iam::{env.account}:role/{DEPLOYER}-{env.account}-{env.region}"
            refusal = (
                "a creation template with a customer-managed key or tags needs CustomRoleArn (ECR creates its repositories with that role)"
            )
            yield Need(f"{stack}/{lid}", _request(account, deployer, "ecr:CreateRepositoryCreationTemplate", "*"), refusal=refusal)


FisRequest = tuple[str, str, Mapping[str, Any]]


def _fis_requests(env: Any, action_id: str, targets: list[dict[str, Any]]) -> list[FisRequest]:
    """(action, resource, context) of one FIS action on its targets, as the FIS user guide's
    actions reference lists its permissions (and the AWS managed policy written for it)."""
    if action_id == "aws:ecs:stop-task":
        found: list[FisRequest] = []
        for target in targets:
            cluster = target.get("Parameters", {}).get("cluster", "*")
            cluster_arn = env.arn("ecs", f"cluster/{cluster}")
            found.append(("ecs:ListTasks", "*", {"ecs:cluster": cluster_arn}))
            found += [(a, env.arn("ecs", f"task/{cluster}/0123456789abcdef"), {}) for a in ("ecs:DescribeTasks", "ecs:StopTask")]
        return found
    if action_id == "aws:rds:reboot-db-instances":
        arns = [str(arn) for t in targets for arn in t.get("ResourceArns", [env.arn("rds", "db:*")])]
        none: Mapping[str, Any] = {}
        return [(action, arn, none) for arn in arns for action in ("rds:DescribeDBInstances", "rds:RebootDBInstance")]
    if action_id == "aws:network:disrupt-connectivity":
        acl, vpc, subnet = env.arn("ec2", "network-acl/acl-fis"), env.arn("ec2", "vpc/vpc-0"), env.arn("ec2", "subnet/subnet-0")
        tagged = {"aws:RequestTag/managedByFIS": "true", "aws:TagKeys": ["managedByFIS"]}
        return [
            ("ec2:CreateNetworkAcl", acl, tagged),
            ("ec2:CreateNetworkAcl", vpc, tagged),
            ("ec2:CreateTags", acl, {**tagged, "ec2:CreateAction": "CreateNetworkAcl"}),
            ("ec2:CreateNetworkAclEntry", acl, {"ec2:ResourceTag/managedByFIS": "true"}),
            ("ec2:DeleteNetworkAcl", acl, {"ec2:ResourceTag/managedByFIS": "true"}),
            ("ec2:ReplaceNetworkAclAssociation", acl, {}),
            ("ec2:ReplaceNetworkAclAssociation", subnet, {}),
            *(
                (a, "*", {})
                for a in ("ec2:DescribeNetworkAcls", "ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:DescribeManagedPrefixLists")
            ),
            ("ec2:GetManagedPrefixListEntries", "*", {}),
        ]
    raise UnresolvedError(f"no row knows the permissions of the FIS action {action_id}; add it to the table")


def _fis_experiments(account: Account) -> Iterator[Need]:
    """Each game day's role may do what its action does, find targets chosen by tags, and deliver
    the experiment's log to its log group (FIS user guide, 'Experiment logging permissions')."""
    for stack, logical_id, _ in account.resources("AWS::FIS::ExperimentTemplate"):
        props, env = account.props(stack, logical_id), account.envs[stack]
        role, targets = str(props["RoleArn"]), props.get("Targets", {})
        requests: list[FisRequest] = []
        for action in props["Actions"].values():
            chosen = [targets[name] for name in action.get("Targets", {}).values()]
            requests += _fis_requests(env, action["ActionId"], chosen)
            if any("ResourceTags" in t for t in chosen):
                requests.append(("tag:GetResources", "*", {}))
        if "CloudWatchLogsConfiguration" in props.get("LogConfiguration", {}):
            requests.append(("logs:CreateLogDelivery", "*", {}))
            requests += [
                (a, env.arn("logs", "log-group:*"), {})
                for a in ("logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups")
            ]
        for action, resource, context in requests:
            yield Need(f"{stack}/{logical_id}", _request(account, role, action, resource, context))


# --- WAF logging --------------------------------------------------------------------------------------

_WAF_LOG_PREFIX = "aws-waf-logs-"


def _waf_logging(account: Account) -> Iterator[Need]:
    """WAF sends to a log group only if its name starts `aws-waf-logs-`, and the deploying role sets
    up the log delivery (CloudWatch Logs' vended-log permissions; the log group's resource policy for
    `delivery.logs.amazonaws.com` is written by AWS). The group's key is the `logs-customer-key` row's."""
    for stack, logical_id, _ in account.resources("AWS::WAFv2::LoggingConfiguration"):
        env = account.envs[stack]
        deployer = f"arn:aws:iam::{env.account}:role/{DEPLOYER}-{env.account}-{env.region}"
        acl = str(account.prop(stack, logical_id, "ResourceArn"))
        for destination in account.prop(stack, logical_id, "LogDestinationConfigs"):
            destination = str(destination)
            subject = f"{stack}/{logical_id} -> {destination.rsplit(':', 1)[-1]}"
            if ":log-group:" in destination and not destination.split(":log-group:", 1)[1].startswith(_WAF_LOG_PREFIX):
                refusal = f"WAF refuses a log group whose name does not start {_WAF_LOG_PREFIX} (WAFInvalidParameterException)"
                yield Need(subject, _request(account, deployer, "wafv2:PutLoggingConfiguration", acl), refusal=refusal)
                continue
            yield Need(subject, _request(account, deployer, "wafv2:PutLoggingConfiguration", acl))
            yield Need(subject, _request(account, deployer, "logs:CreateLogDelivery", "*"))
            groups = env.arn("logs", "log-group:*")
            for action in ("logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"):
                yield Need(subject, _request(account, deployer, action, groups))


_ECS_EXECUTION = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html"
ACTS: list[Act] = [
    Act(
        "service-assumes-role",
        "the service named",
        "assumes the role a resource hands it (tasks, functions, schedules, experiments, backups, monitoring, flow logs)",
        "the role's trust policy allows `sts:AssumeRole` to the service principal",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-service.html",
        _assumed_roles,
    ),
    Act(
        "ecs-pull-image",
        "ECS (task execution role)",
        "pulls each container's image from the account's ECR",
        "`ecr:GetAuthorizationToken` on `*`; `ecr:BatchCheckLayerAvailability`, `ecr:GetDownloadUrlForLayer`, `ecr:BatchGetImage` on the repository",
        _ECS_EXECUTION,
        _ecs_pull,
    ),
    Act(
        "ecs-pull-through-cache",
        "ECS (task execution role)",
        "pulls an image through a pull-through cache rule for the first time",
        "`ecr:BatchImportUpstreamImage` and `ecr:CreateRepository` on the cached repository",
        "https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html",
        _ecs_pull_through,
    ),
    Act(
        "ecs-inject-secret",
        "ECS (task execution role)",
        "injects each container's secret (Secrets Manager or SSM), a replica in the DR region too",
        "`secretsmanager:GetSecretValue` on the secret (`ssm:GetParameters` on a parameter); `kms:Decrypt` through Secrets Manager on its customer-managed key, allowed by the key policy",
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html",
        _ecs_secrets,
    ),
    Act(
        "ecs-awslogs",
        "ECS (task execution role)",
        "the awslogs driver writes each container's log",
        "`logs:CreateLogStream` and `logs:PutLogEvents` on the log group",
        "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html",
        _ecs_logs,
    ),
    Act(
        "task-role-backend-contract",
        "the backend (task role)",
        "logs in to the database with IAM and writes metrics to Prometheus",
        "`rds-db:connect` on `dbuser:<DbiResourceId>/<user>`; `aps:RemoteWrite` on the workspace",
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html",
        _task_role_calls,
    ),
    Act(
        "lambda-logs",
        "Lambda (function role)",
        "writes each function's log",
        "`logs:CreateLogStream` and `logs:PutLogEvents` on its log group",
        "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html",
        _lambda_logs,
    ),
    Act(
        "custom-resource-call",
        "CDK's AwsCustomResource handler (function role)",
        "makes each custom resource's AWS call on create, update and delete",
        "the IAM action of the call on the resource it names",
        "https://docs.aws.amazon.com/cdk/api/v2/python/aws_cdk.custom_resources/AwsCustomResource.html",
        _custom_resource_calls,
    ),
    Act(
        "scheduler-invoke",
        "EventBridge Scheduler (schedule role)",
        "invokes the daily checklist function",
        "`lambda:InvokeFunction` on the function",
        "https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role",
        _scheduler_invokes,
    ),
    Act(
        "alarm-publish-encrypted-topic",
        "CloudWatch (`cloudwatch.amazonaws.com`)",
        "publishes each alarm's notification to a KMS-encrypted topic",
        "the key policy allows `kms:GenerateDataKey*` and `kms:Decrypt` to `cloudwatch.amazonaws.com`",
        "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html",
        _alarm_publish,
    ),
    Act(
        "function-publish-topic",
        "Lambda (function role)",
        "publishes the daily checklist to its topic",
        "`sns:Publish` on the topic; `kms:GenerateDataKey*` and `kms:Decrypt` through SNS on the topic's key",
        "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html",
        _function_publish,
    ),
    Act(
        "logs-customer-key",
        "CloudWatch Logs (`logs.<region>.amazonaws.com`)",
        "encrypts each KMS-encrypted log group",
        "the key policy allows `kms:Encrypt*`, `kms:Decrypt*`, `kms:GenerateDataKey*` to the regional Logs principal for that group's `aws:logs:arn` encryption context",
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
        _log_group_keys,
    ),
    Act(
        "function-code-calls",
        "Lambda (function role)",
        "makes each call of the daily checklist's code (read from `runbook/scheduled/daily.py`)",
        "the IAM action of each call on the resource its settings name",
        "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html",
        _function_code_calls,
    ),
    Act(
        "backup-rds",
        "AWS Backup (backup plan role)",
        "snapshots the database (and backs up Grafana's EFS file system) and copies each recovery point into the DR vault",
        "`rds:CreateDBSnapshot`, `rds:CopyDBSnapshot`, `backup:CopyIntoBackupVault`; `kms:CreateGrant` (for an AWS resource) and "
        "`kms:DescribeKey` on the database's and the destination vault's keys; `elasticfilesystem:Backup` and `elasticfilesystem:DescribeTags` on the file system, which its file-system policy must not deny",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/iam-service-roles.html",
        _backups,
    ),
    Act(
        "rds-keys",
        "RDS, through CloudFormation's deploying role",
        "encrypts storage, Performance Insights, the managed master secret and the replicated automated backups with the keys it is handed",
        "the key exists in that region (the replicated backups' key in the destination region); `kms:CreateGrant` (for an AWS resource) and `kms:DescribeKey` through RDS",
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.Encryption.Keys.html",
        _rds_keys,
    ),
    Act(
        "alb-access-logs",
        "Elastic Load Balancing (the region's log-delivery account)",
        "writes each load balancer's access logs to its bucket",
        "the bucket policy allows `s3:PutObject` on `<prefix>/AWSLogs/<account>/*` to the region's Elastic Load Balancing account",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html",
        _alb_access_logs,
    ),
    Act(
        "flow-logs-deliver",
        "VPC Flow Logs (flow log role)",
        "delivers flow logs to their log group",
        "`logs:CreateLogStream`, `logs:PutLogEvents`, `logs:DescribeLogStreams` on the group",
        "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html",
        _flow_logs,
    ),
    Act(
        "backup-restore-test",
        "AWS Backup (restore testing role)",
        "restores the latest snapshot in the monthly restore test, and deletes the copy after the validation window",
        "`rds:RestoreDBInstanceFromDBSnapshot`, `rds:AddTagsToResource`, `rds:DeleteDBInstance`, `rds:DescribeDBSnapshots`; `kms:CreateGrant` (for an AWS resource) and `kms:DescribeKey` through RDS on the database's key",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing.html",
        _restore_tests,
    ),
    Act(
        "ecr-replication",
        "ECR (replication), set up by CloudFormation's deploying role",
        "copies the repository to the DR region, where the DR tasks pull it",
        "a rule with a destination in the task's region whose filter matches the repository; `ecr:PutReplicationConfiguration` and `iam:CreateServiceLinkedRole` for `replication.ecr.amazonaws.com`; a creation template with a customer key or tags names a custom role",
        "https://docs.aws.amazon.com/AmazonECR/latest/userguide/replication.html",
        _ecr_replication,
    ),
    Act(
        "fis-experiment",
        "AWS Fault Injection Service (experiment role)",
        "runs each game day's action on its targets and delivers the experiment log",
        "the action's permissions (`aws:ecs:stop-task`: `ecs:ListTasks`, `ecs:DescribeTasks`, `ecs:StopTask`; `aws:rds:reboot-db-instances`: `rds:DescribeDBInstances`, `rds:RebootDBInstance`; "
        "`aws:network:disrupt-connectivity`: the network ACL calls, tagged `managedByFIS`); `tag:GetResources` for targets chosen by tags; "
        "`logs:CreateLogDelivery`, `logs:PutResourcePolicy`, `logs:DescribeResourcePolicies`, `logs:DescribeLogGroups` for the log",
        "https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html",
        _fis_experiments,
    ),
    Act(
        "secret-replication",
        "Secrets Manager, with CloudFormation's deploying role",
        "copies each replicated secret (the Gemini key, production's database master secret) into the DR region",
        "`kms:Decrypt` on the secret's key, and `kms:GenerateDataKey` and `kms:Encrypt` on the replica's key, which must exist in the replica's region, both through Secrets Manager",
        "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ReplicateSecretToRegions.html",
        _secret_replication,
    ),
    Act(
        "waf-logging",
        "WAF, set up by CloudFormation's deploying role",
        "sends each web ACL's logs to its log group",
        "the group's name starts `aws-waf-logs-`; `wafv2:PutLoggingConfiguration`, `logs:CreateLogDelivery`, "
        "`logs:PutResourcePolicy`, `logs:DescribeResourcePolicies`, `logs:DescribeLogGroups` "
        "(AWS writes the delivery's policy on the log group itself, up to 51,200 bytes, not in the account's 5,120-character policies: "
        "CloudWatch Logs user guide, 'Logs sent to CloudWatch Logs')",
        "https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html",
        _waf_logging,
    ),
]
"""The rows, in the order the docs' table lists them."""

NOT_YET_CHECKED = [
    "RDS: the rotation of staging's RDS-managed master secret (production's master secret is not rotated automatically: README, Database credentials)",
    "FIS: the alarms of a stop condition (whether FIS reads them with the experiment role is not documented on the pages found)",
    "SNS delivering to its subscribers (e-mail, SMS) and AWS Chatbot publishing to Slack",
]
"""Acts the issue names that no row checks yet: listed, never silent (docs and the test read this)."""


def markdown_table() -> str:
    lines = ["| act | who acts | what AWS does | permissions it needs | AWS documentation |", "|---|---|---|---|---|"]
    lines += [f"| `{a.name}` | {a.who} | {a.what} | {a.needs_text} | [page]({a.source}) |" for a in ACTS]
    lines += ["", "Not checked yet:", *(f"- {item}" for item in NOT_YET_CHECKED)]
    return "\n".join(lines) + "\n"
