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
    """P(X ≥ k) for X ~ Poisson(mean)."""
    from scipy import stats as sps

    return sps.poisson.sf(np.asarray(k) - 1, mean)


def binomial_upper_tail(k: np.ndarray, n: np.ndarray, p: float) -> np.ndarray:
    """P(X ≥ k) for X ~ Binomial(n, p)."""
    from scipy import stats as sps

    return sps.binom.sf(np.asarray(k) - 1, np.asarray(n), p)
