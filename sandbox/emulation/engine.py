"""CloudFormation's stack operations as the service carries them out, in place of moto's.

moto 5.2.5 creates resources in template order and leaves a stack half-made when one fails;
it deletes every resource but `Retain` ones whatever the policy; its change sets are looked up
by name alone (the cdk CLI gives every stack's change set the same name) and `DeleteChangeSet`
crashes on an unknown one; it has no termination protection and no update rollback. The engine
here keeps moto's resource models and its template parsing, and does the rest as CloudFormation
documents it: dependency order with an event per resource, rollback on failure, the deletion and
replacement policies, a cleanup phase, and the stack statuses the cdk CLI waits for.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from graphlib import TopologicalSorter
from typing import Any

from sandbox.emulation.common import ResourceFailedError, one_line
from sandbox.emulation.lifecycle import already_exists, delete_physical, replacement_properties

EXTENSIONS = {
    "stack creation": "resources in dependency order, an event each; a failed resource rolls the stack back to ROLLBACK_COMPLETE (ROLLBACK_FAILED when a deletion fails), deleting what it made unless DeletionPolicy keeps it (CloudFormation user guide, 'Stack failure options')",
    "deletion policies": "Retain keeps a resource on any delete, RetainExceptOnCreate keeps it except in the rollback of the operation that created it, Snapshot takes a DB snapshot first (DeletionPolicy attribute reference)",
    "stack update": "added, changed and replaced resources in dependency order; a failure rolls back to the previous template (UPDATE_ROLLBACK_COMPLETE): what it added is deleted, what it changed is put back, a replacement is dropped for the original",
    "update cleanup": "after a successful update, removed resources are deleted under DeletionPolicy and replaced ones under UpdateReplacePolicy; a deletion that fails leaves the resource outside the stack, which ends UPDATE_COMPLETE (user guide, troubleshooting: 'Resource removed from stack but not deleted')",
    "replacement": "a changed create-only property (the provider schemas cfn-lint ships) replaces the resource; one with a custom name cannot be replaced ('CloudFormation cannot update a stack when a custom-named resource requires replacing')",
    "stack deletion": "resources in reverse dependency order under DeletionPolicy; one that cannot be deleted leaves the stack DELETE_FAILED; DeleteStack of a stack with termination protection is refused",
    "change sets": "CREATE change sets make a REVIEW_IN_PROGRESS stack; change sets are found by stack and name (the cdk CLI names every stack's `cdk-deploy-change-set`); one without changes FAILs with CloudFormation's reason; changes say whether they replace, and a modified resource's Details name each changed property, whether it requires recreation, and those changed through a replaced resource they refer to (API reference, ResourceChangeDetail), which the cdk CLI's diff needs to show them",
    "termination protection": "UpdateTerminationProtection, and DescribeStacks' EnableTerminationProtection",
    "rollback disabled": "an update executed with DisableRollback keeps what succeeded and ends UPDATE_FAILED, the failed resource as it was; the next update retries it (user guide, 'Choose how to handle failures when provisioning resources')",
    "stuck stacks": "a stack in UPDATE_ROLLBACK_FAILED or DELETE_FAILED takes no change set: ContinueUpdateRollback and DeleteStack are the ways on (user guide, 'Stack status codes' and 'Continue rolling back an update')",
    "SSM parameter types": "an update and a change set resolve AWS::SSM::Parameter::Value parameters anew; a resource that refers to one whose value changed is updated (or replaced, by its create-only properties) though the template is the same (user guide, 'Systems Manager parameter types': 'CloudFormation always fetches the latest values from Parameter Store when it updates stacks'); here they are resolved again when the change set is executed, where AWS uses the values of its creation (the cdk CLI executes at once)",
}

NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."
CLEANUP_FAILED = "Update successful. One or more resources could not be deleted."


# --- the template's dependency graph ------------------------------------------------------------

_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def references(value: Any) -> set[str]:
    """Every logical id a piece of template refers to: Ref, Fn::GetAtt and Fn::Sub's ${...}."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item.split(".", 1)[0] if isinstance(item, str) else item[0])
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                found |= set(_SUB_NAME.findall(text))
                if not isinstance(item, str):
                    found |= references(item[1])
            else:
                found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def dependencies(resources: dict[str, Any]) -> dict[str, set[str]]:
    graph = {}
    for logical_id, body in resources.items():
        depends_on = body.get("DependsOn", [])
        explicit = {depends_on} if isinstance(depends_on, str) else set(depends_on)
        graph[logical_id] = (references(body.get("Properties", {})) | explicit) & set(resources) - {logical_id}
    return graph


def creation_order(resources: dict[str, Any]) -> list[str]:
    return list(TopologicalSorter(dependencies(resources)).static_order())


# --- bookkeeping on moto's Stack ------------------------------------------------------------------


@dataclass
class Operation:
    """What one stack operation did, so that a failure can undo it."""

    created: list[str] = field(default_factory=list)
    changed: list[tuple[str, Any, dict[str, Any]]] = field(default_factory=list)  # (id, old instance, old json)
    replaced: dict[str, Any] = field(default_factory=dict)  # id -> the old instance, deleted in cleanup


def _statuses(stack: Any) -> dict[str, str]:
    if not hasattr(stack, "resource_statuses"):
        stack.resource_statuses = {}
    return stack.resource_statuses


def event(stack: Any, logical_id: str, resource_type: str, status: str, reason: str | None = None, physical_id: str = "") -> None:
    from moto.cloudformation.models import Event

    made = Event(
        stack_id=stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=logical_id,
        physical_resource_id=physical_id,
        resource_type=resource_type,
        resource_status=status,
        resource_status_reason=reason,
        resource_properties=None,
    )
    # Events a millisecond apart at least: the cdk CLI orders them by time, as CloudFormation's are.
    if stack.events and made.timestamp <= stack.events[-1].timestamp:
        made.timestamp = stack.events[-1].timestamp + timedelta(milliseconds=1)
    stack.events.append(made)
    if resource_type != "AWS::CloudFormation::Stack":
        _statuses(stack)[logical_id] = status


def stack_event(stack: Any, status: str, reason: str | None = None) -> None:
    stack.status = status
    stack.status_reason = reason
    event(stack, stack.name, "AWS::CloudFormation::Stack", status, reason, stack.stack_id)


def _physical_id(instance: Any) -> str:
    return str(getattr(instance, "physical_resource_id", "") or "")


def _policy(body: dict[str, Any], attribute: str) -> str:
    default = "Snapshot" if body["Type"] == "AWS::RDS::DBInstance" and "DBClusterIdentifier" not in body.get("Properties", {}) else "Delete"
    return str(body.get(attribute, default))


# --- making, changing and deleting one resource --------------------------------------------------


def _make(stack: Any, logical_id: str, body: dict[str, Any]) -> Any:
    """Create one resource through moto's model, after CloudFormation's own checks."""
    from moto.cloudformation import parsing

    rmap = stack.resource_map
    resolved = parsing.clean_json(copy.deepcopy(body), rmap)
    taken = already_exists(body["Type"], resolved.get("Properties", {}), stack.account_id, stack.region_name)
    if taken:
        raise ResourceFailedError(
            logical_id,
            body["Type"],
            f"Resource handler returned message: \"Resource of type '{body['Type']}' with identifier '{taken}' already exists.\" (HandlerErrorCode: AlreadyExists)",
        )
    instance = parsing.parse_and_create_resource(logical_id, copy.deepcopy(body), rmap, stack.account_id, stack.region_name)
    if instance is not None:
        rmap._parsed_resources[logical_id] = instance
        _tag_ec2(stack, logical_id, instance)
    return instance


def _tag_ec2(stack: Any, logical_id: str, instance: Any) -> None:
    """CloudFormation tags the EC2 resources it makes with the stack's name, id and logical id."""
    from moto.ec2 import models as ec2_models
    from moto.ec2.models.core import TaggedEC2Resource

    if isinstance(instance, TaggedEC2Resource):
        tags = {
            "aws:cloudformation:stack-name": stack.name,
            "aws:cloudformation:stack-id": stack.stack_id,
            "aws:cloudformation:logical-id": logical_id,
        }
        ec2_models.ec2_backends[stack.account_id][stack.region_name].create_tags([instance.physical_resource_id], tags)


def _delete(stack: Any, logical_id: str, instance: Any, body: dict[str, Any], policy: str, *, on_rollback_of_create: bool) -> bool:
    """Delete (or keep) one resource under `policy`; False when the deletion failed."""
    kind = body["Type"]
    physical = _physical_id(instance)
    keep = policy == "Retain" or (policy == "RetainExceptOnCreate" and not on_rollback_of_create)
    if keep:
        event(stack, logical_id, kind, "DELETE_SKIPPED", None, physical)
        return True
    event(stack, logical_id, kind, "DELETE_IN_PROGRESS", None, physical)
    try:
        delete_physical(stack, logical_id, instance, body, snapshot=policy == "Snapshot")
    except Exception as exc:  # noqa: BLE001 - any failure of the service is the resource's reason
        event(stack, logical_id, kind, "DELETE_FAILED", one_line(exc), physical)
        return False
    event(stack, logical_id, kind, "DELETE_COMPLETE", None, physical)
    return True


# --- stack operations ---------------------------------------------------------------------------


def create(stack: Any) -> None:
    """CreateStack, or the execution of a CREATE change set."""
    rmap = stack.resource_map
    resources = stack.template_dict.get("Resources", {})
    stack_event(stack, "CREATE_IN_PROGRESS", "User Initiated")
    rmap._template = stack.template_dict
    rmap._resource_json_map = resources
    op = Operation()
    for logical_id in creation_order(resources):
        body = resources[logical_id]
        if not _condition_holds(rmap, body):
            continue
        event(stack, logical_id, body["Type"], "CREATE_IN_PROGRESS")
        try:
            instance = _make(stack, logical_id, body)
        except Exception as exc:  # noqa: BLE001
            event(stack, logical_id, body["Type"], "CREATE_FAILED", one_line(exc))
            _roll_back_create(stack, op, f"The following resource(s) failed to create: [{logical_id}]. Rollback requested by user.")
            return
        op.created.append(logical_id)
        event(stack, logical_id, body["Type"], "CREATE_COMPLETE", None, _physical_id(instance))
    stack.output_map = stack._create_output_map()
    stack_event(stack, "CREATE_COMPLETE")


def _condition_holds(rmap: Any, body: dict[str, Any]) -> bool:
    condition = body.get("Condition")
    return not condition or bool(rmap.lazy_condition_map[condition])


def _roll_back_create(stack: Any, op: Operation, reason: str) -> None:
    stack_event(stack, "ROLLBACK_IN_PROGRESS", reason)
    rmap = stack.resource_map
    resources = stack.template_dict["Resources"]
    failed = []
    for logical_id in reversed(op.created):
        body = resources[logical_id]
        instance = rmap._parsed_resources.get(logical_id)
        if _delete(stack, logical_id, instance, body, _policy(body, "DeletionPolicy"), on_rollback_of_create=True):
            rmap._parsed_resources.pop(logical_id, None)
        else:
            failed.append(logical_id)
    stack.output_map = {}
    if failed:
        stack_event(stack, "ROLLBACK_FAILED", f"The following resource(s) failed to delete: [{', '.join(failed)}]. ")
    else:
        stack_event(stack, "ROLLBACK_COMPLETE")


def resolved_parameters(stack: Any, template: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The template's parameters as an operation starting now resolves them: the given value or the
    default, and for an SSM parameter type the value in Parameter Store at this moment."""
    from moto.ssm.models import ssm_backends

    values: dict[str, Any] = {}
    for key, spec in template.get("Parameters", {}).items():
        value = given.get(key, spec.get("Default"))
        if str(spec.get("Type", "")).startswith("AWS::SSM::Parameter::Value") and value is not None:
            found = ssm_backends[stack.account_id][stack.region_name].get_parameter(str(value))
            value = found.value if found is not None else None
        values[key] = value
    return values


def _with_values(node: Any, values: dict[str, Any]) -> Any:
    """A piece of template with each Ref to a parameter replaced by the parameter's value."""
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in values:
            return values[node["Ref"]]
        return {k: _with_values(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_values(v, values) for v in node]
    return node


def plan_update(stack: Any, new_template: dict[str, Any], given: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """Which resources an update adds, modifies (in place or by replacement) and removes; with the
    `given` parameters, also those whose parameters now resolve to other values."""
    old = stack.template_dict.get("Resources", {})
    new = new_template.get("Resources", {})
    old_values = {k: v for k, v in stack.resource_map.resolved_parameters.items() if k in stack.template_dict.get("Parameters", {})}
    new_values = resolved_parameters(stack, new_template, given) if given is not None else old_values
    plan: dict[str, list[str]] = {"Add": [], "Modify": [], "Replace": [], "Remove": [n for n in old if n not in new]}
    for name in creation_order(new):
        if name not in old:
            plan["Add"].append(name)
            continue
        before, after = _with_values(old[name], old_values), _with_values(new[name], new_values)
        if _body(before) != _body(after):
            plan["Replace" if replacement_properties(before, after, stack.region_name) else "Modify"].append(name)
    # A resource that refers to a replaced one gets the new physical id, so it changes too.
    replaced = set(plan["Replace"])
    for name in creation_order(new):
        if name in old and name not in plan["Modify"] and name not in plan["Replace"] and references(new[name]) & replaced:
            plan["Modify"].append(name)
    return plan


def _body(resource: dict[str, Any]) -> dict[str, Any]:
    """What CloudFormation calls a resource's handler for when it changes (not its DependsOn or Metadata)."""
    return {k: v for k, v in resource.items() if k not in ("Metadata", "DependsOn")}


def update(stack: Any, template: str, parameters: dict[str, Any] | None, *, disable_rollback: bool = False) -> None:
    """UpdateStack, or the execution of an UPDATE change set; with `disable_rollback` a failure
    keeps what succeeded and leaves the stack UPDATE_FAILED for the next update to retry."""
    rmap = stack.resource_map
    saved = _save(stack)
    new_template = stack.parse_template(template)
    plan = plan_update(stack, new_template, parameters or dict(stack.resource_map.input_parameters))
    old_resources = stack.template_dict.get("Resources", {})
    stack_event(stack, "UPDATE_IN_PROGRESS", "User Initiated")
    stack.template, stack.template_dict = template, new_template
    rmap._template = new_template
    if parameters:
        rmap.input_parameters = parameters
    rmap.load_parameters()
    rmap.load_conditions()
    rmap._resource_json_map = new_template["Resources"]
    op = Operation()
    order = [n for n in creation_order(new_template["Resources"]) if n in set(plan["Add"] + plan["Modify"] + plan["Replace"])]
    for logical_id in order:
        body = new_template["Resources"][logical_id]
        kind = body["Type"]
        try:
            if logical_id in plan["Add"]:
                if not _condition_holds(rmap, body):
                    continue
                event(stack, logical_id, kind, "CREATE_IN_PROGRESS")
                instance = _make(stack, logical_id, body)
                op.created.append(logical_id)
                event(stack, logical_id, kind, "CREATE_COMPLETE", None, _physical_id(instance))
            elif logical_id in plan["Replace"]:
                _replace(stack, logical_id, old_resources[logical_id], body, op)
            else:
                _modify(stack, logical_id, old_resources[logical_id], body, op)
        except Exception as exc:  # noqa: BLE001
            status = "CREATE_FAILED" if logical_id in plan["Add"] else "UPDATE_FAILED"
            event(stack, logical_id, kind, status, one_line(exc))
            if disable_rollback:
                _keep_what_succeeded(stack, old_resources, new_template, op, logical_id)
                return
            _roll_back_update(
                stack,
                op,
                saved,
                f"The following resource(s) failed to {'create' if status == 'CREATE_FAILED' else 'update'}: [{logical_id}]. ",
            )
            return
    stack.output_map = stack._create_output_map()
    stack_event(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    failed = []
    for logical_id in reversed(creation_order(old_resources)):
        if logical_id in plan["Remove"] and logical_id in rmap._parsed_resources:
            body = old_resources[logical_id]
            instance = rmap._parsed_resources.pop(logical_id)
            _statuses(stack).pop(logical_id, None)
            if not _delete(stack, logical_id, instance, body, _policy(body, "DeletionPolicy"), on_rollback_of_create=False):
                failed.append(logical_id)
        elif logical_id in op.replaced:
            body = new_template["Resources"][logical_id]
            event_status = _statuses(stack).get(logical_id)
            if not _delete(
                stack,
                logical_id,
                op.replaced[logical_id],
                old_resources[logical_id],
                _policy(body, "UpdateReplacePolicy"),
                on_rollback_of_create=False,
            ):
                failed.append(logical_id)
            if event_status:
                _statuses(stack)[logical_id] = event_status
    stack_event(stack, "UPDATE_COMPLETE", CLEANUP_FAILED if failed else None)


def _keep_what_succeeded(stack: Any, old_resources: dict[str, Any], new_template: dict[str, Any], op: Operation, failed: str) -> None:
    """With rollback disabled ("preserve successfully provisioned resources"), what succeeded
    keeps its new state, the failed resource and those not reached keep their old one, and the
    stack ends UPDATE_FAILED. The template kept for the next diff is what is deployed, so that
    the next update retries the rest."""
    done = [*op.created, *(logical_id for logical_id, _, _ in op.changed), *op.replaced]
    deployed = {**old_resources, **{name: new_template["Resources"][name] for name in done if name != failed}}
    if failed not in old_resources:
        deployed.pop(failed, None)
    stack.template_dict = {**new_template, "Resources": deployed}
    stack.template = json.dumps(stack.template_dict)
    stack.resource_map._resource_json_map = deployed
    stack.output_map = stack._create_output_map()
    stack_event(stack, "UPDATE_FAILED", f"The following resource(s) failed to update: [{failed}]. ")


def _modify(stack: Any, logical_id: str, old_body: dict[str, Any], body: dict[str, Any], op: Operation) -> None:
    from moto.cloudformation import parsing

    rmap = stack.resource_map
    old_instance = rmap._parsed_resources.get(logical_id)
    event(stack, logical_id, body["Type"], "UPDATE_IN_PROGRESS", None, _physical_id(old_instance))
    op.changed.append((logical_id, old_instance, old_body))
    updated = parsing.parse_and_update_resource(logical_id, copy.deepcopy(body), rmap, stack.account_id, stack.region_name)
    if updated is not None:
        rmap._parsed_resources[logical_id] = updated
    event(stack, logical_id, body["Type"], "UPDATE_COMPLETE", None, _physical_id(rmap._parsed_resources.get(logical_id)))


def _replace(stack: Any, logical_id: str, old_body: dict[str, Any], body: dict[str, Any], op: Operation) -> None:
    rmap = stack.resource_map
    old_instance = rmap._parsed_resources.get(logical_id)
    event(
        stack,
        logical_id,
        body["Type"],
        "UPDATE_IN_PROGRESS",
        "Requested update requires the creation of a new physical resource; hence creating one.",
        _physical_id(old_instance),
    )
    named = replacement_properties(old_body, body, stack.region_name, named_only=True)
    if named:
        raise ResourceFailedError(
            logical_id,
            body["Type"],
            f"CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename {', '.join(named)} and update the stack again.",
        )
    rmap._parsed_resources.pop(logical_id, None)
    op.replaced[logical_id] = old_instance
    instance = _make(stack, logical_id, body)
    event(stack, logical_id, body["Type"], "UPDATE_COMPLETE", None, _physical_id(instance))


def _save(stack: Any) -> dict[str, Any]:
    rmap = stack.resource_map
    return {
        "template": stack.template,
        "template_dict": stack.template_dict,
        "input_parameters": dict(rmap.input_parameters),
        "parsed": dict(rmap._parsed_resources),
    }


def _roll_back_update(stack: Any, op: Operation, saved: dict[str, Any], reason: str) -> None:
    from moto.cloudformation import parsing

    stack_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason)
    rmap = stack.resource_map
    new_resources = stack.template_dict["Resources"]
    stack.template, stack.template_dict = saved["template"], saved["template_dict"]
    rmap._template = saved["template_dict"]
    rmap.input_parameters = saved["input_parameters"]
    rmap.load_parameters()
    rmap.load_conditions()
    rmap._resource_json_map = saved["template_dict"]["Resources"]
    failed = False
    # The originals of replaced resources come back first: what is put back refers to them.
    replacements = {logical_id: rmap._parsed_resources.get(logical_id) for logical_id in op.replaced}
    for logical_id, original in op.replaced.items():
        rmap._parsed_resources[logical_id] = original
    for logical_id, old_instance, old_body in reversed(op.changed):
        event(stack, logical_id, old_body["Type"], "UPDATE_IN_PROGRESS", None, _physical_id(old_instance))
        try:
            restored = parsing.parse_and_update_resource(logical_id, copy.deepcopy(old_body), rmap, stack.account_id, stack.region_name)
            rmap._parsed_resources[logical_id] = restored if restored is not None else old_instance
            event(stack, logical_id, old_body["Type"], "UPDATE_COMPLETE", None, _physical_id(rmap._parsed_resources[logical_id]))
        except Exception as exc:  # noqa: BLE001
            event(stack, logical_id, old_body["Type"], "UPDATE_FAILED", one_line(exc))
            failed = True
    stack_event(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    for logical_id, replacement in replacements.items():
        if replacement is not None and not _delete(
            stack, logical_id, replacement, new_resources[logical_id], "Delete", on_rollback_of_create=True
        ):
            failed = True
    for logical_id in reversed(op.created):
        body = new_resources[logical_id]
        instance = rmap._parsed_resources.pop(logical_id, None)
        _statuses(stack).pop(logical_id, None)
        if instance is not None and not _delete(
            stack, logical_id, instance, body, _policy(body, "DeletionPolicy"), on_rollback_of_create=True
        ):
            failed = True
    stack.output_map = stack._create_output_map()
    stack_event(stack, "UPDATE_ROLLBACK_FAILED" if failed else "UPDATE_ROLLBACK_COMPLETE")


def delete(stack: Any, retain: Iterable[str] = ()) -> bool:
    """DeleteStack; False when a resource could not be deleted (DELETE_FAILED)."""
    rmap = stack.resource_map
    resources = stack.template_dict.get("Resources", {}) if stack.template_dict else {}
    stack_event(stack, "DELETE_IN_PROGRESS", "User Initiated")
    failed = []
    for logical_id in reversed(creation_order(resources)):
        instance = rmap._parsed_resources.get(logical_id)
        if instance is None:
            continue
        body = resources[logical_id]
        policy = "Retain" if logical_id in retain else _policy(body, "DeletionPolicy")
        if _delete(stack, logical_id, instance, body, policy, on_rollback_of_create=False):
            rmap._parsed_resources.pop(logical_id, None)
        else:
            failed.append(logical_id)
    if failed:
        stack_event(stack, "DELETE_FAILED", f"The following resource(s) failed to delete: [{', '.join(failed)}]. ")
        return False
    stack_event(stack, "DELETE_COMPLETE")
    return True


def live_resources(stack: Any) -> list[tuple[str, str, str, str]]:
    """(logical id, type, physical id, status) of what the stack holds now."""
    rmap = stack.resource_map
    resources = stack.template_dict.get("Resources", {}) if stack.template_dict else {}
    rows = []
    for logical_id, body in resources.items():
        instance = rmap._parsed_resources.get(logical_id)
        status = _statuses(stack).get(logical_id)
        if instance is None or status is None or status in ("DELETE_COMPLETE", "DELETE_SKIPPED"):
            continue
        rows.append((logical_id, body["Type"], _physical_id(instance), status))
    return rows


def changes(stack: Any, new_template: dict[str, Any], given: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """DescribeChangeSet's Changes for an update (or, for a new stack, every resource added)."""
    old = stack.template_dict.get("Resources", {}) if stack.template_dict else {}
    plan = (
        plan_update(stack, new_template, given)
        if old
        else {"Add": list(new_template.get("Resources", {})), "Modify": [], "Replace": [], "Remove": []}
    )
    rows = []
    for action, names in (("Add", plan["Add"]), ("Modify", plan["Modify"]), ("Modify", plan["Replace"]), ("Remove", plan["Remove"])):
        for name in names:
            body = (new_template["Resources"] if action != "Remove" else old)[name]
            change: dict[str, Any] = {"Action": action, "LogicalResourceId": name, "ResourceType": body["Type"]}
            if action == "Modify":
                change["Replacement"] = "True" if name in plan["Replace"] else "False"
                change["PhysicalResourceId"] = _physical_id(stack.resource_map._parsed_resources.get(name))
                change["Scope"], change["Details"] = ["Properties"], _details(stack, old[name], body, set(plan["Replace"]))
            rows.append({"Type": "Resource", "ResourceChange": change})
    return rows


def _details(stack: Any, old: dict[str, Any], new: dict[str, Any], replaced: set[str]) -> list[dict[str, Any]]:
    """A modified resource's Details as DescribeChangeSet gives them: one per property that changes,
    whether it forces a replacement, and those that change because a resource they refer to is
    replaced (CloudFormation API reference, ResourceChangeDetail and ResourceTargetDefinition). The
    cdk CLI's diff reads them: a property they leave out, whose value holds a Ref or Fn::GetAtt, is
    hidden from the diff as if unchanged."""
    from sandbox.emulation.lifecycle import replacement_properties

    before, after = old.get("Properties", {}), new.get("Properties", {})
    forcing = {path.split(".")[0] for path in replacement_properties(old, new, stack.region_name)}
    found = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            target = {"Attribute": "Properties", "Name": key, "RequiresRecreation": "Always" if key in forcing else "Never"}
            found.append({"Target": target, "Evaluation": "Static", "ChangeSource": "DirectModification"})
        elif references(after.get(key)) & replaced:
            target = {"Attribute": "Properties", "Name": key, "RequiresRecreation": "Never"}
            cause = min(references(after.get(key)) & replaced)
            found.append({"Target": target, "Evaluation": "Dynamic", "ChangeSource": "ResourceReference", "CausingEntity": cause})
    return found


def template_text(body: Any) -> str:
    return body if isinstance(body, str) else json.dumps(body)
