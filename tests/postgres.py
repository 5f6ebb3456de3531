"""A throwaway PostgreSQL cluster for the tests: the SQL the project runs on RDS runs here on a real
server, not only through a parser. Every machine, CI's included, has PostgreSQL 15 installed
(README: Development); where `initdb`/`pg_ctl` are missing, the tests that need it are skipped
with that reason, never silently.

The server listens on a Unix socket in its own temporary directory only (no TCP port), trusts
local connections, and is stopped and removed after. PostgreSQL refuses to run as root, so as
root the server runs as the `postgres` user that Debian's packages create.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Cluster:
    socket_dir: Path

    def env(self, user: str, database: str) -> dict[str, str]:
        """libpq's environment for a session as `user` in `database` (no password: local trust)."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        return clean | {"PGHOST": str(self.socket_dir), "PGUSER": user, "PGDATABASE": database}

    def run(
        self, argv: Sequence[str], *, user: str, database: str, extra_env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = self.env(user, database) | dict(extra_env or {})
        return subprocess.run(list(argv), env=env, capture_output=True, text=True, timeout=60, check=False)

    def psql(self, sql: str, *, user: str, database: str) -> subprocess.CompletedProcess[str]:
        """One `psql --command`, stopping at the first error: the rows alone, unaligned, no command tags."""
        argv = ["psql", "--no-psqlrc", "--set=ON_ERROR_STOP=1", "--quiet", "--tuples-only", "--no-align", "--command", sql]
        return self.run(argv, user=user, database=database)

    def ok(self, sql: str, *, user: str = "postgres", database: str = "postgres") -> str:
        done = self.psql(sql, user=user, database=database)
        assert done.returncode == 0, f"{user}: {sql}\n{done.stderr}"
        return done.stdout.strip()


def _as_server_user() -> list[str]:
    """The prefix that runs a server program as a user PostgreSQL accepts."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("PostgreSQL refuses to run as root and this machine has no postgres user to run it as")
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    missing = [tool for tool in ("initdb", "pg_ctl", "psql") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"PostgreSQL's {', '.join(missing)} not on PATH: install PostgreSQL 15 (Debian: postgresql-15) to run these tests")
    prefix = _as_server_user()
    root = Path(tempfile.mkdtemp(prefix="contractorlens-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if prefix:
        account = pwd.getpwnam("postgres")
        for path in (root, sockets):
            os.chown(path, account.pw_uid, account.pw_gid)
    log = root / "server.log"
    try:
        _check([*prefix, "initdb", "--pgdata", str(data), "--username", "postgres", "--auth", "trust", "--no-sync", "--encoding", "UTF8"])
        options = f"-c listen_addresses='' -k {sockets} -c fsync=off -c full_page_writes=off"
        _check([*prefix, "pg_ctl", "--pgdata", str(data), "--log", str(log), "--options", options, "--wait", "start"])
        try:
            yield Cluster(sockets)
        finally:
            subprocess.run(
                [*prefix, "pg_ctl", "--pgdata", str(data), "--mode", "immediate", "--wait", "stop"], capture_output=True, check=False
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _check(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}"
