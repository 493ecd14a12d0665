"""The campaign calendar: which days a campaign ran, for every page that needs it (one definition).

:func:`campaign_days` expands the ``campaigns`` table into one row per day. Pages that treat the
days just before a campaign as part of it (pre-sales, 预售) pass ``lead_days``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from workbench.sql import dialect, engine

if TYPE_CHECKING:
    from workbench.data.loader import Dataset


def campaign_days(ds: "Dataset", start: dt.date | None = None, end: dt.date | None = None,
                  lead_days: int = 0) -> pd.DataFrame:
    """One row per campaign day: ``date`` (datetime64), ``campaign_id`` (the first when several
    overlap), ``campaign`` (their names joined by " / "), ``campaigns`` (how many ran that day).

    Only campaigns overlapping ``start``–``end`` (when given) are expanded; ``lead_days`` days before
    each campaign's start count as campaign days too. Empty (with those columns) without a
    ``campaigns`` table.
    """
    empty = pd.DataFrame({"date": pd.Series(dtype="datetime64[ns]"), "campaign_id": pd.Series(dtype=object),
                          "campaign": pd.Series(dtype=object), "campaigns": pd.Series(dtype="int64")})
    if not ds.has("campaigns", ["campaign_id", "start_date", "end_date"]):
        return empty
    name = "name" if ds.has("campaigns", ["name"]) else "campaign_id"
    cond, params = [], {"lead": int(lead_days)}
    if start is not None:
        cond.append("end_date >= $start")
        params["start"] = start
    if end is not None:
        cond.append("start_date - $lead * INTERVAL 1 DAY <= $end")
        params["end"] = end
    where = ("WHERE " + " AND ".join(cond)) if cond else ""
    span = f"{dialect.days_between('start_date', 'end_date')} + $lead"
    # Each name is joined once per day: only its first row of the day (``nth = 1``) gives it, the others
    # give NULL, which string_agg skips. Not string_agg(DISTINCT label … ORDER BY label) next to
    # count(DISTINCT campaign_id): Spark 4.3 analyses that and then fails in its optimiser
    # (RewriteDistinctAggregates: ClassCastException on LISTAGG's ordering) for any second DISTINCT aggregate.
    days = engine.query(ds, f"""
        WITH c AS (SELECT campaign_id, {name} AS label, start_date, {dialect.series('0', span)} AS k
                   FROM campaigns {where}),
             d AS (SELECT start_date - CAST($lead AS INTEGER) + CAST(k AS INTEGER) AS day, campaign_id, label FROM c),
             n AS (SELECT day, campaign_id, label,
                          row_number() OVER (PARTITION BY day, label ORDER BY campaign_id) AS nth FROM d)
        SELECT day AS date, min(campaign_id) AS campaign_id,
               string_agg(CASE WHEN nth = 1 THEN label END, ' / ' ORDER BY label) AS campaign,
               count(DISTINCT campaign_id) AS campaigns
        FROM n
        GROUP BY 1 ORDER BY 1
    """, params)
    if days.empty:
        return empty
    days["date"] = pd.to_datetime(days["date"])
    days["campaigns"] = days["campaigns"].astype("int64")
    return days
