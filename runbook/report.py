"""What a command checked, printed as it goes, and as JSON for machines (`--json`)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    manual: bool = False
    """A human step: what a person looks at or runs; never fails the command."""


@dataclass
class Report:
    """Collects checks; prints each at once unless the output is JSON."""

    command: str
    env: str
    as_json: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    checks: list[Check] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    now: str = ""
    """What runs now, when the command changed the service: the end of its last line."""

    def check(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        if not self.as_json:
            print(f"  {'ok  ' if ok else 'FAIL'}  {name}: {detail}", file=self.out, flush=True)
        return ok

    def manual(self, name: str, detail: str) -> None:
        """A step no check can take: it is listed, with what to look at, and never fails."""
        self.checks.append(Check(name, True, detail, manual=True))
        if not self.as_json:
            print(f"  todo  {name}: {detail}", file=self.out, flush=True)

    def say(self, line: str) -> None:
        """Progress for people; not part of the JSON document."""
        if not self.as_json:
            print(line, file=self.out, flush=True)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def finish(self) -> int:
        if self.as_json:
            document = {
                "command": self.command,
                "env": self.env,
                "ok": self.ok,
                "checks": [check.__dict__ for check in self.checks],
                "data": self.data | ({"now": self.now} if self.now else {}),
            }
            print(json.dumps(document, indent=2, sort_keys=True, default=str), file=self.out)
        else:
            failed = [check.name for check in self.checks if not check.ok]
            outcome = "all checks passed" if not failed else "failed: " + ", ".join(failed)
            print(f"{self.command}: {outcome}" + (f"; now: {self.now}" if self.now else ""), file=self.out)
        return 0 if self.ok else 1
