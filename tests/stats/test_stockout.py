"""Stock-out lost units (issue 13): intervals allow for over-dispersed daily demand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seeded_shops import min_covered
from workbench.stats import stockout


def _product(rng: np.random.Generator, mean: float, dispersion: float, days: int = 120, out=(50, 64)):
    """Daily units with negative-binomial demand (variance = dispersion × mean) and a stock-out window."""
    dates = pd.date_range("2025-01-01", periods=days, freq="D")
    p = 1 / dispersion
    demand = rng.negative_binomial(mean * p / (1 - p), p, days).astype(float)
    oos = np.zeros(days, dtype=bool)
    oos[out[0]:out[1]] = True
    units = np.where(oos, 0.0, demand)
    s = lambda x: pd.Series(x, index=dates)  # noqa: E731
    return s(units), s(oos), s(~oos), s(np.ones(days, dtype=bool)), mean * oos.sum()


def test_lost_units_cover_the_expected_loss_under_over_dispersion():
    rng = np.random.default_rng(4)
    runs, covered, poisson_covered = 300, 0, 0
    for _ in range(runs):
        units, oos, ins, counted, truth = _product(rng, 3.0, 2.5)
        lost = stockout.lost_demand(units, oos, ins, counted)
        lo, hi, total, t_lo, t_hi = stockout.spell_interval(np.array([lost.lost_units]), np.array([lost.lost_var]),
                                                            np.array([lost.stockout_days]))
        covered += t_lo <= truth <= t_hi
        z = 1.959963984540054
        poisson_se = np.sqrt(lost.baseline_units_per_day / lost.n_instock_days) * lost.stockout_days
        poisson_covered += abs(lost.lost_units - truth) <= z * poisson_se
        assert 0 <= t_lo <= total <= t_hi
    assert covered >= min_covered(runs), covered
    assert poisson_covered < 0.9 * runs, poisson_covered  # Poisson noise alone is too narrow here


def test_poisson_demand_keeps_its_poisson_width():
    rng = np.random.default_rng(8)
    widths = []
    for _ in range(50):
        units, oos, ins, counted, _truth = _product(rng, 3.0, 1.0000001)
        lost = stockout.lost_demand(units, oos, ins, counted)
        widths.append(lost.lost_var / (lost.baseline_units_per_day / lost.n_instock_days * lost.stockout_days))
    assert 0.95 < np.median(widths) < 1.4  # the dispersion is floored at 1 and estimated near it
