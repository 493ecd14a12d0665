"""Exact distribution-free intervals for percentiles (medians, 90th percentiles) of small or large samples.

For the p-quantile ξ of a continuous distribution and n sorted draws x_(1) ≤ … ≤ x_(n), the number B of
draws below ξ is Binomial(n, p), so ``P(x_(l) ≤ ξ < x_(u)) = P(l ≤ B ≤ u − 1)`` exactly, whatever the
distribution (Conover, *Practical Nonparametric Statistics*, 3rd ed., §3.2). The ranks are taken from the
binomial quantiles with at most (1 − level)/2 in each tail, so the interval covers with at least ``level``.
When no rank can give the bound (a 95% upper bound of a 90th percentile needs n ≥ 36) the sample is too
small to say: the estimate is withheld ("too few (n = …) to estimate"), never a normal approximation that
pretends to 95% and covers 40% of the time at n = 5.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import numpy as np

from workbench.stats.result import Estimate

#: Method key of these intervals (``method.order_statistic``).
METHOD = "order_statistic"


def order_statistic_ranks(n: int, p: float, level: float = 0.95) -> tuple[int, int] | None:
    """1-based ranks ``(l, u)`` with ``P(x_(l) ≤ ξ_p ≤ x_(u)) ≥ level``, equal tails; None when n is too small."""
    from scipy.stats import binom

    if n < 1:
        return None
    a = (1 - level) / 2
    low = int(binom.ppf(a, n, p))            # smallest k with P(B ≤ k) ≥ a, so P(B ≤ k − 1) < a
    if binom.cdf(low, n, p) < a:             # guard against floating-point edge
        low += 1
    high = int(binom.ppf(1 - a, n, p)) + 1   # P(B ≥ high) ≤ a
    if low < 1 or high > n:
        return None
    return low, high


@lru_cache(maxsize=64)
def min_n_for_quantile(p: float, level: float = 0.95) -> int:
    """Fewest observations for which :func:`order_statistic_ranks` gives both bounds (e.g. 36 for p90 at 95%)."""
    n = 1
    while order_statistic_ranks(n, p, level) is None:
        n += 1
        if n > 100_000:
            raise ValueError(f"no sample size gives a {level:.0%} interval for the {p} quantile")
    return n


def quantile_estimate(values: Sequence[float], p: float, level: float = 0.95, unit: str = "number",
                      bounds: tuple[float, float] | None = None) -> Estimate:
    """The ``p`` quantile of ``values`` (x_(⌈np⌉)) with its exact order-statistic interval at ``level``.

    NaN values are dropped. Below :func:`min_n_for_quantile` the Estimate is "too few" (its ``min_n``
    says how many it needs). Returns an :class:`Estimate` with ``method="order_statistic"``.
    """
    x = np.sort(np.asarray(values, dtype=float))
    x = x[np.isfinite(x)]
    n = len(x)
    need = min_n_for_quantile(p, level)
    if n == 0:
        return Estimate(math.nan, n=0, level=level, method=METHOD, unit=unit, bounds=bounds, min_n=need)
    point = float(x[max(1, math.ceil(n * p)) - 1])
    ranks = order_statistic_ranks(n, p, level)
    if ranks is None:
        return Estimate(point, n=n, level=level, method=METHOD, unit=unit, bounds=bounds, min_n=need)
    return Estimate(point, float(x[ranks[0] - 1]), float(x[ranks[1] - 1]), level=level, n=n, method=METHOD,
                    unit=unit, bounds=bounds, min_n=need)
