"""The app as a user runs it: a mistake in config or context ends in one line, exit 2, no traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.synth import CDK_JSON, ROOT

APP_SOURCES = ["app.py", "config", "stacks", "cdk_constructs"]


def _run_app(cwd: Path, context: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # The cdk CLI hands cdk.json's context and `-c key=value` to the app in CDK_CONTEXT_JSON.
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({**CDK_JSON["context"], **context}),
        "CDK_OUTDIR": str(tmp_path / "out"),
    }
    return subprocess.run([sys.executable, "app.py"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def _main(capsys: pytest.CaptureFixture[str], context: dict[str, str], tmp_path: Path) -> Result:
    """`app.main()` in this process, as the CLI would run it (its exit code and what it printed):
    a mistake found before anything is built costs no process of its own. An exception would fail
    the test, where a process would print its traceback; test_unknown_environment runs the process."""
    import aws_cdk as cdk

    import app

    # The context goes in directly: Node, already running, would not see a changed environment.
    code = app.main(cdk.App(context={**CDK_JSON["context"], **context}, outdir=str(tmp_path / "out")))
    return Result(code, capsys.readouterr().err)


@dataclass
class Result:
    returncode: int
    stderr: str


def _checkout(tmp_path: Path) -> Path:
    """A copy of the app's sources to change a file in."""
    work = tmp_path / "checkout"
    work.mkdir()
    for name in APP_SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, work / name)
    return work


def _assert_one_line_error(result: subprocess.CompletedProcess[str] | Result, *parts: str) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for part in parts:
        assert part in lines[0]


def test_unknown_environment(tmp_path: Path) -> None:
    result = _run_app(ROOT, {"env": "prod"}, tmp_path)
    _assert_one_line_error(result, "unknown environment 'prod'", "production, staging")
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_bad_value_in_a_config_file(tmp_path: Path) -> None:
    work = _checkout(tmp_path)
    config = work / "config" / "staging.toml"
    config.write_text(config.read_text().replace('cidr = "10.30.0.0/16"', 'cidr = "10.0.0.0/8"'))
    result = _run_app(work, {"env": "staging"}, tmp_path)
    _assert_one_line_error(result, "config/staging.toml", "network.cidr", "'10.0.0.0/8'", "/16 and /18")
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_image_tag_from_context_overrides_the_config_and_the_clis_own_keys_pass(tmp_path: Path) -> None:
    """One synth for both: the context keys the cdk CLI adds itself are not refused as misspelt."""
    cli_keys = {
        "aws:cdk:enable-path-metadata": True,
        "aws:cdk:bundling-stacks": ["**"],
        "availability-zones:account=123456789012:region=us-west-2": ["us-west-2a"],
    }
    result = _run_app(ROOT, {"env": "staging", "image-tag": "2.1.0", **cli_keys}, tmp_path)
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / "out" / "ContractorLens-Staging-Service.template.json").read_text())
    (task,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition"]
    assert json.dumps(task["Properties"]["ContainerDefinitions"][0]["Image"]).endswith(':2.1.0"]]}')


def test_bad_image_tag_in_context(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = _main(capsys, {"env": "staging", "image-tag": "-latest"}, tmp_path)
    _assert_one_line_error(result, "-c image-tag = '-latest'", "image tag")


def test_bad_dr_mode_in_context(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = _main(capsys, {"dr-mode": "failover"}, tmp_path)
    _assert_one_line_error(result, "-c dr-mode = 'failover'", "standby, active")


def test_a_failback_replica_needs_the_config_to_say_so(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """production.toml says its database was created new: a replica's template would replace it.
    (The other refusals of -c failback: tests/unit/test_dr.py.)"""
    result = _main(capsys, {"failback": "replica"}, tmp_path)
    _assert_one_line_error(result, "-c failback = 'replica'", 'set database.created_as = "replica" in config/production.toml first')


def test_a_misspelt_context_key_stops_synth(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Ignored, `-c environment=staging` would synthesize production and `-c imagetag=1.4.2` the file's tag."""
    for key, value in (("environment", "staging"), ("imagetag", "1.4.2")):
        result = _main(capsys, {key: value}, tmp_path)
        _assert_one_line_error(result, f"-c {key}: unknown context key", "allowed are env, image-tag, dr-mode, dr-restore")
        assert not (tmp_path / "out" / "manifest.json").exists()


def test_dr_context_for_an_environment_without_a_dr_stack(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for key, value in (("dr-mode", "active"), ("dr-restore", "latest")):
        result = _main(capsys, {"env": "staging", key: value}, tmp_path)
        _assert_one_line_error(result, f"-c {key} = '{value}'", "staging has no DR stack", "dr.enabled = false")


def test_a_threshold_without_a_catalogue_entry_stops_synth(tmp_path: Path) -> None:
    """Every threshold has exactly one owner: a row of config/thresholds.py that the catalogue
    does not place is named, before anything is built."""
    work = _checkout(tmp_path)
    catalogue = work / "stacks" / "catalogue.py"
    text = catalogue.read_text()
    entry = text[text.index('    "gemini-errors": Entry(') : text.index('    "connection-pool-errors": Entry(')]
    catalogue.write_text(text.replace(entry, ""))
    result = _run_app(work, {"env": "staging"}, tmp_path)
    _assert_one_line_error(result, "stacks/catalogue.py", "no entry for ['gemini-errors']")
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_make_synth_with_an_unknown_environment_says_so_and_keeps_the_last_synthesis(tmp_path: Path) -> None:
    """`make synth ENVIRONMENT=prod` deleted cdk.out before the app said the name was wrong."""
    for package in ("config", "cdk_constructs"):  # what `python -m config` imports
        (tmp_path / package).symlink_to(ROOT / package)
    (tmp_path / "cdk.out").mkdir()
    (tmp_path / "cdk.out" / "manifest.json").write_text("{}")
    result = subprocess.run(
        ["make", "-s", "-f", str(ROOT / "Makefile"), "-o", "setup", "synth", "ENVIRONMENT=prod", f"BIN={ROOT / '.venv' / 'bin'}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.splitlines()[0].startswith("error: unknown environment 'prod': allowed are production, staging (one file")
    assert (tmp_path / "cdk.out" / "manifest.json").exists()


def test_ctrl_c_during_a_synth_is_one_line(tmp_path: Path) -> None:
    """The cdk CLI runs the app for every command, and Ctrl-C reaches it (and jsii's Node runtime)
    mid-synth: one line and exit 130, not a 30-line traceback through jsii. Its process group gets
    the interrupt, as a terminal sends it."""
    import signal
    import time

    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(CDK_JSON["context"]), "CDK_OUTDIR": str(tmp_path / "out")}
    app = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    time.sleep(2.5)  # well into the synth, which takes several seconds
    os.killpg(app.pid, signal.SIGINT)
    _, err = app.communicate(timeout=30)
    assert app.returncode == 130, err
    assert "Traceback" not in err and err.rstrip().splitlines()[-1] == "app.py: interrupted; the synthesis was not finished"
