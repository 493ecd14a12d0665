"""Marketing response: daily orders explained by each channel's spend with carry-over and saturation.

orders_t = baseline_t × (1 + Σ_c beta_c · (1 − exp(−a_ct / gamma_c))), a_ct the geometric adstock
of channel c's spend; the baseline has trend, weekday and yearly Fourier terms. Fitted by
non-linear least squares (scipy); its parameter covariance drives every interval (marginal ROAS,
response curves, the gain of a reallocation). Frames and arrays in, no data access.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sps

from workbench.stats.result import Estimate


def adstock(spend: np.ndarray, decay: float) -> np.ndarray:
    """Geometric carry-over: a_t = s_t + decay · a_{t−1} (a_0 = s_0)."""
    from scipy.signal import lfilter

    return lfilter([1.0], [1.0, -float(decay)], np.asarray(spend, dtype=float))


def saturation(x: np.ndarray, gamma: float) -> np.ndarray:
    """Diminishing returns, the exponential curve 1 − exp(−x / gamma): 0 at 0, 63% at ``gamma``, → 1."""
    return -np.expm1(-np.asarray(x, float) / gamma)


@dataclass
class ResponseModel:
    """Fitted response of daily orders (and so GMV) to each marketing channel's spend.

    orders_t = baseline_t × (1 + Σ_c beta_c · (1 − exp(−a_ct / gamma_c))), a_ct = adstock(spend_c, decay_c)_t,
    log baseline_t = intercept + trend + weekday + yearly Fourier (2). ``beta`` is the most a
    channel can add (a share of baseline demand), ``gamma`` the adstocked spend (CNY/day) at
    which it gives 63% of that, ``decay`` the share of a day's spend still working the next day.
    ``params`` holds them with 95% intervals (delta method on the least-squares covariance);
    ``base_gmv`` is the recent GMV per day without marketing, which turns shares into CNY.
    """

    channels: list[str]
    params: pd.DataFrame
    theta: np.ndarray
    cov: np.ndarray
    n: int
    r2: float
    sigma: float
    current_spend: pd.Series    # mean daily spend per channel over the last 28 days
    base_gmv: float             # GMV per day without marketing over the last 28 days, CNY
    method: str
    daily: pd.DataFrame = field(repr=False, default=None)  # date, orders, fitted, baseline, used

    def _unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = len(self.channels)
        beta = np.clip(theta[:k], 0, None)
        gamma = np.exp(np.clip(theta[k:2 * k], -20, 30))
        decay = np.clip(theta[2 * k:3 * k], 0, 0.99)
        return beta, gamma, decay

    def steady_response(self, spend: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        """GMV per day (CNY) each channel drives when ``spend`` (CNY per day, per channel) is kept up."""
        beta, gamma, decay = self._unpack(self.theta if theta is None else theta)
        return self.base_gmv * beta * saturation(np.asarray(spend, float) / (1 - decay), gamma)

    def marginal_roas(self, spend: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        """Extra GMV per extra CNY of daily spend at ``spend``, carry-over included (long-run)."""
        beta, gamma, decay = self._unpack(self.theta if theta is None else theta)
        a = np.asarray(spend, float) / (1 - decay)
        return self.base_gmv * beta * np.exp(-a / gamma) / gamma / (1 - decay)

    def draws(self, n: int = 500, seed: int = 0) -> np.ndarray:
        """Parameter vectors drawn from the fitted normal approximation (for intervals)."""
        rng = np.random.default_rng(seed)
        k3 = 3 * len(self.channels)
        cov = self.cov[:k3, :k3]
        cov = (cov + cov.T) / 2
        w, v = np.linalg.eigh(cov)
        root = v * np.sqrt(np.clip(w, 0, None))
        return self.theta[:k3] + rng.standard_normal((n, k3)) @ root.T


#: Method keys (their notes are ``method.<key>`` in the catalogue).
RESPONSE_METHOD = "response_adstock_nls"
REALLOCATION_METHOD = "reallocation_slsqp"


def _baseline_design(dates: pd.DatetimeIndex) -> np.ndarray:
    t = (dates - dates.min()).days.to_numpy() / 365.25
    cols = [np.ones(len(dates)), t]
    cols += [(dates.day_of_week == k).astype(float) for k in range(1, 7)]
    doy = dates.day_of_year.to_numpy() / 365.25
    for h in (1, 2):
        cols += [np.sin(2 * np.pi * h * doy), np.cos(2 * np.pi * h * doy)]
    return np.column_stack(cols)


def fit_response(data: pd.DataFrame, min_days: int = 120, max_decay: float = 0.95,
                 max_evaluations: int = 200) -> ResponseModel | None:
    """Fit the response model (see :class:`ResponseModel`) on a daily frame; None with too little data.

    ``data`` holds ``date``, ``gmv``, ``orders``, one spend column (CNY) per marketing channel and
    ``campaign`` (bool: days left out of the fit). Variable projection: for given betas, gammas
    and decays the baseline is linear in log orders and ordinary least squares solves it exactly;
    a bounded trust-region least squares (scipy, soft-L1 loss against holiday outliers) searches
    the 3 × channels non-linear parameters: beta 0–2, gamma 0.1–20 × the channel's mean adstocked
    spend (outside the spend observed the curvature cannot be told from the data), decay
    0–``max_decay``. Adstock runs over every day. The covariance of all parameters is σ²(JᵀJ)⁻¹
    from the full Jacobian.
    """
    mchans = [c for c in data.columns if c not in ("date", "gmv", "orders", "campaign")]
    mchans = [c for c in mchans if data[c].sum() > 0]
    use = (~data["campaign"].to_numpy(bool)) & (data["orders"].to_numpy(float) > 0) if len(data) else np.array([])
    if len(data) < min_days or not mchans or use.sum() < min_days:
        return None
    y = np.log(data["orders"].to_numpy(float)[use])
    spend = data[mchans].to_numpy(float)
    base_x = _baseline_design(pd.DatetimeIndex(data["date"]))[use]
    k = len(mchans)
    mean_ad = np.array([max(adstock(spend[:, j], 0.5).mean(), 1e-9) for j in range(k)])

    def lift(beta: np.ndarray, gamma: np.ndarray, decay: np.ndarray) -> np.ndarray:
        m = sum(beta[j] * saturation(adstock(spend[:, j], decay[j]), gamma[j]) for j in range(k))
        return np.log1p(m)

    def inner(nl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        target = y - lift(nl[:k], np.exp(nl[k:2 * k]) * mean_ad, nl[2 * k:])[use]
        coef, *_ = np.linalg.lstsq(base_x, target, rcond=None)
        return coef, target - base_x @ coef

    lo = np.concatenate([np.zeros(k), np.full(k, np.log(0.1)), np.zeros(k)])
    hi = np.concatenate([np.full(k, 2.0), np.full(k, np.log(20.0)), np.full(k, max_decay)])
    start = np.concatenate([np.full(k, 0.1), np.zeros(k), np.full(k, 0.3)])
    scale = float(np.std(inner(start)[1])) or 1.0
    best = optimize.least_squares(lambda nl: inner(nl)[1] / scale, start, bounds=(lo, hi), method="trf",
                                  loss="soft_l1", x_scale=1.0, max_nfev=max_evaluations)
    nl = best.x
    coef, r = inner(nl)
    theta = np.concatenate([nl[:k], nl[k:2 * k] + np.log(mean_ad), nl[2 * k:], coef])

    def predict(th: np.ndarray) -> np.ndarray:
        return lift(th[:k], np.exp(th[k:2 * k]), th[2 * k:3 * k])[use] + base_x @ th[3 * k:]

    step = np.maximum(np.abs(theta) * 1e-5, 1e-7)
    p0 = predict(theta)
    jac = np.column_stack([(predict(theta + np.eye(len(theta))[i] * step[i]) - p0) / step[i] for i in range(len(theta))])
    sigma2 = float(r @ r) / max(len(y) - len(theta), 1)
    cov = np.linalg.pinv(jac.T @ jac) * sigma2
    full_base = _baseline_design(pd.DatetimeIndex(data["date"])) @ coef
    full_lift = lift(theta[:k], np.exp(theta[k:2 * k]), theta[2 * k:3 * k])
    recent = data.tail(28)
    base_gmv = float((recent["gmv"] / np.exp(full_lift[-28:])).mean())
    model = ResponseModel(mchans, pd.DataFrame(), theta, cov, int(use.sum()),
                          1 - float(r @ r) / float(((y - y.mean()) ** 2).sum()), float(np.sqrt(sigma2)),
                          recent[mchans].mean(), base_gmv, RESPONSE_METHOD,
                          pd.DataFrame({"date": data["date"], "orders": data["orders"],
                                        "fitted": np.exp(full_base + full_lift), "baseline": np.exp(full_base),
                                        "used": use}))
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    z = float(sps.norm.ppf(0.975))
    rows = []
    for j, c in enumerate(mchans):
        b, lg, d = theta[j], theta[k + j], theta[2 * k + j]
        sb, sg, sd = se[j], se[k + j], se[2 * k + j]
        rows.append({"marketing_channel": c, "beta": b, "beta_low": max(b - z * sb, 0.0), "beta_high": b + z * sb,
                     "gamma": np.exp(lg), "gamma_low": np.exp(lg - z * sg), "gamma_high": np.exp(min(lg + z * sg, 50.0)),
                     "decay": d, "decay_low": min(max(d - z * sd, 0.0), 1.0), "decay_high": min(max(d + z * sd, 0.0), 1.0),
                     "at_bound": bool(np.isclose(nl[[j, k + j, 2 * k + j]], lo[[j, k + j, 2 * k + j]]).any()
                                      or np.isclose(nl[[j, k + j, 2 * k + j]], hi[[j, k + j, 2 * k + j]]).any())})
    model.params = pd.DataFrame(rows)
    return model


def response_curves(model: ResponseModel, points: int = 40, up_to: float = 3.0) -> pd.DataFrame:
    """Steady-state GMV per day by daily spend for each channel, from 0 to ``up_to`` × current spend.

    Returns ``marketing_channel``, ``daily_spend`` (CNY), ``response_gmv`` (CNY/day), ``low``, ``high`` (95%).
    """
    rows = []
    draws = model.draws(300)
    for j, c in enumerate(model.channels):
        grid = np.linspace(0, max(model.current_spend[c], 1.0) * up_to, points)
        for s in grid:
            spend = np.zeros(len(model.channels))
            spend[j] = s
            sims = np.array([model.steady_response(spend, th)[j] for th in draws])
            rows.append({"marketing_channel": c, "daily_spend": s, "response_gmv": model.steady_response(spend)[j],
                         "low": np.quantile(sims, 0.025), "high": np.quantile(sims, 0.975)})
    return pd.DataFrame(rows)


def marginal_roas_table(model: ResponseModel) -> pd.DataFrame:
    """Marginal ROAS per channel at today's spend (mean of the last 28 days), with 95% intervals from draws."""
    spend = model.current_spend[model.channels].to_numpy(float)
    draws = model.draws(500)
    sims = np.array([model.marginal_roas(spend, th) for th in draws])
    return pd.DataFrame({"marketing_channel": model.channels, "current_spend": spend,
                         "marginal_roas": model.marginal_roas(spend),
                         "marginal_roas_low": np.quantile(sims, 0.025, axis=0),
                         "marginal_roas_high": np.quantile(sims, 0.975, axis=0),
                         "response_gmv": model.steady_response(spend)})


@dataclass
class Reallocation:
    """A budget reallocation at constant total spend, with its expected gain and uncertainty."""

    table: pd.DataFrame     # marketing_channel, current_spend, proposed_spend, change
    gain: float             # expected extra GMV per day (CNY)
    gain_low: float
    gain_high: float
    prob_positive: float    # share of parameter draws under which the move gains
    max_change: float
    method: str


def reallocate(model: ResponseModel, max_change: float = 0.5, draws: int = 500) -> Reallocation:
    """Move daily spend between channels, total unchanged, to maximise the steady-state GMV the curves predict.

    Each channel may move at most ``max_change`` (0.5 = ±50%) from today's spend: the curves are
    only trusted near the spend they were fitted on. The gain is the difference of predicted
    GMV per day; its 95% interval and the probability of a gain come from parameter draws
    with the proposed split held fixed.
    """
    cur = model.current_spend[model.channels].to_numpy(float)
    total = cur.sum()
    bounds = [(c * (1 - max_change), c * (1 + max_change)) for c in cur]
    res = optimize.minimize(lambda s: -model.steady_response(s).sum(), cur, method="SLSQP", bounds=bounds,
                            constraints=[{"type": "eq", "fun": lambda s: s.sum() - total}])
    new = res.x if res.success else cur
    th = model.draws(draws, seed=1)
    gains = np.array([model.steady_response(new, t).sum() - model.steady_response(cur, t).sum() for t in th])
    table = pd.DataFrame({"marketing_channel": model.channels, "current_spend": cur, "proposed_spend": new,
                          "change": new / np.where(cur > 0, cur, np.nan) - 1})
    return Reallocation(table, float(model.steady_response(new).sum() - model.steady_response(cur).sum()),
                        float(np.quantile(gains, 0.025)), float(np.quantile(gains, 0.975)), float((gains > 0).mean()),
                        max_change, REALLOCATION_METHOD)


def marginal_roas_estimate(table: pd.DataFrame, channel: str, n: int, level: float = 0.95) -> Estimate:
    """The marginal ROAS of ``channel`` from :func:`marginal_roas_table` as an Estimate (unit ``ratio``)."""
    r = table.set_index("marketing_channel").loc[channel]
    return Estimate(r["marginal_roas"], r["marginal_roas_low"], r["marginal_roas_high"], level, n,
                    "response_draws", "ratio", bounds=(0.0, float("inf")))


def gain_estimate(plan: Reallocation, days: int, n: int, level: float = 0.95) -> Estimate:
    """The reallocation's expected extra GMV over ``days`` days (CNY) as an Estimate."""
    return Estimate(plan.gain * days, plan.gain_low * days, plan.gain_high * days, level, n, plan.method, "money")
