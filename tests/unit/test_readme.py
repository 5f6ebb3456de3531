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
