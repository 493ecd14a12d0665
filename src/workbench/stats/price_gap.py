"""Intervals of price gaps: a price against a reference price, or a mean relative price index.

Arrays in, arrays out (``gap``, ``low``, ``high`` as relative gaps, 0.12 = 12% above).
"""

from __future__ import annotations

import numpy as np


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def mean_se(n: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """Standard error of a mean from count ``n``, sum ``s1`` and sum of squares ``s2`` (NaN for n < 2)."""
    n, s1, s2 = (np.asarray(a, dtype=float) for a in (n, s1, s2))
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(n > 1, (s2 - s1 ** 2 / n) / (n - 1), np.nan)
        return np.sqrt(np.clip(var, 0, None) / n)


def ratio_gap(price: np.ndarray, se_price: np.ndarray, reference: np.ndarray, se_reference: np.ndarray,
              level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``price / reference − 1`` with a delta-method interval on the log ratio (noise in both prices)."""
    p, r = np.asarray(price, dtype=float), np.asarray(reference, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_gap = np.log(p / r)
        half = _z(level) * np.sqrt((np.asarray(se_price) / p) ** 2 + (np.asarray(se_reference) / r) ** 2)
    return np.exp(log_gap) - 1, np.exp(log_gap - half) - 1, np.exp(log_gap + half) - 1


def index_gap(rel: np.ndarray, sd_rel: np.ndarray, n: np.ndarray,
              level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``rel − 1`` for a mean relative price index with a normal interval from its spread over ``n`` lines."""
    rel, sd, n = (np.asarray(a, dtype=float) for a in (rel, sd_rel, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        half = _z(level) * sd / np.sqrt(n)
    return rel - 1, rel - 1 - half, rel - 1 + half


def mean_interval(mean: np.ndarray, sd: np.ndarray, n: np.ndarray,
                  level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """A normal interval ``mean ± z sd / √n`` (a missing spread counts as none)."""
    mean, sd, n = (np.asarray(a, dtype=float) for a in (mean, sd, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        half = _z(level) * np.nan_to_num(sd) / np.sqrt(n)
    return mean - half, mean + half
