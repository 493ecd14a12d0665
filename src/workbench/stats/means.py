"""Means and totals of independent units with Student-t intervals, as Estimates."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from workbench.stats.result import Estimate


def _half(x: np.ndarray, level: float) -> float:
    from scipy.stats import t

    n = len(x)
    if n < 2:
        return math.nan
    return float(t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))


def mean_t(values: Sequence[float], level: float = 0.95, unit: str = "number", min_n: int = 2,
           bounds: tuple[float, float] | None = None) -> Estimate:
    """The mean of ``values`` (one per unit) with a t interval at ``level``; n = the units."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return Estimate(math.nan, n=0, method="t", unit=unit, level=level, min_n=min_n, bounds=bounds)
    m, h = float(x.mean()), _half(x, level)
    return Estimate(m, m - h, m + h, level=level, n=len(x), method="t", unit=unit, min_n=min_n, bounds=bounds)


def total_t(values: Sequence[float], level: float = 0.95, unit: str = "money", min_n: int = 2) -> Estimate:
    """The sum of ``values`` (one per unit, e.g. a daily lift) with a t interval: n × the mean's interval."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return Estimate(math.nan, n=0, method="t-total", unit=unit, level=level, min_n=min_n)
    s, h = float(x.sum()), _half(x, level) * n
    return Estimate(s, s - h, s + h, level=level, n=n, method="t-total", unit=unit, min_n=min_n)


def t_bounds(mean: Sequence[float], sd: Sequence[float], n: Sequence[float],
             level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise t intervals ``mean ± t(n−1) sd / √n`` for columns of means (NaN where n < 2 or sd missing)."""
    from scipy.stats import t

    m, s, k = (np.asarray(a, dtype=float) for a in (mean, sd, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        half = t.ppf(0.5 + level / 2, np.clip(k - 1, 1, None)) * s / np.sqrt(k)
    half = np.where(k >= 2, half, np.nan)
    return m - half, m + half


def random_walk_change(before: Sequence[float], after: Sequence[float], daily_vol: float, days: float,
                       level: float = 0.95, unit: str = "change", min_days: int = 2) -> Estimate:
    """Relative change of the mean level between two windows, its interval from a random walk.

    The log ratio's spread over ``days`` days of steps with standard deviation ``daily_vol``
    (e.g. a currency's daily log change measured outside the gap) gives the interval; n is the
    values of both windows. With fewer than ``min_days`` values in either window the Estimate reads
    "too few" (its n is then the smaller window's); a non-positive mean gives no change (NaN), and
    an unknown ``daily_vol`` no interval.
    """
    from scipy.stats import norm

    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    b, a = b[np.isfinite(b)], a[np.isfinite(a)]
    if min(len(a), len(b)) < min_days:
        return Estimate(math.nan, n=min(len(a), len(b)), method="random-walk", unit=unit, level=level,
                        min_n=min_days)
    if not (b.mean() > 0 and a.mean() > 0):
        return Estimate(math.nan, n=len(a) + len(b), method="random-walk", unit=unit, level=level, min_n=min_days)
    change = float(a.mean() / b.mean() - 1)
    vol = float(daily_vol) if daily_vol is not None else math.nan
    if not (math.isfinite(vol) and vol >= 0):
        return Estimate(change, n=len(a) + len(b), method="random-walk", unit=unit, level=level, min_n=min_days)
    half = float(norm.ppf(0.5 + level / 2)) * vol * math.sqrt(max(days, 1))
    return Estimate(change, math.expm1(math.log1p(change) - half), math.expm1(math.log1p(change) + half),
                    level=level, n=len(a) + len(b), method="random-walk", unit=unit, min_n=min_days)
