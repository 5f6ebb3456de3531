"""`make sandbox`'s runner: nothing left running after a run or an interrupt, its report, its plan,
and usage mistakes in one line.

The scenarios themselves run end to end in `make sandbox`, which CI runs after `make test`
(README: Development, why not in `make test`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sandbox import emulator, runner
from sandbox.__main__ import main
from sandbox.runner import Outcome
from sandbox.scenarios import SCENARIOS
from sandbox.session import Step

ROOT = Path(__file__).resolve().parents[2]


def _processes(pattern: str) -> set[int]:
    return emulator.processes_under(Path(pattern))


def test_the_report_says_what_the_emulator_stands_in_for_and_what_it_does_not_prove() -> None:
    from sandbox.emulation import EXTENSIONS

    step = Step("new-account", "deploy.sh health-check", "./scripts/deploy.sh health-check", "exit 0", True, 0.5, "exit 0")
    report = runner.report(Outcome(steps=[step]), EXTENSIONS)
    for name in EXTENSIONS:
        assert f"  {name}: " in report
    not_proven = report.split("Not proven by a green sandbox:")[1]
    assert "IAM" in not_proven and "alarms never evaluate" in not_proven and "Route 53 health checks" in not_proven
    assert report.rstrip().endswith("Result: every step passed (1 steps)")


def test_the_report_lists_the_types_the_emulator_made_as_nothing() -> None:
    step = Step("new-account", "deploy.sh health-check", "./scripts/deploy.sh health-check", "exit 0", True, 0.5, "exit 0")
    report = runner.report(Outcome(steps=[step], skipped={"AWS::WAFv2::WebACL", "AWS::Backup::BackupSelection"}), {})
    listed = report.split("Created as nothing by the emulator")[1].split("\n\n")[0]
    assert listed.splitlines()[1:] == ["  - AWS::Backup::BackupSelection", "  - AWS::WAFv2::WebACL"]


def test_a_run_that_leaves_a_process_behind_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner looks for anything still running in its folder once every account is done."""
    straggler = subprocess.Popen(["sleep", "30"], cwd=tmp_path)
    monkeypatch.setattr(runner, "EXIT_GRACE_SECONDS", 0.5)
    try:
        monkeypatch.setattr(runner, "plan", lambda names, environment: [])
        outcome = runner.run([], "production", tmp_path)
        assert outcome.errors == [f"left running after the run: {straggler.pid} (sleep 30)"]
    finally:
        straggler.kill()
        straggler.wait()
    assert not runner.run([], "production", tmp_path).errors


def test_a_process_that_finishes_exiting_just_after_the_run_is_not_left_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A command's grandchild (jsii's Node runtime, say) can outlive it by a moment: the runner gives
    such a process a few seconds before it calls it left behind."""
    leaving = subprocess.Popen(["sleep", "1"], cwd=tmp_path)
    try:
        monkeypatch.setattr(runner, "plan", lambda names, environment: [])
        assert not runner.run([], "production", tmp_path).errors
    finally:
        leaving.kill()
        leaving.wait()


def _interrupted_run(tmp_path: Path, after: str, *, kill: bool = False) -> tuple[int, str]:
    """`python -m sandbox run` with Ctrl-C (SIGINT to its process group, as the terminal sends it)
    once it has printed `after`; with `kill`, SIGTERM to the runner alone, as `kill` or CI does."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "run", "--scenario", "new-account", "--keep", str(tmp_path / "kept")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # As from a terminal: a shell that started the tests in the background (`cmd &` without job
        # control) hands them SIGINT ignored, and Python then installs no KeyboardInterrupt handler.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        env={**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"},
    )
    assert process.stdout is not None
    for line in process.stdout:
        if after in line:
            break
    time.sleep(0.5)
    if kill:
        process.terminate()
    else:
        os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    return process.returncode, err


@pytest.mark.parametrize("after", ["rehearsing", "scenario new-account"], ids=["while-the-emulator-starts", "while-cdk-runs"])
def test_ctrl_c_at_any_moment_leaves_nothing_running(tmp_path: Path, after: str) -> None:
    code, err = _interrupted_run(tmp_path, after)
    assert code == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == ["error: sandbox run: interrupted; every emulator and command it started was stopped"], err
    time.sleep(0.5)
    # The emulator's --label and every command's checkout are under the run's folder.
    assert not _processes(str(tmp_path))


def test_a_kill_while_cdk_runs_leaves_nothing_running_either(tmp_path: Path) -> None:
    code, err = _interrupted_run(tmp_path, "scenario new-account", kill=True)
    assert code == 130, err
    assert err.strip().splitlines()[-1] == "error: sandbox run: interrupted; every emulator and command it started was stopped"
    time.sleep(0.5)
    assert not _processes(str(tmp_path))


def test_keep_on_a_folder_that_cannot_be_written_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["run", "--keep", str(blocker / "logs")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: sandbox run: --keep {blocker / 'logs'}: cannot write there") and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["run", "--env", "nope"], "error: sandbox run: unknown environment 'nope': allowed are production, staging"),
        (
            ["run", "--scenario", "drill"],
            "error: python -m sandbox run: argument --scenario: unknown scenario 'drill'; allowed are new-account",
        ),
        (["rehearse"], "error: python -m sandbox: argument verb: invalid choice: 'rehearse'"),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(words) and len(err.splitlines()) == 1


def test_the_scenarios_are_the_lifecycles_a_team_lives_through() -> None:
    assert list(SCENARIOS) == [
        "new-account",
        "bad-release",
        "on-call",
        "dr-switch",
        "failed-first-deploy",
        "backups-drills",
        "failback",
        "maintenance",
        "teardown",
    ]
    groups = {group.label: [s.name for s in group.scenarios] for group in runner.plan(list(SCENARIOS), "production")}
    # Four empty accounts, rehearsed side by side; backups mode has one of its own (its config
    # differs from the first deploy on); staging is the one torn down.
    assert groups == {
        "new-account": ["new-account", "bad-release", "on-call", "failback"],
        # The checklists after the drill, so that the quarterly one finds it.
        "failed-first-deploy": ["failed-first-deploy", "dr-switch", "maintenance"],
        "backups-drills": ["backups-drills"],
        "teardown": ["teardown"],
    }
    assert [g.environment for g in runner.plan(["teardown"], "production")] == ["staging"]


def _listening_addresses(port: int) -> set[str]:
    """Local addresses bound to `port`, from /proc/net/tcp and tcp6 (hex, as the kernel shows them)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                found.add(address)
    return found


def test_up_keeps_one_running_on_loopback_only_and_down_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The deploy that `up` runs is the new-account scenario, rehearsed above; here only its edit of
    the config file (Grafana's range, as `_team_vpn_range` makes it) is made, which must land in the
    sandbox's copy and leave every tracked file of the engineer's checkout as it was."""
    import sandbox.__main__ as cli
    from config.schema import GRAFANA_PLACEHOLDER_CIDR
    from sandbox.scenarios import _edit_config

    tracked = subprocess.run(["git", "diff", "--stat"], cwd=emulator.ROOT, capture_output=True, text=True, check=True).stdout
    own = emulator.ROOT / "config" / "production.toml"
    before = own.read_text()
    edited: list[Path] = []

    def deploy(session: Any) -> None:
        edited.append(session.checkout / "config" / f"{_edit_config(session, GRAFANA_PLACEHOLDER_CIDR, '10.50.0.0/16')}")

    monkeypatch.setattr(emulator, "STATE_DIR", tmp_path / "state")
    monkeypatch.setattr(cli, "new_account", deploy)
    try:
        assert main(["up"]) == 0
    finally:
        changed = own.read_text() != before
        if changed:  # put back, even when this fails; never rewritten otherwise (another worker reads it)
            own.write_text(before)
    assert not changed, "sandbox-up edited the engineer's config/production.toml"
    [copy] = edited
    assert "10.50.0.0/16" in copy.read_text() and copy.is_relative_to(tmp_path)
    out = capsys.readouterr().out
    running = emulator.load()
    assert running is not None
    try:
        assert f"cd {tmp_path / 'state' / 'up-checkout'}" in out
        assert f"export AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox AWS_ENDPOINT_URL={running.endpoint}" in out
        assert f"HEALTH_URL={running.health_url}" in out and '--url "$HEALTH_URL"' in out and "npx cdk diff -c env=production" in out
        port = int(running.endpoint.rsplit(":", 1)[1])
        assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, and nothing else
        assert main(["up"]) == 2
        assert "already runs" in capsys.readouterr().err
        # `make sandbox-push TAG=...`: docker push's stand-in, into the running sandbox's repository.
        assert main(["push", "1.1.0"]) == 2 and "RepositoryNotFoundException" in capsys.readouterr().err
        running.client("ecr", "us-west-2").create_repository(repositoryName="contractorlens")
        assert main(["push", "1.1.0"]) == 0 and "contractorlens:1.1.0 pushed" in capsys.readouterr().out
        images = running.client("ecr", "us-west-2").describe_images(repositoryName="contractorlens")["imageDetails"]
        assert [i["imageTags"] for i in images] == [["1.1.0"]]
        assert main(["push", "release/1"]) == 2 and "not an image tag" in capsys.readouterr().err
    finally:
        assert main(["down"]) == 0
    assert not emulator.alive(running.pid)
    assert not emulator.state_file().exists()
    assert not copy.exists()
    assert subprocess.run(["git", "diff", "--stat"], cwd=emulator.ROOT, capture_output=True, text=True, check=True).stdout == tracked
    assert main(["down"]) == 0
    assert "no sandbox is running" in capsys.readouterr().out


def test_an_interrupt_while_the_emulator_starts_stops_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator runs in a session of its own, so Ctrl-C in the terminal does not reach it:
    an interrupt during its start must stop it."""
    from config import load_environment

    real_sleep, interrupted = time.sleep, []

    def interrupt_once(seconds: float) -> None:
        # Only the wait for the emulator is interrupted: `stop` sleeps too while it waits for
        # the process to go, and an interrupt there would test a Ctrl-C pressed twice.
        if not interrupted:
            interrupted.append(seconds)
            raise KeyboardInterrupt
        real_sleep(seconds)

    monkeypatch.setattr(emulator.time, "sleep", interrupt_once)
    with pytest.raises(KeyboardInterrupt):
        emulator.start(load_environment("staging"), tmp_path / "emulator.log")
    assert not emulator.STARTED
    assert not _processes(f"--label {tmp_path}")


def test_what_a_command_leaves_running_in_its_session_is_stopped_and_named(tmp_path: Path) -> None:
    """A synth's Python process can exit and leave jsii's Node runtime running: the terminal stops
    what a finished command left in its own session, and says so in the command's output."""
    from sandbox import terminal

    marker = tmp_path / "left"
    finished = terminal.run(
        ["sh", "-c", f"sleep 300 & echo $! > {marker}; echo started"], cwd=tmp_path, env=dict(os.environ), timeout=30, log=tmp_path / "log"
    )
    assert finished.code == 0
    left = int(marker.read_text())
    assert f"stopped what the command left running in its session: pids [{left}]" in finished.output
    with pytest.raises(ProcessLookupError):
        os.kill(left, 0)
