"""Customer lifetime value: BG/NBD, MBG/NBD and Pareto/NBD for repeat purchases, Gamma-Gamma for spend.

Per-customer summaries (``frequency``, ``recency``, ``T``, ``monetary``; see
:func:`workbench.sql.crm.summary_from_transactions`) in, fitted models and predictions out. BG/NBD:
Fader, Hardie and Lee (2005), "Counting your customers the easy way"; MBG/NBD: Batislam, Denizel
and Filiztekin (2007); Pareto/NBD: Schmittlein, Morrison and Colombo (1987), in the expressions of
Fader and Hardie (2005), "A note on deriving the Pareto/NBD model and related expressions"; Gamma-Gamma: Fader, Hardie and Lee (2005), "RFM and CLV". All fitted by
maximum likelihood with scipy on log-parameters; intervals from the numerical Hessian. A fit on too
few customers, or whose parameters sit at the edge of their space or are absurd in size, is reported
as ``too_few`` or ``failed`` (a result key), never as numbers. BG/BB for discrete-time data is in
:mod:`workbench.stats.clv_bgbb`.

Why our own code and not a library: ``lifetimes`` (last release 2020) is unmaintained, and
``pymc-marketing``'s CLV module brings about 40 packages (PyMC, PyTensor, numba, llvmlite, arviz,
xarray, matplotlib, scikit-learn) to a workbench that needs four likelihoods; these reproduce the
published CDNOW fits (tests/stats/test_clv.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special

from workbench.stats.result import Estimate


@dataclass(frozen=True)
class Rows:
    """The distinct values of x, t_x and T among a fit's rows (and each row's index among them), and the
    distinct (x, t_x) and (x, T) pairs together (:func:`pareto_pairs`): the likelihoods evaluate each term that
    depends on one of them once per distinct value and gather it to the rows. A customer base has far
    fewer distinct values than rows, and the values are the same as row by row, bit for bit
    (tests/stats/test_clv.py)."""

    x: tuple[np.ndarray, np.ndarray]
    tx: tuple[np.ndarray, np.ndarray]
    T: tuple[np.ndarray, np.ndarray]
    pairs: tuple

    @classmethod
    def of(cls, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> "Rows":
        def uniq(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            u, inv = np.unique(np.asarray(v, float), return_inverse=True)
            return u, inv.reshape(-1)
        return cls(uniq(x), uniq(tx), uniq(T), pareto_pairs(x, tx, T))


def _on(v: np.ndarray, fn, col: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """``fn(v)``, evaluated once per distinct value of ``v`` when ``col`` (its :class:`Rows` entry) is given."""
    return fn(v) if col is None else fn(col[0])[col[1]]


def _bgnbd_loglik(params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray,
                  rows: Rows | None = None) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie and Lee 2005, eq. 6). ``rows``: see :class:`Rows`."""
    r, alpha, a, b = params
    cx, ctx, cT = (None, None, None) if rows is None else (rows.x, rows.tx, rows.T)

    def a12(u: np.ndarray) -> np.ndarray:
        a1 = special.gammaln(r + u) - special.gammaln(r) + r * np.log(alpha)
        a2 = special.gammaln(a + b) + special.gammaln(b + u) - special.gammaln(b) - special.gammaln(a + b + u)
        return a1 + a2

    rx = _on(x, lambda u: r + u, cx)
    a3 = -rx * _on(T, lambda u: np.log(alpha + u), cT)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, _on(x, lambda u: np.log(a) - np.log(np.maximum(b + u - 1, 1e-300)), cx)
                      - rx * _on(tx, lambda u: np.log(alpha + u), ctx), -np.inf)
    return _on(x, a12, cx) + np.logaddexp(a3, a4)


def _mbgnbd_loglik(params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray,
                   rows: Rows | None = None) -> np.ndarray:
    """Per-customer MBG/NBD log-likelihood (Batislam, Denizel and Filiztekin 2007): as BG/NBD, but a
    customer may also drop out right after the first purchase. ``rows``: see :class:`Rows`."""
    r, alpha, a, b = params
    cx, ctx, cT = (None, None, None) if rows is None else (rows.x, rows.tx, rows.T)

    def a12(u: np.ndarray) -> np.ndarray:
        a1 = special.gammaln(r + u) - special.gammaln(r) + r * np.log(alpha)
        a2 = special.gammaln(a + b) + special.gammaln(b + u + 1) - special.gammaln(b) - special.gammaln(a + b + u + 1)
        return a1 + a2

    rx = _on(x, lambda u: r + u, cx)
    log_T = _on(T, lambda u: np.log(alpha + u), cT)
    a3 = -rx * log_T
    a4 = _on(x, lambda u: np.log(a) - np.log(b + u), cx) + rx * (log_T - _on(tx, lambda u: np.log(alpha + u), ctx))
    return _on(x, a12, cx) + a3 + np.logaddexp(0, a4)


def _log_hyp2f1(a: np.ndarray, b: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log of the Gauss hypergeometric function for 0 <= z < 1 (scipy's series; positive in this range)."""
    with np.errstate(all="ignore"):
        return np.log(special.hyp2f1(a, b, c, z))


def pareto_pairs(x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What :func:`_pareto_a0_log` needs to evaluate its two hypergeometric terms once per distinct
    (x, v) pair, v being a t_x or a T: ``(ux, uv, inv_tx, inv_T)``, the distinct pairs among the
    (x, t_x) and (x, T) of the rows together (both are on the same grid of weeks, so many (x, t_x) are
    also an (x, T)) and each row's index among them for its (x, t_x) and its (x, T). A customer base has
    far fewer of those than rows; the term is elementwise, so each row gathers the very value it would
    have computed itself."""
    x, tx, T = (np.asarray(v, float).reshape(-1) for v in (x, tx, T))
    n = len(x)
    keys, inverse = np.unique(np.stack([np.r_[x, x], np.r_[tx, T]], axis=1), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return keys[:, 0], keys[:, 1], inverse[:n], inverse[n:]


def _pareto_a0_term(params: np.ndarray, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """log[2F1(r+s+x, b; r+s+x+1; z(v)) / (big + v)^(r+s+x)], one of the two terms of log A0."""
    r, alpha, s, beta = params
    rsx = r + s + x
    if alpha >= beta:
        big, b_arg, z = alpha, s + 1, (alpha - beta) / (alpha + v)
    else:
        big, b_arg, z = beta, r + x, (beta - alpha) / (beta + v)
    return _log_hyp2f1(rsx, b_arg, rsx + 1, z) - rsx * np.log(big + v)


def _pareto_a0_log(params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray,
                   pairs: tuple | None = None) -> np.ndarray:
    """log A0 of the Pareto/NBD likelihood (Fader and Hardie 2005, "A note on deriving the Pareto/NBD
    model and related expressions", eq. 22-23), in the form that keeps the argument z in [0, 1).
    ``pairs`` (:func:`pareto_pairs` of the same rows) evaluates each term once per distinct pair."""
    if pairs is None:
        l1, l2 = _pareto_a0_term(params, x, tx), _pareto_a0_term(params, x, T)
    else:
        ux, uv, inv_tx, inv_T = pairs
        term = _pareto_a0_term(params, ux, uv)
        l1, l2 = term[inv_tx], term[inv_T]
    with np.errstate(all="ignore"):
        return l1 + np.log1p(-np.exp(np.minimum(l2 - l1, 0.0)))   # log(e^l1 - e^l2), l1 >= l2


def _pareto_loglik(params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray,
                   rows: Rows | None = None) -> np.ndarray:
    """Per-customer Pareto/NBD log-likelihood (Schmittlein, Morrison and Colombo 1987; the expression of
    Fader and Hardie 2005, eq. 22): gamma-Poisson purchases, gamma-exponential lifetimes. ``rows``: see
    :class:`Rows`."""
    r, alpha, s, beta = params
    cx, cT = (None, None) if rows is None else (rows.x, rows.T)
    head = _on(x, lambda u: special.gammaln(r + u) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta), cx)
    alive = -_on(x, lambda u: r + u, cx) * _on(T, lambda u: np.log(alpha + u), cT) \
        - _on(T, lambda u: s * np.log(beta + u), cT)
    a0 = _on(x, lambda u: np.log(s) - np.log(r + s + u), cx) \
        + _pareto_a0_log(params, x, tx, T, None if rows is None else rows.pairs)
    a0 = np.where(tx < T, a0, -np.inf)       # a purchase on the last day leaves no room to have died before it
    return head + np.logaddexp(alive, a0)


def _gg_loglik(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean spend ``m`` over ``x`` purchases."""
    p, q, v = params
    return (special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q) + q * np.log(v)
            + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(x * m + v))


BOUNDS = (-12.0, 16.0)       # log-parameter box: keeps a degenerate fit finite, and marks it (at the edge)
#: Below these counts a model is not fitted ("too few"): customers, and customers with a repeat purchase.
MIN_CUSTOMERS = 100
MIN_REPEAT = 20
#: Gamma-Gamma needs this many customers with a repeat purchase and a spend.
MIN_SPEND_CUSTOMERS = 30
#: A fitted parameter beyond these sizes, or whose 95% interval spans more than this factor, is a failed fit.
ABSURD = (1e-4, 1e4)
MAX_SPAN = 1e4


def _fit(loglik, data: tuple, start: np.ndarray, weights: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray, float, bool, bool]:
    """Maximise a weighted log-likelihood over log-parameters; returns (params, covariance of log-params, ll,
    converged, flat): ``flat`` when the likelihood does not fall off along its weakest direction before the
    edge of the box (see :func:`_flat_to_edge`). A start that fails is retried from a second point."""
    total = weights.sum()

    def nll(logp: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            val = -(weights * loglik(np.exp(logp), *data)).sum() / total
        return val if np.isfinite(val) else 1e10

    best = None
    for x0 in (np.log(start), np.log(start) + 0.7):
        res = optimize.minimize(nll, x0, method="L-BFGS-B", bounds=[BOUNDS] * len(start),
                                options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 2000})
        if best is None or res.fun < best.fun - 1e-9:
            best = res
        if best.success and best.fun < 1e9:
            break
    hess = _hessian(nll, best.x) * total
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        cov = np.full_like(hess, np.nan)
    flat = _flat_to_edge(lambda logp: -nll(logp) * total, best.x, cov)
    return np.exp(best.x), cov, -best.fun * total, bool(best.success) and best.fun < 1e9, flat


#: A log-likelihood drop that bounds a parameter: the 95% likelihood-ratio cut (chi-square, 1 df, / 2).
LR_DROP = 1.92


def _flat_to_edge(ll, x: np.ndarray, cov: np.ndarray) -> bool:
    """Whether the log-likelihood ``ll`` (of log-parameters) stays within :data:`LR_DROP` of its value at
    ``x`` along the weakest direction of ``cov`` (its largest eigenvector), in either sense, all the way
    to the edge of :data:`BOUNDS`. The likelihood-ratio interval is then unbounded on that side (the
    profile likelihood can only lie above this line), however tight the Wald interval from the local
    curvature looks: a ridge an optimiser stopped on part-way, such as a Beta mixing distribution
    drifting towards no heterogeneity when only a few purchase patterns are seen."""
    if not np.all(np.isfinite(cov)):
        return False  # no curvature at all: fit_status says so
    values, vectors = np.linalg.eigh((cov + cov.T) / 2)
    if values[-1] <= 0:
        return False
    v, sd, top = vectors[:, -1], float(np.sqrt(values[-1])), ll(x)
    for sense in (1.0, -1.0):
        step = sd
        for _ in range(16):
            point = x + sense * step * v
            if np.any(point < BOUNDS[0]) or np.any(point > BOUNDS[1]):
                return True  # reached the edge without the likelihood falling off
            with np.errstate(all="ignore"):
                if not top - ll(point) < LR_DROP:  # fell off (a NaN counts as fallen off)
                    break
            step *= 2
    return False


def _hessian(fn, x0: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function. A point met twice with the same bits (on the
    diagonal, ``x0 + e_i - e_i`` is mostly ``x0`` exactly, as is ``x0 - e_i + e_i``) is evaluated once."""
    k = len(x0)
    h = np.zeros((k, k))
    seen: dict[bytes, float] = {}

    def at(point: np.ndarray) -> float:
        key = point.tobytes()
        if key not in seen:
            seen[key] = fn(point)
        return seen[key]

    for i in range(k):
        for j in range(i, k):
            e_i, e_j = np.eye(k)[i] * eps, np.eye(k)[j] * eps
            h[i, j] = h[j, i] = (at(x0 + e_i + e_j) - at(x0 + e_i - e_j) - at(x0 - e_i + e_j)
                                 + at(x0 - e_i - e_j)) / (4 * eps * eps)
    return h


def fit_status(est: np.ndarray, cov: np.ndarray, converged: bool, flat: bool = False) -> str | None:
    """Why a fit is not to be shown, as a result key, or None when it is sound.

    ``not_converged``: the optimiser stopped without converging; ``edge``: a parameter sits at the edge
    of the searched space, or ``flat`` (the likelihood keeps rising, or stays level, towards it: no
    heterogeneity or no drop-out);
    ``no_curvature``: the Hessian is not positive definite (a parameter is not identified);
    ``absurd``: a parameter is absurd in size (beyond :data:`ABSURD`) or its 95% interval spans more
    than a factor :data:`MAX_SPAN`.
    """
    logp = np.log(est)
    if not converged:
        return "not_converged"
    if flat or np.any(logp < BOUNDS[0] + 0.5) or np.any(logp > BOUNDS[1] - 0.5):
        return "edge"
    var = np.diag(cov)
    if not np.all(np.isfinite(cov)) or np.any(var <= 0) or np.any(np.linalg.eigvalsh((cov + cov.T) / 2) <= 0):
        return "no_curvature"
    if np.any(est < ABSURD[0]) or np.any(est > ABSURD[1]) or np.any(np.exp(2 * 1.96 * np.sqrt(var)) > MAX_SPAN):
        return "absurd"
    return None


#: The purchase models fitted to (frequency, recency, T): key -> parameter names.
MODELS = {"bgnbd": ("r", "alpha", "a", "b"), "mbgnbd": ("r", "alpha", "a", "b"),
          "pareto": ("r", "alpha", "s", "beta")}


@dataclass
class BGNBD:
    """A fitted repeat-purchase model: BG/NBD, MBG/NBD or Pareto/NBD (``variant`` ``bgnbd``, ``mbgnbd``,
    ``pareto``). Parameters (r, alpha, a, b; Pareto/NBD: r, alpha, s, beta) with Wald intervals from the
    Hessian, n, repeat buyers, log-likelihood and AIC.

    ``status`` is ``ok``, ``too_few`` (fewer than :data:`MIN_CUSTOMERS` customers or
    :data:`MIN_REPEAT` repeat buyers: not fitted, parameters NaN) or ``failed`` (see :func:`fit_status`;
    the key is in ``reason``). Only an ``ok`` fit's numbers may be shown or used.
    """

    params: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    cov_log: np.ndarray = field(repr=False)
    n: int = 0
    loglik: float = float("nan")
    variant: str = "bgnbd"
    repeat: int = 0
    status: str = "ok"
    reason: str | None = None

    @property
    def method(self) -> str:
        """The method key: ``bgnbd`` (Fader, Hardie & Lee 2005), ``mbgnbd`` (Batislam et al. 2007) or
        ``pareto`` (Schmittlein, Morrison & Colombo 1987)."""
        return self.variant

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def aic(self) -> float:
        return 2 * len(self.params) - 2 * self.loglik

    @property
    def vector(self) -> np.ndarray:
        return np.array([self.params[k] for k in MODELS[self.variant]])


@dataclass
class GammaGamma:
    """Fitted Gamma-Gamma spend model: p, q, v (gamma) with Wald intervals, n (repeat customers);
    ``status``/``reason`` as for :class:`BGNBD` (too few below :data:`MIN_SPEND_CUSTOMERS`; q ≤ 1
    gives no finite mean spend and is a failed fit)."""

    params: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    cov_log: np.ndarray = field(repr=False)
    n: int = 0
    method: str = "gamma-gamma"
    status: str = "ok"
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

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


def _not_fitted(names: tuple[str, ...]) -> tuple[dict, dict, np.ndarray]:
    nan = float("nan")
    return ({k: nan for k in names}, {k: (nan, nan) for k in names}, np.full((len(names), len(names)), np.nan))


def fit_bgnbd(summary: pd.DataFrame, variant: str = "bgnbd") -> BGNBD:
    """Fit BG/NBD (``variant="mbgnbd"``: MBG/NBD; ``"pareto"``: Pareto/NBD) to ``frequency``, ``recency``
    and ``T`` (one row per customer, see :func:`summary_from_transactions`). Identical rows are pooled
    with weights, so the fit cost grows with distinct histories, not customers. Below
    :data:`MIN_CUSTOMERS` customers or :data:`MIN_REPEAT` repeat buyers the model is not fitted
    (``status="too_few"``); a degenerate fit comes back ``status="failed"`` with its reason."""
    names = MODELS[variant]
    n, repeat = len(summary), int((summary["frequency"] > 0).sum()) if len(summary) else 0
    if n < MIN_CUSTOMERS or repeat < MIN_REPEAT:
        params, intervals, cov = _not_fitted(names)
        return BGNBD(params, intervals, cov, n, float("nan"), variant, repeat, "too_few",
                     "too_few_customers" if n < MIN_CUSTOMERS else "too_few_repeat")
    g = summary.groupby(["frequency", "recency", "T"], as_index=False).size()
    data = (g["frequency"].to_numpy(float), g["recency"].to_numpy(float), g["T"].to_numpy(float))
    data = data + (Rows.of(*data),)
    scale = max(float(summary["T"].mean()) / 4, 0.5)
    start = np.array([0.5, scale, 0.6, scale]) if variant == "pareto" else np.array([0.5, scale, 0.8, 2.5])
    loglik = {"bgnbd": _bgnbd_loglik, "mbgnbd": _mbgnbd_loglik, "pareto": _pareto_loglik}[variant]
    est, cov, ll, converged, flat = _fit(loglik, data, start, g["size"].to_numpy(float))
    reason = fit_status(est, cov, converged, flat)
    if reason is not None:
        params, intervals, nan_cov = _not_fitted(names)
        return BGNBD(params, intervals, nan_cov, n, ll, variant, repeat, "failed", reason)
    return BGNBD(dict(zip(names, map(float, est))), _intervals(names, est, cov), cov, n, ll, variant, repeat)


def fit_gamma_gamma(summary: pd.DataFrame) -> GammaGamma:
    """Fit the Gamma-Gamma model to ``monetary`` (mean repeat spend) and ``frequency`` of repeat customers;
    ``status`` ``too_few`` below :data:`MIN_SPEND_CUSTOMERS` of them, ``failed`` for a degenerate fit."""
    names = ("p", "q", "v")
    rep = summary[(summary["frequency"] > 0) & (summary["monetary"] > 0)]
    if len(rep) < MIN_SPEND_CUSTOMERS:
        params, intervals, cov = _not_fitted(names)
        return GammaGamma(params, intervals, cov, len(rep), status="too_few", reason="too_few_repeat")
    data = (rep["frequency"].to_numpy(float), rep["monetary"].to_numpy(float))
    start = np.array([2.0, 3.0, float(rep["monetary"].mean())])
    est, cov, _, converged, flat = _fit(_gg_loglik, data, start, np.ones(len(rep)))
    reason = fit_status(est, cov, converged, flat) or ("absurd" if est[1] <= 1 else None)
    if reason is not None:
        params, intervals, nan_cov = _not_fitted(names)
        return GammaGamma(params, intervals, nan_cov, len(rep), status="failed", reason=reason)
    return GammaGamma(dict(zip(names, map(float, est))), _intervals(names, est, cov), cov, len(rep))


def choose_model(summary: pd.DataFrame, variants: tuple[str, ...] = ("bgnbd", "mbgnbd", "pareto")
                 ) -> tuple[BGNBD | None, dict[str, BGNBD]]:
    """Fit each of ``variants`` to the same (calibration) summary and keep the sound fit of lowest AIC
    (all have four parameters, so this is the highest likelihood). Returns the kept fit (None when
    none is sound) and every fit by variant. The hold-out plays no part in the choice."""
    fits = {v: fit_bgnbd(summary, v) for v in variants}
    sound = [f for f in fits.values() if f.ok]
    return (min(sound, key=lambda f: f.aic) if sound else None), fits


def _pareto_p_alive(params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray,
                    pairs: tuple | None = None) -> np.ndarray:
    """Pareto/NBD probability of being alive at T (Fader and Hardie 2005, eq. 18). ``pairs``
    (:func:`pareto_pairs` of the same rows): the hypergeometric terms once per distinct pair, same values."""
    r, alpha, s, beta = params
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    a0 = np.log(s) - np.log(r + s + x) + _pareto_a0_log(params, x, tx, T, pairs)
    return np.exp(alive - np.logaddexp(alive, a0))


def expected_purchases(params: np.ndarray, t: float, x: np.ndarray, tx: np.ndarray, T: np.ndarray,
                       variant: str = "bgnbd", pairs: tuple | None = None) -> np.ndarray:
    """Expected purchases in the next ``t`` units for customers with history (x, t_x, T)
    (BG/NBD: FHL 2005, eq. 10; MBG/NBD: Batislam et al. 2007; Pareto/NBD: Schmittlein et al. 1987,
    in Fader and Hardie 2005, eq. 21). ``pairs``: see :func:`_pareto_p_alive` (Pareto/NBD only)."""
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    if variant == "pareto":
        r, alpha, s, beta = params
        ratio = (beta + T) / (beta + T + t)
        if abs(s - 1) < 1e-9:
            grow = (r + x) / (alpha + T) * (beta + T) * -np.log(ratio)
        else:
            grow = (r + x) * (beta + T) / ((alpha + T) * (s - 1)) * (1 - ratio ** (s - 1))
        return grow * _pareto_p_alive(params, x, tx, T, pairs)
    r, alpha, a, b = params
    z = t / (alpha + T + t)
    if variant == "mbgnbd":
        hyp = special.hyp2f1(r + x, b + x + 1, a + b + x, z)
        num = (a + b + x) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
        return num / (1 + a / (b + x) * ((alpha + T) / (alpha + tx)) ** (r + x))
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    return num / (1 + (x > 0) * a / np.maximum(b + x - 1, 1e-12) * ((alpha + T) / (alpha + tx)) ** (r + x))


def probability_alive(params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray,
                      variant: str = "bgnbd", pairs: tuple | None = None) -> np.ndarray:
    """Probability that a customer with history (x, t_x, T) is still active (FHL 2005, eq. 11; MBG/NBD
    lets a customer without a repeat purchase be inactive too; Pareto/NBD: Fader and Hardie 2005, eq. 18).
    ``pairs``: see :func:`_pareto_p_alive` (Pareto/NBD only)."""
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    if variant == "pareto":
        return _pareto_p_alive(params, x, tx, T, pairs)
    r, alpha, a, b = params
    if variant == "mbgnbd":
        return 1 / (1 + a / (b + x) * ((alpha + T) / (alpha + tx)) ** (r + x))
    return 1 / (1 + (x > 0) * a / np.maximum(b + x - 1, 1e-12) * ((alpha + T) / (alpha + tx)) ** (r + x))


def simulate_purchases(params: np.ndarray, t: float, x: np.ndarray, tx: np.ndarray, T: np.ndarray,
                       variant: str, rng: np.random.Generator, pairs: tuple | None = None,
                       p_alive: np.ndarray | None = None) -> np.ndarray:
    """One draw of each customer's purchases in the next ``t`` units, from the customer's posterior:
    alive with probability :func:`probability_alive`; if alive, a purchase rate from its gamma posterior
    Gamma(r + x, alpha + T) and (BG/NBD, MBG/NBD) a drop-out probability from Beta(a, b + x) (MBG:
    b + x + 1), dropping after each purchase; (Pareto/NBD) a death rate from Gamma(s, beta + T) and an
    exponential remaining lifetime. This is the customer-level uncertainty a mean hides. ``pairs``
    (:func:`pareto_pairs` of the same rows, for Pareto/NBD): the same draws, its hypergeometric terms
    once per distinct pair. ``p_alive``: :func:`probability_alive` of these ``params`` and rows, when the
    caller draws many futures from the same parameters (the same draws, computed once)."""
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
    n = len(x)
    if p_alive is None:
        p_alive = probability_alive(params, x, tx, T, variant, pairs)
    alive = rng.random(n) < p_alive
    r, alpha = params[0], params[1]
    lam = rng.gamma(r + x, 1.0 / (alpha + T))
    if variant == "pareto":
        s, beta = params[2], params[3]
        mu = rng.gamma(s, 1.0 / (beta + T))
        life = np.minimum(rng.exponential(1.0 / np.maximum(mu, 1e-300)), t)
        count = rng.poisson(lam * life)
    else:
        a, b = params[2], params[3]
        p = rng.beta(a, b + x + (1 if variant == "mbgnbd" else 0))
        count = np.minimum(rng.poisson(lam * t), rng.geometric(np.clip(p, 1e-12, 1.0)))
    return np.where(alive, count, 0)


def simulate_spend(params: np.ndarray, counts: np.ndarray, x: np.ndarray, m: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """One draw of each customer's total spend on ``counts`` future purchases under Gamma-Gamma: the
    customer's spend rate nu from its posterior Gamma(p x + q, v + x m), then Gamma(p * count, nu)."""
    p, q, v = params
    x = np.asarray(x, float)
    m = np.nan_to_num(np.asarray(m, float))
    nu = rng.gamma(p * x + q, 1.0 / (v + x * m))
    counts = np.asarray(counts, float)
    return np.where(counts > 0, rng.gamma(np.maximum(p * counts, 1e-12), 1.0 / nu), 0.0)


def _param_draw(fit, rng: np.random.Generator) -> np.ndarray:
    """Parameters drawn from the fit's asymptotic (log-normal) distribution."""
    k = len(fit.vector)
    return np.exp(np.log(fit.vector) + rng.multivariate_normal(np.zeros(k), np.nan_to_num(fit.cov_log)))


def model_error_sd(error: float | None) -> float:
    """The standard deviation, on the log scale, of the model's own error of a total, from the relative
    error ``error`` one split inside the calibration period measured (fit on its first part, predict its
    second): ``|log(1 + error)|``. 0 when no such split could be made (``None`` or not finite)."""
    if error is None or not math.isfinite(error) or error <= -1:
        return 0.0
    return abs(math.log1p(error))


def predictive_total(bg: BGNBD, t: float, summary: pd.DataFrame, level: float = 0.95, draws: int = 200,
                     seed: int = 0, model_error: float | None = None) -> Estimate:
    """Total purchases of the customers in ``summary`` over the next ``t`` units with a prediction interval
    that carries parameter and customer-level uncertainty (``draws`` joint draws of parameters and each
    customer's latent rates, :func:`simulate_purchases`) and, given ``model_error`` (the relative error of
    the total the same model made on a split inside the calibration period), the model's own error: each
    drawn total is multiplied by a log-normal factor of standard deviation :func:`model_error_sd`.

    Why: on data the model did not generate (trend, seasons, gaps more regular than Poisson, customers
    whose first purchase predates the data) the parameter and customer-level uncertainty alone give an
    interval a few percent wide around a prediction that is 10-30% off (``benchmarks/clv.py``).
    ``kind="prediction"``, unit ``count``, ``method="bgnbd-predictive"`` (and so on by variant;
    ``…-predictive-model-error`` with the model error). Withheld when the fit is not sound."""
    return predictive_totals(bg, t, summary, level, draws, seed, model_error)[0]


def predictive_totals(bg: BGNBD, t: float, summary: pd.DataFrame, level: float = 0.95, draws: int = 200,
                      seed: int = 0, model_error: float | None = None) -> tuple[Estimate, Estimate]:
    """:func:`predictive_total` with ``model_error`` and without it (the model-only interval), from one
    simulation: with the same ``seed`` both draw the same totals (the model error's factors are drawn
    after them), so each is the Estimate its own call gives, bit for bit, at half the cost. Without a
    model error both are the same Estimate."""
    sd = model_error_sd(model_error)
    method = f"{bg.variant}-predictive"
    with_error = method + ("-model-error" if model_error is not None else "")
    if not bg.ok:
        def withheld(m: str) -> Estimate:
            return Estimate(math.nan, n=bg.n, method=m, unit="count", min_n=MIN_CUSTOMERS, kind="prediction")
        return withheld(with_error), withheld(method)
    rng = np.random.default_rng(seed)
    x, tx, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    pairs = pareto_pairs(x, tx, T) if bg.variant == "pareto" else None
    totals = np.array([simulate_purchases(_param_draw(bg, rng), t, x, tx, T, bg.variant, rng, pairs).sum()
                       for _ in range(draws)], dtype=float)
    point = float(np.sum(expected_purchases(bg.vector, t, x, tx, T, bg.variant, pairs)))
    a = (1 - level) / 2

    def estimate(values: np.ndarray, m: str) -> Estimate:
        lo, hi = np.quantile(values, [a, 1 - a])
        return Estimate(point, float(lo), float(hi), level, len(summary), m, "count", bounds=(0.0, math.inf),
                        min_n=MIN_CUSTOMERS, kind="prediction")

    model_only = estimate(totals, method)
    if sd > 0:
        return estimate(totals * np.exp(rng.normal(0.0, sd, draws)), with_error), model_only
    return (estimate(totals, with_error) if with_error != method else model_only), model_only


def expected_spend(params: np.ndarray, x: np.ndarray, m: np.ndarray, population_mean: float) -> np.ndarray:
    """Gamma-Gamma expected spend per purchase; customers without a repeat purchase get the population mean."""
    p, q, v = params
    x = np.asarray(x, dtype=float)
    m = np.nan_to_num(np.asarray(m, dtype=float))
    cond = p * (v + x * m) / (p * x + q - 1)
    return np.where(x > 0, cond, population_mean)


#: Customers whose simulated futures :func:`mean_clv` draws and cuts into quantiles at once (a fixed
#: size: each block has its own generator, so the numbers depend on it).
QUANTILE_BLOCK = 200_000


def customer_intervals(bg: BGNBD, gg: GammaGamma, summary: pd.DataFrame, horizon: float, seed: int = 0,
                       customer_level: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's own prediction interval of CLV over ``horizon`` at ``customer_level``: the central
    quantiles of 100 simulated futures (customer-level uncertainty, the fitted parameters held fixed).

    ``summary`` has ``frequency``, ``recency``, ``T``, ``monetary`` (one row per customer). Returns
    ``(low, high)`` arrays aligned with its rows. Customers are simulated a block of
    :data:`QUANTILE_BLOCK` at a time, each block from its own generator seeded by ``seed`` and the
    block's number, so the figures depend on the seed, not on memory, nor on anything else drawn before.
    """
    variant = bg.variant
    xa, txa, Ta, xm = (summary[k].to_numpy(float) for k in ("frequency", "recency", "T", "monetary"))
    # 100 simulated futures per customer, a block of customers at a time from the block's own generator
    # (all at once held 100 floats per customer twice over and np.quantile sorted a third copy: 8.5 GB
    # for the 4.4 million customers of a scale-100 shop)
    c = (1 - customer_level) / 2
    clv_low, clv_high = np.empty(len(summary)), np.empty(len(summary))
    for b, lo in enumerate(range(0, len(summary), QUANTILE_BLOCK)):
        block = slice(lo, lo + QUANTILE_BLOCK)
        bx, btx, bT, bm = xa[block], txa[block], Ta[block], xm[block]
        bpairs = pareto_pairs(bx, btx, bT) if variant == "pareto" else None
        brng = np.random.default_rng([seed, 1, b])
        sims = np.empty((100, len(bx)))
        b_alive = probability_alive(bg.vector, bx, btx, bT, variant, bpairs)   # the same for all 100 futures
        for i in range(100):
            sims[i] = simulate_spend(gg.vector, simulate_purchases(bg.vector, horizon, bx, btx, bT, variant, brng,
                                                                   bpairs, b_alive), bx, bm, brng)
        clv_low[block], clv_high[block] = np.quantile(sims, [c, 1 - c], axis=0)
    return clv_low, clv_high


def mean_clv(bg: BGNBD, gg: GammaGamma, summary: pd.DataFrame, horizon: float, level: float = 0.95,
             seed: int = 0, draws: int = 200, subset: int = 3000,
             customer_level: float = 0.8, model_error: float | None = None, intervals: bool = True
             ) -> tuple[pd.DataFrame, Estimate, Estimate]:
    """Each customer's expected purchases, probability active, spend and CLV over ``horizon``, and the mean CLV.

    Returns ``summary`` with ``expected_purchases``, ``p_alive``, ``expected_spend``, ``clv`` and the
    customer's own prediction interval ``clv_low``/``clv_high`` at ``customer_level`` (from simulated
    futures: customer-level uncertainty), and two Estimates of the mean CLV (unit ``money``):
    ``value`` (``method="clv-param-draws"``, a confidence interval from ``draws`` draws of the
    parameters: parameter uncertainty only) and ``predicted`` (``kind="prediction"``,
    ``method="clv-predictive"``: parameters and every customer's latent rates and spends drawn
    jointly, so the customer-level uncertainty is in it; given ``model_error``, the purchase model's
    relative error on a split inside the calibration period, also the model's own error as in
    :func:`predictive_total`, ``method="clv-predictive-model-error"``). Both are evaluated on a fixed random subset
    of at most ``subset`` customers and scaled to the full mean. With ``intervals=False`` the customers'
    own intervals are left out (:func:`customer_intervals` gives them, the same figures, when asked):
    the rest is unchanged. Raises ``ValueError`` on an unsound fit.
    """
    if not (bg.ok and gg.ok):
        raise ValueError(f"lifetime value needs sound fits, got {bg.variant} {bg.status} and gamma-gamma {gg.status}")
    variant = bg.variant
    pop_mean = float(summary.loc[summary["frequency"] > 0, "monetary"].mean())
    x, tx, T, m = summary["frequency"], summary["recency"], summary["T"], summary["monetary"]
    spend = expected_spend(gg.vector, x, m, pop_mean)
    rng = np.random.default_rng(seed)
    xa, txa, Ta = (np.asarray(v, float) for v in (x, tx, T))
    pairs = pareto_pairs(xa, txa, Ta) if variant == "pareto" else None
    exp_n = expected_purchases(bg.vector, horizon, x, tx, T, variant, pairs)
    if intervals:
        clv_low, clv_high = customer_intervals(bg, gg, summary, horizon, seed, customer_level)
    customers = summary.assign(expected_purchases=exp_n, p_alive=probability_alive(bg.vector, x, tx, T, variant, pairs),
                               expected_spend=spend, clv=exp_n * spend)
    if intervals:
        customers = customers.assign(clv_low=clv_low, clv_high=clv_high)
    sub = summary.iloc[rng.choice(len(summary), min(len(summary), subset), replace=False)]
    sx, stx, sT, sm_ = (sub[k].to_numpy(float) for k in ("frequency", "recency", "T", "monetary"))
    spairs = pareto_pairs(sx, stx, sT) if variant == "pareto" else None
    base = float(np.mean(expected_purchases(bg.vector, horizon, sx, stx, sT, variant, spairs)
                         * expected_spend(gg.vector, sx, sm_, pop_mean)))
    ratios, future = [], []
    sd = model_error_sd(model_error)
    for _ in range(draws):
        pb, pg = _param_draw(bg, rng), _param_draw(gg, rng)
        e = expected_purchases(pb, horizon, sx, stx, sT, variant, spairs)
        ratios.append(float(np.nanmean(e * expected_spend(pg, sx, sm_, pop_mean))) / base)
        counts = simulate_purchases(pb, horizon, sx, stx, sT, variant, rng, spairs)
        factor = math.exp(rng.normal(0.0, sd)) if sd > 0 else 1.0
        future.append(factor * float(np.mean(simulate_spend(pg, counts, sx, sm_, rng))) / base)
    mean = float(customers["clv"].mean())
    a = (1 - level) / 2
    lo, hi = (mean * np.nanquantile(ratios, [a, 1 - a])) if base > 0 else (math.nan, math.nan)
    plo, phi = (mean * np.nanquantile(future, [a, 1 - a])) if base > 0 else (math.nan, math.nan)
    value = Estimate(mean, float(lo), float(hi), level, len(summary), "clv-param-draws", "money",
                     bounds=(0.0, math.inf), min_n=MIN_CUSTOMERS)
    predicted = Estimate(mean, float(plo), float(phi), level, len(summary),
                         "clv-predictive" + ("-model-error" if model_error is not None else ""), "money",
                         bounds=(0.0, math.inf), min_n=MIN_CUSTOMERS, kind="prediction")
    return customers, value, predicted
