"""Sales and traffic: KPIs against a comparison period, breakdowns, the funnel, decomposition.

Functions take a :class:`~workbench.data.loader.Dataset` and :class:`~workbench.sql.common.Filters`
and return tidy frames or small result objects; the notebook draws and words them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data.loader import Dataset
from workbench.sql import common as queries
from workbench.sql.common import Filters
from workbench.stats import add_rate_interval, pct_change

KPIS = ("gmv", "orders", "buyers", "aov", "units", "refund_rate", "new_buyers", "returning_buyers")

NEEDS = {"orders": ["paid_amount", "ordered_at", "channel"]}
NEEDS_FUNNEL = {"traffic": []}


def kpi_table(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Headline KPIs of the period and of the comparison period.

    Returns one row per KPI: ``metric``, ``current``, ``comparison`` (NaN without a comparison
    period) and ``change`` (relative, 0.12 for +12%).
    """
    cur = queries.kpi_totals(ds, f)
    cmp_f = f.comparison()
    prev = queries.kpi_totals(ds, cmp_f) if cmp_f else {k: float("nan") for k in cur}
    rows = [{"metric": k, "current": cur[k], "comparison": prev[k], "change": pct_change(cur[k], prev[k])}
            for k in KPIS]
    return pd.DataFrame(rows)


def daily_with_comparison(ds: Dataset, f: Filters, metric: str = "gmv") -> pd.DataFrame:
    """Daily ``metric`` of the period with the comparison period aligned on day number.

    Returns ``date`` (of the current period), ``day``, ``period`` (current/comparison) and ``value``.
    """
    cur = queries.daily_kpis(ds, f)[["date", metric]].assign(period="current")
    cur["day"] = np.arange(len(cur))
    frames = [cur]
    cmp_f = f.comparison()
    if cmp_f:
        prev = queries.daily_kpis(ds, cmp_f)[["date", metric]].assign(period="comparison")
        prev["day"] = np.arange(len(prev))
        prev["date"] = cur["date"].iloc[: len(prev)].to_numpy() if len(prev) <= len(cur) else prev["date"]
        frames.append(prev)
    return pd.concat(frames, ignore_index=True).rename(columns={metric: "value"})


#: What each breakdown needs from the data (the notebook passes these as a section's ``needs``).
BREAKDOWN_NEEDS: dict[str, dict[str, list[str]]] = {
    "channel": {"orders": ["paid_amount", "ordered_at", "channel"]},
    "region": {"orders": ["paid_amount", "ordered_at", "channel", "region"]},
    "customer_type": {"orders": ["paid_amount", "ordered_at", "channel", "customer_id"]},
    "member_tier": {"orders": ["paid_amount", "ordered_at", "channel"], "customers": ["member_tier"]},
    "category": {"orders": ["ordered_at", "channel"], "order_items": ["quantity", "unit_price"],
                 "products": ["category"]},
}


def totals_by(ds: Dataset, f: Filters, by: str) -> pd.DataFrame:
    """GMV (CNY) and orders per value of a dimension: channel, region, customer_type, member_tier, category.

    ``customer_type`` is ``new`` for an order placed on the buyer's first day of buying (over all the
    data) and ``returning`` otherwise; ``category`` sums line values (quantity × unit price in CNY) and
    counts the orders holding a line of the category. Returns ``by``, ``gmv``, ``orders``.
    """
    if by == "category":
        ds.require(BREAKDOWN_NEEDS["category"])
        return ds.sql(f"""
            SELECT COALESCE(p.category, 'unknown') AS category, sum(i.line_gmv_cny) AS gmv,
                   count(DISTINCT i.order_id) AS orders
            FROM items_cny i LEFT JOIN products p USING (product_id)
            WHERE i.is_valid AND {f.where('i.order_date', 'i.channel')} GROUP BY 1 ORDER BY gmv DESC""")
    if by == "customer_type":
        return ds.sql(f"""
            WITH firsts AS (SELECT customer_id, min(order_date) AS first_date FROM orders_cny
                            WHERE is_valid GROUP BY 1)
            SELECT CASE WHEN o.order_date = fi.first_date THEN 'new' ELSE 'returning' END AS customer_type,
                   sum(gmv_cny) AS gmv, count(*) AS orders
            FROM orders_cny o JOIN firsts fi USING (customer_id)
            WHERE o.is_valid AND {f.where('o.order_date', 'o.channel')} GROUP BY 1 ORDER BY gmv DESC""")
    if by == "member_tier":
        ds.require(BREAKDOWN_NEEDS["member_tier"])
        return ds.sql(f"""
            SELECT CASE WHEN c.member_tier IS NULL THEN 'unknown' WHEN c.member_tier = 'none' THEN 'no_tier'
                        ELSE c.member_tier END AS member_tier, sum(o.gmv_cny) AS gmv, count(*) AS orders
            FROM orders_cny o LEFT JOIN customers c USING (customer_id)
            WHERE o.is_valid AND {f.where('o.order_date', 'o.channel')} GROUP BY 1 ORDER BY gmv DESC""")
    return queries.totals_by(ds, f, by)[[by, "gmv", "orders"]]


def breakdown(ds: Dataset, f: Filters, by: str = "channel") -> pd.DataFrame:
    """GMV by ``by`` in both periods, its change and each value's share of the total change.

    ``by`` is any dimension of :func:`totals_by`. Returns ``by``, ``gmv``, ``orders``,
    ``gmv_comparison``, ``delta`` (CNY), ``change`` (relative) and ``share_of_change`` (delta / total
    delta), sorted by absolute delta (top movers first); empty when the period has no orders.
    """
    cur = totals_by(ds, f, by)
    cmp_f = f.comparison()
    if cmp_f:
        prev = totals_by(ds, cmp_f, by)[[by, "gmv"]].rename(columns={"gmv": "gmv_comparison"})
        out = cur.merge(prev, on=by, how="outer").fillna({"gmv": 0.0, "gmv_comparison": 0.0, "orders": 0})
    else:
        out = cur.assign(gmv_comparison=np.nan)
    out["delta"] = out["gmv"] - out["gmv_comparison"]
    out["change"] = out["gmv"] / out["gmv_comparison"].where(out["gmv_comparison"] > 0) - 1
    total = out["delta"].sum()
    out["share_of_change"] = out["delta"] / total if total else np.nan
    return out.reindex(out["delta"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def kpi_series(ds: Dataset, f: Filters, grain: str = "week") -> pd.DataFrame:
    """GMV, orders, buyers, AOV and units per day, week or month, for the period and the comparison.

    The comparison period is shifted onto the current one (by the distance between their starts) so
    that buckets line up: each row is one ``bucket`` (first day of the day/week/month in the current
    period's calendar) and one ``period`` (``current`` or ``comparison``), with ``gmv`` (CNY),
    ``orders``, ``buyers``, ``aov`` (CNY), ``units`` (NaN without order lines) and ``days`` (days of
    the period inside the bucket, so partial buckets can be told apart).
    """
    if grain not in ("day", "week", "month"):
        raise ValueError("grain must be day, week or month")
    has_items = ds.has("order_items")
    frames = []
    for name, ff in (("current", f), ("comparison", f.comparison())):
        if ff is None:
            continue
        shift = (f.start - ff.start).days
        bucket = f"date_trunc('{grain}', order_date + INTERVAL {shift} DAY)"
        orders = ds.sql(f"""
            SELECT CAST({bucket} AS DATE) AS bucket, sum(gmv_cny) AS gmv, count(*) AS orders,
                   count(DISTINCT customer_id) AS buyers, count(DISTINCT order_date) AS days
            FROM orders_cny WHERE is_valid AND {ff.where()} GROUP BY 1""")
        if has_items:
            units = ds.sql(f"""
                SELECT CAST({bucket} AS DATE) AS bucket, sum(quantity) AS units
                FROM items_cny WHERE is_valid AND {ff.where()} GROUP BY 1""")
            orders = orders.merge(units, on="bucket", how="left")
        else:
            orders["units"] = np.nan
        frames.append(orders.assign(period=name))
    out = pd.concat(frames, ignore_index=True)
    out["bucket"] = pd.to_datetime(out["bucket"])
    out["aov"] = out["gmv"] / out["orders"].where(out["orders"] > 0)
    return out.sort_values(["bucket", "period"]).reset_index(drop=True)


FUNNEL_STEPS = ("sessions", "product_views", "add_to_cart", "checkouts", "paid_orders")


def funnel_rates(ds: Dataset, f: Filters, by: str = "source") -> pd.DataFrame:
    """Step-to-step conversion of the traffic funnel per ``by``, with 95% Wilson intervals.

    Returns one row per (``by``, ``step``): ``step``, ``count``, ``previous_count``, ``rate``,
    ``rate_low``, ``rate_high`` where rate = count / previous step's count, plus ``overall``
    (paid / sessions) on the first step's row of each group.
    """
    wide = queries.funnel(ds, f, by)
    rows = []
    for _, r in wide.iterrows():
        for i, step in enumerate(FUNNEL_STEPS):
            prev = r[FUNNEL_STEPS[i - 1]] if i else r[step]
            rows.append({by: r[by], "step": step, "count": int(r[step]), "previous_count": int(prev)})
    long = pd.DataFrame(rows, columns=[by, "step", "count", "previous_count"])
    return add_rate_interval(long, "count", "previous_count", "rate")


def biggest_leak(rates: pd.DataFrame) -> pd.Series:
    """The step (over all groups together) that loses the largest share of visits."""
    total = rates.groupby("step", sort=False)[["count", "previous_count"]].sum().iloc[1:]
    total["loss"] = 1 - total["count"] / total["previous_count"]
    return total.sort_values("loss", ascending=False).reset_index().iloc[0]


@dataclass
class Decomposition:
    """GMV change split into visitors × conversion rate × average order value (log shares)."""

    gmv_change: float
    parts: pd.DataFrame  # factor, current, comparison, change, contribution_cny


def decompose_gmv(ds: Dataset, f: Filters) -> Decomposition | None:
    """Decompose the GMV change between the periods into sessions, conversion and AOV.

    Uses the identity GMV = sessions × (orders / sessions) × (GMV / orders); each factor's
    contribution in CNY is its share of the log change times the GMV change (the log-mean
    split, which adds up exactly). Returns None without a comparison period or traffic.
    """
    cmp_f = f.comparison()
    if cmp_f is None or "traffic" not in ds.sources:
        return None

    def factors(ff: Filters) -> dict[str, float]:
        k = queries.kpi_totals(ds, ff)
        sessions = float(queries.funnel(ds, ff, "channel")["sessions"].sum())
        return {"sessions": sessions, "conversion": k["orders"] / sessions if sessions else np.nan,
                "aov": k["aov"], "gmv": k["gmv"]}

    cur, prev = factors(f), factors(cmp_f)
    delta = cur["gmv"] - prev["gmv"]
    log_total = np.log(cur["gmv"] / prev["gmv"]) if prev["gmv"] and cur["gmv"] else np.nan
    rows = []
    for name in ("sessions", "conversion", "aov"):
        lg = np.log(cur[name] / prev[name]) if prev[name] and cur[name] else np.nan
        rows.append({"factor": name, "current": cur[name], "comparison": prev[name],
                     "change": pct_change(cur[name], prev[name]),
                     "contribution_cny": delta * lg / log_total if log_total else np.nan})
    return Decomposition(pct_change(cur["gmv"], prev["gmv"]), pd.DataFrame(rows))


DECOMPOSITION_FACTORS = ("sessions", "conversion", "aov", "other")


def _log_mean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The logarithmic mean (a − b) / (ln a − ln b), equal to a where a = b (LMDI weight)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lm = (a - b) / (np.log(a) - np.log(b))
    return np.where(np.isclose(a, b), a, lm)


def _channel_factors(ds: Dataset, f: Filters) -> pd.DataFrame:
    orders = ds.sql(f"""
        SELECT channel, sum(gmv_cny) AS gmv, count(*) AS orders FROM orders_cny
        WHERE is_valid AND {f.where()} GROUP BY 1""")
    traffic = queries.funnel(ds, f, "channel")[["channel", "sessions"]]
    return orders.merge(traffic, on="channel", how="outer").fillna(0.0)


def decompose_gmv_by_channel(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Split the GMV change between the periods by channel and by factor: visitors × conversion × AOV.

    For each channel GMV = sessions × (orders / sessions) × (GMV / orders). Each factor's
    contribution in CNY is L(GMV₁, GMV₀) × ln(x₁ / x₀), with L the logarithmic mean (the LMDI-I
    method of Ang, 2004): the three contributions add up exactly to the channel's GMV change,
    and the channels add up exactly to the total change. A channel without sessions or orders
    in one of the periods (new, closed, or without traffic data) cannot be split: its whole
    change is reported as factor ``other``.

    Returns one row per (``channel``, ``factor``) with ``contribution_cny``, plus the channel's
    ``gmv``, ``gmv_comparison``, ``sessions``, ``sessions_comparison``, ``conversion``,
    ``conversion_comparison``, ``aov`` and ``aov_comparison``. Empty without a comparison period
    or the traffic table.
    """
    cmp_f = f.comparison()
    cols = ["channel", "factor", "contribution_cny"]
    if cmp_f is None or "traffic" not in ds.sources:
        return pd.DataFrame(columns=cols)
    cur, prev = _channel_factors(ds, f), _channel_factors(ds, cmp_f)
    both = cur.merge(prev, on="channel", how="outer", suffixes=("", "_comparison")).fillna(0.0)
    for sfx in ("", "_comparison"):
        o, s_ = both["orders" + sfx], both["sessions" + sfx]
        both["conversion" + sfx] = o / s_.where(s_ > 0)
        both["aov" + sfx] = both["gmv" + sfx] / o.where(o > 0)
    splittable = (both[["gmv", "gmv_comparison", "orders", "orders_comparison", "sessions",
                        "sessions_comparison"]] > 0).all(axis=1).to_numpy()
    weight = _log_mean(both["gmv"].to_numpy(), both["gmv_comparison"].to_numpy())
    rows = []
    for i, r in both.iterrows():
        delta = r["gmv"] - r["gmv_comparison"]
        ok = splittable[i]
        for name in ("sessions", "conversion", "aov"):
            contrib = weight[i] * np.log(r[name] / r[name + "_comparison"]) if ok else 0.0
            rows.append({"channel": r["channel"], "factor": name, "contribution_cny": float(contrib)})
        rows.append({"channel": r["channel"], "factor": "other", "contribution_cny": 0.0 if ok else float(delta)})
    out = pd.DataFrame(rows, columns=cols)
    keep = ["channel", "gmv", "gmv_comparison", "sessions", "sessions_comparison", "conversion",
            "conversion_comparison", "aov", "aov_comparison"]
    return out.merge(both[keep], on="channel", how="left")


def factor_totals(parts: pd.DataFrame) -> pd.DataFrame:
    """Contributions of :func:`decompose_gmv_by_channel` summed over channels: ``factor``, ``contribution_cny``."""
    if parts.empty:
        return pd.DataFrame(columns=["factor", "contribution_cny"])
    out = parts.groupby("factor", sort=False)["contribution_cny"].sum().reindex(list(DECOMPOSITION_FACTORS))
    return out.fillna(0.0).reset_index()


# ----- days that break the pattern -----------------------------------------------------------

@dataclass
class PatternBreaks:
    """Daily GMV against a robust seasonal baseline, with the days that break the pattern.

    ``daily`` holds every day of the history: ``date``, ``actual`` (GMV, CNY), ``baseline`` (CNY),
    ``excess`` (actual − baseline, CNY), ``excess_pct``, ``robust_z`` and ``flag`` (|z| > threshold).
    """

    daily: pd.DataFrame
    threshold: float
    method: str
    n_days: int

    def in_period(self, f: Filters) -> pd.DataFrame:
        """The days of ``f``'s period (all of them; ``flag`` marks the breaks)."""
        d = self.daily
        return d[(d["date"] >= pd.Timestamp(f.start)) & (d["date"] <= pd.Timestamp(f.end))].reset_index(drop=True)

    def breaks(self, f: Filters) -> pd.DataFrame:
        """The flagged days of ``f``'s period, largest break first."""
        d = self.in_period(f)
        d = d[d["flag"]]
        return d.reindex(d["robust_z"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def pattern_breaks(ds: Dataset, channels: tuple[str, ...] = (), threshold: float = 3.5,
                   end: "pd.Timestamp | None" = None) -> PatternBreaks:
    """Flag days whose GMV breaks the weekly pattern, against a robust seasonal baseline.

    Method: log(1 + daily GMV) over the whole history of the chosen ``channels`` is decomposed
    with STL (Cleveland et al., 1990; statsmodels, period 7, robust weights, a 5-week trend
    window), so that the baseline (trend + weekday pattern) is not pulled by the very days it
    should flag; a second pass refits with the days flagged by the first replaced by their
    baseline, so that a long event (an 11-day Double 11) does not lift the trend around it. The residual is scaled by its median absolute deviation (robust z-score;
    1.4826 × MAD estimates the standard deviation); days with |z| > ``threshold`` are flagged.
    The size of a break is actual − baseline in CNY. Fit on the whole history, not the period,
    so a notebook calls it through ``nb.memo`` (arguments hashable).
    """
    from statsmodels.tsa.seasonal import STL

    where = "TRUE" if not channels else Filters(start=pd.Timestamp(0).date(), end=pd.Timestamp(0).date(),
                                                channels=channels).channel_sql()
    daily = ds.sql(f"""SELECT order_date AS date, sum(gmv_cny) AS actual FROM orders_cny
                       WHERE is_valid AND {where} GROUP BY 1 ORDER BY 1""")
    method = "STL (period 7, robust, two passes) on log GMV; robust z = residual / (1.4826 × MAD)"
    cols = ["date", "actual", "baseline", "excess", "excess_pct", "robust_z", "flag"]
    if len(daily) < 28:
        return PatternBreaks(pd.DataFrame(columns=cols), threshold, method, len(daily))
    daily["date"] = pd.to_datetime(daily["date"])
    full = pd.DataFrame({"date": pd.date_range(daily["date"].min(), daily["date"].max(), freq="D")})
    daily = full.merge(daily, on="date", how="left").fillna({"actual": 0.0})
    y = np.log1p(daily["actual"].to_numpy())

    def robust_z(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fit = STL(values, period=7, trend=35, robust=True).fit()
        base = fit.trend + fit.seasonal
        resid = y - base
        mad = np.median(np.abs(resid - np.median(resid))) * 1.4826
        return base, ((resid - np.median(resid)) / mad if mad > 0 else np.zeros_like(resid))

    base_log, z = robust_z(y)
    # second pass: the flagged days replaced by their baseline, so a long event cannot lift the trend
    base_log, z = robust_z(np.where(np.abs(z) > threshold, base_log, y))
    baseline = np.expm1(base_log)
    out = daily.assign(baseline=baseline, excess=daily["actual"] - baseline,
                       excess_pct=daily["actual"] / np.where(baseline > 0, baseline, np.nan) - 1,
                       robust_z=z, flag=np.abs(z) > threshold)
    return PatternBreaks(out[cols], threshold, method, len(out))


def campaign_days(ds: Dataset) -> pd.DataFrame:
    """Campaign per day (``date``, ``campaign``) from the campaigns table; empty without it."""
    if not ds.has("campaigns", ["name", "start_date", "end_date"]):
        return pd.DataFrame(columns=["date", "campaign"])
    c = ds.sql("""SELECT CAST(d AS DATE) AS date, string_agg(name, ' / ') AS campaign
                  FROM campaigns, generate_series(start_date, end_date, INTERVAL 1 DAY) AS t(d) GROUP BY 1""")
    c["date"] = pd.to_datetime(c["date"])
    return c


def overall_conversion(rates: pd.DataFrame, by: str = "source") -> pd.DataFrame:
    """Sessions-to-paid conversion per ``by`` from :func:`funnel_rates`, with 95% Wilson intervals.

    Returns ``by``, ``sessions``, ``paid_orders``, ``rate``, ``rate_low``, ``rate_high``, best first.
    """
    if rates.empty:
        return pd.DataFrame(columns=[by, "sessions", "paid_orders", "rate", "rate_low", "rate_high"])
    wide = rates.pivot_table(index=by, columns="step", values="count", aggfunc="sum").reset_index()
    out = add_rate_interval(wide[[by, "sessions", "paid_orders"]], "paid_orders", "sessions", "rate")
    return out.sort_values("rate", ascending=False).reset_index(drop=True)
