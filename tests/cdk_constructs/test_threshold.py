"""cdk_constructs/threshold.py: the vocabulary of a threshold."""

from __future__ import annotations

from cdk_constructs.threshold import Comparison, MissingData, Statistic, Threshold
from tests.cdk_constructs.conftest import threshold


def _threshold(comparison: Comparison) -> Threshold:
    return threshold(value=2.5, unit="seconds", comparison=comparison)


def test_the_condition_reads_as_the_manual_writes_it() -> None:
    assert _threshold(Comparison.AT_OR_ABOVE).condition == ">= 2.5 seconds"


def test_an_anomaly_band_is_not_a_line_to_draw() -> None:
    assert _threshold(Comparison.ABOVE).drawable
    assert not _threshold(Comparison.OUTSIDE_BAND).drawable


def test_the_enums_carry_cloudwatchs_spelling() -> None:
    assert (Statistic.P95.value, MissingData.NOT_BREACHING.value) == ("p95", "notBreaching")
