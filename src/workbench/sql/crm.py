"""CRM queries: RFM scores and segments, cohorts, repurchase, acquisition channels, member tiers, CLV inputs.

Per-customer work (recency, frequency, spend) runs here as SQL; the topic sees one row per
customer, segment, cohort cell or channel. Dates, windows and channels are bound parameters.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pandas as pd

from workbench.sql import dialect, engine
from workbench.sql.filters import Filters

if TYPE_CHECKING:
    import duckdb

    from workbench.data.loader import Dataset

#: Named RFM segments, checked in this order: (key, SQL condition on r and f scores 1-5).
RFM_SEGMENTS: tuple[tuple[str, str], ...] = (
    ("champions", "r >= 4 AND f >= 4"),
    ("loyal", "r >= 3 AND f >= 3"),
    ("potential_loyalists", "r >= 4 AND f >= 2"),
    ("new_customers", "r = 5 AND f = 1"),
    ("promising", "r = 4 AND f = 1"),
    ("need_attention", "r = 3"),
    ("cant_lose", "r = 1 AND f >= 4"),
    ("at_risk", "r <= 2 AND f >= 3"),
    ("hibernating", "r = 2"),
    ("lost", "TRUE"),
)

#: Frequency score thresholds (orders in the look-back window): 1, 2, 3, 4-5, 6+.
F_SCORE_SQL = "CASE WHEN frequency >= 6 THEN 5 WHEN frequency >= 4 THEN 4 ELSE frequency END"


def channels(f: Filters | None, column: str = "channel", prefix: str = "") -> tuple[str, dict[str, Any]]:
    """The channel condition of ``f`` on ``column`` with its bound values (TRUE for all channels)."""
    if f is None or not f.channels:
        return "TRUE", {}
    names = [f"{prefix}c{i}" for i in range(len(f.channels))]
    return f"{column} IN ({', '.join('$' + n for n in names)})", dict(zip(names, f.channels))


def last_order_date(ds: Dataset) -> dt.date:
    """The last order day in the data (any status)."""
    return pd.Timestamp(engine.scalar(ds, "SELECT max(order_date) FROM orders_cny")).date()


def _rfm(f: Filters, prefix: str) -> tuple[str, dict[str, Any]]:
    """One row per customer active in the window before ``$<prefix>as_of``: recency, frequency,
    monetary, r, f, m scores and ``segment``. Values: ``as_of`` and ``lo`` (window start) by prefix.

    Its inner names carry the prefix too: the transpiler lifts nested WITHs into one, and Spark
    refuses two CTEs of one name (two of these in one statement, as in :func:`rfm_transitions`)."""
    chan, params = channels(f, "channel", prefix)
    case = "CASE " + " ".join(f"WHEN {cond} THEN '{name}'" for name, cond in RFM_SEGMENTS) + " END"
    p = prefix
    return f"""
        WITH {p}base AS (
            SELECT customer_id, {dialect.days_between('max(order_date)', f'${p}as_of')} AS recency_days,
                   count(*) AS frequency, sum(gmv_cny) AS monetary
            FROM orders_cny
            WHERE is_valid AND {chan} AND order_date <= ${p}as_of AND order_date >= ${p}lo
            GROUP BY customer_id
        ), {p}scored AS (
            SELECT *, 6 - ntile(5) OVER (ORDER BY recency_days, customer_id) AS r,
                   {F_SCORE_SQL} AS f,
                   ntile(5) OVER (ORDER BY monetary, customer_id) AS m
            FROM {p}base
        )
        SELECT *, {case} AS segment FROM {p}scored
    """, params


def _window(as_of: dt.date, window_days: int, prefix: str = "") -> dict[str, dt.date]:
    return {f"{prefix}as_of": as_of, f"{prefix}lo": as_of - dt.timedelta(days=window_days - 1)}


def rfm_customers(ds: Dataset, f: Filters, as_of: dt.date, window_days: int = 365) -> pd.DataFrame:
    """One row per customer who bought in the ``window_days`` up to ``as_of`` (the filter's channels):
    ``customer_id``, ``recency_days``, ``frequency``, ``monetary`` (GMV, CNY), ``r``, ``f``, ``m``, ``segment``.

    Recency and spend are quintile scores (5 = best); frequency uses fixed thresholds
    (:data:`F_SCORE_SQL`) because most customers buy once.
    """
    sql, params = _rfm(f, "")
    return engine.query(ds, sql, {**params, **_window(as_of, window_days)})


def rfm_segment_totals(ds: Dataset, f: Filters, as_of: dt.date, window_days: int = 365) -> pd.DataFrame:
    """Per segment: ``segment``, ``customers``, ``gmv``, ``gmv_per_customer``, ``orders_per_customer``,
    ``recency_days`` (mean)."""
    inner, params = _rfm(f, "")
    sql = f"""
        SELECT segment, count(*) AS customers, sum(monetary) AS gmv,
               avg(monetary) AS gmv_per_customer, avg(frequency) AS orders_per_customer,
               avg(recency_days) AS recency_days
        FROM ({inner}) GROUP BY segment
    """
    return engine.query(ds, sql, {**params, **_window(as_of, window_days)})


def rfm_transitions(ds: Dataset, f: Filters, before: dt.date, after: dt.date,
                    window_days: int = 365) -> pd.DataFrame:
    """Customers per (segment at ``before``, segment at ``after``): ``segment_from`` (``new`` when not
    active at ``before``), ``segment_to`` (``lost`` when not active at ``after``), ``customers``."""
    a, pa = _rfm(f, "a_")
    b, pb = _rfm(f, "b_")
    sql = f"""
        WITH a AS ({a}), b AS ({b})
        SELECT COALESCE(a.segment, 'new') AS segment_from, COALESCE(b.segment, 'lost') AS segment_to,
               count(*) AS customers
        FROM a FULL OUTER JOIN b USING (customer_id)
        GROUP BY 1, 2
    """
    return engine.query(ds, sql, {**pa, **pb, **_window(before, window_days, "a_"),
                                  **_window(after, window_days, "b_")})


def cohort_cells(ds: Dataset, f: Filters, months: int = 12) -> pd.DataFrame:
    """Monthly cohorts (first valid order's month, history up to the period's end, the filter's channels):
    ``cohort`` (YYYY-MM), ``months_since_first`` (≤ ``months``), ``customers`` (active that month),
    ``cohort_size``, ``retention``."""
    chan, params = channels(f)
    sql = f"""
        WITH o AS (
            SELECT customer_id, date_trunc('month', order_date) AS month
            FROM orders_cny WHERE is_valid AND {chan} AND order_date <= $end GROUP BY 1, 2
        ), first AS (SELECT customer_id, min(month) AS cohort FROM o GROUP BY 1),
        cells AS (
            SELECT strftime(cohort, '%Y-%m') AS cohort,
                   datediff('month', cohort, month) AS months_since_first, count(*) AS customers
            FROM o JOIN first USING (customer_id) GROUP BY 1, 2
        )
        SELECT c.*, s.customers AS cohort_size, c.customers / s.customers AS retention
        FROM cells c JOIN cells s ON s.cohort = c.cohort AND s.months_since_first = 0
        WHERE c.months_since_first <= $months
        ORDER BY cohort, months_since_first
    """
    return engine.query(ds, sql, {**params, "end": f.end, "months": int(months)})


def first_buyers_repeating(ds: Dataset, f: Filters, first: dt.date, last: dt.date,
                           window_days: int) -> tuple[int, int]:
    """``(first-time buyers, of whom repeaters)``: customers whose first valid order day (the filter's
    channels) lies in ``first``–``last``, and those with another purchase day within ``window_days``."""
    chan, params = channels(f)
    sql = f"""
        WITH days AS (SELECT DISTINCT customer_id, order_date FROM orders_cny WHERE is_valid AND {chan}),
        first AS (SELECT customer_id, min(order_date) AS first_date FROM days GROUP BY 1)
        SELECT count(*) AS n,
               count(CASE WHEN EXISTS (SELECT 1 FROM days d WHERE d.customer_id = first.customer_id
                    AND d.order_date > first.first_date
                    AND d.order_date <= {dialect.add_days('first.first_date', '$window')}) THEN 1 END) AS repeaters
        FROM first WHERE first_date BETWEEN $lo AND $hi
    """
    row = engine.query(ds, sql, {**params, "lo": first, "hi": last, "window": int(window_days)}).iloc[0]
    return int(row["n"]), int(row["repeaters"] or 0)


def purchase_gaps(ds: Dataset, f: Filters, bin_days: int = 15, cap_days: int = 360) -> pd.DataFrame:
    """Days between a customer's consecutive purchase days, for purchases in the period: ``days_between``
    (bin start; ``cap_days`` holds everything above), ``purchases``, and on every row ``n``, ``p25``,
    ``p50``, ``p75`` of the gaps."""
    chan, params = channels(f)
    sql = f"""
        WITH days AS (SELECT DISTINCT customer_id, order_date FROM orders_cny
                      WHERE is_valid AND {chan} AND order_date <= $end),
        g AS (SELECT order_date,
                     {dialect.days_between(
                         'lag(order_date) OVER (PARTITION BY customer_id ORDER BY order_date)', 'order_date')}
              AS gap FROM days),
        p AS (SELECT gap FROM g WHERE gap IS NOT NULL AND order_date BETWEEN $start AND $end)
        SELECT least(floor(gap / $bin) * $bin, $cap) AS days_between, count(*) AS purchases,
               (SELECT count(*) FROM p) AS n, (SELECT {dialect.quantile('gap', '0.25')} FROM p) AS p25,
               (SELECT {dialect.quantile('gap', '0.5')} FROM p) AS p50,
               (SELECT {dialect.quantile('gap', '0.75')} FROM p) AS p75
        FROM p GROUP BY 1 ORDER BY 1
    """
    return engine.query(ds, sql, {**params, "start": f.start, "end": f.end, "bin": int(bin_days),
                                  "cap": int(cap_days)})


def repeat_by_acquisition_channel(ds: Dataset, f: Filters, last_first: dt.date, window_days: int) -> pd.DataFrame:
    """Customers who signed up within the data and first bought on or before ``last_first``, per
    acquisition channel (the filter's channels): ``acquisition_channel``, ``customers``, ``repeaters``
    (another purchase day within ``window_days``), ``orders_per_customer`` (in the first 365 days)."""
    chan, params = channels(f, "c.acquisition_channel")
    sql = f"""
        WITH days AS (SELECT customer_id, order_date, count(*) AS orders FROM orders_cny WHERE is_valid
                      GROUP BY 1, 2),
        first AS (SELECT customer_id, min(order_date) AS first_date FROM days GROUP BY 1),
        per AS (
            SELECT c.acquisition_channel, fi.customer_id,
                   max(CASE WHEN d.order_date > fi.first_date
                            AND d.order_date <= {dialect.add_days('fi.first_date', '$window')}
                            THEN 1 ELSE 0 END) AS repeated,
                   sum(CASE WHEN d.order_date < fi.first_date + INTERVAL 365 DAY THEN d.orders ELSE 0 END) AS orders
            FROM first fi JOIN days d USING (customer_id) JOIN customers c USING (customer_id)
            WHERE fi.first_date <= $hi AND {chan}
                  AND c.signup_date >= (SELECT min(order_date) FROM orders_cny)
            GROUP BY 1, 2
        )
        SELECT acquisition_channel, count(*) AS customers, sum(repeated) AS repeaters,
               avg(orders) AS orders_per_customer
        FROM per GROUP BY 1
    """
    return engine.query(ds, sql, {**params, "hi": last_first, "window": int(window_days)})


def retention_curves(ds: Dataset, f: Filters, months: int = 12) -> pd.DataFrame:
    """Per acquisition channel and month k after the first purchase: ``customers`` (eligible: first
    purchase at least k whole months before the data's last month), ``active``, ``retention``."""
    chan, params = channels(f, "c.acquisition_channel")
    sql = f"""
        WITH o AS (SELECT DISTINCT customer_id, date_trunc('month', order_date) AS month FROM orders_cny
                   WHERE is_valid),
        first AS (SELECT customer_id, min(month) AS cohort FROM o GROUP BY 1),
        lastm AS (SELECT max(month) AS m FROM o),
        ks AS (SELECT {dialect.series('0', 'CAST($months AS BIGINT)')} AS k),
        grid AS (SELECT fi.customer_id, fi.cohort, ks.k AS months_since_first
                 FROM first fi, lastm, ks
                 WHERE datediff('month', fi.cohort, lastm.m) >= ks.k)
        SELECT c.acquisition_channel, g.months_since_first, count(*) AS customers,
               count(o.customer_id) AS active, count(o.customer_id) / count(*) AS retention
        FROM grid g JOIN customers c USING (customer_id)
        LEFT JOIN o ON o.customer_id = g.customer_id AND datediff('month', g.cohort, o.month) = g.months_since_first
        WHERE {chan}
        GROUP BY 1, 2 ORDER BY 1, 2
    """
    return engine.query(ds, sql, {**params, "months": int(months)})


def tier_totals(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Per member tier (``none`` without one): ``member_tier``, ``members``, ``buyers`` (bought in the
    period), ``gmv``, ``gmv_per_customer``, ``gmv_sd`` (over buyers), ``orders_per_customer``."""
    where, params = f.bind("order_date", "channel")
    sql = f"""
        WITH per AS (
            SELECT customer_id, count(*) AS orders, sum(gmv_cny) AS gmv FROM orders_cny
            WHERE is_valid AND {where} GROUP BY 1
        )
        SELECT COALESCE(c.member_tier, 'none') AS member_tier, count(*) AS members,
               count(p.customer_id) AS buyers, sum(p.gmv) AS gmv, avg(p.gmv) AS gmv_per_customer,
               stddev_samp(p.gmv) AS gmv_sd, avg(p.orders) AS orders_per_customer
        FROM customers c LEFT JOIN per p USING (customer_id)
        GROUP BY 1
    """
    return engine.query(ds, sql, params)


# ----- lifetime-value inputs ---------------------------------------------------------------------

def transactions_sql(f: Filters | None) -> tuple[str, dict[str, Any]]:
    """A SELECT of valid orders (``customer_id``, ``date``, ``value`` = GMV CNY) in the filter's
    channels up to ``$as_of``, with its channel parameters."""
    chan, params = channels(f)
    return (f"SELECT customer_id, order_date AS date, gmv_cny AS value FROM orders_cny "
            f"WHERE is_valid AND {chan} AND order_date <= $as_of"), params


def summary_sql(source_sql: str, calibration_end: dt.date, holdout_end: dt.date | None = None,
                unit_days: float = 7.0, params: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """The statement (and its values) of per-customer BG/NBD inputs from a transaction relation.

    ``source_sql`` is a SELECT giving ``customer_id``, ``date`` (DATE) and ``value`` (money) per
    transaction (``params`` are its bound values). Same-day transactions are one purchase. Customers
    whose first purchase is after ``calibration_end`` are left out. Returns ``customer_id``,
    ``frequency`` (repeat purchases in the calibration period), ``recency`` (first to last purchase)
    and ``T`` (first purchase to ``calibration_end``), both in units of ``unit_days``, ``monetary``
    (mean value of the repeat purchases, NaN without one), and with ``holdout_end`` also
    ``holdout_purchases`` and ``holdout_value`` (after ``calibration_end`` up to ``holdout_end``).
    """
    values: dict[str, Any] = {**(params or {}), "cal_end": calibration_end, "unit": float(unit_days)}
    hold = ""
    if holdout_end is not None:
        values["hold_end"] = holdout_end
        hold = (", count(CASE WHEN date > $cal_end AND date <= $hold_end THEN 1 END) AS holdout_purchases, "
                "COALESCE(sum(CASE WHEN date > $cal_end AND date <= $hold_end THEN value END), 0) AS holdout_value")
    sql = f"""
        WITH days AS (SELECT customer_id, date, sum(value) AS value FROM ({source_sql}) GROUP BY 1, 2),
        first AS (SELECT customer_id, min(date) AS first_date FROM days GROUP BY 1),
        d AS (SELECT days.*, first_date FROM days JOIN first USING (customer_id)
              WHERE first_date <= $cal_end)
        SELECT customer_id,
               count(CASE WHEN date <= $cal_end THEN 1 END) - 1 AS frequency,
               {dialect.days_between('min(first_date)', 'max(CASE WHEN date <= $cal_end THEN date END)')}
                   / $unit AS recency,
               {dialect.days_between('min(first_date)', '$cal_end')} / $unit AS T,
               avg(CASE WHEN date <= $cal_end AND date > first_date THEN value END) AS monetary
               {hold}
        FROM d GROUP BY customer_id ORDER BY customer_id
    """
    return sql, values


def summary_from_transactions(con: duckdb.DuckDBPyConnection, source_sql: str, calibration_end: dt.date,
                              holdout_end: dt.date | None = None, unit_days: float = 7.0,
                              params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Per-customer BG/NBD inputs from a transaction relation of any DuckDB connection ``con``
    (see :func:`summary_sql` for ``source_sql`` and the columns that come back)."""
    sql, values = summary_sql(source_sql, calibration_end, holdout_end, unit_days, params)
    used = {k: v for k, v in values.items() if f"${k}" in sql}
    return con.execute(sql, used).df()


def customer_summary(ds: Dataset, f: Filters | None, as_of: dt.date, calibration_end: dt.date,
                     holdout_end: dt.date | None = None) -> pd.DataFrame:
    """:func:`summary_from_transactions` over the shop's valid orders up to ``as_of`` (the filter's channels)."""
    source, params = transactions_sql(f)
    sql, values = summary_sql(source, calibration_end, holdout_end, params={**params, "as_of": as_of})
    return engine.query(ds, sql, values)


def monthly_summary(ds: Dataset, f: Filters | None, as_of: dt.date, calibration_end: dt.date) -> pd.DataFrame:
    """Per-customer BG/BB inputs with calendar months as the transaction opportunities (a month is
    "transacted" when it holds at least one valid order), over the valid orders up to ``as_of``.

    Customers first buying in the calibration period's last month or later are left out (they have no
    opportunity yet). Returns ``customer_id``, ``frequency`` (months after the first month with a purchase,
    up to ``calibration_end``'s month), ``recency`` (the last such month, counted from the first; 0 without
    one), ``n`` (months from the first to ``calibration_end``'s month) and ``holdout_months`` (months with a
    purchase after ``calibration_end``'s month up to ``as_of``'s month)."""
    source, params = transactions_sql(f)
    sql = f"""
        WITH m AS (SELECT DISTINCT customer_id,
                          (year(date) * 12 + month(date)) AS mi FROM ({source})),
        first AS (SELECT customer_id, min(mi) AS m0 FROM m GROUP BY 1),
        cal AS (SELECT year($cal_end) * 12 + month($cal_end) AS mc)
        SELECT customer_id,
               count(CASE WHEN mi > m0 AND mi <= mc THEN 1 END) AS frequency,
               COALESCE(max(CASE WHEN mi > m0 AND mi <= mc THEN mi END) - m0, 0) AS recency,
               min(mc) - min(m0) AS n,
               count(CASE WHEN mi > mc THEN 1 END) AS holdout_months
        FROM m JOIN first USING (customer_id), cal
        WHERE m0 < mc
        GROUP BY customer_id, m0 ORDER BY customer_id
    """
    return engine.query(ds, sql, {**params, "as_of": as_of, "cal_end": calibration_end})
