"""Own-price elasticities of demand from a log-log regression with day fixed effects (arrays in).

:func:`within_day_elasticities` fits log(units_cd) = α_c + β_c · log(price_cd) + δ_d + ε by the
within-day transform (Frisch–Waugh–Lovell: thousands of day dummies cost nothing), with standard
errors clustered by ``clusters`` (weeks) and corrected for the absorbed day effects.
:func:`extreme` says which category is the most (least) price-sensitive, and whether the data tell
it apart from every other category (differences from the joint covariance of the slopes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from workbench.stats.result import Estimate

#: The method key of the elasticity estimates (its note is ``method.elasticity_within_day``).
METHOD = "elasticity_within_day"


@dataclass(frozen=True)
class CategoryElasticity:
    """One category's elasticity: ``value`` (an Estimate, unit ``number``), its ``std_error`` and the
    number of days the category was observed on (``n_days`` = ``value.n``)."""

    category: str
    value: Estimate
    std_error: float
    n_days: int


def within_day_elasticities(category: np.ndarray, day: np.ndarray, log_units: np.ndarray,
                            log_price: np.ndarray, clusters: np.ndarray, min_days: int = 60,
                            level: float = 0.95
                            ) -> tuple[list[CategoryElasticity], object, pd.DataFrame | None]:
    """Per-category price slopes of log units on log price, with day effects absorbed.

    Categories with fewer than ``min_days`` observations or no price variation are left out;
    days holding one category only are dropped (they say nothing within a day). Returns the
    elasticities (empty with fewer than two categories), the statsmodels results object and the
    slopes' joint covariance (a category × category frame, clustered and corrected like the
    standard errors; None without a fit), from which differences between categories are judged.
    """
    import statsmodels.api as sm

    frame = pd.DataFrame({"category": category, "day": day, "y": log_units, "lp": log_price,
                          "cluster": clusters})
    keep = frame.groupby("category")["lp"].agg(["count", "std"])
    cats = sorted(keep[(keep["count"] >= min_days) & (keep["std"] > 1e-6)].index)
    frame = frame[frame["category"].isin(cats)]
    frame = frame[frame.groupby("day")["category"].transform("count") > 1]
    if len(cats) < 2 or frame.empty:
        return [], None, None
    cols = {}
    for c in cats[1:]:
        cols[f"is_{c}"] = (frame["category"] == c).astype(float)
    for c in cats:
        cols[f"lp_{c}"] = np.where(frame["category"] == c, frame["lp"], 0.0)
    x = pd.DataFrame(cols, index=frame.index)
    xd = x - x.groupby(frame["day"]).transform("mean")
    yd = frame["y"] - frame["y"].groupby(frame["day"]).transform("mean")
    groups = pd.factorize(frame["cluster"])[0]
    fit = sm.OLS(yd.to_numpy(), xd.to_numpy()).fit(cov_type="cluster", cov_kwds={"groups": groups})
    n, k, g = len(yd), xd.shape[1], frame["day"].nunique()
    adj = np.sqrt((n - k) / max(n - k - g, 1))  # the day means used up g degrees of freedom
    z = float(sps.norm.ppf(0.5 + level / 2))
    out = []
    idx = [list(x.columns).index(f"lp_{c}") for c in cats]
    cov = pd.DataFrame(np.asarray(fit.cov_params())[np.ix_(idx, idx)] * adj ** 2, index=cats, columns=cats)
    for c in cats:
        j = list(x.columns).index(f"lp_{c}")
        est, se = float(fit.params[j]), float(fit.bse[j]) * adj
        n_days = int((frame["category"] == c).sum())
        out.append(CategoryElasticity(c, Estimate(est, est - z * se, est + z * se, level, n_days, METHOD, "number"),
                                      se, n_days))
    return out, fit, cov


@dataclass(frozen=True)
class Extreme:
    """The most (``which="most"``: lowest elasticity) or least price-sensitive category, and whether it is decided.

    ``category`` has the extreme estimate; ``runner_up`` the next one; ``gap`` (an Estimate) is how far
    the runner-up lies from it (positive: the runner-up is less extreme), with its interval at
    ``level`` from the slopes' joint covariance; ``contenders`` are the categories whose difference
    from ``category`` is not told apart from zero at ``level`` (the extreme category first). ``decided``
    is True when there is none besides it: only then may a page name the category as the extreme.
    """

    which: str
    category: str
    runner_up: str
    gap: Estimate
    contenders: tuple[str, ...]

    @property
    def decided(self) -> bool:
        return len(self.contenders) == 1


def extreme(elasticities: list[CategoryElasticity], covariance: pd.DataFrame | None, which: str = "most",
            level: float = 0.95) -> Extreme | None:
    """The extreme category of ``elasticities`` and which others the data cannot tell apart from it.

    ``which``: ``most`` (the lowest, most negative elasticity) or ``least`` (the highest). Each other
    category c is compared by the difference d_c = ±(β_c − β_x) with se² = V_cc + V_xx − 2 V_cx (the
    joint ``covariance``; without it the slopes are taken as independent); c is a contender when
    the interval of d_c at ``level`` holds 0. Two-sided intervals per pair: a wrongly "decided"
    extreme needs some category's interval to miss on the wrong side, which happens at most
    (1 − level) / 2 of the time. None with fewer than two categories.
    """
    if which not in ("most", "least"):
        raise ValueError(f"which must be 'most' or 'least', got {which!r}")
    if len(elasticities) < 2:
        return None
    sign = 1.0 if which == "most" else -1.0
    ranked = sorted(elasticities, key=lambda e: sign * e.value.estimate)
    top = ranked[0]
    z = float(sps.norm.ppf(0.5 + level / 2))
    gaps = []
    for e in ranked[1:]:
        if covariance is not None and e.category in covariance.index and top.category in covariance.index:
            var = (covariance.loc[e.category, e.category] + covariance.loc[top.category, top.category]
                   - 2 * covariance.loc[e.category, top.category])
        else:
            var = e.std_error ** 2 + top.std_error ** 2
        d = sign * (e.value.estimate - top.value.estimate)
        se = float(np.sqrt(max(var, 0.0)))
        gaps.append((e.category, Estimate(d, d - z * se, d + z * se, level, min(e.n_days, top.n_days),
                                          "difference-covariance", "number")))
    contenders = (top.category,) + tuple(c for c, g in gaps if g.low <= 0.0)
    return Extreme(which, top.category, gaps[0][0], gaps[0][1], contenders)


def constant_elasticity_change(elasticity: Estimate, change: float, gmv: bool = False) -> Estimate:
    """Relative change in units (or GMV with ``gmv``) after a relative price ``change`` at constant elasticity.

    Units scale by (1 + change)^e, GMV by (1 + change)^(1 + e); the bounds follow the elasticity's
    (monotone in e), so the interval is the image of the elasticity's interval.
    """
    f = 1.0 + change
    shift = 1.0 if gmv else 0.0
    at = [f ** (shift + e) - 1 for e in (elasticity.low, elasticity.high)]
    return Estimate(f ** (shift + elasticity.estimate) - 1, min(at), max(at), elasticity.level, elasticity.n,
                    elasticity.method, "change")
