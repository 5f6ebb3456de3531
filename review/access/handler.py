"""CDK's AwsCustomResource handler, as `cdk synth` bundled it into cdk.out, asked whether it can make
each custom resource's call: it resolves the `service` to an AWS SDK v3 client through its own map
and finds the action's command in that client, at deploy time, never at synth (the handler's
`ApiCall`; a name it does not map, like `ElasticLoadBalancingV2`, fails the resource).

The handler runs for real under the pinned Node, with the SDK v3 clients pinned in package.json as
Lambda's Node runtime provides them; its calls go to a closed port on 127.0.0.1, so a call that got
past the resolution fails on the network instead, which is what tells the two apart.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PRELOAD = Path(__file__).parent / "respond.js"
RESPONSE = "CFN-RESPONSE "
# What the handler says when it cannot resolve a call (its ApiCall's own errors).
UNRESOLVED = ("does not exist", "Unable to find command named")

_SCRIPT = """
const handler = require(process.argv[1])[process.argv[3]];
(async () => { for (const event of JSON.parse(process.argv[2])) await handler(event, {logStreamName: "local"}); })();
"""


def handler_index(outdir: Path, function: Mapping[str, Any]) -> Path:
    """The index.js of a function whose code is a cdk.out asset (`Code.S3Key` is `<hash>.zip`)."""
    key = str(function["Properties"]["Code"]["S3Key"])
    return outdir / f"asset.{key.removesuffix('.zip')}" / "index.js"


def run_handler(
    index: Path, events: list[dict[str, Any]], *, endpoint: str, region: str, export: str = "handler", **env: str
) -> dict[str, dict[str, Any]]:
    """Each CloudFormation event handed to the handler (`export` of the module `index`) in one Node
    process, its SDK clients sent to `endpoint`; the response it would PUT to CloudFormation, by
    LogicalResourceId."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on the PATH: make setup puts Node 24 in .venv/bin")
    variables = {
        **os.environ,
        "NODE_PATH": str(ROOT / "node_modules"),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        **env,
    }
    done = subprocess.run(
        [node, "--require", str(PRELOAD), "-e", _SCRIPT, str(index), json.dumps(events), export],
        capture_output=True, text=True, timeout=120, env=variables, check=False,
    )  # fmt: skip
    lines = (json.loads(line.removeprefix(RESPONSE)) for line in done.stdout.splitlines() if line.startswith(RESPONSE))
    responses = {str(r["LogicalResourceId"]): r for r in lines}
    if len(responses) != len(events):
        raise RuntimeError(
            f"the handler answered {len(responses)} of {len(events)} events (exit {done.returncode}): {done.stderr.strip()[-400:]}"
        )
    return responses


def event(
    request: str,
    logical_id: str,
    properties: Mapping[str, Any],
    physical_id: str | None = None,
    *,
    resource_type: str = "Custom::AWS",
    old_properties: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What CloudFormation sends a custom resource's function (its ResponseURL is never reached here)."""
    return {
        "RequestType": request,
        "ResponseURL": "https://cloudformation-custom-resource-response.s3.amazonaws.com/local",
        "StackId": "arn:aws:cloudformation:local:local:stack/local/local",
        "RequestId": logical_id,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": dict(properties),
        **({"PhysicalResourceId": physical_id} if physical_id else {}),
        **({"OldResourceProperties": dict(old_properties)} if old_properties is not None else {}),
    }


def unresolved_calls(index: Path, calls: list[dict[str, Any]]) -> dict[str, str]:
    """{call as JSON: the handler's reason} for each call the handler cannot resolve to a client and command."""
    events = [event("Create", f"Call{i}", {"Create": json.dumps(call), "InstallLatestAwsSdk": "false"}) for i, call in enumerate(calls)]
    # The discard port: nothing answers and nothing leaves the machine, so a resolved call fails on the network.
    responses = run_handler(index, events, endpoint="http://127.0.0.1:9", region="us-west-2", AWS_MAX_ATTEMPTS="1")
    found = {}
    for i, call in enumerate(calls):
        reason = str(responses[f"Call{i}"].get("Reason", ""))
        if any(marker in reason for marker in UNRESOLVED):
            found[json.dumps(call, sort_keys=True)] = reason
    return found
