"""Counterfactual baselines of a daily series: what would have happened without an event.

A regression with AR(1) errors (statsmodels SARIMAX) of log daily counts on a trend, weekday dummies
and (with a year of history) yearly Fourier terms is fitted on the days before an event, with other
events' days left out as missing, and simulated over the event's window. Intervals come from the
simulated paths, so the days' errors are correlated as they are. Arrays and frames in, numbers and
:class:`~workbench.stats.result.Estimate` out; nothing here knows about data or SQL.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.stats.result import Estimate

#: Method key of a path-simulated counterfactual (its note is ``method.sarimax_paths`` in the catalogue).
METHOD = "sarimax_paths"
#: Fewest usable training days for a fit.
MIN_TRAIN_DAYS = 56


def design(dates: pd.DatetimeIndex, origin: pd.Timestamp, yearly: bool) -> pd.DataFrame:
    """Regressors: a constant, trend (years since ``origin``), weekday dummies (Monday the base), yearly Fourier terms."""
    t = (dates - origin).days.to_numpy() / 365.25
    x = {"const": np.ones(len(dates)), "trend": t}
    for k in range(1, 7):
        x[f"dow{k}"] = (dates.day_of_week == k).astype(float)
    if yearly:
        doy = dates.day_of_year.to_numpy() / 365.25
        for h in (1, 2):
            x[f"sin{h}"] = np.sin(2 * np.pi * h * doy)
            x[f"cos{h}"] = np.cos(2 * np.pi * h * doy)
    return pd.DataFrame(x, index=dates)


@dataclass
class Counterfactual:
    """A baseline forecast over a window: ``dates``, the mean per day, simulated paths (reps × days), training days."""

    dates: pd.DatetimeIndex
    mean: np.ndarray
    paths: np.ndarray
    n_train: int

    def band(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """The per-day ``level`` band of the simulated paths (lower, upper)."""
        a = (1 - level) / 2
        return np.quantile(self.paths, a, axis=0), np.quantile(self.paths, 1 - a, axis=0)


def fit(series: pd.Series, train_end: pd.Timestamp, horizon: pd.DatetimeIndex,
        exclude: pd.DatetimeIndex | None = None, history: int = 365, reps: int = 300,
        seed: int = 0) -> Counterfactual | None:
    """Fit the baseline on ``history`` days up to ``train_end`` and simulate it over ``horizon``.

    ``series`` is a daily series indexed by date (a complete calendar; zeros are treated as missing,
    as are days in ``exclude``, which the Kalman filter handles). ``horizon`` starts after
    ``train_end``. Returns None with fewer than :data:`MIN_TRAIN_DAYS` usable days.
    """
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    s = series.astype(float)
    train = s[(s.index <= train_end) & (s.index > train_end - pd.Timedelta(days=history))].copy()
    y = np.log1p(train)
    y[train <= 0] = np.nan
    if exclude is not None:
        y[y.index.isin(exclude)] = np.nan
    usable = int(y.notna().sum())
    if usable < MIN_TRAIN_DAYS:
        return None
    yearly = usable >= 300
    origin = train.index.min()
    steps = pd.date_range(train_end + pd.Timedelta(days=1), horizon.max(), freq="D")  # the AR error runs on
    x_train, x_future = design(train.index, origin, yearly), design(steps, origin, yearly)
    model = SARIMAX(y.to_numpy(), exog=x_train.to_numpy(), order=(1, 0, 0), mle_regression=False)
    with warnings.catch_warnings():  # convergence chatter on short histories; the fit is still usable
        warnings.simplefilter("ignore")
        res = model.fit(disp=False, maxiter=100)
    sims = res.simulate(nsimulations=len(steps), repetitions=reps, anchor="end", exog=x_future.to_numpy(),
                        rng=np.random.default_rng(seed))
    paths = np.expm1(np.asarray(sims).reshape(len(steps), reps).T)
    keep = steps.isin(horizon)
    return Counterfactual(steps[keep], paths[:, keep].mean(axis=0), paths[:, keep], usable)


@dataclass(frozen=True)
class Effect:
    """An event's effect over a window: the actual total, the expected total, and the absolute and
    relative differences as Estimates (intervals from the simulated paths)."""

    actual: float
    expected: float
    incremental: Estimate     # actual − expected, in the series' unit
    relative: Estimate        # actual / expected − 1 (unit ``change``; bounded below by −1)


def effect(actual: float, paths: np.ndarray, n: int, level: float = 0.95) -> Effect:
    """The effect of an event whose window's actual total is ``actual``, against path sums of ``paths``
    (reps × days of that window); ``n`` is the training days behind the baseline."""
    if paths.size == 0:
        nan = Estimate(math.nan, n=n, method=METHOD, level=level)
        return Effect(actual, math.nan, nan, Estimate(math.nan, n=n, method=METHOD, unit="change", level=level))
    a = (1 - level) / 2
    sums = paths.sum(axis=1)
    expected = float(sums.mean())
    inc = actual - sums
    rel = actual / np.where(sums > 0, sums, np.nan) - 1
    incremental = Estimate(actual - expected, float(np.quantile(inc, a)), float(np.quantile(inc, 1 - a)), level, n,
                           METHOD, "count")
    relative = Estimate(actual / expected - 1 if expected > 0 else math.nan, float(np.nanquantile(rel, a)),
                        float(np.nanquantile(rel, 1 - a)), level, n, METHOD, "change", bounds=(-1.0, math.inf))
    return Effect(actual, expected, incremental, relative)


def pooled_uplift(uplift: np.ndarray, low: np.ndarray, high: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Mean of several measured uplifts and its standard error.

    Each uplift's own standard error is its interval's width over 2·z; the mean's standard error
    combines them (√Σse² / k) with the spread between the uplifts (sd / √k) when there are several.
    """
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + level / 2))
    uplift, half = np.asarray(uplift, float), (np.asarray(high, float) - np.asarray(low, float)) / (2 * z)
    k = len(uplift)
    mean = float(uplift.mean())
    if k == 1:
        return mean, float(half[0])
    se = float(np.sqrt(np.sum(half ** 2)) / k)
    return mean, float(np.hypot(se, uplift.std(ddof=1) / np.sqrt(k)))
