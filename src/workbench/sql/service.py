"""Queries of the customer-service page, over the ``tickets`` view.

Every value (dates, channels, thresholds, quantile levels) is a bound parameter; the grouping
column and the measured duration are chosen from fixed lists through :func:`engine.identifier`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from workbench.sql import dialect, engine
from workbench.sql.filters import Filters

if TYPE_CHECKING:
    from workbench.data.loader import Dataset

#: Columns of ``tickets`` a caller may group by.
BY = ("category", "channel")
#: The durations a ticket has: first-response time in minutes, resolution time in hours.
MEASURES = {
    "first_response_minutes": "date_diff('second', created_at, first_response_at) / 60.0",
    "resolution_hours": "date_diff('second', created_at, resolved_at) / 3600.0",
}


def _period(f: Filters) -> tuple[str, dict[str, object]]:
    return f.bind("CAST(created_at AS DATE)", "channel")


def volume(ds: Dataset, f: Filters, by: str = "category") -> pd.DataFrame:
    """Tickets created in the period per ``by``: ``by``, ``tickets``, most first."""
    col = engine.identifier(by, BY)
    cond, params = _period(f)
    return engine.query(ds, f"SELECT {col}, count(*) AS tickets FROM tickets WHERE {cond} GROUP BY 1 ORDER BY 2 DESC, 1",
                        params)


def valid_orders(ds: Dataset, f: Filters) -> int:
    """Valid orders of the period in the same channels (0 without orders)."""
    if "orders" not in ds.sources:
        return 0
    cond, params = f.bind("order_date", "channel")
    return int(engine.scalar(ds, f"SELECT count(*) FROM orders_cny WHERE is_valid AND {cond}", params) or 0)


def hourly(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Tickets of the period per weekday (0 = Monday) and hour of day: ``weekday``, ``hour``, ``tickets``."""
    cond, params = _period(f)
    return engine.query(ds, f"""SELECT {dialect.weekday('created_at')} AS weekday, hour(created_at) AS hour, count(*) AS tickets
                                FROM tickets WHERE {cond} GROUP BY 1, 2""", params)


def hourly_by_day(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Tickets per day and hour of day: ``day`` (date), ``hour``, ``tickets`` (only hours with tickets)."""
    cond, params = _period(f)
    out = engine.query(ds, f"""SELECT CAST(created_at AS DATE) AS day, hour(created_at) AS hour, count(*) AS tickets
                               FROM tickets WHERE {cond} GROUP BY 1, 2""", params)
    out["day"] = pd.to_datetime(out["day"]).dt.date
    return out


def durations(ds: Dataset, f: Filters, measure: str, by: str = "category") -> pd.DataFrame:
    """A ticket duration per ``by``: ``by``, ``n`` (tickets with the duration), ``mean`` and ``values``
    (the durations, sorted ascending; one list per group). Percentiles and their exact intervals are
    computed from ``values`` by :mod:`workbench.stats.quantiles` (the ranks depend on each group's n).
    """
    col = engine.identifier(by, BY)
    value = MEASURES[engine.identifier(measure, MEASURES)]
    cond, params = _period(f)
    return engine.query(ds, f"""
        SELECT {col}, count(*) AS n, avg(v) AS mean, list(v ORDER BY v) AS values
        FROM (SELECT {col}, {value} AS v FROM tickets WHERE {cond}) WHERE v IS NOT NULL GROUP BY 1
    """, params)


def open_tickets(ds: Dataset, f: Filters, by: str = "category") -> pd.DataFrame:
    """Tickets of the period and how many are still open, per ``by``: ``by``, ``tickets``, ``open``."""
    col = engine.identifier(by, BY)
    cond, params = _period(f)
    return engine.query(ds, f"""SELECT {col}, count(*) AS tickets, count(CASE WHEN resolved_at IS NULL THEN 1 END) AS open
                                FROM tickets WHERE {cond} GROUP BY 1""", params)


def service_counts(ds: Dataset, f: Filters, by: str = "channel", response_minutes: float = 60,
                   resolution_hours: float = 24, low_csat: int = 3) -> pd.DataFrame:
    """Counts behind the service levels per ``by``, most tickets first.

    ``tickets``; ``responded_in_time`` (first response within ``response_minutes``);
    ``resolved_in_time`` (resolved within ``resolution_hours``); ``rated``; ``satisfied`` (score 4–5);
    ``dissatisfied`` (score at most ``low_csat``); ``escalations``.
    """
    col = engine.identifier(by, BY)
    cond, params = _period(f)
    params.update(response_s=float(response_minutes) * 60, resolution_s=float(resolution_hours) * 3600,
                  low_csat=int(low_csat))
    return engine.query(ds, f"""
        SELECT {col}, count(*) AS tickets,
               count(CASE WHEN first_response_at IS NOT NULL AND
                   date_diff('second', created_at, first_response_at) <= $response_s THEN 1 END) AS responded_in_time,
               count(CASE WHEN resolved_at IS NOT NULL AND
                   date_diff('second', created_at, resolved_at) <= $resolution_s THEN 1 END) AS resolved_in_time,
               count(satisfaction) AS rated,
               count(CASE WHEN satisfaction >= 4 THEN 1 END) AS satisfied,
               count(CASE WHEN satisfaction <= $low_csat THEN 1 END) AS dissatisfied,
               count(CASE WHEN escalated THEN 1 END) AS escalations
        FROM tickets WHERE {cond} GROUP BY 1 ORDER BY 2 DESC, 1
    """, params)


def satisfaction_groups(ds: Dataset, f: Filters, low_csat: int = 3) -> pd.DataFrame:
    """Rated, answered and resolved tickets grouped by category, channel and half-unit bands of log2 hours.

    Returns ``category``, ``channel``, ``band``, ``res_band``, ``log2_wait_hours`` and
    ``log2_resolution_hours`` (the group's mean log2 first-response and resolution hours, floored at
    one minute), ``low`` (scores at most ``low_csat``) and ``not_low``.
    """
    cond, params = _period(f)
    params["low_csat"] = int(low_csat)
    return engine.query(ds, f"""
        WITH t AS (
            SELECT category, channel, satisfaction <= $low_csat AS low,
                   log2(greatest(date_diff('second', created_at, first_response_at) / 3600.0, 1.0 / 60)) AS lw,
                   log2(greatest(date_diff('second', created_at, resolved_at) / 3600.0, 1.0 / 60)) AS lr
            FROM tickets WHERE {cond} AND satisfaction IS NOT NULL AND first_response_at IS NOT NULL
                 AND resolved_at IS NOT NULL
        )
        SELECT category, channel, floor(lw * 2) / 2 AS band, floor(lr * 2) / 2 AS res_band,
               avg(lw) AS log2_wait_hours, avg(lr) AS log2_resolution_hours,
               count(CASE WHEN low THEN 1 END) AS low, count(CASE WHEN NOT low THEN 1 END) AS not_low
        FROM t GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    """, params)


def last_ticket_day(ds: Dataset) -> dt.date | None:
    """The day the last ticket was created; None without tickets."""
    value = engine.scalar(ds, "SELECT max(CAST(created_at AS DATE)) FROM tickets")
    return None if value is None else pd.Timestamp(value).date()
