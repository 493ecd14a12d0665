"""Queries of the forecast page: daily GMV, orders and units (whole shop, per channel, per category),
daily units per product, stock on a day, and the campaigns table as spans.

Every value is a bound parameter; a breakdown a caller chooses is checked against an allow-list
(:func:`workbench.sql.engine.identifier`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from workbench.sql import engine
from workbench.sql.common import relations
from workbench.sql.filters import Filters

if TYPE_CHECKING:
    from workbench.data.loader import Dataset

#: Breakdowns of the daily series.
BREAKDOWNS = ("total", "channel", "category")


def daily_series(ds: Dataset, f: Filters, by: str = "total") -> pd.DataFrame:
    """GMV (CNY), valid orders and units per day of ``f`` (and per channel or category with ``by``).

    Returns ``date`` (datetime64), ``key`` (``total``, the channel or the category; ``unknown`` for a
    product without category), ``gmv``, ``orders`` and ``units`` (NaN without ``order_items``). Days
    without orders are absent (the caller fills them with zeros). For ``category``, GMV is the sum of
    line values and orders count the orders holding a line of the category.
    """
    by = engine.identifier(by, BREAKDOWNS)
    has_items = "order_items" in ds.sources
    if by == "category":
        where, params = f.bind("i.order_date", "i.channel")
        out = engine.query(ds, f"""
            SELECT i.order_date AS date, COALESCE(p.category, 'unknown') AS key, sum(i.line_gmv_cny) AS gmv,
                   count(DISTINCT i.order_id) AS orders, sum(i.quantity) AS units
            FROM items_cny i LEFT JOIN products p USING (product_id)
            WHERE i.is_valid AND {where} GROUP BY 1, 2 ORDER BY 1, 2""", params)
    elif has_items and "items_cny" in relations(ds):
        # orders and units aggregated apart and joined by day and key: the same sums as joining every order to
        # its lines' units first (items_cny holds each line with its order's day, channel and validity)
        key = "'total'" if by == "total" else "COALESCE(CAST(o.channel AS VARCHAR), 'unknown')"
        where, params = f.bind("o.order_date", "o.channel")
        out = engine.query(ds, f"""
            WITH d AS (SELECT o.order_date AS date, {key} AS key, sum(o.gmv_cny) AS gmv, count(*) AS orders
                       FROM orders_cny o WHERE o.is_valid AND {where} GROUP BY 1, 2),
                 u AS (SELECT o.order_date AS date, {key} AS key, sum(o.quantity) AS units
                       FROM items_cny o WHERE o.is_valid AND {where} GROUP BY 1, 2)
            SELECT d.date, d.key, d.gmv, d.orders, u.units FROM d LEFT JOIN u USING (date, key)
            ORDER BY 1, 2""", params)
    else:
        key = "'total'" if by == "total" else "COALESCE(CAST(o.channel AS VARCHAR), 'unknown')"
        where, params = f.bind("o.order_date", "o.channel")
        units = ("LEFT JOIN (SELECT order_id, sum(quantity) AS units FROM order_items GROUP BY 1) u USING (order_id)"
                 if has_items else "")
        out = engine.query(ds, f"""
            SELECT o.order_date AS date, {key} AS key, sum(o.gmv_cny) AS gmv, count(*) AS orders,
                   {"sum(u.units)" if has_items else "CAST(NULL AS DOUBLE)"} AS units
            FROM orders_cny o {units}
            WHERE o.is_valid AND {where} GROUP BY 1, 2 ORDER BY 1, 2""", params)
    out["date"] = pd.to_datetime(out["date"])
    return out.astype({"gmv": float, "orders": float, "units": float})


def daily_product_units(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Units sold per product and day of ``f`` (valid orders): ``product_id``, ``date``, ``units``."""
    where, params = f.bind("order_date", "channel")
    out = engine.query(ds, f"""
        SELECT product_id, order_date AS date, sum(quantity) AS units
        FROM items_cny WHERE is_valid AND {where} GROUP BY 1, 2 ORDER BY 1, 2""", params)
    out["date"] = pd.to_datetime(out["date"])
    return out.astype({"units": float})


def products(ds: Dataset) -> pd.DataFrame:
    """``product_id``, ``name`` and ``category`` of every product (NULL columns the table lacks)."""
    if "products" not in ds.sources:
        return pd.DataFrame(columns=["product_id", "name", "category"])
    name = "name" if ds.has("products", ["name"]) else "NULL AS name"
    cat = "category" if ds.has("products", ["category"]) else "NULL AS category"
    return engine.query(ds, f"SELECT product_id, {name}, {cat} FROM products ORDER BY product_id", {})


def stock_on(ds: Dataset, end: dt.date) -> tuple[dt.date | None, pd.DataFrame]:
    """The last inventory day on or before ``end`` and the stock on it: ``product_id``, ``stock_on_hand``,
    ``inbound_units`` (0 when the table lacks it). ``(None, empty)`` without inventory records."""
    empty = pd.DataFrame(columns=["product_id", "stock_on_hand", "inbound_units"])
    if not ds.has("inventory", ["date", "product_id", "stock_on_hand"]):
        return None, empty
    day = engine.scalar(ds, "SELECT max(date) FROM inventory WHERE date <= $end", {"end": end})
    if day is None or pd.isna(day):
        return None, empty
    day = pd.Timestamp(day).date()
    inbound = "COALESCE(inbound_units, 0)" if ds.has("inventory", ["inbound_units"]) else "0"
    out = engine.query(ds, f"""
        SELECT product_id, sum(stock_on_hand) AS stock_on_hand, sum({inbound}) AS inbound_units
        FROM inventory WHERE date = $day GROUP BY 1""", {"day": day})
    return day, out.astype({"stock_on_hand": float, "inbound_units": float})


def campaign_spans(ds: Dataset) -> pd.DataFrame:
    """Every campaign as a span: ``campaign_id``, ``name``, ``kind`` (NULL without the column), ``start``,
    ``end`` (datetime64). Empty (with those columns) without a campaigns table."""
    cols = ["campaign_id", "name", "kind", "start", "end"]
    if not ds.has("campaigns", ["campaign_id", "start_date", "end_date"]):
        return pd.DataFrame(columns=cols)
    name = "name" if ds.has("campaigns", ["name"]) else "campaign_id AS name"
    kind = "CAST(kind AS VARCHAR) AS kind" if ds.has("campaigns", ["kind"]) else "NULL AS kind"
    out = engine.query(ds, f"""
        SELECT campaign_id, {name}, {kind}, start_date AS "start", end_date AS "end"
        FROM campaigns WHERE start_date IS NOT NULL AND end_date IS NOT NULL ORDER BY start_date""", {})
    out["start"], out["end"] = pd.to_datetime(out["start"]), pd.to_datetime(out["end"])
    return out[cols]
