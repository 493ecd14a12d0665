"""Queries of the social-commerce page: KOL paying units, livestreams, daily channel sales, referrals.

Every function takes the dataset (and filters) and returns a small frame; values are bound
parameters. The private-traffic comparison shares its landmark query with the omnichannel page
(:func:`workbench.sql.omnichannel.landmark_strata`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from workbench.sql import engine
from workbench.sql.filters import Filters
from workbench.sql.omnichannel import landmark_strata

if TYPE_CHECKING:
    from workbench.data.loader import Dataset

STREAM_COLUMNS = ["livestream_id", "kol_id", "channel", "started_at", "viewers", "fee_cny"]


def has_streams(ds: Dataset) -> bool:
    """Whether livestreams (and orders' livestream ids) are in the data."""
    return ds.has("livestreams", STREAM_COLUMNS) and ds.has("orders", ["livestream_id"])


def _attributed(ds: Dataset, channel_cond: str = "TRUE") -> str:
    stream_id = "o.livestream_id" if has_streams(ds) else "NULL"
    returned = "o.order_id IN (SELECT order_id FROM returns)" if "returns" in ds.sources else "FALSE"
    return f"""
        SELECT o.kol_id, {stream_id} AS livestream_id, o.order_date, o.gmv_cny,
               o.ordered_at = fi.first_at AS is_new, o.status = 'refunded' OR {returned} AS is_returned
        FROM orders_cny o
        LEFT JOIN (SELECT customer_id, min(ordered_at) AS first_at FROM orders_cny WHERE is_valid GROUP BY 1) fi
               USING (customer_id)
        WHERE o.is_valid AND o.kol_id IS NOT NULL AND {channel_cond}
    """


def stream_units(ds: Dataset, f: Filters) -> pd.DataFrame:
    """One row per paying unit: each livestream of the period (by start date and stream channel),
    plus each KOL's orders outside streams per week (by order date and channel).

    Columns: ``kol_id``, ``unit``, ``is_stream``, ``viewers``, ``fee``, ``orders``, ``gmv``,
    ``new_customers``, ``returned``.
    """
    parts = []
    if has_streams(ds):
        where, params = f.bind("CAST(s.started_at AS DATE)", "s.channel")
        parts.append(engine.query(ds, f"""
            WITH att AS ({_attributed(ds)})
            SELECT s.kol_id, s.livestream_id AS unit, TRUE AS is_stream, s.viewers, s.fee_cny AS fee,
                   count(a.gmv_cny) AS orders, COALESCE(sum(a.gmv_cny), 0) AS gmv,
                   count(CASE WHEN a.is_new THEN 1 END) AS new_customers,
                   count(CASE WHEN a.is_returned THEN 1 END) AS returned
            FROM livestreams s LEFT JOIN att a USING (livestream_id)
            WHERE {where}
            GROUP BY s.kol_id, s.livestream_id, s.viewers, s.fee_cny
        """, params))
    chan, cparams = f.bind("o.order_date", "o.channel")
    dates, dparams = f.bind("a.order_date", None)
    off = "a.livestream_id IS NULL" if has_streams(ds) else "TRUE"
    parts.append(engine.query(ds, f"""
        WITH att AS ({_attributed(ds, chan)})
        SELECT a.kol_id, 'w' || strftime(date_trunc('week', a.order_date), '%Y-%m-%d') AS unit,
               FALSE AS is_stream, 0 AS viewers, 0.0 AS fee, count(*) AS orders, sum(a.gmv_cny) AS gmv,
               count(CASE WHEN a.is_new THEN 1 END) AS new_customers,
               count(CASE WHEN a.is_returned THEN 1 END) AS returned
        FROM att a WHERE {off} AND {dates}
        GROUP BY 1, 2
    """, {**cparams, **dparams}))
    return pd.concat([p for p in parts if not p.empty] or [parts[0]], ignore_index=True)


def kols(ds: Dataset) -> pd.DataFrame:
    """``kol_id`` with ``handle``, ``tier`` and ``commission_rate`` where the kols table has them."""
    cols = [c for c in ("handle", "tier", "commission_rate") if ds.has("kols", [c])]
    if not ds.has("kols", ["kol_id"]):
        return pd.DataFrame({"kol_id": pd.Series(dtype=object)})
    return engine.query(ds, f"SELECT kol_id{''.join(', ' + c for c in cols)} FROM kols")


def livestreams(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Livestreams of the period: ``livestream_id``, ``kol_id``, ``handle`` (the KOL id without a
    handle), ``channel``, ``date``, ``viewers``, ``fee``, attributed ``orders`` and ``gmv``; by GMV."""
    handle = "COALESCE(k.handle, s.kol_id)" if ds.has("kols", ["kol_id", "handle"]) else "s.kol_id"
    kjoin = "LEFT JOIN kols k ON k.kol_id = s.kol_id" if ds.has("kols", ["kol_id", "handle"]) else ""
    where, params = f.bind("CAST(s.started_at AS DATE)", "s.channel")
    return engine.query(ds, f"""
        WITH att AS (
            SELECT o.livestream_id, count(*) AS orders, sum(o.gmv_cny) AS gmv
            FROM orders_cny o WHERE o.is_valid AND o.livestream_id IS NOT NULL GROUP BY 1
        )
        SELECT s.livestream_id, s.kol_id, {handle} AS handle, s.channel, CAST(s.started_at AS DATE) AS date,
               s.viewers, s.fee_cny AS fee, COALESCE(a.orders, 0) AS orders, COALESCE(a.gmv, 0) AS gmv
        FROM livestreams s LEFT JOIN att a USING (livestream_id) {kjoin}
        WHERE {where}
        ORDER BY gmv DESC
    """, params)


def stream_days(ds: Dataset) -> pd.DataFrame:
    """Every channel-day with a livestream (whole history): ``channel``, ``date``."""
    return engine.query(ds, "SELECT DISTINCT channel, CAST(started_at AS DATE) AS date FROM livestreams")


def channel_daily(ds: Dataset) -> pd.DataFrame:
    """Valid-order GMV per channel and day (whole history) with livestream-attributed GMV:
    ``channel``, ``date``, ``gmv``, ``attributed_gmv``."""
    return engine.query(ds, """
        SELECT channel, order_date AS date, sum(gmv_cny) AS gmv,
               sum(CASE WHEN livestream_id IS NOT NULL THEN gmv_cny ELSE 0 END) AS attributed_gmv
        FROM orders_cny WHERE is_valid GROUP BY 1, 2
    """)


def private_traffic_strata(ds: Dataset, outcome: str, landmark_days: int, horizon_days: int) -> pd.DataFrame:
    """Per (``stratum``, ``treated``) sums of ``outcome`` (``repeat`` or ``value``) for customers
    reached in private traffic within ``landmark_days`` of their first order against the others."""
    return landmark_strata(ds, outcome, landmark_days, horizon_days, private=True)


def referrers(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Per sharing customer of the period: ``referrer``, ``orders``, ``gmv``, ``new_orders`` (first orders)."""
    where, params = f.bind("o.order_date", "o.channel")
    return engine.query(ds, f"""
        WITH firsts AS (SELECT customer_id, min(ordered_at) AS first_at FROM orders_cny WHERE is_valid GROUP BY 1)
        SELECT o.referrer_customer_id AS referrer, count(*) AS orders, sum(o.gmv_cny) AS gmv,
               count(CASE WHEN o.ordered_at = fi.first_at THEN 1 END) AS new_orders
        FROM orders_cny o LEFT JOIN firsts fi USING (customer_id)
        WHERE o.is_valid AND o.referrer_customer_id IS NOT NULL AND {where}
        GROUP BY 1
    """, params)


def valid_orders(ds: Dataset, f: Filters) -> int:
    """The number of valid orders in the period and channels."""
    where, params = f.bind("order_date", "channel")
    return int(engine.scalar(ds, f"SELECT count(*) FROM orders_cny WHERE is_valid AND {where}", params) or 0)
