"""`python -m sandbox run | up | down` (make sandbox, sandbox-up, sandbox-down)."""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from config import DEFAULT_ENVIRONMENT, ConfigError, available_environments, load_environment
from sandbox import emulation, emulator, rehearsal
from sandbox.deploy import DeployError
from sandbox.emulator import SandboxError


class _Parser(argparse.ArgumentParser):
    """A usage mistake is one line on stderr and exit 2, as in the runbook."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m sandbox", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    environments = ", ".join(available_environments())
    for verb, text in (
        ("run", "deploy into a fresh emulator, rehearse the runbook, report, stop the emulator"),
        ("up", "start an emulator, deploy the environment into it, and leave it running"),
    ):
        sub = verbs.add_parser(verb, help=text)
        sub.add_argument("--env", default=DEFAULT_ENVIRONMENT, help=f"environment: {environments} (default: %(default)s)")
        if verb == "run":
            sub.add_argument("--keep", metavar="DIR", type=Path, help="write the templates and the emulator's log to DIR and keep them")
    verbs.add_parser("down", help="stop the emulator that `up` started")
    return parser


def _run(env: str, keep: Path | None) -> int:
    cfg = load_environment(env)
    with tempfile.TemporaryDirectory(prefix="contractorlens-sandbox-") as tmp:
        workdir = keep or Path(tmp)
        print(f"synthesizing {cfg.name} (as configured, with a bad release, and with the DR stack active) ...", flush=True)
        assemblies = rehearsal.synthesize(cfg, workdir)
        outcome = rehearsal.run(cfg, assemblies, workdir=workdir, say=lambda line: print(line, flush=True))
        kept = ""
        if not outcome.ok and keep is None:
            # The temporary directory goes; the emulator's log, with moto's side of a failure, stays.
            emulator.STATE_DIR.mkdir(exist_ok=True)
            kept = str(shutil.copy(workdir / "emulator.log", emulator.STATE_DIR / "last-run-emulator.log"))
    print()
    print(rehearsal.report(outcome, emulation.EXTENSIONS))
    if kept:
        print(f"The emulator's log of this run: {kept}")
    return 0 if outcome.ok else 1


def _up(env: str) -> int:
    current = emulator.load()
    if current is not None:
        raise SandboxError(f"a sandbox already runs at {current.endpoint} (pid {current.pid}); `make sandbox-down` first")
    cfg = load_environment(env)
    with tempfile.TemporaryDirectory(prefix="contractorlens-sandbox-") as tmp:
        print(f"synthesizing {cfg.name} ...", flush=True)
        assemblies = rehearsal.synthesize(cfg, Path(tmp), only=("base",))
        running = emulator.start(cfg, emulator.STATE_DIR / "emulator.log")
        try:
            rehearsal.deploy_all(running, cfg, assemblies.base, rehearsal.Outcome(env=cfg.name), print)
        except BaseException:
            emulator.stop(running.pid)
            raise
    emulator.save(running)
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in {**emulator.CREDENTIALS, "AWS_ENDPOINT_URL": running.endpoint}.items())
    print(f"\nThe sandbox runs (pid {running.pid}, log {running.log}). Paste this into a shell to use it:\n")
    print(f"  export {exports} AWS_DEFAULT_REGION={cfg.region}")
    print(f"  ./scripts/deploy.sh health-check --env {cfg.name} --url {running.health_url}")
    print(f"  aws ecs describe-services --cluster {cfg.names.cluster} --services {cfg.names.service}   # the AWS CLI, if you have it")
    print("\n`make sandbox-down` stops it.")
    return 0


def _down() -> int:
    running = emulator.load()
    if running is None:
        print("no sandbox is running")
        return 0
    emulator.stop(running.pid)
    emulator.state_file().unlink(missing_ok=True)
    print(f"stopped the sandbox at {running.endpoint} (pid {running.pid})")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.verb == "run":
            return _run(args.env, args.keep)
        if args.verb == "up":
            return _up(args.env)
        return _down()
    except (ConfigError, SandboxError, DeployError) as exc:
        print(f"error: sandbox {args.verb}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"error: sandbox {args.verb}: interrupted; the emulator was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
