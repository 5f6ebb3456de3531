"""A CloudWatch dashboard of graphs, each with the threshold lines of the alarms on what it shows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from cdk_constructs.threshold import Severity, Threshold

WIDTH = 6  # four graphs per row of the 24-unit grid
_COLOURS = {Severity.CRITICAL: "#d62728", Severity.WARNING: "#ff7f0e"}


@dataclass(frozen=True)
class Graph:
    """One graph: its title, what it plots, and the thresholds drawn across it (by alarm key)."""

    title: str
    metrics: Sequence[cloudwatch.IMetric]
    lines: Mapping[str, Threshold] = field(default_factory=dict)


def threshold_line(key: str, threshold: Threshold) -> cloudwatch.HorizontalAnnotation:
    """`threshold` drawn across a graph, labelled with its alarm key and coloured by severity."""
    return cloudwatch.HorizontalAnnotation(
        value=threshold.value,
        label=f"{key} {threshold.condition} ({threshold.severity.value})",
        color=_COLOURS[threshold.severity],
    )


class OperationsDashboard(Construct):
    """An alarm-status row, then the graphs four to a row, in the order given."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dashboard_name: str,
        graphs: Sequence[Graph],
        alarms: Sequence[cloudwatch.IAlarm],
    ) -> None:
        """
        :param dashboard_name: the dashboard's name (the manual's "ContractorLens").
        :param graphs: in reading order.
        :param alarms: shown in the alarm-status widget at the top.
        """
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=dashboard_name)
        self.dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=24, height=4))
        widgets = [
            cloudwatch.GraphWidget(
                title=graph.title,
                left=list(graph.metrics),
                left_annotations=[threshold_line(key, t) for key, t in graph.lines.items() if t.drawable],
                width=WIDTH,
                height=6,
            )
            for graph in graphs
        ]
        for row in range(0, len(widgets), 24 // WIDTH):
            self.dashboard.add_widgets(*widgets[row : row + 24 // WIDTH])
