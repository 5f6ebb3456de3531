"""What the emulation modules share: the emulator's own endpoint, failures, and the way from
CloudFormation's property names to the API's."""

from __future__ import annotations

import threading
from typing import Any

# Set by the server before it serves: where the emulation's own API calls go.
ENDPOINT: dict[str, str] = {"url": ""}


class ResourceFailedError(Exception):
    """A resource the emulator could not create or update: the stack fails with this reason."""

    def __init__(self, logical_id: str, resource_type: str, reason: str) -> None:
        super().__init__(f"{logical_id} ({resource_type}): {reason}")
        self.logical_id, self.resource_type, self.reason = logical_id, resource_type, reason


def one_line(exc: BaseException) -> str:
    """A failure as a resource event's reason: the service's own message and code."""
    if isinstance(exc, ResourceFailedError):
        return exc.reason
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Message')} (Service: {exc.operation_name}; Error Code: {error.get('Code')})"
    return " ".join(f"{type(exc).__name__}: {exc}".split())


class PhysicalId:
    """What every resource the sandbox makes answers moto with: its id, for `Ref`."""

    physical_id: str

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    def is_created(self) -> bool:
        return True


_CLIENTS: dict[tuple[str, str, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def client(service: str, region: str) -> Any:
    """A client of the emulator itself: resources made through the API are checked by botocore
    against the real API's shapes on the way in. Made once per service and region (making a
    client costs more than most calls)."""
    import boto3

    key = (service, region, ENDPOINT["url"])
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = boto3.client(
                service,
                region_name=region,
                endpoint_url=ENDPOINT["url"] or None,
                aws_access_key_id="sandbox",
                aws_secret_access_key="sandbox",
            )
        return _CLIENTS[key]


def api_kwargs(api: Any, operation: str, props: dict[str, Any], renames: dict[str, str] | None = None) -> dict[str, Any]:
    """The template's properties that the API operation takes, by the botocore model's shape."""
    members = api.meta.service_model.operation_model(operation).input_shape.members
    renamed = {(renames or {}).get(k, k): v for k, v in props.items()}
    kwargs = {k: v for k, v in renamed.items() if k in members}
    for key, shape in members.items():
        if key in kwargs and shape.type_name in ("integer", "double") and isinstance(kwargs[key], str):
            # CloudFormation takes "100" where the API wants 100.
            try:
                kwargs[key] = (int if shape.type_name == "integer" else float)(kwargs[key])
            except ValueError:
                raise ValueError(f"{key}: {kwargs[key]!r} is not a number") from None
    return kwargs


# Where CloudFormation's name is not the API's name with a lower-case first letter.
_CAMEL_RENAMES = {"EFSVolumeConfiguration": "efsVolumeConfiguration", "FilesystemId": "fileSystemId", "IAM": "iam"}
# Maps of the user's own keys, which keep their spelling.
_FREE_FORM = {"Options", "DockerLabels", "SecretOptions"}


def camel(value: Any) -> Any:
    """CloudFormation's PascalCase keys as the ECR and ECS APIs' camelCase ones."""
    if isinstance(value, dict):
        return {_CAMEL_RENAMES.get(k, k[0].lower() + k[1:]): (v if k in _FREE_FORM else camel(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def find(value: Any, key: str) -> list[dict[str, Any]]:
    """Every dict under `value` that has `key` (every Fn::GetAtt of a resource, say)."""
    if isinstance(value, dict):
        found = [value] if key in value else []
        return found + [f for v in value.values() for f in find(v, key)]
    if isinstance(value, list):
        return [f for v in value for f in find(v, key)]
    return []
