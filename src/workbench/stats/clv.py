"""Customer lifetime value: BG/NBD (and MBG/NBD) for repeat purchases, Gamma-Gamma for spend per purchase.

Per-customer summaries (``frequency``, ``recency``, ``T``, ``monetary``; see
:func:`workbench.sql.crm.summary_from_transactions`) in, fitted models and predictions out. BG/NBD:
Fader, Hardie and Lee (2005), "Counting your customers the easy way"; MBG/NBD: Batislam, Denizel
and Filiztekin (2007); Gamma-Gamma: Fader, Hardie and Lee (2005), "RFM and CLV". All fitted by
maximum likelihood with scipy on log-parameters; intervals from the numerical Hessian.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special

from workbench.stats.result import Estimate


def _bgnbd_loglik(params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie and Lee 2005, eq. 6)."""
    r, alpha, a, b = params
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + tx),
                      -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def _mbgnbd_loglik(params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per-customer MBG/NBD log-likelihood (Batislam, Denizel and Filiztekin 2007): as BG/NBD, but a
    customer may also drop out right after the first purchase."""
    r, alpha, a, b = params
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x + 1) - special.gammaln(b) - special.gammaln(a + b + x + 1)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
    return a1 + a2 + a3 + np.logaddexp(0, a4)


def _gg_loglik(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean spend ``m`` over ``x`` purchases."""
    p, q, v = params
    return (special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q) + q * np.log(v)
            + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(x * m + v))


def _fit(loglik, data: tuple, start: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Maximise a weighted log-likelihood over log-parameters; returns (params, covariance of log-params, ll)."""
    total = weights.sum()

    def nll(logp: np.ndarray) -> float:
        val = -(weights * loglik(np.exp(logp), *data)).sum() / total
        return val if np.isfinite(val) else 1e10

    bounds = [(-12.0, 16.0)] * len(start)   # keeps a degenerate fit (no heterogeneity) finite
    res = optimize.minimize(nll, np.log(start), method="L-BFGS-B", bounds=bounds,
                            options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 2000})
    hess = _hessian(nll, res.x) * total
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        cov = np.full_like(hess, np.nan)
    return np.exp(res.x), cov, -res.fun * total


def _hessian(fn, x0: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function."""
    k = len(x0)
    h = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            e_i, e_j = np.eye(k)[i] * eps, np.eye(k)[j] * eps
            h[i, j] = h[j, i] = (fn(x0 + e_i + e_j) - fn(x0 + e_i - e_j) - fn(x0 - e_i + e_j)
                                 + fn(x0 - e_i - e_j)) / (4 * eps * eps)
    return h


@dataclass
class BGNBD:
    """Fitted BG/NBD (or MBG/NBD): parameters r, alpha, a, b with Wald intervals (from the Hessian), n and
    log-likelihood; ``variant`` is ``"bgnbd"`` or ``"mbgnbd"``."""

    params: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    cov_log: np.ndarray = field(repr=False)
    n: int = 0
    loglik: float = float("nan")
    variant: str = "bgnbd"

    @property
    def method(self) -> str:
        """The method key: ``bgnbd`` (Fader, Hardie & Lee 2005) or ``mbgnbd`` (Batislam et al. 2007)."""
        return self.variant

    @property
    def vector(self) -> np.ndarray:
        return np.array([self.params[k] for k in ("r", "alpha", "a", "b")])


@dataclass
class GammaGamma:
    """Fitted Gamma-Gamma spend model: p, q, v (gamma) with Wald intervals, n (repeat customers)."""

    params: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    cov_log: np.ndarray = field(repr=False)
    n: int = 0
    method: str = "gamma-gamma"

    @property
    def vector(self) -> np.ndarray:
        return np.array([self.params[k] for k in ("p", "q", "v")])


def _intervals(names: tuple[str, ...], est: np.ndarray, cov: np.ndarray,
               level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Wald intervals on the log scale at ``level``, mapped back (positive parameters stay positive)."""
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + level / 2))
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    return {k: (float(e * np.exp(-z * s)), float(e * np.exp(z * s))) for k, e, s in zip(names, est, se)}


def fit_bgnbd(summary: pd.DataFrame, variant: str = "bgnbd") -> BGNBD:
    """Fit BG/NBD (``variant="mbgnbd"``: MBG/NBD) to ``frequency``, ``recency`` and ``T`` (one row per
    customer, see :func:`summary_from_transactions`). Identical rows are pooled with weights, so the fit
    cost grows with distinct histories, not customers."""
    g = summary.groupby(["frequency", "recency", "T"], as_index=False).size()
    data = (g["frequency"].to_numpy(float), g["recency"].to_numpy(float), g["T"].to_numpy(float))
    start = np.array([0.5, max(float(summary["T"].mean()) / 4, 0.5), 0.8, 2.5])
    loglik = _bgnbd_loglik if variant == "bgnbd" else _mbgnbd_loglik
    est, cov, ll = _fit(loglik, data, start, g["size"].to_numpy(float))
    names = ("r", "alpha", "a", "b")
    return BGNBD(dict(zip(names, map(float, est))), _intervals(names, est, cov), cov, len(summary), ll, variant)


def fit_gamma_gamma(summary: pd.DataFrame) -> GammaGamma:
    """Fit the Gamma-Gamma model to ``monetary`` (mean repeat spend) and ``frequency`` of repeat customers."""
    rep = summary[(summary["frequency"] > 0) & (summary["monetary"] > 0)]
    data = (rep["frequency"].to_numpy(float), rep["monetary"].to_numpy(float))
    start = np.array([2.0, 3.0, float(rep["monetary"].mean())])
    est, cov, _ = _fit(_gg_loglik, data, start, np.ones(len(rep)))
    names = ("p", "q", "v")
    return GammaGamma(dict(zip(names, map(float, est))), _intervals(names, est, cov), cov, len(rep))


def expected_purchases(params: np.ndarray, t: float, x: np.ndarray, tx: np.ndarray, T: np.ndarray,
                       variant: str = "bgnbd") -> np.ndarray:
    """Expected purchases in the next ``t`` units for customers with history (x, t_x, T)
    (BG/NBD: FHL 2005, eq. 10; MBG/NBD: Batislam et al. 2007)."""
    r, alpha, a, b = params
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    z = t / (alpha + T + t)
    if variant == "mbgnbd":
        hyp = special.hyp2f1(r + x, b + x + 1, a + b + x, z)
        num = (a + b + x) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
        return num / (1 + a / (b + x) * ((alpha + T) / (alpha + tx)) ** (r + x))
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    return num / (1 + (x > 0) * a / np.maximum(b + x - 1, 1e-12) * ((alpha + T) / (alpha + tx)) ** (r + x))


def probability_alive(params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray,
                      variant: str = "bgnbd") -> np.ndarray:
    """Probability that a customer with history (x, t_x, T) is still active (FHL 2005, eq. 11; MBG/NBD
    lets a customer without a repeat purchase be inactive too)."""
    r, alpha, a, b = params
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    if variant == "mbgnbd":
        return 1 / (1 + a / (b + x) * ((alpha + T) / (alpha + tx)) ** (r + x))
    return 1 / (1 + (x > 0) * a / np.maximum(b + x - 1, 1e-12) * ((alpha + T) / (alpha + tx)) ** (r + x))


def expected_spend(params: np.ndarray, x: np.ndarray, m: np.ndarray, population_mean: float) -> np.ndarray:
    """Gamma-Gamma expected spend per purchase; customers without a repeat purchase get the population mean."""
    p, q, v = params
    x = np.asarray(x, dtype=float)
    m = np.nan_to_num(np.asarray(m, dtype=float))
    cond = p * (v + x * m) / (p * x + q - 1)
    return np.where(x > 0, cond, population_mean)


def mean_clv(bg: BGNBD, gg: GammaGamma, summary: pd.DataFrame, horizon: float, level: float = 0.95,
             seed: int = 0, draws: int = 200, subset: int = 3000) -> tuple[pd.DataFrame, Estimate]:
    """Each customer's expected purchases, probability active, spend and CLV over ``horizon``, and the mean CLV.

    Returns ``summary`` with ``expected_purchases``, ``p_alive``, ``expected_spend`` and ``clv``
    added, and the mean CLV as an :class:`Estimate` (unit ``money``, ``method="clv-param-draws"``):
    its interval comes from ``draws`` draws of the parameters' asymptotic distribution (parameter
    uncertainty only), evaluated on a fixed random subset of at most ``subset`` customers and scaled
    to the full mean.
    """
    variant = bg.variant
    pop_mean = float(summary.loc[summary["frequency"] > 0, "monetary"].mean())
    x, tx, T, m = summary["frequency"], summary["recency"], summary["T"], summary["monetary"]
    exp_n = expected_purchases(bg.vector, horizon, x, tx, T, variant)
    spend = expected_spend(gg.vector, x, m, pop_mean)
    customers = summary.assign(expected_purchases=exp_n, p_alive=probability_alive(bg.vector, x, tx, T, variant),
                               expected_spend=spend, clv=exp_n * spend)
    rng = np.random.default_rng(seed)
    sub = summary.iloc[rng.choice(len(summary), min(len(summary), subset), replace=False)]
    sx, stx, sT, sm_ = sub["frequency"], sub["recency"], sub["T"], sub["monetary"]
    base = float(np.mean(expected_purchases(bg.vector, horizon, sx, stx, sT, variant)
                         * expected_spend(gg.vector, sx, sm_, pop_mean)))
    ratios = []
    for _ in range(draws):
        pb = np.exp(np.log(bg.vector) + rng.multivariate_normal(np.zeros(4), np.nan_to_num(bg.cov_log)))
        pg = np.exp(np.log(gg.vector) + rng.multivariate_normal(np.zeros(3), np.nan_to_num(gg.cov_log)))
        e = expected_purchases(pb, horizon, sx, stx, sT, variant)
        s_ = expected_spend(pg, sx, sm_, pop_mean)
        ratios.append(float(np.nanmean(e * s_)) / base)
    mean = float(customers["clv"].mean())
    a = (1 - level) / 2
    lo, hi = (mean * np.nanquantile(ratios, [a, 1 - a])) if base > 0 else (math.nan, math.nan)
    return customers, Estimate(mean, float(lo), float(hi), level, len(summary), "clv-param-draws", "money",
                               bounds=(0.0, math.inf))
