"""cdk_constructs/dashboard.py: graphs with the threshold lines of their alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_cloudwatch as cloudwatch

from cdk_constructs.dashboard import Graph, OperationsDashboard
from cdk_constructs.threshold import Comparison, Severity, Threshold
from tests.cdk_constructs.conftest import built, one, threshold


def _threshold(value: float, severity: Severity, comparison: Comparison = Comparison.ABOVE) -> Threshold:
    return threshold(value=value, severity=severity, comparison=comparison)


@pytest.fixture(scope="module")
def body() -> dict[str, Any]:
    """Given five graphs, the first with a warning and a critical line and an anomaly band."""

    def build(stack: Stack) -> None:
        metric = cloudwatch.Metric(namespace="App", metric_name="Errors")
        lines = {"errors": _threshold(1, Severity.WARNING), "errors-critical": _threshold(5, Severity.CRITICAL),
                 "band": _threshold(2, Severity.WARNING, Comparison.OUTSIDE_BAND)}  # fmt: skip
        graphs = [Graph("Errors", [metric], lines), *(Graph(f"Graph {i}", [metric]) for i in range(4))]
        OperationsDashboard(stack, "Dashboard", dashboard_name="Ops", graphs=graphs, alarms=[])

    _, template = built(build)
    dashboard = one(template, "AWS::CloudWatch::Dashboard")["Properties"]
    assert dashboard["DashboardName"] == "Ops"
    return json.loads("".join(part if isinstance(part, str) else "0" for part in dashboard["DashboardBody"]["Fn::Join"][1]))


def test_alarm_status_comes_first_across_the_whole_width(body: dict[str, Any]) -> None:
    first = body["widgets"][0]
    assert (first["type"], first["width"], first["y"]) == ("alarm", 24, 0)


def test_graphs_run_four_to_a_row(body: dict[str, Any]) -> None:
    graphs = body["widgets"][1:]
    assert [g["properties"]["title"] for g in graphs] == ["Errors", "Graph 0", "Graph 1", "Graph 2", "Graph 3"]
    assert len({g["y"] for g in graphs[:4]}) == 1 and graphs[4]["y"] > graphs[0]["y"]


def test_lines_are_drawn_coloured_by_severity_and_a_band_is_not(body: dict[str, Any]) -> None:
    lines = body["widgets"][1]["properties"]["annotations"]["horizontal"]
    assert [(line["value"], line["color"], line["label"]) for line in lines] == [
        (1, "#ff7f0e", "errors > 1 percent (warning)"),
        (5, "#d62728", "errors-critical > 5 percent (critical)"),
    ]
