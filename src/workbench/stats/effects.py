"""Effects of a treatment (a late delivery) on an outcome (a rating, buying again), with controls.

Frames of one row per unit in, :class:`Effect` out. :func:`regression_effect` is the one estimator
of "what a late delivery does": OLS (a linear probability model for a 0/1 outcome) or a logistic
regression (an odds ratio), heteroskedasticity-robust (HC1) intervals. :func:`floor_thinning_drop`
estimates stars lost per day late allowing for the 1-star floor (maximum likelihood, profile
interval). Both know nothing of where the rows come from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workbench.stats.result import Estimate, ReadsEstimate


@dataclass(frozen=True)
class Effect(ReadsEstimate):
    """An effect: its :class:`Estimate` (``value``), the treated count, the untreated mean, the outcome.

    ``value.method`` is a key: ``ols-hc1``, ``logit-hc1`` (an odds ratio) or ``thinning-ml``.
    ``result`` is the fitted statsmodels results object when there is one.
    """

    outcome: str
    value: Estimate
    n_treated: int
    baseline: float
    result: Any = None

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.value.estimate))


def no_effect(outcome: str, method: str, n: int = 0, unit: str = "number") -> Effect:
    """An effect that could not be estimated (too few rows, no variation): NaN with its n."""
    return Effect(outcome, Estimate(math.nan, n=n, method=method, unit=unit), 0, math.nan)


def design(data: pd.DataFrame, treatment: str, controls: Sequence[str],
           categorical: Sequence[str] = ()) -> pd.DataFrame:
    """Constant, treatment and controls as a float design matrix.

    Categorical controls become dummies (first level dropped); constant columns and controls that
    are exact linear combinations of earlier columns are left out (pivoted QR). An empty frame
    when the treatment itself is collinear with the controls (not identified).
    """
    from scipy.linalg import qr

    parts = [pd.DataFrame({"const": 1.0, treatment: data[treatment].astype(float)}, index=data.index)]
    for c in controls:
        if c not in data or data[c].nunique() < 2:
            continue
        if c in categorical:
            parts.append(pd.get_dummies(data[c].astype(str), prefix=c, drop_first=True, dtype=float))
        else:
            parts.append(data[[c]].astype(float))
    X = pd.concat(parts, axis=1)
    _, r, piv = qr(X.to_numpy(), mode="economic", pivoting=True)
    tol = np.abs(r[0, 0]) * max(X.shape) * np.finfo(float).eps
    rank = int((np.abs(np.diag(r)) > tol).sum())
    keep = sorted(piv[:rank])
    if 1 not in keep:
        return X.iloc[:, :0]
    return X.iloc[:, keep]


def regression_effect(frame: pd.DataFrame, outcome: str, treatment: str, controls: Sequence[str] = (),
                      categorical: Sequence[str] = (), logit: bool = False, level: float = 0.95,
                      min_rows: int = 50, min_treated: int = 10) -> Effect:
    """The effect of ``treatment`` on ``outcome`` adjusted for ``controls``, HC1 interval at ``level``.

    OLS (``method="ols-hc1"``; for a 0/1 outcome a difference in probability) or, with ``logit``, a
    logistic regression whose estimate is the odds ratio (``method="logit-hc1"``). Rows without the
    outcome are left out; fewer than ``min_rows`` rows or ``min_treated`` treated rows give
    :func:`no_effect`.
    """
    import statsmodels.api as sm

    method = "logit-hc1" if logit else "ols-hc1"
    unit = "ratio" if logit else "number"
    data = frame.dropna(subset=[outcome])
    n = len(data)
    if n < min_rows or data[treatment].nunique() < 2 or (data[treatment] > 0).sum() < min_treated:
        return no_effect(outcome, method, n, unit)
    X = design(data, treatment, controls, categorical)
    if X.shape[1] == 0:
        return no_effect(outcome, method, n, unit)
    y = data[outcome].astype(float)
    try:
        fit = (sm.Logit(y, X).fit(disp=0, maxiter=100, cov_type="HC1") if logit
               else sm.OLS(y, X).fit(cov_type="HC1"))
    except Exception:  # noqa: BLE001 - a singular design on a tiny or degenerate sample
        return no_effect(outcome, method, n, unit)
    low, high = fit.conf_int(alpha=1 - level).loc[treatment]
    est = float(fit.params[treatment])
    if logit:
        est, low, high = math.exp(est), math.exp(low), math.exp(high)
        value = Estimate(est, low, high, level, n, method, unit, bounds=(0.0, math.inf))
    else:
        value = Estimate(est, float(low), float(high), level, n, method, unit)
    baseline = float(data.loc[data[treatment] == 0, outcome].mean())
    return Effect(outcome, value, int((data[treatment] > 0).sum()), baseline, fit)


def floor_thinning_drop(days_late: np.ndarray, rating: np.ndarray, damaged: np.ndarray, group: np.ndarray,
                        level: float = 0.95) -> Effect:
    """Stars lost per day late, corrected for the 1-star floor (a thinning model, maximum likelihood).

    Model: rating = max(1, base − drop), drop ~ Binomial(days late, q) (+1 when damaged); base
    ratings follow one distribution per ``group``, estimated jointly with q (EM inside each profile
    evaluation). q's interval is the profile-likelihood one at ``level``. The estimate is −q (stars
    per day late before the floor), ``method="thinning-ml"``, unit ``stars``.
    """
    from scipy import optimize
    from scipy.stats import binom, chi2

    method = "thinning-ml"
    data = pd.DataFrame({"d": np.asarray(days_late).astype(int), "r": np.clip(np.round(rating), 1, 5).astype(int),
                         "g": np.asarray(group).astype(str), "dmg": np.asarray(damaged).astype(int)})
    if (data["d"] > 0).sum() < 20 or ((data["d"] == 0) & (data["dmg"] == 0)).sum() < 50:
        return no_effect("rating", method, len(data), "stars")
    cells = data.groupby(["g", "d", "dmg", "r"]).size().rename("n").reset_index()
    groups = sorted(cells["g"].unique())
    gi = cells["g"].map({g: i for i, g in enumerate(groups)}).to_numpy()
    keys = sorted({(int(d), int(m)) for d, m in zip(cells["d"], cells["dmg"])})
    ki = np.array([keys.index((int(d), int(m))) for d, m in zip(cells["d"], cells["dmg"])])
    r_idx = cells["r"].to_numpy() - 1
    counts = cells["n"].to_numpy(float)
    b = np.arange(1, 6)

    def transitions(q: float) -> np.ndarray:
        out = np.zeros((len(keys), 5, 5))
        for j, (d, m) in enumerate(keys):
            k = np.arange(d + 1)
            pk = binom.pmf(k, d, q)
            after = np.maximum(1, b[:, None] - k[None, :] - m) - 1
            for bi in range(5):
                np.add.at(out[j, bi], after[bi], pk)
        return out

    start = data[(data["d"] == 0) & (data["dmg"] == 0)].groupby("g")["r"].value_counts(normalize=True) \
        .unstack(fill_value=0.0).reindex(index=groups, columns=range(1, 6), fill_value=0.0).to_numpy() + 1e-6

    def profile(q: float) -> float:
        t = transitions(q)[ki, :, r_idx]
        pi = start / start.sum(axis=1, keepdims=True)
        for _ in range(200):
            joint = pi[gi] * t
            cell_p = joint.sum(axis=1)
            post = joint / np.maximum(cell_p, 1e-300)[:, None] * counts[:, None]
            new = np.zeros_like(pi)
            np.add.at(new, gi, post)
            new /= new.sum(axis=1, keepdims=True)
            if np.abs(new - pi).max() < 1e-9:
                pi = new
                break
            pi = new
        return float((counts * np.log(np.maximum((pi[gi] * t).sum(axis=1), 1e-300))).sum())

    res = optimize.minimize_scalar(lambda q: -profile(q), bounds=(1e-4, 1 - 1e-4), method="bounded",
                                   options={"xatol": 1e-5})
    q_hat, best = float(res.x), -float(res.fun)
    cut = chi2.ppf(level, 1) / 2

    def edge(lo: float, hi: float) -> float:
        g = lambda q: best - profile(q) - cut
        try:
            return float(optimize.brentq(g, lo, hi, xtol=1e-5))
        except ValueError:
            return lo if g(lo) < 0 else hi

    low_q, high_q = edge(1e-4, q_hat), edge(q_hat, 1 - 1e-4)
    base_mean = float(data.loc[(data["d"] == 0) & (data["dmg"] == 0), "r"].mean())
    value = Estimate(-q_hat, -high_q, -low_q, level, len(data), method, "stars")
    return Effect("rating", value, int((data["d"] > 0).sum()), base_mean)


#: Controls of the lateness models (one row per delivered order); the first four are categorical.
LATENESS_CATEGORICAL = ("channel", "home", "order_month", "prior_orders_band")
LATENESS_CONTROLS = ("channel", "home", "order_month", "prior_orders_band", "log_gmv", "damaged")


def late_repeat_effect(frame: pd.DataFrame, odds_ratio: bool = False, treatment: str = "late",
                       level: float = 0.95) -> Effect:
    """The one definition of the late-delivery → repeat-purchase effect (logistics and CRM pages alike).

    ``frame`` has one row per delivered order with ``repeat`` (0/1, NaN when the window is not yet
    over), ``late`` and :data:`LATENESS_CONTROLS` (see :func:`workbench.sql.logistics.lateness_orders`).
    A linear probability model (``ols-hc1``, unit ``points``: a difference in the probability of
    buying again) or, with ``odds_ratio``, a logistic regression (``logit-hc1``, an odds ratio).
    """
    effect = regression_effect(frame, "repeat", treatment, LATENESS_CONTROLS, LATENESS_CATEGORICAL,
                               logit=odds_ratio, level=level)
    if odds_ratio:
        return effect
    from dataclasses import replace

    return replace(effect, value=replace(effect.value, unit="points"))
