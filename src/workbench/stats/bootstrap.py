"""Percentile bootstrap intervals of ratios of sums, resampling whole units (streams, weeks)."""

from __future__ import annotations

import math

import numpy as np


def payback_ratio_interval(gmv: np.ndarray, fee: np.ndarray, rate: float, n_boot: int,
                           rng: np.random.Generator, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of Σgmv / (Σfee + rate × Σgmv), resampling the units.

    ``gmv`` and ``fee`` hold one entry per unit (a livestream, a week of sales); ``rate`` is the
    commission rate. Returns ``(low, high)``; NaN with fewer than two units.
    """
    gmv = np.asarray(gmv, dtype=float)
    fee = np.asarray(fee, dtype=float)
    m = len(gmv)
    if m < 2:
        return math.nan, math.nan
    idx = rng.integers(0, m, size=(n_boot, m))
    g, c = gmv[idx].sum(axis=1), fee[idx].sum(axis=1) + rate * gmv[idx].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(c > 0, g / c, np.nan)
    a = (1 - level) / 2
    return float(np.nanquantile(r, a)), float(np.nanquantile(r, 1 - a))
