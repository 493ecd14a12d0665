"""Daily anomalies: a seasonal baseline and a robust z-score, one definition for every page.

:func:`robust_baseline` compares each day with the median of the same weekday over the previous
weeks (only the past is used, so the last days can be judged as they arrive) and scales the
residual by its median absolute deviation (1.4826 × MAD estimates the standard deviation of a
normal residual; Rousseeuw and Croux, 1993). A day beyond :data:`Z_ALERT` robust standard
deviations is flagged. The sales page (days that break the pattern) and the risk page (KPI
alerts) both use it, with the same threshold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Robust z beyond which a day is an alert.
Z_ALERT = 4.0
#: A scale at or below this (no variation in the history) gives no z-score rather than an absurd one.
MIN_SCALE = 1e-9


def robust_baseline(daily: pd.DataFrame, value: str, count: bool = False, weeks: int = 8,
                    scale_days: int = 56, exclude: pd.Series | np.ndarray | None = None) -> pd.DataFrame:
    """Add a seasonal baseline and a robust z-score to a daily series.

    ``daily`` has ``date`` (a complete calendar) and ``value``. The baseline of a day is the
    median of the same weekday over the previous ``weeks`` weeks; the scale is 1.4826 × the
    median absolute residual over the previous ``scale_days`` days (with ``count``, never below
    the Poisson standard deviation √baseline). Returns a copy with ``baseline``, ``scale``,
    ``low``/``high`` (baseline ± Z_ALERT × scale) and ``robust_z`` (NaN where history is short, or
    where the history has no variation at all: with a zero MAD the scale falls back to the mean
    absolute deviation, and with none either a day cannot be judged; never a z of 10¹⁰).

    ``exclude`` (booleans aligned with ``daily``'s rows, e.g. campaign days) marks days the baseline
    and the scale do not learn from; those days are still scored against the baseline of the others,
    so that a long event (a 23-day Double 11) neither lifts the weeks after it nor hides itself.
    """
    order = daily["date"].argsort(kind="stable").to_numpy()
    out = daily.iloc[order].reset_index(drop=True).copy()
    y = out[value].astype(float)
    learn = y
    if exclude is not None:
        mask = np.asarray(exclude, dtype=bool)[order]
        learn = y.where(~mask)
    weekday = pd.to_datetime(out["date"]).dt.day_of_week
    base = learn.groupby(weekday).transform(
        lambda s: s.shift(1).rolling(weeks, min_periods=max(3, weeks // 2)).median())
    resid = y - base
    past = (learn - base).abs().shift(1).rolling(scale_days, min_periods=21)
    scale = past.median() * 1.4826
    # more than half the residuals exactly zero (a series of mostly zeros, or a constant one): the MAD
    # is 0, so fall back to the mean absolute deviation (× √(π/2), the sd of a normal residual)
    scale = scale.where(scale > 0, past.mean() * 1.2533)
    if count:
        scale = np.maximum(scale, np.sqrt(base.clip(lower=1.0)))
    scale = np.maximum(scale, 0.01 * base.abs())
    # a history without any variation (and a zero baseline) cannot say how unusual a day is: no z
    scale = scale.where(scale > MIN_SCALE)
    out["baseline"] = base
    out["scale"] = scale
    out["low"] = base - Z_ALERT * scale
    out["high"] = base + Z_ALERT * scale
    out["robust_z"] = resid / scale
    return out


def pattern_breaks(daily: pd.DataFrame, value: str, z: float = Z_ALERT, count: bool = False,
                   exclude: pd.Series | np.ndarray | None = None) -> pd.DataFrame:
    """Days of a complete daily series that break its weekly pattern, by :func:`robust_baseline`.

    Returns a copy with the columns of :func:`robust_baseline` plus ``excess`` (value − baseline),
    ``excess_pct`` (value / baseline − 1, NaN where the baseline is not positive) and ``flag``
    (|robust z| > ``z``; False where the history is too short for a baseline). ``exclude`` as in
    :func:`robust_baseline`.
    """
    out = robust_baseline(daily, value, count=count, exclude=exclude)
    base = out["baseline"]
    out["excess"] = out[value] - base
    out["excess_pct"] = out[value] / base.where(base > 0) - 1
    out["flag"] = (out["robust_z"].abs() > z).fillna(False).astype(bool)
    return out
