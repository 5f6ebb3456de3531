"""`-c dr-mode=…` and `-c dr-restore=…`: what the DR stack is asked to be, validated like config."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

# standby: the pilot light (and, in replica mode, the read replica). active: a running copy on the
# promoted replica or a restore. released: standby without a DR database, the step between active
# and standby that `./scripts/deploy.sh dr-standby` deploys once the final snapshot is taken (a
# promoted instance cannot become a replica again: it is let go, and a new replica is created).
MODES = ("standby", "active", "released")
RESTORE_FORMS = "latest, snapshot:<snapshot id or ARN>, time:<ISO-8601 UTC, e.g. 2026-11-27T18:00:00Z>"


class DrContextError(ValueError):
    """A bad dr-mode or dr-restore; the message is the one line to print."""


@dataclass(frozen=True)
class RestoreSource:
    """Where an active DR stack's database comes from."""

    kind: str
    """"latest" (latest restorable time of the replicated backups), "snapshot" or "time"."""
    value: str = ""
    """The snapshot id or ARN, or the UTC time as YYYY-MM-DDTHH:MM:SSZ."""

    @property
    def context_value(self) -> str:
        """As `-c dr-restore=` takes it: latest, snapshot:<id>, time:<UTC>."""
        return self.kind if self.kind == "latest" else f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class DrSettings:
    mode: str = "standby"
    """"standby": pilot light, no tasks (and the replica, in replica mode). "active": the promoted
    replica or a restored database, and the running service. "released": standby without a database."""
    restore: RestoreSource = RestoreSource("latest")

    @property
    def active(self) -> bool:
        return self.mode == "active"


def parse_dr_context(mode: object, restore: object, *, dr_region: str, without_dr_stack: str = "", replica: bool = False) -> DrSettings:
    """Validate the two context values (None when not given). `without_dr_stack` says why the
    environment has no DR stack, when it has none: then neither key is allowed. With `replica`
    (dr.database = "replica") active promotes the replica, so there is nothing to restore from."""
    if without_dr_stack and (mode is not None or restore is not None):
        key, value = ("dr-mode", mode) if mode is not None else ("dr-restore", restore)
        raise DrContextError(f"-c {key} = {value!r}: {without_dr_stack}; drop -c {key}")
    if mode is None:
        mode = "standby"
    if mode not in MODES:
        raise DrContextError(f"-c dr-mode = {mode!r}: allowed are {', '.join(MODES)}")
    if restore is None:
        return DrSettings(mode=str(mode))
    if mode != "active":
        raise DrContextError(f"-c dr-restore = {restore!r}: only applies with -c dr-mode=active")
    if replica:
        raise DrContextError(
            f'-c dr-restore = {restore!r}: dr.database is "replica", so active promotes the replica and restores nothing; '
            "drop -c dr-restore (a separate restore is ./scripts/deploy.sh dr-restore)"
        )
    return DrSettings(mode="active", restore=_restore(str(restore), dr_region))


def _restore(text: str, dr_region: str) -> RestoreSource:
    kind, _, value = text.partition(":")
    if text == "latest":
        return RestoreSource("latest")
    if kind == "snapshot" and value:
        arn = re.fullmatch(r"arn:aws[a-z-]*:rds:([a-z0-9-]+):\d{12}:snapshot:(rds:)?[a-zA-Z][a-zA-Z0-9-]{0,254}", value)
        if arn:
            if arn.group(1) != dr_region:
                raise DrContextError(
                    f"-c dr-restore = {text!r}: the snapshot is in {arn.group(1)}; restore from a snapshot in "
                    f"{dr_region} (copy it there first: aws rds copy-db-snapshot)"
                )
            return RestoreSource("snapshot", value)
        if re.fullmatch(r"(rds:)?[a-zA-Z][a-zA-Z0-9-]{0,254}", value) and "--" not in value:
            return RestoreSource("snapshot", value)
        raise DrContextError(f"-c dr-restore = {text!r}: {value!r} is not a DB snapshot identifier or ARN")
    if kind == "time" and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is None or moment.utcoffset() != timedelta(0):
            raise DrContextError(f"-c dr-restore = {text!r}: expected a UTC time such as time:2026-11-27T18:00:00Z")
        return RestoreSource("time", moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    raise DrContextError(f"-c dr-restore = {text!r}: allowed are {RESTORE_FORMS}")


# `-c failback=<phase>`: what the Data stack's `Database` is while the primary region takes its
# data back from the DR region (README: Failback; `./scripts/deploy.sh failback` deploys each).
# detached: out of the template (the runbook renamed the stale instance away first, so that the
# name is free and CloudFormation's delete finds nothing). replica: a cross-Region read replica of
# the DR database, named contractorlens-db; the next deploy without the key promotes it in place.
FAILBACK_PHASES = ("detached", "replica")


def parse_failback_context(phase: object, *, without_dr_stack: str = "", created_as: str = "new", source: str = "") -> str | None:
    """Validate `-c failback` (None when not given); `without_dr_stack` as in parse_dr_context.
    A replica is created without create-only properties a new instance has, so the config must
    say so first (`database.created_as` in `source`)."""
    if phase is None:
        return None
    if without_dr_stack:
        raise DrContextError(f"-c failback = {phase!r}: {without_dr_stack}, so there is nothing to fail back from; drop -c failback")
    if phase not in FAILBACK_PHASES:
        raise DrContextError(
            f"-c failback = {phase!r}: allowed are {', '.join(FAILBACK_PHASES)} (the runbook's failback steps deploy them)"
        )
    if phase == "replica" and created_as != "replica":
        raise DrContextError(
            f"-c failback = 'replica': set database.created_as = \"replica\" in {source} first (a replica is created "
            "without MasterUsername and StorageEncrypted, and the template must go on leaving them out)"
        )
    return str(phase)
