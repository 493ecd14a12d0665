"""Queries of the products and pricing page (``02_products_pricing``); every value a bound parameter.

Each function takes a dataset (and :class:`~workbench.sql.filters.Filters` where the answer depends
on the period) and returns a frame; the topic module :mod:`workbench.topics.products` composes them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from workbench.sql import dialect, engine
from workbench.sql.filters import Filters

if TYPE_CHECKING:
    from workbench.data.loader import Dataset


def channels_condition(channels: tuple[str, ...], column: str, prefix: str = "ch") -> tuple[str, dict]:
    """``column IN ($ch0, …)`` for ``channels`` with its parameters (TRUE when all channels are chosen)."""
    if not channels:
        return "TRUE", {}
    names = [f"{prefix}{i}" for i in range(len(channels))]
    return f"{column} IN ({', '.join('$' + n for n in names)})", dict(zip(names, channels))


def product_name_sql(has_name: bool, alias: str = "p") -> str:
    """The expression of a product's name: ``products.name`` when the table has it, else its id."""
    return f"COALESCE({alias}.name, {alias}.product_id)" if has_name else f"{alias}.product_id"


def product_totals(ds: Dataset, f: Filters, has_cost: bool, has_name: bool) -> pd.DataFrame:
    """Per product in the period: ``product_id``, ``product_name``, ``category``, ``gmv``, ``units``, ``margin``."""
    cond, params = f.bind("i.order_date", "i.channel")
    cost = "sum(i.line_gmv_cny - i.quantity * p.unit_cost_cny)" if has_cost else "CAST(NULL AS DOUBLE)"
    return engine.query(ds, f"""
        SELECT i.product_id, any_value({product_name_sql(has_name)}) AS product_name,
               any_value(p.category) AS category, sum(i.line_gmv_cny) AS gmv,
               sum(i.quantity) AS units, {cost} AS margin
        FROM items_cny i JOIN products p USING (product_id)
        WHERE i.is_valid AND {cond}
        GROUP BY 1 ORDER BY gmv DESC, 1""", params)


def category_gmv(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Line value (CNY) per category in the period: ``category``, ``gmv``."""
    cond, params = f.bind("i.order_date", "i.channel")
    return engine.query(ds, f"""
        SELECT p.category, sum(i.line_gmv_cny) AS gmv FROM items_cny i JOIN products p USING (product_id)
        WHERE i.is_valid AND {cond} GROUP BY 1 ORDER BY 1""", params)


def launch_curves(ds: Dataset, end: dt.date, days: int) -> pd.DataFrame:
    """Units per product and day since launch over the first ``days`` days, launches up to ``end``.

    Returns ``product_id``, ``category``, ``launch_date``, ``days_since_launch``, ``units``.
    """
    return engine.query(ds, f"""
        WITH launched AS (
            SELECT product_id, category, launch_date FROM products
            WHERE launch_date >= (SELECT min(order_date) FROM orders_cny) AND launch_date <= $end),
        grid AS (
            SELECT l.product_id, l.category, l.launch_date, d AS days_since_launch FROM launched l,
                   (SELECT {dialect.series('0', 'CAST($days AS BIGINT) - 1')} AS d) t
            WHERE l.launch_date + CAST(d AS INTEGER) <= $end),
        sold AS (
            SELECT i.product_id, {dialect.days_between('l.launch_date', 'i.order_date')} AS days_since_launch,
                   sum(i.quantity) AS units
            FROM items_cny i JOIN launched l USING (product_id)
            WHERE i.is_valid AND i.order_date >= l.launch_date AND i.order_date < l.launch_date + CAST($days AS INTEGER)
            GROUP BY 1, 2)
        SELECT g.product_id, g.category, g.launch_date, g.days_since_launch, COALESCE(s.units, 0) AS units
        FROM grid g LEFT JOIN sold s USING (product_id, days_since_launch)
        ORDER BY 1, 4""", {"end": pd.Timestamp(end).date(), "days": int(days)})


def price_weeks(ds: Dataset, channels: tuple[str, ...] = ()) -> pd.DataFrame:
    """Units, GMV and list price per product and week: ``product_id``, ``category``, ``week``, ``units``,
    ``gmv``, ``list_price``."""
    cond, params = channels_condition(channels, "i.channel")
    return engine.query(ds, f"""
        SELECT i.product_id, any_value(p.category) AS category, CAST(date_trunc('week', i.order_date) AS DATE) AS week,
               sum(i.quantity) AS units, sum(i.line_gmv_cny) AS gmv, any_value(p.list_price_cny) AS list_price
        FROM items_cny i JOIN products p USING (product_id)
        WHERE i.is_valid AND i.unit_price > 0 AND {cond} GROUP BY 1, 3""", params)


def category_price_days(ds: Dataset, channels: tuple[str, ...], exclude_sources: tuple[str, ...],
                        has_source: bool) -> pd.DataFrame:
    """Units and price index per category and day: ``category``, ``date``, ``units``, ``price_index``."""
    cond, params = channels_condition(channels, "i.channel")
    src = "TRUE"
    if exclude_sources and has_source:
        names = [f"src{i}" for i in range(len(exclude_sources))]
        params.update(dict(zip(names, exclude_sources)))
        src = f"o.source IS NULL OR o.source NOT IN ({', '.join('$' + n for n in names)})"
    return engine.query(ds, f"""
        SELECT p.category, i.order_date AS date, sum(i.quantity) AS units,
               sum(i.quantity * i.unit_price) / sum(i.quantity * COALESCE(i.list_price, p.list_price_cny / i.fx_rate))
                   AS price_index
        FROM items_cny i JOIN products p USING (product_id) JOIN orders o USING (order_id)
        WHERE i.is_valid AND i.unit_price > 0 AND ({src}) AND {cond}
        GROUP BY 1, 2 HAVING sum(i.quantity) > 0""", params)


def stockout_days(ds: Dataset, has_inbound: bool) -> pd.DataFrame:
    """Product-days of products ever at zero stock: ``product_id``, ``date``, ``stock_on_hand``, ``units``,
    ``out_of_stock`` (opened with no stock and nothing came in, or closed at zero having sold nothing)."""
    inbound = "COALESCE(inbound_units, 0)" if has_inbound else "0"
    return engine.query(ds, f"""
        WITH inv AS (
            SELECT product_id, date, stock_on_hand, {inbound} AS inbound,
                   lag(stock_on_hand) OVER (PARTITION BY product_id ORDER BY date) AS opening
            FROM inventory),
        sold AS (
            SELECT product_id, order_date AS date, sum(quantity) AS units FROM items_cny
            WHERE is_valid AND product_id IN (SELECT product_id FROM inventory WHERE stock_on_hand = 0)
            GROUP BY 1, 2)
        SELECT inv.product_id, inv.date, inv.stock_on_hand, COALESCE(s.units, 0) AS units,
               ((inv.opening = 0 AND inv.inbound = 0) OR (inv.stock_on_hand = 0 AND COALESCE(s.units, 0) = 0))
                   AS out_of_stock
        FROM inv LEFT JOIN sold s USING (product_id, date)
        WHERE inv.product_id IN (SELECT product_id FROM inventory WHERE stock_on_hand = 0)
        ORDER BY 1, 2""")


def stockout_prices(ds: Dataset, has_name: bool) -> pd.DataFrame:
    """Average price paid (CNY) of the products ever at zero stock: ``product_id``, ``product_name``,
    ``category``, ``price``."""
    return engine.query(ds, f"""
        SELECT i.product_id, sum(i.line_gmv_cny) / sum(i.quantity) AS price,
               any_value({product_name_sql(has_name)}) AS product_name, any_value(p.category) AS category
        FROM items_cny i JOIN products p USING (product_id) WHERE i.is_valid
        AND i.product_id IN (SELECT product_id FROM inventory WHERE stock_on_hand = 0) GROUP BY 1""")


LISTING_ALLOWED = ("title_length", "image_count", "has_video", "description_length")


def listing_data(ds: Dataset, columns: list[str]) -> pd.DataFrame:
    """Per product: ``product_id``, ``category``, ``list_price_cny``, the listing ``columns``, ``units``
    (valid lines, whole history) and ``days_on_sale`` (from launch or the data's first day to its last)."""
    cols = ", ".join("p." + engine.identifier(c, LISTING_ALLOWED) for c in columns)
    return engine.query(ds, f"""
        WITH span AS (SELECT min(order_date) AS first, max(order_date) AS last FROM orders_cny),
        sold AS (SELECT product_id, sum(quantity) AS units FROM items_cny WHERE is_valid GROUP BY 1)
        SELECT p.product_id, p.category, p.list_price_cny, {cols},
               COALESCE(s.units, 0) AS units,
               {dialect.days_between(
                   'greatest(COALESCE(p.launch_date, (SELECT first FROM span)), (SELECT first FROM span))',
                   '(SELECT last FROM span)')} + 1 AS days_on_sale
        FROM products p LEFT JOIN sold s USING (product_id)""")
