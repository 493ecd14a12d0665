"""CRM: RFM segments and their movement, cohort retention, repurchase, member tiers and lifetime value.

Every function takes a :class:`~workbench.data.loader.Dataset` (and a :class:`~workbench.sql.common.Filters`
or a reference date) and returns a tidy frame or a small result object. The per-customer work
(recency, frequency, spend) runs as SQL aggregations in DuckDB; pandas only sees one row per
customer, segment, cohort cell or channel.

Lifetime value uses the BG/NBD model for the number of repeat purchases (Fader, Hardie and Lee
2005, "Counting your customers the easy way") and the Gamma-Gamma model for the spend per
purchase (Fader, Hardie and Lee 2005, "RFM and CLV"), both fitted by maximum likelihood with
scipy. Time is counted in weeks; a purchase is a day with at least one valid order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
from scipy import optimize, special

from workbench.data.loader import Dataset
from workbench.errors import EmptyPeriodError
from workbench.sql.common import Filters
from workbench.stats import wilson_interval

NEEDS = {"orders": ["customer_id", "ordered_at", "paid_amount", "status"]}
NEEDS_CHANNEL = {"orders": ["customer_id", "ordered_at", "paid_amount", "status"],
                 "customers": ["customer_id", "acquisition_channel"]}
NEEDS_TIER = {"orders": ["customer_id", "ordered_at", "paid_amount", "status"],
              "customers": ["customer_id", "member_tier"]}

#: Named RFM segments, checked in this order: (name, SQL condition on r and f scores 1-5).
RFM_SEGMENTS: tuple[tuple[str, str], ...] = (
    ("champions", "r >= 4 AND f >= 4"),
    ("loyal", "r >= 3 AND f >= 3"),
    ("potential_loyalists", "r >= 4 AND f >= 2"),
    ("new_customers", "r = 5 AND f = 1"),
    ("promising", "r = 4 AND f = 1"),
    ("need_attention", "r = 3"),
    ("cant_lose", "r = 1 AND f >= 4"),
    ("at_risk", "r <= 2 AND f >= 3"),
    ("hibernating", "r = 2"),
    ("lost", "TRUE"),
)

#: Frequency score thresholds (orders in the look-back window): 1, 2, 3, 4-5, 6+.
F_SCORE_SQL = "CASE WHEN frequency >= 6 THEN 5 WHEN frequency >= 4 THEN 4 ELSE frequency END"



def _valid_orders(f: Filters | None = None, end: dt.date | None = None) -> str:
    """SQL condition for valid orders up to ``end`` in the filter's channels."""
    cond = ["is_valid"]
    if f is not None:
        cond.append(f.channel_sql("channel"))
    if end is not None:
        cond.append(f"order_date <= DATE '{end}'")
    return " AND ".join(cond)


# ----- RFM --------------------------------------------------------------------------------------

def _rfm_sql(f: Filters, as_of: dt.date, window_days: int) -> str:
    """SQL giving one row per customer active in the window: recency, frequency, monetary, r, f, m, segment.

    Recency is days from the last valid order to ``as_of``; frequency the valid orders and monetary
    the GMV (CNY) in the ``window_days`` before ``as_of``. r and m are quintile scores (5 = best),
    f uses fixed thresholds (:data:`F_SCORE_SQL`) because most customers buy once.
    """
    lo = as_of - dt.timedelta(days=window_days - 1)
    case = "CASE " + " ".join(f"WHEN {cond} THEN '{name}'" for name, cond in RFM_SEGMENTS) + " END"
    return f"""
        WITH base AS (
            SELECT customer_id, DATE '{as_of}' - max(order_date) AS recency_days,
                   count(*) AS frequency, sum(gmv_cny) AS monetary
            FROM orders_cny
            WHERE {_valid_orders(f, as_of)} AND order_date >= DATE '{lo}'
            GROUP BY customer_id
        ), scored AS (
            SELECT *, 6 - ntile(5) OVER (ORDER BY recency_days, customer_id) AS r,
                   {F_SCORE_SQL} AS f,
                   ntile(5) OVER (ORDER BY monetary, customer_id) AS m
            FROM base
        )
        SELECT *, {case} AS segment FROM scored
    """


def rfm_segments(ds: Dataset, f: Filters, window_days: int = 365) -> pd.DataFrame:
    """RFM segments as of the period's end: counts, share, GMV and averages per named segment.

    Returns one row per segment (in :data:`RFM_SEGMENTS` order): ``segment``, ``customers``,
    ``share``, ``gmv`` (CNY in the window), ``gmv_share``, ``gmv_per_customer``,
    ``orders_per_customer``, ``recency_days`` (mean). Empty frame when nobody bought in the window.
    """
    out = ds.sql(f"""
        SELECT segment, count(*) AS customers, sum(monetary) AS gmv,
               avg(monetary) AS gmv_per_customer, avg(frequency) AS orders_per_customer,
               avg(recency_days) AS recency_days
        FROM ({_rfm_sql(f, f.end, window_days)}) GROUP BY segment
    """)
    if out.empty:
        return out
    order = {name: i for i, (name, _) in enumerate(RFM_SEGMENTS)}
    out = out.assign(share=out["customers"] / out["customers"].sum(), gmv_share=out["gmv"] / out["gmv"].sum())
    return out.sort_values("segment", key=lambda s: s.map(order)).reset_index(drop=True)


def rfm_movement(ds: Dataset, f: Filters, window_days: int = 365) -> pd.DataFrame:
    """How customers moved between RFM segments from the comparison period's end to this period's end.

    The earlier date is the comparison period's end (or the day before the period without one).
    Customers without orders in the earlier window are ``new`` (``segment_from``); those not active
    in the later window are counted as ``lost`` by their later state. Returns ``segment_from``,
    ``segment_to``, ``customers`` and ``share_of_from`` (share of the earlier segment).
    """
    before = f.compare_end if f.compare_end is not None else f.start - dt.timedelta(days=1)
    out = ds.sql(f"""
        WITH a AS ({_rfm_sql(f, before, window_days)}), b AS ({_rfm_sql(f, f.end, window_days)})
        SELECT COALESCE(a.segment, 'new') AS segment_from, COALESCE(b.segment, 'lost') AS segment_to,
               count(*) AS customers
        FROM a FULL OUTER JOIN b USING (customer_id)
        GROUP BY ALL
    """)
    if out.empty:
        return out
    out["share_of_from"] = out["customers"] / out.groupby("segment_from")["customers"].transform("sum")
    return out.sort_values(["segment_from", "customers"], ascending=[True, False]).reset_index(drop=True)


# ----- cohorts, repurchase, channels, tiers ------------------------------------------------------

def cohort_retention(ds: Dataset, f: Filters, months: int = 12) -> pd.DataFrame:
    """Monthly cohort retention: share of each first-purchase month's buyers who buy again k months later.

    Cohorts are the first valid order's month over all history up to the period's end (in the
    filter's channels); month 0 is 100%. Only the last ``months`` + 1 cohorts are returned and cells
    after the data end are left out. Returns ``cohort`` (YYYY-MM), ``months_since_first``,
    ``customers`` (active that month), ``cohort_size`` and ``retention``.
    """
    out = ds.sql(f"""
        WITH o AS (
            SELECT customer_id, date_trunc('month', order_date) AS month
            FROM orders_cny WHERE {_valid_orders(f, f.end)} GROUP BY ALL
        ), first AS (SELECT customer_id, min(month) AS cohort FROM o GROUP BY 1),
        cells AS (
            SELECT strftime(cohort, '%Y-%m') AS cohort,
                   datediff('month', cohort, month) AS months_since_first, count(*) AS customers
            FROM o JOIN first USING (customer_id) GROUP BY ALL
        )
        SELECT c.*, s.customers AS cohort_size, c.customers / s.customers AS retention
        FROM cells c JOIN cells s ON s.cohort = c.cohort AND s.months_since_first = 0
        WHERE c.months_since_first <= {months}
        ORDER BY cohort, months_since_first
    """)
    if out.empty:
        return out
    keep = sorted(out["cohort"].unique())[-(months + 1):]
    return out[out["cohort"].isin(keep)].reset_index(drop=True)


@dataclass
class Repurchase:
    """Share of first-time buyers who buy again within a window, and the time between purchases."""

    repeat_rate: float
    low: float
    high: float
    n: int                      # first-time buyers observed for the full window
    window_days: int
    median_days_between: float
    p25_days_between: float
    p75_days_between: float
    n_gaps: int
    gaps: pd.DataFrame = field(repr=False)   # days_between bucket histogram: days_between, purchases


def repurchase(ds: Dataset, f: Filters, window_days: int = 90) -> Repurchase:
    """Repeat rate within ``window_days`` of the first purchase, and the distribution of purchase gaps.

    Buyers count when their first valid order lies in the period and at least ``window_days`` before
    the data's last day, so that every buyer had the full window to come back (a period too recent
    is moved back by the window). Gaps are days between consecutive purchase days of a customer, for
    purchases in the period. Raises :class:`EmptyPeriodError` when no first buyer qualifies.
    """
    last = ds.sql("SELECT max(order_date) AS d FROM orders_cny")["d"].iloc[0]
    last = pd.Timestamp(last).date()
    hi = min(f.end, last - dt.timedelta(days=window_days))
    lo = min(f.start, hi - dt.timedelta(days=max(f.days, 28) - 1))
    row = ds.sql(f"""
        WITH days AS (SELECT DISTINCT customer_id, order_date FROM orders_cny WHERE {_valid_orders(f)}),
        first AS (SELECT customer_id, min(order_date) AS first_date FROM days GROUP BY 1)
        SELECT count(*) AS n,
               count(*) FILTER (WHERE EXISTS (SELECT 1 FROM days d WHERE d.customer_id = first.customer_id
                    AND d.order_date > first.first_date
                    AND d.order_date <= first.first_date + INTERVAL {int(window_days)} DAY)) AS repeaters
        FROM first WHERE first_date BETWEEN DATE '{lo}' AND DATE '{hi}'
    """).iloc[0]
    n, k = int(row["n"]), int(row["repeaters"] or 0)
    if n == 0:
        raise EmptyPeriodError("no first-time buyers with a full repurchase window in this period and channel "
                               "selection; widen the period")
    low, high = wilson_interval(k, n)
    stats = ds.sql(f"""
        WITH days AS (SELECT DISTINCT customer_id, order_date FROM orders_cny WHERE {_valid_orders(f, f.end)}),
        g AS (SELECT order_date, order_date - lag(order_date) OVER (PARTITION BY customer_id ORDER BY order_date)
              AS gap FROM days),
        p AS (SELECT gap FROM g WHERE gap IS NOT NULL AND {f.date_sql('order_date')})
        SELECT least(floor(gap / 15) * 15, 360) AS days_between, count(*) AS purchases,
               (SELECT count(*) FROM p) AS n, (SELECT quantile_cont(gap, 0.25) FROM p) AS p25,
               (SELECT median(gap) FROM p) AS p50, (SELECT quantile_cont(gap, 0.75) FROM p) AS p75
        FROM p GROUP BY 1 ORDER BY 1
    """)
    if stats.empty:
        med = p25 = p75 = float("nan")
        n_gaps = 0
    else:
        med, p25, p75 = (float(stats[c].iloc[0]) for c in ("p50", "p25", "p75"))
        n_gaps = int(stats["n"].iloc[0])
    return Repurchase(k / n, float(low), float(high), n, window_days, med, p25, p75, n_gaps,
                      stats[["days_between", "purchases"]] if not stats.empty else
                      pd.DataFrame({"days_between": [], "purchases": []}))


def retention_by_channel(ds: Dataset, f: Filters, window_days: int = 90) -> pd.DataFrame:
    """Repeat rate within ``window_days`` of the first purchase by acquisition channel, with 95% intervals.

    Uses every customer (``customers.acquisition_channel``) who signed up within the data (so the first
    order seen is the first ever) and whose first valid order falls at least ``window_days`` before the
    data's last day and up to the period's end (the whole history, so the
    rates are stable; the channel filter applies to the acquisition channel). Returns
    ``acquisition_channel``, ``customers``, ``repeaters``, ``repeat_rate``, ``repeat_rate_low``,
    ``repeat_rate_high`` and ``orders_per_customer`` (in the first 365 days), best channel first.
    """
    last = pd.Timestamp(ds.sql("SELECT max(order_date) AS d FROM orders_cny")["d"].iloc[0]).date()
    hi = min(f.end, last - dt.timedelta(days=window_days))
    out = ds.sql(f"""
        WITH days AS (SELECT customer_id, order_date, count(*) AS orders FROM orders_cny WHERE is_valid
                      GROUP BY ALL),
        first AS (SELECT customer_id, min(order_date) AS first_date FROM days GROUP BY 1),
        per AS (
            SELECT c.acquisition_channel, fi.customer_id,
                   max(CASE WHEN d.order_date > fi.first_date
                            AND d.order_date <= fi.first_date + INTERVAL {int(window_days)} DAY THEN 1 ELSE 0 END)
                       AS repeated,
                   sum(CASE WHEN d.order_date < fi.first_date + INTERVAL 365 DAY THEN d.orders ELSE 0 END) AS orders
            FROM first fi JOIN days d USING (customer_id) JOIN customers c USING (customer_id)
            WHERE fi.first_date <= DATE '{hi}' AND {f.channel_sql('c.acquisition_channel')}
                  AND c.signup_date >= (SELECT min(order_date) FROM orders_cny)
            GROUP BY ALL
        )
        SELECT acquisition_channel, count(*) AS customers, sum(repeated) AS repeaters,
               avg(orders) AS orders_per_customer
        FROM per GROUP BY 1
    """)
    if out.empty:
        return out.assign(repeat_rate=[], repeat_rate_low=[], repeat_rate_high=[])
    low, high = wilson_interval(out["repeaters"].to_numpy(), out["customers"].to_numpy())
    out = out.assign(repeat_rate=out["repeaters"] / out["customers"], repeat_rate_low=low, repeat_rate_high=high)
    return out.sort_values("repeat_rate", ascending=False).reset_index(drop=True)


def retention_curves_by_channel(ds: Dataset, f: Filters, months: int = 12) -> pd.DataFrame:
    """Share of each acquisition channel's customers still buying k months after their first purchase.

    Customers are counted for month k only when their first purchase is at least k whole months
    before the data's last month. Returns ``acquisition_channel``, ``months_since_first``,
    ``customers`` (eligible), ``active`` and ``retention``.
    """
    return ds.sql(f"""
        WITH o AS (SELECT DISTINCT customer_id, date_trunc('month', order_date) AS month FROM orders_cny
                   WHERE is_valid),
        first AS (SELECT customer_id, min(month) AS cohort FROM o GROUP BY 1),
        lastm AS (SELECT max(month) AS m FROM o),
        grid AS (SELECT fi.customer_id, fi.cohort, k.k AS months_since_first
                 FROM first fi, lastm, range(0, {months + 1}) k(k)
                 WHERE datediff('month', fi.cohort, lastm.m) >= k.k)
        SELECT c.acquisition_channel, g.months_since_first, count(*) AS customers,
               count(o.customer_id) AS active, count(o.customer_id) / count(*) AS retention
        FROM grid g JOIN customers c USING (customer_id)
        LEFT JOIN o ON o.customer_id = g.customer_id AND datediff('month', g.cohort, o.month) = g.months_since_first
        WHERE {f.channel_sql('c.acquisition_channel')}
        GROUP BY ALL ORDER BY ALL
    """)


def tier_value(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Value of each member tier in the period: buyers, GMV per buyer (with 95% interval), orders per buyer.

    Also ``members`` (all customers of the tier) and ``active_share`` (members who bought in the
    period, Wilson interval). Returns one row per tier in the model's order (``none`` first).
    """
    out = ds.sql(f"""
        WITH per AS (
            SELECT customer_id, count(*) AS orders, sum(gmv_cny) AS gmv FROM orders_cny
            WHERE is_valid AND {f.where()} GROUP BY 1
        )
        SELECT COALESCE(c.member_tier, 'none') AS member_tier, count(*) AS members,
               count(p.customer_id) AS buyers, sum(p.gmv) AS gmv, avg(p.gmv) AS gmv_per_customer,
               stddev_samp(p.gmv) AS gmv_sd, avg(p.orders) AS orders_per_customer
        FROM customers c LEFT JOIN per p USING (customer_id)
        GROUP BY 1
    """)
    if out.empty:
        return out
    half = 1.96 * out["gmv_sd"] / np.sqrt(out["buyers"].where(out["buyers"] > 1))
    low, high = wilson_interval(out["buyers"].to_numpy(), out["members"].to_numpy())
    order = {t: i for i, t in enumerate(("none", "silver", "gold", "platinum"))}
    out = out.assign(gmv_per_customer_low=out["gmv_per_customer"] - half,
                     gmv_per_customer_high=out["gmv_per_customer"] + half,
                     active_share=out["buyers"] / out["members"], active_share_low=low, active_share_high=high)
    return out.sort_values("member_tier", key=lambda s: s.map(lambda t: order.get(t, 99))).reset_index(drop=True)


# ----- BG/NBD and Gamma-Gamma ----------------------------------------------------------------------

def summary_from_transactions(con: duckdb.DuckDBPyConnection, source_sql: str, calibration_end: dt.date,
                              holdout_end: dt.date | None = None, unit_days: float = 7.0) -> pd.DataFrame:
    """Per-customer BG/NBD inputs from a transaction relation, aggregated in SQL.

    ``source_sql`` is a SELECT giving ``customer_id``, ``date`` (DATE) and ``value`` (money) per
    transaction. Same-day transactions are one purchase. Customers whose first purchase is after
    ``calibration_end`` are left out. Returns ``customer_id``, ``frequency`` (repeat purchases in the
    calibration period), ``recency`` (first to last purchase) and ``T`` (first purchase to
    ``calibration_end``), both in units of ``unit_days``, ``monetary`` (mean value of the repeat
    purchases, NaN without one), and with ``holdout_end`` also ``holdout_purchases`` and
    ``holdout_value`` (after ``calibration_end`` up to ``holdout_end``).
    """
    hold = ""
    if holdout_end is not None:
        hold = (f", count(*) FILTER (WHERE date > DATE '{calibration_end}' AND date <= DATE '{holdout_end}') "
                f"AS holdout_purchases, COALESCE(sum(value) FILTER (WHERE date > DATE '{calibration_end}' "
                f"AND date <= DATE '{holdout_end}'), 0) AS holdout_value")
    return con.execute(f"""
        WITH days AS (SELECT customer_id, date, sum(value) AS value FROM ({source_sql}) GROUP BY ALL),
        first AS (SELECT customer_id, min(date) AS first_date FROM days GROUP BY 1),
        d AS (SELECT days.*, first_date FROM days JOIN first USING (customer_id)
              WHERE first_date <= DATE '{calibration_end}')
        SELECT customer_id,
               count(*) FILTER (WHERE date <= DATE '{calibration_end}') - 1 AS frequency,
               (max(date) FILTER (WHERE date <= DATE '{calibration_end}') - min(first_date)) / {unit_days} AS recency,
               (DATE '{calibration_end}' - min(first_date)) / {unit_days} AS T,
               avg(value) FILTER (WHERE date <= DATE '{calibration_end}' AND date > first_date) AS monetary
               {hold}
        FROM d GROUP BY customer_id ORDER BY customer_id
    """).df()


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
    """Fitted BG/NBD (or MBG/NBD): parameters r, alpha, a, b with 95% intervals (from the Hessian), n and
    log-likelihood; ``variant`` is ``"bgnbd"`` or ``"mbgnbd"``."""

    params: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    cov_log: np.ndarray = field(repr=False)
    n: int = 0
    loglik: float = float("nan")
    variant: str = "bgnbd"

    @property
    def method(self) -> str:
        return ("BG/NBD (Fader, Hardie & Lee 2005)" if self.variant == "bgnbd" else
                "MBG/NBD (Batislam, Denizel & Filiztekin 2007)") + ", maximum likelihood on scipy"

    @property
    def vector(self) -> np.ndarray:
        return np.array([self.params[k] for k in ("r", "alpha", "a", "b")])


@dataclass
class GammaGamma:
    """Fitted Gamma-Gamma spend model: p, q, v (gamma) with 95% intervals, n (repeat customers)."""

    params: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    cov_log: np.ndarray = field(repr=False)
    n: int = 0
    method: str = "Gamma-Gamma spend model (Fader, Hardie & Lee 2005), maximum likelihood on scipy"

    @property
    def vector(self) -> np.ndarray:
        return np.array([self.params[k] for k in ("p", "q", "v")])


def _intervals(names: tuple[str, ...], est: np.ndarray, cov: np.ndarray) -> dict[str, tuple[float, float]]:
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    return {k: (float(e * np.exp(-1.96 * s)), float(e * np.exp(1.96 * s))) for k, e, s in zip(names, est, se)}


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


@dataclass
class CLVResult:
    """Lifetime value: the models, per-customer predictions, the hold-out check and the base's total."""

    bgnbd: BGNBD
    gamma_gamma: GammaGamma
    customers: pd.DataFrame      # customer_id, frequency, recency, T, monetary, expected_purchases, p_alive, clv
    holdout: pd.DataFrame        # calibration_purchases bucket, customers, predicted, actual (mean per customer)
    holdout_predicted: float     # total predicted purchases in the hold-out period (chosen model)
    holdout_actual: float
    holdout_errors: dict         # variant -> relative error of the total on the hold-out
    calibration_end: dt.date
    holdout_end: dt.date
    horizon_weeks: float
    mean_clv: float
    mean_clv_low: float
    mean_clv_high: float
    n: int

    @property
    def method(self) -> str:
        return (f"{self.bgnbd.method} purchases (the variant closer on the hold-out) x Gamma-Gamma spend per "
                "purchase; GMV in CNY over the horizon, undiscounted; interval from 200 draws of the parameters' "
                "asymptotic distribution (parameter uncertainty only)")


def clv(ds: Dataset, as_of: dt.date, channels: tuple[str, ...] = (), holdout_weeks: int = 26,
        horizon_weeks: float = 52.0, seed: int = 0, variants: tuple[str, ...] = ("bgnbd", "mbgnbd")) -> CLVResult:
    """Fit BG/NBD (and MBG/NBD) and Gamma-Gamma, check them on a hold-out and predict each customer's value.

    Validation: models fitted on the history up to ``as_of`` minus ``holdout_weeks`` predict each
    customer's purchases in the hold-out weeks, compared with what happened (by calibration frequency,
    and in total); of ``variants`` the one whose total is closer is kept (MBG/NBD allows customers to
    leave right after their first purchase, which BG/NBD does not). Prediction: the kept model refitted
    on all history up to ``as_of`` gives each customer's expected purchases and GMV over
    ``horizon_weeks`` and the probability of being active. The mean CLV interval reflects parameter
    uncertainty only, evaluated on a fixed random subset of at most 3,000 customers and scaled to the
    full mean. Raises :class:`EmptyPeriodError` with too few customers or repeat buyers to fit.
    """
    chan = Filters(start=as_of, end=as_of, channels=channels).channel_sql("channel")
    source = (f"SELECT customer_id, order_date AS date, gmv_cny AS value FROM orders_cny "
              f"WHERE is_valid AND {chan} AND order_date <= DATE '{as_of}'")
    cal_end = as_of - dt.timedelta(weeks=holdout_weeks)
    cal = summary_from_transactions(ds.con, source, cal_end, as_of)
    if len(cal) < 200 or (cal["frequency"] > 0).sum() < 50:
        raise EmptyPeriodError("too few customers with repeat purchases to fit a lifetime-value model "
                               "(need at least 200 customers and 50 repeat buyers before the hold-out)")
    actual_total = float(cal["holdout_purchases"].sum())
    preds, errors = {}, {}
    for variant in variants:
        fit = fit_bgnbd(cal, variant)
        preds[variant] = expected_purchases(fit.vector, holdout_weeks, cal["frequency"], cal["recency"], cal["T"],
                                            variant)
        errors[variant] = float(preds[variant].sum() / actual_total - 1) if actual_total else float("nan")
    variant = min(errors, key=lambda v: abs(errors[v]) if errors[v] == errors[v] else np.inf)
    pred = preds[variant]
    holdout = (pd.DataFrame({"calibration_purchases": cal["frequency"].clip(upper=7), "predicted": pred,
                             "actual": cal["holdout_purchases"]})
               .groupby("calibration_purchases").agg(customers=("predicted", "size"), predicted=("predicted", "mean"),
                                                     actual=("actual", "mean")).reset_index())
    full = summary_from_transactions(ds.con, source, as_of)
    bg = fit_bgnbd(full, variant)
    gg = fit_gamma_gamma(full)
    pop_mean = float(full.loc[full["frequency"] > 0, "monetary"].mean())
    x, tx, T, m = full["frequency"], full["recency"], full["T"], full["monetary"]
    exp_n = expected_purchases(bg.vector, horizon_weeks, x, tx, T, variant)
    spend = expected_spend(gg.vector, x, m, pop_mean)
    customers = full.assign(expected_purchases=exp_n, p_alive=probability_alive(bg.vector, x, tx, T, variant),
                            expected_spend=spend, clv=exp_n * spend)
    rng = np.random.default_rng(seed)
    sub = full.iloc[rng.choice(len(full), min(len(full), 3000), replace=False)]
    sx, stx, sT, sm_ = sub["frequency"], sub["recency"], sub["T"], sub["monetary"]
    base = float(np.mean(expected_purchases(bg.vector, horizon_weeks, sx, stx, sT, variant)
                         * expected_spend(gg.vector, sx, sm_, pop_mean)))
    ratios = []
    for _ in range(200):
        pb = np.exp(np.log(bg.vector) + rng.multivariate_normal(np.zeros(4), np.nan_to_num(bg.cov_log)))
        pg = np.exp(np.log(gg.vector) + rng.multivariate_normal(np.zeros(3), np.nan_to_num(gg.cov_log)))
        e = expected_purchases(pb, horizon_weeks, sx, stx, sT, variant)
        s_ = expected_spend(pg, sx, sm_, pop_mean)
        ratios.append(float(np.nanmean(e * s_)) / base)
    mean_clv = float(customers["clv"].mean())
    lo, hi = (mean_clv * np.nanquantile(ratios, [0.025, 0.975])) if base > 0 else (np.nan, np.nan)
    return CLVResult(bg, gg, customers, holdout, float(pred.sum()), actual_total, errors, cal_end, as_of,
                     horizon_weeks, mean_clv, float(lo), float(hi), len(full))


def clv_by_segment(result: CLVResult, ds: Dataset, f: Filters, window_days: int = 365) -> pd.DataFrame:
    """Mean predicted CLV, expected purchases and probability active per RFM segment (as of the period's end)."""
    seg = ds.sql(f"SELECT customer_id, segment FROM ({_rfm_sql(f, f.end, window_days)})")
    merged = result.customers.merge(seg, on="customer_id", how="inner")
    if merged.empty:
        return pd.DataFrame(columns=["segment", "customers", "clv", "expected_purchases", "p_alive"])
    order = {name: i for i, (name, _) in enumerate(RFM_SEGMENTS)}
    out = merged.groupby("segment").agg(customers=("clv", "size"), clv=("clv", "mean"),
                                        expected_purchases=("expected_purchases", "mean"),
                                        p_alive=("p_alive", "mean")).reset_index()
    return out.sort_values("segment", key=lambda s: s.map(order)).reset_index(drop=True)


NEEDS_DELAY = {"orders": ["customer_id", "ordered_at", "paid_amount", "status"],
               "customers": ["customer_id", "acquisition_channel"],
               "shipments": ["order_id", "promised_at", "delivered_at"]}


@dataclass
class DelayEffect:
    """Odds ratio of buying again after a late first delivery, adjusted for acquisition channel."""

    odds_ratio: float
    low: float
    high: float
    repeat_rate_late: float
    repeat_rate_on_time: float
    n_late: int
    n_on_time: int
    window_days: int
    result: object = field(repr=False, default=None)
    method: str = ("binomial GLM (logit) of buying again within the window on late first delivery + acquisition "
                   "channel, first orders delivered and old enough for the full window; 95% Wald interval")


def delay_effect(ds: Dataset, f: Filters, window_days: int = 365) -> DelayEffect:
    """Does a late first delivery make a new customer less likely to come back?

    New customers (signed up on or after the data's first order day, so that their first order in the
    data is their first ever) whose first valid order was delivered (``shipments.delivered_at``) and placed at least
    ``window_days`` before the data's last day (and not after the period's end) are split by whether
    that delivery came after ``promised_at``; the outcome is another purchase day within
    ``window_days``. Raises :class:`EmptyPeriodError` when either group has fewer than 30 customers.
    """
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    ds.require(NEEDS_DELAY)
    last = pd.Timestamp(ds.sql("SELECT max(order_date) AS d FROM orders_cny")["d"].iloc[0]).date()
    hi = min(f.end, last - dt.timedelta(days=window_days))
    g = ds.sql(f"""
        WITH v AS (SELECT order_id, customer_id, ordered_at, order_date FROM orders_cny WHERE is_valid),
        first AS (SELECT customer_id, arg_min(order_id, ordered_at) AS order_id, min(order_date) AS first_date
                  FROM v GROUP BY 1),
        again AS (SELECT fi.customer_id, max(CASE WHEN v.order_date > fi.first_date AND v.order_date <=
                         fi.first_date + INTERVAL {int(window_days)} DAY THEN 1 ELSE 0 END) AS repeated
                  FROM first fi JOIN v USING (customer_id) GROUP BY 1)
        SELECT c.acquisition_channel, s.delivered_at > s.promised_at AS late,
               sum(a.repeated) AS repeated, count(*) - sum(a.repeated) AS not_repeated
        FROM first fi JOIN shipments s USING (order_id) JOIN again a USING (customer_id)
        JOIN customers c USING (customer_id)
        WHERE s.delivered_at IS NOT NULL AND fi.first_date <= DATE '{hi}' AND {f.channel_sql('c.acquisition_channel')}
              AND c.signup_date >= (SELECT min(order_date) FROM orders_cny)
        GROUP BY ALL
    """)
    tot = g.groupby("late")[["repeated", "not_repeated"]].sum() if len(g) else pd.DataFrame()
    if len(tot) < 2 or (tot.sum(axis=1) < 30).any():
        raise EmptyPeriodError("too few first deliveries, late and on time, with a full repurchase window")
    g = g.assign(late=g["late"].astype(int))
    formula = "repeated + not_repeated ~ late" + (" + C(acquisition_channel)" if g["acquisition_channel"].nunique() > 1
                                                  else "")
    res = smf.glm(formula, data=g, family=sm.families.Binomial()).fit()
    ci = res.conf_int().loc["late"]
    n = tot.sum(axis=1)
    return DelayEffect(float(np.exp(res.params["late"])), float(np.exp(ci[0])), float(np.exp(ci[1])),
                       float(tot.loc[True, "repeated"] / n.loc[True]), float(tot.loc[False, "repeated"] / n.loc[False]),
                       int(n.loc[True]), int(n.loc[False]), window_days, res)
