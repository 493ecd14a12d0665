"""Forecasts of a series with prediction intervals, checked by a rolling-origin backtest against seasonal naive.

Three forecasters, arrays and frames in, frames and numbers out (nothing here knows about data or SQL):

``calendar``        daily series with known events (campaigns, holidays): a regression of log(1 + y) on a
                    trend, weekday dummies, yearly Fourier terms and, per event kind, indicators of its
                    days, its first and last day and the week before it; AR(1) errors. Intervals come
                    from simulated paths whose shocks are resampled from the model's own residuals (event
                    days from event days), so sums over weeks and heavy tails are honest.
``ets``             statsmodels' exponential smoothing (ETSModel), the configuration chosen by AICc among
                    additive and multiplicative error, trend (damped) and season; for any series.
``seasonal_naive``  the last season repeated; intervals from its residuals, widened per season ahead.

:func:`backtest` fits a forecaster at several origins of the history and scores each h-step forecast:
MASE (mean absolute error over the in-sample MAE of the one-season-ago forecast, Hyndman & Koehler 2006)
for the method and for seasonal naive, and how often the 80% and 95% intervals held. :func:`forecast`
runs the candidates' backtests, keeps the best and falls back to seasonal naive when no method beats it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.stats.result import Estimate

#: Season length (periods per season) of each frequency: a week of days, a year of weeks or months.
SEASON = {"D": 7, "W": 52, "M": 12}
#: pandas frequency alias of each frequency key.
PANDAS_FREQ = {"D": "D", "W": "W-MON", "M": "MS"}
#: Prediction levels a forecast carries by default.
LEVELS = (0.8, 0.95)
#: Days before an event that are modelled as its run-up (buyers wait for the deal).
PRE_DAYS = 7
#: Simulated paths behind the intervals.
PATHS = 1000
#: The calendar model resamples the shocks of this many most recent days.
RECENT_SHOCK_DAYS = 365


class ForecastInputError(ValueError):
    """Raised when a series cannot be forecast (too short, gaps, duplicates, negative values); says why."""


# ----------------------------------------------------------------------------------------------- metrics
def seasonal_naive_scale(history: np.ndarray, m: int) -> float:
    """In-sample MAE of the one-season-ago forecast (the MASE denominator); falls back to lag 1."""
    y = np.asarray(history, dtype=float)
    for lag in (m, 1):
        if len(y) > lag:
            d = np.abs(y[lag:] - y[:-lag])
            scale = float(np.mean(d))
            if scale > 0:
                return scale
    return math.nan


def mase(actual: np.ndarray, predicted: np.ndarray, history: np.ndarray, m: int) -> float:
    """Mean absolute scaled error of ``predicted`` against ``actual``, scaled by seasonal naive in ``history``."""
    scale = seasonal_naive_scale(history, m)
    err = float(np.mean(np.abs(np.asarray(actual, float) - np.asarray(predicted, float))))
    return err / scale if scale and math.isfinite(scale) else math.nan


def coverage(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share of ``actual`` values inside ``low``–``high``."""
    a = np.asarray(actual, float)
    return float(np.mean((a >= np.asarray(low, float)) & (a <= np.asarray(high, float))))


# ----------------------------------------------------------------------------------------------- results
@dataclass
class Forecast:
    """A forecast over ``dates``: ``frame`` has ``date``, ``forecast`` and ``low_80``/``high_80``,
    ``low_95``/``high_95`` (one pair per level), ``paths`` (paths × periods, when simulated) and the method key."""

    frame: pd.DataFrame
    method: str
    levels: tuple[float, ...] = LEVELS
    paths: np.ndarray | None = None

    def estimate(self, i: int, level: float = 0.95, unit: str = "number") -> Estimate:
        """The forecast of period ``i`` as a prediction :class:`Estimate` at ``level``."""
        row = self.frame.iloc[i]
        tag = level_tag(level)
        return Estimate(row["forecast"], row[f"low_{tag}"], row[f"high_{tag}"], level=level, method=self.method,
                        unit=unit, bounds=(0.0, math.inf), kind="prediction")

    def total(self, level: float = 0.95, unit: str = "number") -> Estimate:
        """The sum over the horizon as a prediction :class:`Estimate` (from the paths when there are any)."""
        if self.paths is not None:
            sums = self.paths.sum(axis=1)
            a = (1 - level) / 2
            lo, hi = np.quantile(sums, [a, 1 - a])
            est = float(np.median(sums))
        else:  # without paths: bounds add up only as a conservative band
            tag = level_tag(level)
            est = float(self.frame["forecast"].sum())
            lo, hi = float(self.frame[f"low_{tag}"].sum()), float(self.frame[f"high_{tag}"].sum())
        return Estimate(est, lo, hi, level=level, method=self.method, unit=unit, bounds=(0.0, math.inf),
                        kind="prediction", n=len(self.frame))

    def aggregate(self, freq: str) -> Forecast:
        """The daily forecast summed to weeks (``W``) or months (``M``), intervals from the summed paths."""
        if freq == "D" or self.paths is None:
            return self
        keys = period_start(pd.DatetimeIndex(self.frame["date"]), freq)
        groups = pd.Index(keys).unique()
        idx = [np.flatnonzero(keys == g) for g in groups]
        paths = np.stack([self.paths[:, i].sum(axis=1) for i in idx], axis=1)
        frame = _frame_from_paths(pd.DatetimeIndex(groups), paths, self.levels)
        frame["days"] = [len(i) for i in idx]
        return Forecast(frame, self.method, self.levels, paths)


def period_start(dates: pd.DatetimeIndex, freq: str) -> pd.DatetimeIndex:
    """The first day of the week (Monday) or month holding each date; the dates themselves for ``D``."""
    if freq == "D":
        return pd.DatetimeIndex(dates)
    return pd.DatetimeIndex(dates).to_period("W-SUN" if freq == "W" else "M").start_time


def sum_by_period(values: np.ndarray, dates: pd.DatetimeIndex, freq: str) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Daily ``values`` summed per week or month: (first days, sums), in date order."""
    s = pd.Series(np.asarray(values, float), index=period_start(dates, freq)).groupby(level=0).sum()
    return pd.DatetimeIndex(s.index), s.to_numpy()


def level_tag(level: float) -> str:
    """The column suffix of a level: 0.8 → ``80``, 0.95 → ``95``."""
    return f"{round(level * 100):d}" if abs(level * 100 - round(level * 100)) < 1e-9 else f"{level * 100:g}"


def column_quantiles(paths: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """``np.quantile(paths, qs, axis=0)`` (its default, linear method) to the bit, from one sort of the columns.

    ``paths`` is 2-d (draws × periods); returns len(qs) × periods. One sort serves every quantile, where
    ``np.quantile`` partitions around each of their neighbouring ranks (slower for the five a forecast
    frame needs). Columns holding NaN are left to ``np.quantile`` (it returns NaN for them).
    """
    paths = np.asarray(paths, dtype=float)
    if paths.ndim != 2 or paths.shape[0] == 0 or np.isnan(paths).any():
        return np.quantile(paths, qs, axis=0)
    s = np.sort(paths, axis=0)
    n = s.shape[0]
    v = (n - 1) * np.asarray(qs, dtype=float)  # numpy's virtual index, then its _lerp
    lo = np.floor(v)
    above, below = v >= n - 1, v < 0
    lo_i = np.where(above, n - 1, np.where(below, 0, lo)).astype(np.intp)
    hi_i = np.where(above, n - 1, np.where(below, 0, lo + 1)).astype(np.intp)
    g = (v - np.where(above, -1.0, np.where(below, 0.0, lo)))[:, None]
    a, b = s[lo_i], s[hi_i]
    d = b - a
    out = a + d * g
    np.subtract(b, d * (1 - g), out=out, where=np.broadcast_to(g >= 0.5, out.shape))
    return out


def _frame_from_paths(dates: pd.DatetimeIndex, paths: np.ndarray, levels: Sequence[float]) -> pd.DataFrame:
    qs = [0.5] + [q for lv in levels for q in ((1 - lv) / 2, (1 + lv) / 2)]
    at = column_quantiles(paths, qs)
    out = {"date": dates, "forecast": at[0]}
    for i, lv in enumerate(levels):
        out[f"low_{level_tag(lv)}"], out[f"high_{level_tag(lv)}"] = at[1 + 2 * i], at[2 + 2 * i]
    return pd.DataFrame(out)


# ----------------------------------------------------------------------------------------------- seasonal naive
def seasonal_naive_point(y: np.ndarray, m: int, h: int) -> np.ndarray:
    """The seasonal naive point forecast: the last ``m`` values of ``y`` repeated over ``h`` periods."""
    return np.array([y[len(y) - m + (i % m)] for i in range(h)], dtype=float)


def seasonal_naive(y: np.ndarray, dates: pd.DatetimeIndex, m: int, h: int, levels: Sequence[float] = LEVELS,
                   freq: str = "D", paths: int = PATHS, seed: int = 0) -> Forecast:
    """The last ``m`` values repeated over ``h`` periods; intervals from paths whose shocks are resampled
    seasonal differences of the history (k seasons ahead add k shocks), never below zero."""
    y = np.asarray(y, float)
    future = pd.date_range(dates[-1], periods=h + 1, freq=PANDAS_FREQ[freq])[1:]
    base = seasonal_naive_point(y, m, h)
    diffs = y[m:] - y[:-m] if len(y) > m else np.zeros(1)
    rng = np.random.default_rng(seed)
    k = np.arange(h) // m + 1  # seasons ahead
    shocks = rng.choice(diffs, size=(paths, h, int(k.max())))
    mask = np.arange(int(k.max()))[None, None, :] < k[None, :, None]
    sim = np.maximum(base[None, :] + (shocks * mask).sum(axis=2), 0.0)
    frame = _frame_from_paths(future, sim, levels)
    frame["forecast"] = base
    return Forecast(frame, "seasonal_naive", tuple(levels), sim)


# ----------------------------------------------------------------------------------------------- calendar model
def event_features(dates: pd.DatetimeIndex, events: pd.DataFrame | None, pre_days: int = PRE_DAYS) -> pd.DataFrame:
    """Indicator columns of known events on ``dates``.

    ``events`` has ``kind``, ``start``, ``end`` (inclusive days). Per kind: ``ev.<kind>`` (any of its days),
    ``ev.<kind>.first``, ``ev.<kind>.last`` and ``pre.<kind>`` (the ``pre_days`` days before its start);
    ``ev.any`` marks every event day, so that a kind never seen before still counts as an event.
    """
    cols: dict[str, np.ndarray] = {}
    n = len(dates)
    if events is None or len(events) == 0:
        return pd.DataFrame(index=dates)
    day = dates.normalize().to_numpy()
    anyd = np.zeros(n)
    for row in events.itertuples(index=False):
        s, e = np.datetime64(pd.Timestamp(row.start), "ns"), np.datetime64(pd.Timestamp(row.end), "ns")
        k = str(row.kind)
        inside = (day >= s) & (day <= e)
        cols.setdefault(f"ev.{k}", np.zeros(n))[inside] = 1.0
        cols.setdefault(f"ev.{k}.first", np.zeros(n))[day == s] = 1.0
        if e > s:
            cols.setdefault(f"ev.{k}.last", np.zeros(n))[day == e] = 1.0
        if pre_days:
            pre = (day >= s - np.timedelta64(pre_days, "D")) & (day < s)
            cols.setdefault(f"pre.{k}", np.zeros(n))[pre] = 1.0
        anyd[inside] = 1.0
    cols["ev.any"] = anyd
    return pd.DataFrame(cols, index=dates)


def base_features(dates: pd.DatetimeIndex, origin: pd.Timestamp, yearly: int) -> pd.DataFrame:
    """A constant, trend (years since ``origin``), weekday dummies (Monday the base), ``yearly`` Fourier pairs."""
    t = (dates - origin).days.to_numpy() / 365.25
    x = {"const": np.ones(len(dates)), "trend": t}
    for k in range(1, 7):
        x[f"dow{k}"] = (dates.day_of_week == k).astype(float)
    doy = dates.day_of_year.to_numpy() / 365.25
    for h in range(1, yearly + 1):
        x[f"sin{h}"] = np.sin(2 * np.pi * h * doy)
        x[f"cos{h}"] = np.cos(2 * np.pi * h * doy)
    return pd.DataFrame(x, index=dates)


def _ns(values: pd.Series) -> list[int]:
    return np.asarray(values.to_numpy(), dtype="datetime64[ns]").view(np.int64).tolist()


def _events_key(events: pd.DataFrame | None) -> tuple:
    """The events as a hashable key: (kind as text, start and end in ns) per row, in order."""
    if events is None or len(events) == 0:
        return ()
    return tuple(zip([str(k) for k in events["kind"].tolist()], _ns(events["start"]), _ns(events["end"])))


#: Calendar designs computed so far, by (origin, yearly terms, events): the frame over a span of days, its
#: values (as the frame's ``to_numpy()`` lays them out) and each column's position. A backtest fits on
#: prefixes of one history and simulates the days after each: one design of the whole span serves them
#: all (each row depends only on its own day, the origin and the events).
_DESIGNS: dict[tuple, tuple[pd.DataFrame, np.ndarray, dict[str, int]]] = {}
_DESIGNS_KEPT = 32


def _consecutive_days(dates: pd.DatetimeIndex) -> np.ndarray | None:
    """The dates as day numbers when they are consecutive midnights, else None."""
    if not len(dates):
        return None
    d = dates.to_numpy()
    days = d.astype("datetime64[D]")
    if not (days == d).all():
        return None
    n = days.astype(np.int64)
    return n if bool((np.diff(n) == 1).all()) else None


def _span(dates: pd.DatetimeIndex, origin: pd.Timestamp, yearly: int, events: pd.DataFrame | None
          ) -> tuple[tuple[pd.DataFrame, np.ndarray, dict[str, int]], int] | None:
    """The kept design span holding consecutive daily ``dates`` (widened or computed first) and the row of
    ``dates[0]`` in it; None when the dates are not consecutive midnights."""
    days = _consecutive_days(dates)
    if days is None:
        return None
    key = (pd.Timestamp(origin).value, yearly, _events_key(events))
    held = _DESIGNS.get(key)
    first = None if held is None else int(held[0].index[0].to_numpy().astype("datetime64[D]").astype(np.int64))
    if held is None or days[0] < first or days[-1] >= first + len(held[0]):
        lo = dates[0] if held is None else min(dates[0], held[0].index[0])
        hi = dates[-1] if held is None else max(dates[-1], held[0].index[-1])
        span = pd.date_range(lo, hi, freq="D")
        frame = pd.concat([base_features(span, origin, yearly), event_features(span, events)], axis=1)
        held = (frame, frame.to_numpy(), {c: i for i, c in enumerate(frame.columns)})
        first = int(frame.index[0].to_numpy().astype("datetime64[D]").astype(np.int64))
        _DESIGNS.pop(key, None)
        while len(_DESIGNS) >= _DESIGNS_KEPT:
            _DESIGNS.pop(next(iter(_DESIGNS)))
        _DESIGNS[key] = held
    return held, int(days[0] - first)


def calendar_design(dates: pd.DatetimeIndex, origin: pd.Timestamp, yearly: int,
                    events: pd.DataFrame | None) -> pd.DataFrame:
    """:func:`base_features` and :func:`event_features` of ``dates`` side by side (the calendar model's design).

    For consecutive midnights the rows are cut from a design of a span already computed for the same
    origin, yearly terms and events (the same values: every row depends only on its day), the span
    widened first when ``dates`` reach beyond it. Returns a new frame indexed by ``dates``.
    """
    dates = pd.DatetimeIndex(dates)
    found = _span(dates, origin, yearly, events)
    if found is None:
        return pd.concat([base_features(dates, origin, yearly), event_features(dates, events)], axis=1)
    (held, _, _), at = found
    out = held.iloc[at:at + len(dates)].copy()
    out.index = dates
    return out


def design_values(dates: pd.DatetimeIndex, origin: pd.Timestamp, yearly: int, events: pd.DataFrame | None,
                  columns: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """The values of :func:`calendar_design` (in ``columns``, 0 for a column it lacks; all of its columns
    when None) and their names, without building a frame: the rows cut from the kept span.

    The array is laid out as ``calendar_design(...).reindex(columns=...).to_numpy()`` lays it out (column
    major), so that products with it are those of that frame's values to the bit.
    """
    dates = pd.DatetimeIndex(dates)
    found = _span(dates, origin, yearly, events)
    if found is None:
        x = calendar_design(dates, origin, yearly, events)
        if columns is not None:
            x = x.reindex(columns=list(columns), fill_value=0.0)
        return x.to_numpy(), list(x.columns)
    (held, values, pos), at = found
    rows = values[at:at + len(dates)]
    if columns is None:
        return np.asfortranarray(rows), list(held.columns)
    idx = np.array([pos.get(c, -1) for c in columns], dtype=np.intp)
    out = np.zeros((len(dates), len(idx)), order="F")
    have = idx >= 0
    out[:, have] = rows[:, idx[have]]
    return out, list(columns)


@dataclass
class CalendarModel:
    """A fitted calendar regression: coefficients by column, AR(1) coefficient, residual shocks, the last residual."""

    columns: list[str]
    beta: np.ndarray
    phi: float
    shocks_calm: np.ndarray
    shocks_event: np.ndarray
    last_resid: float
    origin: pd.Timestamp
    yearly: int
    last_date: pd.Timestamp
    n: int
    fitted: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    beta_chol: np.ndarray | None = field(repr=False, default=None)

    def design(self, dates: pd.DatetimeIndex, events: pd.DataFrame | None) -> pd.DataFrame:
        """The model's design on ``dates`` with ``events``: its columns (0 where the events lack one)."""
        x = calendar_design(dates, self.origin, self.yearly, events)
        return x.reindex(columns=self.columns, fill_value=0.0)

    def design_values(self, dates: pd.DatetimeIndex, events: pd.DataFrame | None) -> np.ndarray:
        """``self.design(dates, events).to_numpy()``, the same values and layout, without the frame."""
        return design_values(dates, self.origin, self.yearly, events, self.columns)[0]

    def event_index(self, dates: pd.DatetimeIndex, events: pd.DataFrame | None) -> np.ndarray:
        """The multiplier the known events put on each day (1 on a day without events): exp of the event terms."""
        cols = [i for i, c in enumerate(self.columns) if c.startswith(("ev.", "pre."))]
        if not cols:
            return np.ones(len(dates))
        return np.exp(self.design_values(dates, events)[:, cols] @ self.beta[cols])

    def event_lift(self, dates: pd.DatetimeIndex, events: pd.DataFrame | None, without: pd.DataFrame | None,
                   draws: int = PATHS, seed: int = 0) -> np.ndarray:
        """Draws of the relative lift that ``events`` put on the sum over ``dates`` against ``without`` (the same
        calendar less the events whose lift is asked): sum(exp(x₁β)) / sum(exp(x₀β)) − 1 per coefficient draw
        (the point value alone when the covariance is not available). The AR noise is the same in both and
        cancels out of the ratio."""
        x1 = self.design_values(dates, events)
        x0 = self.design_values(dates, without)
        if self.beta_chol is None:
            betas = self.beta[:, None]
        else:
            rng = np.random.default_rng(seed)
            betas = self.beta[:, None] + self.beta_chol @ rng.standard_normal((len(self.beta), draws))
        return np.exp(x1 @ betas).sum(axis=0) / np.exp(x0 @ betas).sum(axis=0) - 1.0

    def simulate(self, events: pd.DataFrame | None, h: int, paths: int = PATHS, seed: int = 0,
                 levels: Sequence[float] = LEVELS) -> Forecast:
        """Simulate ``h`` days after the last training day; the forecast is the paths' median."""
        future = pd.date_range(self.last_date + pd.Timedelta(days=1), periods=h, freq="D")
        xm = self.design_values(future, events)
        mu = xm @ self.beta
        ev_cols = [i for i, c in enumerate(self.columns) if "ev." in c]  # as DataFrame.filter(like="ev.")
        is_event = (xm[:, ev_cols].sum(axis=1) > 0) if any(c.startswith("ev.") for c in self.columns) \
            else np.zeros(h, bool)
        rng = np.random.default_rng(seed)
        calm = rng.choice(self.shocks_calm, size=(paths, h))
        if len(self.shocks_event) >= 10 and is_event.any():
            ev = rng.choice(self.shocks_event, size=(paths, h))
            eps = np.where(is_event[None, :], ev, calm)
        else:
            eps = calm
        if self.beta_chol is not None:  # the coefficients' own uncertainty: one draw per path
            draws = self.beta[:, None] + self.beta_chol @ rng.standard_normal((len(self.beta), paths))
            mu = (xm @ draws).T
        e = np.empty((paths, h))
        prev = np.full(paths, self.last_resid)
        for t in range(h):
            prev = self.phi * prev + eps[:, t]
            e[:, t] = prev
        sim = np.maximum(np.expm1(np.atleast_2d(mu) + e), 0.0)
        return Forecast(_frame_from_paths(future, sim, levels), "calendar", tuple(levels), sim)


def fit_calendar(y: np.ndarray, dates: pd.DatetimeIndex, events: pd.DataFrame | None = None,
                 ridge: float = 0.1) -> CalendarModel:
    """Fit the calendar regression to a daily series ``y`` on consecutive ``dates``.

    Event columns without a day in the history are dropped (their effect cannot be learnt); event
    coefficients are shrunk by a small ridge penalty (``ridge``) so that kinds seen once stay stable.
    Yearly Fourier terms need a year of history (two pairs from 365 days, three from 540).
    """
    y = np.asarray(y, float)
    n = len(y)
    yearly = 3 if n >= 540 else (2 if n >= 365 else 0)
    origin = dates[0]
    full, names = design_values(dates, origin, yearly, events)
    keep = (full != 0).any(axis=0) | np.array([c == "const" for c in names], dtype=bool)
    columns = [c for c, k in zip(names, keep) if k]
    xm = np.asfortranarray(full[:, keep])  # laid out as the frame's to_numpy() would be
    z = np.log1p(np.maximum(y, 0.0))
    pen = np.array([ridge if c.startswith(("ev.", "pre.")) else 0.0 for c in columns])
    gram_inv = np.linalg.inv(xm.T @ xm + np.diag(pen) + 1e-8 * np.eye(xm.shape[1]))
    beta = gram_inv @ (xm.T @ z)
    fitted = xm @ beta
    r = z - fitted
    phi = float(np.clip(np.dot(r[1:], r[:-1]) / max(np.dot(r[:-1], r[:-1]), 1e-12), 0.0, 0.95)) if n > 2 else 0.0
    shocks = np.r_[r[0], r[1:] - phi * r[:-1]]
    ev_cols = [i for i, c in enumerate(columns) if c.startswith("ev.")]
    is_event = (xm[:, ev_cols].sum(axis=1) > 0) if ev_cols else np.zeros(n, bool)
    # in-sample residuals understate out-of-sample error by the parameters fitted, most on event days
    # (shrunk by their own dummies): each is widened by its leverage h, r / sqrt(1 - h)
    lev = ((xm @ gram_inv) * xm).sum(axis=1)
    shocks = shocks / np.sqrt(np.clip(1 - lev, 0.05, 1))
    # shocks of the last year only: noise on the log scale shrinks as volume grows (a count's relative
    # noise is 1/sqrt(count)), so older, smaller days would overstate the spread ahead
    recent = np.arange(n) >= n - RECENT_SHOCK_DAYS
    calm, event = shocks[~is_event & recent], shocks[is_event & recent]
    if len(calm) < 28:
        calm = shocks[~is_event]
    # coefficient covariance: residual variance × (X'X + P)^-1 inflated for the AR(1) errors' persistence
    sigma2 = float(np.mean(r ** 2)) * (1 + phi) / (1 - phi)
    cov = sigma2 * gram_inv
    try:
        chol = np.linalg.cholesky(cov + 1e-12 * np.eye(len(beta)))
    except np.linalg.LinAlgError:
        chol = None
    return CalendarModel(columns, beta, phi, calm, event, float(r[-1]), origin,
                         yearly, dates[-1], n, fitted, chol)


# ----------------------------------------------------------------------------------------------- ETS
_ETS_CONFIGS = (  # error, trend, damped, seasonal
    ("add", None, False, None), ("add", "add", True, None), ("add", None, False, "add"),
    ("add", "add", True, "add"), ("mul", None, False, "mul"), ("mul", "add", True, "mul"),
    ("mul", None, False, None), ("mul", "add", True, None),
)


def fit_ets(y: np.ndarray, m: int):
    """The ETSModel configuration of lowest AICc on ``y`` (multiplicative forms only for positive series;
    seasonal forms only with two full seasons, three for a season longer than 24 periods, whose dozens of
    starting states are then set heuristically rather than estimated); returns statsmodels' fitted results."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = np.asarray(y, float)
    best, best_aicc = None, math.inf
    positive = bool(np.all(y > 0))
    for err, trend, damped, seas in _ETS_CONFIGS:
        if (err == "mul" or seas == "mul") and not positive:
            continue
        if seas and (m < 2 or len(y) < 2 * m or (m > 24 and len(y) < 3 * m)):
            continue  # a long season (52 weeks) is fitted only with three seasons, from heuristic starting states
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = ETSModel(y, error=err, trend=trend, damped_trend=damped, seasonal=seas,
                               seasonal_periods=m if seas else None,
                               initialization_method="heuristic" if seas and len(y) >= 3 * m
                               else "estimated").fit(disp=False, maxiter=200)
        except Exception:  # noqa: BLE001, S112 - a configuration that does not fit is skipped
            continue
        aicc = float(res.aicc)
        if math.isfinite(aicc) and aicc < best_aicc and np.all(np.isfinite(res.fittedvalues)):
            best, best_aicc = res, aicc
    return best


def ets_forecast(y: np.ndarray, dates: pd.DatetimeIndex, m: int, h: int, freq: str,
                 levels: Sequence[float] = LEVELS, paths: int = PATHS, seed: int = 0) -> Forecast | None:
    """An ETS forecast of ``h`` periods with intervals from simulated paths (None when no configuration fits)."""
    res = fit_ets(y, m)
    if res is None:
        return None
    future = pd.date_range(dates[-1], periods=h + 1, freq=PANDAS_FREQ[freq])[1:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = np.asarray(res.simulate(h, repetitions=paths, anchor="end", rng=np.random.default_rng(seed))).reshape(h, -1).T
        point = np.asarray(res.forecast(h))
    sim = np.where(np.isfinite(sim), sim, np.nan)
    if np.isnan(sim).mean() > 0.05:
        return None
    sim = np.nan_to_num(sim, nan=float(np.nanmedian(sim)))
    if np.all(np.asarray(y) >= 0):
        sim, point = np.maximum(sim, 0.0), np.maximum(point, 0.0)
    frame = _frame_from_paths(future, sim, levels)
    frame["forecast"] = point
    spec = res.model
    name = "ets_" + "".join(s[0].upper() if s else "N" for s in (spec.error, spec.trend, spec.seasonal))
    if getattr(spec, "damped_trend", False):
        name = name[:6] + "d" + name[6:]
    return _named(Forecast(frame, "ets", tuple(levels), sim), name)


def _named(fc: Forecast, spec: str) -> Forecast:
    fc.frame.attrs["spec"] = spec
    return fc


# ----------------------------------------------------------------------------------------------- backtest
Forecaster = Callable[[np.ndarray, pd.DatetimeIndex, int], "Forecast | None"]


@dataclass(frozen=True)
class Backtest:
    """Rolling-origin scores of a method: MASE of the method and of seasonal naive (means over origins),
    their ratio, 80% and 95% interval coverage of the actuals, origins and points scored."""

    method: str
    mase: float
    mase_naive: float
    coverage_80: float
    coverage_95: float
    origins: int
    points: int

    @property
    def ratio(self) -> float:
        """MASE relative to seasonal naive's (below 1: the method beats seasonal naive)."""
        return self.mase / self.mase_naive if self.mase_naive and math.isfinite(self.mase_naive) else math.nan

    @property
    def beats_naive(self) -> bool:
        return math.isfinite(self.ratio) and self.ratio < 1

    def coverage_estimate(self, level: float = 0.95) -> Estimate:
        """How often the ``level`` interval held, as a share with its Wilson interval (n = points scored)."""
        k = (self.coverage_95 if level >= 0.95 else self.coverage_80) * self.points
        return Estimate.proportion(round(k), self.points, min_n=10)


def backtest(y: np.ndarray, dates: pd.DatetimeIndex, forecaster: Forecaster, h: int, m: int,
             origins: int = 3, freq: str = "D", min_train: int | None = None, method: str = "",
             aggregate: str | None = None) -> Backtest | None:
    """Fit ``forecaster(y_train, dates_train, h)`` at ``origins`` origins (the last h, 2h, … periods held out)
    and score it and seasonal naive on each held-out stretch. None when no origin leaves ``min_train`` points
    (two seasons by default). With ``aggregate`` (``W`` or ``M``) a daily series is scored as weekly or
    monthly sums (forecast, intervals from summed paths, actuals and the MASE scale alike)."""
    y = np.asarray(y, float)
    min_train = min_train or 2 * m
    scores, naive, cov80, cov95, pts, used = [], [], [], [], 0, 0
    for k in range(origins, 0, -1):
        cut = len(y) - k * h
        if cut < min_train:
            continue
        train, test = y[:cut], y[cut:cut + h]
        fc = forecaster(train, dates[:cut], len(test))
        if fc is None:
            continue
        scale_m, hist = m, train
        if aggregate and aggregate != freq:  # summed periods: the naive point is the median of its summed paths
            sn = seasonal_naive(train, dates[:cut], m, len(test), freq=freq)
            fc, sn = fc.aggregate(aggregate), sn.aggregate(aggregate)
            naive_point = sn.frame["forecast"].to_numpy()
            _, test = sum_by_period(test, dates[cut:cut + h], aggregate)
            _, hist = sum_by_period(train, dates[:cut], aggregate)
            scale_m = SEASON[aggregate] if len(hist) > SEASON[aggregate] else 1
        else:  # only its point is scored, and that needs no paths
            naive_point = seasonal_naive_point(train, m, len(test))
        f = fc.frame
        scores.append(mase(test, f["forecast"].to_numpy(), hist, scale_m))
        naive.append(mase(test, naive_point, hist, scale_m))
        cov80.append(coverage(test, f["low_80"], f["high_80"]) * len(test))
        cov95.append(coverage(test, f["low_95"], f["high_95"]) * len(test))
        pts += len(test)
        used += 1
        method = method or fc.method
    if not used:
        return None
    return Backtest(method, float(np.mean(scores)), float(np.mean(naive)), float(sum(cov80) / pts),
                    float(sum(cov95) / pts), used, pts)


# ----------------------------------------------------------------------------------------------- input checks
def check_series(dates: pd.Series, values: pd.Series, freq: str, allow_negative: bool = False,
                 seasons: int = 2) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Check a series for forecasting and return it sorted: dates on ``freq``'s grid, no duplicates or
    gaps, no missing or (unless ``allow_negative``) negative values, at least ``seasons`` seasons.
    Raises :class:`ForecastInputError` naming the first offending rows and the fix."""
    m = SEASON[freq]
    d = pd.to_datetime(pd.Series(dates), errors="coerce")
    v = pd.to_numeric(pd.Series(values), errors="coerce")
    bad = d.isna()
    if bad.any():
        rows = list(np.flatnonzero(bad.to_numpy())[:3] + 2)
        raise ForecastInputError(f"{int(bad.sum())} date(s) cannot be read (rows {rows}); write dates as YYYY-MM-DD")
    if v.isna().any():
        rows = list(np.flatnonzero(v.isna().to_numpy())[:3] + 2)
        raise ForecastInputError(f"{int(v.isna().sum())} value(s) are missing or not numbers (rows {rows}); "
                                 "fill them or remove the rows")
    if not allow_negative and (v < 0).any():
        rows = list(np.flatnonzero((v < 0).to_numpy())[:3] + 2)
        raise ForecastInputError(f"{int((v < 0).sum())} negative value(s) (rows {rows}); sales and counts cannot "
                                 "be negative: correct them, or pass --allow-negative for a series that can be")
    dup = d.duplicated(keep=False)
    if dup.any():
        ex = sorted(d[dup].dt.strftime("%Y-%m-%d").unique())[:3]
        raise ForecastInputError(f"{int(d.duplicated().sum())} duplicated date(s), e.g. {', '.join(ex)}; "
                                 "keep one row per period (sum the values first)")
    order = np.argsort(d.to_numpy())
    d, v = d.iloc[order].reset_index(drop=True), v.iloc[order].reset_index(drop=True)
    grid = {"D": d.dt.normalize(), "W": d.dt.to_period("W-SUN").dt.start_time,
            "M": d.dt.to_period("M").dt.start_time}[freq]
    if grid.duplicated().any():
        ex = grid[grid.duplicated()].dt.strftime("%Y-%m-%d").iloc[0]
        raise ForecastInputError(f"two dates fall in the same period (near {ex}) at frequency {freq}; "
                                 "sum the series to that frequency or choose a finer --freq")
    full = pd.date_range(grid.iloc[0], grid.iloc[-1], freq=PANDAS_FREQ[freq])
    if len(full) != len(grid):
        missing = full.difference(pd.DatetimeIndex(grid))
        ex = ", ".join(missing[:3].strftime("%Y-%m-%d"))
        raise ForecastInputError(f"{len(missing)} period(s) missing, e.g. {ex}; add them (with 0 if nothing "
                                 "was sold) so that the series has no gaps")
    if len(v) < seasons * m:
        raise ForecastInputError(f"{len(v)} points at frequency {freq}; at least {seasons * m} "
                                 f"({seasons} seasons of {m}) are needed to compare with seasonal naive")
    return pd.DatetimeIndex(grid), v.to_numpy(dtype=float)


# ----------------------------------------------------------------------------------------------- choice
@dataclass
class Chosen:
    """The chosen forecast, its backtest, every candidate's backtest, and why the choice was made
    (``reason``: ``best_backtest``, ``naive_best`` or ``no_backtest``)."""

    forecast: Forecast
    backtest: Backtest | None
    candidates: dict[str, Backtest]
    reason: str

    @property
    def method(self) -> str:
        return self.forecast.method


def candidates(freq: str, events: pd.DataFrame | None = None,
               levels: Sequence[float] = LEVELS) -> dict[str, Forecaster]:
    """The forecasters tried at a frequency: the calendar model for daily series, ETS for all."""
    m = SEASON[freq]
    lv = tuple(sorted(set(levels) | set(LEVELS)))  # the backtest scores 80% and 95% whatever is written
    out: dict[str, Forecaster] = {}
    if freq == "D":
        out["calendar"] = lambda y, d, h: fit_calendar(y, d, events).simulate(events, h, levels=lv)
    out["ets"] = lambda y, d, h: ets_forecast(y, d, m, h, freq, levels=lv)
    return out


def choose(y: np.ndarray, dates: pd.DatetimeIndex, freq: str, h: int, events: pd.DataFrame | None = None,
           origins: int = 3, only: Sequence[str] | None = None, backtest_h: int | None = None,
           aggregate: str | None = None, levels: Sequence[float] = LEVELS) -> Chosen:
    """Backtest each candidate, forecast ``h`` periods with the one of lowest MASE; seasonal naive
    (with its own backtest) when none beats it. ``only`` restricts the candidates by key; ``aggregate``
    scores a daily series as weekly or monthly sums (see :func:`backtest`)."""
    m = SEASON[freq]
    cands = {k: f for k, f in candidates(freq, events, levels).items() if not only or k in only}
    bh = backtest_h or h
    scores = {k: b for k, f in cands.items()
              if (b := backtest(y, dates, f, bh, m, origins, freq, method=k, aggregate=aggregate))}

    def naive() -> Forecast:  # only when it is shown (its own generator: the same paths whenever it is made)
        return seasonal_naive(y, dates, m, h, levels=tuple(sorted(set(levels) | set(LEVELS))), freq=freq)

    if not scores:
        return Chosen(naive(), None, {}, "no_backtest")
    key = min(scores, key=lambda k: scores[k].mase)
    best = scores[key]
    if not best.beats_naive:
        nb = backtest(y, dates, lambda a, d, hh: seasonal_naive(a, d, m, hh, freq=freq), bh, m, origins, freq,
                      method="seasonal_naive", aggregate=aggregate)
        return Chosen(naive(), nb, scores, "naive_best")
    fc = cands[key](y, dates, h)
    if fc is None:
        return Chosen(naive(), None, scores, "no_backtest")
    return Chosen(fc, best, scores, "best_backtest")
