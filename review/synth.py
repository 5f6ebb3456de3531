"""Synthesize an environment in-process exactly as `npx cdk synth` does (tests and `make diff`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from cdk_constructs.compliance import add_compliance_checks
from config import EnvironmentConfig
from config.dr import DrSettings
from stacks import build_environment

ROOT = Path(__file__).resolve().parents[1]
# The CLI passes cdk.json's context (feature flags) to the app; an in-process App must too,
# or tests would check different templates from the ones that get deployed.
CDK_JSON = json.loads((ROOT / "cdk.json").read_text())


@dataclass
class Synthesis:
    cfg: EnvironmentConfig
    outdir: Path
    stacks: dict[str, cdk.Stack]
    error: str | None = None
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)

    @cached_property
    def assertions(self) -> dict[str, Template]:
        return {name: Template.from_json(body) for name, body in self.templates.items()}

    def template(self, part: str) -> dict[str, Any]:
        return self.templates[self.cfg.names.stack(part)]

    def assert_template(self, part: str) -> Template:
        return self.assertions[self.cfg.names.stack(part)]

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.outdir / "manifest.json").read_text())

    @cached_property
    def validation_report(self) -> dict[str, Any] | None:
        path = self.outdir / "validation-report.json"
        return json.loads(path.read_text()) if path.exists() else None

    def resources(self, part: str, type_name: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template(part)["Resources"].items() if v["Type"] == type_name}


def synthesize(
    cfg: EnvironmentConfig, outdir: Path, dr: DrSettings | None = None, *, failback: str | None = None, control_tower: bool = False
) -> Synthesis:
    """Synthesize into `outdir`; `control_tower` also runs cfn-guard's Control Tower rules, as
    `make test` does (about 8 s more), and `make diff`, which compares templates only, does not."""
    app = cdk.App(
        outdir=str(outdir),
        # The JSON report is still written (and read); the console copy would only be noise here.
        context={**CDK_JSON["context"], "@aws-cdk/core:validationReportPrettyPrint": False},
        analytics_reporting=CDK_JSON.get("versionReporting", True),
    )
    stacks = build_environment(app, cfg, dr or DrSettings(), failback=failback)
    add_compliance_checks(app, control_tower=control_tower)
    result = Synthesis(cfg=cfg, outdir=outdir, stacks=stacks)
    try:
        app.synth()
    except RuntimeError as exc:  # jsii relays the validation failure as RuntimeError
        result.error = str(exc)
    for name in stacks:
        path = outdir / f"{name}.template.json"
        if path.exists():
            result.templates[name] = json.loads(path.read_text())
    return result


_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def normalized(template: dict[str, Any]) -> dict[str, Any]:
    """A template without what changes when nothing we wrote did (aws/aws-cdk#13468).

    Asset hashes move with the CDK version and the machine; the bootstrap-version parameter
    and rule are the same in every stack and say nothing about ours.
    """
    body = json.loads(_ASSET_HASH.sub("<asset-hash>", json.dumps(template)))
    body.get("Parameters", {}).pop("BootstrapVersion", None)
    body.get("Rules", {}).pop("CheckBootstrapVersion", None)
    for section in ("Parameters", "Rules"):
        if section in body and not body[section]:
            del body[section]
    return body
