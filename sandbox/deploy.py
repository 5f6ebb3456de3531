"""Deploy a cloud assembly (a `cdk synth` output directory) through the CloudFormation API, as
`cdk deploy` does: bootstrap resources first, file assets published, stacks in dependency order."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

from sandbox.emulation.cloudformation import SKIPPED_PREFIX

# What `cdk bootstrap` leaves in an account (the default qualifier), as the templates expect it.
QUALIFIER = "hnb659fds"
BOOTSTRAP_VERSION = "30"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


class DeployError(Exception):
    """A stack the emulator rejected: names the stack and the reason."""


@dataclass(frozen=True)
class StackArtifact:
    name: str
    account: str
    region: str
    template_path: Path
    assets_path: Path | None
    dependencies: tuple[str, ...]

    @property
    def template(self) -> dict[str, Any]:
        return json.loads(self.template_path.read_text())


@dataclass
class Deployed:
    stack: str
    region: str
    action: str
    seconds: float
    created: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)


def read_assembly(outdir: Path) -> dict[str, StackArtifact]:
    """The stacks of a cloud assembly, by name."""
    manifest_path = outdir / "manifest.json"
    if not manifest_path.exists():
        raise DeployError(f"{outdir}: no manifest.json; synthesize first (make synth)")
    artifacts = json.loads(manifest_path.read_text())["artifacts"]
    stacks = {}
    for name, artifact in artifacts.items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        _, _, where = artifact["environment"].partition("aws://")
        account, _, region = where.partition("/")
        deps = [d for d in artifact.get("dependencies", []) if artifacts.get(d, {}).get("type") == "aws:cloudformation:stack"]
        assets = [d for d in artifact.get("dependencies", []) if artifacts.get(d, {}).get("type") == "cdk:asset-manifest"]
        stacks[name] = StackArtifact(
            name=name,
            account=account,
            region=region,
            template_path=outdir / artifact["properties"]["templateFile"],
            assets_path=outdir / artifacts[assets[0]]["properties"]["file"] if assets else None,
            dependencies=tuple(deps),
        )
    return stacks


def deployment_order(stacks: dict[str, StackArtifact], *, last: tuple[str, ...] = ()) -> list[str]:
    """Dependencies first; `last` after every other stack (the DR stack reads a parameter that
    the Service stack writes, with no stack dependency, so that it deploys with the primary down)."""
    graph = {name: [d for d in s.dependencies if d in stacks] for name, s in stacks.items()}
    order = list(TopologicalSorter(graph).static_order())
    return [n for n in order if n not in last] + [n for n in order if n in last]


class Deployer:
    """Deploys stacks into the AWS endpoint that `clients` talk to (the emulator)."""

    def __init__(self, clients: Any, *, timeout_seconds: int = 60) -> None:
        self.clients = clients  # callable (service, region) -> boto3 client
        self.timeout_seconds = timeout_seconds  # one poll a second: moto creates stacks at once
        self._bootstrapped: set[str] = set()

    def bootstrap(self, account: str, region: str) -> None:
        """The bootstrap stack's version parameter and asset bucket (not its roles: moto lets
        every call through, so nothing would exercise them)."""
        if region in self._bootstrapped:
            return
        self.clients("ssm", region).put_parameter(
            Name=f"/cdk-bootstrap/{QUALIFIER}/version", Value=BOOTSTRAP_VERSION, Type="String", Overwrite=True
        )
        bucket = f"cdk-{QUALIFIER}-assets-{account}-{region}"
        s3 = self.clients("s3", region)
        # us-east-1 is the one region where S3 refuses a location constraint.
        s3.create_bucket(Bucket=bucket, **({} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}))
        self._bootstrapped.add(region)

    def publish_assets(self, stack: StackArtifact) -> int:
        """Every file asset to its bootstrap bucket, zipped when it is a directory (cdk-assets)."""
        if stack.assets_path is None:
            return 0
        manifest = json.loads(stack.assets_path.read_text())
        count = 0
        for asset in manifest.get("files", {}).values():
            source = stack.assets_path.parent / asset["source"]["path"]
            body = _zip(source) if asset["source"].get("packaging") == "zip" else source.read_bytes()
            for dest in asset["destinations"].values():
                self.clients("s3", dest["region"]).put_object(Bucket=dest["bucketName"], Key=dest["objectKey"], Body=body)
                count += 1
        return count

    def deploy(self, stack: StackArtifact, template: dict[str, Any] | None = None) -> Deployed:
        """Create or update one stack and wait for it; DeployError when the emulator rejects it."""
        from botocore.exceptions import ClientError, WaiterError

        self.bootstrap(stack.account, stack.region)
        self.publish_assets(stack)
        body = template if template is not None else stack.template
        cfn = self.clients("cloudformation", stack.region)
        started = time.monotonic()
        status = self._status(cfn, stack.name)
        if status == "ROLLBACK_COMPLETE":
            raise DeployError(f"{stack.name} ({stack.region}): ROLLBACK_COMPLETE from an earlier attempt; delete the stack first")
        exists = status is not None
        kwargs = {"StackName": stack.name, "TemplateBody": json.dumps(body), "Capabilities": CAPABILITIES}
        try:
            (cfn.update_stack if exists else cfn.create_stack)(**kwargs)
            waiter = cfn.get_waiter("stack_update_complete" if exists else "stack_create_complete")
            waiter.wait(StackName=stack.name, WaiterConfig={"Delay": 1, "MaxAttempts": self.timeout_seconds})
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise DeployError(f"{stack.name} ({stack.region}): rejected: {error.get('Code')}: {error.get('Message')}") from None
        except WaiterError:
            raise DeployError(f"{stack.name} ({stack.region}): {self._status(cfn, stack.name)}: {self._reason(cfn, stack.name)}") from None
        result = Deployed(stack.name, stack.region, "update" if exists else "create", time.monotonic() - started)
        listed = [
            r for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack.name)
            for r in page["StackResourceSummaries"]
        ]
        # A type the emulator does not model is created as nothing, with a `sandbox-skipped-` id.
        types = {logical_id: r["Type"] for logical_id, r in body["Resources"].items()}
        created = {
            r["LogicalResourceId"] for r in listed if not r.get("PhysicalResourceId", "").startswith(SKIPPED_PREFIX)
        }
        result.created = Counter(t for logical_id, t in types.items() if logical_id in created)
        result.skipped = Counter(t for logical_id, t in types.items() if logical_id not in created)
        return result

    @staticmethod
    def _status(cfn: Any, name: str) -> str | None:
        """The stack's status, or None when there is no such stack."""
        from botocore.exceptions import ClientError

        try:
            (described,) = cfn.describe_stacks(StackName=name)["Stacks"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ValidationError":  # "Stack ... does not exist"
                return None
            raise
        return described["StackStatus"]

    @staticmethod
    def _reason(cfn: Any, name: str) -> str:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
        failed = [e.get("ResourceStatusReason") for e in events if e["ResourceStatus"].endswith("FAILED")]
        return failed[0] if failed else "no reason given"


def _zip(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()
