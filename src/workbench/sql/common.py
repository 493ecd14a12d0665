"""The aggregation layer: every heavy query runs here, as SQL over the dataset's DuckDB views.

Analyses call these functions with a :class:`Filters` and get small pandas frames back, so
memory grows with the aggregated result, not with the raw rows. Keeping the SQL in one
module is what lets a later engine (a distributed one) replace DuckDB in one place.

Derived views created by :func:`create_derived_views`:

``orders_cny``   orders with ``order_date`` (local date), ``gmv_cny`` (paid amount in CNY),
                 ``gross_cny``, ``discount_cny``, ``platform_fee_cny`` and ``fx_rate``;
                 cancelled orders are kept, with ``is_valid`` false.
``items_cny``    order lines with the order's date, channel, customer, rate and line value in CNY.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from workbench.data import schema
from workbench.data.views import MATERIALISE_MAX_ORDERS, create_derived_views  # noqa: F401
from workbench.sql.filters import Filters, compare_window  # noqa: F401

if TYPE_CHECKING:
    from workbench.data.loader import Dataset


def data_range(ds: "Dataset") -> tuple[dt.date, dt.date] | None:
    """First and last order date in the data (None when there are no orders)."""
    if "orders" not in ds.sources:
        for name in ("traffic", "tickets", "reviews", "marketing_spend"):
            t = schema.TABLES[name]
            if name in ds.sources and t.time_column:
                lo, hi = ds.con.execute(
                    f"SELECT min(CAST({t.time_column} AS DATE)), max(CAST({t.time_column} AS DATE)) FROM {name}"
                ).fetchone()
                if lo is not None:
                    return lo, hi
        return None
    lo, hi = ds.con.execute("SELECT min(order_date), max(order_date) FROM orders_cny").fetchone()
    return (lo, hi) if lo is not None else None


def kpi_totals(ds: "Dataset", f: Filters) -> dict[str, float]:
    """Headline KPIs of a period: GMV (CNY), orders, buyers, AOV, units, refund rate, new buyers.

    New buyers are buyers whose first valid order (over all the data) falls in the period.
    Returns a dict of floats (NaN where a table needed is absent).
    """
    row = ds.con.execute(f"""
        WITH firsts AS (
            SELECT customer_id, min(order_date) AS first_date FROM orders_cny WHERE is_valid GROUP BY 1
        )
        SELECT sum(gmv_cny) AS gmv, count(*) AS orders, count(DISTINCT o.customer_id) AS buyers,
               count(DISTINCT CASE WHEN fi.first_date = o.order_date THEN o.customer_id END) AS new_buyers,
               sum(CASE WHEN o.status = 'refunded' THEN gmv_cny ELSE 0 END) AS refunded_gmv
        FROM orders_cny o LEFT JOIN firsts fi USING (customer_id)
        WHERE o.is_valid AND {f.where('o.order_date', 'o.channel')}
    """).fetchone()
    gmv, orders, buyers, new_buyers, refunded = row
    gmv = float(gmv or 0.0)
    out = {
        "gmv": gmv,
        "orders": float(orders or 0),
        "buyers": float(buyers or 0),
        "new_buyers": float(new_buyers or 0),
        "returning_buyers": float((buyers or 0) - (new_buyers or 0)),
        "aov": gmv / orders if orders else float("nan"),
        "refund_rate": float(refunded or 0) / gmv if gmv else float("nan"),
        "units": float("nan"),
    }
    if "items_cny" in relations(ds):
        units = ds.con.execute(
            f"SELECT sum(quantity) FROM items_cny WHERE is_valid AND {f.where()}").fetchone()[0]
        out["units"] = float(units or 0)
    return out


def relations(ds: "Dataset") -> set[str]:
    """Names of the views and tables of the dataset's connection (derived ones included)."""
    views = {r[0] for r in ds.con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    return views | {r[0] for r in ds.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def daily_kpis(ds: "Dataset", f: Filters, by: str | None = None) -> pd.DataFrame:
    """GMV (CNY), orders and buyers per day, optionally per ``by`` (an orders column such as channel).

    Returns a tidy frame: ``date`` [, ``by``], ``gmv``, ``orders``, ``buyers``, ``aov``; days without
    orders are present with zeros (a complete calendar of the period).
    """
    group = f", {by}" if by else ""
    frame = ds.sql(f"""
        SELECT order_date AS date{group}, sum(gmv_cny) AS gmv, count(*) AS orders,
               count(DISTINCT customer_id) AS buyers
        FROM orders_cny WHERE is_valid AND {f.where()}
        GROUP BY ALL ORDER BY ALL
    """)
    frame["date"] = pd.to_datetime(frame["date"])
    calendar = pd.DataFrame({"date": pd.date_range(f.start, f.end, freq="D")})
    if by:
        keys = frame[[by]].drop_duplicates()
        calendar = calendar.merge(keys, how="cross")
        frame = calendar.merge(frame, on=["date", by], how="left")
    else:
        frame = calendar.merge(frame, on="date", how="left")
    frame[["gmv", "orders", "buyers"]] = frame[["gmv", "orders", "buyers"]].fillna(0)
    frame["aov"] = frame["gmv"] / frame["orders"].where(frame["orders"] > 0)
    return frame


def totals_by(ds: "Dataset", f: Filters, by: str) -> pd.DataFrame:
    """GMV (CNY), orders and buyers per value of an orders column (``channel``, ``region``, ...)."""
    return ds.sql(f"""
        SELECT COALESCE(CAST({by} AS VARCHAR), 'unknown') AS {by}, sum(gmv_cny) AS gmv, count(*) AS orders,
               count(DISTINCT customer_id) AS buyers
        FROM orders_cny WHERE is_valid AND {f.where()} GROUP BY 1 ORDER BY gmv DESC
    """)


def funnel(ds: "Dataset", f: Filters, by: str = "source") -> pd.DataFrame:
    """Funnel step counts from ``traffic`` summed over the period, per ``by`` (source or channel)."""
    return ds.sql(f"""
        SELECT {by}, sum(sessions) AS sessions, sum(product_views) AS product_views,
               sum(add_to_cart) AS add_to_cart, sum(checkouts) AS checkouts, sum(paid_orders) AS paid_orders
        FROM traffic WHERE {f.where('date')} GROUP BY 1 ORDER BY sessions DESC
    """)


def daily_traffic(ds: "Dataset", f: Filters, by: str | None = None) -> pd.DataFrame:
    """Sessions and paid orders per day (optionally per ``by``) from ``traffic``."""
    group = f", {by}" if by else ""
    frame = ds.sql(f"""
        SELECT date{group}, sum(sessions) AS sessions, sum(paid_orders) AS paid_orders
        FROM traffic WHERE {f.where('date')} GROUP BY ALL ORDER BY ALL
    """)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame
