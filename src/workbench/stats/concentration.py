"""Concentration of a total over partners: the Herfindahl–Hirschman index and its interval from resampled days."""

from __future__ import annotations

import numpy as np

from workbench.stats.result import Estimate

#: Days an interval needs (fewer days resample too few distinct totals to mean anything).
MIN_DAYS = 7
#: Units (orders, parcels) behind the shares below which the index is withheld.
MIN_UNITS = 30


def hhi(shares: np.ndarray) -> float:
    """Sum of squared shares (shares are normalised to sum to one); NaN for an empty input."""
    s = np.asarray(shares, dtype=float)
    total = s.sum()
    return float(((s / total) ** 2).sum()) if total > 0 else float("nan")


def hhi_interval(by_day: np.ndarray, level: float = 0.95, n_boot: int = 500, seed: int = 0,
                 min_days: int = MIN_DAYS) -> tuple[float, float]:
    """The HHI's interval at ``level`` by resampling days: ``by_day`` is a days × partners array of weights.

    Each draw takes as many days as there are, with replacement, sums their weights by partner and
    computes the index; the interval is the draws' central quantiles. NaN bounds with fewer than
    ``min_days`` days.
    """
    m = np.asarray(by_day, dtype=float)
    if len(m) < max(min_days, 2):
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    draws = m[rng.integers(0, len(m), size=(n_boot, len(m)))].sum(axis=1)
    sums = draws.sum(axis=1, keepdims=True)
    boot = ((draws / np.where(sums > 0, sums, np.nan)) ** 2).sum(axis=1)
    low, high = np.nanquantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def hhi_estimate(by_day: np.ndarray, units: int, level: float = 0.95, n_boot: int = 500, seed: int = 0,
                 min_units: int = MIN_UNITS, min_days: int = MIN_DAYS) -> Estimate:
    """The HHI of the summed ``by_day`` weights as an Estimate (unit ``score``, within 0–1), n = ``units``
    (orders or parcels behind the weights); "too few" below ``min_units``, no interval below ``min_days`` days."""
    m = np.asarray(by_day, dtype=float)
    value = hhi(m.sum(axis=0)) if m.size else float("nan")
    low, high = hhi_interval(m, level, n_boot, seed, min_days) if m.size else (float("nan"), float("nan"))
    return Estimate(value, low, high, level, int(units), "hhi-bootstrap-days", "score", (0.0, 1.0), min_units)
