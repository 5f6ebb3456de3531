"""Custom resources, run in the emulator's process: moto would run their Lambda functions in
Docker, which this machine does not have."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sandbox.emulation.common import ResourceFailedError, client

EXTENSIONS = {
    "Custom::AWS": "makes the AwsCustomResource's SDK call in-process instead of running its Lambda",
    "Custom::VpcRestrictDefaultSG": "removes the default security group's rules in-process instead of running its Lambda",
}

_SDK_SERVICES = {"cloudwatchlogs": "logs", "route53": "route53", "elasticloadbalancingv2": "elbv2"}


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """The AwsCustomResource's flattening of an SDK response: `KeyMetadata.Arn` and the like."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((str(i), v) for i, v in enumerate(value))
    elif isinstance(value, bool):
        return {prefix: str(value).lower()}  # as JavaScript writes it, in the provider's Lambda
    else:
        return {prefix: value.isoformat() if isinstance(value, datetime) else str(value)}
    flat: dict[str, str] = {}
    for key, item in items:
        if key == "ResponseMetadata":
            continue
        flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _aws_custom_resource(request: str, properties: dict[str, Any], region: str, logical_id: str) -> tuple[str, dict[str, str]]:
    from botocore import xform_name
    from botocore.exceptions import ClientError

    call = properties.get(request) or properties.get("Create") or {}
    call = json.loads(call) if isinstance(call, str) else call
    if not call:
        return logical_id, {}
    service = re.sub(r"^@aws-sdk/client-", "", call["service"]).replace("-", "").lower()
    action = re.sub(r"Command$", "", call["action"])
    method = xform_name(action[0].upper() + action[1:])  # describeDBInstances -> describe_db_instances
    try:
        response = getattr(client(_SDK_SERVICES.get(service, service), call.get("region") or region), method)(**call.get("parameters", {}))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if call.get("ignoreErrorCodesMatching") and re.search(call["ignoreErrorCodesMatching"], code):
            response = {}
        else:
            raise
    data = _flatten(response)
    paths = call.get("outputPaths") or ([call["outputPath"]] if call.get("outputPath") else None)
    if paths:
        data = {k: v for k, v in data.items() if any(k == p or k.startswith(f"{p}.") for p in paths)}
    physical = call.get("physicalResourceId", {})
    physical_id = physical.get("id") or data.get(physical.get("responsePath", ""), logical_id)
    return physical_id, data


def _restrict_default_sg(request: str, properties: dict[str, Any], region: str, logical_id: str) -> tuple[str, dict[str, str]]:
    group_id = properties["DefaultSecurityGroupId"]
    ec2 = client("ec2", region)
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    if group.get("IpPermissions"):
        ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=group["IpPermissions"])
    if group.get("IpPermissionsEgress"):
        ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=group["IpPermissionsEgress"])
    return group_id, {}


CUSTOM_HANDLERS: dict[str, Callable[[str, dict[str, Any], str, str], tuple[str, dict[str, str]]]] = {
    "Custom::AWS": _aws_custom_resource,
    "Custom::VpcRestrictDefaultSG": _restrict_default_sg,
}


def install() -> None:
    from moto.cloudformation.custom_model import CustomModel
    from moto.moto_api._internal import mock_random

    def run(request: str, resource_type: str, logical_id: str, properties: dict[str, Any], region_name: str) -> Any:
        handler = CUSTOM_HANDLERS.get(resource_type)
        if handler is None:
            raise ResourceFailedError(
                logical_id,
                resource_type,
                f"the sandbox runs only {', '.join(CUSTOM_HANDLERS)} in-process; moto would need Docker for this Lambda",
            )
        physical_id, data = handler(request, properties, region_name, logical_id)
        resource = CustomModel(region_name, str(mock_random.uuid4()), logical_id, physical_id)
        resource.set_data(data)
        return resource

    def create(cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any) -> Any:
        return run("Create", kwargs["ResourceType"], kwargs["LogicalId"], cloudformation_json["Properties"], region_name)

    def update(
        cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> Any:
        # moto has no update for custom resources and would drop the resource from the stack.
        return run("Update", cloudformation_json["Type"], original_resource.logical_id, cloudformation_json["Properties"], region_name)

    CustomModel.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]
    CustomModel.update_from_cloudformation_json = classmethod(update)  # type: ignore[method-assign,assignment]
