"""Small statistical helpers shared by the analyses: intervals for rates and changes.

Every estimate a manager reads carries an interval or a sample size; these helpers return
them as plain numbers or as columns of a tidy frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def wilson_interval(successes: np.ndarray | float, trials: np.ndarray | float,
                    level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion; arrays in, (low, high) arrays out (NaN where trials = 0).

    Computed by statsmodels' ``proportion_confint(method="wilson")``, the same function that
    :meth:`workbench.stats.result.Estimate.proportion` uses, so tables and single figures agree.
    """
    from statsmodels.stats.proportion import proportion_confint

    k = np.atleast_1d(np.asarray(successes, dtype=float))
    n = np.atleast_1d(np.asarray(trials, dtype=float))
    k, n = np.broadcast_arrays(k, n)
    ok = n > 0
    low = np.full(k.shape, np.nan)
    high = np.full(k.shape, np.nan)
    if ok.any():
        lo, hi = proportion_confint(k[ok], n[ok], alpha=1 - level, method="wilson")
        low[ok], high[ok] = lo, hi
    if np.ndim(successes) == 0 and np.ndim(trials) == 0:
        return low[0], high[0]
    return low, high


def add_rate_interval(frame: pd.DataFrame, successes: str, trials: str, name: str,
                      level: float = 0.95) -> pd.DataFrame:
    """Return ``frame`` with ``name``, ``name_low`` and ``name_high`` (Wilson) columns added."""
    low, high = wilson_interval(frame[successes].to_numpy(), frame[trials].to_numpy(), level)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = frame[successes].to_numpy(dtype=float) / frame[trials].to_numpy(dtype=float)
    return frame.assign(**{name: rate, f"{name}_low": low, f"{name}_high": high})


def pct_change(current: float, previous: float) -> float:
    """Relative change (0.12 for +12%); NaN when the previous value is zero or missing."""
    if previous is None or not np.isfinite(previous) or previous == 0:
        return float("nan")
    return current / previous - 1.0


def ratio_of_means_interval(current: np.ndarray, previous: np.ndarray, level: float = 0.95,
                            n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Change in the mean of daily values between two periods with a bootstrap interval.

    Returns (change, low, high) as relative changes; days are resampled within each period.
    """
    cur = np.asarray(current, dtype=float)
    prev = np.asarray(previous, dtype=float)
    if len(cur) == 0 or len(prev) == 0 or prev.mean() == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    bc = rng.choice(cur, size=(n_boot, len(cur))).mean(axis=1)
    bp = rng.choice(prev, size=(n_boot, len(prev))).mean(axis=1)
    ratios = bc / np.where(bp == 0, np.nan, bp) - 1
    a = (1 - level) / 2
    return cur.mean() / prev.mean() - 1, float(np.nanquantile(ratios, a)), float(np.nanquantile(ratios, 1 - a))
