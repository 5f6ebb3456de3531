"""Fault Injection Service: the experiment templates the stacks make, and what an experiment of
them checks before it acts. moto keeps templates and experiments (each experiment advances one
state per GetExperiment: pending, initiating, running, completed) but has no CloudFormation type
for them, runs no action and checks nothing; the game-day rehearsal needs all three."""

from __future__ import annotations

import math
import re
from typing import Any

from sandbox.emulation.common import ResourceFailedError, client

EXTENSIONS = {
    "AWS::FIS::ExperimentTemplate": "made, updated in place and deleted through moto's FIS API; refused, as CreateExperimentTemplate "
    "refuses it, when an action names a target key its action does not take or a target the template lacks, or its target's "
    "resource type is not the action's, or a required parameter is missing (AWS FIS user guide, 'Actions reference': each "
    "action's Targets, Resource types and Parameters), or a selection mode is not ALL, COUNT(n) or PERCENT(n) (user guide, "
    "'Targets'); an action other than the three the stacks use is refused as unknown, which AWS may accept (stricter, "
    "never kinder)",
    "FIS target resolution": "an experiment fails when a target resolves to no resource (experimentOptions "
    "emptyTargetResolutionMode 'fail', the default; AWS FIS user guide, 'Experiment options'): an ECS service of the "
    "cluster and service parameters with no running task, an RDS instance ARN that does not exist, no subnet with the "
    "target's tags in its AvailabilityZone filter; or when its role does not exist",
    "FIS stop conditions": "an experiment not yet ended stops at the first GetExperiment after one of its stop-condition "
    "alarms is in ALARM (AWS FIS user guide, 'Stop conditions'); the reason, 'Stop condition triggered', is the emulator's "
    "wording, not FIS's",
    "FIS actions (stand-ins)": "no fault is injected: while an experiment is running, aws:ecs:stop-task takes PERCENT(n) of "
    "the service's running tasks off its running count and its target groups, and aws:rds:reboot-db-instances shows the "
    "instance 'rebooting'; both are back when the experiment ends (ECS replaces stopped tasks, RDS finishes the reboot or "
    "failover, here at once). aws:network:disrupt-connectivity changes nothing the emulator can show: no subnet loses "
    "its network, no ALB node or NAT gateway of the zone is cut off, and no RDS failover follows",
}

# Each action the stacks use: the target key it takes and the resource type of that target
# (AWS FIS user guide, "Actions reference").
ACTIONS: dict[str, tuple[str, str]] = {
    "aws:ecs:stop-task": ("Tasks", "aws:ecs:task"),
    "aws:rds:reboot-db-instances": ("DBInstances", "aws:rds:db"),
    "aws:network:disrupt-connectivity": ("Subnets", "aws:ec2:subnet"),
}
# Required parameters (the same reference): the network disruption's duration.
REQUIRED_PARAMETERS: dict[str, tuple[str, ...]] = {"aws:network:disrupt-connectivity": ("duration",)}
# A target's selection mode (AWS FIS user guide, "Targets": ALL, COUNT(n), PERCENT(n)).
_SELECTION = re.compile(r"ALL|COUNT\(\d+\)|PERCENT\(\d+\)")
# What an experiment did while running, by experiment id, to be undone when it ends.
_APPLIED: dict[str, list[tuple[str, Any]]] = {}


def _api(props: dict[str, Any]) -> dict[str, Any]:
    """The template's properties as CreateExperimentTemplate takes them (its own names stay)."""
    targets = {
        name: {
            "resourceType": t["ResourceType"],
            "selectionMode": t["SelectionMode"],
            **({"resourceArns": t["ResourceArns"]} if "ResourceArns" in t else {}),
            **({"resourceTags": t["ResourceTags"]} if "ResourceTags" in t else {}),
            **({"parameters": t["Parameters"]} if "Parameters" in t else {}),
            **({"filters": [{"path": f["Path"], "values": f["Values"]} for f in t["Filters"]]} if "Filters" in t else {}),
        }
        for name, t in props.get("Targets", {}).items()
    }
    actions = {
        name: {
            "actionId": a["ActionId"],
            **({"parameters": a["Parameters"]} if "Parameters" in a else {}),
            **({"targets": a["Targets"]} if "Targets" in a else {}),
            **({"startAfter": a["StartAfter"]} if "StartAfter" in a else {}),
        }
        for name, a in props.get("Actions", {}).items()
    }
    logs = props.get("LogConfiguration")
    return {
        "description": props["Description"],
        "roleArn": props["RoleArn"],
        "targets": targets,
        "actions": actions,
        "stopConditions": [{"source": s["Source"], **({"value": s["Value"]} if "Value" in s else {})} for s in props["StopConditions"]],
        **(
            {
                "logConfiguration": {
                    "logSchemaVersion": int(logs["LogSchemaVersion"]),
                    "cloudWatchLogsConfiguration": {"logGroupArn": logs["CloudWatchLogsConfiguration"]["LogGroupArn"]},
                }
            }
            if logs and "CloudWatchLogsConfiguration" in logs
            else {}
        ),
    }


def _problem(api: dict[str, Any]) -> str | None:
    """Why CreateExperimentTemplate would refuse the template, or None. An action the emulator
    does not know is refused too: stricter than AWS, never kinder."""
    for name, target in api["targets"].items():
        if not _SELECTION.fullmatch(target["selectionMode"]):
            return f"Target {name}: selectionMode {target['selectionMode']} is not ALL, COUNT(n) or PERCENT(n)"
    for name, action in api["actions"].items():
        known = ACTIONS.get(action["actionId"])
        if known is None:
            return f"Action {name}: {action['actionId']} is not an action the emulator knows ({', '.join(ACTIONS)})"
        missing = [p for p in REQUIRED_PARAMETERS.get(action["actionId"], ()) if p not in action.get("parameters", {})]
        if missing:
            return f"Action {name}: {action['actionId']} needs parameter {', '.join(missing)}"
        for key, target in action.get("targets", {}).items():
            if target not in api["targets"]:
                return f"Action {name} refers to target {target}, which the template does not define"
            if key != known[0]:
                return f"Action {name}: {action['actionId']} takes target key {known[0]}, not {key}"
            if api["targets"][target]["resourceType"] != known[1]:
                return f"Action {name}: {action['actionId']} acts on {known[1]}, not {api['targets'][target]['resourceType']}"
    return None


def define_models() -> list[type]:
    from moto.core.common_models import CloudFormationModel

    from sandbox.emulation.resources import _ApiModel

    class ExperimentTemplate(_ApiModel, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::FIS::ExperimentTemplate"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
        ) -> Any:
            props = dict(cloudformation_json.get("Properties", {}))
            api = _api(props)
            problem = _problem(api)
            if problem:
                raise ResourceFailedError(
                    kwargs.get("LogicalId", resource_name),
                    cls.cloudformation_type(),
                    f"{problem} (Service: Fis; Error Code: ValidationException)",
                )
            created = client("fis", region_name).create_experiment_template(**api, tags=props.get("Tags", {}))
            return cls(created["experimentTemplate"]["id"], region_name)

        @classmethod
        def update(cls, physical_id: str, props: dict[str, Any], region: str) -> str:
            fis = client("fis", region)
            fis.update_experiment_template(id=physical_id, **_api(props))
            arn = fis.get_experiment_template(id=physical_id)["experimentTemplate"]["arn"]
            fis.tag_resource(resourceArn=arn, tags=props.get("Tags", {}))
            return physical_id

        @classmethod
        def remove(cls, physical_id: str, region: str) -> None:
            client("fis", region).delete_experiment_template(id=physical_id)

    return [ExperimentTemplate]


def _resolution_problem(account: str, region: str, experiment: Any) -> str | None:
    """Why the experiment's role or targets do not resolve, or None."""
    from moto.iam.models import iam_backends
    from moto.rds.models import rds_backends

    role = experiment.role_arn.rsplit("/", 1)[-1]
    if role not in {r.name for r in iam_backends[account]["global"].roles.values()}:
        return f"Unable to assume role {experiment.role_arn}"
    for name, target in experiment.targets.items():
        kind = target.get("resourceType")
        if kind == "aws:ecs:task":
            found = _service(account, region, target.get("parameters", {}))
            if found is None or found.running_count < 1:
                return f"Target resolution failed for {name}: no running task of {target.get('parameters')}"
        elif kind == "aws:rds:db":
            known = {db.db_instance_arn for db in rds_backends[account][region].databases.values()}
            missing = [arn for arn in target.get("resourceArns", []) if arn not in known]
            if missing:
                return f"Target resolution failed for {name}: {', '.join(missing)} not found"
        elif kind == "aws:ec2:subnet":
            zones = next((f["values"] for f in target.get("filters", []) if f["path"] == "AvailabilityZone"), None)
            wanted = target.get("resourceTags", {})
            subnets = _subnets(account, region, wanted, zones)
            if not subnets:
                return f"Target resolution failed for {name}: no subnet tagged {wanted} in {zones}"
    return None


def _subnets(account: str, region: str, tags: dict[str, str], zones: list[str] | None) -> list[Any]:
    from moto.ec2.models import ec2_backends

    filters: dict[str, list[str]] = {f"tag:{k}": [v] for k, v in tags.items()}
    if zones is not None:
        filters["availability-zone"] = zones
    return list(ec2_backends[account][region].describe_subnets(filters=filters))


def _service(account: str, region: str, parameters: dict[str, str]) -> Any:
    from moto.ecs.models import ecs_backends

    return ecs_backends[account][region].services.get(f"{parameters.get('cluster')}:{parameters.get('service')}")


def _percent(selection: str, count: int) -> int:
    match = re.fullmatch(r"PERCENT\((\d+)\)", selection)
    if match:
        return max(1, math.floor(count * int(match.group(1)) / 100))
    match = re.fullmatch(r"COUNT\((\d+)\)", selection)
    return min(count, int(match.group(1))) if match else count


def _act(account: str, region: str, experiment: Any) -> None:
    """The stand-ins of the experiment's actions, once it runs."""
    from moto.rds.models import rds_backends

    from sandbox.emulation.ecs import sync_targets

    applied = _APPLIED.setdefault(experiment.id, [])
    for action in experiment.actions.values():
        for target_name in action.get("targets", {}).values():
            target = experiment.targets[target_name]
            if action["actionId"] == "aws:ecs:stop-task":
                service = _service(account, region, target.get("parameters", {}))
                service.running_count -= _percent(target.get("selectionMode", "ALL"), service.running_count)
                sync_targets(account, region, service.cluster_name, service.name)
                applied.append(("service", service))
            elif action["actionId"] == "aws:rds:reboot-db-instances":
                for db in rds_backends[account][region].databases.values():
                    if db.db_instance_arn in target.get("resourceArns", []):
                        db.status = "rebooting"
                        applied.append(("database", db))


def _undo(account: str, region: str, experiment_id: str) -> None:
    from sandbox.emulation.ecs import sync_targets

    for kind, thing in _APPLIED.pop(experiment_id, []):
        if kind == "service":
            thing.running_count = thing.desired_count
            sync_targets(account, region, thing.cluster_name, thing.name)
        else:
            thing.status = "available"


def install() -> None:
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.fis.models import FISBackend

    get_experiment = FISBackend.get_experiment

    def checked_get_experiment(self: Any, id: str) -> dict[str, Any]:
        experiment = self.experiments.get(id)
        if experiment is not None and experiment.status not in ("completed", "stopped", "failed", "stopping"):
            alarms = cloudwatch_backends[self.account_id][self.region_name].alarms
            # Targets are resolved as the experiment starts, not again once its actions run.
            starting = experiment.status in ("pending", "initiating")
            problem = _resolution_problem(self.account_id, self.region_name, experiment) if starting else None
            fired = [
                s["value"]
                for s in experiment.stop_conditions
                if s.get("value") and getattr(alarms.get(s["value"].split(":alarm:")[-1]), "state_value", "") == "ALARM"
            ]
            if problem:
                experiment.status = "failed"
                experiment.STATUS_REASONS = {**experiment.STATUS_REASONS, "failed": problem}
            elif fired:
                experiment.status = "stopped"
                experiment.STATUS_REASONS = {**experiment.STATUS_REASONS, "stopped": "Stop condition triggered"}
        result = get_experiment(self, id)
        status = result["state"]["status"]
        if status == "running" and id not in _APPLIED:
            _act(self.account_id, self.region_name, experiment)
        elif status in ("completed", "stopped", "failed"):
            _undo(self.account_id, self.region_name, id)
        return result

    FISBackend.get_experiment = checked_get_experiment  # type: ignore[method-assign]

    stop_experiment = FISBackend.stop_experiment

    def stop_and_undo(self: Any, id: str) -> dict[str, Any]:
        result = stop_experiment(self, id)
        _undo(self.account_id, self.region_name, id)
        return result

    FISBackend.stop_experiment = stop_and_undo  # type: ignore[method-assign]
