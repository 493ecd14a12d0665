"""Means and totals of independent units with Student-t intervals, as Estimates."""

from __future__ import annotations

import math
from typing import Sequence

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
