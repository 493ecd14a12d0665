"""Daily anomalies: a seasonal baseline and a robust z-score, one definition for every page.

:func:`robust_baseline` compares each day with the median of the same weekday over the previous
weeks (only the past is used, so the last days can be judged as they arrive) and scales the
residual by its median absolute deviation (1.4826 × MAD estimates the standard deviation of a
normal residual; Rousseeuw and Croux, 1993). A day beyond :data:`Z_ALERT` robust standard
deviations is flagged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Robust z beyond which a day is an alert.
Z_ALERT = 4.0


def robust_baseline(daily: pd.DataFrame, value: str, count: bool = False, weeks: int = 8,
                    scale_days: int = 56) -> pd.DataFrame:
    """Add a seasonal baseline and a robust z-score to a daily series.

    ``daily`` has ``date`` (a complete calendar) and ``value``. The baseline of a day is the
    median of the same weekday over the previous ``weeks`` weeks; the scale is 1.4826 × the
    median absolute residual over the previous ``scale_days`` days (with ``count``, never below
    the Poisson standard deviation √baseline). Returns a copy with ``baseline``, ``scale``,
    ``low``/``high`` (baseline ± Z_ALERT × scale) and ``robust_z`` (NaN where history is short).
    """
    out = daily.sort_values("date").reset_index(drop=True).copy()
    y = out[value].astype(float)
    weekday = pd.to_datetime(out["date"]).dt.day_of_week
    base = y.groupby(weekday).transform(
        lambda s: s.shift(1).rolling(weeks, min_periods=max(3, weeks // 2)).median())
    resid = y - base
    scale = resid.abs().shift(1).rolling(scale_days, min_periods=21).median() * 1.4826
    if count:
        scale = np.maximum(scale, np.sqrt(base.clip(lower=1.0)))
    floor = 1e-9 + 0.01 * base.abs()
    scale = np.maximum(scale, floor)
    out["baseline"] = base
    out["scale"] = scale
    out["low"] = base - Z_ALERT * scale
    out["high"] = base + Z_ALERT * scale
    out["robust_z"] = resid / scale
    return out
