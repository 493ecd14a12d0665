"""Ratios of sums with intervals that respect clustering (days, customers, livestreams).

A KPI such as average order value, ROAS or a mean rating is ``Σ num / Σ den`` over clusters
(usually days). Treating every order or review as independent understates the error when the
days differ; :func:`clustered_ratio` uses the linearised (delta-method) variance over clusters,
the standard estimator of a ratio in survey sampling (Cochran, *Sampling Techniques*, 3rd ed., §6.3).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from workbench.stats.result import Estimate


def clustered_ratio(num: Sequence[float], den: Sequence[float], n: int | None = None, level: float = 0.95,
                    unit: str = "number", bounds: tuple[float, float] | None = None, min_n: int = 30,
                    min_clusters: int = 5) -> Estimate:
    """``Σ num / Σ den`` with a cluster-robust interval; one entry of ``num``/``den`` per cluster.

    ``n`` is the number of observations behind the ratio (orders, reviews); with fewer than
    ``min_clusters`` clusters that have a denominator the interval is withheld (NaN bounds).
    """
    from scipy.stats import norm, t

    x = np.asarray(num, dtype=float)
    y = np.asarray(den, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y) & (y > 0)
    x, y = x[keep], y[keep]
    total = y.sum()
    n_obs = int(n) if n is not None else int(total)
    if total <= 0:
        return Estimate(math.nan, n=n_obs, method="ratio-clustered", unit=unit, bounds=bounds, level=level,
                        min_n=min_n)
    r = x.sum() / total
    k = len(x)
    if k < min_clusters:
        return Estimate(r, n=n_obs, method="ratio-clustered", unit=unit, bounds=bounds, level=level, min_n=min_n)
    resid = x - r * y
    se = math.sqrt(k / (k - 1) * float((resid ** 2).sum())) / total
    q = t.ppf(0.5 + level / 2, k - 1) if k < 30 else norm.ppf(0.5 + level / 2)
    return Estimate(r, r - q * se, r + q * se, level=level, n=n_obs, method="ratio-clustered", unit=unit,
                    bounds=bounds, min_n=min_n)


def clustered_share(successes: Sequence[float], trials: Sequence[float], level: float = 0.95, min_n: int = 10,
                     min_clusters: int = 5) -> Estimate:
    """A share ``Σ successes / Σ trials`` whose Wilson interval allows for clustering; one entry per cluster.

    The cluster-robust (linearised) variance of the ratio, as in :func:`clustered_ratio`, is divided by
    the binomial variance to give the design effect ``deff`` (floored at 1: clustering is never taken to
    make a share more precise than independent trials). The Wilson interval is then computed on the
    effective number of trials ``n / deff`` (Korn and Graubard, *Survey Methodology* 24, 1998), so it
    stays asymmetric and inside [0, 1]. With fewer than ``min_clusters`` clusters, or a share of exactly
    0 or 1, the plain Wilson interval is returned. Returns an :class:`Estimate` with ``method``
    ``"wilson-clustered"`` (or ``"wilson"``), ``unit="share"`` and ``n`` = Σ trials.
    """
    from statsmodels.stats.proportion import proportion_confint

    x = np.asarray(successes, dtype=float)
    y = np.asarray(trials, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y) & (y > 0)
    x, y = x[keep], y[keep]
    n = float(y.sum())
    if n <= 0:
        return Estimate(math.nan, n=0, method="wilson-clustered", unit="share", level=level, min_n=min_n)
    r = float(x.sum()) / n
    k = len(x)
    if k < min_clusters or r <= 0 or r >= 1:
        return Estimate.proportion(x.sum(), n, level=level, min_n=min_n)
    var_cl = k / (k - 1) * float(((x - r * y) ** 2).sum()) / n ** 2
    deff = max(1.0, var_cl / (r * (1 - r) / n))
    n_eff = n / deff
    lo, hi = proportion_confint(r * n_eff, n_eff, alpha=1 - level, method="wilson")
    return Estimate(r, float(lo), float(hi), level=level, n=int(n), method="wilson-clustered", unit="share",
                    bounds=(0.0, 1.0), min_n=min_n)


def total(value: float, n: int | None, unit: str = "money") -> Estimate:
    """A period total (GMV, orders): a census of the period, reported with its n and no interval."""
    return Estimate(value, n=n, method="total", unit=unit, min_n=0)
