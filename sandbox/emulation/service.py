"""The CloudFormation API over the engine: stacks, change sets and termination protection as the
cdk CLI calls them (CreateChangeSet, DescribeChangeSet, ExecuteChangeSet, DeleteChangeSet,
DescribeStacks, DescribeStackEvents, ListStackResources, UpdateTerminationProtection, DeleteStack)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from sandbox.emulation import engine

EXTENSIONS = {
    "SSM parameter types": "a template parameter naming an SSM parameter that does not exist is refused when the change set is made ('Unable to fetch parameters [...] from parameter store for this account.')",
    "CloudTrail LookupEvents": "answers with no events: the cdk CLI asks CloudTrail why a deploy failed; the sandbox records no trail (moto answers HTTP 500, and the CLI retries for half a minute)",
    "template URLs": "a TemplateURL on the emulator's own address is read path-style from its S3, as CloudFormation reads https://s3.<region>.amazonaws.com/<bucket>/<key> (the cdk CLI uploads every template)",
}


@dataclass
class ChangeSet:
    arn: str
    name: str
    stack: Any
    change_set_type: str
    template: str
    parameters: dict[str, Any]
    tags: dict[str, str]
    description: str | None
    changes: list[dict[str, Any]]
    status: str = "CREATE_COMPLETE"
    execution_status: str = "AVAILABLE"
    status_reason: str | None = None
    created: datetime = field(default_factory=lambda: _now())

    def describe(self) -> dict[str, Any]:
        return {
            "ChangeSetName": self.name,
            "ChangeSetId": self.arn,
            "StackId": self.stack.stack_id,
            "StackName": self.stack.name,
            "Description": self.description,
            "Parameters": [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in self.parameters.items()],
            "CreationTime": self.created,
            "ExecutionStatus": self.execution_status,
            "Status": self.status,
            "StatusReason": self.status_reason,
            "Changes": self.changes,
            "Tags": [{"Key": k, "Value": v} for k, v in self.tags.items()],
            "IncludeNestedStacks": False,
        }


def _now() -> datetime:
    from moto.core.utils import utcnow

    return utcnow()


def _backend(response: Any) -> Any:
    return response.cloudformation_backend


def _find_stack(backend: Any, name_or_id: str) -> Any:
    from moto.cloudformation.exceptions import ValidationError

    for stack in backend.stacks.values():
        if name_or_id in (stack.name, stack.stack_id):
            return stack
    raise ValidationError(name_or_id)


def _find_change_set(backend: Any, name_or_arn: str, stack_name: str | None) -> ChangeSet:
    for change_set in backend.change_sets.values():
        if change_set.arn == name_or_arn:
            return change_set
        if change_set.name == name_or_arn and stack_name in (change_set.stack.name, change_set.stack.stack_id):
            return change_set
    from moto.cloudformation.exceptions import CloudFormationError

    class ChangeSetNotFoundError(CloudFormationError):
        code = "ChangeSetNotFound"

    raise ChangeSetNotFoundError(f"ChangeSet [{name_or_arn}] does not exist")


def _template_body(response: Any) -> str | None:
    url = response._get_param("TemplateURL")
    if url:
        return read_template_url(url, response.current_account)
    return response._get_param("TemplateBody")


def read_template_url(url: str, account: str) -> str:
    """CloudFormation reads a template from S3 by URL; the cdk CLI gives the emulator's own
    address (path-style), and AWS's endpoints in either style also work."""
    from moto.cloudformation.utils import get_stack_from_s3_url
    from moto.s3.models import s3_backends

    parts = urlparse(url)
    host = parts.hostname or ""
    if host.replace(".", "").isdigit() or host == "localhost":
        bucket, _, key = parts.path.lstrip("/").partition("/")
        return s3_backends[account]["aws"].get_object(bucket, key).value.decode()  # type: ignore[union-attr]
    return get_stack_from_s3_url(url, account_id=account, partition="aws")


def _parameters(response: Any, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    values = {}
    for item in response._get_param("Parameters", []):
        if item.get("UsePreviousValue"):
            # A parameter left at its default has no previous value of its own: the default applies.
            if previous is not None and item["ParameterKey"] in previous:
                values[item["ParameterKey"]] = previous[item["ParameterKey"]]
        else:
            values[item["ParameterKey"]] = item["ParameterValue"]
    return values


def _check_ssm_parameters(template: dict[str, Any], given: dict[str, Any], account: str, region: str) -> None:
    """CloudFormation resolves SSM parameter types when the change set is made, and refuses a
    template whose parameter names one that does not exist."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.ssm.models import ssm_backends

    missing = [
        str(given.get(key, spec.get("Default")))
        for key, spec in template.get("Parameters", {}).items()
        if str(spec.get("Type", "")).startswith("AWS::SSM::Parameter::Value")
        and ssm_backends[account][region].get_parameter(str(given.get(key, spec.get("Default")))) is None
    ]
    if missing:
        raise ValidationError(message=f"Unable to fetch parameters [{','.join(missing)}] from parameter store for this account.")


def _tags(response: Any) -> dict[str, str]:
    return {item["Key"]: item["Value"] for item in response._get_param("Tags", [])}


# --- handlers, installed on moto's CloudFormationResponse ---------------------------------------------


def create_stack(self: Any) -> Any:
    from moto.cloudformation.exceptions import AlreadyExistsException
    from moto.cloudformation.models import Stack
    from moto.cloudformation.utils import generate_stack_id
    from moto.core.responses import ActionResult

    backend = _backend(self)
    name = self._get_param("StackName")
    if any(s.name == name for s in backend.stacks.values()):
        raise AlreadyExistsException(f"Stack [{name}] already exists")
    template = _template_body(self)
    _check_ssm_parameters(Stack.parse_template(template), _parameters(self), backend.account_id, backend.region_name)
    stack = Stack(
        stack_id=generate_stack_id(name, backend.region_name, backend.account_id),
        name=name,
        template=template,
        parameters=_parameters(self),
        account_id=backend.account_id,
        region_name=backend.region_name,
        tags=_tags(self),
        enable_termination_protection=self._get_bool_param("EnableTerminationProtection", False),
    )
    backend.stacks[stack.stack_id] = stack
    engine.create(stack)
    return ActionResult({"StackId": stack.stack_id})


def update_stack(self: Any) -> Any:
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.responses import ActionResult

    stack = _find_stack(_backend(self), self._get_param("StackName"))
    if not stack.status.endswith("_COMPLETE") or stack.status in ("ROLLBACK_COMPLETE", "DELETE_COMPLETE"):
        raise ValidationError(message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")
    template = stack.template if self._get_bool_param("UsePreviousTemplate", False) else _template_body(self)
    parameters = _parameters(self, stack.resource_map.input_parameters)
    parsed = stack.parse_template(template)
    if (
        parsed == stack.template_dict
        and parameters == stack.resource_map.input_parameters
        and not engine.changes(stack, parsed, parameters)
    ):
        raise ValidationError(message="No updates are to be performed.")
    engine.update(stack, engine.template_text(template), parameters)
    return ActionResult({"StackId": stack.stack_id})


def delete_stack(self: Any) -> Any:
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.responses import EmptyResult

    backend = _backend(self)
    name = self._get_param("StackName")
    stack = next((s for s in backend.stacks.values() if name in (s.name, s.stack_id)), None)
    if stack is None:
        return EmptyResult()  # deleting a stack that does not exist succeeds
    if stack.enable_termination_protection:
        raise ValidationError(message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled")
    retain = set(self._get_param("RetainResources", []) or [])
    if engine.delete(stack, retain):
        backend.stacks.pop(stack.stack_id)
        backend.deleted_stacks[stack.stack_id] = stack
        for arn in [a for a, cs in backend.change_sets.items() if cs.stack is stack]:
            backend.change_sets.pop(arn)
    return EmptyResult()


def create_change_set(self: Any) -> Any:
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import Stack
    from moto.cloudformation.utils import generate_changeset_id, generate_stack_id
    from moto.core.responses import ActionResult

    backend = _backend(self)
    name = self._get_param("StackName")
    kind = self._get_param("ChangeSetType", "UPDATE")
    existing = next((s for s in backend.stacks.values() if s.name == name), None)
    if kind == "CREATE":
        if existing is not None and existing.status != "REVIEW_IN_PROGRESS":
            raise ValidationError(
                message=f"Stack [{name}] already exists and cannot be created again with the changeSet [{self._get_param('ChangeSetName')}]."
            )
        stack = existing or Stack(
            stack_id=generate_stack_id(name, backend.region_name, backend.account_id),
            name=name,
            template={},
            parameters={},
            account_id=backend.account_id,
            region_name=backend.region_name,
            tags=_tags(self),
        )
        if existing is None:
            backend.stacks[stack.stack_id] = stack
            engine.stack_event(stack, "REVIEW_IN_PROGRESS", "User Initiated")
    else:
        if existing is None:
            raise ValidationError(name)
        stuck = ("REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_FAILED", "DELETE_FAILED")
        if existing.status in stuck or existing.status.endswith("IN_PROGRESS"):
            raise ValidationError(message=f"Stack:{existing.stack_id} is in {existing.status} state and can not be updated.")
        stack = existing
    previous = stack.resource_map.input_parameters if kind == "UPDATE" else None
    template = stack.template if self._get_bool_param("UsePreviousTemplate", False) else _template_body(self)
    template = engine.template_text(template)
    parameters = _parameters(self, previous)
    parsed = stack.parse_template(template)
    _check_ssm_parameters(parsed, parameters, backend.account_id, backend.region_name)
    change_set = ChangeSet(
        arn=generate_changeset_id(self._get_param("ChangeSetName"), backend.region_name, backend.account_id),
        name=self._get_param("ChangeSetName"),
        stack=stack,
        change_set_type=kind,
        template=template,
        parameters=parameters,
        tags=_tags(self),
        description=self._get_param("Description"),
        changes=engine.changes(stack, parsed, parameters),
    )
    if (
        kind == "UPDATE"
        and parsed == stack.template_dict
        and parameters == dict(stack.resource_map.input_parameters)
        and change_set.tags == stack.tags
        and not change_set.changes  # an SSM parameter that resolves to another value changes resources
    ):
        change_set.status, change_set.execution_status, change_set.status_reason = "FAILED", "UNAVAILABLE", engine.NO_CHANGES
    backend.change_sets[change_set.arn] = change_set
    return ActionResult({"Id": change_set.arn, "StackId": stack.stack_id})


def describe_change_set(self: Any) -> Any:
    from moto.core.responses import ActionResult

    change_set = _find_change_set(_backend(self), self._get_param("ChangeSetName"), self._get_param("StackName"))
    return ActionResult(change_set.describe())


def delete_change_set(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    backend = _backend(self)
    name = self._get_param("ChangeSetName")
    try:
        change_set = _find_change_set(backend, name, self._get_param("StackName"))
    except Exception:
        if name.startswith("arn:"):
            raise
        return EmptyResult()  # by name, an unknown change set is already gone (the cdk CLI relies on it)
    backend.change_sets.pop(change_set.arn)
    return EmptyResult()


def list_change_sets(self: Any) -> Any:
    from moto.core.responses import ActionResult

    stack = _find_stack(_backend(self), self._get_param("StackName"))
    summaries = [
        {k: v for k, v in cs.describe().items() if k not in ("Changes", "Parameters", "Tags")}
        for cs in _backend(self).change_sets.values()
        if cs.stack is stack
    ]
    return ActionResult({"Summaries": summaries})


def execute_change_set(self: Any) -> Any:
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.responses import EmptyResult

    backend = _backend(self)
    change_set = _find_change_set(backend, self._get_param("ChangeSetName"), self._get_param("StackName"))
    if change_set.execution_status != "AVAILABLE":
        raise ValidationError(
            message=f"ChangeSet [{change_set.arn}] cannot be executed in its current execution status of [{change_set.execution_status}]"
        )
    stack = change_set.stack
    change_set.execution_status = "EXECUTE_IN_PROGRESS"
    stack.tags = change_set.tags or stack.tags
    if change_set.change_set_type == "CREATE":
        stack.template = change_set.template
        stack._parse_template()
        stack.parameters = change_set.parameters
        stack.description = stack.template_dict.get("Description")
        stack.resource_map = stack._create_resource_map()
        engine.create(stack)
        ok = stack.status == "CREATE_COMPLETE"
    else:
        engine.update(stack, change_set.template, change_set.parameters, disable_rollback=self._get_bool_param("DisableRollback", False))
        ok = stack.status == "UPDATE_COMPLETE"
    change_set.execution_status = "EXECUTE_COMPLETE" if ok else "EXECUTE_FAILED"
    # A stack keeps no change sets once one of them has run.
    for arn in [a for a, cs in backend.change_sets.items() if cs.stack is stack and cs is not change_set]:
        backend.change_sets.pop(arn)
    return EmptyResult()


def update_termination_protection(self: Any) -> Any:
    from moto.core.responses import ActionResult

    stack = _find_stack(_backend(self), self._get_param("StackName"))
    stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection", False)
    return ActionResult({"StackId": stack.stack_id})


def _resource_rows(self: Any) -> tuple[Any, list[tuple[str, str, str, str]]]:
    backend = _backend(self)
    name = self._get_param("StackName")
    stack = next((s for s in [*backend.stacks.values(), *backend.deleted_stacks.values()] if name in (s.name, s.stack_id)), None)
    if stack is None:
        from moto.cloudformation.exceptions import ValidationError

        raise ValidationError(name)
    return stack, engine.live_resources(stack)


def list_stack_resources(self: Any) -> Any:
    from moto.core.responses import ActionResult

    stack, rows = _resource_rows(self)
    return ActionResult(
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": lid,
                    "PhysicalResourceId": pid,
                    "ResourceType": kind,
                    "ResourceStatus": status,
                    "LastUpdatedTimestamp": stack.creation_time,
                }
                for lid, kind, pid, status in rows
            ]
        }
    )


def describe_stack_resources(self: Any) -> Any:
    from moto.core.responses import ActionResult

    stack, rows = _resource_rows(self)
    wanted = self._get_param("LogicalResourceId")
    return ActionResult(
        {
            "StackResources": [
                {
                    "StackName": stack.name,
                    "StackId": stack.stack_id,
                    "LogicalResourceId": lid,
                    "PhysicalResourceId": pid,
                    "ResourceType": kind,
                    "ResourceStatus": status,
                    "Timestamp": stack.creation_time,
                }
                for lid, kind, pid, status in rows
                if wanted in (None, lid)
            ]
        }
    )


def describe_stack_resource(self: Any) -> Any:
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.responses import ActionResult

    stack, rows = _resource_rows(self)
    wanted = self._get_param("LogicalResourceId")
    for lid, kind, pid, status in rows:
        if lid == wanted:
            return ActionResult(
                {
                    "StackResourceDetail": {
                        "StackName": stack.name,
                        "StackId": stack.stack_id,
                        "LogicalResourceId": lid,
                        "PhysicalResourceId": pid,
                        "ResourceType": kind,
                        "ResourceStatus": status,
                        "LastUpdatedTimestamp": stack.creation_time,
                    }
                }
            )
    raise ValidationError(message=f"Resource {wanted} does not exist for stack {stack.name}")


HANDLERS = {
    "create_stack": create_stack,
    "update_stack": update_stack,
    "delete_stack": delete_stack,
    "create_change_set": create_change_set,
    "describe_change_set": describe_change_set,
    "delete_change_set": delete_change_set,
    "list_change_sets": list_change_sets,
    "execute_change_set": execute_change_set,
    "update_termination_protection": update_termination_protection,
    "list_stack_resources": list_stack_resources,
    "describe_stack_resources": describe_stack_resources,
    "describe_stack_resource": describe_stack_resource,
}


def lookup_events(self: Any) -> str:
    return json.dumps({"Events": []})


def install() -> None:
    from moto.cloudformation.models import Stack
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.cloudtrail.responses import CloudTrailResponse

    for name, handler in HANDLERS.items():
        setattr(CloudFormationResponse, name, handler)
    # The handlers above answer DescribeChangeSet in the API's own shape already.
    CloudFormationResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER = {
        k: v for k, v in CloudFormationResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER.items() if not k.startswith("DescribeChangeSetOutput.")
    }
    Stack.status_reason = None  # type: ignore[attr-defined]
    CloudTrailResponse.lookup_events = lookup_events  # type: ignore[attr-defined]
