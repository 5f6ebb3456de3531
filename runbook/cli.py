"""`python -m runbook <command>`: the manual's procedures (scripts/deploy.sh is a thin shell over it).

Every command takes --env (default production) and resolves names and regions from that
environment's config file; prints what it checks as it goes (or one JSON document with
--json); and exits 0 only when everything it checked holds, 1 when a check failed, 2 when it
could not run (bad input, or AWS refused or failed).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

from config import DEFAULT_ENVIRONMENT, ConfigError, available_environments, load_environment
from config.dr import DrContextError, RestoreSource, parse_dr_context
from config.schema import IMAGE_TAG_PATTERN, IMAGE_TAG_RULE
from config.thresholds import RUNNING_TASKS, THRESHOLDS
from runbook import checks, recovery, security, service
from runbook.aws import AWS_ERRORS, Aws, RunbookError, WaitPolicy, describe
from runbook.context import Context
from runbook.report import Report

FLOOR = int(RUNNING_TASKS.value)
CERT_WARNING_DAYS = int(THRESHOLDS["certificate-expiry"].value)
COMMANDS = {
    "first-deploy": "a new account's first deploy: service-linked roles, the stacks in an order that works, the image checked",
    "preflight": "the manual's pre-deployment checklist: /health, database, service steady, image pushed, roles, no alarm firing",
    "health-check": f"/health, running tasks >= desired and >= {FLOOR}, every ALB target healthy, database, alarms",
    "rollback": "put the service back on the previous ACTIVE task revision (or --to-revision N), wait, health-check",
    "scale": f"set the service's desired count (--count N); below {FLOOR} in production only with --force",
    "restart": "force a new deployment of the service, wait until stable, health-check",
    "logs": "the manual's log tail and searches: --since 10m, --filter FAILED_LOGIN|'slow query'|...",
    "backups": "snapshots and automated backups in the primary and DR regions, and the RPO they give now",
    "dr-restore": "restore contractorlens-db-restored in the DR region: --latest | --snapshot ID | --time UTC",
    "certs": f"ACM certificates expired, pending validation, or expiring within {CERT_WARNING_DAYS} days",
    "security-review": "security groups open to the internet beyond the ALB's 80/443; FAILED_LOGIN count, last 24 h",
    "leftovers": "what a cdk destroy kept that is in the way of deploying again (--delete deletes it; not in production)",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


class _TopLevel(_Parser):
    """The top-level --help: every command on one line of its own."""

    commands: dict[str, str]

    def format_help(self) -> str:
        width = max(map(len, self.commands)) + 2
        rows = "\n".join(f"  {name.ljust(width)}{text}" for name, text in self.commands.items())
        return (
            f"usage: {self.prog} <command> [options]   ({self.prog} <command> --help for its options)\n\n"
            f"{self.description}\n\ncommands:\n{rows}\n"
        )


def build_parser() -> argparse.ArgumentParser:
    environments = available_environments()
    # Parents' actions are shared by every child parser, so the deploy verbs, which name their
    # environment, get a parent without --env rather than a changed default.
    base = _Parser(add_help=False)
    base.add_argument("--json", action="store_true", help="print one JSON document instead of progress lines")
    base.add_argument("--poll-seconds", type=int, default=15, help="how often to poll AWS while waiting (default: %(default)s)")
    base.add_argument("--timeout-minutes", type=int, default=30, help="how long to wait for AWS at most (default: %(default)s)")
    common = _Parser(add_help=False, parents=[base])
    common.add_argument("--env", default=DEFAULT_ENVIRONMENT, help=f"environment: {', '.join(environments)} (default: %(default)s)")
    url = _Parser(add_help=False)
    url.add_argument("--url", type=_health_url, help="the health URL (default: https://api.<domain>/health, or the stack's ApiUrl)")

    parser = _TopLevel(
        prog="deploy.sh",
        description="ContractorLens operations: the manual's procedures. Every command takes --env "
        f"(default {DEFAULT_ENVIRONMENT}) and --json; 'deploy.sh <environment>' deploys that environment.",
    )
    parser.commands = {
        **{env: f"deploy {env}: preflight, cdk deploy of its stacks, wait until stable, health-check" for env in environments},
        **COMMANDS,
    }
    verbs = parser.add_subparsers(dest="command", metavar="command", parser_class=_Parser, required=True)
    for env in environments:
        deploy = verbs.add_parser(env, parents=[base, url], help=parser.commands[env])
        deploy.add_argument("--image-tag", type=_image_tag, help="release to deploy (default: service.image_tag of the config file)")
        deploy.set_defaults(env=env)
    verbs.add_parser("first-deploy", parents=[common, url], help=COMMANDS["first-deploy"])
    preflight = verbs.add_parser("preflight", parents=[common, url], help=COMMANDS["preflight"])
    preflight.add_argument("--image-tag", type=_image_tag, help="the release to check for (default: service.image_tag)")
    verbs.add_parser("health-check", parents=[common, url], help=COMMANDS["health-check"])
    rollback = verbs.add_parser("rollback", parents=[common, url], help=COMMANDS["rollback"])
    rollback.add_argument("--to-revision", type=_positive, metavar="N", help="this revision instead of the previous one")
    scale = verbs.add_parser("scale", parents=[common], help=COMMANDS["scale"])
    scale.add_argument("--count", type=_count, required=True, metavar="N")
    scale.add_argument("--force", action="store_true", help=f"allow fewer than {FLOOR} tasks in production")
    verbs.add_parser("restart", parents=[common, url], help=COMMANDS["restart"])
    logs = verbs.add_parser("logs", parents=[common], help=COMMANDS["logs"])
    logs.add_argument("--since", default="10m", help="how far back: 30s, 10m, 2h, 1d (default: %(default)s)")
    logs.add_argument("--filter", dest="pattern", help="a CloudWatch Logs filter pattern, e.g. FAILED_LOGIN or 'slow query'")
    verbs.add_parser("backups", parents=[common], help=COMMANDS["backups"])
    restore = verbs.add_parser("dr-restore", parents=[common], help=COMMANDS["dr-restore"])
    source = restore.add_mutually_exclusive_group(required=True)
    source.add_argument("--latest", action="store_true", help="the replicated backups' latest restorable time")
    source.add_argument("--snapshot", metavar="ID", help="a DB snapshot (id or ARN) in the DR region")
    source.add_argument("--time", metavar="UTC", help="a point in time, e.g. 2026-11-27T18:00:00Z")
    verbs.add_parser("certs", parents=[common], help=COMMANDS["certs"])
    verbs.add_parser("security-review", parents=[common], help=COMMANDS["security-review"])
    leftovers = verbs.add_parser("leftovers", parents=[common], help=COMMANDS["leftovers"])
    leftovers.add_argument("--delete", action="store_true", help="delete them (their logs, images and secrets go)")
    return parser


def _health_url(text: str) -> str:
    """--url: checked before anything runs, so no command changes something and then fails on it."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s) URL; e.g. https://api.contractorlens.com/health")
    return text


def _image_tag(text: str) -> str:
    if not re.fullmatch(IMAGE_TAG_PATTERN, text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an image tag ECR accepts: {IMAGE_TAG_RULE}")
    return text


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a revision number, 1 or more")
    return int(text)


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: expected a task count, 0 or more")
    return int(text)


def _restore_source(args: argparse.Namespace, dr_region: str) -> RestoreSource:
    text = "latest" if args.latest else f"snapshot:{args.snapshot}" if args.snapshot else f"time:{args.time}"
    return parse_dr_context("active", text, dr_region=dr_region).restore


def run(args: argparse.Namespace, ctx: Context) -> bool:
    command = args.command
    if command == "first-deploy":
        return service.first_deploy(ctx, url=args.url)
    if command == "preflight":
        return checks.preflight(ctx, args.url, args.image_tag)
    if command == "health-check":
        return checks.health_check(ctx, args.url)
    if command == "rollback":
        return service.rollback(ctx, to_revision=args.to_revision, url=args.url)
    if command == "scale":
        return service.scale(ctx, count=args.count, force=args.force)
    if command == "restart":
        return service.restart(ctx, url=args.url)
    if command == "logs":
        return security.logs(ctx, since=args.since, pattern=args.pattern)
    if command == "backups":
        return recovery.backups(ctx)
    if command == "dr-restore":
        return recovery.dr_restore(ctx, _restore_source(args, ctx.cfg.dr_region))
    if command == "certs":
        return security.certs(ctx)
    if command == "security-review":
        return security.security_review(ctx)
    if command == "leftovers":
        return service.leftovers(ctx, delete=args.delete)
    return service.deploy(ctx, image_tag=args.image_tag, url=args.url)


def main(argv: Sequence[str] | None = None, aws: Aws | None = None) -> int:
    """Run one command; `aws` lets tests hand in a session whose clients they stub."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # a usage mistake (one line already printed) or --help
        return int(exc.code or 0)
    report = Report(command=args.command, env=args.env, as_json=args.json)
    try:
        cfg = load_environment(args.env)
        if args.poll_seconds < 1 or args.timeout_minutes < 1:
            raise RunbookError("--poll-seconds and --timeout-minutes must be at least 1")
        # During a failover the manual has people `export AWS_REGION=us-east-1`: follow it.
        region = os.environ.get("AWS_REGION") or cfg.region
        report.say(f"{args.command} · {cfg.name} · {region}")
        ctx = Context(cfg=cfg, aws=aws or Aws(), report=report, wait=WaitPolicy(args.poll_seconds, args.timeout_minutes), region=region)
        run(args, ctx)
    except (ConfigError, RunbookError, DrContextError) as exc:
        print(f"error: {args.command}: {exc}", file=sys.stderr)
        return 2
    except AWS_ERRORS as exc:
        print(f"error: {args.command}: {describe(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"error: {args.command}: interrupted; AWS may still be carrying out what was started", file=sys.stderr)
        return 130
    return report.finish()
