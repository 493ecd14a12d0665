"""Marketing and promotion: where the money goes, what it returns, and how to read an A/B test.

Delivery KPIs are sums over ``marketing_spend``. The response model explains daily orders by
the spend of each marketing channel with carry-over (geometric adstock) and diminishing
returns (an exponential saturation curve) lifting a baseline with trend, weekly and yearly
seasonality (campaign days left out); it is fitted by non-linear least squares (scipy) and its parameter
covariance drives every interval (marginal ROAS, the gain of a reallocation).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sps

from workbench.data.loader import Dataset
from workbench.errors import ParameterError
from workbench.sql.common import Filters
from workbench.stats import wilson_interval

NEEDS_SPEND = {"marketing_spend": ["spend_cny", "impressions", "clicks"]}
NEEDS_RESPONSE = {"marketing_spend": ["spend_cny"], "orders": ["paid_amount", "ordered_at", "channel"]}


# ----- delivery KPIs -------------------------------------------------------------------------------

def channel_kpis(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Spend, impressions, clicks, CTR, CPC, cost per attributed order and ROAS per marketing channel.

    ``channel`` filters on the sales channel the spend drives. CPA and ROAS use the ad platforms'
    own attribution (``attributed_orders``, ``attributed_gmv_cny``; NaN when absent), which
    over-credits ads; the response model below is the incrementality view. Returns
    ``marketing_channel``, ``spend_cny``, ``impressions``, ``clicks``, ``ctr``, ``ctr_low``,
    ``ctr_high`` (Wilson 95%), ``cpc``, ``attributed_orders``, ``cpa``, ``attributed_gmv_cny``, ``roas``.
    """
    att_o = "sum(attributed_orders)" if ds.has("marketing_spend", ["attributed_orders"]) else "CAST(NULL AS DOUBLE)"
    att_g = "sum(attributed_gmv_cny)" if ds.has("marketing_spend", ["attributed_gmv_cny"]) else "CAST(NULL AS DOUBLE)"
    out = ds.sql(f"""
        SELECT marketing_channel, sum(spend_cny) AS spend_cny, sum(impressions) AS impressions, sum(clicks) AS clicks,
               {att_o} AS attributed_orders, {att_g} AS attributed_gmv_cny
        FROM marketing_spend WHERE {f.where('date')} GROUP BY 1 ORDER BY spend_cny DESC""")
    out["ctr"] = out["clicks"] / out["impressions"].where(out["impressions"] > 0)
    low, high = wilson_interval(out["clicks"].to_numpy(float), out["impressions"].to_numpy(float))
    out["ctr_low"], out["ctr_high"] = low, high
    out["cpc"] = out["spend_cny"] / out["clicks"].where(out["clicks"] > 0)
    out["cpa"] = out["spend_cny"] / out["attributed_orders"].where(out["attributed_orders"] > 0)
    out["roas"] = out["attributed_gmv_cny"] / out["spend_cny"].where(out["spend_cny"] > 0)
    return out[["marketing_channel", "spend_cny", "impressions", "clicks", "ctr", "ctr_low", "ctr_high", "cpc",
                "attributed_orders", "cpa", "attributed_gmv_cny", "roas"]]


def spend_over_time(ds: Dataset, f: Filters, grain: str = "week") -> pd.DataFrame:
    """Spend (CNY), clicks and attributed GMV per ``grain`` (day/week/month) and marketing channel."""
    att_g = "sum(attributed_gmv_cny)" if ds.has("marketing_spend", ["attributed_gmv_cny"]) else "CAST(NULL AS DOUBLE)"
    out = ds.sql(f"""
        SELECT CAST(date_trunc('{grain}', date) AS DATE) AS {grain}, marketing_channel, sum(spend_cny) AS spend_cny,
               sum(clicks) AS clicks, {att_g} AS attributed_gmv_cny
        FROM marketing_spend WHERE {f.where('date')} GROUP BY 1, 2 ORDER BY 1, 2""")
    out[grain] = pd.to_datetime(out[grain])
    return out


# ----- response curves -------------------------------------------------------------------------------

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


RESPONSE_METHOD = ("non-linear least squares of log daily orders on log(1 + Σ beta·(1 − exp(−adstock/gamma))) per "
                   "marketing channel (geometric adstock) plus a baseline of trend, weekday and yearly Fourier terms; "
                   "campaign days and the week before them left out (their bursts of spend coincide with the "
                   "campaign itself); robust (soft-L1) loss; intervals by the delta method / parameter draws")


def _baseline_design(dates: pd.DatetimeIndex) -> np.ndarray:
    t = (dates - dates.min()).days.to_numpy() / 365.25
    cols = [np.ones(len(dates)), t]
    cols += [(dates.day_of_week == k).astype(float) for k in range(1, 7)]
    doy = dates.day_of_year.to_numpy() / 365.25
    for h in (1, 2):
        cols += [np.sin(2 * np.pi * h * doy), np.cos(2 * np.pi * h * doy)]
    return np.column_stack(cols)


def response_data(ds: Dataset, channels: tuple[str, ...] = ()) -> pd.DataFrame:
    """Daily GMV (CNY, valid orders of ``channels``), spend per marketing channel (CNY, wide) and a campaign flag.

    Spend is the spend that drives the chosen sales channels (all when empty); livestream-sourced
    orders are left out (they follow the hosts' schedule). Returns ``date``, ``gmv``, ``orders``,
    one column per marketing channel and ``campaign`` (bool: a campaign day or one of the 7 days
    before), on the days both tables cover.
    """
    f = Filters(start=dt.date(1970, 1, 1), end=dt.date(1970, 1, 1), channels=channels)
    src = "(source IS NULL OR source <> 'livestream')" if ds.has("orders", ["source"]) else "TRUE"
    gmv = ds.sql(f"""SELECT order_date AS date, sum(gmv_cny) AS gmv, count(*) AS orders FROM orders_cny
                     WHERE is_valid AND {f.channel_sql()} AND {src} GROUP BY 1""")
    spend = ds.sql(f"""SELECT date, marketing_channel, sum(spend_cny) AS spend FROM marketing_spend
                       WHERE {f.channel_sql()} GROUP BY 1, 2""")
    if gmv.empty or spend.empty:
        return pd.DataFrame(columns=["date", "gmv", "orders", "campaign"])
    wide = spend.pivot_table(index="date", columns="marketing_channel", values="spend", aggfunc="sum")
    wide.columns = [str(c) for c in wide.columns]
    lo, hi = max(pd.Timestamp(gmv["date"].min()), pd.Timestamp(wide.index.min())), \
        min(pd.Timestamp(gmv["date"].max()), pd.Timestamp(wide.index.max()))
    cal = pd.DataFrame({"date": pd.date_range(lo, hi, freq="D")})
    gmv["date"] = pd.to_datetime(gmv["date"])
    wide.index = pd.to_datetime(wide.index)
    out = cal.merge(gmv, on="date", how="left").merge(wide.reset_index(), on="date", how="left").fillna(0.0)
    out["campaign"] = False
    if ds.has("campaigns"):
        days = ds.sql("""SELECT DISTINCT CAST(d AS DATE) AS date FROM campaigns,
                         generate_series(start_date - INTERVAL 7 DAY, end_date, INTERVAL 1 DAY) AS t(d)""")
        out["campaign"] = out["date"].isin(pd.to_datetime(days["date"]))
    return out


def fit_response(ds: Dataset, channels: tuple[str, ...] = (), min_days: int = 120,
                 max_decay: float = 0.95, max_evaluations: int = 200) -> ResponseModel | None:
    """Fit the response model (see :class:`ResponseModel`) on the whole history; None with too little data.

    Variable projection: for given betas, gammas and decays the baseline is linear in log
    orders and ordinary least squares solves it exactly; a bounded trust-region least squares
    (scipy, soft-L1 loss against holiday outliers) searches the 3 × channels non-linear
    parameters: beta 0–2, gamma 0.1–20 × the channel's mean adstocked spend (outside the spend
    observed the curvature cannot be told from the data), decay 0–``max_decay``. Adstock runs
    over every day; campaign days and the week before them are left out of the fit. The
    covariance of all parameters is σ²(JᵀJ)⁻¹ from the full Jacobian. Cache with ``nb.memo``.
    """
    data = response_data(ds, channels)
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
    z = sps.norm.ppf(0.975)
    rows = []
    for j, c in enumerate(mchans):
        b, lg, d = theta[j], theta[k + j], theta[2 * k + j]
        sb, sg, sd = se[j], se[k + j], se[2 * k + j]
        rows.append({"marketing_channel": c, "beta": b, "beta_low": b - z * sb, "beta_high": b + z * sb,
                     "gamma": np.exp(lg), "gamma_low": np.exp(lg - z * sg), "gamma_high": np.exp(min(lg + z * sg, 50.0)),
                     "decay": d, "decay_low": d - z * sd, "decay_high": d + z * sd,
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
                        max_change, "SLSQP on the fitted steady-state curves; interval from parameter draws")


# ----- A/B test reader -------------------------------------------------------------------------------

@dataclass
class ABTest:
    """Two variants' conversion compared: difference, interval, p-value and power."""

    visitors_a: int
    conversions_a: int
    visitors_b: int
    conversions_b: int
    rate_a: float
    rate_b: float
    difference: float       # rate_b − rate_a (absolute)
    low: float
    high: float
    lift: float             # rate_b / rate_a − 1
    p_value: float
    power: float            # power to detect the observed difference at this sample size
    needed_per_arm: int     # visitors per variant for 80% power at the observed difference
    enough: bool
    method: str = ("two-sided two-proportion z-test (pooled); Newcombe hybrid score interval for the difference; "
                   "power and sample size by the normal approximation at alpha 0.05")


def parse_ab(text: str) -> tuple[int, int, int, int] | None:
    """Read the ``ab_test`` parameter 'visitors_a,conversions_a,visitors_b,conversions_b' (empty: None)."""
    if not text or not text.strip():
        return None
    parts = [p for p in re.split(r"[,\s;]+", text.strip()) if p]
    try:
        nums = [int(float(p)) for p in parts]
    except ValueError:
        nums = []
    if len(nums) != 4 or nums[0] <= 0 or nums[2] <= 0 or not (0 <= nums[1] <= nums[0]) or not (0 <= nums[3] <= nums[2]):
        raise ParameterError(f"ab_test = {text!r}: expected 'visitors_a,conversions_a,visitors_b,conversions_b' with "
                             "whole numbers and conversions not above visitors, e.g. '12000,384,11800,431'")
    return nums[0], nums[1], nums[2], nums[3]


def required_sample(rate: float, lift: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Visitors per variant to detect a relative ``lift`` on a base conversion ``rate`` (two-sided test)."""
    p1, p2 = rate, rate * (1 + lift)
    if not (0 < p1 < 1 and 0 < p2 < 1) or p1 == p2:
        return 0
    za, zb = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)
    pbar = (p1 + p2) / 2
    n = (za * np.sqrt(2 * pbar * (1 - pbar)) + zb * np.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p2 - p1) ** 2
    return int(np.ceil(n))


def ab_test(visitors_a: int, conversions_a: int, visitors_b: int, conversions_b: int,
            alpha: float = 0.05) -> ABTest:
    """Compare variant B with A: difference of conversion rates, its interval, p-value and power."""
    pa, pb = conversions_a / visitors_a, conversions_b / visitors_b
    diff = pb - pa
    la, ha = wilson_interval(conversions_a, visitors_a, 1 - alpha)
    lb, hb = wilson_interval(conversions_b, visitors_b, 1 - alpha)
    la, ha, lb, hb = float(la), float(ha), float(lb), float(hb)
    low = diff - np.sqrt((pb - lb) ** 2 + (ha - pa) ** 2)
    high = diff + np.sqrt((hb - pb) ** 2 + (pa - la) ** 2)
    pool = (conversions_a + conversions_b) / (visitors_a + visitors_b)
    se0 = np.sqrt(pool * (1 - pool) * (1 / visitors_a + 1 / visitors_b))
    p_value = float(2 * sps.norm.sf(abs(diff) / se0)) if se0 > 0 else float("nan")
    se1 = np.sqrt(pa * (1 - pa) / visitors_a + pb * (1 - pb) / visitors_b)
    za = sps.norm.ppf(1 - alpha / 2)
    power = float(sps.norm.cdf(abs(diff) / se1 - za)) if se1 > 0 else float("nan")
    needed = required_sample(pa, diff / pa if pa else 0.0, alpha) if pa else 0
    return ABTest(visitors_a, conversions_a, visitors_b, conversions_b, pa, pb, diff, float(low), float(high),
                  pb / pa - 1 if pa else float("nan"), p_value, power, needed,
                  bool(min(visitors_a, visitors_b) >= needed > 0))


def sample_size_table(rate: float, lifts: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2)) -> pd.DataFrame:
    """Visitors per variant needed to detect each relative lift on a base ``rate`` (80% power, alpha 0.05)."""
    return pd.DataFrame({"lift": list(lifts), "visitors_per_arm": [required_sample(rate, x) for x in lifts]})


@dataclass
class ResponseAnalysis:
    """Everything the notebook shows from one response fit: the model, curves, marginal ROAS and a reallocation."""

    model: ResponseModel
    curves: pd.DataFrame
    marginal_roas: pd.DataFrame
    reallocation: Reallocation


def analyse_response(ds: Dataset, channels: tuple[str, ...] = (), max_change: float = 0.5) -> ResponseAnalysis | None:
    """Fit :func:`fit_response` and derive curves, marginal ROAS and a reallocation (hashable arguments, for ``nb.memo``)."""
    model = fit_response(ds, channels)
    if model is None:
        return None
    return ResponseAnalysis(model, response_curves(model), marginal_roas_table(model), reallocate(model, max_change))
