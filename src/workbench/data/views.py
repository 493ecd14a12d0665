"""Derived views over a loaded dataset: orders and order lines converted to CNY.

``orders_cny``   orders with ``order_date`` (local date), ``gmv_cny`` (paid amount in CNY),
                 ``gross_cny``, ``discount_cny``, ``platform_fee_cny`` and ``fx_rate``;
                 cancelled orders are kept, with ``is_valid`` false.
``items_cny``    order lines with the order's date, channel, customer, rate and line value in CNY.

The loader creates them right after its checks; every query reads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.data.loader import Dataset


#: Up to this many orders, ``orders_cny`` and ``items_cny`` are materialised in memory once (the
#: currency join then runs once, not in every query: dashboards redraw several times faster);
#: above it they stay views over the files, so memory follows the aggregated results.
MATERIALISE_MAX_ORDERS = 2_000_000


def create_derived_views(ds: "Dataset") -> None:
    """Create ``orders_cny`` and ``items_cny`` over the loaded tables (when orders are present).

    Small datasets get them as in-memory tables (see :data:`MATERIALISE_MAX_ORDERS`), large
    ones as views; queries cannot tell the difference.
    """
    con = ds.con
    if "orders" not in ds.sources:
        return
    kind = "TABLE" if ds.row_count("orders") <= MATERIALISE_MAX_ORDERS else "VIEW"
    has_fx = "fx_rates" in ds.sources
    fx_join = (
        "ASOF LEFT JOIN fx_rates fx ON upper(o.currency) = upper(fx.currency) "
        "AND CAST(o.ordered_at AS DATE) >= fx.date"
        if has_fx else ""
    )
    rate = ("CASE WHEN upper(o.currency) = 'CNY' THEN 1.0 ELSE fx.rate_to_cny END" if has_fx
            else "CASE WHEN upper(o.currency) = 'CNY' THEN 1.0 END")
    con.execute(f"""
        CREATE OR REPLACE {kind} orders_cny AS
        SELECT o.*,
               CAST(o.ordered_at AS DATE) AS order_date,
               {rate} AS fx_rate,
               o.paid_amount * {rate} AS gmv_cny,
               o.gross_amount * {rate} AS gross_cny,
               o.discount_amount * {rate} AS discount_cny,
               COALESCE(o.platform_fee, 0) * {rate} AS platform_fee_cny,
               o.status <> 'cancelled' AS is_valid
        FROM orders o {fx_join}
    """)
    if "order_items" in ds.sources:
        con.execute(f"""
            CREATE OR REPLACE {kind} items_cny AS
            SELECT i.*, o.order_date, o.channel, o.customer_id, o.is_valid, o.fx_rate,
                   i.quantity * i.unit_price * o.fx_rate AS line_gmv_cny,
                   i.unit_price * o.fx_rate AS unit_price_cny
            FROM order_items i JOIN orders_cny o USING (order_id)
        """)
