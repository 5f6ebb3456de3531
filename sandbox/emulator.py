"""Start and stop the emulator process (sandbox/server.py), and talk to it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from config import EnvironmentConfig

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = ROOT / ".sandbox"
START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 10
# Any key works against the emulator; these make it obvious where a request went.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "sandbox", "AWS_SECRET_ACCESS_KEY": "sandbox"}
# A release the stand-in application fails /health on: the rehearsal's bad release.
BAD_RELEASE_TAG = "sandbox-bad-release"


class SandboxError(Exception):
    """A sandbox failure to report as one line and a non-zero exit."""


@dataclass(frozen=True)
class Running:
    """A running emulator: what `sandbox up` records and `sandbox down` reads."""

    pid: int
    endpoint: str
    health_url: str
    env: str
    log: str

    def environment(self) -> dict[str, str]:
        """What a process needs to talk to the emulator and nothing else."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("MOTO_")}
        return {**clean, **CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def client(self, service: str, region: str) -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )


# Emulators this process started and has not stopped yet: an interrupt stops them all.
STARTED: set[int] = set()


def start(cfg: EnvironmentConfig, log: Path) -> Running:
    """Start the emulator on a free port of 127.0.0.1 and wait until it answers; stopped again
    if anything (Ctrl-C included) interrupts the wait."""
    from sandbox.terminal import STOPPING

    if STOPPING.is_set():
        raise SandboxError("the run is being stopped")
    names = cfg.names
    argv = [
        sys.executable,
        "-m",
        "sandbox.server",
        "--app",
        f"{cfg.region}/{names.cluster}/{names.service}",
        "--failing-tag",
        BAD_RELEASE_TAG,
        "--label",
        str(log.resolve().parent),
    ]
    if cfg.dns.domain and cfg.dns.hosted_zone_id:
        argv += ["--hosted-zone", f"{cfg.dns.hosted_zone_id}={cfg.dns.domain}"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        # A session of its own: Ctrl-C in the terminal reaches the runner, which stops it, and
        # `sandbox down` can stop it after the runner has gone.
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOTO_")}
        # DNS validation completes at once (the CNAME is in the zone): certificates are ISSUED.
        env["MOTO_ACM_VALIDATION_WAIT"] = "0"
        # Nothing launches an instance: moto's AMI catalogue would only slow every region's start.
        env["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
        process = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    STARTED.add(process.pid)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SandboxError(f"the emulator exited with {process.returncode} before it listened; see {log}")
            for line in log.read_text().splitlines():
                if line.startswith("{"):
                    ready = json.loads(line)
                    return Running(process.pid, ready["endpoint"], ready["health_url"], cfg.name, str(log))
            time.sleep(0.1)
        raise SandboxError(f"the emulator did not listen within {START_TIMEOUT_SECONDS} s; see {log}")
    except BaseException:
        stop(process.pid)
        raise


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A child that exited but was not reaped yet is no longer running.
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)
    return waited == 0


def processes_under(path: Path) -> set[int]:
    """Running processes (this one aside) whose command line names `path` or which work in it."""
    pattern, found = str(path), set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                cwd = os.readlink(proc / "cwd")
            except OSError:
                continue
            if (pattern in cmdline or pattern in cwd) and alive(int(proc.name)):
                found.add(int(proc.name))
    return found


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


def stop(pid: int) -> None:
    """SIGTERM to the emulator's process group, then SIGKILL if it has not gone in time."""
    STARTED.discard(pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.05)


def state_file() -> Path:
    return STATE_DIR / "state.json"


def save(running: Running) -> None:
    STATE_DIR.mkdir(exist_ok=True)
    state_file().write_text(json.dumps(asdict(running), indent=2) + "\n")


def load() -> Running | None:
    """The emulator `sandbox up` left running, if it still runs."""
    path = state_file()
    if not path.exists():
        return None
    try:
        running = Running(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        path.unlink()
        return None
    if not alive(running.pid):
        path.unlink()
        return None
    return running
