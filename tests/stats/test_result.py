"""The result protocol (workbench.stats.result.Estimate)."""

from __future__ import annotations

import math

from statsmodels.stats.proportion import proportion_confint

from workbench.stats import Estimate


def test_a_proportion_carries_its_wilson_interval_level_and_n() -> None:
    e = Estimate.proportion(930, 1000, level=0.9)
    lo, hi = proportion_confint(930, 1000, alpha=0.1, method="wilson")
    assert e.conf_int() == (lo, hi)
    assert (e.estimate, e.n, e.level, e.unit, e.method) == (0.93, 1000, 0.9, "share", "wilson")
    assert e.minus > 0 and e.plus > 0 and e.minus != e.plus  # Wilson intervals are asymmetric


def test_readings_give_the_interval_in_both_languages() -> None:
    e = Estimate.proportion(930, 1000)
    assert e.reading("en") == "93.0% (95% CI 91.2% to 94.4%, n = 1,000)"
    assert e.reading("zh") == "93.0%（95% 置信区间 91.2% 至 94.4%，n = 1,000）"


def test_below_its_minimum_n_an_estimate_says_too_few() -> None:
    e = Estimate.proportion(2, 3)
    assert e.too_few and not e.ok
    assert e.reading("en") == "too few (n = 3) to estimate"
    assert "%" not in e.reading("zh")


def test_intervals_are_clipped_to_the_feasible_range() -> None:
    e = Estimate(0.98, 0.95, 1.03, unit="share", n=50)
    assert e.high == 1.0
    e = Estimate(0.3, -0.2, 0.9, bounds=(-1.0, 1.0), unit="score")
    assert (e.low, e.high) == (-0.2, 0.9)
    e = Estimate(0.9, 0.7, 1.4, bounds=(-1.0, 1.0), unit="score")
    assert e.high == 1.0


def test_scaling_by_a_negative_factor_swaps_the_bounds() -> None:
    e = Estimate(-0.3, -0.5, -0.1, unit="stars").scaled(-1)
    assert (e.estimate, e.low, e.high) == (0.3, 0.1, 0.5)


def test_as_dict_is_the_findings_contract_without_nan() -> None:
    d = Estimate(math.nan, n=0, unit="share").as_dict()
    assert set(d) >= {"estimate", "low", "high", "level", "n", "unit", "method"}
    assert d["estimate"] is None and d["low"] is None


def test_a_forecast_reads_as_a_prediction_interval() -> None:
    e = Estimate(100.0, 80.0, 130.0, n=365, unit="count", kind="prediction")
    assert "预测区间" in e.reading("zh") and "prediction interval" in e.reading("en")
    assert "置信区间" not in e.reading("zh")
