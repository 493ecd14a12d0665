"""The metric registry: each KPI defined once — its SQL, unit, direction and thresholds.

Every page that shows a KPI (the overview, ``13_risk``, the topic pages) reads it through
:func:`workbench.topics.kpi.kpi`, which evaluates the definition here; so the same filters give the
same number and the same status everywhere.

A :class:`Metric` is a ratio of two sums over one source, ``num / den`` (``den`` absent for a total
such as GMV), with ``n`` the observations behind it. The source is filtered by the period on
``date`` and, where it has one, by channel on ``channel``. :func:`daily` returns the sums by day
(for sparklines and day-clustered intervals), :func:`period` for the whole period (distinct counts
such as buyers are not additive over days, so the period is queried, not summed).

Definitions worth knowing (the choices that pages used to make differently):

* **on-time rate**: delivered shipments of valid orders placed in the period, delivered no later
  than promised, over delivered shipments (period by *order* date, as every other orders KPI);
* **refund rate**: refunded orders over valid orders placed in the period (a share of orders);
* **repeat rate**: valid orders in the period placed by customers whose first valid order was
  earlier (over all the data), over valid orders in the period.
"""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workbench.sql import engine
from workbench.sql.filters import Filters

if TYPE_CHECKING:
    from workbench.data.loader import Dataset


@dataclass(frozen=True)
class Metric:
    """One KPI: ``num``/``den``/``n`` SQL aggregates over ``source`` (``{where}`` marks its filter).

    ``unit`` is a unit of :mod:`workbench.text.fmt`; ``better`` is ``up`` or ``down``; a relative
    change in the bad direction beyond ``amber`` (``red``) makes the status amber (red). ``interval``
    is ``wilson`` (a share of counts), ``ratio`` (a ratio of sums, day-clustered) or ``none`` (a
    total: a census of the period, not an estimate). ``page`` is the notebook that explains it.
    """

    key: str
    page: str
    unit: str
    better: str
    source: str
    date: str
    num: str
    n: str
    den: str | None = None
    channel: str | None = None
    interval: str = "none"
    needs: dict[str, list[str]] = field(default_factory=dict)
    amber: float = 0.05
    red: float = 0.10
    min_n: int = 30
    bounds: tuple[float, float] | None = None


_VALID = "orders_cny o"
_O = {"orders": ["paid_amount", "ordered_at", "channel"]}

METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("gmv", "01_sales_traffic", "money", "up", _VALID + " WHERE o.is_valid AND {where}", "o.order_date",
           "sum(o.gmv_cny)", "count(*)", channel="o.channel", needs=_O),
    Metric("orders", "01_sales_traffic", "count", "up", _VALID + " WHERE o.is_valid AND {where}", "o.order_date",
           "count(*)", "count(*)", channel="o.channel", needs=_O),
    Metric("aov", "01_sales_traffic", "money", "up", _VALID + " WHERE o.is_valid AND {where}", "o.order_date",
           "sum(o.gmv_cny)", "count(*)", den="count(*)", channel="o.channel", interval="ratio", needs=_O),
    Metric("buyers", "10_personalisation", "count", "up", _VALID + " WHERE o.is_valid AND {where}", "o.order_date",
           "count(DISTINCT o.customer_id)", "count(*)", channel="o.channel", needs=_O),
    Metric("conversion", "01_sales_traffic", "share", "up", "traffic t WHERE {where}", "t.date",
           "sum(t.paid_orders)", "sum(t.sessions)", den="sum(t.sessions)", channel="t.channel", interval="wilson",
           needs={"traffic": ["date", "sessions", "paid_orders"]}),
    Metric("refund_rate", "13_risk", "share", "down", _VALID + " WHERE o.is_valid AND {where}", "o.order_date",
           "sum(CASE WHEN o.status = 'refunded' THEN 1 ELSE 0 END)", "count(*)", den="count(*)",
           channel="o.channel", interval="wilson", needs={"orders": ["status", "ordered_at", "channel"]}),
    Metric("discount_depth", "02_products_pricing", "share", "down", _VALID + " WHERE o.is_valid AND {where}",
           "o.order_date", "sum(o.discount_cny)", "count(*)", den="sum(o.gross_cny)", channel="o.channel",
           interval="ratio", bounds=(0.0, 1.0), needs={"orders": ["gross_amount", "discount_amount"]}),
    Metric("repeat_rate", "12_crm", "share", "up",
           "orders_cny o JOIN (SELECT customer_id, min(order_date) AS first_date FROM orders_cny WHERE is_valid "
           "GROUP BY customer_id) fi ON fi.customer_id = o.customer_id WHERE o.is_valid AND {where}",
           "o.order_date", "sum(CASE WHEN o.order_date > fi.first_date THEN 1 ELSE 0 END)", "count(*)",
           den="count(*)", channel="o.channel", interval="wilson", needs=_O),
    Metric("on_time_rate", "06_logistics", "share", "up",
           "shipments s JOIN orders_cny o ON o.order_id = s.order_id WHERE o.is_valid AND {where}", "o.order_date",
           "sum(CASE WHEN s.delivered_at IS NOT NULL AND s.delivered_at <= s.promised_at THEN 1 ELSE 0 END)",
           "sum(CASE WHEN s.delivered_at IS NOT NULL THEN 1 ELSE 0 END)",
           den="sum(CASE WHEN s.delivered_at IS NOT NULL THEN 1 ELSE 0 END)", channel="o.channel",
           interval="wilson", needs={"shipments": ["promised_at", "delivered_at"], "orders": ["ordered_at", "channel"]}),
    Metric("roas", "03_marketing", "ratio", "up", "marketing_spend m WHERE {where}", "m.date",
           "sum(m.attributed_gmv_cny)", "count(*)", den="sum(m.spend_cny)", channel="m.channel", interval="ratio",
           needs={"marketing_spend": ["attributed_gmv_cny", "spend_cny"]}),
    Metric("rating", "11_brand_reputation", "stars", "up", "reviews r WHERE {where}", "CAST(r.created_at AS DATE)",
           "sum(r.rating)", "count(*)", den="count(*)", channel="r.channel", interval="ratio", bounds=(1.0, 5.0),
           needs={"reviews": ["rating", "created_at"]}),
    Metric("first_response_minutes", "05_customer_service", "minutes", "down", "tickets k WHERE {where}",
           "CAST(k.created_at AS DATE)",
           "sum(date_diff('second', k.created_at, k.first_response_at)) / 60.0", "count(k.first_response_at)",
           den="count(k.first_response_at)", channel="k.channel", interval="ratio", bounds=(0.0, float("inf")),
           needs={"tickets": ["created_at", "first_response_at"]}),
    Metric("campaign_share", "04_campaigns", "share", "up", _VALID + " WHERE o.is_valid AND {where}", "o.order_date",
           "sum(CASE WHEN o.campaign_id IS NOT NULL THEN o.gmv_cny ELSE 0 END)", "count(*)", den="sum(o.gmv_cny)",
           channel="o.channel", interval="ratio", bounds=(0.0, 1.0), needs={"orders": ["campaign_id"]}),
    Metric("o2o_share", "07_omnichannel", "share", "up", _VALID + " WHERE o.is_valid AND {where}", "o.order_date",
           "sum(CASE WHEN o.fulfilment IN ('pickup_in_store', 'ship_from_store', 'in_store') THEN 1 ELSE 0 END)",
           "count(*)", den="count(*)", channel="o.channel", interval="wilson", needs={"orders": ["fulfilment"]}),
    Metric("livestream_share", "08_social_commerce", "share", "up", _VALID + " WHERE o.is_valid AND {where}",
           "o.order_date", "sum(CASE WHEN o.livestream_id IS NOT NULL THEN o.gmv_cny ELSE 0 END)", "count(*)",
           den="sum(o.gmv_cny)", channel="o.channel", interval="ratio", bounds=(0.0, 1.0),
           needs={"orders": ["livestream_id"]}),
    Metric("cross_border_gmv", "09_cross_border", "money", "up", _VALID + " WHERE o.is_valid AND {where}",
           "o.order_date", "sum(CASE WHEN o.channel = 'cross_border' THEN o.gmv_cny ELSE 0 END)",
           "sum(CASE WHEN o.channel = 'cross_border' THEN 1 ELSE 0 END)", channel="o.channel", needs=_O),
)}


def metric(key: str) -> Metric:
    """The registered metric ``key``; ``KeyError`` naming the known keys otherwise."""
    try:
        return METRICS[key]
    except KeyError:
        raise KeyError(f"no metric {key!r}; known: {', '.join(METRICS)}") from None


#: Sums are rounded to this many decimals: a parallel sum of floating-point numbers may differ in its last
#: digits from one run to the next, and the same KPI must read exactly the same on every page.
_DIGITS = 6


def _statement(m: Metric, ds: "Dataset", f: Filters, by_day: bool) -> tuple[str, dict]:
    chan = m.channel if m.channel and (not m.channel.startswith("r.") or ds.has("reviews", ["channel"])) else None
    where, params = f.bind(m.date, chan)
    den = m.den or "NULL"
    head = f"{m.date} AS date, " if by_day else ""
    tail = " GROUP BY 1 ORDER BY 1" if by_day else ""
    return (f"SELECT {head}{m.num} AS num, {den} AS den, {m.n} AS n FROM {m.source.format(where=where)}{tail}",
            params)


def period(ds: "Dataset", f: Filters, key: str) -> dict[str, float | None]:
    """``{num, den, n}`` of metric ``key`` over the whole period of ``f`` (None where absent)."""
    return many(ds, f, [key])[1][key]


def daily(ds: "Dataset", f: Filters, key: str) -> pd.DataFrame:
    """``date``, ``num``, ``den``, ``n`` of metric ``key`` per day of the period (every day present)."""
    return many(ds, f, [key])[0][key]


def additive(m: Metric) -> bool:
    """Whether the sums of ``m`` add up over days and channels (no distinct count among them), so that
    any period and channel selection is a sum of the cells of :func:`cube`."""
    return "DISTINCT" not in " ".join((m.num, m.den or "", m.n)).upper()


def _is_count(expr: str) -> bool:
    return expr.strip().lower().startswith("count(")


def _columns(m: Metric, i: int | str) -> str:
    return f"{m.num} AS num_{i}, {m.den or 'NULL'} AS den_{i}, {m.n} AS n_{i}"


def _channel_column(m: Metric, ds: "Dataset") -> str | None:
    return m.channel if m.channel and (not m.channel.startswith("r.") or ds.has("reviews", ["channel"])) else None


def _groups(ds: "Dataset", keys: list[str]) -> dict[tuple, list[str]]:
    """``keys`` grouped by what their statements share (source, date and channel columns, and whether
    they add up over days and channels): one group, one statement."""
    groups: dict[tuple, list[str]] = {}
    for key in keys:
        m = metric(key)
        groups.setdefault((m.source, m.date, _channel_column(m, ds), additive(m)), []).append(key)
    return groups


@dataclass(frozen=True)
class Cube:
    """The sums of a group of additive metrics by day and channel, as a dense array.

    ``values[d, c, j]`` is column ``columns[j]`` (``num_<key>``, ``den_<key>``, ``n_<key>``) on day
    ``first + d`` in channel ``channels[c]`` (None: rows without a channel, or a source without a
    channel column); NaN where no row was found or the sum was NULL.
    """

    first: dt.date | None
    channels: tuple[str | None, ...]
    columns: tuple[str, ...]
    values: np.ndarray

    def select(self, start: dt.date, end: dt.date, channels: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
        """``(daily, period)`` for the days ``start``..``end`` and ``channels`` (all when empty):
        ``daily`` one row per day of the period (0 where nothing was found), ``period`` the sums over
        it (NaN where no cell had a value, as SQL's sum over no rows)."""
        n_days = (end - start).days + 1
        daily = np.zeros((n_days, len(self.columns)))
        period = np.full(len(self.columns), np.nan)
        if self.first is None or n_days <= 0:
            return daily, period
        lo = (start - self.first).days
        hi = min(lo + n_days, self.values.shape[0])
        cut = self.values[max(lo, 0):max(hi, 0)]
        if channels:
            wanted = set(channels)
            cut = cut[:, [i for i, c in enumerate(self.channels) if c in wanted]]
        if cut.size == 0:
            return daily, period
        with np.errstate(invalid="ignore"):
            days = np.nansum(cut, axis=1)
        daily[max(lo, 0) - lo:max(lo, 0) - lo + len(days)] = days
        found = ~np.isnan(cut).all(axis=(0, 1))
        period[found] = days[:, found].sum(axis=0)
        return daily, period


#: Per dataset: the cube of each group of additive metrics (:func:`cube`), computed once. A loaded
#: dataset does not change (a changed folder is loaded again as another Dataset).
_CUBES: "weakref.WeakKeyDictionary[Dataset, dict[tuple, Cube]]" = weakref.WeakKeyDictionary()


def cube(ds: "Dataset", source: str, date: str, chan: str | None) -> Cube:
    """The sums of every additive metric over ``source`` (date column ``date``, channel column ``chan``)
    by day and channel over all the data (a :class:`Cube`); rows without a date are left out (no period
    holds them). Computed once per dataset in one statement and kept with it; every period and channel
    selection is then a sum of its cells."""
    kept = _CUBES.setdefault(ds, {})
    ident = (source, date, chan)
    if ident not in kept:
        keys = [k for k, m in METRICS.items()
                if (m.source, m.date, _channel_column(m, ds)) == ident and additive(m)]
        cols = ", ".join(_columns(metric(k), k) for k in keys)
        frame = engine.query(ds, f"SELECT {date} AS date, {chan or 'NULL'} AS channel, {cols} "
                                 f"FROM {source.format(where='TRUE')} GROUP BY 1, 2", {})
        frame = frame[frame["date"].notna()]
        columns = tuple(c for c in frame.columns if c not in ("date", "channel"))
        if frame.empty:
            kept[ident] = Cube(None, (), columns, np.full((0, 0, len(columns)), np.nan))
        else:
            days = pd.to_datetime(frame["date"]).dt.normalize()
            first = days.min()
            day_index = ((days - first) // pd.Timedelta(days=1)).to_numpy(dtype=np.int64)
            codes, names = pd.factorize(frame["channel"].astype(object), use_na_sentinel=False, sort=False)
            values = np.full((int(day_index.max()) + 1, len(names), len(columns)), np.nan)
            values[day_index, codes] = frame[list(columns)].astype(float).to_numpy()
            labels = tuple(None if pd.isna(c) else str(c) for c in names)
            kept[ident] = Cube(first.date(), labels, columns, values)
    return kept[ident]


def _from_cube(ds: "Dataset", f: Filters, source: str, date: str, chan: str | None, group: list[str],
               calendar: pd.DatetimeIndex) -> tuple[dict[str, pd.DataFrame], dict[str, dict]]:
    """:func:`many`'s figures of the additive metrics ``group`` for ``f``, summed from :func:`cube`."""
    c = cube(ds, source, date, chan)
    daily, whole = c.select(f.start, f.end, tuple(f.channels) if chan else ())
    daily = daily.round(_DIGITS)
    at = {name: j for j, name in enumerate(c.columns)}
    days_out: dict[str, pd.DataFrame] = {}
    whole_out: dict[str, dict] = {}
    for key in group:
        m = metric(key)
        days_out[key] = pd.DataFrame({"date": calendar, "num": daily[:, at[f"num_{key}"]],
                                      "den": daily[:, at[f"den_{key}"]] if m.den is not None else np.nan,
                                      "n": daily[:, at[f"n_{key}"]]})
        period: dict[str, float | None] = {}
        for part, expr in (("num", m.num), ("den", m.den), ("n", m.n)):
            value = whole[at[f"{part}_{key}"]]
            if expr is None:
                period[part] = None
            elif np.isnan(value):  # no row (or only NULLs): a count is 0, a sum is NULL, as the statement gives
                period[part] = 0.0 if _is_count(expr) else None
            else:
                period[part] = round(float(value), _DIGITS)
        whole_out[key] = period
    return days_out, whole_out


def many(ds: "Dataset", f: Filters, keys: list[str]) -> tuple[dict[str, pd.DataFrame], dict[str, dict]]:
    """The daily history (``date``, ``num``, ``den``, ``n`` for every day of the period) and the period's
    ``{num, den, n}`` (None where absent) of every metric of ``keys`` for ``f``.

    Metrics whose sums add up over days and channels are summed from the dataset's :func:`cube`
    (computed once; a new period or channel selection then runs no statement); the others (distinct
    counts) run one statement per group of metrics over the same rows, and one for their period.
    Sums are rounded to :data:`_DIGITS` decimals. Returns ``(daily by key, period by key)``.
    """
    days_out: dict[str, pd.DataFrame] = {}
    whole_out: dict[str, dict] = {}
    calendar = pd.date_range(f.start, f.end, freq="D")
    for (source, date, chan, adds), group in _groups(ds, keys).items():
        if adds:
            days, whole = _from_cube(ds, f, source, date, chan, group, calendar)
            days_out.update(days)
            whole_out.update(whole)
            continue
        where, params = f.bind(date, chan)
        cols = ", ".join(_columns(metric(k), i) for i, k in enumerate(group))
        body = source.format(where=where)
        frame = engine.query(ds, f"SELECT {date} AS date, {cols} FROM {body} GROUP BY 1 ORDER BY 1", params)
        row = engine.query(ds, f"SELECT {cols} FROM {body}", params).iloc[0]
        frame["date"] = pd.to_datetime(frame["date"])
        for i, key in enumerate(group):
            part = frame[["date", f"num_{i}", f"den_{i}", f"n_{i}"]].rename(
                columns={f"num_{i}": "num", f"den_{i}": "den", f"n_{i}": "n"})
            part[["num", "den", "n"]] = part[["num", "den", "n"]].astype(float).round(_DIGITS)
            out = pd.DataFrame({"date": calendar}).merge(part, on="date", how="left")
            out[["num", "n"]] = out[["num", "n"]].fillna(0.0)
            if metric(key).den is not None:
                out["den"] = out["den"].fillna(0.0)
            days_out[key] = out
            whole_out[key] = {k: (None if pd.isna(row[f"{k}_{i}"]) else round(float(row[f"{k}_{i}"]), _DIGITS))
                              for k in ("num", "den", "n")}
    return days_out, whole_out


def available(ds: "Dataset") -> list[str]:
    """The keys of the metrics whose tables and columns the dataset has."""
    return [k for k, m in METRICS.items() if not ds.missing(m.needs)]
