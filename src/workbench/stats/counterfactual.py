"""Counterfactual baselines of a daily series: what would have happened without an event.

A regression with AR(1) errors (statsmodels SARIMAX) of log daily counts on a trend, weekday dummies
and (with a year of history) yearly Fourier terms is fitted on the days before an event, with other
events' days left out as missing, and simulated over the event's window. Intervals come from the
simulated paths, so the days' errors are correlated as they are. Arrays and frames in, numbers and
:class:`~workbench.stats.result.Estimate` out; nothing here knows about data or SQL.

The paths cover the AR noise of a model taken as true, not the error of the baseline model itself
(a trend or season it gets wrong): across generated shops the 95% path intervals of long campaigns
covered 52–55% and those of one-day campaigns 100%, far too wide. :func:`placebos` therefore fits the
same baseline at placebo origins in the shop's own history where no event happened, and
:func:`calibrated_effect` scales the path spread by the root mean square of the placebo errors in
units of their own path spread (a calibration factor c, < 1 where the paths are too wide; a bias of
the baseline raises it too), with a t quantile on the number of placebos.
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
#: Method key of a placebo-calibrated counterfactual (``method.sarimax_placebo``).
METHOD_CALIBRATED = "sarimax_placebo"
#: Fewest usable training days for a fit.
MIN_TRAIN_DAYS = 56
#: Fewest placebo windows for a calibration; below it the path intervals are reported as they are.
MIN_PLACEBOS = 5


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


def design_values(dates: pd.DatetimeIndex, origin: pd.Timestamp, yearly: bool) -> np.ndarray:
    """``design(dates, origin, yearly).to_numpy()``: the same values, laid out alike (column major), no frame."""
    days = (dates - origin).days.to_numpy()
    k = 12 if yearly else 8
    x = np.empty((len(dates), k), order="F")
    x[:, 0] = 1.0
    x[:, 1] = days / 365.25
    dow = dates.day_of_week.to_numpy()
    for j in range(1, 7):
        x[:, 1 + j] = (dow == j).astype(float)
    if yearly:
        doy = dates.day_of_year.to_numpy() / 365.25
        for h in (1, 2):
            x[:, 6 + 2 * h] = np.sin(2 * np.pi * h * doy)
            x[:, 7 + 2 * h] = np.cos(2 * np.pi * h * doy)
    return x


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
    x_train, x_future = design_values(train.index, origin, yearly), design_values(steps, origin, yearly)
    # The same model and likelihood as before, maximised in two one-dimensional steps instead of by lbfgs
    # on the log-likelihood per day (which stops early on this flat likelihood, up to 0.04 off in the AR
    # coefficient): the AR coefficient from the likelihood with sigma2 profiled out, then sigma2 from
    # the full likelihood at that coefficient (the profiled sigma2 itself can be a few per cent off,
    # as the approximate-diffuse start of the regression states enters the two likelihoods differently).
    # No parameter covariance is used, so none is computed, and the smoother is not run.
    model, params = _mle(y.to_numpy(), x_train)
    res = model.filter(params, cov_type="none")
    paths = np.expm1(_simulate(res, x_future, reps, np.random.default_rng(seed)))
    keep = steps.isin(horizon)
    return Counterfactual(steps[keep], paths[:, keep].mean(axis=0), paths[:, keep], usable)


def _mle(y: np.ndarray, x: np.ndarray):
    """The regression with AR(1) errors of ``y`` on ``x`` (SARIMAX, coefficients in the state) and the
    maximum-likelihood (AR coefficient, sigma2) of it, as :func:`fit` describes."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    phi = _ar_mle(SARIMAX(y, exog=x, order=(1, 0, 0), mle_regression=False, concentrate_scale=True))
    model = SARIMAX(y, exog=x, order=(1, 0, 0), mle_regression=False)
    return model, np.array([phi, _variance_mle(model, phi)])


def _ar_mle(model) -> float:
    """The AR(1) coefficient that maximises the profile log-likelihood of ``model`` (sigma2 concentrated out).

    To 1e-5, far below its standard error (about 1/√n ≈ 0.05 on a year); deterministic, about 20
    Kalman-filter runs.
    """
    from scipy.optimize import minimize_scalar

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        best = minimize_scalar(lambda phi: -model.loglike(np.array([phi])), bounds=(-0.999, 0.999),
                               method="bounded", options={"xatol": 1e-5})
    return float(best.x)


def _variance_mle(model, phi: float) -> float:
    """The innovation variance that maximises the full log-likelihood of ``model`` at AR coefficient ``phi``
    (to a relative 1e-5, about 20 Kalman-filter runs; the search spans 1e-8 to the series' own variance ×
    10, and the maximum lies well inside)."""
    from scipy.optimize import minimize_scalar

    top = math.log(10 * float(np.nanvar(model.endog)) + 1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        best = minimize_scalar(lambda v: -model.loglike(np.array([phi, math.exp(v)])), bounds=(math.log(1e-8), top),
                               method="bounded", options={"xatol": 1e-5})
    return math.exp(float(best.x))


def _simulate(res, x_future: np.ndarray, reps: int, rng: np.random.Generator) -> np.ndarray:
    """Paths (reps × steps) of a fitted regression with AR(1) errors from the end of its sample, as
    ``res.simulate(len(x_future), repetitions=reps, anchor="end", exog=x_future, rng=rng)`` draws them
    (the same variates in the same order, so the same paths) but all repetitions at once.

    Per repetition statsmodels draws the initial state (the AR error and the regression coefficients,
    from their filtered distribution at the end of the sample: all repetitions first, one call), then
    a measurement shock per step (zero variance here, drawn and unused) and a state shock per step.
    """
    steps = len(x_future)
    nobs = res.nobs
    init = rng.multivariate_normal(res.predicted_state[:, nobs], res.predicted_state_cov[:, :, nobs], size=reps)
    sigma2 = float(res.filter_results.state_cov[0, 0, 0])  # the innovation variance (the profiled scale when concentrated)
    shocks = rng.normal(size=(reps, 2, steps))[:, 1, :] * math.sqrt(sigma2)
    phi = float(res.filter_results.transition[0, 0, 0])
    err = np.empty((reps, steps))
    err[:, 0] = init[:, 0]
    for t in range(1, steps):
        err[:, t] = phi * err[:, t - 1] + shocks[:, t - 1]
    return err + init[:, 1:] @ x_future.T


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


@dataclass
class Placebos:
    """Baselines fitted at placebo origins where no event happened: per origin the actual days and the paths.

    ``origins``: the last training day of each placebo; ``actual``: (origins × days) the observed series
    on the days after it; ``paths``: (origins × reps × days) the simulated baselines of those days.
    """

    origins: list[pd.Timestamp]
    actual: np.ndarray
    paths: np.ndarray

    def __len__(self) -> int:
        return len(self.origins)

    def standardized_errors(self, offset: int, length: int) -> np.ndarray:
        """Placebo errors of the window ``offset`` .. ``offset + length − 1`` days after each origin, as
        (log actual sum − log mean path sum) / sd(log path sums): one per placebo, N(0, 1) for an honest model."""
        if len(self) == 0 or offset + length > self.actual.shape[1]:
            return np.array([])
        a = self.actual[:, offset:offset + length].sum(axis=1)
        sums = self.paths[:, :, offset:offset + length].sum(axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(np.where(sums > 0, sums, np.nan))
            z = (np.log(a) - np.log(np.nanmean(sums, axis=1))) / np.nanstd(logs, axis=1)
        return z[np.isfinite(z)]


def placebo_origins(series: pd.Series, exclude: pd.DatetimeIndex | None, days: int, step: int = 21,
                    min_history: int = 120) -> list[pd.Timestamp]:
    """The candidate placebo origins of :func:`placebos`, in date order.

    Walking from ``min_history`` days after the first day of ``series`` (a daily series indexed by date): a day
    whose next ``days`` days (within the series) hold no excluded day and no day at or below zero is a
    candidate, and the walk jumps ``step`` days on; otherwise it moves one day. Each window is checked with
    a running count of the bad days (two binary searches), not a scan of the whole series.
    """
    s = series
    bad = np.asarray((s <= 0) | s.index.isin(exclude if exclude is not None else pd.DatetimeIndex([])), dtype=bool)
    first = s.index.min() + pd.Timedelta(days=min_history)
    if not len(s) or not s.index.is_monotonic_increasing:
        return _placebo_origins_scan(s.index, bad, first, days, step)
    ns = np.asarray(s.index.to_numpy(), dtype="datetime64[ns]").view(np.int64)
    count = np.concatenate([[0], np.cumsum(bad)])
    day = 86_400_000_000_000
    t0, last, span = int(np.datetime64(first.to_datetime64(), "ns").view(np.int64)), int(ns[-1]), days * day
    candidates, k = [], 0
    while t0 + k * day + span <= last:
        t = t0 + k * day
        lo, hi = np.searchsorted(ns, t, "right"), np.searchsorted(ns, t + span, "right")
        if count[hi] == count[lo]:
            candidates.append(first + pd.Timedelta(days=k))
            k += step
        else:
            k += 1
    return candidates


def _placebo_origins_scan(index: pd.Index, bad: np.ndarray, first: pd.Timestamp, days: int,
                          step: int) -> list[pd.Timestamp]:
    """:func:`placebo_origins` by a scan of the whole index per day walked (any order of the index)."""
    candidates = []
    t = first
    while t + pd.Timedelta(days=days) <= index.max():
        window = (index > t) & (index <= t + pd.Timedelta(days=days))
        if not bad[window].any():
            candidates.append(t)
            t += pd.Timedelta(days=step)
        else:
            t += pd.Timedelta(days=1)
    return candidates


def placebos(series: pd.Series, exclude: pd.DatetimeIndex | None, days: int, history: int = 365,
             reps: int = 200, step: int = 21, max_origins: int = 12, min_history: int = 120,
             seed: int = 1) -> Placebos:
    """Fit the baseline of :func:`fit` at up to ``max_origins`` placebo origins and simulate ``days`` ahead.

    An origin is a day with at least ``min_history`` days of data before it whose next ``days`` days hold
    no excluded (event) day and no zero day; candidates are ``step`` days apart, and at most
    ``max_origins`` of them, spread evenly over the history, are fitted (each fit takes a tenth of a second
    or so).
    """
    s = series.astype(float)
    candidates = placebo_origins(s, exclude, days, step, min_history)
    if len(candidates) > max_origins:
        pick = np.unique(np.round(np.linspace(0, len(candidates) - 1, max_origins)).astype(int))
        candidates = [candidates[i] for i in pick]
    origins, actual, paths = [], [], []
    for i, origin in enumerate(candidates):
        horizon = pd.date_range(origin + pd.Timedelta(days=1), periods=days, freq="D")
        cf = fit(s, origin, horizon, exclude, history, reps, seed + i)
        if cf is None:
            continue
        origins.append(origin)
        actual.append(s.reindex(horizon).to_numpy(float))
        paths.append(cf.paths)
    if not origins:
        return Placebos([], np.zeros((0, days)), np.zeros((0, reps, days)))
    return Placebos(origins, np.vstack(actual), np.stack(paths))


def calibrated_effect(actual: float, paths: np.ndarray, n: int, z_placebo: np.ndarray,
                      level: float = 0.95) -> Effect:
    """:func:`effect` with its intervals calibrated on placebo errors ``z_placebo`` (from
    :meth:`Placebos.standardized_errors` of a window as long as this one and as far from the training end).

    With k ≥ :data:`MIN_PLACEBOS` placebo errors the log-ratio interval is log(actual / expected) ±
    t(k) · c · sd(log path sums), c = √mean(z²) (errors larger than the paths say widen it, smaller ones
    narrow it); the relative and incremental intervals follow from it. With fewer placebos the plain
    path intervals of :func:`effect` are returned (``method`` ``sarimax_paths`` says so).
    """
    from scipy.stats import t as t_dist

    plain = effect(actual, paths, n, level)
    z = np.asarray(z_placebo, float)
    z = z[np.isfinite(z)]
    if len(z) < MIN_PLACEBOS or paths.size == 0 or not plain.expected > 0 or not actual > 0:
        return plain
    sums = paths.sum(axis=1)
    sd = float(np.std(np.log(sums[sums > 0])))
    c = float(np.sqrt(np.mean(z ** 2)))
    half = float(t_dist.ppf(0.5 + level / 2, len(z))) * c * sd
    centre = math.log(actual / plain.expected)
    rel_lo, rel_hi = math.exp(centre - half) - 1, math.exp(centre + half) - 1
    exp_hi, exp_lo = actual / (1 + rel_lo), actual / (1 + rel_hi)
    m = n
    incremental = Estimate(actual - plain.expected, actual - exp_hi, actual - exp_lo, level, m, METHOD_CALIBRATED,
                           "count")
    relative = Estimate(plain.relative.estimate, rel_lo, rel_hi, level, m, METHOD_CALIBRATED, "change",
                        bounds=(-1.0, math.inf))
    return Effect(actual, plain.expected, incremental, relative)


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
