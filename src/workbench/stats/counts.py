"""Tail probabilities and intervals of counts: Poisson and binomial (arrays in, arrays out)."""

from __future__ import annotations

import numpy as np


def poisson_interval(counts: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """The exact (Garwood) interval of a Poisson mean for each observed count, at ``level``."""
    from scipy import stats as sps

    k = np.asarray(counts, dtype=float)
    a = 1 - level
    low = np.where(k > 0, sps.chi2.ppf(a / 2, 2 * k) / 2, 0.0)
    high = sps.chi2.ppf(1 - a / 2, 2 * k + 2) / 2
    return low, high


def poisson_upper_tail(k: np.ndarray, mean: float) -> np.ndarray:
    """P(X ≥ k) for X ~ Poisson(mean); NaN when ``mean`` is not positive (a baseline of no events
    cannot say how unusual a count is: every count above 0 would have probability 0)."""
    from scipy import stats as sps

    k = np.asarray(k, dtype=float)
    if not (np.isfinite(mean) and mean > 0):
        return np.full(k.shape, np.nan)
    return sps.poisson.sf(k - 1, mean)


def binomial_upper_tail(k: np.ndarray, n: np.ndarray, p: float) -> np.ndarray:
    """P(X ≥ k) for X ~ Binomial(n, p); NaN where n < 1 or when ``p`` is not in (0, 1) (a baseline
    rate of 0 would make any event impossible, hence p = 0: no evidence, only the lack of a baseline)."""
    from scipy import stats as sps

    k, n = np.broadcast_arrays(np.asarray(k, dtype=float), np.asarray(n, dtype=float))
    if not (np.isfinite(p) and 0 < p < 1):
        return np.full(k.shape, np.nan)
    return np.where(n >= 1, sps.binom.sf(k - 1, np.maximum(n, 1), p), np.nan)
