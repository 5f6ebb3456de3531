"""The `ContractorLens` CloudWatch dashboard: each manual metric with its threshold drawn."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from config.thresholds import THRESHOLDS

WIDTH = 6  # four graphs per row of the 24-unit grid

# A graph: its title, what it plots, and the keys of the thresholds drawn on it.
GraphSpec = tuple[str, Sequence[cloudwatch.IMetric], Sequence[str]]


def threshold_line(key: str) -> cloudwatch.HorizontalAnnotation:
    """The table's line for `key`, drawn across a graph."""
    threshold = THRESHOLDS[key]
    return cloudwatch.HorizontalAnnotation(
        value=threshold.value,
        label=f"{key} {threshold.condition} ({threshold.severity.value})",
        color="#d62728" if threshold.severity.value == "critical" else "#ff7f0e",
    )


class OperationsDashboard(Construct):
    """Graphs of the manual's metrics, each with the threshold line of its alarm, and alarm status."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        graphs: Sequence[GraphSpec],
        alarms: Sequence[cloudwatch.IAlarm],
    ) -> None:
        """
        :param dashboard_name: the manual's "ContractorLens" (other environments suffixed).
        :param graphs: (title, metrics, threshold keys drawn on it), in reading order.
        :param alarms: shown in the alarm-status widget at the top.
        """
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=dashboard_name)
        self.dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=24, height=4))
        widgets = [
            cloudwatch.GraphWidget(
                title=title,
                left=list(metrics),
                left_annotations=[threshold_line(key) for key in keys],
                width=WIDTH,
                height=6,
            )
            for title, metrics, keys in graphs
        ]
        for row in range(0, len(widgets), 24 // WIDTH):
            self.dashboard.add_widgets(*widgets[row : row + 24 // WIDTH])
