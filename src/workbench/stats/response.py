"""Marketing response: daily orders explained by each channel's spend with carry-over and saturation.

orders_t = baseline_t × (1 + Σ_c beta_c · (1 − exp(−a_ct / gamma_c))), a_ct the geometric adstock
of channel c's spend; the baseline has trend, weekday and yearly Fourier terms. Frames and arrays in,
no data access.

Identification. Carry-over, saturation and size of a channel's effect trade off against each other, and
a least-squares fit with the delta method gave intervals that left [0, 1] (189 of 240 decay intervals
across generated shops), points outside their own intervals and a total lift 1.55× too large. The fit is
therefore a posterior mode with weakly informative priors on unconstrained scales (log beta, log of
gamma relative to the channel's mean adstocked spend, logit decay; :data:`PRIORS`), and its intervals
come from the Laplace approximation of the posterior on those scales, made robust to days of one week
sharing a shock (a week-clustered sandwich), and mapped back (so a decay interval always lies in (0, 1)
and holds its point). Spring Festival days are left out like campaign days, and the day's price index
(paid / gross) is a control: the festival's week-long drop had been the largest part of the residual
variance and made the residuals autocorrelated (lag-1 correlation 0.34 at scale 1, 0.08 without it).
A channel whose data shrink none of its three priors'
spread by at least :data:`IDENTIFIED_SHRINK` is *not identified from these data*: the page says so and
withholds the budget reallocation that would rest on it; so is a channel whose decay sits at its cap.
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
    log baseline_t = intercept + trend + weekday + yearly Fourier (2) + controls. ``beta`` is the most a
    channel can add (a share of baseline demand), ``gamma`` the adstocked spend (CNY/day) at
    which it gives 63% of that, ``decay`` the share of a day's spend still working the next day.
    ``params`` holds them with 95% intervals from the week-clustered Laplace posterior on the
    unconstrained scales (``cov`` = ``u_cov``, the covariance of log beta, log gamma / mean adstock,
    logit decay) and
    ``identified`` per channel; ``base_gmv`` is the recent GMV per day without marketing, which turns
    shares into CNY. ``theta`` is (beta, log gamma, decay per channel, baseline coefficients).
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
    u: np.ndarray = field(repr=False, default=None)       # posterior mode on the unconstrained scales (3k)
    u_cov: np.ndarray = field(repr=False, default=None)   # its Laplace covariance (3k × 3k)
    log_mean_ad: np.ndarray = field(repr=False, default=None)  # log mean adstocked spend per channel
    shrink: pd.DataFrame = field(repr=False, default=None)     # posterior sd / prior sd per channel and parameter
    converged: bool = True

    @property
    def identified(self) -> bool:
        """Whether every channel's response is identified from the data (see :meth:`unidentified`)."""
        return self.converged and not self.unidentified()

    def unidentified(self) -> list[str]:
        """Channels whose data shrink none of the three priors by :data:`IDENTIFIED_SHRINK`, or whose decay sits at its cap."""
        if self.shrink is None or self.shrink.empty:
            return []
        at_bound = set(self.params.loc[self.params["at_bound"], "marketing_channel"]) if len(self.params) else set()
        return [c for c, r in self.shrink.iterrows() if r.min() > 1 - IDENTIFIED_SHRINK or c in at_bound]

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
        """Parameter vectors (beta, log gamma, decay per channel) drawn from the Laplace posterior.

        Drawn on the unconstrained scales (log beta, log gamma, logit decay) and mapped back, so every
        draw is feasible.
        """
        rng = np.random.default_rng(seed)
        k = len(self.channels)
        cov = (self.u_cov + self.u_cov.T) / 2
        w, v = np.linalg.eigh(cov)
        root = v * np.sqrt(np.clip(w, 0, None))
        u = self.u + rng.standard_normal((n, 3 * k)) @ root.T
        return np.column_stack([np.exp(u[:, :k]), u[:, k:2 * k] + self.log_mean_ad, _expit(u[:, 2 * k:])])

    def prior_draws(self, n: int = 500, seed: int = 0) -> np.ndarray:
        """Parameter vectors like :meth:`draws`, from the priors (:data:`PRIORS`) instead of the posterior."""
        rng = np.random.default_rng(seed)
        k = len(self.channels)
        mu = np.concatenate([np.full(k, PRIORS[key][0]) for key in ("log_beta", "log_gamma_rel", "logit_decay")])
        sd = np.concatenate([np.full(k, PRIORS[key][1]) for key in ("log_beta", "log_gamma_rel", "logit_decay")])
        u = mu + sd * rng.standard_normal((n, 3 * k))
        return np.column_stack([np.exp(u[:, :k]), u[:, k:2 * k] + self.log_mean_ad, _expit(u[:, 2 * k:])])

    def marginal_roas_shrink(self, n: int = 500) -> pd.Series:
        """Per channel, the spread (sd of the log) of the marginal ROAS at today's spend under the posterior
        over its spread under the priors: near 1 when the data say nothing about it, small when they do."""
        spend = self.current_spend[self.channels].to_numpy(float)

        def spread(draws: np.ndarray) -> np.ndarray:
            sims = np.array([self.marginal_roas(spend, th) for th in draws])
            return np.log(np.clip(sims, 1e-300, None)).std(axis=0)

        return pd.Series(spread(self.draws(n)) / spread(self.prior_draws(n)), index=self.channels)


#: Method keys (their notes are ``method.<key>`` in the catalogue).
RESPONSE_METHOD = "response_adstock_map"
#: Priors (mean, sd) on the unconstrained scales: log beta (a channel adds about 5% of baseline demand at
#: most, 95% between 0.7% and 36%), log(gamma / the channel's mean adstocked spend) (saturation around
#: the spend observed, 95% within a factor 7), logit decay (carry-over about 0.4, 95% between 0.08 and 0.85).
PRIORS = {"log_beta": (float(np.log(0.05)), 1.0), "log_gamma_rel": (0.0, 1.0),
          "logit_decay": (float(np.log(0.4 / 0.6)), 1.0)}
#: A channel is identified when the data cut at least one prior's sd by this share (posterior sd ≤ 0.5 × prior sd).
IDENTIFIED_SHRINK = 0.5


def _expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.asarray(x, float)))
REALLOCATION_METHOD = "reallocation_slsqp"


def _baseline_design(dates: pd.DatetimeIndex) -> np.ndarray:
    t = (dates - dates.min()).days.to_numpy() / 365.25
    cols = [np.ones(len(dates)), t]
    cols += [(dates.day_of_week == k).astype(float) for k in range(1, 7)]
    doy = dates.day_of_year.to_numpy() / 365.25
    for h in (1, 2):
        cols += [np.sin(2 * np.pi * h * doy), np.cos(2 * np.pi * h * doy)]
    return np.column_stack(cols)


#: Flag columns of the daily frame whose days are left out of the fit (their spend still carries over):
#: campaign days and their lead-in, whose demand the campaign page models, and holidays such as the
#: Spring Festival window, whose drop in demand the yearly terms cannot follow.
EXCLUDED = ("campaign", "holiday")
#: Columns of the daily frame that are controls of the baseline, not spend: ``price_index`` (paid / gross
#: GMV of the day, so the weekly price regimes and discounts that move demand are not credited to spend);
#: each enters log demand linearly through its log.
CONTROLS = ("price_index",)


def _design(data: pd.DataFrame, controls: list[str]) -> np.ndarray:
    """The baseline's design: trend, weekday and yearly terms, and the log of each control (gaps filled)."""
    cols = [_baseline_design(pd.DatetimeIndex(data["date"]))]
    for c in controls:
        v = pd.Series(data[c].to_numpy(float)).where(lambda x: x > 0)
        if v.notna().sum() > 1 and v.std() > 0:
            lv = np.log(v)
            cols.append((lv.fillna(lv.mean()) - lv.mean()).to_numpy()[:, None])
    return np.column_stack(cols)


def _clusters(dates: pd.DatetimeIndex, cluster: str | None) -> np.ndarray | None:
    """Cluster labels of the fitted days: the calendar week (Monday to Sunday) for ``"week"``, None for none."""
    if cluster is None:
        return None
    if cluster != "week":
        raise ValueError(f"cluster = {cluster!r}: expected 'week' or None")
    return ((dates - pd.Timestamp("2000-01-03")).days // 7).to_numpy()


def _posterior_cov(jac: np.ndarray, resid: np.ndarray, prior_sd: np.ndarray,
                   groups: np.ndarray | None) -> np.ndarray:
    """Covariance of the posterior mode on the unconstrained scales.

    ``jac`` is the Jacobian of the stacked residuals (one σ-scaled row per fitted day, then one row per
    parameter for its prior), ``resid`` the σ-scaled residuals of the days. Laplace: H⁻¹ with H = JᵀJ.
    With ``groups`` (one label per day): the sandwich H⁻¹ (M + P) H⁻¹, M the sum over clusters of the
    outer products of their scores Σ_t J_t r_t (scaled by G / (G − 1)), P the prior precision. It is
    H⁻¹ again when the days are independent and the model right, wider when days of one week share a
    shock (price regimes, budgets, weather), and tends to the prior when the data say nothing.
    """
    h_inv = np.linalg.pinv(jac.T @ jac)
    if groups is None:
        return h_inv
    n = len(resid)
    scores = jac[:n] * resid[:, None]
    labels, idx = np.unique(groups, return_inverse=True)
    per = np.zeros((len(labels), jac.shape[1]))
    np.add.at(per, idx, scores)
    g = len(labels)
    meat = per.T @ per * (g / max(g - 1, 1)) + np.diag(1 / prior_sd ** 2)
    return h_inv @ meat @ h_inv


def fit_response(data: pd.DataFrame, min_days: int = 120, max_decay: float = 0.95,
                 max_evaluations: int = 600, cluster: str | None = "week") -> ResponseModel | None:
    """Fit the response model (see :class:`ResponseModel`) on a daily frame; None with too little data.

    ``data`` holds ``date``, ``gmv``, ``orders``, one spend column (CNY) per marketing channel,
    ``campaign`` and optionally ``holiday`` (bool: days left out of the fit, :data:`EXCLUDED`) and
    ``price_index`` (a control of the baseline, :data:`CONTROLS`). Variable projection: for given betas, gammas and
    decays the baseline is linear in log orders and ordinary least squares solves it exactly; a
    trust-region least squares (scipy, soft-L1 loss beyond 3σ against holiday outliers) finds the
    posterior mode of the 3 × channels non-linear parameters on unconstrained scales under
    :data:`PRIORS` (prior terms appended as residuals; σ re-estimated once). ``max_decay`` caps the
    decay of the mode. The covariance is the Laplace one, (JᵀJ)⁻¹ of the projected, σ-scaled residuals
    with the prior rows (the baseline profiled out), made robust to shocks shared by the days of one
    calendar week with ``cluster="week"`` (a sandwich, :func:`_posterior_cov`; days are autocorrelated,
    and a Laplace covariance for independent days was too narrow where the data speak). ``params`` holds beta, gamma and decay with 95%
    intervals from that posterior mapped back (``identified`` per channel; ``at_bound`` when the mode
    sits at ``max_decay``); ``converged`` is False when the optimiser stopped without converging.
    """
    mchans = [c for c in data.columns if c not in ("date", "gmv", "orders", *EXCLUDED, *CONTROLS)]
    mchans = [c for c in mchans if data[c].sum() > 0]
    left_out = np.zeros(len(data), bool)
    for c in EXCLUDED:
        if c in data.columns:
            left_out |= data[c].to_numpy(bool)
    use = ~left_out & (data["orders"].to_numpy(float) > 0) if len(data) else np.array([])
    if len(data) < min_days or not mchans or use.sum() < min_days:
        return None
    y = np.log(data["orders"].to_numpy(float)[use])
    spend = data[mchans].to_numpy(float)
    controls = [c for c in CONTROLS if c in data.columns]
    design = _design(data, controls)
    base_x = design[use]
    k = len(mchans)
    mean_ad = np.array([max(adstock(spend[:, j], 0.5).mean(), 1e-9) for j in range(k)])
    mu = np.concatenate([np.full(k, PRIORS["log_beta"][0]), np.full(k, PRIORS["log_gamma_rel"][0]),
                         np.full(k, PRIORS["logit_decay"][0])])
    sd = np.concatenate([np.full(k, PRIORS["log_beta"][1]), np.full(k, PRIORS["log_gamma_rel"][1]),
                         np.full(k, PRIORS["logit_decay"][1])])
    logit_cap = float(np.log(max_decay / (1 - max_decay)))

    def unpack(u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.exp(u[:k]), np.exp(u[k:2 * k]) * mean_ad, _expit(np.minimum(u[2 * k:], logit_cap))

    def lift(beta: np.ndarray, gamma: np.ndarray, decay: np.ndarray) -> np.ndarray:
        m = sum(beta[j] * saturation(adstock(spend[:, j], decay[j]), gamma[j]) for j in range(k))
        return np.log1p(m)

    def inner(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        target = y - lift(*unpack(u))[use]
        coef, *_ = np.linalg.lstsq(base_x, target, rcond=None)
        return coef, target - base_x @ coef

    def stacked(u: np.ndarray, sigma: float) -> np.ndarray:
        return np.concatenate([inner(u)[1] / sigma, (u - mu) / sd])

    lo = np.full(3 * k, -np.inf)
    hi = np.concatenate([np.full(2 * k, np.inf), np.full(k, logit_cap)])
    u0 = mu.copy()
    sigma = float(np.std(inner(u0)[1])) or 1.0
    best = None
    for _ in range(2):  # σ from the previous mode, then the mode under that σ
        best = optimize.least_squares(stacked, u0, args=(sigma,), bounds=(lo, hi), method="trf", loss="soft_l1",
                                      f_scale=3.0, max_nfev=max_evaluations)
        u0 = best.x
        r = inner(u0)[1]
        sigma = float(np.sqrt(r @ r / max(len(y) - base_x.shape[1] - 3 * k, 1))) or sigma
    u = best.x
    coef, r = inner(u)
    f0, step = stacked(u, sigma), 1e-5 * np.maximum(np.abs(u), 1.0)
    jac = np.column_stack([(stacked(u + np.eye(3 * k)[i] * step[i], sigma) - f0) / step[i] for i in range(3 * k)])
    groups = _clusters(pd.DatetimeIndex(data["date"])[use], cluster)
    u_cov = _posterior_cov(jac, r / sigma, sd, groups)
    beta, gamma, decay = unpack(u)
    theta = np.concatenate([beta, np.log(gamma), decay, coef])
    full_base = design @ coef
    full_lift = lift(beta, gamma, decay)
    recent = data.tail(28)
    base_gmv = float((recent["gmv"] / np.exp(full_lift[-28:])).mean())
    se = np.sqrt(np.clip(np.diag(u_cov), 0, None))
    shrink = pd.DataFrame({"beta": se[:k] / sd[:k], "gamma": se[k:2 * k] / sd[k:2 * k],
                           "decay": se[2 * k:] / sd[2 * k:]}, index=mchans)
    model = ResponseModel(mchans, pd.DataFrame(), theta, u_cov, int(use.sum()),
                          1 - float(r @ r) / float(((y - y.mean()) ** 2).sum()), sigma,
                          recent[mchans].mean(), base_gmv, RESPONSE_METHOD,
                          pd.DataFrame({"date": data["date"], "orders": data["orders"],
                                        "fitted": np.exp(full_base + full_lift), "baseline": np.exp(full_base),
                                        "used": use}),
                          u=u, u_cov=u_cov, log_mean_ad=np.log(mean_ad), shrink=shrink,
                          converged=bool(best.status > 0))
    z = float(sps.norm.ppf(0.975))
    unidentified = set(model.unidentified())
    rows = []
    for j, c in enumerate(mchans):
        ub, ug, ud = u[j], u[k + j], u[2 * k + j]
        sb, sg, sdd = se[j], se[k + j], se[2 * k + j]
        rows.append({"marketing_channel": c, "beta": np.exp(ub), "beta_low": np.exp(ub - z * sb),
                     "beta_high": np.exp(ub + z * sb), "gamma": gamma[j],
                     "gamma_low": np.exp(ug - z * sg) * mean_ad[j], "gamma_high": np.exp(ug + z * sg) * mean_ad[j],
                     "decay": decay[j], "decay_low": float(_expit(ud - z * sdd)),
                     "decay_high": float(_expit(ud + z * sdd)), "identified": c not in unidentified,
                     "at_bound": bool(np.isclose(ud, logit_cap))})
    model.params = pd.DataFrame(rows)
    model.params["identified"] = ~model.params["marketing_channel"].isin(model.unidentified())
    return model


def response_curves(model: ResponseModel, points: int = 40, up_to: float = 3.0) -> pd.DataFrame:
    """Steady-state GMV per day by daily spend for each channel, from 0 to ``up_to`` × current spend.

    Returns ``marketing_channel``, ``daily_spend`` (CNY), ``response_gmv`` (CNY/day), ``low``, ``high`` (95%).
    """
    rows = []
    draws = model.draws(300)
    k = len(model.channels)
    for j, c in enumerate(model.channels):
        grid = np.linspace(0, max(model.current_spend[c], 1.0) * up_to, points)
        # channel j's parameters in every draw, unpacked as _unpack does: the response of each draw is then
        # one vector operation (the same arithmetic, element by element, as steady_response per draw)
        beta = np.clip(draws[:, j], 0, None)
        gamma = np.exp(np.clip(draws[:, k + j], -20, 30))
        decay = np.clip(draws[:, 2 * k + j], 0, 0.99)
        for s in grid:
            spend = np.zeros(k)
            spend[j] = s
            sims = model.base_gmv * beta * saturation(s / (1 - decay), gamma)
            rows.append({"marketing_channel": c, "daily_spend": s, "response_gmv": model.steady_response(spend)[j],
                         "low": np.quantile(sims, 0.025), "high": np.quantile(sims, 0.975)})
    return pd.DataFrame(rows)


def marginal_roas_table(model: ResponseModel) -> pd.DataFrame:
    """Marginal ROAS per channel at today's spend (mean of the last 28 days), with 95% intervals from draws.

    Returns ``marketing_channel``, ``current_spend``, ``marginal_roas``, ``marginal_roas_low``,
    ``marginal_roas_high``, ``response_gmv`` and ``identified`` (the channel's response is identified
    from the data; otherwise the interval is mostly the priors' and a page should not show it as a finding).
    """
    spend = model.current_spend[model.channels].to_numpy(float)
    draws = model.draws(500)
    sims = np.array([model.marginal_roas(spend, th) for th in draws])
    return pd.DataFrame({"marketing_channel": model.channels, "current_spend": spend,
                         "marginal_roas": model.marginal_roas(spend),
                         "marginal_roas_low": np.quantile(sims, 0.025, axis=0),
                         "marginal_roas_high": np.quantile(sims, 0.975, axis=0),
                         "response_gmv": model.steady_response(spend),
                         "identified": ~np.isin(model.channels, model.unidentified())})


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
