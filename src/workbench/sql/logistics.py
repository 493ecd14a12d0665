"""Logistics queries: shipments per carrier/warehouse/region, delivery times, outcomes, returns, lateness.

Every function takes a :class:`~workbench.data.loader.Dataset` and :class:`Filters` and returns a
small pandas frame of counts and sums (rates and intervals are computed by the topic with
:mod:`workbench.stats`). Values are bound parameters; a ``by`` column a caller chooses is checked
against an allow-list.

The on-time condition is the registry's (:data:`workbench.sql.metrics.METRICS` ``["on_time_rate"]``):
shipments of valid orders placed in the period (by order date), ``on_time`` = delivered no later
than promised, ``delivered`` = delivered at all. :func:`shipments_by` reuses its source, numerator
and denominator verbatim, so the table's sums equal the KPI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

from workbench.sql import dialect, engine
from workbench.sql.filters import Filters
from workbench.sql.metrics import metric

if TYPE_CHECKING:
    from workbench.data.loader import Dataset

#: Columns a shipments table may be grouped by, and the SQL expression of each.
GROUPS = {"carrier": "s.carrier", "warehouse": "s.warehouse", "region": "COALESCE(o.region, 'unknown')",
          "channel": "o.channel"}

_ON_TIME = metric("on_time_rate")
#: Shipments of valid orders in the period; the registry's on-time source, with ``{where}`` to fill.
SOURCE = _ON_TIME.source
ON_TIME = _ON_TIME.num.removeprefix("sum(").removesuffix(")")
DELIVERED = _ON_TIME.den.removeprefix("sum(").removesuffix(")")
DELIVERY_DAYS = dialect.days_elapsed("s.shipped_at", "s.delivered_at")


def _where(f: Filters, exclude: Iterable[tuple[str, str]] = ()) -> tuple[str, dict]:
    """The on-time metric's period/channel condition, minus excluded (first, last) order-date ranges."""
    where, params = f.bind(_ON_TIME.date, _ON_TIME.channel)
    for i, (first, last) in enumerate(exclude or ()):
        where += f" AND o.order_date NOT BETWEEN $x{i}a AND $x{i}b"
        params[f"x{i}a"], params[f"x{i}b"] = dt.date.fromisoformat(str(first)), dt.date.fromisoformat(str(last))
    return where, params


def _group(by: str) -> str:
    return GROUPS[engine.identifier(by, GROUPS)]


def shipments_by(ds: Dataset, f: Filters, by: str = "carrier", exclude: Iterable[tuple[str, str]] = (),
                 with_cost: bool = True) -> pd.DataFrame:
    """Per ``by`` group: ``shipments``, ``delivered``, ``on_time``, ``lost``, ``damaged``, ``mean_days``,
    ``median_days``, ``p90_days`` (shipped to delivered) and ``cost_per_order`` (NaN without costs).

    ``on_time`` and ``delivered`` are the on-time KPI's numerator and denominator, group by group.
    """
    where, params = _where(f, exclude)
    cost = "avg(s.shipping_cost_cny)" if with_cost else "avg(CAST(NULL AS DOUBLE))"
    sql = f"""
        SELECT {_group(by)} AS {by}, count(*) AS shipments, sum({DELIVERED}) AS delivered,
               sum({ON_TIME}) AS on_time,
               count(CASE WHEN s.status = 'lost' THEN 1 END) AS lost,
               count(CASE WHEN s.status = 'damaged' THEN 1 END) AS damaged,
               avg({DELIVERY_DAYS}) AS mean_days, {dialect.quantile(DELIVERY_DAYS, '0.5')} AS median_days,
               {dialect.quantile(DELIVERY_DAYS, '0.9')} AS p90_days, {cost} AS cost_per_order
        FROM {SOURCE.format(where=where)} GROUP BY 1
    """
    return engine.query(ds, sql, params)


def delivery_histogram(ds: Dataset, f: Filters, by: str = "carrier", bin_days: float = 0.5,
                       max_days: float = 15.0) -> pd.DataFrame:
    """Delivered shipments per ``by`` and delivery-time bin: ``by``, ``delivery_days`` (bin start; the
    last bin holds everything from ``max_days`` up), ``shipments``."""
    where, params = f.bind(_ON_TIME.date, _ON_TIME.channel)
    params.update(bin=float(bin_days), cap=float(max_days))
    sql = f"""
        SELECT {_group(by)} AS {by}, least(floor({DELIVERY_DAYS} / $bin) * $bin, $cap) AS delivery_days,
               count(*) AS shipments
        FROM {SOURCE.format(where=where)} AND s.delivered_at IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2
    """
    return engine.query(ds, sql, params)


def outcome_counts(ds: Dataset, f: Filters, by: str = "carrier") -> pd.DataFrame:
    """Shipments per ``by`` and outcome (``on_time``, ``late``, else the shipment's status: ``lost``,
    ``damaged``, ``in_transit``): ``by``, ``outcome``, ``shipments``."""
    where, params = f.bind(_ON_TIME.date, _ON_TIME.channel)
    sql = f"""
        SELECT {_group(by)} AS {by},
               CASE WHEN {ON_TIME} = 1 THEN 'on_time' WHEN {DELIVERED} = 1 THEN 'late' ELSE s.status END AS outcome,
               count(*) AS shipments
        FROM {SOURCE.format(where=where)} GROUP BY 1, 2 ORDER BY 1, 2
    """
    return engine.query(ds, sql, params)


FREQUENCIES = ("day", "week", "month")


def on_time_by_period(ds: Dataset, f: Filters, by: str = "carrier", freq: str = "week",
                      exclude: Iterable[tuple[str, str]] = ()) -> pd.DataFrame:
    """``period`` (start of the day/week/month of the order), ``by``, ``delivered``, ``on_time``.

    ``exclude`` lists (first, last) ISO order dates to leave out, as in :func:`shipments_by`.
    """
    unit = engine.identifier(freq, FREQUENCIES)
    where, params = _where(f, exclude)
    sql = f"""
        SELECT date_trunc('{unit}', o.order_date) AS period, {_group(by)} AS {by},
               sum({DELIVERED}) AS delivered, sum({ON_TIME}) AS on_time
        FROM {SOURCE.format(where=where)} GROUP BY 1, 2 ORDER BY 1, 2
    """
    frame = engine.query(ds, sql, params)
    frame["period"] = pd.to_datetime(frame["period"])
    return frame


# ----- late deliveries and what follows ------------------------------------------------------------

def lateness_orders(ds: Dataset, window_days: int = 365, rows: int = 400_000) -> pd.DataFrame:
    """One row per delivered shipment of a valid order (all history): lateness, controls and outcomes.

    The one definition of "a late delivery and what the customer did next", for the logistics page
    (rating and repeat models) and the CRM page (the delay section). Columns: ``order_id``,
    ``customer_id``, ``late`` (0/1: delivered after promised), ``late_days`` (≥ 0),
    ``late_days_capped`` (days late rounded up, at most 5), ``damaged`` (0/1), ``carrier``,
    ``warehouse``, ``channel``, ``log_gmv``, ``order_month`` (YYYY-MM), ``prior_orders`` (the
    customer's earlier orders), ``prior_orders_band`` (4 = four or more), ``rating`` (its review,
    NaN when none), ``home`` (acquisition channel, else the order's channel), ``repeat`` (1 when the customer ordered again within
    ``window_days``; NaN when the data end before the window closes). A customer's later livestream
    orders are promotional impulse buys: they neither count as a repeat nor enter as orders. At most
    ``rows`` rows (a reproducible subset beyond).
    """
    has_reviews = ds.has("reviews", ["order_id", "rating"])
    review_join = ("LEFT JOIN (SELECT order_id, avg(rating) AS rating FROM reviews WHERE order_id IS NOT NULL "
                   "GROUP BY 1) r USING (order_id)") if has_reviews else ""
    rating = "r.rating" if has_reviews else "CAST(NULL AS DOUBLE)"
    has_home = ds.has("customers", ["acquisition_channel"])
    home = "c.acquisition_channel" if has_home else "q.channel"
    home_join = "LEFT JOIN customers c ON c.customer_id = q.customer_id" if has_home else ""
    stream = "livestream_id IS NOT NULL" if ds.has("orders", ["livestream_id"]) else "FALSE"
    late_days = dialect.days_elapsed("s.promised_at", "s.delivered_at")
    sql = f"""
        WITH ranked AS (
            SELECT order_id, customer_id, ordered_at, channel, gmv_cny, is_valid, {stream} AS from_stream,
                   row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS k
            FROM orders_cny
        ), seq AS (
            SELECT order_id, customer_id, ordered_at, channel, gmv_cny, is_valid,
                   row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) - 1 AS prior_orders,
                   lead(ordered_at) OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS next_at
            FROM ranked WHERE k = 1 OR NOT from_stream
        ), last_day AS (SELECT max(ordered_at) AS last_at FROM orders_cny),
        s AS (
            SELECT * FROM shipments WHERE delivered_at IS NOT NULL
            QUALIFY count(*) OVER () <= $rows OR row_number() OVER (ORDER BY hash(order_id), order_id) <= $rows
        )
        SELECT order_id, q.customer_id,
               CASE WHEN s.delivered_at > s.promised_at THEN 1 ELSE 0 END AS late,
               greatest({late_days}, 0) AS late_days,
               least(ceil(greatest({late_days}, 0)), 5) AS late_days_capped,
               CASE WHEN s.status = 'damaged' THEN 1 ELSE 0 END AS damaged,
               s.carrier, s.warehouse, q.channel, ln(1 + q.gmv_cny) AS log_gmv,
               strftime(q.ordered_at, '%Y-%m') AS order_month, q.prior_orders,
               least(q.prior_orders, 4) AS prior_orders_band, {rating} AS rating, {home} AS home,
               CASE WHEN {dialect.add_days('q.ordered_at', '$window')} > (SELECT last_at FROM last_day) THEN NULL
                    WHEN q.next_at IS NOT NULL AND q.next_at <= {dialect.add_days('q.ordered_at', '$window')}
                         THEN 1.0
                    ELSE 0.0 END AS repeat
        FROM s JOIN seq q USING (order_id) {review_join} {home_join}
        WHERE q.is_valid
        ORDER BY order_id
    """
    return engine.query(ds, sql, {"window": int(window_days), "rows": int(rows)})


# ----- returns ------------------------------------------------------------------------------------

def returns_by_channel(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Per channel, valid orders of the period: ``channel``, ``orders``, ``returned_orders``,
    ``refund_cny``, ``gmv``."""
    where, params = f.bind("o.order_date", "o.channel")
    sql = f"""
        WITH rets AS (SELECT order_id, sum(refund_amount) AS refund FROM returns GROUP BY 1)
        SELECT o.channel, count(*) AS orders, count(r.order_id) AS returned_orders,
               sum(COALESCE(r.refund * o.fx_rate, 0)) AS refund_cny, sum(o.gmv_cny) AS gmv
        FROM orders_cny o LEFT JOIN rets r USING (order_id)
        WHERE o.is_valid AND {where}
        GROUP BY 1
    """
    return engine.query(ds, sql, params)


def returns_by_category(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Per product category: ``category``, ``lines`` (order lines of valid orders of the period),
    ``returns`` (return rows), ``refund_cny``."""
    where_i, params = f.bind("i.order_date", "i.channel")
    where_o, _ = f.bind("o.order_date", "o.channel")
    sql = f"""
        WITH lines AS (
            SELECT p.category, count(*) AS lines
            FROM items_cny i JOIN products p USING (product_id)
            WHERE i.is_valid AND {where_i} GROUP BY 1
        ), rets AS (
            SELECT p.category, count(*) AS returns,
                   sum(r.refund_amount * COALESCE(o.fx_rate, 1.0)) AS refund_cny
            FROM returns r JOIN orders_cny o USING (order_id) JOIN products p ON p.product_id = r.product_id
            WHERE o.is_valid AND {where_o} GROUP BY 1
        )
        SELECT category, lines, COALESCE(returns, 0) AS returns, COALESCE(refund_cny, 0) AS refund_cny
        FROM lines LEFT JOIN rets USING (category) ORDER BY category
    """
    return engine.query(ds, sql, params)


def return_reasons(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Returns of orders of the period per channel and reason: ``channel``, ``reason``, ``returns``,
    ``refund_cny``."""
    where, params = f.bind("o.order_date", "o.channel")
    sql = f"""
        SELECT o.channel, r.reason, count(*) AS returns,
               sum(r.refund_amount * COALESCE(o.fx_rate, 1.0)) AS refund_cny
        FROM returns r JOIN orders_cny o USING (order_id)
        WHERE {where}
        GROUP BY 1, 2 ORDER BY 1, 2
    """
    return engine.query(ds, sql, params)
