"""The minimum-n audit: every public estimator a page shows, called just below and just above its minimum n.

Below: the Estimate reads "too few (n = …) to estimate" (or, for frame/array estimators, the rows are
marked not estimable / NaN), never a number. Above: a finite estimate inside a finite interval whose
width is sane for the data (not a degenerate point, not astronomically wide). One row of AUDIT per
estimator; the table is the audit, the test walks it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from workbench.stats import concentration, counts, decomposition, matching, means, odds, propensity, quantiles
from workbench.stats import ratio, sentiment
from workbench.stats.result import Estimate

RNG = np.random.default_rng(7)


def _strata(n_t: int, n_c: int, diff: float = 1.0, strata: int = 3, seed: int = 0) -> pd.DataFrame:
    """Per-stratum sums (``stratum``, ``treated``, ``n``, ``y_sum``, ``y_sq``) of normal outcomes, treated shifted by ``diff``."""
    rng = np.random.default_rng(seed)
    rows = []
    for treated, n in ((1, n_t), (0, n_c)):
        y = rng.normal(10 + diff * treated, 2.0, n)
        s = np.arange(n) % strata
        for k in range(strata):
            v = y[s == k]
            if len(v):
                rows.append({"stratum": k, "treated": treated, "n": len(v), "y_sum": v.sum(), "y_sq": (v ** 2).sum()})
    return pd.DataFrame(rows)


def _by_day(days: int, partners: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).gamma(2.0, 50.0, size=(days, partners))


def _auc_data(pos: int, neg: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(pos), np.zeros(neg)]
    return y, y * 0.8 + rng.normal(0, 1, len(y))


@dataclass(frozen=True)
class Row:
    """One estimator of the audit: its name, its minimum n, and the call below / above it."""

    name: str
    min_n: int
    below: Callable[[], Estimate]
    above: Callable[[], Estimate]


x = RNG.normal(100, 15, 400)
AUDIT = [
    Row("Estimate.proportion", 10, lambda: Estimate.proportion(3, 9), lambda: Estimate.proportion(4, 10)),
    Row("means.mean_t", 2, lambda: means.mean_t(x[:1]), lambda: means.mean_t(x[:2])),
    Row("means.total_t", 2, lambda: means.total_t(x[:1]), lambda: means.total_t(x[:2])),
    Row("means.random_walk_change (each window)", 2,
        lambda: means.random_walk_change(x[:1], x[10:40], 0.01, 30),
        lambda: means.random_walk_change(x[:2], x[10:40], 0.01, 30)),
    Row("ratio.clustered_ratio", 30, lambda: ratio.clustered_ratio(x[:6], x[6:12] * 2, n=29),
        lambda: ratio.clustered_ratio(x[:6], x[6:12] * 2, n=30)),
    Row("ratio.clustered_share", 10, lambda: ratio.clustered_share([1, 2, 1, 1, 0], [2, 2, 2, 2, 1]),
        lambda: ratio.clustered_share([1, 2, 1, 1, 0], [2, 2, 2, 2, 2])),
    Row("quantiles.quantile_estimate (p90)", quantiles.min_n_for_quantile(0.9),
        lambda: quantiles.quantile_estimate(x[:quantiles.min_n_for_quantile(0.9) - 1], 0.9),
        lambda: quantiles.quantile_estimate(x[:quantiles.min_n_for_quantile(0.9)], 0.9)),
    Row("sentiment.mean_interval", 10, lambda: sentiment.mean_interval(4.5, 3.0, 9),
        lambda: sentiment.mean_interval(5.0, 3.2, 10)),
    Row("sentiment.net_promoter", 30, lambda: sentiment.net_promoter(10, 5, 29),
        lambda: sentiment.net_promoter(10, 5, 30)),
    Row("sentiment.spearman", 10, lambda: sentiment.spearman(x[:9], x[:9] + RNG.normal(0, 9, 9), np.ones(9)),
        lambda: sentiment.spearman(x[:10], x[:10] + RNG.normal(0, 9, 10), np.ones(10))),
    Row("matching.matched_difference (treated)", 10, lambda: matching.matched_difference(_strata(9, 200), "y").difference,
        lambda: matching.matched_difference(_strata(10, 200), "y").difference),
    Row("matching.matched_difference (controls)", 10,
        lambda: matching.matched_difference(_strata(200, 9), "y").difference,
        lambda: matching.matched_difference(_strata(200, 10), "y").difference),
    Row("concentration.hhi_estimate (units)", concentration.MIN_UNITS,
        lambda: concentration.hhi_estimate(_by_day(30), units=concentration.MIN_UNITS - 1),
        lambda: concentration.hhi_estimate(_by_day(30), units=concentration.MIN_UNITS)),
    Row("propensity.auc (each class)", propensity.MIN_CLASS, lambda: propensity.auc(*_auc_data(9, 300)),
        lambda: propensity.auc(*_auc_data(10, 300))),
    Row("propensity.auc (all)", 100, lambda: propensity.auc(*_auc_data(40, 59)),
        lambda: propensity.auc(*_auc_data(40, 60))),
]


@pytest.mark.parametrize("row", AUDIT, ids=[r.name for r in AUDIT])
def test_below_its_minimum_an_estimator_reads_too_few(row: Row):
    est = row.below()
    assert est.too_few and not est.ok, (row.name, est)
    assert est.n is not None and est.n < row.min_n == est.min_n
    for lang, words in (("en", "too few"), ("zh", "样本过少")):
        text = est.reading(lang)
        assert words in text.lower() and f"{est.n:,}" in text, (row.name, text)
        assert not any(ch.isdigit() for ch in text.replace(f"{est.n:,}", "")), (row.name, text)  # no other number
    assert est.as_dict()["too_few"] is True


@pytest.mark.parametrize("row", AUDIT, ids=[r.name for r in AUDIT])
def test_at_its_minimum_an_estimator_gives_a_sane_interval(row: Row):
    est = row.above()
    assert est.ok and est.n >= max(row.min_n, est.min_n), (row.name, est)
    assert est.has_interval and est.low <= est.estimate <= est.high, (row.name, est)
    assert est.high > est.low, (row.name, est)  # an interval, not a point
    scale = max(abs(est.estimate), 1.0)
    assert est.high - est.low < 1e4 * scale, (row.name, est)  # not the 1e-54 to 1e59 of a failed fit
    if est.bounds is not None:
        assert est.bounds[0] <= est.low and est.high <= est.bounds[1]
    assert "too few" not in est.reading("en").lower()


def test_the_zh_message_is_the_catalogues():
    from workbench.text import catalogue

    assert "样本过少" in catalogue.message("result.too_few", "zh", n="3")


# ----- estimators that return arrays or frames: NaN / not estimable below, sane above ------------------------------
def test_t_bounds_need_two_observations_per_row():
    lo, hi = means.t_bounds([5.0, 5.0, 5.0], [1.0, 1.0, 1.0], [1, 2, 30])
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    assert lo[1] < 5 < hi[1] and lo[2] < 5 < hi[2] and (hi[1] - lo[1]) > (hi[2] - lo[2])


def test_poisson_intervals_are_exact_at_any_count():
    """No minimum is needed: the Garwood interval covers at least its level for every mean, even a count of 0."""
    lo, hi = counts.poisson_interval(np.array([0, 1, 3]))
    assert lo[0] == 0.0 and hi[0] == pytest.approx(3.689, abs=1e-3)  # −ln(0.025)
    assert lo[1] == pytest.approx(0.0253, abs=1e-4) and hi[1] == pytest.approx(5.572, abs=1e-3)
    from scipy.stats import poisson

    for mean in (0.3, 1.0, 2.5, 7.0):
        k = np.arange(0, 60)
        lo, hi = counts.poisson_interval(k)
        assert poisson.pmf(k, mean)[(lo <= mean) & (mean <= hi)].sum() >= 0.95


def test_tail_probabilities_without_a_baseline_are_not_computed():
    """A baseline of no events (mean 0, rate 0) cannot say how unusual a count is: NaN, not a p-value of 0."""
    assert np.isnan(counts.poisson_upper_tail(np.array([1, 5]), 0.0)).all()
    assert np.isnan(counts.binomial_upper_tail(np.array([1, 2]), np.array([10, 10]), 0.0)).all()
    assert np.isnan(counts.binomial_upper_tail(np.array([0]), np.array([0]), 0.1)).all()
    p = counts.binomial_upper_tail(np.array([0, 3]), np.array([10, 10]), 0.1)
    assert p[0] == pytest.approx(1.0) and 0 < p[1] < 0.1


def _satisfaction(n_per_group: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for cat, p in (("a", 0.1), ("b", 0.25), ("c", 0.4)):
        low = rng.binomial(n_per_group, p)
        rows.append({"category": cat, "low": low, "not_low": n_per_group - low})
    return pd.DataFrame(rows)


def test_odds_ratios_below_the_minimum_are_not_estimable():
    tiny = odds.grouped_logit(_satisfaction(8), "low", "not_low", {"category": "a"})
    assert len(tiny) == 2 and not tiny["estimable"].any()
    assert (tiny["n"] < odds.MIN_N).all()
    big = odds.grouped_logit(_satisfaction(400), "low", "not_low", {"category": "a"})
    assert big["estimable"].all() and (big["n"] == 400).all()
    assert ((big["low"] < big["odds_ratio"]) & (big["odds_ratio"] < big["high"])).all()
    assert big.set_index("term").loc["c", "low"] > 1  # 0.4 against 0.1: clearly higher odds
    # a group with no event at all separates the outcome: not estimable, and no traceback
    sep = _satisfaction(400).assign(low=lambda d: d["low"].where(d["category"] != "b", 0))
    sep["not_low"] = 400 - sep["low"]
    out = odds.grouped_logit(sep, "low", "not_low", {"category": "a"}).set_index("term")
    assert not out.loc["b", "estimable"] and out.loc["c", "estimable"]


def test_a_matched_cell_of_one_is_not_taken_as_exact():
    """A stratum holding one treated unit has no variance of its own: it borrows the pooled one, so the interval
    is not narrower than the data allow."""
    s = _strata(60, 300, strata=3)
    one = pd.DataFrame([{"stratum": 9, "treated": 1, "n": 1, "y_sum": 11.0, "y_sq": 121.0},
                        {"stratum": 9, "treated": 0, "n": 1, "y_sum": 10.0, "y_sq": 100.0}])
    md = matching.matched_difference(pd.concat([s, one], ignore_index=True), "y")
    base = matching.matched_difference(s, "y")
    assert md.difference.high - md.difference.low >= 0.95 * (base.difference.high - base.difference.low)
    assert md.n_strata == 4


def test_hhi_without_enough_days_has_no_interval():
    few = concentration.hhi_estimate(_by_day(concentration.MIN_DAYS - 1), units=500)
    assert few.ok and not few.has_interval and "n = 500" in few.reading("en")
    assert all(math.isnan(b) for b in concentration.hhi_interval(_by_day(concentration.MIN_DAYS - 1)))
    ok = concentration.hhi_estimate(_by_day(60), units=500)
    assert ok.has_interval and 0.25 <= ok.low <= ok.estimate <= ok.high <= 0.5  # four partners of similar size


def test_lmdi_is_exact_and_says_nothing_for_a_zero_factor():
    now, before = {"orders": 120.0, "aov": 50.0}, {"orders": 100.0, "aov": 40.0}
    parts = decomposition.lmdi(now, before, 6000.0, 4000.0)
    assert sum(parts.values()) == pytest.approx(2000.0)
    zero = decomposition.lmdi({"orders": 0.0, "aov": 50.0}, before, 0.0, 4000.0)
    assert all(math.isnan(v) for v in zero.values())


def test_random_walk_change_without_a_positive_level_or_a_volatility():
    assert math.isnan(means.random_walk_change([0.0, 0.0], [1.0, 1.0], 0.01, 30).estimate)
    e = means.random_walk_change([1.0, 1.0], [1.1, 1.1], float("nan"), 30)
    assert e.estimate == pytest.approx(0.1) and not e.has_interval
