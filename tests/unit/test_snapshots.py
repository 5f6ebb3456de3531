"""One committed JSON snapshot per stack of every environment, for reviewers. `make snapshots` rewrites them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from tests.conftest import ENVIRONMENTS
from tests.synth import Synthesis, normalized

SNAPSHOT_DIR = Path(__file__).resolve().parents[1] / "snapshots"


class StackTemplate(SingleFileSnapshotExtension):
    """`tests/snapshots/<stack name>.json`: sorted keys, two-space indent, final newline."""

    _write_mode = WriteMode.TEXT
    file_extension = "json"

    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        return str(SNAPSHOT_DIR)

    @classmethod
    def get_snapshot_name(cls, *, test_location: Any, index: Any = 0) -> str:
        return str(index)

    def serialize(self, data: Any, **_: Any) -> str:
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


@pytest.fixture
def stack_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(StackTemplate)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_template_matches_its_snapshot(synthesis: Callable[[str], Synthesis], stack_snapshot: SnapshotAssertion, env: str) -> None:
    """Every stack of every environment: staging's differ from production's in more than names
    (no DR, single-AZ, no deletion protection), and a change to those paths must show in a review too."""
    synth = synthesis(env)
    assert synth.error is None, synth.error
    for name, template in synth.templates.items():
        assert normalized(template) == stack_snapshot(name=name), name


def test_the_active_dr_stack_matches_its_snapshot(dr_active: Synthesis, stack_snapshot: SnapshotAssertion) -> None:
    """The DR stack as a drill deploys it (-c dr-mode=active -c dr-restore=latest)."""
    assert normalized(dr_active.template("DR")) == stack_snapshot(name="ContractorLens-Production-DR-active")


def test_every_stack_has_a_snapshot_and_every_snapshot_a_stack(synthesis: Callable[[str], Synthesis]) -> None:
    synthesized = sorted([*(name for env in ENVIRONMENTS for name in synthesis(env).templates), "ContractorLens-Production-DR-active"])
    assert sorted(p.stem for p in SNAPSHOT_DIR.glob("*.json")) == synthesized


def test_production_has_the_manuals_seven_stacks(production: Synthesis) -> None:
    parts = ["DRFoundation", "Network", "Registry", "Data", "Service", "Monitoring", "DR"]
    assert sorted(production.templates) == sorted(production.cfg.names.stack(p) for p in parts)
