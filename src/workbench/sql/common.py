"""Queries every page needs: the dates the data covers and the relations of a dataset's connection.

Each topic's queries live in ``workbench.sql.<topic>``; KPIs shared by pages in
:mod:`workbench.sql.metrics`. Everything here returns small pandas frames or plain values.

Derived views created by :func:`create_derived_views`:

``orders_cny``   orders with ``order_date`` (local date), ``gmv_cny`` (paid amount in CNY),
                 ``gross_cny``, ``discount_cny``, ``platform_fee_cny`` and ``fx_rate``;
                 cancelled orders are kept, with ``is_valid`` false.
``items_cny``    order lines with the order's date, channel, customer, rate and line value in CNY.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING


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


def relations(ds: "Dataset") -> set[str]:
    """Names of the views and tables of the dataset's connection (derived ones included)."""
    views = {r[0] for r in ds.con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    return views | {r[0] for r in ds.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
