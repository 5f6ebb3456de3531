"""scripts/deploy.sh as people type it: --help, an unknown verb, a missing argument."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from runbook.cli import COMMANDS
from tests.synth import ROOT

SCRIPT = ROOT / "scripts" / "deploy.sh"


def _sh(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([str(SCRIPT), *argv], capture_output=True, text=True, env=env, timeout=60, check=False)


def test_help_lists_every_command_on_one_line() -> None:
    result = _sh("--help")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    # The manual's three verbs, exactly.
    for verb in ("production", "rollback", "health-check", *COMMANDS):
        (line,) = [line for line in lines if line.strip().startswith(f"{verb} ")] or [None]
        assert line is not None, verb
        assert len(line.split(maxsplit=1)) == 2, f"{verb} has no one-line help"


def test_an_unknown_verb_is_one_line() -> None:
    result = _sh("deploy-everything")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "invalid choice: 'deploy-everything'" in result.stderr


def test_a_missing_argument_is_one_line() -> None:
    result = _sh("scale")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--count" in result.stderr


def test_no_verb_is_one_line() -> None:
    result = _sh()
    assert result.returncode == 2 and result.stderr.count("\n") == 1
