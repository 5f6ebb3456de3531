"""The README's table of contents and scenario table keep up with the README and the code."""

from __future__ import annotations

import re

from sandbox.scenarios import SCENARIOS
from tests.synth import ROOT

README = (ROOT / "README.md").read_text()


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but hyphens dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_contents_link_every_section_in_order() -> None:
    toc = README.split("<!-- toc:", 1)[1].split("<!-- /toc -->", 1)[0]
    linked = re.findall(r"\]\(#([^)]+)\)", toc)
    sections = [_anchor(line[3:]) for line in README.splitlines() if line.startswith("## ")]
    assert linked == sections


def test_every_sandbox_scenario_has_a_row() -> None:
    rows = set(re.findall(r"^\| `([a-z-]+)` \|", README, flags=re.MULTILINE))
    assert set(SCENARIOS) <= rows, sorted(set(SCENARIOS) - rows)


def _deploy_sh_commands() -> list[str]:
    """Every `./scripts/deploy.sh ...` the README prints as a command: in a code block (less its
    comment) or in backticks; usage lines (`[--json]`, `a|b`, `<env>`) are the table's, not commands."""
    found = []
    for match in re.finditer(r"\./scripts/deploy\.sh ([^`\n#]*)", README):
        text = match.group(1).strip()
        if not text or any(mark in text for mark in ("[", "|", "<", "...")):
            continue
        found.append(text.replace('"$HEALTH_URL"', "http://127.0.0.1:8080/health"))
    return found


def test_every_runbook_command_the_readme_prints_parses_as_printed() -> None:
    """An option renamed or a command dropped leaves no README line behind that would fail on a
    user's terminal with a usage error."""
    import shlex

    from runbook.cli import build_parser

    commands = _deploy_sh_commands()
    assert len(commands) > 20
    refused = []
    for text in commands:
        try:
            build_parser().parse_args(shlex.split(text))
        except SystemExit as exc:  # --help exits 0; a usage error exits 2
            if exc.code:
                refused.append(text)
    assert not refused
