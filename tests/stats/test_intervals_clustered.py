"""Clustered and over-dispersed intervals of issue 13: simulated coverage of the stats layer's estimators."""

from __future__ import annotations

import numpy as np

from seeded_shops import min_covered
from workbench.stats.ratio import clustered_share


def _clustered_days(rng: np.random.Generator, p: float, days: int, per_day: int, spread: float):
    """Daily on-time counts whose daily probability varies around ``p`` (logit-normal, sd ``spread``)."""
    logit = np.log(p / (1 - p)) + rng.normal(0, spread, days)
    n = rng.poisson(per_day, days) + 1
    return rng.binomial(n, 1 / (1 + np.exp(-logit))), n


def test_clustered_share_covers_the_mean_daily_probability_where_wilson_does_not():
    rng = np.random.default_rng(13)
    runs, cover_cl, cover_wilson = 200, 0, 0
    for _ in range(runs):
        k, n = _clustered_days(rng, 0.9, 60, 40, 0.6)
        # the estimand: the expected share given the day sizes, by simulation of the day effect
        truth = float(np.mean([(n / (1 + np.exp(-(np.log(9) + rng.normal(0, 0.6, 60))))).sum() / n.sum()
                               for _ in range(400)]))
        est = clustered_share(k, n)
        cover_cl += est.low <= truth <= est.high
        wl = clustered_share(k.sum(keepdims=True), n.sum(keepdims=True))  # one cluster: plain Wilson
        cover_wilson += wl.low <= truth <= wl.high
        assert est.method == "wilson-clustered" and 0 <= est.low < est.estimate < est.high <= 1
    assert cover_cl >= min_covered(runs), cover_cl
    assert cover_wilson < 0.85 * runs, cover_wilson  # the independent-trials interval is far too narrow here


def test_clustered_share_is_never_narrower_than_wilson_and_handles_edges():
    rng = np.random.default_rng(1)
    n = rng.poisson(30, 50) + 1
    k = rng.binomial(n, 0.8)
    est = clustered_share(k, n)
    wilson = clustered_share([k.sum()], [n.sum()])
    assert est.method == "wilson-clustered" and wilson.method == "wilson"
    assert est.high - est.low >= wilson.high - wilson.low - 1e-12
    all_on_time = clustered_share(n, n)
    assert all_on_time.estimate == 1 and all_on_time.high > 1 - 1e-9 and all_on_time.low < 1
    assert not clustered_share([], []).ok
    assert clustered_share([1, 2], [2, 3]).too_few  # n = 5 < min_n
