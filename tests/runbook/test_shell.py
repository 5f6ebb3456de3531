"""scripts/deploy.sh as people type it: --help, an unknown verb, a missing argument."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from runbook.cli import COMMANDS, all_commands, build_parser, markdown_table
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
    for verb in ("production", "rollback", "health-check", *(command.name for command in COMMANDS)):
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


def test_the_readmes_command_table_is_the_declarations() -> None:
    """`make runbook-table` prints it; a command added, renamed or documented anew shows in the README."""
    assert markdown_table() in (ROOT / "README.md").read_text()


def test_each_declared_command_is_dispatched_to_its_own_declaration() -> None:
    """No default branch: a verb runs what it was declared with, or argparse refuses it."""
    parser = build_parser()
    (verbs,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    commands = parser.commands
    assert [command.name for command in commands] == [command.name for command in all_commands()]
    assert list(verbs.choices) == [command.name for command in commands]
    for command in commands:
        assert verbs.choices[command.name].get_default("declared") is command
