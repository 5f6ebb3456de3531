"""One committed JSON snapshot per production stack, for reviewers. `make snapshots` rewrites them."""

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


def test_the_active_dr_stack_matches_its_snapshot(dr_active: Synthesis, stack_snapshot: SnapshotAssertion) -> None:
    """The DR stack as a drill deploys it (-c dr-mode=active -c dr-restore=latest)."""
    assert normalized(dr_active.template("DR")) == stack_snapshot(name="ContractorLens-Production-DR-active")


def test_every_production_stack_has_a_snapshot(production: Synthesis) -> None:
    assert sorted(production.templates) == sorted(production.cfg.names.stack(p) for p in PRODUCTION_STACKS)
