"""Queries of the risk page: daily orders and refunds, refunds by dimension, shared addresses, refund
counts per customer, stock and sales, concentration shares and foreign-currency sales.

Every value (dates, channels, thresholds, address tokens) is a bound parameter; a dimension a
caller chooses goes through :func:`workbench.sql.engine.identifier`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from workbench.sql import dialect, engine
from workbench.sql.filters import Filters

if TYPE_CHECKING:
    from workbench.data.loader import Dataset


def daily_orders(ds: "Dataset", f: Filters) -> pd.DataFrame:
    """Per order day of ``f``: ``date``, ``gmv``, ``orders`` (valid), ``refunds`` (refunded orders),
    ``refund_cny`` (days without orders absent)."""
    where, params = f.bind("order_date", "channel")
    return engine.query(ds, f"""
        SELECT order_date AS date, sum(gmv_cny) AS gmv, count(*) AS orders,
               count(CASE WHEN status = 'refunded' THEN 1 END) AS refunds,
               COALESCE(sum(CASE WHEN status = 'refunded' THEN gmv_cny END), 0) AS refund_cny
        FROM orders_cny WHERE is_valid AND {where} GROUP BY 1
    """, params)


#: Dimensions a refund spike is broken down by: column and the join it needs.
SPIKE_DIMENSIONS = {"channel": ("o.channel", ""), "coupon_code": ("o.coupon_code", ""),
                    "product_id": ("i.product_id", "JOIN order_items i USING (order_id)"),
                    "reason": ("r.reason", "JOIN returns r USING (order_id)")}


def refunds_by(ds: "Dataset", f: Filters, day: dt.date, dimension: str, days_before: int = 28) -> pd.DataFrame:
    """Refunded orders placed on ``day`` by ``dimension`` (``value``, ``refunds``) and the average per day
    of the ``days_before`` days before (``usual``), for the channels of ``f``."""
    engine.identifier(dimension, SPIKE_DIMENSIONS)
    col, join = SPIKE_DIMENSIONS[dimension]
    if dimension == "product_id" and ds.has("products", ["name"]):  # products by name, not id
        col, join = "COALESCE(p.name, i.product_id)", join + " LEFT JOIN products p USING (product_id)"
    _, params = f.bind("o.order_date", "o.channel")
    chan = ""
    if f.channels:
        chan = " AND o.channel IN (" + ", ".join(f"$c{i}" for i in range(len(f.channels))) + ")"
    params = {**params, "day": day, "before": day - dt.timedelta(days=days_before), "n_before": float(days_before)}
    return engine.query(ds, f"""
        SELECT COALESCE(CAST({col} AS VARCHAR), 'none') AS value,
               count(CASE WHEN o.order_date = $day THEN 1 END) AS refunds,
               count(CASE WHEN o.order_date < $day THEN 1 END) / $n_before AS usual
        FROM orders_cny o {join}
        WHERE o.status = 'refunded' AND o.order_date BETWEEN $before AND $day{chan}
        GROUP BY 1
    """, params)


def address_groups(ds: "Dataset", f: Filters, min_accounts: int = 3) -> pd.DataFrame:
    """Address tokens with at least ``min_accounts`` accounts that ordered in ``f``: ``address_token``,
    ``accounts``, ``orders``, ``coupon_orders``, ``refund_orders``, ``first_signup``, ``last_signup``,
    and the shop's ``mean_accounts`` per address and number of ``addresses``."""
    where, params = f.bind("o.order_date", "o.channel")
    return engine.query(ds, f"""
        WITH buyers AS (
            SELECT o.customer_id, count(*) AS orders, count(o.coupon_code) AS coupon_orders,
                   count(CASE WHEN o.status = 'refunded' THEN 1 END) AS refund_orders
            FROM orders_cny o WHERE {where} GROUP BY 1
        ), at_address AS (
            SELECT c.address AS address_token, b.*, c.signup_date
            FROM buyers b JOIN customers c USING (customer_id) WHERE c.address IS NOT NULL
        ), sizes AS (
            SELECT address_token, count(*) AS accounts FROM at_address GROUP BY 1
        )
        SELECT (SELECT avg(accounts) FROM sizes) AS mean_accounts, (SELECT count(*) FROM sizes) AS addresses,
               a.address_token, count(*) AS accounts, sum(a.orders) AS orders,
               sum(a.coupon_orders) AS coupon_orders, sum(a.refund_orders) AS refund_orders,
               CAST(min(a.signup_date) AS DATE) AS first_signup, CAST(max(a.signup_date) AS DATE) AS last_signup
        FROM at_address a JOIN sizes s USING (address_token)
        WHERE s.accounts >= $min_accounts
        GROUP BY a.address_token
    """, {**params, "min_accounts": int(min_accounts)})


def coupons_at(ds: "Dataset", f: Filters, tokens: list[str]) -> pd.DataFrame:
    """Orders per coupon code at each of the address ``tokens`` in ``f``: ``address_token``, ``coupon_code``, ``n``."""
    where, params = f.bind("o.order_date", "o.channel")
    listed, values = dialect.in_list("c.address", tokens, "t")
    return engine.query(ds, f"""
        SELECT c.address AS address_token, o.coupon_code, count(*) AS n
        FROM orders_cny o JOIN customers c USING (customer_id)
        WHERE {where} AND o.coupon_code IS NOT NULL AND {listed}
        GROUP BY 1, 2
    """, {**params, **values})


def refunds_per_customer(ds: "Dataset", f: Filters, min_orders: int = 3) -> pd.DataFrame:
    """Customers with at least ``min_orders`` valid orders in ``f``: ``customer_id``, ``orders``, ``refunds``."""
    where, params = f.bind("order_date", "channel")
    return engine.query(ds, f"""
        SELECT customer_id, count(*) AS orders, count(CASE WHEN status = 'refunded' THEN 1 END) AS refunds
        FROM orders_cny WHERE is_valid AND {where} GROUP BY 1 HAVING count(*) >= $min_orders
    """, {**params, "min_orders": int(min_orders)})


def last_stock_day(ds: "Dataset", end: dt.date) -> dt.date | None:
    """The last day with inventory records on or before ``end`` (None when there is none)."""
    day = engine.scalar(ds, "SELECT max(date) FROM inventory WHERE date <= $end", {"end": end})
    return None if day is None or pd.isna(day) else pd.Timestamp(day).date()


def stock_and_sales(ds: "Dataset", f: Filters, day: dt.date, sales_days: int = 28) -> pd.DataFrame:
    """Stock on ``day`` and units sold over the ``sales_days`` days to it, per product that sold:
    ``product_id``, ``name`` and ``category`` (NULL without products), ``stock_on_hand``, ``units``, ``gmv_28d``."""
    _, params = f.bind("order_date", "channel")
    chan = ""
    if f.channels:
        chan = " AND channel IN (" + ", ".join(f"$c{i}" for i in range(len(f.channels))) + ")"
    has_cat = ds.has("products", ["category"])
    cat = ", p.category" if has_cat else ", NULL AS category"
    name = ", p.name" if ds.has("products", ["name"]) else ", NULL AS name"
    join = "LEFT JOIN products p USING (product_id)" if has_cat or ds.has("products", ["name"]) else ""
    params = {**params, "day": day, "first": day - dt.timedelta(days=sales_days - 1)}
    return engine.query(ds, f"""
        WITH sold AS (
            SELECT product_id, sum(quantity) AS units, sum(line_gmv_cny) AS gmv_28d
            FROM items_cny WHERE is_valid AND order_date BETWEEN $first AND $day{chan} GROUP BY 1
        )
        SELECT i.product_id{name}{cat}, i.stock_on_hand, s.units, s.gmv_28d
        FROM inventory i JOIN sold s USING (product_id) {join}
        WHERE i.date = $day AND s.units > 0
    """, params)


def platform_shares(ds: "Dataset", f: Filters) -> pd.DataFrame:
    """GMV by day and sales channel over the period (every channel): ``date``, ``group``, ``w``, ``n``."""
    where, params = f.bind("order_date", None)
    return engine.query(ds, f"""SELECT order_date AS date, channel AS "group", sum(gmv_cny) AS w, count(*) AS n
                                FROM orders_cny WHERE is_valid AND {where} GROUP BY 1, 2""", params)


def supplier_shares(ds: "Dataset", f: Filters) -> pd.DataFrame:
    """Line GMV by day and supplier: ``date``, ``group``, ``w``, ``n``."""
    where, params = f.bind("i.order_date", "i.channel")
    return engine.query(ds, f"""
        SELECT i.order_date AS date, COALESCE(p.supplier, 'unknown') AS "group", sum(i.line_gmv_cny) AS w,
               count(*) AS n
        FROM items_cny i JOIN products p USING (product_id)
        WHERE i.is_valid AND {where} GROUP BY 1, 2""", params)


def carrier_shares(ds: "Dataset", f: Filters) -> pd.DataFrame:
    """Parcels by ship day and carrier: ``date``, ``group``, ``w``, ``n``."""
    where, params = f.bind("CAST(s.shipped_at AS DATE)", "o.channel")
    return engine.query(ds, f"""
        SELECT CAST(s.shipped_at AS DATE) AS date, s.carrier AS "group", count(*) AS w, count(*) AS n
        FROM shipments s JOIN orders_cny o USING (order_id)
        WHERE {where} GROUP BY 1, 2""", params)


def gmv_by_currency(ds: "Dataset", f: Filters) -> pd.DataFrame:
    """GMV (CNY) and orders by order currency in ``f``, with the period's ``total_cny``."""
    where, params = f.bind("order_date", "channel")
    return engine.query(ds, f"""
        SELECT upper(currency) AS currency, sum(gmv_cny) AS exposure_cny, count(*) AS orders,
               sum(sum(gmv_cny)) OVER () AS total_cny
        FROM orders_cny WHERE is_valid AND {where} GROUP BY 1
    """, params)


def fx_rates(ds: "Dataset", start: dt.date, end: dt.date) -> pd.DataFrame:
    """Daily rates to CNY from ``start`` to ``end``: ``currency``, ``date``, ``rate_to_cny``."""
    return engine.query(ds, """SELECT upper(currency) AS currency, date, rate_to_cny FROM fx_rates
                               WHERE date BETWEEN $start AND $end ORDER BY 1, 2""", {"start": start, "end": end})
