"""`python -m runbook <command>`: the manual's procedures (scripts/deploy.sh is a thin shell over it).

Every command takes --env (default production) and resolves names and regions from that
environment's config file; prints what it checks as it goes (or one JSON document with
--json); and exits 0 only when everything it checked holds, 1 when a check failed, 2 when it
could not run (bad input, or AWS refused or failed).

Each command is declared once, in `COMMANDS`: its name, its options, its help line, its row of
the README's table and the function that runs it. `./scripts/deploy.sh --help`, the parser,
the dispatch and the README's table (`markdown_table`, kept equal by a test) all read it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from config import DEFAULT_ENVIRONMENT, ConfigError, available_environments, load_environment
from config.dr import DrContextError, RestoreSource, parse_dr_context
from config.names import GAME_DAY_EXPERIMENTS
from config.schema import IMAGE_TAG_PATTERN, IMAGE_TAG_RULE
from config.thresholds import RPO_DATABASE_MINUTES, RTO_APPLICATION_MINUTES, RTO_DATABASE_MINUTES, RUNNING_TASKS, THRESHOLDS
from runbook import checklist, checks, credentials, db_users, drill, failback, game_day, readiness, recovery, release, security, service
from runbook.aws import AWS_ERRORS, Aws, RunbookError, WaitPolicy, describe
from runbook.context import Context
from runbook.report import Report

FLOOR = int(RUNNING_TASKS.value)
CERT_WARNING_DAYS = int(THRESHOLDS["certificate-expiry"].value)


def _health_url(text: str) -> str:
    """--url: checked before anything runs, so no command changes something and then fails on it."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() or not c.isprintable() for c in text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an http(s) URL (no spaces or control characters); e.g. https://api.contractorlens.com/health"
        )
    try:
        parts.port  # noqa: B018 - a port that is not a number raises here, not after a command has acted
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: the port is not a number from 0 to 65535") from None
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


Options = Callable[[argparse.ArgumentParser], None]


def _no_options(parser: argparse.ArgumentParser) -> None:
    del parser


def _image_tag_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image-tag", type=_image_tag, help="the release (default: service.image_tag of the config file)")


def _deploy_options(parser: argparse.ArgumentParser) -> None:
    _image_tag_option(parser)
    parser.add_argument(
        release.ALLOW_OLDER,
        action="store_true",
        help="put a release older than the running one in place on purpose (refused without it)",
    )


def _rollback_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to-revision", type=_positive, metavar="N", help="this revision instead of the previous one")


def _scale_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=_count, required=True, metavar="N")
    parser.add_argument("--force", action="store_true", help=f"allow fewer than {FLOOR} tasks in production")


def _logs_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", default="10m", help="how far back: 30s, 10m, 2h, 1d (default: %(default)s)")
    parser.add_argument("--filter", dest="pattern", help="a CloudWatch Logs filter pattern, e.g. FAILED_LOGIN or 'slow query'")
    parser.add_argument("--follow", action="store_true", help="keep printing new events until Ctrl-C (aws logs tail --follow)")


def _source_options(*, required: bool, prefix: str = "") -> Options:
    """--latest | --snapshot ID | --time UTC: where a DR database is restored from."""

    def add(parser: argparse.ArgumentParser) -> None:
        source = parser.add_mutually_exclusive_group(required=required)
        latest = "the replicated backups' latest restorable time" + ("" if required else " (default)")
        source.add_argument("--latest", action="store_true", help=prefix + latest)
        source.add_argument("--snapshot", metavar="ID", help=prefix + "a DB snapshot (id or ARN) in the DR region")
        source.add_argument("--time", metavar="UTC", help=prefix + "a point in time, e.g. 2026-11-27T18:00:00Z")

    return add


def _activate_source(args: argparse.Namespace, dr_region: str) -> RestoreSource | None:
    if not (args.latest or args.snapshot or args.time):
        return None
    return _restore_source(args, dr_region)


def _activate_options(parser: argparse.ArgumentParser) -> None:
    _source_options(required=False, prefix="backups mode: ")(parser)
    parser.add_argument(
        drill.MOVE_TRAFFIC,
        action="store_true",
        help="invert the primary's health check: real users go to the DR copy, and only failback comes back",
    )


def _failback_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("step", choices=failback.STEPS, help="status says which step is next")


def _checklist_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("period", choices=tuple(checklist.CHECKLISTS), help="the manual's list")


def _game_day_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", choices=GAME_DAY_EXPERIMENTS, help="the experiment template to start (README: Game days)")


def _leftovers_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--delete", action="store_true", help="delete them (their logs, images and secrets go)")


def _restore_source(args: argparse.Namespace, dr_region: str) -> RestoreSource:
    text = "latest" if args.latest else f"snapshot:{args.snapshot}" if args.snapshot else f"time:{args.time}"
    return parse_dr_context("active", text, dr_region=dr_region).restore


@dataclass(frozen=True)
class Command:
    """One runbook command, declared once."""

    name: str
    summary: str
    """Its line in `--help`."""
    readme: str
    """Its row in the README's table: the manual's step and what the command checks or changes."""
    run: Callable[[argparse.Namespace, Context], bool]
    """Carries it out; True when everything it checked holds."""
    options: Options = _no_options
    """Adds its own options to its parser."""
    usage: str = ""
    """Its options as the README shows them, e.g. "[--image-tag T]"."""
    url: bool = False
    """Whether it health-checks, and so takes --url."""
    names_its_environment: bool = False
    """The deploy verbs are named after their environment and take no --env."""


def deploy_command(env: str) -> Command:
    """`deploy.sh <environment>`: the manual's "Execute Deployment", one per config file."""
    return Command(
        name=env,
        summary=f"deploy {env}: preflight, cdk deploy of its stacks, wait until stable, health-check",
        readme='"Execute Deployment": refuses a release older than the running one (by version, else by push time) '
        f"unless `{release.ALLOW_OLDER}`; preflight, `npx cdk deploy` of the environment's primary stacks (with the tag), "
        "puts the stack's task revision back in place when a rollback moved the service off it, waits until stable, "
        "checks that every running task runs the revision and the image digest of the tag asked for, health-checks, "
        "then tags the release `deployed-<tag>`; on failure it names the step that failed; the last line says what "
        "runs now. One verb per environment file in `config/`",
        run=lambda args, ctx: service.deploy(ctx, image_tag=args.image_tag, url=args.url, allow_older=args.allow_older),
        options=_deploy_options,
        usage=f"[--image-tag T] [{release.ALLOW_OLDER}]",
        url=True,
        names_its_environment=True,
    )


COMMANDS: tuple[Command, ...] = (
    Command(
        "first-deploy",
        summary="a new account's first deploy: service-linked roles, the stacks in an order that works, the image checked",
        readme='a new account\'s first deploy in an order that works (see "First deploy on a new account"); stops for the '
        "first image; can be run again after any failure",
        run=lambda args, ctx: service.first_deploy(ctx, url=args.url),
        url=True,
    ),
    Command(
        "db-users",
        summary="create the backend's own database role (IAM login, rows only) with a one-off task; safe to run again",
        readme="the backend's own role `contractorlens_app` (`contractorlens_<env>_app` elsewhere) in `contractorlens-db`: IAM authentication only (`rds_iam`), "
        "read and write rows of every table, no DDL. Runs the Data stack's one-off task `contractorlens-db-users` on "
        "cluster `contractorlens-admin` (the master secret goes to that task only) in the app's subnets, waits for it, "
        "and fails with psql's exit code and where its output is; idempotent; Ctrl-C stops the task. `first-deploy` "
        "runs it before the Service stack",
        run=lambda args, ctx: db_users.db_users(ctx),
    ),
    Command(
        "db-password",
        summary="a new master password for contractorlens-db where RDS may not manage it (an environment with a DR region)",
        readme="changes `contractorlens-db`'s master password (README: Database credentials): a new one into the secret "
        "`contractorlens/db-master` as `AWSPENDING`, then onto the instance (waits until available), then the secret's "
        "`AWSCURRENT`, also when interrupted after RDS took it; checks the secret holds it, the instance applied it and the "
        "secret's replica in the DR region is in sync (the DR copies take it from their source). Refuses where RDS manages "
        "the password (staging: it rotates it every 7 days), on a replica, or while the instance is not available",
        run=lambda args, ctx: credentials.change_master_password(ctx),
    ),
    Command(
        "preflight",
        summary="the manual's pre-deployment checklist: /health, database, service steady, image pushed, roles, db-users, no alarm firing",
        readme='"Pre-deployment Checklist": `/health` answers, `contractorlens-db` available, the service steady, the '
        "release image in the repository, the service-linked roles present, `db-users` run once (when the backend logs in "
        "as its own role), and no alarm already in ALARM (ECS would not roll back on one that was firing before the deploy)",
        run=lambda args, ctx: checks.preflight(ctx, args.url, args.image_tag),
        options=_image_tag_option,
        usage="[--image-tag T]",
        url=True,
    ),
    Command(
        "health-check",
        summary=f"/health, running tasks >= desired and >= {FLOOR}, every ALB target healthy, database, alarms",
        readme=f'"Post-deployment Verification": `GET /health` (5 s timeout; unreachable is a failed check), running '
        f"tasks ≥ desired and ≥ {FLOOR}, every ALB target healthy, database available, alarms in ALARM listed",
        run=lambda args, ctx: checks.health_check(ctx, args.url),
        usage="[--url U]",
        url=True,
    ),
    Command(
        "rollback",
        summary="put the service back on the previous ACTIVE task revision (or --to-revision N), wait, health-check",
        readme='"Emergency Rollback": the previous ACTIVE revision of task family `contractorlens` (or N; the stacks '
        "retain replaced revisions, see below); refuses when there is none; records from/to in SSM "
        "`/contractorlens/<env>/runbook/last-rollback`; waits, checks that every running task runs that revision and "
        "the digest of its API image, health-checks, tags that release `deployed-<tag>` once healthy, and says which "
        "`service.image_tag` (the API container's) to put in the config so the next deploy does not bring the bad "
        "release back",
        run=lambda args, ctx: service.rollback(ctx, to_revision=args.to_revision, url=args.url),
        options=_rollback_options,
        usage="[--to-revision N]",
        url=True,
    ),
    Command(
        "scale",
        summary=f"set the service's desired count (--count N); below {FLOOR} in production only with --force",
        readme=f'"Mitigation Actions": the desired count (below {FLOOR} in production only with `--force`; a warning '
        "when it is outside the autoscaling range); waits until stable and checks the tasks run the release",
        run=lambda args, ctx: service.scale(ctx, count=args.count, force=args.force),
        options=_scale_options,
        usage="--count N [--force]",
    ),
    Command(
        "restart",
        summary="force a new deployment of the service, wait until stable, health-check",
        readme='"Mitigation Actions": a forced new deployment; waits until stable, checks the new tasks run the same '
        "release (revision and digest), health-checks",
        run=lambda args, ctx: service.restart(ctx, url=args.url),
        url=True,
    ),
    Command(
        "logs",
        summary="the manual's log tail and searches: --since 10m, --filter FAILED_LOGIN|'slow query'|...",
        readme="`aws logs tail /ecs/contractorlens [--follow]` and the manual's searches: `FAILED_LOGIN`, `slow query`, "
        "`GeminiAPI ERROR`, `connection pool` (phrases are quoted for you); `--follow` prints new events until Ctrl-C",
        run=lambda args, ctx: security.logs(ctx, since=args.since, pattern=args.pattern, follow=args.follow),
        options=_logs_options,
        usage="[--since 10m] [--filter PATTERN] [--follow]",
    ),
    Command(
        "backups",
        summary="snapshots, automated backups and AWS Backup vaults in both regions, the RPO they give now, the last restore test",
        readme='"Backup: Ensure recent backups are available": snapshots and automated backups in the primary and DR '
        f"regions, the latest restorable time in each, and the RPO that gives now against the manual's {RPO_DATABASE_MINUTES} minutes; "
        "each AWS Backup vault's lock and newest recovery point (one a day is due); the last monthly restore test, its "
        f"status and how long the restore took, against the manual's {RTO_DATABASE_MINUTES // 60}-hour database RTO",
        run=lambda args, ctx: recovery.backups(ctx),
    ),
    Command(
        "dr-restore",
        summary="restore contractorlens-db-restored in the DR region: --latest | --snapshot ID | --time UTC",
        readme='"Database Recovery": restores `contractorlens-db-restored` in the DR region into the DR stack\'s subnet '
        "and parameter groups and `contractorlens-db-sg`, keeping the master password its backups hold (the master "
        "secret's replica there opens it: README, Database credentials); never touches an "
        "existing instance; prints the endpoint and how long it took",
        run=lambda args, ctx: recovery.dr_restore(ctx, _restore_source(args, ctx.cfg.dr_region)),
        options=_source_options(required=True),
        usage="--latest \\| --snapshot ID \\| --time UTC",
    ),
    Command(
        "dr-activate",
        summary="the DR stack to active: the replica promoted (or the backups restored), the service at the production floor",
        readme='"Cross-Region Recovery": `npx cdk deploy` of the DR stack with `-c dr-mode=active`: the replica promoted in '
        "place (backups mode: restored from `--latest`, `--snapshot ID` or `--time UTC`), the service at the production "
        "floor, waits until it is stable, checks the DR copy's `/health` through the DR load balancer's own name (DNS "
        f"unchanged: a drill moves no real user); `{drill.MOVE_TRAFFIC}` also inverts the primary's health check, so that "
        "real users go to the DR copy (then only `failback` comes back); refuses a different restore source on an "
        "active stack, with the way to switch",
        run=lambda args, ctx: drill.dr_activate(
            ctx, restore=_activate_source(args, ctx.cfg.dr_region), url=args.url, move_traffic=args.move_traffic
        ),
        options=_activate_options,
        usage=f"[--latest \\| --snapshot ID \\| --time UTC] [{drill.MOVE_TRAFFIC}] [--url U]",
        url=True,
    ),
    Command(
        "dr-standby",
        summary="the DR stack back to standby: a final snapshot of the DR database (printed), then a new replica",
        readme="back from a drill that moved no real user (refused, naming `failback`, while the primary's health check is "
        f"inverted or after `{drill.MOVE_TRAFFIC}`): a final snapshot of the DR database (its identifier printed), its deletion protection "
        "off, the stack lets it go (`-c dr-mode=released`) and, in replica mode, creates a new replica; refuses while "
        "`contractorlens-db` is not available (after a real failover: Failback); picks up where it stopped when run again; "
        "after a change of `dr.database`, puts the standby in the new mode (dr-activate refuses until then)",
        run=lambda args, ctx: drill.dr_standby(ctx),
    ),
    Command(
        "failback",
        summary="after a real failover, the data back to the primary region: status | hold | replicate | switchover | finish",
        readme="after a real failover, the primary region takes the data back without losing a write (see Failback): "
        "`hold` keeps DNS on the DR region; `replicate` puts the stale `contractorlens-db` aside (its backups no longer copied into the DR region) and makes it a read "
        "replica of the DR database; `switchover` stops the DR service, waits for lag 0 and promotes it; `finish` "
        "returns DNS and puts the DR region in standby with a fresh replica. `status` names the next step; a step out "
        "of order is refused with one line; each picks up where it stopped",
        run=lambda args, ctx: failback.STEP_FUNCTIONS[args.step](ctx, service.run_command),
        options=_failback_options,
        usage="status\\|hold\\|replicate\\|switchover\\|finish",
    ),
    Command(
        "dr-readiness",
        summary="is the DR region ready now: RPO, the release there, the Gemini key replica, certificate, health check",
        readme="is the DR region ready to take over now: the DR stack in standby; the replica's lag (backups mode: the "
        "replicated backups' latest restorable time) within the manual's 15-minute RPO; the primary's running release "
        "in the DR repository and the standby task definition on it; the Gemini key's replica `InSync`; the DR "
        "certificate issued; the primary's health check and its alarm present. Exit 1 names each item that fails",
        run=lambda args, ctx: readiness.dr_readiness(ctx),
    ),
    Command(
        "certs",
        summary=f"ACM certificates expired, pending validation, or expiring within {CERT_WARNING_DAYS} days",
        readme=f'"Certificate Management": certificates expired, pending validation, or expiring within '
        f"{CERT_WARNING_DAYS} days, in both regions",
        run=lambda args, ctx: security.certs(ctx),
    ),
    Command(
        "security-review",
        summary="security groups open to the internet beyond the ALB's 80/443 in and the app's 443 out; KMS keys not enabled; "
        "FAILED_LOGIN count, last 24 h",
        readme="\"Security Monitoring\": the environment's security groups (found by `group-name` filter; the manual's "
        "`--group-names` works only in a default VPC) open to `0.0.0.0/0` or `::/0`, in or out, anywhere but the ALB's 80/443 in "
        "and the app's HTTPS out (EC2's default allow-all egress included); "
        "every KMS key of the stacks enabled (one pending deletion fails, with its `aws kms cancel-key-deletion`); "
        "and the `FAILED_LOGIN` count of the last 24 h",
        run=lambda args, ctx: security.security_review(ctx),
    ),
    Command(
        "checklist",
        summary="the manual's maintenance list: daily | weekly | monthly | quarterly, each item checked or a human step",
        readme='"Maintenance Tasks": every line of the manual\'s daily, weekly, monthly or quarterly list, checked against AWS '
        "(pass or fail) or listed as a human step (`todo`) with the dashboard or the command to look at; exit 1 when an "
        "item fails (see Maintenance)",
        run=lambda args, ctx: checklist.run(ctx, args.period, args.url),
        options=_checklist_options,
        usage="daily\\|weekly\\|monthly\\|quarterly",
        url=True,
    ),
    Command(
        "game-day",
        summary="start a Fault Injection Service experiment (task-loss | db-failover | az-outage) and watch the recovery",
        readme="the quarterly game days (see Game days): from a steady service only, starts the Monitoring stack's FIS "
        "experiment (half the API tasks stopped; a forced Multi-AZ failover; one zone's subnets cut off), prints each "
        "change of health, tasks, targets, database and alarms, and holds the time until the service is steady again "
        f"against the manual's RTO ({RTO_APPLICATION_MINUTES} min for the application, {RTO_DATABASE_MINUTES // 60} h for "
        "the database); names the alarms that fired; any alarm that pages stops the experiment; Ctrl-C or the RTO passing "
        "stops it too; the result goes to SSM `/contractorlens/<env>/runbook/game-day/<experiment>`",
        run=lambda args, ctx: game_day.game_day(ctx, args.experiment, args.url),
        options=_game_day_options,
        usage="task-loss\\|db-failover\\|az-outage",
        url=True,
    ),
    Command(
        "leftovers",
        summary="what a cdk destroy kept that is in the way of deploying again (--delete deletes it; not in production)",
        readme="what a `cdk destroy` kept (log groups, the repository, secrets, backup vaults, in both regions) that is "
        "in the way of deploying the environment again; `--delete` deletes them (a locked vault's recovery points "
        "only once they expire), never in production",
        run=lambda args, ctx: service.leftovers(ctx, delete=args.delete),
        options=_leftovers_options,
        usage="[--delete]",
    ),
)


def all_commands() -> list[Command]:
    """The deploy verb of every environment, then the manual's procedures."""
    return [*(deploy_command(env) for env in available_environments()), *COMMANDS]


def markdown_table() -> str:
    """The README's table of commands, from the declarations (a test keeps the README in step)."""
    rows = ["| command | what it does (the manual's step) |", "|---|---|"]
    environments = available_environments()
    for command in all_commands():
        if command.names_its_environment and command.name != environments[0]:
            continue  # one row for the deploy verbs
        name = "<environment>" if command.names_its_environment else command.name
        usage = f"./scripts/deploy.sh {name} {command.usage}".rstrip()
        rows.append(f"| `{usage}` | {command.readme} |")
    return "\n".join(rows) + "\n"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


class _TopLevel(_Parser):
    """The top-level --help: every command on one line of its own."""

    commands: Sequence[Command] = ()

    def format_help(self) -> str:
        width = max(len(command.name) for command in self.commands) + 2
        rows = "\n".join(f"  {command.name.ljust(width)}{command.summary}" for command in self.commands)
        return (
            f"usage: {self.prog} <command> [options]   ({self.prog} <command> --help for its options)\n\n"
            f"{self.description}\n\ncommands:\n{rows}\n"
        )


def build_parser() -> _TopLevel:
    # Parents' actions are shared by every child parser, so the deploy verbs, which name their
    # environment, get a parent without --env rather than a changed default.
    base = _Parser(add_help=False)
    base.add_argument("--json", action="store_true", help="print one JSON document instead of progress lines")
    base.add_argument("--poll-seconds", type=int, default=15, help="how often to poll AWS while waiting (default: %(default)s)")
    base.add_argument("--timeout-minutes", type=int, default=30, help="how long to wait for AWS at most (default: %(default)s)")
    common = _Parser(add_help=False, parents=[base])
    common.add_argument(
        "--env", default=DEFAULT_ENVIRONMENT, help=f"environment: {', '.join(available_environments())} (default: %(default)s)"
    )
    url = _Parser(add_help=False)
    url.add_argument("--url", type=_health_url, help="the health URL (default: https://api.<domain>/health, or the stack's ApiUrl)")

    parser = _TopLevel(
        prog="deploy.sh",
        description="ContractorLens operations: the manual's procedures. Every command takes --env "
        f"(default {DEFAULT_ENVIRONMENT}) and --json; 'deploy.sh <environment>' deploys that environment.",
    )
    parser.commands = all_commands()
    verbs = parser.add_subparsers(dest="command", metavar="command", parser_class=_Parser, required=True)
    for command in parser.commands:
        parents = [base if command.names_its_environment else common, *([url] if command.url else [])]
        sub = verbs.add_parser(command.name, parents=parents, help=command.summary)
        command.options(sub)
        sub.set_defaults(declared=command, **({"env": command.name} if command.names_its_environment else {}))
    return parser


def main(argv: Sequence[str] | None = None, aws: Aws | None = None) -> int:
    """Run one command; `aws` lets tests hand in a session whose clients they stub."""
    try:
        return _main(argv, aws)
    except BrokenPipeError:  # `deploy.sh logs | head`: the reader left; nothing more to say
        return _reader_gone()


def _main(argv: Sequence[str] | None, aws: Aws | None) -> int:
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
        if region not in (cfg.region, cfg.dr_region):
            raise RunbookError(
                f"AWS_REGION={region}: {cfg.name} runs in {cfg.region} and fails over to {cfg.dr_region}; "
                "set AWS_REGION to one of them, or unset it"
            )
        report.say(f"{args.command} · {cfg.name} · {region}")
        ctx = Context(cfg=cfg, aws=aws or Aws(), report=report, wait=WaitPolicy(args.poll_seconds, args.timeout_minutes), region=region)
        args.declared.run(args, ctx)
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


def _reader_gone() -> int:
    """stdout's reader closed the pipe: point stdout at /dev/null, so that Python's own flush at exit
    does not fail too, and exit as a process killed by SIGPIPE would (128 + 13)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141
