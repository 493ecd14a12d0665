"""Fair comparisons of groups by exact matching on strata (coarsened exact matching, ATT).

Per-stratum sums in, a :class:`MatchedDifference` out: the treated-weighted mean of the
within-stratum differences (the average effect on the treated) with its interval as an
:class:`~workbench.stats.result.Estimate`. Knows nothing of where the strata come from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.stats.result import Estimate


@dataclass(frozen=True)
class MatchedDifference:
    """Treated minus matched controls, averaged over the treated (ATT).

    ``difference`` is the Estimate (value, interval at its level, n = matched treated);
    ``treated_mean`` and ``control_mean`` are the two groups' weighted means; ``n_strata`` the
    strata that held both groups. ``method`` is the key ``exact-matching``.
    """

    outcome: str
    difference: Estimate
    treated_mean: float
    control_mean: float
    n_treated: int
    n_control: int
    n_strata: int
    method: str = "exact-matching"

    @property
    def low(self) -> float:
        return self.difference.low

    @property
    def high(self) -> float:
        return self.difference.high


def matched_difference(strata: pd.DataFrame, outcome: str, unit: str = "number", level: float = 0.95,
                       min_n: int = 10) -> MatchedDifference:
    """Combine per-stratum sums into a matched difference (exact matching on the strata).

    ``strata`` holds one row per (``stratum``, ``treated`` 0/1) with ``n``, ``y_sum`` and ``y_sq``
    (sum of squares) of the outcome. Strata lacking either group are dropped. The difference is
    the treated-weighted mean of within-stratum differences; its variance sums
    w² (s²_t/n_t + s²_c/n_c) (normal interval at ``level``). ``unit`` is the unit of the
    difference (``points`` for a difference of two shares, ``money`` …); with fewer than ``min_n``
    matched treated or matched controls the Estimate reads "too few" (its n then the smaller group's).
    A cell of one observation takes its group's pooled within-cell variance.
    """
    from scipy.stats import norm

    nan = math.nan
    empty = MatchedDifference(outcome, Estimate(nan, n=0, method="exact-matching", unit=unit, level=level,
                                                min_n=min_n), nan, nan, 0, 0, 0)
    if strata.empty:
        return empty
    s = strata.assign(mean=strata["y_sum"] / strata["n"],
                      var=(strata["y_sq"] - strata["y_sum"] ** 2 / strata["n"]) / (strata["n"] - 1).clip(lower=1))
    # a cell of one observation has no variance of its own: it takes its group's pooled within-cell variance
    # (zero would make the interval too narrow)
    several = s[s["n"] > 1]
    pooled = ((several["var"] * (several["n"] - 1)).groupby(several["treated"]).sum()
              / (several["n"] - 1).groupby(several["treated"]).sum())
    s["var"] = s["var"].where(s["n"] > 1, s["treated"].map(pooled))
    wide = s.pivot_table(index="stratum", columns="treated", values=["n", "mean", "var"], aggfunc="first",
                         dropna=False)
    if len(wide.columns) < 6:  # one group absent altogether
        return empty
    wide = wide[(wide[("n", 1)] > 0) & (wide[("n", 0)] > 0)].dropna(subset=[("n", 1), ("n", 0)])
    if wide.empty:
        return empty
    w = wide[("n", 1)] / wide[("n", 1)].sum()
    diff = float((w * (wide[("mean", 1)] - wide[("mean", 0)])).sum())
    n_t, n_c = int(wide[("n", 1)].sum()), int(wide[("n", 0)].sum())
    t_mean, c_mean = float((w * wide[("mean", 1)]).sum()), float((w * wide[("mean", 0)]).sum())
    if min(n_t, n_c) < min_n:  # too few on one side: withheld, n is the smaller group's
        est = Estimate(nan, n=min(n_t, n_c), method="exact-matching", unit=unit, level=level, min_n=min_n)
        return MatchedDifference(outcome, est, t_mean, c_mean, n_t, n_c, len(wide))
    var = float((w ** 2 * (wide[("var", 1)] / wide[("n", 1)] + wide[("var", 0)] / wide[("n", 0)])).sum())
    half = float(norm.ppf(0.5 + level / 2) * np.sqrt(var)) if math.isfinite(var) else nan
    est = Estimate(diff, diff - half, diff + half, level=level, n=n_t, method="exact-matching", unit=unit,
                   min_n=min_n)
    return MatchedDifference(outcome, est, t_mean, c_mean, n_t, n_c, len(wide))
