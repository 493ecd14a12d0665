"""Concentration of a total over partners: the Herfindahl–Hirschman index and its interval from resampled days."""

from __future__ import annotations

import numpy as np


def hhi(shares: np.ndarray) -> float:
    """Sum of squared shares (shares are normalised to sum to one); NaN for an empty input."""
    s = np.asarray(shares, dtype=float)
    total = s.sum()
    return float(((s / total) ** 2).sum()) if total > 0 else float("nan")


def hhi_interval(by_day: np.ndarray, level: float = 0.95, n_boot: int = 500, seed: int = 0) -> tuple[float, float]:
    """The HHI's interval at ``level`` by resampling days: ``by_day`` is a days × partners array of weights.

    Each draw takes as many days as there are, with replacement, sums their weights by partner and
    computes the index; the interval is the draws' central quantiles. NaN bounds with one day.
    """
    m = np.asarray(by_day, dtype=float)
    if len(m) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    draws = m[rng.integers(0, len(m), size=(n_boot, len(m)))].sum(axis=1)
    sums = draws.sum(axis=1, keepdims=True)
    boot = ((draws / np.where(sums > 0, sums, np.nan)) ** 2).sum(axis=1)
    low, high = np.nanquantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)
