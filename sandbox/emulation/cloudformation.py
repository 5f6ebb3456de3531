"""moto's CloudFormation engine, brought closer to CloudFormation's: intrinsics and attributes it
lacks, failures reported on the stack, types it does not model, and updates that follow a
replaced resource."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any

from sandbox.emulation.common import PhysicalId, ResourceFailedError, client, one_line

EXTENSIONS = {
    "Fn::GetStackOutput": "reads another stack's output in the same region (CDK's weak cross-stack references)",
    "Fn::Cidr": "splits a CIDR block (the dual-stack subnets' IPv6 ranges)",
    "Fn::GetAtt": "answers the attributes moto lacks (VPC Ipv6CidrBlocks, ALB and target group full names, EFS ids, DB secret ARN and port)",
    "stack failures": "a resource the emulator cannot make fails with the reason on its event (moto answers HTTP 500)",
    "dynamic references": "`{{resolve:secretsmanager:...}}` and `{{resolve:ssm:...}}` in a property are replaced by the value when the resource is created or updated, and a secret, JSON key or parameter that does not exist fails the resource (CloudFormation user guide, 'Get values stored in other services using dynamic references'); moto passed the reference on as text. Not modelled: version stages and ids other than the current, `ssm-secure`",
    "types not modelled": "created as nothing, with `sandbox-skipped-` ids and ARNs for whatever refers to them; the report lists them",
}

SKIPPED_PREFIX = "sandbox-skipped-"
# The hosted zone of application load balancers, per region, as AWS publishes them (an alias
# record's target); moto's placeholder elsewhere.
ALB_HOSTED_ZONES = {"us-west-2": "Z1H1FL5HABSF5", "us-east-1": "Z35SXDOTRQ7X7K"}


def _stack_output(resources_map: Any, spec: dict[str, Any]) -> str:
    from moto.cloudformation.models import cloudformation_backends

    region = spec.get("Region") or resources_map._region_name
    backend = cloudformation_backends[resources_map._account_id][region]
    name, output = spec["StackName"], spec["OutputName"]
    for stack in backend.stacks.values():
        if stack.name == name and not stack.status.startswith("DELETE"):
            for item in stack.outputs or []:
                if item["OutputKey"] == output:
                    return str(item["OutputValue"])
            raise ResourceFailedError("Fn::GetStackOutput", name, f"stack {name} has no output {output}")
    raise ResourceFailedError("Fn::GetStackOutput", name, f"no stack {name} in {region}")


def _cidr(block: str, count: int, bits: int) -> list[str]:
    network = ipaddress.ip_network(block, strict=False)
    subnets = network.subnets(new_prefix=network.max_prefixlen - int(bits))
    return [str(next(subnets)) for _ in range(int(count))]


# Fn::GetAtt attributes moto's models lack, by (resource type, attribute).
ATTRIBUTES: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("AWS::EC2::VPC", "Ipv6CidrBlocks"): lambda vpc: [
        a["cidr_block"] for a in vpc._cidr_block_association_set.values() if a.get("ipv6_pool")
    ],
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerFullName"): lambda lb: lb.arn.split(":loadbalancer/", 1)[1],
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "CanonicalHostedZoneID"): lambda lb: ALB_HOSTED_ZONES.get(
        lb.arn.split(":")[3], lb.canonical_hosted_zone_id
    ),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "SecurityGroups"): lambda lb: list(lb.security_groups),
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupFullName"): lambda tg: tg.arn.rsplit(":", 1)[1],
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupName"): lambda tg: tg.name,
    ("AWS::EFS::FileSystem", "Arn"): lambda fs: fs.file_system_arn,
    ("AWS::EFS::FileSystem", "FileSystemId"): lambda fs: fs.file_system_id,
    ("AWS::EFS::AccessPoint", "Arn"): lambda ap: ap.access_point_arn,
    ("AWS::EFS::AccessPoint", "AccessPointId"): lambda ap: ap.access_point_id,
    ("AWS::RDS::DBInstance", "MasterUserSecret.SecretArn"): lambda db: db.master_user_secret.secret_arn,
    ("AWS::RDS::DBInstance", "DBInstanceArn"): lambda db: db.db_instance_arn,
    ("AWS::RDS::DBInstance", "DbiResourceId"): lambda db: db.dbi_resource_id,
    ("AWS::RDS::DBInstance", "Endpoint.Port"): lambda db: str(db.port),  # a string in CloudFormation
}


_DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:(secretsmanager|ssm):([^}]*)\}\}")


def _dynamic_reference(region: str, match: re.Match[str]) -> str:
    """One `{{resolve:...}}`, read as CloudFormation reads it; what is missing fails the resource."""
    from botocore.exceptions import ClientError

    service, spec = match.groups()
    try:
        if service == "ssm":
            name = spec.split(":", 1)[0]
            return str(client("ssm", region).get_parameter(Name=name)["Parameter"]["Value"])
        # secret-id (a name or a whole ARN, whose own colons count):SecretString:json-key:stage:id
        parts = spec.split(":")
        cut = 7 if spec.startswith("arn:") else 1
        secret_id, rest = ":".join(parts[:cut]), parts[cut:]
        value = str(client("secretsmanager", region).get_secret_value(SecretId=secret_id)["SecretString"])
        key = rest[1] if len(rest) > 1 else ""
        if not key:
            return value
        found = json.loads(value)
        if key not in found:
            raise ResourceFailedError("dynamic reference", "secretsmanager", f"the secret {secret_id} has no JSON key {key}")
        return str(found[key])
    except ClientError as exc:
        raise ResourceFailedError("dynamic reference", service, f"{match.group(0)}: {one_line(exc)}") from exc


def _resource_type(resources_map: Any, logical_id: str) -> str:
    return (resources_map._resource_json_map.get(logical_id) or {}).get("Type", "")


def install_intrinsics() -> None:
    from moto.cloudformation import parsing

    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        # The original recurses through the module global, so nested intrinsics come back here.
        if isinstance(resource_json, dict):
            if "Fn::GetStackOutput" in resource_json:
                spec = parsing.clean_json(resource_json["Fn::GetStackOutput"], resources_map)
                return _stack_output(resources_map, spec)
            if "Fn::GetAtt" in resource_json:
                logical_id, attribute = resource_json["Fn::GetAtt"]
                extra = ATTRIBUTES.get((_resource_type(resources_map, logical_id), attribute))
                if extra is not None:
                    return extra(resources_map[logical_id])
            if "Fn::Cidr" in resource_json:
                block, count, bits = parsing.clean_json(resource_json["Fn::Cidr"], resources_map)
                return _cidr(block, count, bits)
        cleaned = original(resource_json, resources_map)
        if isinstance(cleaned, str) and "{{resolve:" in cleaned:
            return _DYNAMIC_REFERENCE.sub(lambda m: _dynamic_reference(resources_map._region_name, m), cleaned)
        return cleaned

    parsing.clean_json = clean_json

    validate_outputs = parsing.ResourceMap.validate_outputs

    def validate(self: Any) -> None:
        # moto checks each output's Fn::GetAtt against the resource's model and crashes when the
        # type has none (a skipped type); such an output is left out, which the report shows.
        outputs = self._template.get("Outputs") or {}

        def moto_checks(value: Any) -> bool:
            if "Fn::GetAtt" not in value:
                return True
            logical_id, attribute = value["Fn::GetAtt"]
            type_name = _resource_type(self, logical_id)
            return (type_name, attribute) not in ATTRIBUTES and parsing.resource_class_from_type(type_name) is not None

        template = self._template
        self._template = {**template, "Outputs": {k: v for k, v in outputs.items() if moto_checks(v.get("Value", {}))}}
        try:
            validate_outputs(self)
        finally:
            self._template = template

    parsing.ResourceMap.validate_outputs = validate


def _as_resource_failure(make: Callable[..., Any]) -> Callable[..., Any]:
    def made(logical_id: str, resource_json: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return make(logical_id, resource_json, *args, **kwargs)
        except ResourceFailedError as exc:
            if exc.logical_id == logical_id:
                raise
            # Raised while reading a property (a dynamic reference, another stack's output): the
            # resource that reads it fails, with that reason.
            raise ResourceFailedError(logical_id, resource_json.get("Type", "?"), exc.reason) from exc
        except Exception as exc:
            raise ResourceFailedError(logical_id, resource_json.get("Type", "?"), one_line(exc)) from exc

    return made


def install_failure_reasons() -> None:
    """Whatever goes wrong in making or updating a resource becomes that resource's reason, which
    the engine puts on its CREATE_FAILED or UPDATE_FAILED event."""
    from moto.cloudformation import parsing

    parsing.parse_and_create_resource = _as_resource_failure(parsing.parse_and_create_resource)
    parsing.parse_and_update_resource = _as_resource_failure(parsing.parse_and_update_resource)


def _define_placeholder() -> Any:
    """A resource of a type moto does not model. CloudFormation would create it; moto would leave
    a hole that fails every Ref and Fn::GetAtt to it. The sandbox creates nothing, but answers
    references with a recognisable id (`sandbox-skipped-...`) and an ARN, so the rest of the
    stack deploys, and the report lists the type as skipped."""
    from moto.core.common_models import CloudFormationModel
    from moto.moto_api._internal import mock_random

    class Skipped(PhysicalId, CloudFormationModel):
        def __init__(self, resource_type: str, logical_id: str, account_id: str, region: str) -> None:
            self.resource_type, self.region, self.account_id = resource_type, region, account_id
            self.physical_id = f"{SKIPPED_PREFIX}{logical_id[:40].lower()}-{mock_random.get_random_hex(8)}"

        @staticmethod
        def cloudformation_type() -> str:
            return "Sandbox::Skipped"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return True

        def get_cfn_attribute(self, attribute_name: str) -> Any:
            if attribute_name == "Arn" or attribute_name.endswith("Arn"):
                service = self.resource_type.split("::")[1].lower()
                return f"arn:aws:{service}:{self.region}:{self.account_id}:{self.physical_id}"
            return f"{self.physical_id}-{attribute_name.lower()}"

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
        ) -> Any:
            return cls(kwargs["ResourceType"], kwargs["LogicalId"], account_id, region_name)

        @classmethod
        def update_from_cloudformation_json(
            cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
        ) -> Any:
            return original_resource

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
        ) -> None:
            """Nothing was created."""

        def delete(self, account_id: str, region_name: str) -> None:
            """Nothing was created."""

    return Skipped


def install_placeholders() -> None:
    from moto.cloudformation import parsing

    skipped = _define_placeholder()
    original = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> Any:
        if resource_type in parsing.NULL_MODELS or resource_type.startswith("Custom::"):
            return original(resource_type)
        return parsing.get_model_map().get(resource_type) or skipped

    parsing.resource_class_from_type = resource_class_from_type
