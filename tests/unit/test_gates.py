"""Quality gates: cdk-nag (AwsSolutions, NIST 800-53 rev 5), CDK's CloudFormation validation, cfn-lint."""

from __future__ import annotations

import json

import pytest
from cfnlint.api import ManualArgs, lint

from tests.synth import Synthesis

ENVIRONMENTS = ["production", "staging"]
# Staging has no domain, so it serves HTTP only; synth says so on purpose (tests/unit/test_service.py).
EXPECTED = {"staging": {"Construct Annotations Annotation::ContractorLens:HttpOnly at ContractorLens-Staging-Service"}}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_synth_succeeds(request: pytest.FixtureRequest, env: str) -> None:
    synth: Synthesis = request.getfixturevalue(env)
    assert synth.error is None, synth.error
    assert set(synth.templates) == set(synth.stacks)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_unacknowledged_finding_in_any_rule_pack(request: pytest.FixtureRequest, env: str) -> None:
    synth: Synthesis = request.getfixturevalue(env)
    report = synth.validation_report
    assert report is not None, "the validation plugins did not run"
    plugins = {p["pluginName"]: p for p in report["pluginReports"]}
    assert {"AwsSolutions", "NIST.800.53.R5", "CloudFormation Validate"} <= set(plugins)
    findings = [
        f"{p['pluginName']} {v['ruleName']} at {c['constructPath']}"
        for p in plugins.values()
        for v in p.get("violations", [])
        for c in v["violatingConstructs"]
    ]
    assert set(findings) == EXPECTED.get(env, set())


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_acknowledgement_gives_a_reason(request: pytest.FixtureRequest, env: str) -> None:
    synth: Synthesis = request.getfixturevalue(env)
    acknowledged = 0
    for name in synth.templates:
        metadata = json.loads((synth.outdir / f"{name}.metadata.json").read_text())
        for path, entries in metadata.items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    for rule, reason in entry["data"].items():
                        acknowledged += 1
                        assert len(reason.split()) >= 8, f"{path} {rule}: {reason!r} is not a reason"
    assert acknowledged > 0


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cfn_lint_finds_no_errors(request: pytest.FixtureRequest, env: str) -> None:
    synth: Synthesis = request.getfixturevalue(env)
    for name, template in synth.templates.items():
        region = synth.manifest["artifacts"][name]["environment"].rsplit("/", 1)[1]
        matches = lint(json.dumps(template), config=ManualArgs(regions=[region]))
        errors = [str(m) for m in matches if m.rule.id.startswith("E")]
        assert errors == [], name
