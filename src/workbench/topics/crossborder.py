"""Cross-border: markets in local currency and CNY, the FX effect, landed cost and margin, delivery, risk.

A cross-border order is one in the ``cross_border`` channel or paid in a currency other than CNY;
its *market* is the destination country (``orders.country``), or its currency when the country is
missing. Functions take a :class:`~workbench.data.loader.Dataset` and :class:`~workbench.sql.common.Filters`
and return tidy frames or small result objects; the notebook ``09_cross_border`` draws and words
them.

The GMV change between two periods is split exactly (log-mean Divisia, LMDI) into

``volume``       orders
``local_price``  average order value in the market's own currency
``fx``           the effective exchange rate (CNY per unit of local currency)

since GMV(CNY) = orders × local AOV × rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from workbench.data.loader import Dataset
from workbench.errors import EmptyPeriodError
from workbench.sql.common import Filters
from workbench.stats import add_rate_interval, pct_change

NEEDS = {"orders": ["currency", "paid_amount", "ordered_at", "channel"]}
NEEDS_FX = {"orders": ["currency", "paid_amount", "ordered_at", "channel"], "fx_rates": ["rate_to_cny"]}
NEEDS_COST = {"orders": ["currency", "paid_amount", "ordered_at", "channel"],
              "shipments": ["shipping_cost_cny", "duty_cny"]}
NEEDS_TIMES = {"orders": ["ordered_at", "channel", "currency"],
               "shipments": ["shipped_at", "delivered_at", "promised_at", "customs_cleared_at", "status"]}

FACTORS = ("volume", "local_price", "fx")



def _market_orders(f: Filters, cols: str = "") -> str:
    """Valid cross-border orders of the period with their market."""
    return f"""
        SELECT COALESCE(NULLIF(upper(o.country), 'CN'), upper(o.currency)) AS market, upper(o.currency) AS currency,
               o.paid_amount AS gmv_local, o.gmv_cny, o.order_id, o.order_date {cols}
        FROM orders_cny o
        WHERE o.is_valid AND (o.channel = 'cross_border' OR upper(o.currency) <> 'CNY')
          AND {f.where('o.order_date', 'o.channel')}
    """


def market_totals(ds: Dataset, f: Filters) -> pd.DataFrame:
    """GMV per market: ``market``, ``currency``, ``orders``, ``gmv_local``, ``gmv_cny``, ``rate``
    (effective CNY per local unit), ``aov_local``; sorted by CNY GMV. Markets selling in more than
    one currency get one row per currency."""
    frame = ds.sql(f"""
        SELECT market, currency, count(*) AS orders, sum(gmv_local) AS gmv_local, sum(gmv_cny) AS gmv_cny
        FROM ({_market_orders(f)}) GROUP BY ALL ORDER BY gmv_cny DESC
    """)
    frame["rate"] = frame["gmv_cny"] / frame["gmv_local"].where(frame["gmv_local"] > 0)
    frame["aov_local"] = frame["gmv_local"] / frame["orders"].where(frame["orders"] > 0)
    return frame


def lmdi(current: dict[str, float], previous: dict[str, float], total_now: float, total_before: float) -> dict:
    """Additive log-mean Divisia split of ``total_now - total_before`` over multiplicative factors.

    ``current``/``previous`` map factor → value with total = product of factors. Returns factor →
    contribution (in the total's units); the contributions add up to the change exactly. NaN where
    a value is zero or missing.
    """
    delta = total_now - total_before
    if total_now <= 0 or total_before <= 0:
        return {k: float("nan") for k in current}
    weight = delta / np.log(total_now / total_before) if total_now != total_before else total_now
    return {k: float(weight * np.log(current[k] / previous[k])) if current[k] > 0 and previous[k] > 0
            else float("nan") for k in current}


@dataclass
class FxDecomposition:
    """GMV change per market split into volume, local price and exchange rate (LMDI, exact)."""

    table: pd.DataFrame   # market, currency, factor, current, comparison, change, contribution_cny
    totals: pd.DataFrame  # factor, contribution_cny (summed over markets)
    gmv_change_cny: float
    fx_change: pd.DataFrame  # currency, rate_comparison, rate_current, change
    method: str = ("GMV(CNY) = orders × local AOV × rate; log-mean Divisia (LMDI) split per market and "
                   "currency, contributions add up to the change")


def fx_decomposition(ds: Dataset, f: Filters, comparison: Filters | None = None) -> FxDecomposition:
    """Split the change in cross-border GMV (CNY) between the comparison period and the period.

    ``comparison`` defaults to ``f.comparison()``. Each (market, currency) is split on its own;
    markets present in only one period contribute their whole GMV to ``volume``. Raises
    :class:`EmptyPeriodError` without a comparison period or without cross-border orders.
    """
    comparison = comparison or f.comparison()
    if comparison is None:
        raise EmptyPeriodError("the FX decomposition needs a comparison period; set compare to previous or last_year")
    cur, prev = market_totals(ds, f), market_totals(ds, comparison)
    if cur.empty and prev.empty:
        raise EmptyPeriodError("no cross-border orders in the period or the comparison period")
    both = cur.merge(prev, on=["market", "currency"], how="outer", suffixes=("", "_cmp")).fillna(
        {"orders": 0, "gmv_local": 0.0, "gmv_cny": 0.0, "orders_cmp": 0, "gmv_local_cmp": 0.0, "gmv_cny_cmp": 0.0})
    rows = []
    for r in both.itertuples(index=False):
        now = {"volume": r.orders, "local_price": r.gmv_local / r.orders if r.orders else 0.0,
               "fx": r.gmv_cny / r.gmv_local if r.gmv_local else 0.0}
        before = {"volume": r.orders_cmp, "local_price": r.gmv_local_cmp / r.orders_cmp if r.orders_cmp else 0.0,
                  "fx": r.gmv_cny_cmp / r.gmv_local_cmp if r.gmv_local_cmp else 0.0}
        if r.gmv_cny > 0 and r.gmv_cny_cmp > 0:
            parts = lmdi(now, before, r.gmv_cny, r.gmv_cny_cmp)
        else:
            parts = {"volume": r.gmv_cny - r.gmv_cny_cmp, "local_price": 0.0, "fx": 0.0}
        for k in FACTORS:
            rows.append({"market": r.market, "currency": r.currency, "factor": k, "current": now[k],
                         "comparison": before[k], "change": pct_change(now[k], before[k]),
                         "contribution_cny": parts[k]})
    table = pd.DataFrame(rows)
    totals = table.groupby("factor", sort=False)["contribution_cny"].sum().reindex(list(FACTORS)).reset_index()
    def rates(frame: pd.DataFrame) -> pd.Series:
        g = frame.groupby("currency")[["gmv_cny", "gmv_local"]].sum()
        return g["gmv_cny"] / g["gmv_local"].where(g["gmv_local"] > 0)

    fx = pd.DataFrame({"rate_comparison": rates(prev), "rate_current": rates(cur)}).rename_axis("currency") \
        .reset_index()
    fx["change"] = fx["rate_current"] / fx["rate_comparison"] - 1
    return FxDecomposition(table, totals, float(both["gmv_cny"].sum() - both["gmv_cny_cmp"].sum()), fx)


def constant_fx_monthly(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Monthly cross-border GMV in CNY at actual rates and at fixed rates (each currency's mean rate in
    the first month of the window, which spans the comparison period and the period).

    Returns ``month``, ``measure`` (``gmv_cny`` / ``gmv_constant_fx``) and ``value`` (CNY).
    """
    start = f.compare_start or f.start
    window = Filters(start=min(start, f.start), end=f.end, channels=f.channels)
    frame = ds.sql(f"""
        WITH m AS (SELECT date_trunc('month', order_date) AS month, currency, sum(gmv_local) AS gmv_local,
                          sum(gmv_cny) AS gmv_cny
                   FROM ({_market_orders(window)}) GROUP BY ALL),
        base AS (SELECT currency, sum(gmv_cny) / NULLIF(sum(gmv_local), 0) AS base_rate FROM m
                 WHERE month = (SELECT min(month) FROM m) GROUP BY 1)
        SELECT month, sum(gmv_cny) AS gmv_cny, sum(gmv_local * COALESCE(base_rate, gmv_cny / NULLIF(gmv_local, 0)))
               AS gmv_constant_fx
        FROM m LEFT JOIN base USING (currency) GROUP BY 1 ORDER BY 1
    """)
    frame["month"] = pd.to_datetime(frame["month"])
    return frame.melt(id_vars="month", var_name="measure", value_name="value")


def fx_rate_series(ds: Dataset, f: Filters, currencies: list[str] | None = None) -> pd.DataFrame:
    """Daily rates (CNY per unit) over the comparison period and the period: ``date``, ``currency``,
    ``rate_to_cny`` and ``index`` (rate / first rate of the window)."""
    start = min(f.compare_start or f.start, f.start)
    cond = ""
    if currencies:
        cond = "AND upper(currency) IN (" + ", ".join("'" + c.replace("'", "''") + "'" for c in currencies) + ")"
    frame = ds.sql(f"""
        SELECT date, upper(currency) AS currency, rate_to_cny FROM fx_rates
        WHERE date BETWEEN DATE '{start}' AND DATE '{f.end}' {cond} ORDER BY 2, 1
    """)
    frame["date"] = pd.to_datetime(frame["date"])
    frame["index"] = frame["rate_to_cny"] / frame.groupby("currency")["rate_to_cny"].transform("first")
    return frame


# ----- landed cost and margin --------------------------------------------------------------------

def landed_margin(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Landed cost and margin per market, CNY.

    ``product_cost`` needs order_items and products.unit_cost_cny (NaN otherwise); ``shipping``
    and ``duty`` come from shipments; ``platform_fee`` from orders. Returns ``market``, ``orders``,
    ``gmv_cny``, the four cost items, ``margin`` (GMV minus the known costs), ``margin_rate`` and
    ``margin_per_order`` with a 95% t interval (``margin_per_order_low``/``_high``) from the spread
    of order margins.
    """
    has_cost = ds.has("products", ["unit_cost_cny"]) and "order_items" in ds.sources
    cost_join = ("LEFT JOIN (SELECT i.order_id, sum(i.quantity * p.unit_cost_cny) AS product_cost FROM order_items i "
                 "JOIN products p USING (product_id) GROUP BY 1) pc USING (order_id)") if has_cost else ""
    pcost = "COALESCE(pc.product_cost, 0)" if has_cost else "0.0"
    has_ship = ds.has("shipments", ["shipping_cost_cny"])
    has_duty = ds.has("shipments", ["duty_cny"])
    ship_join = "LEFT JOIN shipments s USING (order_id)" if "shipments" in ds.sources else ""
    ship = "COALESCE(s.shipping_cost_cny, 0)" if has_ship else "0.0"
    duty = "COALESCE(s.duty_cny, 0)" if has_duty else "0.0"
    inner = f"""
        SELECT COALESCE(NULLIF(upper(o.country), 'CN'), upper(o.currency)) AS market, o.gmv_cny,
               {pcost} AS product_cost, {ship} AS shipping, {duty} AS duty, o.platform_fee_cny AS platform_fee
        FROM orders_cny o {cost_join} {ship_join}
        WHERE o.is_valid AND (o.channel = 'cross_border' OR upper(o.currency) <> 'CNY')
          AND {f.where('o.order_date', 'o.channel')}
    """
    frame = ds.sql(f"""
        SELECT market, count(*) AS orders, sum(gmv_cny) AS gmv_cny, sum(product_cost) AS product_cost,
               sum(shipping) AS shipping, sum(duty) AS duty, sum(platform_fee) AS platform_fee,
               sum(gmv_cny - product_cost - shipping - duty - platform_fee) AS margin,
               stddev_samp(gmv_cny - product_cost - shipping - duty - platform_fee) AS margin_sd
        FROM ({inner}) GROUP BY 1 ORDER BY gmv_cny DESC
    """)
    if not has_cost:
        frame["product_cost"] = np.nan
    frame["margin_rate"] = frame["margin"] / frame["gmv_cny"].where(frame["gmv_cny"] > 0)
    frame["margin_per_order"] = frame["margin"] / frame["orders"]
    n = frame["orders"].astype(float)
    half = sps.t.ppf(0.975, (n - 1).clip(lower=1)) * frame["margin_sd"] / np.sqrt(n)
    frame["margin_per_order_low"] = frame["margin_per_order"] - half
    frame["margin_per_order_high"] = frame["margin_per_order"] + half
    return frame.drop(columns="margin_sd")


def delivery_by_market(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Customs clearance and delivery times per market: ``market``, ``shipments``, ``clearance_days``
    (median ship → clearance), ``median_days`` and ``p90_days`` (ship → delivery), ``on_time_rate`` with
    Wilson interval, ``lost_rate``."""
    frame = ds.sql(f"""
        SELECT COALESCE(NULLIF(upper(o.country), 'CN'), upper(o.currency)) AS market, count(*) AS shipments,
               median((epoch(s.customs_cleared_at) - epoch(s.shipped_at)) / 86400.0) AS clearance_days,
               median((epoch(s.delivered_at) - epoch(s.shipped_at)) / 86400.0) AS median_days,
               quantile_cont((epoch(s.delivered_at) - epoch(s.shipped_at)) / 86400.0, 0.9) AS p90_days,
               count(s.delivered_at) AS delivered,
               count(*) FILTER (WHERE s.delivered_at <= s.promised_at) AS on_time,
               count(*) FILTER (WHERE s.status IN ('lost', 'damaged')) AS lost
        FROM shipments s JOIN orders_cny o USING (order_id)
        WHERE o.is_valid AND (o.channel = 'cross_border' OR upper(o.currency) <> 'CNY')
          AND {f.where('o.order_date', 'o.channel')}
        GROUP BY 1 ORDER BY shipments DESC
    """)
    frame = add_rate_interval(frame, "on_time", "delivered", "on_time_rate")
    return add_rate_interval(frame, "lost", "shipments", "lost_rate")


def returns_by_market(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Return rate per market: ``market``, ``orders``, ``returned``, ``return_rate`` (Wilson interval)."""
    has_returns = "returns" in ds.sources
    ret = "o.order_id IN (SELECT order_id FROM returns)" if has_returns else "FALSE"
    frame = ds.sql(f"""
        SELECT COALESCE(NULLIF(upper(o.country), 'CN'), upper(o.currency)) AS market, count(*) AS orders,
               count(*) FILTER (WHERE o.status = 'refunded' OR {ret}) AS returned
        FROM orders_cny o
        WHERE o.is_valid AND (o.channel = 'cross_border' OR upper(o.currency) <> 'CNY')
          AND {f.where('o.order_date', 'o.channel')}
        GROUP BY 1
    """)
    return add_rate_interval(frame, "returned", "orders", "return_rate")


def fx_volatility(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Annualised volatility of each currency's daily log change over the period: ``currency``, ``fx_volatility``."""
    if "fx_rates" not in ds.sources:
        return pd.DataFrame(columns=["currency", "fx_volatility"])
    return ds.sql(f"""
        SELECT currency, stddev_samp(d) * sqrt(365) AS fx_volatility FROM (
            SELECT upper(currency) AS currency,
                   ln(rate_to_cny / lag(rate_to_cny) OVER (PARTITION BY upper(currency) ORDER BY date)) AS d
            FROM fx_rates WHERE date BETWEEN DATE '{f.start}' AND DATE '{f.end}')
        GROUP BY 1
    """)


def market_scorecard(ds: Dataset, f: Filters) -> pd.DataFrame:
    """One row per market a manager can read: size, growth, margin, delivery and risk.

    Columns: ``market``, ``currency``, ``orders``, ``gmv_cny``, ``growth`` (vs the comparison period),
    ``margin_rate`` (when shipments are present), ``median_days`` and ``on_time_rate`` (when shipments
    are present), ``return_rate``, ``fx_volatility``. Raises :class:`EmptyPeriodError` without
    cross-border orders in the period.
    """
    cur = market_totals(ds, f)
    if cur.empty:
        raise EmptyPeriodError("no cross-border orders in the chosen period and channels")
    main_currency = cur.sort_values("gmv_cny", ascending=False).drop_duplicates("market")[["market", "currency"]]
    card = cur.groupby("market", as_index=False)[["orders", "gmv_cny"]].sum().merge(main_currency, on="market")
    cmp_f = f.comparison()
    if cmp_f is not None:
        prev = market_totals(ds, cmp_f).groupby("market", as_index=False)["gmv_cny"].sum() \
            .rename(columns={"gmv_cny": "gmv_cmp"})
        card = card.merge(prev, on="market", how="left")
        card["growth"] = card["gmv_cny"] / card["gmv_cmp"].where(card["gmv_cmp"] > 0) - 1
        card = card.drop(columns="gmv_cmp")
    else:
        card["growth"] = np.nan
    if ds.has("shipments", ["shipping_cost_cny"]):
        card = card.merge(landed_margin(ds, f)[["market", "margin_rate"]], on="market", how="left")
    if ds.has("shipments", ["delivered_at", "customs_cleared_at"]):
        card = card.merge(delivery_by_market(ds, f)[["market", "median_days", "on_time_rate"]], on="market",
                          how="left")
    card = card.merge(returns_by_market(ds, f)[["market", "return_rate"]], on="market", how="left")
    card = card.merge(fx_volatility(ds, f), on="currency", how="left")
    return card.sort_values("gmv_cny", ascending=False).reset_index(drop=True)


@dataclass
class CurrencyMove:
    """The change in a currency's rate between two windows, with an interval from its day-to-day noise."""

    currency: str
    rate_before: float
    rate_after: float
    change: float   # rate_after / rate_before - 1
    low: float
    high: float
    daily_volatility: float
    method: str = ("ratio of mean rates in the two windows; 95% interval from a random walk with the currency's "
                   "daily log-change volatility measured outside the gap between the windows")


def currency_move(ds: Dataset, currency: str, before: tuple[str, str], after: tuple[str, str]) -> CurrencyMove:
    """How far ``currency`` moved against CNY between the ``before`` and ``after`` windows (ISO dates).

    Raises :class:`EmptyPeriodError` when either window holds no rate.
    """
    cur = currency.upper().replace("'", "")
    rates = ds.sql(f"SELECT date, rate_to_cny FROM fx_rates WHERE upper(currency) = '{cur}' ORDER BY date")
    rates["date"] = pd.to_datetime(rates["date"])
    b = rates[(rates["date"] >= before[0]) & (rates["date"] <= before[1])]["rate_to_cny"]
    a = rates[(rates["date"] >= after[0]) & (rates["date"] <= after[1])]["rate_to_cny"]
    if b.empty or a.empty:
        raise EmptyPeriodError(f"no {cur} rates in one of the windows {before} / {after}")
    steps = np.log(rates["rate_to_cny"]).diff()
    gap = (rates["date"] > before[1]) & (rates["date"] < after[0])
    vol = float(steps[~gap].std())
    days = (pd.Timestamp(after[0]) + (pd.Timestamp(after[1]) - pd.Timestamp(after[0])) / 2
            - pd.Timestamp(before[0]) - (pd.Timestamp(before[1]) - pd.Timestamp(before[0])) / 2).days
    change = float(a.mean() / b.mean() - 1)
    half = 1.96 * vol * np.sqrt(max(days, 1))
    return CurrencyMove(cur, float(b.mean()), float(a.mean()), change,
                        float(np.exp(np.log1p(change) - half) - 1), float(np.exp(np.log1p(change) + half) - 1), vol)
