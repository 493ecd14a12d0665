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

import pandas as pd

from workbench.data import schema
from workbench.data.views import MATERIALISE_MAX_ORDERS, create_derived_views, derived_relations  # noqa: F401
from workbench.sql import engine
from workbench.sql.filters import Filters, compare_window  # noqa: F401

if TYPE_CHECKING:
    from workbench.data.loader import Dataset


def data_range(ds: "Dataset") -> tuple[dt.date, dt.date] | None:
    """First and last order date in the data (None when there are no orders).

    Without orders, the first dated table of traffic, tickets, reviews and marketing spend decides.
    """
    if "orders" not in ds.sources:
        for name in ("traffic", "tickets", "reviews", "marketing_spend"):
            t = schema.TABLES[name]
            if name in ds.sources and t.time_column:
                col = engine.identifier(t.time_column, [t.time_column])
                span = engine.query(ds, f"SELECT min(CAST({col} AS DATE)) AS lo, max(CAST({col} AS DATE)) AS hi "
                                        f"FROM {name}")
                lo, hi = _day(span["lo"].iloc[0]), _day(span["hi"].iloc[0])
                if lo is not None:
                    return lo, hi
        return None
    span = engine.query(ds, "SELECT min(order_date) AS lo, max(order_date) AS hi FROM orders_cny")
    lo, hi = _day(span["lo"].iloc[0]), _day(span["hi"].iloc[0])
    return (lo, hi) if lo is not None else None


def _day(value: object) -> dt.date | None:
    """A date from what a query frame holds (a date, a pandas Timestamp, or missing)."""
    if value is None or pd.isna(value):
        return None
    return value if type(value) is dt.date else pd.Timestamp(value).date()


def relations(ds: "Dataset") -> set[str]:
    """Names of the tables a query may read: the dataset's tables and the derived ones
    (:func:`workbench.data.views.derived_relations`)."""
    return set(ds.sources) | derived_relations(ds)
