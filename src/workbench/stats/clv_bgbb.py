"""BG/BB: repeat transactions in discrete time (memberships, subscriptions renewed by period, donations).

Each customer has ``n`` transaction opportunities after the first (a month, a renewal date, a yearly
drive), transacted at ``frequency`` of them, the last at opportunity ``recency``. While "alive" a
customer transacts at each opportunity with probability p ~ Beta(alpha, beta) and, after each
opportunity, drops out for good with probability theta ~ Beta(gamma, delta). Fader, Hardie and
Shang (2010), "Customer-base analysis in a discrete-time noncontractual setting", Marketing Science
29(6), 1086-1108: likelihood (eq. 5), probability alive (eq. 11) and expected transactions in the
next ``n_star`` opportunities (eq. 13). Fitted by maximum likelihood on log-parameters with the
same failure checks as :mod:`workbench.stats.clv` (too few, edge, absurd).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from workbench.stats.clv import MIN_CUSTOMERS, MIN_REPEAT, _fit, _intervals, _not_fitted, fit_status

NAMES = ("alpha", "beta", "gamma", "delta")


def _lbeta(a, b):
    return special.betaln(a, b)


def bgbb_loglik(params: np.ndarray, x: np.ndarray, tx: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Per-customer BG/BB log-likelihood (Fader, Hardie and Shang 2010, eq. 5)."""
    alpha, beta, gamma, delta = params
    base_ab, base_gd = _lbeta(alpha, beta), _lbeta(gamma, delta)
    terms = [_lbeta(alpha + x, beta + n - x) - base_ab + _lbeta(gamma, delta + n) - base_gd]
    for i in range(int(np.max(n - tx)) if len(n) else 0):
        term = _lbeta(alpha + x, beta + tx - x + i) - base_ab + _lbeta(gamma + 1, delta + tx + i) - base_gd
        terms.append(np.where(i < n - tx, term, -np.inf))
    return special.logsumexp(np.stack(terms), axis=0)


@dataclass
class BGBB:
    """A fitted BG/BB: parameters alpha, beta, gamma, delta with Wald intervals, n customers, log-likelihood;
    ``status`` ``ok``, ``too_few`` or ``failed`` (with ``reason``), as for :class:`workbench.stats.clv.BGNBD`."""

    params: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    cov_log: np.ndarray = field(repr=False)
    n: int = 0
    loglik: float = float("nan")
    status: str = "ok"
    reason: str | None = None
    method: str = "bgbb"

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def vector(self) -> np.ndarray:
        return np.array([self.params[k] for k in NAMES])


def fit_bgbb(summary: pd.DataFrame, weights: str | None = None) -> BGBB:
    """Fit BG/BB to ``frequency``, ``recency`` and ``n`` (one row per customer, or per pattern with a
    count column named by ``weights``). Too few below :data:`MIN_CUSTOMERS` customers or
    :data:`MIN_REPEAT` with a repeat transaction; a degenerate fit comes back ``failed``."""
    w = summary[weights].to_numpy(float) if weights else np.ones(len(summary))
    n_cust = int(w.sum())
    repeat = int(w[summary["frequency"].to_numpy() > 0].sum())
    if n_cust < MIN_CUSTOMERS or repeat < MIN_REPEAT:
        params, intervals, cov = _not_fitted(NAMES)
        return BGBB(params, intervals, cov, n_cust, status="too_few",
                    reason="too_few_customers" if n_cust < MIN_CUSTOMERS else "too_few_repeat")
    data = tuple(summary[c].to_numpy(float) for c in ("frequency", "recency", "n"))
    est, cov, ll, converged, flat = _fit(bgbb_loglik, data, np.array([1.0, 1.0, 1.0, 1.0]), w)
    reason = fit_status(est, cov, converged, flat)
    if reason is not None:
        params, intervals, nan_cov = _not_fitted(NAMES)
        return BGBB(params, intervals, nan_cov, n_cust, ll, "failed", reason)
    return BGBB(dict(zip(NAMES, map(float, est))), _intervals(NAMES, est, cov), cov, n_cust, ll)


def probability_alive(params: np.ndarray, x: np.ndarray, tx: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Probability of being alive at opportunity n + 1 (Fader, Hardie and Shang 2010, eq. 11)."""
    alpha, beta, gamma, delta = params
    x, tx, n = (np.asarray(v, float) for v in (x, tx, n))
    top = (_lbeta(alpha + x, beta + n - x) - _lbeta(alpha, beta) + _lbeta(gamma, delta + n + 1)
           - _lbeta(gamma, delta))
    return np.exp(top - bgbb_loglik(params, x, tx, n))


def expected_transactions(params: np.ndarray, n_star: int, x: np.ndarray, tx: np.ndarray,
                          n: np.ndarray) -> np.ndarray:
    """Expected transactions in the next ``n_star`` opportunities of a customer with history (x, t_x, n)
    (Fader, Hardie and Shang 2010, eq. 13)."""
    alpha, beta, gamma, delta = params
    x, tx, n = (np.asarray(v, float) for v in (x, tx, n))
    # E[p | history, alive] x P(alive at n + k | history), summed over k: eq. 13 written as its sum,
    # which needs no case for gamma = 1
    lead = _lbeta(alpha + x + 1, beta + n - x) - _lbeta(alpha, beta) - bgbb_loglik(params, x, tx, n)
    total = np.zeros_like(x)
    for k in range(1, int(n_star) + 1):
        total += np.exp(lead + _lbeta(gamma, delta + n + k) - _lbeta(gamma, delta))
    return total
