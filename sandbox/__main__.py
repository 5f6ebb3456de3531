"""`python -m sandbox run | up | down` (make sandbox, sandbox-up, sandbox-down)."""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from config import DEFAULT_ENVIRONMENT, ConfigError, available_environments, load_environment
from sandbox import emulation, emulator, runner
from sandbox.emulator import BAD_RELEASE_TAG, SandboxError
from sandbox.scenarios import SCENARIOS, new_account
from sandbox.session import Session, make_checkout, push_image


class _Parser(argparse.ArgumentParser):
    """A usage mistake is one line on stderr and exit 2, as in the runbook."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


def _scenario(text: str) -> str:
    if text not in SCENARIOS:
        raise argparse.ArgumentTypeError(f"unknown scenario {text!r}; allowed are {', '.join(SCENARIOS)}")
    return text


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m sandbox", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    environments = ", ".join(available_environments())
    run = verbs.add_parser("run", help="rehearse the lifecycle scenarios, each in an empty account of its own, and report")
    run.add_argument(
        "--env", default=DEFAULT_ENVIRONMENT, help=f"environment: {environments} (default: %(default)s; teardown always uses staging)"
    )
    run.add_argument(
        "--scenario", action="append", type=_scenario, metavar="NAME", help=f"one of {', '.join(SCENARIOS)} (repeatable; default: all)"
    )
    run.add_argument("--keep", metavar="DIR", type=Path, help="keep every command's output and the emulators' logs in DIR")
    up = verbs.add_parser("up", help="start an emulator, deploy the environment as a new account does, and leave it running")
    up.add_argument("--env", default=DEFAULT_ENVIRONMENT, help=f"environment: {environments} (default: %(default)s)")
    verbs.add_parser("down", help="stop the emulator that `up` started")
    push = verbs.add_parser(
        "push", help="stand in for docker build and docker push: an image under TAG in the running sandbox's repository"
    )
    push.add_argument("tag", type=_tag, metavar="TAG", help=f"the image tag; {BAD_RELEASE_TAG} is a release whose /health fails")
    return parser


def _writable(directory: Path) -> Path:
    """--keep's folder, checked before anything starts."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".sandbox-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise SandboxError(f"--keep {directory}: cannot write there ({exc.strerror})") from None
    return directory


def _run(env: str, scenarios: list[str] | None, keep: Path | None) -> int:
    load_environment(env)  # a bad environment is one line before anything starts
    keep = _writable(keep) if keep else None
    names = scenarios or list(SCENARIOS)
    with tempfile.TemporaryDirectory(prefix="contractorlens-sandbox-") as tmp:
        workdir = keep or Path(tmp)
        print(f"rehearsing {', '.join(names)} ({env}); every command's output under {workdir}", flush=True)
        outcome = runner.run(names, env, workdir)
        kept = ""
        if not outcome.ok and keep is None:
            # The temporary folder goes; the emulators' logs and every step's output stay.
            target = emulator.STATE_DIR / "last-run"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(workdir, target, ignore=shutil.ignore_patterns("checkout"))
            kept = str(target)
    print()
    print(runner.report(outcome, emulation.EXTENSIONS))
    if kept:
        print(f"The emulators' logs and every command's output of this run: {kept}")
    return 0 if outcome.ok else 1


def _up_checkout() -> Path:
    return emulator.STATE_DIR / "up-checkout"


def _up(env: str) -> int:
    current = emulator.load()
    if current is not None:
        raise SandboxError(f"a sandbox already runs at {current.endpoint} (pid {current.pid}); `make sandbox-down` first")
    cfg = load_environment(env)
    # The deploy edits config as an engineer would (Grafana's range): in a copy of the checkout,
    # never in the engineer's own files, which a real deploy reads.
    checkout = _up_checkout()
    shutil.rmtree(checkout, ignore_errors=True)
    make_checkout(checkout)
    running = emulator.start(cfg, emulator.STATE_DIR / "emulator.log")
    try:
        session = Session(running=running, cfg=cfg, checkout=checkout, logs=emulator.STATE_DIR / "up", label="up")
        session.scenario = "new-account"
        new_account(session)
        if not all(step.ok for step in session.steps):
            raise SandboxError(f"the first deploy failed; every command's output is in {emulator.STATE_DIR / 'up'}")
    except BaseException:
        emulator.stop(running.pid)
        raise
    emulator.save(running)
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in {**emulator.CREDENTIALS, "AWS_ENDPOINT_URL": running.endpoint}.items())
    print(f"\nThe sandbox runs (pid {running.pid}, log {running.log}). Paste this into a shell to use it:\n")
    print(f"  cd {checkout}   # the sandbox's own copy of this checkout: its config is what was deployed")
    print(f"  export {exports} AWS_DEFAULT_REGION={cfg.region} HEALTH_URL={running.health_url}")
    print(f'  ./scripts/deploy.sh health-check --env {cfg.name} --url "$HEALTH_URL"')
    print(f"  npx cdk diff -c env={cfg.name}")
    print(f"  aws ecs describe-services --cluster {cfg.names.cluster} --services {cfg.names.service}   # the AWS CLI v2, if you have it")
    print("\n`make sandbox-down` stops it.")
    return 0


def _tag(text: str) -> str:
    from config.schema import IMAGE_TAG_PATTERN, IMAGE_TAG_RULE

    if not re.fullmatch(IMAGE_TAG_PATTERN, text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an image tag ECR accepts: {IMAGE_TAG_RULE}")
    return text


def _push(tag: str) -> int:
    running = emulator.load()
    if running is None:
        raise SandboxError("no sandbox is running: `make sandbox-up` first")
    from botocore.exceptions import ClientError

    try:
        print(push_image(running, load_environment(running.env, _up_checkout() / "config"), tag))
    except ClientError as exc:  # the repository not there yet: the first deploy made no Registry stack
        raise SandboxError(str(exc)) from None
    return 0


def _down() -> int:
    running = emulator.load()
    if running is None:
        print("no sandbox is running")
        return 0
    emulator.stop(running.pid)
    emulator.state_file().unlink(missing_ok=True)
    shutil.rmtree(_up_checkout(), ignore_errors=True)
    print(f"stopped the sandbox at {running.endpoint} (pid {running.pid}) and removed its checkout")
    return 0


def _terminated(signum: int, frame: object) -> None:
    """`kill` (SIGTERM, also how CI cancels a job) stops the run as Ctrl-C does, emulators included."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminated)
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if args.verb == "run":
            return _run(args.env, args.scenario, args.keep)
        if args.verb == "up":
            return _up(args.env)
        if args.verb == "push":
            return _push(args.tag)
        return _down()
    except (ConfigError, SandboxError) as exc:
        print(f"error: sandbox {args.verb}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        runner.stop_everything()
        print(f"error: sandbox {args.verb}: interrupted; every emulator and command it started was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
