"""Queries of the sales and traffic page: totals by a dimension, buckets of days, the funnel, daily GMV.

Every function takes a :class:`~workbench.data.loader.Dataset` and :class:`Filters` (or plain
values) and returns a small frame; values are bound parameters, and a dimension a caller chooses
(``by``) is checked against an allow-list first (:func:`workbench.sql.engine.identifier`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from workbench.sql import engine
from workbench.sql.filters import Filters

if TYPE_CHECKING:
    from workbench.data.loader import Dataset

#: The dimensions GMV can be broken down by, and what each needs from the data.
DIMENSIONS: dict[str, dict[str, list[str]]] = {
    "channel": {"orders": ["paid_amount", "ordered_at", "channel"]},
    "region": {"orders": ["paid_amount", "ordered_at", "channel", "region"]},
    "customer_type": {"orders": ["paid_amount", "ordered_at", "channel", "customer_id"]},
    "member_tier": {"orders": ["paid_amount", "ordered_at", "channel"], "customers": ["member_tier"]},
    "category": {"orders": ["ordered_at", "channel"], "order_items": ["quantity", "unit_price"],
                 "products": ["category"]},
}

#: Grains of :func:`buckets`.
GRAINS = ("day", "week", "month")

#: Columns of ``traffic`` the funnel can be grouped by.
FUNNEL_BY = ("source", "channel")

_FIRSTS = "SELECT customer_id, min(order_date) AS first_date FROM orders_cny WHERE is_valid GROUP BY 1"


def totals_by(ds: Dataset, f: Filters, by: str) -> pd.DataFrame:
    """GMV (CNY) and valid orders of the period per value of ``by`` (one of :data:`DIMENSIONS`).

    ``customer_type`` is ``new`` for an order placed on the buyer's first day of buying (over all
    the data) and ``returning`` otherwise; ``member_tier`` writes ``none`` as ``no_tier`` and a
    missing tier as ``unknown``; ``category`` sums line values (quantity × unit price, CNY) and
    counts the orders holding a line of the category. Returns ``by``, ``gmv``, ``orders``, largest
    GMV first. Every dimension but ``member_tier`` reads the daily cubes (``cube_orders``,
    ``cube_items``, built once with the data's marts). Raises
    :class:`~workbench.errors.MissingTableError` when the data lacks what ``by`` needs.
    """
    by = engine.identifier(by, DIMENSIONS)
    ds.require(DIMENSIONS[by])
    if by == "member_tier":
        where, params = f.bind("o.order_date", "o.channel")
        sql = f"""
            SELECT CASE WHEN c.member_tier IS NULL THEN 'unknown' WHEN c.member_tier = 'none' THEN 'no_tier'
                        ELSE c.member_tier END AS member_tier, sum(o.gmv_cny) AS gmv, count(*) AS orders
            FROM orders_cny o LEFT JOIN customers c USING (customer_id)
            WHERE o.is_valid AND {where} GROUP BY 1 ORDER BY gmv DESC, 1"""
    else:  # the daily cubes (workbench.data.marts): a few cells per day instead of every order
        where, params = f.bind("order_date", "channel")
        cube, label, keep = {
            "category": ("cube_items", "category", "TRUE"),
            "customer_type": ("cube_orders", "customer_type", "customer_type IS NOT NULL"),
            "channel": ("cube_orders", "COALESCE(CAST(channel AS VARCHAR), 'unknown')", "TRUE"),
            "region": ("cube_orders", "region", "TRUE"),
        }[by]
        sql = f"""
            SELECT {label} AS {by}, sum(gmv_cny) AS gmv, sum(orders) AS orders
            FROM {cube} WHERE {keep} AND {where} GROUP BY 1 ORDER BY gmv DESC, 1"""
    out = engine.query(ds, sql, params)
    return out.astype({"gmv": float, "orders": "int64"})


def buyer_types(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Buyers of the period by ``customer_type``: ``new`` (first valid order, over all the data, in the
    period) and ``returning`` (bought before). Returns ``customer_type``, ``buyers`` (both rows present)."""
    where, params = f.bind("o.order_date", "o.channel")
    row = engine.query(ds, f"""
        WITH firsts AS ({_FIRSTS})
        SELECT count(DISTINCT o.customer_id) AS buyers,
               count(DISTINCT CASE WHEN fi.first_date BETWEEN $start AND $end THEN o.customer_id END) AS new
        FROM orders_cny o JOIN firsts fi USING (customer_id)
        WHERE o.is_valid AND {where}""", params).iloc[0]
    buyers, new = int(row["buyers"] or 0), int(row["new"] or 0)
    return pd.DataFrame({"customer_type": ["new", "returning"], "buyers": [new, buyers - new]})


def buckets(ds: Dataset, f: Filters, grain: str, shift_days: int = 0, units: bool = True) -> pd.DataFrame:
    """GMV (CNY), valid orders, buyers, days with orders and units per day, week or month of ``f``.

    Dates are moved ``shift_days`` forward before they are truncated to the ``grain`` (so that a
    comparison period lines up with the current one). Returns ``bucket`` (first day, a date),
    ``gmv``, ``orders``, ``buyers``, ``days`` and, with ``units`` (needs ``order_items``), ``units``.
    """
    grain = engine.identifier(grain, GRAINS)
    where, params = f.bind()
    params = {**params, "grain": grain, "shift": int(shift_days)}
    bucket = "CAST(date_trunc($grain, order_date + $shift * INTERVAL 1 DAY) AS DATE)"
    out = engine.query(ds, f"""
        SELECT {bucket} AS bucket, sum(gmv_cny) AS gmv, count(*) AS orders,
               count(DISTINCT customer_id) AS buyers, count(DISTINCT order_date) AS days
        FROM orders_cny WHERE is_valid AND {where} GROUP BY 1 ORDER BY 1""", params)
    if units:
        lines = engine.query(ds, f"""
            SELECT {bucket} AS bucket, sum(quantity) AS units
            FROM items_cny WHERE is_valid AND {where} GROUP BY 1""", params)
        out = out.merge(lines, on="bucket", how="left")
    return out


def funnel(ds: Dataset, f: Filters, by: str = "source") -> pd.DataFrame:
    """Funnel step counts from ``traffic`` summed over the period, per ``by`` (source or channel).

    Returns ``by``, ``sessions``, ``product_views``, ``add_to_cart``, ``checkouts``, ``paid_orders``,
    most sessions first.
    """
    by = engine.identifier(by, FUNNEL_BY)
    where, params = f.bind("date", "channel")
    return engine.query(ds, f"""
        SELECT {by}, sum(sessions) AS sessions, sum(product_views) AS product_views,
               sum(add_to_cart) AS add_to_cart, sum(checkouts) AS checkouts, sum(paid_orders) AS paid_orders
        FROM traffic WHERE {where} GROUP BY 1 ORDER BY sessions DESC, 1""", params)


def channel_orders(ds: Dataset, f: Filters) -> pd.DataFrame:
    """GMV (CNY) and valid orders of the period per channel: ``channel``, ``gmv``, ``orders``."""
    where, params = f.bind()
    return engine.query(ds, f"""
        SELECT channel, sum(gmv_cny) AS gmv, count(*) AS orders FROM orders_cny
        WHERE is_valid AND {where} GROUP BY 1 ORDER BY 1""", params)


def daily_gmv(ds: Dataset, channels: tuple[str, ...] = ()) -> pd.DataFrame:
    """GMV (CNY) of valid orders per day over the whole history of ``channels`` (all when empty).

    Returns ``date`` (datetime64) and ``actual``; days without orders are absent.
    """
    params = {f"c{i}": c for i, c in enumerate(channels)}
    cond = f"AND channel IN ({', '.join('$' + k for k in params)})" if params else ""
    out = engine.query(ds, f"""
        SELECT order_date AS date, sum(gmv_cny) AS actual FROM orders_cny
        WHERE is_valid {cond} GROUP BY 1 ORDER BY 1""", params)
    out["date"] = pd.to_datetime(out["date"])
    return out
