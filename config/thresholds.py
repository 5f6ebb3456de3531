"""The operations manual's numbers, each once, with the line it comes from.

Alarms, autoscaling targets, dashboards and the README read this table; nothing else writes
one of these numbers. The manual states what healthy looks like ("< 2 seconds"); an alarm
fires on the opposite, so `comparison` is the alarm's side of the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    """The manual's "Alerting Channels": critical pages, warning is watched closely."""

    CRITICAL = "critical"
    WARNING = "warning"


@dataclass(frozen=True)
class Threshold:
    """One line of the manual turned into an alarm condition."""

    value: float
    """The manual's number, in `unit`."""
    unit: str
    """"seconds", "percent", "count", ..."""
    comparison: str
    """When the alarm fires: ">", ">=", "<" or "<=" against `value`."""
    severity: Severity
    manual: str
    """The manual's words, quoted, with the section they stand in."""
    runbook: str
    """The manual's section an on-call engineer opens when it fires."""


# Monitoring & Alerting > Key Metrics to Monitor > Application Metrics
API_P95_LATENCY = Threshold(
    value=2,
    unit="seconds",
    comparison=">",
    severity=Severity.WARNING,
    manual='Key Metrics to Monitor: "API Response Time: < 2 seconds (95th percentile)"',
    runbook="Troubleshooting Guide > High Response Times",
)
API_ERROR_RATE = Threshold(
    value=1,
    unit="percent",
    comparison=">",
    severity=Severity.WARNING,
    manual='Key Metrics to Monitor: "Error Rate: < 1% of total requests"',
    runbook="Incident Response > Common Incident Types > High Error Rate",
)
RUNNING_TASKS = Threshold(
    value=2,
    unit="count",
    comparison="<",
    severity=Severity.CRITICAL,
    manual='Key Metrics to Monitor: "Active ECS Tasks: >= 2 running tasks"',
    runbook="Incident Response > Common Incident Types > Service Unavailable",
)
# Monitoring & Alerting > Key Metrics to Monitor > Infrastructure Metrics
ECS_CPU = Threshold(
    value=70,
    unit="percent",
    comparison=">",
    severity=Severity.WARNING,
    manual='Key Metrics to Monitor: "ECS CPU/Memory: < 70% utilization"',
    runbook="Incident Response > Mitigation Actions (scale up)",
)
ECS_MEMORY = Threshold(
    value=70,
    unit="percent",
    comparison=">",
    severity=Severity.WARNING,
    manual='Key Metrics to Monitor: "ECS CPU/Memory: < 70% utilization"',
    runbook="Incident Response > Mitigation Actions (scale up)",
)
