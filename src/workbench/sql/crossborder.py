"""Queries of the cross-border page: markets, FX rates, landed costs, delivery, returns.

A cross-border order is a valid order in the ``cross_border`` channel or paid in a currency other
than CNY; its *market* is the destination country (``orders.country``), or its currency when the
country is missing. Values are bound parameters.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from workbench.sql import dialect, engine
from workbench.sql.filters import Filters

if TYPE_CHECKING:
    from workbench.data.loader import Dataset

_MARKET = "COALESCE(NULLIF(upper(o.country), 'CN'), upper(o.currency))"
_CROSS = "o.is_valid AND (o.channel = 'cross_border' OR upper(o.currency) <> 'CNY')"


def _orders(f: Filters, cols: str = "") -> tuple[str, dict]:
    where, params = f.bind("o.order_date", "o.channel")
    return f"""
        SELECT {_MARKET} AS market, upper(o.currency) AS currency, o.paid_amount AS gmv_local, o.gmv_cny,
               o.order_id, o.order_date {cols}
        FROM orders_cny o WHERE {_CROSS} AND {where}
    """, params


def market_totals(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Per market and currency: ``market``, ``currency``, ``orders``, ``gmv_local``, ``gmv_cny``; by CNY GMV."""
    inner, params = _orders(f)
    return engine.query(ds, f"""
        SELECT market, currency, count(*) AS orders, sum(gmv_local) AS gmv_local, sum(gmv_cny) AS gmv_cny
        FROM ({inner}) GROUP BY 1, 2 ORDER BY gmv_cny DESC
    """, params)


def monthly_constant_fx(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Monthly cross-border GMV over ``f``'s period: ``month``, ``gmv_cny`` (actual rates) and
    ``gmv_constant_fx`` (each currency at its mean rate of the first month)."""
    inner, params = _orders(f)
    return engine.query(ds, f"""
        WITH m AS (SELECT date_trunc('month', order_date) AS month, currency, sum(gmv_local) AS gmv_local,
                          sum(gmv_cny) AS gmv_cny
                   FROM ({inner}) GROUP BY 1, 2),
        base AS (SELECT currency, sum(gmv_cny) / NULLIF(sum(gmv_local), 0) AS base_rate FROM m
                 WHERE month = (SELECT min(month) FROM m) GROUP BY 1)
        SELECT month, sum(gmv_cny) AS gmv_cny, sum(gmv_local * COALESCE(base_rate, gmv_cny / NULLIF(gmv_local, 0)))
               AS gmv_constant_fx
        FROM m LEFT JOIN base USING (currency) GROUP BY 1 ORDER BY 1
    """, params)


def fx_rates(ds: Dataset, start: dt.date, end: dt.date, currencies: list[str] | None = None) -> pd.DataFrame:
    """Daily rates between ``start`` and ``end``: ``date``, ``currency`` (upper case), ``rate_to_cny``."""
    params: dict[str, object] = {"start": start, "end": end}
    cond = ""
    if currencies:
        names = [f"cur{i}" for i in range(len(currencies))]
        params.update({n: c.upper() for n, c in zip(names, currencies)})
        cond = f"AND upper(currency) IN ({', '.join('$' + n for n in names)})"
    return engine.query(ds, f"""
        SELECT date, upper(currency) AS currency, rate_to_cny FROM fx_rates
        WHERE date BETWEEN $start AND $end {cond} ORDER BY 2, 1
    """, params)


def currency_rates(ds: Dataset, currency: str) -> pd.DataFrame:
    """Every daily rate of one currency: ``date``, ``rate_to_cny``."""
    return engine.query(ds, "SELECT date, rate_to_cny FROM fx_rates WHERE upper(currency) = upper($cur) ORDER BY date",
                        {"cur": currency})


def landed_costs(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Per market: ``market``, ``orders``, ``gmv_cny``, ``product_cost``, ``shipping``, ``duty``,
    ``platform_fee``, ``margin`` (GMV minus them) and ``margin_sd`` (spread of order margins).
    A cost item the data lack counts as zero here (the topic marks it missing)."""
    has_cost = ds.has("products", ["unit_cost_cny"]) and "order_items" in ds.sources
    cost_join = ("LEFT JOIN (SELECT i.order_id, sum(i.quantity * p.unit_cost_cny) AS product_cost FROM order_items i "
                 "JOIN products p USING (product_id) GROUP BY 1) pc USING (order_id)") if has_cost else ""
    pcost = "COALESCE(pc.product_cost, 0)" if has_cost else "0.0"
    ship_join = "LEFT JOIN shipments s USING (order_id)" if "shipments" in ds.sources else ""
    ship = "COALESCE(s.shipping_cost_cny, 0)" if ds.has("shipments", ["shipping_cost_cny"]) else "0.0"
    duty = "COALESCE(s.duty_cny, 0)" if ds.has("shipments", ["duty_cny"]) else "0.0"
    where, params = f.bind("o.order_date", "o.channel")
    return engine.query(ds, f"""
        WITH x AS (
            SELECT {_MARKET} AS market, o.gmv_cny, {pcost} AS product_cost, {ship} AS shipping, {duty} AS duty,
                   o.platform_fee_cny AS platform_fee
            FROM orders_cny o {cost_join} {ship_join}
            WHERE {_CROSS} AND {where}
        )
        SELECT market, count(*) AS orders, sum(gmv_cny) AS gmv_cny, sum(product_cost) AS product_cost,
               sum(shipping) AS shipping, sum(duty) AS duty, sum(platform_fee) AS platform_fee,
               sum(gmv_cny - product_cost - shipping - duty - platform_fee) AS margin,
               stddev_samp(gmv_cny - product_cost - shipping - duty - platform_fee) AS margin_sd
        FROM x GROUP BY 1 ORDER BY gmv_cny DESC
    """, params)


def delivery_times(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Per market: ``market``, ``shipments``, ``clearance_days``, ``median_days``, ``p90_days``,
    ``delivered``, ``on_time``, ``lost`` (lost or damaged)."""
    where, params = f.bind("o.order_date", "o.channel")
    clearance = dialect.days_elapsed("s.shipped_at", "s.customs_cleared_at")
    delivery = dialect.days_elapsed("s.shipped_at", "s.delivered_at")
    return engine.query(ds, f"""
        SELECT {_MARKET} AS market, count(*) AS shipments,
               {dialect.quantile(clearance, '0.5')} AS clearance_days,
               {dialect.quantile(delivery, '0.5')} AS median_days,
               {dialect.quantile(delivery, '0.9')} AS p90_days,
               count(s.delivered_at) AS delivered,
               count(CASE WHEN s.delivered_at <= s.promised_at THEN 1 END) AS on_time,
               count(CASE WHEN s.status IN ('lost', 'damaged') THEN 1 END) AS lost
        FROM shipments s JOIN orders_cny o USING (order_id)
        WHERE {_CROSS} AND {where}
        GROUP BY 1 ORDER BY shipments DESC
    """, params)


def returns(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Per market: ``market``, ``orders``, ``returned`` (refunded or with a return)."""
    ret = "o.order_id IN (SELECT order_id FROM returns)" if "returns" in ds.sources else "FALSE"
    where, params = f.bind("o.order_date", "o.channel")
    return engine.query(ds, f"""
        SELECT {_MARKET} AS market, count(*) AS orders,
               count(CASE WHEN o.status = 'refunded' OR {ret} THEN 1 END) AS returned
        FROM orders_cny o WHERE {_CROSS} AND {where}
        GROUP BY 1
    """, params)


def fx_volatility(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Annualised volatility of each currency's daily log change in the period: ``currency``, ``fx_volatility``."""
    return engine.query(ds, """
        SELECT currency, stddev_samp(d) * sqrt(365) AS fx_volatility FROM (
            SELECT upper(currency) AS currency,
                   ln(rate_to_cny / lag(rate_to_cny) OVER (PARTITION BY upper(currency) ORDER BY date)) AS d
            FROM fx_rates WHERE date BETWEEN $start AND $end)
        GROUP BY 1
    """, {"start": f.start, "end": f.end})
