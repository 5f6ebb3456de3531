"""Custom resources, run in the emulator's process: moto would run their Lambda functions in
Docker, which this machine does not have."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.emulation.common import ENDPOINT, ResourceFailedError, client

EXTENSIONS = {
    "Custom::AWS": (
        "runs CDK's own AwsCustomResource handler, the index.js the stack deployed to its function, under the pinned Node "
        "with the AWS SDK v3 clients pinned in package.json (as Lambda's Node runtime provides them) pointed at the emulator; "
        "its response to CloudFormation decides the resource: a handler that cannot load its client or find its command, or "
        "whose call fails, fails the resource with 'Received response status [FAILED] from custom resource. Message returned: "
        "...' (CloudFormation user guide, 'Custom resources'). Not modelled: Lambda's sandbox (timeout, memory), the function "
        "role's permissions (checked on the templates by make test), a Delete (the sandbox runs Create and Update only)"
    ),
    "Custom::VpcRestrictDefaultSG": "removes the default security group's rules in-process instead of running its Lambda",
}


def _handler_code(service_token: str) -> Path:
    """The handler's index.js, from the zip the stack deployed to the function (the cdk CLI's asset
    in the emulator's S3), unpacked once per distinct code."""
    import hashlib
    import io
    import tempfile
    import zipfile

    from moto.awslambda.models import lambda_backends

    region, account = service_token.split(":")[3:5]
    code = lambda_backends[account][region].get_function(service_token).code_bytes
    where = Path(tempfile.gettempdir()) / f"sandbox-handler-{hashlib.sha256(code).hexdigest()[:16]}"
    if not (where / "index.js").is_file():
        zipfile.ZipFile(io.BytesIO(code)).extractall(where)
    return where / "index.js"


def _aws_custom_resource(
    request: str, properties: dict[str, Any], region: str, logical_id: str, physical_id: str | None
) -> tuple[str, dict[str, str]]:
    from review.access.handler import event, run_handler

    index = _handler_code(properties["ServiceToken"])
    response = run_handler(index, [event(request, logical_id, properties, physical_id)], endpoint=ENDPOINT["url"], region=region)[
        logical_id
    ]
    if response.get("Status") != "SUCCESS":
        raise ResourceFailedError(
            logical_id, "Custom::AWS", f"Received response status [FAILED] from custom resource. Message returned: {response.get('Reason')}"
        )
    return str(response.get("PhysicalResourceId") or logical_id), {k: str(v) for k, v in (response.get("Data") or {}).items()}


def _restrict_default_sg(
    request: str, properties: dict[str, Any], region: str, logical_id: str, physical_id: str | None
) -> tuple[str, dict[str, str]]:
    group_id = properties["DefaultSecurityGroupId"]
    ec2 = client("ec2", region)
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    if group.get("IpPermissions"):
        ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=group["IpPermissions"])
    if group.get("IpPermissionsEgress"):
        ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=group["IpPermissionsEgress"])
    return group_id, {}


CUSTOM_HANDLERS: dict[str, Callable[[str, dict[str, Any], str, str, str | None], tuple[str, dict[str, str]]]] = {
    "Custom::AWS": _aws_custom_resource,
    "Custom::VpcRestrictDefaultSG": _restrict_default_sg,
}


def install() -> None:
    from moto.cloudformation.custom_model import CustomModel
    from moto.moto_api._internal import mock_random

    def run(
        request: str, resource_type: str, logical_id: str, properties: dict[str, Any], region_name: str, physical: str | None = None
    ) -> Any:
        handler = CUSTOM_HANDLERS.get(resource_type)
        if handler is None:
            raise ResourceFailedError(
                logical_id,
                resource_type,
                f"the sandbox runs only {', '.join(CUSTOM_HANDLERS)} in-process; moto would need Docker for this Lambda",
            )
        physical_id, data = handler(request, properties, region_name, logical_id, physical)
        resource = CustomModel(region_name, str(mock_random.uuid4()), logical_id, physical_id)
        resource.set_data(data)
        return resource

    def create(cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any) -> Any:
        return run("Create", kwargs["ResourceType"], kwargs["LogicalId"], cloudformation_json["Properties"], region_name)

    def update(
        cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> Any:
        # moto has no update for custom resources and would drop the resource from the stack.
        return run(
            "Update",
            cloudformation_json["Type"],
            original_resource.logical_id,
            cloudformation_json["Properties"],
            region_name,
            original_resource.physical_resource_id,
        )

    CustomModel.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]
    CustomModel.update_from_cloudformation_json = classmethod(update)  # type: ignore[method-assign,assignment]
