"""A purchase-propensity model on arrays: logistic regression, its AUC with an interval and a calibration table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from workbench.stats.result import Estimate

if TYPE_CHECKING:
    import pandas as pd


def fit_logit(x: pd.DataFrame, y: Sequence[int]):
    """A statsmodels logistic regression of ``y`` on the columns of ``x`` with a constant; the fitted results."""
    import statsmodels.api as sm

    return sm.Logit(np.asarray(y), sm.add_constant(x, has_constant="add")).fit(disp=0, maxiter=200)


def predict(result, x: pd.DataFrame) -> np.ndarray:
    """Probabilities of a fitted :func:`fit_logit` model for the rows of ``x``."""
    import statsmodels.api as sm

    return np.asarray(result.predict(sm.add_constant(x, has_constant="add")))


def odds_ratios(result, terms: Sequence[str], level: float = 0.95) -> pd.DataFrame:
    """``term``, ``odds_ratio``, ``low``, ``high`` of a fitted model (the level an argument)."""
    import pandas as pd

    ci = result.conf_int(alpha=1 - level)
    terms = list(terms)
    return pd.DataFrame({"term": terms, "odds_ratio": np.exp(result.params[terms]).to_numpy(),
                         "low": np.exp(ci.loc[terms, 0]).to_numpy(), "high": np.exp(ci.loc[terms, 1]).to_numpy()})


#: Positives and negatives each an AUC needs ("too few" below, n then the smaller class).
MIN_CLASS = 10


def auc(y: Sequence[int], p: Sequence[float], level: float = 0.95) -> Estimate:
    """Area under the ROC curve (Mann-Whitney) with the Hanley-McNeil (1982) interval, within [0, 1].

    "Too few" below 100 observations, or below :data:`MIN_CLASS` of either outcome."""
    from scipy import stats as sps

    y = np.asarray(y).astype(bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if min(n1, n0) < MIN_CLASS:  # too few buyers (or non-buyers) to rank: withheld, n is the smaller class
        return Estimate(math.nan, n=min(n1, n0), method="auc-hanley-mcneil", unit="number", bounds=(0.0, 1.0),
                        min_n=MIN_CLASS)
    ranks = sps.rankdata(np.asarray(p))
    a = (ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    q1, q2 = a / (2 - a), 2 * a ** 2 / (1 + a)
    se = math.sqrt((a * (1 - a) + (n1 - 1) * (q1 - a ** 2) + (n0 - 1) * (q2 - a ** 2)) / (n1 * n0))
    z = float(sps.norm.ppf(0.5 + level / 2))
    return Estimate(float(a), float(a - z * se), float(a + z * se), level=level, n=len(y),
                    method="auc-hanley-mcneil", unit="number", bounds=(0.0, 1.0), min_n=100)


def calibration(y: Sequence[int], p: Sequence[float], bins: int = 10, level: float = 0.95) -> pd.DataFrame:
    """Observed against predicted rate by decile of the prediction: ``decile``, ``customers``, ``buyers``,
    ``predicted_rate``, ``observed_rate`` with ``observed_low``/``observed_high`` (Wilson)."""
    import pandas as pd
    from statsmodels.stats.proportion import proportion_confint

    p = np.asarray(p, dtype=float)
    dec = pd.qcut(pd.Series(p).rank(method="first"), bins, labels=False) + 1
    cal = (pd.DataFrame({"decile": dec, "p": p, "y": np.asarray(y)})
           .groupby("decile").agg(customers=("y", "size"), buyers=("y", "sum"), predicted_rate=("p", "mean"))
           .reset_index())
    lo, hi = proportion_confint(cal["buyers"], cal["customers"], alpha=1 - level, method="wilson")
    return cal.assign(observed_rate=cal["buyers"] / cal["customers"], observed_low=np.asarray(lo),
                      observed_high=np.asarray(hi))


def intercept_shift(p: Sequence[float], observed_rate: float) -> float:
    """The shift s on the logit scale for which the mean of expit(logit(p) + s) equals ``observed_rate``
    (calibration in the large, the recalibration that keeps the ranking); 0 when the rate is 0 or 1."""
    from scipy import optimize, special

    p = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
    if not 0 < observed_rate < 1 or len(p) == 0:
        return 0.0
    lp = special.logit(p)
    return float(optimize.brentq(lambda s: special.expit(lp + s).mean() - observed_rate, -20, 20))


def shifted(p: Sequence[float], shift: float) -> np.ndarray:
    """Probabilities ``p`` moved by ``shift`` on the logit scale (see :func:`intercept_shift`)."""
    from scipy import special

    return special.expit(special.logit(np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)) + shift)
