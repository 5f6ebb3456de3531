"""What every command works with: the environment, AWS, the report, and how long to wait."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config import EnvironmentConfig
from runbook.aws import Aws, WaitPolicy
from runbook.report import Report


@dataclass
class Context:
    cfg: EnvironmentConfig
    aws: Aws
    report: Report
    wait: WaitPolicy
    region: str
    """Where the service runs now: the config's primary region, or AWS_REGION during a failover."""

    def client(self, service: str, region: str | None = None) -> Any:
        return self.aws.client(service, region or self.region)
