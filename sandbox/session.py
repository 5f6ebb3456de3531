"""One account in the emulator, and an engineer's checkout to work on it from: `npx cdk` and
`scripts/deploy.sh` typed as the README prints them, and each step recorded."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config import EnvironmentConfig
from sandbox import terminal
from sandbox.emulator import CREDENTIALS, ROOT, Running

# What a checkout holds; .venv and node_modules are linked, not copied.
CHECKOUT = ("app.py", "cdk.json", "cdk.context.json", "package.json", "config", "stacks", "cdk_constructs", "runbook", "scripts")
LINKED = (".venv", "node_modules")
CDK_TIMEOUT_SECONDS = 240
RUNBOOK_TIMEOUT_SECONDS = 180
# The runbook's waits against an emulator that answers at once.
FAST = ("--poll-seconds", "1", "--timeout-minutes", "2")

_PRINT = threading.Lock()


def image_manifest(tag: str) -> str:
    """The manifest `docker push` of a build tagged `tag` leaves in ECR: a build of its own (its
    config digest names the tag), so each tag has a digest of its own."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1,
            "digest": "sha256:" + tag.encode().hex().ljust(64, "0")[:64],
        },
        "layers": [],
    }
    return json.dumps(manifest)


def push_image(running: Running, cfg: EnvironmentConfig, tag: str) -> str:
    """What `docker build` and `docker push` leave in the environment's repository."""
    repository = cfg.names.repository
    running.client("ecr", cfg.region).put_image(repositoryName=repository, imageTag=tag, imageManifest=image_manifest(tag))
    return f"{repository}:{tag} pushed (docker push)"


def make_checkout(into: Path) -> Path:
    """A copy of this checkout for one scenario, so that each has its own cdk.out (the cdk CLI
    locks it) and the engineer's own cdk.out is left alone."""
    into.mkdir(parents=True, exist_ok=True)
    for name in CHECKOUT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__", "cdk.out"))
        elif source.exists():
            shutil.copy2(source, into / name)
    for name in LINKED:
        (into / name).symlink_to(ROOT / name)
    return into


@dataclass
class Step:
    scenario: str
    name: str
    command: str
    expected: str
    ok: bool = False
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Session:
    """An engineer at a checkout, with the emulator's endpoint and credentials in the environment."""

    running: Running
    cfg: EnvironmentConfig
    checkout: Path
    logs: Path
    label: str
    steps: list[Step] = field(default_factory=list)
    scenario: str = ""

    def say(self, line: str) -> None:
        with _PRINT:
            print(f"[{self.label}] {line}", flush=True)

    def env(self, region: str | None = None) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_", "CDK_"))}
        env = {
            **clean,
            **CREDENTIALS,
            "AWS_ENDPOINT_URL": self.running.endpoint,
            "AWS_DEFAULT_REGION": self.cfg.region,
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        if region:
            env["AWS_REGION"] = region  # the manual's `export AWS_REGION=us-east-1`
        return env

    def _record(self, step: Step) -> bool:
        self.steps.append(step)
        self.say(f"{'pass' if step.ok else 'FAIL'}  {step.name} [{step.seconds:.1f} s]: {step.detail}")
        return step.ok

    def type(
        self,
        name: str,
        argv: Sequence[str],
        *,
        expect: Callable[[int], bool] = lambda code: code == 0,
        expected: str = "exit 0",
        region: str | None = None,
        look_for: str = "",
        timeout: float = CDK_TIMEOUT_SECONDS,
    ) -> str:
        """Run a command as typed at a terminal; the step passes when its exit code is as expected
        (and its output holds `look_for`). Returns the output."""
        shown = " ".join(argv) if not region else f"AWS_REGION={region} {' '.join(argv)}"
        log = self.logs / f"{len(self.steps) + 1:02d}-{name.split()[0]}.log"
        try:
            done = terminal.run(argv, cwd=self.checkout, env=self.env(region), timeout=timeout, log=log)
        except terminal.CommandTimeoutError as exc:
            self._record(Step(self.scenario, name, shown, expected, False, timeout, str(exc)))
            return ""
        ok = expect(done.code) and look_for in done.output
        detail = f"exit {done.code}: {_last_line(done.output)}"
        if look_for and look_for not in done.output:
            detail += f" (expected the output to say {look_for!r})"
        if done.answered:
            detail += f" (approval prompt answered y x{done.answered})"
        self._record(Step(self.scenario, name, shown, expected, ok, done.seconds, detail))
        return done.output

    def cdk(self, *args: str, fails: bool = False, look_for: str = "") -> str:
        """`npx cdk <args>`, exactly as the README prints it."""
        return self.type(
            f"npx cdk {args[0]}",
            ["npx", "cdk", *args],
            expect=(lambda c: c != 0) if fails else (lambda c: c == 0),
            expected="fails" if fails else "exit 0",
            look_for=look_for,
        )

    def deploy_sh(self, *args: str, expect: int = 0, region: str | None = None, look_for: str = "") -> str:
        """`./scripts/deploy.sh <args>` (with the sandbox's health URL and fast waits)."""
        return self.type(
            f"deploy.sh {args[0]}",
            ["./scripts/deploy.sh", *args, *FAST],
            expect=lambda c: c == expect,
            expected=f"exit {expect}",
            region=region,
            look_for=look_for,
            timeout=RUNBOOK_TIMEOUT_SECONDS,
        )

    def check(self, name: str, action: Callable[[], tuple[bool, str]], *, stand_in: bool = False) -> bool:
        """A check of the account itself (the sandbox looks, as the AWS console would), or with
        `stand_in`, something an engineer does outside the repository (docker push)."""
        started = time.monotonic()
        try:
            ok, detail = action()
        except Exception as exc:  # noqa: BLE001 - any failure is the step's result
            ok, detail = False, " ".join(f"{type(exc).__name__}: {exc}".split())
        return self._record(
            Step(self.scenario, name, "(stand-in)" if stand_in else "(sandbox check)", "holds", ok, time.monotonic() - started, detail)
        )

    def client(self, service: str, region: str | None = None) -> Any:
        return self.running.client(service, region or self.cfg.region)

    def push(self, tag: str) -> bool:
        """Stands in for `docker build` and `docker push`: the image manifest lands in the repository."""

        def action() -> tuple[bool, str]:
            return True, push_image(self.running, self.cfg, tag)

        return self.check(f"push {self.cfg.names.repository}:{tag}", action, stand_in=True)

    def stack_status(self, part: str) -> str:
        from botocore.exceptions import ClientError

        region = self.cfg.dr_region if part in ("DR", "DRFoundation") else self.cfg.region
        try:
            (stack,) = self.client("cloudformation", region).describe_stacks(StackName=self.cfg.names.stack(part))["Stacks"]
        except ClientError:
            return "none"
        return str(stack["StackStatus"])


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip() and not line.startswith("npm warn")]
    return lines[-1][:300] if lines else ""
