"""What an alarm threshold is: the value, its side, how datapoints count, and the manual line behind it.

The vocabulary of `cdk_constructs.alarms` and of the project's table of thresholds
(`config/thresholds.py`), which the constructs never read: they get the rows they build. No
aws_cdk import here, so the runbook can read the table without starting jsii.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """The manual's "Alerting Channels": critical is immediate response, warning is monitor closely."""

    CRITICAL = "critical"
    WARNING = "warning"


class Comparison(StrEnum):
    """When an alarm fires, against `Threshold.value`; the value is how the manual writes it."""

    ABOVE = ">"
    AT_OR_ABOVE = ">="
    BELOW = "<"
    AT_OR_BELOW = "<="
    OUTSIDE_BAND = "outside"
    """Outside an anomaly-detection band `value` standard deviations wide."""


class Statistic(StrEnum):
    """How datapoints are aggregated, as CloudWatch spells it."""

    AVERAGE = "Average"
    SUM = "Sum"
    MAXIMUM = "Maximum"
    MINIMUM = "Minimum"
    P95 = "p95"


class MissingData(StrEnum):
    """How a period without data counts, as CloudWatch spells it."""

    NOT_BREACHING = "notBreaching"
    BREACHING = "breaching"
    MISSING = "missing"
    IGNORE = "ignore"


@dataclass(frozen=True)
class Threshold:
    """One line of the manual turned into an alarm condition.

    The manual states what healthy looks like ("< 2 seconds"); an alarm fires on the other side
    of that line, so `comparison` is the alarm's side.
    """

    value: float
    """The number, in `unit`."""
    unit: str
    """What `value` counts: "seconds", "percent", "count", "GiB", "days", "std dev"."""
    comparison: Comparison
    severity: Severity
    manual: str
    """The manual's words, quoted, with the section they stand in."""
    runbook: str
    """The manual's section an on-call engineer opens when it fires."""
    statistic: Statistic
    period_minutes: int
    """Length of one datapoint."""
    evaluation_periods: int
    """Datapoints considered."""
    datapoints_to_alarm: int
    """Of those, how many must breach."""
    missing_data: MissingData
    """Chosen per alarm, see `why_missing`."""
    why_missing: str
    """Why missing data is treated that way."""

    @property
    def condition(self) -> str:
        """e.g. "> 2 seconds", for descriptions and tables."""
        return f"{self.comparison} {self.value:g} {self.unit}"

    @property
    def drawable(self) -> bool:
        """Whether the threshold is a line a graph can draw (an anomaly band is not)."""
        return self.comparison is not Comparison.OUTSIDE_BAND
