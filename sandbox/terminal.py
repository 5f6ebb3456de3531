"""Run a command as an engineer does at a terminal: on a pseudo-terminal, answering the cdk
CLI's approval prompt with "y" (it asks only when its output is a terminal, and refuses without
one), with its output kept, and its whole process group stopped on a timeout or Ctrl-C."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# The cdk CLI's confirmation prompts end in "(y/n)" (deploy approval, destroy without --force).
PROMPT = re.compile(rb"\(y/n\)\??\s*$")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")

# Process groups of commands that are running, so that an interrupt can stop them all; once
# STOPPING is set, no command starts any more.
RUNNING: set[int] = set()
STOPPING = threading.Event()


@dataclass(frozen=True)
class Finished:
    code: int
    output: str
    seconds: float
    answered: int
    """How many prompts were answered with "y"."""


class CommandTimeoutError(Exception):
    """The command did not finish in time (or the run is being stopped); it was stopped."""


def stop_group(pid: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def _group_members(pgid: int) -> list[int]:
    """The running processes of a process group (a command run in a session of its own has its pid as the group)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(proc.name))
    return sorted(found)


def run(argv: Sequence[str], *, cwd: Path, env: dict[str, str], timeout: float, log: Path) -> Finished:
    """Run `argv` on a pseudo-terminal; its output goes to `log` (without colours) and is returned."""
    if STOPPING.is_set():
        raise CommandTimeoutError("the run is being stopped")
    master, slave = pty.openpty()
    started = time.monotonic()
    process = subprocess.Popen(
        # CI=true: the cdk CLI prints stack events rather than redrawing a progress bar on the terminal.
        list(argv),
        cwd=cwd,
        env={**env, "TERM": "dumb", "COLUMNS": "200", "CI": "true"},
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        close_fds=True,
    )
    os.close(slave)
    RUNNING.add(process.pid)
    chunks: list[bytes] = []
    tail = b""
    answered = 0
    try:
        while True:
            if time.monotonic() - started > timeout:
                raise CommandTimeoutError(f"{argv[0]} {argv[1] if len(argv) > 1 else ''} did not finish within {timeout:.0f} s")
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the command and everything it started closed the terminal
                break
            if not data:
                break
            chunks.append(data)
            tail = (tail + data)[-200:]
            if PROMPT.search(tail):
                os.write(master, b"y\n")
                answered += 1
                tail = b""
        code = process.wait(timeout=max(1.0, timeout - (time.monotonic() - started)))
    finally:
        if process.poll() is None:
            stop_group(process.pid)
            process.wait()
        # What the command left in its own session once it ended (seen: jsii's Node runtime, orphaned
        # by a synth's Python process, still running half an hour later) is stopped with it and named.
        stray = _group_members(process.pid)
        if stray:
            stop_group(process.pid)
            chunks.append(f"\n[sandbox] stopped what the command left running in its session: pids {stray}\n".encode())
        RUNNING.discard(process.pid)
        os.close(master)
        output = _ANSI.sub("", b"".join(chunks).decode(errors="replace"))
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"$ {' '.join(argv)}\n{output}")
    return Finished(code, output, time.monotonic() - started, answered)
