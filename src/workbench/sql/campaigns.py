"""Queries of the campaigns page: the campaign table, daily orders over the whole history, recent rates.

Every value (dates, channels, sources) is a bound parameter; the only identifiers spliced in are the
optional ``campaigns`` columns, chosen from a fixed list. The campaign *days* (one row per day) come
from :func:`workbench.sql.calendar.campaign_days`, the one definition every page shares.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from workbench.sql import dialect, engine

if TYPE_CHECKING:
    from workbench.data.loader import Dataset

#: Optional columns of ``campaigns`` returned when the file has them.
OPTIONAL = ("discount_rate", "budget_cny")


def campaigns(ds: Dataset, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
    """Campaigns (all, or those overlapping ``start``–``end``), earliest first.

    Columns: ``campaign_id``, ``name``, ``kind``, ``start_date``, ``end_date`` (datetime64), ``days``
    and, when the file has them, ``discount_rate`` and ``budget_cny``.
    """
    extra = [engine.identifier(c, OPTIONAL) for c in OPTIONAL if ds.has("campaigns", [c])]
    cond, params = ["TRUE"], {}
    if start is not None:
        cond.append("end_date >= $start")
        params["start"] = start
    if end is not None:
        cond.append("start_date <= $end")
        params["end"] = end
    out = engine.query(ds, f"""
        SELECT campaign_id, name, kind, start_date, end_date,
               {dialect.days_between('start_date', 'end_date')} + 1 AS days{''.join(', ' + c for c in extra)}
        FROM campaigns WHERE {' AND '.join(cond)} ORDER BY start_date, campaign_id
    """, params)
    out["start_date"] = pd.to_datetime(out["start_date"])
    out["end_date"] = pd.to_datetime(out["end_date"])
    return out


def daily_orders(ds: Dataset, channels: tuple[str, ...] = (),
                 exclude_sources: tuple[str, ...] = ()) -> pd.DataFrame:
    """Valid orders and GMV (CNY) per order day over the whole history: ``date``, ``gmv``, ``orders``.

    Only days with orders come back; ``channels`` (empty: all) and ``exclude_sources`` (orders whose
    ``source`` is one of them are left out, when the column exists) are bound parameters.
    """
    params: dict[str, object] = {}
    cond = ["is_valid"]
    if channels:
        names = [f"c{i}" for i in range(len(channels))]
        params.update(zip(names, channels))
        cond.append(f"channel IN ({', '.join('$' + n for n in names)})")
    if exclude_sources and ds.has("orders", ["source"]):
        names = [f"s{i}" for i in range(len(exclude_sources))]
        params.update(zip(names, exclude_sources))
        cond.append(f"(source IS NULL OR source NOT IN ({', '.join('$' + n for n in names)}))")
    out = engine.query(ds, f"""
        SELECT order_date AS date, sum(gmv_cny) AS gmv, count(*) AS orders
        FROM orders_cny WHERE {' AND '.join(cond)} GROUP BY 1 ORDER BY 1
    """, params)
    out["date"] = pd.to_datetime(out["date"])
    return out


def last_order_date(ds: Dataset) -> dt.date | None:
    """The last day with an order (valid or not); None without orders."""
    value = engine.scalar(ds, "SELECT max(order_date) FROM orders_cny")
    return None if value is None else pd.Timestamp(value).date()


def recent_rates(ds: Dataset, since: dt.date) -> dict[str, float]:
    """Rates of the days after ``since`` that size a campaign plan.

    Returns ``aov`` (GMV per valid order, CNY), ``orders`` (valid orders), ``units_per_order`` (NaN
    without order lines) and ``tickets`` (tickets created, NaN without a tickets table).
    """
    row = engine.query(ds, """SELECT sum(gmv_cny) / nullif(count(*), 0) AS aov, count(*) AS orders
                              FROM orders_cny WHERE is_valid AND order_date > $since""", {"since": since}).iloc[0]
    out = {"aov": float(row["aov"]) if pd.notna(row["aov"]) else float("nan"), "orders": float(row["orders"]),
           "units_per_order": float("nan"), "tickets": float("nan")}
    if ds.has("order_items"):
        upo = engine.scalar(ds, """SELECT sum(quantity) / nullif(count(DISTINCT order_id), 0) FROM items_cny
                                   WHERE is_valid AND order_date > $since""", {"since": since})
        out["units_per_order"] = float(upo) if upo is not None else float("nan")
    if ds.has("tickets"):
        out["tickets"] = float(engine.scalar(ds, "SELECT count(*) FROM tickets WHERE CAST(created_at AS DATE) > $since",
                                             {"since": since}) or 0)
    return out
