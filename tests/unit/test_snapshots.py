"""One committed JSON snapshot per stack of every environment, for reviewers. `make snapshots` rewrites them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from tests.synth import Synthesis, normalized

SNAPSHOT_DIR = Path(__file__).resolve().parents[1] / "snapshots"
PRODUCTION_STACKS = ["DRFoundation", "Network", "Registry", "Data", "Service", "Monitoring", "DR"]
STAGING_STACKS = ["Network", "Registry", "Data", "Service", "Monitoring"]


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


@pytest.mark.parametrize("part", PRODUCTION_STACKS)
def test_template_matches_its_snapshot(production: Synthesis, stack_snapshot: SnapshotAssertion, part: str) -> None:
    name = production.cfg.names.stack(part)
    assert normalized(production.template(part)) == stack_snapshot(name=name)


@pytest.mark.parametrize("part", STAGING_STACKS)
def test_staging_template_matches_its_snapshot(staging: Synthesis, stack_snapshot: SnapshotAssertion, part: str) -> None:
    """Staging's stacks differ from production's in more than names (no DR, single-AZ, no
    deletion protection): a change to those paths must show in a review too."""
    name = staging.cfg.names.stack(part)
    assert normalized(staging.template(part)) == stack_snapshot(name=name)


def test_the_active_dr_stack_matches_its_snapshot(dr_active: Synthesis, stack_snapshot: SnapshotAssertion) -> None:
    """The DR stack as a drill deploys it (-c dr-mode=active -c dr-restore=latest)."""
    assert normalized(dr_active.template("DR")) == stack_snapshot(name="ContractorLens-Production-DR-active")


def test_every_stack_has_a_snapshot(production: Synthesis, staging: Synthesis) -> None:
    synthesized = sorted([*production.templates, *staging.templates, "ContractorLens-Production-DR-active"])
    assert sorted(p.stem for p in SNAPSHOT_DIR.glob("*.json")) == synthesized
