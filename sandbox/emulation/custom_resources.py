"""Custom resources, run in the emulator's process: moto would run their Lambda functions in
Docker, which this machine does not have."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.emulation.common import ENDPOINT, ResourceFailedError

EXTENSIONS = {
    "Custom::AWS": (
        "runs CDK's own AwsCustomResource handler, the index.js the stack deployed to its function, under the pinned Node "
        "with the AWS SDK v3 clients pinned in package.json (as Lambda's Node runtime provides them) pointed at the emulator; "
        "its response to CloudFormation decides the resource: a handler that cannot load its client or find its command, or "
        "whose call fails, fails the resource with 'Received response status [FAILED] from custom resource. Message returned: "
        "...' (CloudFormation user guide, 'Custom resources'). Not modelled: Lambda's sandbox (timeout, memory), the function "
        "role's permissions (checked on the templates by make test), a Delete (the sandbox runs Create and Update only)"
    ),
    "Custom::VpcRestrictDefaultSG": (
        "runs CDK's own handler (its __entrypoint__ and index.js, deployed to the function) the same way, with the pinned "
        "@aws-sdk/client-ec2: it revokes the default security group's all-traffic egress and self-referencing ingress"
    ),
}


def _handler_code(service_token: str) -> tuple[Path, str]:
    """(module, export) of the function's handler, from the zip the stack deployed to it (the cdk
    CLI's asset in the emulator's S3), unpacked once per distinct code."""
    import hashlib
    import io
    import tempfile
    import zipfile

    from moto.awslambda.models import lambda_backends

    region, account = service_token.split(":")[3:5]
    function = lambda_backends[account][region].get_function(service_token)
    code = function.code_bytes
    where = Path(tempfile.gettempdir()) / f"sandbox-handler-{hashlib.sha256(code).hexdigest()[:16]}"
    if not where.is_dir():
        zipfile.ZipFile(io.BytesIO(code)).extractall(where)
    module, _, export = str(function.handler).rpartition(".")
    return where / f"{module}.js", export


def _run_function(
    resource_type: str,
    request: str,
    properties: dict[str, Any],
    region: str,
    logical_id: str,
    physical_id: str | None,
    old: dict[str, Any] | None,
) -> tuple[str, dict[str, str]]:
    """The custom resource's own function, as CloudFormation invokes it; its response decides."""
    from review.access.handler import event, run_handler

    module, export = _handler_code(properties["ServiceToken"])
    sent = event(request, logical_id, properties, physical_id, resource_type=resource_type, old_properties=old)
    response = run_handler(module, [sent], endpoint=ENDPOINT["url"], region=region, export=export)[logical_id]
    if response.get("Status") != "SUCCESS":
        raise ResourceFailedError(
            logical_id, resource_type, f"Received response status [FAILED] from custom resource. Message returned: {response.get('Reason')}"
        )
    return str(response.get("PhysicalResourceId") or logical_id), {k: str(v) for k, v in (response.get("Data") or {}).items()}


# The custom resource types whose functions the emulator runs (a type it does not know fails, as moto would need Docker).
CUSTOM_TYPES = ("Custom::AWS", "Custom::VpcRestrictDefaultSG")


def install() -> None:
    from moto.cloudformation.custom_model import CustomModel
    from moto.moto_api._internal import mock_random

    def run(
        request: str,
        resource_type: str,
        logical_id: str,
        properties: dict[str, Any],
        region_name: str,
        original: Any = None,
    ) -> Any:
        if resource_type not in CUSTOM_TYPES:
            raise ResourceFailedError(
                logical_id,
                resource_type,
                f"the sandbox runs only {', '.join(CUSTOM_TYPES)} functions; moto would need Docker for this Lambda",
            )
        physical, old = (original.physical_resource_id, getattr(original, "properties", {})) if original is not None else (None, None)
        physical_id, data = _run_function(resource_type, request, properties, region_name, logical_id, physical, old)
        resource = CustomModel(region_name, str(mock_random.uuid4()), logical_id, physical_id)
        resource.set_data(data)
        resource.properties = properties  # CloudFormation sends them as OldResourceProperties on the next update
        return resource

    def create(cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any) -> Any:
        return run("Create", kwargs["ResourceType"], kwargs["LogicalId"], cloudformation_json["Properties"], region_name)

    def update(
        cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> Any:
        # moto has no update for custom resources and would drop the resource from the stack.
        properties = cloudformation_json["Properties"]
        return run("Update", cloudformation_json["Type"], original_resource.logical_id, properties, region_name, original_resource)

    CustomModel.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]
    CustomModel.update_from_cloudformation_json = classmethod(update)  # type: ignore[method-assign,assignment]
