"""Derived views over a loaded dataset: orders and order lines converted to CNY.

``orders_cny``   orders with ``order_date`` (local date), ``gmv_cny`` (paid amount in CNY),
                 ``gross_cny``, ``discount_cny``, ``platform_fee_cny`` and ``fx_rate``;
                 cancelled orders are kept, with ``is_valid`` false.
``items_cny``    order lines with the order's date, channel, customer, rate and line value in CNY.
``cube_orders``  daily cells of valid orders by channel, region and customer type
                 (:func:`workbench.data.marts.cube_orders_sql`).
``cube_items``   daily cells of valid order lines by channel and category
                 (:func:`workbench.data.marts.cube_items_sql`).

The loader creates them right after its checks; every query reads them. The conversion is an
equi-join on one rate per currency and day (:func:`workbench.data.marts.fx_daily_sql`: the last
published rate on or before the day), computed once.

Three ways to hold them, which queries cannot tell apart:

- up to :data:`MATERIALISE_MAX_ORDERS` orders, in-memory tables built at load (the currency join
  runs once per kernel, not per query);
- above it, or with ``WORKBENCH_MARTS=1``, a mart (:mod:`workbench.data.marts`): every table and
  the CNY facts as Parquet, built once per version of the data and shared by every kernel and
  dashboard; ``WORKBENCH_MARTS=0`` turns marts off;
- with marts off, views over the files (memory follows the aggregated results).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from workbench.data.marts import cube_items_sql, cube_orders_sql, fx_daily_sql, items_cny_sql, orders_cny_sql

#: DuckDB macros that let a statement name a function Spark has natively with the same meaning
#: (:mod:`workbench.sql.dialect` documents them): ``percentile(x, p)`` is ``quantile_cont``
MACROS = (
    "CREATE OR REPLACE TEMP MACRO percentile(x, p) AS quantile_cont(x, p)",
)

if TYPE_CHECKING:
    from workbench.data.loader import Dataset


#: Up to this many orders, ``orders_cny`` and ``items_cny`` are materialised in memory once (the
#: currency join then runs once, not in every query: dashboards redraw several times faster);
#: above it a mart on disk holds them (see :mod:`workbench.data.marts`).
MATERIALISE_MAX_ORDERS = 2_000_000


def use_marts(ds: "Dataset") -> bool:
    """Whether ``ds`` is read through a mart: ``WORKBENCH_MARTS`` 1/0 decides, else its size."""
    flag = os.environ.get("WORKBENCH_MARTS", "").strip().lower()
    if flag in ("1", "true", "yes", "on"):
        return True
    if flag in ("0", "false", "no", "off"):
        return False
    return ds.row_count("orders") > MATERIALISE_MAX_ORDERS


def materialise_tables(ds: "Dataset") -> None:
    """Hold each of the dataset's typed tables in memory once, as a temporary table of the same name.

    The loader's typed views clean every value (blanks and null words, date formats, lower-cased
    codes) and pseudonymise personal columns with a keyed hash, on every read: on the sample a
    query joining ``customers`` spent most of its second there, and a dashboard redraw runs
    dozens of queries. The temporary table shadows the view (DuckDB looks names up in ``temp``
    first), so queries cannot tell the difference, except that every table now holds the rows
    as they were when the data were loaded, the same moment as ``orders_cny``. Only the cleaned,
    pseudonymised values are held; the raw views stay as the loader made them.
    """
    for name in ds.sources:
        ds.con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM main."{name}"')


def derived_relations(ds: "Dataset") -> set[str]:
    """The derived tables :func:`create_derived_views` gives ``ds`` (besides its own tables)."""
    names = set()
    if "orders" in ds.sources:
        names |= {"orders_cny", "cube_orders"}
        if "order_items" in ds.sources:
            names |= {"items_cny", "cube_items"}
        if "fx_rates" in ds.sources:
            names.add("fx_daily")
    return names


def create_derived_views(ds: "Dataset") -> None:
    """Create ``orders_cny`` and ``items_cny`` over the loaded tables (when orders are present).

    Small datasets get them as in-memory tables, large ones through a mart on disk (see the
    module's docstring); queries cannot tell the difference. The connection also gets the macros
    of the one dialect (:data:`workbench.sql.dialect.MACROS`).
    """
    con = ds.con
    ds.mart = None
    for macro in MACROS:
        con.execute(macro)
    if "orders" not in ds.sources:
        return
    if use_marts(ds) and ds.source.is_dir():
        from workbench.data import marts

        marts.attach(ds)
        return
    in_memory = ds.row_count("orders") <= MATERIALISE_MAX_ORDERS
    kind = "TABLE" if in_memory else "VIEW"
    if in_memory:
        materialise_tables(ds)
    fx = None
    if "fx_rates" in ds.sources:
        con.execute(f"CREATE OR REPLACE {'TEMP TABLE' if in_memory else 'TEMP VIEW'} fx_daily AS {fx_daily_sql()}")
        fx = "fx_daily"
    con.execute(f"CREATE OR REPLACE {kind} orders_cny AS {orders_cny_sql('orders', fx)}")
    con.execute(f"CREATE OR REPLACE {kind} cube_orders AS {cube_orders_sql('orders_cny', ds.has('orders', ['region']))}")
    if "order_items" in ds.sources:
        con.execute(f"CREATE OR REPLACE {kind} items_cny AS {items_cny_sql('order_items', 'orders_cny')}")
        products = "products" if ds.has("products", ["product_id", "category"]) else None
        con.execute(f"CREATE OR REPLACE {kind} cube_items AS {cube_items_sql('items_cny', products)}")
