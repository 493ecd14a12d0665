"""Forecasting and planning: GMV, orders and units ahead, per product demand, and what to stock.

Dataset and filters in, tidy frames and results out (no sentences, no charts):

* :func:`known_events` — the calendar the forecasts know about: every campaign in the ``campaigns``
  table, the recurring kinds projected a year on when the table holds no plan for them yet (618,
  Double 11, Double 12, the Spring Festival sale, Women's Day, brand days; the Spring Festival sale
  keeps its distance to the festival), and the Spring Festival holiday itself.
* :func:`forecast` — one series (the shop, a channel or a category; ``gmv``, ``orders`` or ``units``)
  forecast daily, weekly or monthly for a horizon, with 80% and 95% prediction intervals, beside its
  rolling-origin backtest against seasonal naive; seasonal naive is shown instead when the model does
  not beat it. :func:`breakdown` does it for every channel or category.
* :func:`product_demand` and :func:`replenishment` — units per product (SES for smooth sellers, SBA/TSB
  for slow ones) on a calendar that lifts campaign days as the shop's units model measured them, and
  from it, with a lead time and a service level, safety stock, reorder point and days of cover.
  :func:`campaign_units` sums the product forecast over a campaign's days and :func:`window_forecast`
  gives the shop's daily GMV, orders or units over them (for a campaign plan).

The forecast origin is the last day of the filters' period (``f.end``); the history is every day up to
it. Method keys: ``calendar`` (stats.forecast's calendar regression), ``seasonal_naive``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from workbench.data.loader import Dataset
from workbench.errors import DataError, EmptyPeriodError
from workbench.sql import campaigns as sql_campaigns
from workbench.sql import forecast as sql
from workbench.sql.filters import Filters
from workbench.stats import forecast as fc
from workbench.stats import intermittent, replenish
from workbench.stats.result import Estimate

NEEDS = {"orders": ["ordered_at", "paid_amount", "channel", "status"]}
NEEDS_UNITS = {**NEEDS, "order_items": ["order_id", "product_id", "quantity"]}
NEEDS_CATEGORY = {**NEEDS_UNITS, "products": ["product_id", "category"]}
NEEDS_STOCK = {**NEEDS_UNITS, "inventory": ["date", "product_id", "stock_on_hand"]}

METRICS = ("gmv", "orders", "units")
#: Unit of each metric for Estimates and formats.
UNITS = {"gmv": "money", "orders": "count", "units": "count"}
FREQS = ("D", "W", "M")
#: Default horizon: eight weeks.
HORIZON_DAYS = 56
#: Fewest days of history for a forecast: two seasons of the yearly pattern are not needed, but eight weeks are.
MIN_HISTORY_DAYS = 56

#: Spring Festival (Chinese New Year's Day), 2020–2030. Source: Hong Kong Observatory, Gregorian–Lunar
#: Calendar Conversion Table (www.hko.gov.hk/en/gts/time/conversion.htm).
SPRING_FESTIVALS = ("2020-01-25", "2021-02-12", "2022-02-01", "2023-01-22", "2024-02-10", "2025-01-29",
                    "2026-02-17", "2027-02-06", "2028-01-26", "2029-02-13", "2030-02-03")
#: Days around the festival when shops close and parcels stop (from two days before to five after).
SPRING_FESTIVAL_WINDOW = (-2, 5)
#: Campaign kinds that recur every year and are projected when no plan for them is in the table yet.
RECURRING = ("618", "double_11", "double_12", "chinese_new_year", "womens_day", "brand_day")


def _festival(year: int) -> pd.Timestamp | None:
    for d in SPRING_FESTIVALS:
        if d.startswith(str(year)):
            return pd.Timestamp(d)
    return None


# ----------------------------------------------------------------------------------------------- calendar
#: Calendars made so far, by the campaigns table's spans (kind, name, start, end of each row) and ``until``.
_CALENDARS: dict[tuple, pd.DataFrame] = {}
_CALENDARS_KEPT = 64


def known_events(ds: Dataset, until: dt.date | pd.Timestamp) -> pd.DataFrame:
    """Every known event up to ``until``: ``kind``, ``name``, ``start``, ``end`` (datetime64) and ``source``
    (``campaigns``: in the table; ``projected``: a recurring kind a year after its last run, when the table
    holds no run of it within 60 days of that date; ``holiday``: the Spring Festival window).

    The calendar depends only on the campaigns table's spans and ``until``: one made before from the same
    spans and day is returned again (a copy), so only the spans are read per call."""
    until = pd.Timestamp(until)
    camp = sql.campaign_spans(ds)
    key = (until.value, tuple(camp["kind"].tolist()), tuple(camp["name"].tolist()),
           tuple(fc._ns(camp["start"])), tuple(fc._ns(camp["end"])))
    try:
        held = _CALENDARS.get(key)
    except TypeError:  # a value that cannot be hashed: made afresh
        return _known_events(camp, until)
    if held is None:
        held = _known_events(camp, until)
        while len(_CALENDARS) >= _CALENDARS_KEPT:
            _CALENDARS.pop(next(iter(_CALENDARS)))
        _CALENDARS[key] = held
    return held.copy()


def _known_events(camp: pd.DataFrame, until: pd.Timestamp) -> pd.DataFrame:
    """:func:`known_events` from the campaigns' spans (:func:`workbench.sql.forecast.campaign_spans`)."""
    rows = [{"kind": (k if isinstance(k, str) and k else "campaign"), "name": n, "start": s, "end": e,
             "source": "campaigns"} for k, n, s, e in zip(camp["kind"], camp["name"], camp["start"], camp["end"])]
    for kind in RECURRING:
        runs = camp[camp["kind"] == kind]
        if runs.empty:
            continue
        last = runs.iloc[-1]
        name = last["name"]
        for years in range(1, 4):
            if kind == "chinese_new_year":  # the sale keeps its distance to the festival
                base = last["start"].year if last["start"].month <= 6 else last["start"].year + 1
                f0, f1 = _festival(base), _festival(base + years)
                if f0 is None or f1 is None:
                    break
                s, e = last["start"] + (f1 - f0), last["end"] + (f1 - f0)
            else:
                s, e = last["start"] + pd.DateOffset(years=years), last["end"] + pd.DateOffset(years=years)
            if s > until:
                break
            near = (camp["kind"] == kind) & ((camp["start"] - s).abs() <= pd.Timedelta(days=60))
            if not near.any():
                year = str(last["start"].year)
                rows.append({"kind": kind, "name": str(name).replace(year, str(s.year), 1) if year in str(name)
                             else name, "start": s, "end": e, "source": "projected"})
    for d in SPRING_FESTIVALS:
        day = pd.Timestamp(d)
        if day <= until + pd.Timedelta(days=10):
            rows.append({"kind": "spring_festival", "name": "spring_festival",
                         "start": day + pd.Timedelta(days=SPRING_FESTIVAL_WINDOW[0]),
                         "end": day + pd.Timedelta(days=SPRING_FESTIVAL_WINDOW[1]), "source": "holiday"})
    out = pd.DataFrame(rows, columns=["kind", "name", "start", "end", "source"])
    return out.sort_values("start", kind="stable").reset_index(drop=True)


def events_in(events: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The events overlapping ``start``–``end``."""
    return events[(events["end"] >= start) & (events["start"] <= end)].reset_index(drop=True)


# ----------------------------------------------------------------------------------------------- series
def _history_filters(f: Filters, first: dt.date | None = None) -> Filters:
    return Filters(first or dt.date(1900, 1, 1), f.end, f.channels, compare="none")


def origin_filters(f: Filters) -> Filters:
    """The part of ``f`` a forecast depends on: its end (the origin) and channels, the history from the first day.

    :func:`forecast`, :func:`breakdown`, :func:`product_demand` and :func:`replenishment` give the same
    result for ``origin_filters(f)`` as for ``f``, so a page can key their memo on it: a change of the
    period's start or of the comparison then refits nothing.
    """
    return _history_filters(f)


def daily_history(ds: Dataset, f: Filters, metric: str, by: str = "total") -> pd.DataFrame:
    """Daily ``metric`` up to ``f.end``, one column per key of ``by`` (``total``, channels or categories),
    every day from the first with orders present (zeros filled in); index ``date``."""
    if metric not in METRICS:
        raise DataError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    if metric == "units" or by == "category":
        ds.require(NEEDS_UNITS if by != "category" else NEEDS_CATEGORY)
    long = sql.daily_series(ds, _history_filters(f), by)
    if long.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="date"))
    return widen(long, metric, f.end)


def widen(long: pd.DataFrame, metric: str, end: dt.date) -> pd.DataFrame:
    """Rows of ``date``, ``key`` and ``metric`` (unique date and key pairs) as a frame of days × keys: every
    day from the first to ``end``, keys in sorted order, 0 where a pair is absent or NULL.

    The frame ``long.pivot_table(index="date", columns="key", values=metric, aggfunc="sum")`` reindexed to
    those days with NaN filled by 0 gives, built with one scatter of the values instead."""
    dates = pd.DatetimeIndex(long["date"]).normalize()
    first = dates.min()
    days = pd.date_range(first, pd.Timestamp(end), freq="D", name="date")
    keys, codes = np.unique(long["key"].to_numpy(dtype=object), return_inverse=True)
    row = ((dates - first) // pd.Timedelta(days=1)).to_numpy()
    values = np.zeros((len(days), len(keys)))
    inside = row < len(days)
    np.add.at(values, (row[inside], codes[inside]), np.nan_to_num(long[metric].to_numpy(float)[inside], nan=0.0))
    return pd.DataFrame(values, index=days, columns=pd.Index(keys.tolist(), name="key"))


@dataclass
class SeriesForecast:
    """One forecast beside its backtest.

    ``history``: ``date``, ``actual`` at ``freq``; ``forecast``: ``date``, ``forecast``, ``low_80``,
    ``high_80``, ``low_95``, ``high_95`` and ``event`` (the kinds of known events in the period, space-separated
    keys such as ``double_11 spring_festival``; "" for none);
    ``method``: the method shown (``calendar`` or ``seasonal_naive``); ``reason``: ``best_backtest``,
    ``naive_best`` or ``no_backtest``; ``backtest``: the shown method's scores; ``model_backtest``: the
    calendar model's own scores (also when seasonal naive is shown); ``total``: the horizon's sum (95%).
    """

    key: str
    metric: str
    freq: str
    history: pd.DataFrame
    forecast: pd.DataFrame
    method: str
    reason: str
    backtest: fc.Backtest | None
    model_backtest: fc.Backtest | None
    total: Estimate
    total_80: Estimate
    events: pd.DataFrame

    @property
    def beats_naive(self) -> bool:
        return self.model_backtest is not None and self.model_backtest.beats_naive

    @property
    def mase(self) -> Estimate:
        """The shown method's backtest MASE (no interval; n = points scored)."""
        b = self.backtest
        return Estimate(b.mase if b else math.nan, n=b.points if b else 0, method="mase", unit="ratio")

    @property
    def ratio(self) -> Estimate:
        """The calendar model's backtest MASE relative to seasonal naive's (below 1: it beats it)."""
        b = self.model_backtest
        return Estimate(b.ratio if b else math.nan, n=b.points if b else 0, method="mase_ratio", unit="ratio")

    @property
    def coverage_95(self) -> Estimate:
        """How often the shown method's 95% intervals held in the backtest (a share, Wilson interval)."""
        b = self.backtest
        return b.coverage_estimate(0.95) if b else Estimate(math.nan, n=0, unit="share")

    @property
    def coverage_80(self) -> Estimate:
        b = self.backtest
        return b.coverage_estimate(0.8) if b else Estimate(math.nan, n=0, unit="share")


def _event_names(dates: pd.DatetimeIndex, freq: str, events: pd.DataFrame) -> list[str]:
    """Per period starting at ``dates`` (one day, a week, or to the month's end), the kinds of the events
    overlapping it, space-separated in the events' order (as :func:`events_in` per period, in one pass)."""
    dates = pd.DatetimeIndex(dates)
    if not len(dates):
        return []
    last = (dates if freq == "D" else dates + pd.Timedelta(days=6) if freq == "W" else dates + pd.offsets.MonthEnd(0))
    if events.empty:
        return [""] * len(dates)
    starts = pd.DatetimeIndex(events["start"]).to_numpy()
    ends = pd.DatetimeIndex(events["end"]).to_numpy()
    kinds = events["kind"].astype(str).to_numpy()
    hit = (ends[None, :] >= dates.to_numpy()[:, None]) & (starts[None, :] <= pd.DatetimeIndex(last).to_numpy()[:, None])
    return [" ".join(dict.fromkeys(kinds[row])) for row in hit]


#: Forecasts made so far, by everything one depends on: the series' values and days, the events, the metric,
#: horizon, frequency, key and origins. A channel's series is the same whichever other channels a viewer
#: picks, so a change of the channel filter refits only the series that changed.
_FORECASTS: dict[tuple, SeriesForecast] = {}
_FORECASTS_KEPT = 128


def _series_key(y: np.ndarray, dates: pd.DatetimeIndex) -> tuple:
    """The values and days of a series as a short key (a digest of their bytes, and the length)."""
    h = hashlib.blake2b(digest_size=20)
    h.update(np.ascontiguousarray(y, dtype=float).tobytes())
    h.update(np.asarray(pd.DatetimeIndex(dates).to_numpy(), dtype="datetime64[ns]").view(np.int64).tobytes())
    return (len(y), h.digest())


def _frame_key(frame: pd.DataFrame) -> tuple:
    """Every column of a small frame (the events) as a hashable key: names, dtypes and values."""
    cols = []
    for c in frame.columns:
        col = frame[c]
        values = fc._ns(col) if pd.api.types.is_datetime64_any_dtype(col) else col.tolist()
        cols.append((c, str(col.dtype), tuple(values)))
    return tuple(cols)


def forecast_values(y: np.ndarray, dates: pd.DatetimeIndex, events: pd.DataFrame, metric: str,
                    horizon_days: int = HORIZON_DAYS, freq: str = "D", key: str = "total",
                    origins: int = 3) -> SeriesForecast:
    """Forecast a daily series ``y`` on consecutive ``dates`` (see :func:`forecast`).

    The same series, events and arguments give the forecast made before for them (its frames copied):
    the result depends on nothing else (its simulations are seeded)."""
    y = np.asarray(y, dtype=float)
    dates = pd.DatetimeIndex(dates)
    cache_key = (_series_key(y, dates), _frame_key(events), metric, int(horizon_days), freq, key, int(origins))
    try:
        held = _FORECASTS.get(cache_key)
    except TypeError:  # an event value that cannot be hashed: computed afresh
        return _forecast_values(y, dates, events, metric, horizon_days, freq, key, origins)
    if held is None:
        held = _forecast_values(y, dates, events, metric, horizon_days, freq, key, origins)
        while len(_FORECASTS) >= _FORECASTS_KEPT:
            _FORECASTS.pop(next(iter(_FORECASTS)))
        _FORECASTS[cache_key] = held
    return replace(held, history=held.history.copy(), forecast=held.forecast.copy(), events=held.events.copy())


def _forecast_values(y: np.ndarray, dates: pd.DatetimeIndex, events: pd.DataFrame, metric: str,
                     horizon_days: int, freq: str, key: str, origins: int) -> SeriesForecast:
    """:func:`forecast_values` computed."""
    if freq not in FREQS:
        raise DataError(f"unknown frequency {freq!r}; choose one of {', '.join(FREQS)}")
    if len(y) < MIN_HISTORY_DAYS:
        # too short a history is said in the section, like an empty period; the rest of the page runs
        raise EmptyPeriodError(f"{len(y)} days of history; a forecast needs at least {MIN_HISTORY_DAYS}")
    agg = None if freq == "D" else freq
    chosen = fc.choose(y, dates, "D", horizon_days, events, origins=origins, only=("calendar",),
                       backtest_h=horizon_days, aggregate=agg)
    model_bt = chosen.candidates.get("calendar")
    out = chosen.forecast.aggregate(freq)
    frame = out.frame.drop(columns=["days"], errors="ignore")
    frame["event"] = _event_names(pd.DatetimeIndex(frame["date"]), freq, events)
    hd, hv = fc.sum_by_period(y, dates, freq)
    history = pd.DataFrame({"date": hd, "actual": hv})
    unit = UNITS[metric]
    total95 = replace(chosen.forecast.total(0.95, unit), n=len(y))
    total80 = replace(chosen.forecast.total(0.8, unit), n=len(y))
    return SeriesForecast(key, metric, freq, history, frame, chosen.method, chosen.reason, chosen.backtest, model_bt,
                          total95, total80,
                          events_in(events, dates[-1] + pd.Timedelta(days=1),
                                    dates[-1] + pd.Timedelta(days=horizon_days)))


def forecast(ds: Dataset, f: Filters, metric: str = "gmv", by: str = "total", key: str = "total",
             horizon_days: int = HORIZON_DAYS, freq: str = "D", origins: int = 3) -> SeriesForecast:
    """Forecast ``metric`` of the shop (``by="total"``) or of one channel or category (``key``) for
    ``horizon_days`` days after ``f.end``, shown at ``freq`` (``D``, ``W`` or ``M``; weeks and months are
    sums of the daily paths), with its backtest (``origins`` rolling origins, each ``horizon_days`` long).
    Raises :class:`~workbench.errors.DataError` with fewer than 56 days of history."""
    wide = daily_history(ds, f, metric, by)
    if key not in wide.columns:
        raise DataError(f"no {by} {key!r} with orders up to {f.end}")
    s = wide[key]
    s = s.loc[s.ne(0).idxmax():] if s.ne(0).any() else s
    dates = pd.DatetimeIndex(s.index)
    events = known_events(ds, dates[-1] + pd.Timedelta(days=horizon_days))
    return forecast_values(s.to_numpy(float), dates, events, metric, horizon_days, freq, key, origins)


def breakdown(ds: Dataset, f: Filters, metric: str = "gmv", by: str = "channel", horizon_days: int = HORIZON_DAYS,
              freq: str = "D", origins: int = 2, min_share: float = 0.01) -> pd.DataFrame:
    """The horizon's forecast per channel or category with each backtest, largest first.

    Keys with under ``min_share`` of the history's total are left out. Returns ``key``, ``method``,
    ``reason``, ``forecast``, ``low_80``, ``high_80``, ``low_95``, ``high_95`` (sums over the horizon),
    ``mase`` (shown method), ``mase_ratio`` (calendar model against seasonal naive), ``coverage_95``,
    ``beats_naive``, ``points`` (backtest points scored), ``history_days``.
    """
    wide = daily_history(ds, f, metric, by)
    rows = []
    if wide.empty:
        return pd.DataFrame(columns=["key", "method", "reason", "forecast", "low_80", "high_80", "low_95",
                                     "high_95", "mase", "mase_ratio", "coverage_95", "beats_naive", "points"])
    total = wide.to_numpy().sum()
    events = known_events(ds, wide.index[-1] + pd.Timedelta(days=horizon_days))
    for key in wide.columns:
        s = wide[key]
        if s.sum() < min_share * total or not s.ne(0).any():
            continue
        s = s.loc[s.ne(0).idxmax():]
        if len(s) < MIN_HISTORY_DAYS + horizon_days:
            continue
        r = forecast_values(s.to_numpy(float), pd.DatetimeIndex(s.index), events, metric, horizon_days, freq,
                            str(key), origins)
        b, mb = r.backtest, r.model_backtest
        rows.append({"key": str(key), "method": r.method, "reason": r.reason, "forecast": r.total.estimate,
                     "low_80": r.total_80.low, "high_80": r.total_80.high, "low_95": r.total.low,
                     "high_95": r.total.high, "mase": b.mase if b else math.nan,
                     "mase_ratio": mb.ratio if mb else math.nan, "coverage_95": b.coverage_95 if b else math.nan,
                     "beats_naive": r.beats_naive, "points": b.points if b else 0, "history_days": len(s)})
    out = pd.DataFrame(rows)
    return out.sort_values("forecast", ascending=False).reset_index(drop=True) if len(out) else out


def row_estimate(row: pd.Series, metric: str = "gmv", level: float = 0.95) -> Estimate:
    """A row of :func:`breakdown` as the horizon's prediction :class:`Estimate` at ``level`` (0.8 or 0.95)."""
    tag = fc.level_tag(level)
    return Estimate(row["forecast"], row[f"low_{tag}"], row[f"high_{tag}"], level=level, method=str(row["method"]),
                    unit=UNITS[metric], bounds=(0.0, math.inf), kind="prediction", n=int(row.get("history_days", 0))
                    or None)


def window_forecast(ds: Dataset, f: Filters, start: dt.date, end: dt.date, metric: str = "gmv",
                    level: float = 0.95, events: pd.DataFrame | None = None) -> tuple[pd.DataFrame, Estimate]:
    """The calendar model's daily forecast of ``metric`` for the days ``start``–``end`` after ``f.end`` (a
    campaign to plan: its kind's effects are in the model when the campaign is in :func:`known_events`).

    Returns the days (``date``, ``forecast``, ``low_80``, ``high_80``, ``low_95``, ``high_95``) and their
    sum as a prediction :class:`Estimate` at ``level`` (n = days of history fitted). No backtest is run:
    use :func:`forecast` for the scores. ``events`` replaces :func:`known_events` (a plan adds its campaign)."""
    wide = daily_history(ds, f, metric)
    if wide.empty or len(wide) < MIN_HISTORY_DAYS:
        raise EmptyPeriodError(f"{len(wide)} days of history up to {f.end}; a forecast needs at least "
                               f"{MIN_HISTORY_DAYS}")
    dates = pd.DatetimeIndex(wide.index)
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    if start_ts <= dates[-1] or end_ts < start_ts:
        raise DataError(f"the window {start} to {end} must start after the forecast origin {f.end}")
    events = known_events(ds, end_ts) if events is None else events
    model = fc.fit_calendar(wide["total"].to_numpy(float), dates, events)
    frame, total = _window_from_model(model, dates, start_ts, end_ts, metric, level, events)
    return frame, total


def _window_from_model(model: fc.CalendarModel, dates: pd.DatetimeIndex, start_ts: pd.Timestamp,
                       end_ts: pd.Timestamp, metric: str, level: float, events: pd.DataFrame
                       ) -> tuple[pd.DataFrame, Estimate]:
    """The days ``start_ts``–``end_ts`` of ``model``'s simulation and their sum (see :func:`window_forecast`)."""
    sim = model.simulate(events, (end_ts - dates[-1]).days)
    keep = (sim.frame["date"] >= start_ts).to_numpy()
    part = fc.Forecast(sim.frame[keep].reset_index(drop=True), sim.method, sim.levels, sim.paths[:, keep])
    return part.frame, replace(part.total(level, UNITS[metric]), n=len(dates))


# ----------------------------------------------------------------------------------------------- products
@dataclass
class ProductDemand:
    """Per product demand ahead.

    ``products``: ``product_id``, ``name``, ``category``, ``method`` (``ses``, ``sba``, ``tsb``), ``rate``
    (units a day on a day without events), ``sigma`` (one day's error), ``adi``, ``units_per_day`` (mean
    over the horizon, events included), ``horizon_units``; ``daily``: products × days forecast (rows in
    the order of ``products``); ``dates``: the horizon's days; ``index``: the events' multiplier per day.
    """

    products: pd.DataFrame
    daily: np.ndarray
    dates: pd.DatetimeIndex
    index: np.ndarray


def product_demand(ds: Dataset, f: Filters, horizon_days: int = HORIZON_DAYS, history_days: int = 365,
                   events: pd.DataFrame | None = None) -> ProductDemand:
    """Units per product per day for ``horizon_days`` after ``f.end``, from the last ``history_days`` days.

    Each product's history is divided by the calendar multiplier the shop's units model measured for the
    known events (so a campaign does not read as a new level), its rate estimated (SES, SBA or TSB, see
    :mod:`workbench.stats.intermittent`), and multiplied back by the multiplier of each day ahead (so a
    campaign in the horizon is forecast as a campaign). ``events`` replaces :func:`known_events`.
    """
    ds.require(NEEDS_UNITS)
    shop = daily_history(ds, f, "units")
    if shop.empty or len(shop) < MIN_HISTORY_DAYS:
        raise EmptyPeriodError(f"{len(shop)} days of sales up to {f.end}; product forecasts need at least "
                               f"{MIN_HISTORY_DAYS}")
    dates = pd.DatetimeIndex(shop.index)
    future = pd.date_range(dates[-1] + pd.Timedelta(days=1), periods=horizon_days, freq="D")
    events = known_events(ds, future[-1]) if events is None else events
    model = fc.fit_calendar(shop["total"].to_numpy(float), dates, events)
    first = max(dates[0], dates[-1] - pd.Timedelta(days=history_days - 1))
    hist_dates = pd.date_range(first, dates[-1], freq="D")
    idx_hist = model.event_index(hist_dates, events)
    idx_future = model.event_index(future, events)
    units = sql.daily_product_units(ds, Filters(first.date(), f.end, f.channels, compare="none"))
    names = sql.products(ds)
    ids, matrix = product_matrix(units, hist_dates)
    r = intermittent.rates(matrix / idx_hist[None, :])
    daily = r.rate[:, None] * idx_future[None, :]
    table = pd.DataFrame({"product_id": ids, "method": r.method, "rate": r.rate, "sigma": r.sigma, "adi": r.adi,
                          "units_per_day": daily.mean(axis=1), "horizon_units": daily.sum(axis=1)})
    table = table.merge(names, on="product_id", how="left")
    cols = ["product_id", "name", "category", "method", "rate", "sigma", "adi", "units_per_day", "horizon_units"]
    return ProductDemand(table[cols], daily, future, idx_future)


def product_matrix(units: pd.DataFrame, days: pd.DatetimeIndex) -> tuple[list[str], np.ndarray]:
    """Rows of ``product_id``, ``date``, ``units`` as products × ``days`` (consecutive days): the sorted
    product ids and the matrix, 0 where a product sold nothing (or NULL) that day; rows outside ``days``
    are left out. As ``pivot_table`` (sum) reindexed to those ids and days and 0-filled, by one scatter."""
    ids, codes = np.unique(units["product_id"].to_numpy(dtype=object), return_inverse=True)
    col = ((pd.DatetimeIndex(units["date"]) - days[0]) // pd.Timedelta(days=1)).to_numpy()
    matrix = np.zeros((len(ids), len(days)))
    inside = (col >= 0) & (col < len(days))
    np.add.at(matrix, (codes[inside], col[inside]), np.nan_to_num(units["units"].to_numpy(float)[inside], nan=0.0))
    return ids.tolist(), matrix


def replenishment(ds: Dataset, f: Filters, lead_time_days: int = 14, service_level: float = 0.95,
                  horizon_days: int = HORIZON_DAYS) -> pd.DataFrame:
    """What to stock, per product that sold in the last year, from :func:`product_demand`.

    Returns ``product_id``, ``name``, ``category``, ``method``, ``units_per_day`` (forecast, horizon mean),
    ``lead_time_demand``, ``safety_stock``, ``reorder_point`` (units), ``stock_on_hand``, ``inbound_units``,
    ``days_of_cover`` (stock on hand ÷ forecast units a day) with ``cover_low``/``cover_high`` (a 95% interval
    from the smoothed rate's own uncertainty; inf when the rate may be zero), ``reorder_now`` (stock plus inbound at or below
    the reorder point), ``stock_day``; most urgent (fewest days of cover) first. Stock columns are NaN
    without an ``inventory`` table. The error sigma is scaled by the lead time's mean event multiplier.
    """
    if not 1 <= lead_time_days <= horizon_days:
        raise DataError(f"lead time {lead_time_days} days must be between 1 and the horizon ({horizon_days} days)")
    replenish.service_z(service_level)
    demand = product_demand(ds, f, horizon_days)
    table = demand.products
    day, stock = sql.stock_on(ds, f.end)
    table = table.merge(stock, on="product_id", how="left")
    scale = float(np.mean(demand.index[:lead_time_days]))
    on_hand = table["stock_on_hand"].to_numpy(float)
    rp = replenish.replenish(demand.daily, table["sigma"].to_numpy(float) * scale, np.nan_to_num(on_hand, nan=0.0),
                             lead_time_days, service_level, table["inbound_units"].fillna(0.0).to_numpy(float))
    # the rate's own uncertainty: an exponentially smoothed level has sd sigma * sqrt(alpha / (2 - alpha))
    z = replenish.service_z(0.975)
    a = intermittent.ALPHA
    spread = z * table["sigma"].to_numpy(float) * math.sqrt(a / (2 - a)) * float(np.mean(demand.index))
    per_day = table["units_per_day"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        cover_low = on_hand / (per_day + spread)
        cover_high = np.where(per_day - spread > 0, on_hand / np.maximum(per_day - spread, 1e-12), np.inf)
    out = table.assign(lead_time_demand=rp.lead_time_demand, safety_stock=rp.safety_stock,
                       reorder_point=rp.reorder_point,
                       days_of_cover=np.where(np.isnan(on_hand), np.nan, rp.days_of_cover),
                       cover_low=cover_low, cover_high=cover_high,
                       reorder_now=np.where(np.isnan(on_hand), False, rp.reorder_now),
                       stock_day=pd.Timestamp(day) if day else pd.NaT)
    cols = ["product_id", "name", "category", "method", "units_per_day", "lead_time_demand", "safety_stock",
            "reorder_point", "stock_on_hand", "inbound_units", "days_of_cover", "cover_low", "cover_high",
            "reorder_now", "stock_day"]
    return out[cols].sort_values(["days_of_cover", "product_id"], na_position="last").reset_index(drop=True)


def campaign_units(ds: Dataset, f: Filters, start: dt.date, end: dt.date, service_level: float = 0.95,
                   events: pd.DataFrame | None = None) -> pd.DataFrame:
    """Units to stock per product for a campaign from ``start`` to ``end`` (days after ``f.end``): the
    product forecast summed over those days (``units``) and that plus the safety stock at ``service_level``
    over the campaign's length (``units_to_stock``); with ``product_id``, ``name``, ``category``, largest first."""
    horizon = (pd.Timestamp(end) - pd.Timestamp(f.end)).days
    if horizon < 1:
        raise DataError(f"the campaign ends {end}, not after the forecast origin {f.end}")
    demand = product_demand(ds, f, horizon, events=events)
    days = (demand.dates >= pd.Timestamp(start)) & (demand.dates <= pd.Timestamp(end))
    units = demand.daily[:, days].sum(axis=1)
    scale = float(np.mean(demand.index[days])) if days.any() else 1.0
    z = replenish.service_z(service_level)
    safety = z * demand.products["sigma"].to_numpy() * scale * math.sqrt(max(int(days.sum()), 1))
    out = demand.products[["product_id", "name", "category"]].assign(units=units, units_to_stock=units + safety)
    return out.sort_values("units", ascending=False).reset_index(drop=True)


# ----------------------------------------------------------------------------------------------- campaign plan
def next_event(ds: Dataset, as_of: dt.date | pd.Timestamp | None = None) -> pd.Series | None:
    """The next campaign starting after ``as_of`` (default: the last day with orders) among
    :func:`known_events` looked up to two years ahead: a planned one from the ``campaigns`` table, else a
    recurring kind projected from its last run. The Spring Festival holiday is not a campaign.

    Returns ``kind``, ``name``, ``start``, ``end``, ``source`` and ``days``; None when nothing comes round."""
    last = sql_campaigns.last_order_date(ds)
    if last is None:
        return None
    as_of = pd.Timestamp(as_of if as_of is not None else last)
    ev = known_events(ds, as_of + pd.Timedelta(days=730))
    ahead = ev[(ev["source"] != "holiday") & (ev["start"] > as_of)]
    if ahead.empty:
        return None
    row = ahead.iloc[0].copy()
    row["days"] = int((row["end"] - row["start"]).days) + 1
    return row


@dataclass
class CampaignPlan:
    """What the next campaign will sell and what it needs, from the same calendar model as every forecast.

    ``planned_uplift`` (unit change): the lift the model has learnt for the campaign's kind over its days,
    against the same calendar without it (n = past campaigns it was learnt from); ``uplift_source`` is ``same_kind`` (the kind ran before) or
    ``all_campaigns`` (only the effect every campaign shares). ``total_gmv`` (money) and ``total_orders``
    are prediction Estimates at ``level``. ``daily``: ``date``, ``gmv``, ``gmv_low``, ``gmv_high``,
    ``orders``, ``orders_low``, ``orders_high``, ``units`` (units to stock), ``tickets``, ``agents``.
    ``products``: :func:`campaign_units` for the campaign's days; ``source``: where its dates come from
    (``campaigns`` table or ``projected`` from the last run of its kind, as in :func:`known_events`). ``units_needed`` is the sum of the products'
    units to stock at ``service_level``; ``assumptions``: ``tickets_per_order``, ``tickets_per_agent_day``.
    """

    name: str
    kind: str
    start_date: pd.Timestamp
    end_date: pd.Timestamp
    planned_uplift: Estimate
    uplift_source: str
    daily: pd.DataFrame
    total_gmv: Estimate
    total_orders: Estimate
    products: pd.DataFrame
    units_needed: float
    peak_agents: int
    assumptions: dict[str, float]
    level: float = 0.95
    source: str = "campaigns"


def campaign_plan(ds: Dataset, campaign: pd.Series | None = None, tickets_per_order: float | None = None,
                  tickets_per_agent_day: float = 80.0, service_level: float = 0.95, level: float = 0.95
                  ) -> CampaignPlan | None:
    """Plan ``campaign`` (a row of :func:`next_event`; default the next one) from the last day with orders.

    GMV and orders per day are :func:`window_forecast` of the whole shop (the campaign in the calendar, so its
    kind's learnt effect is in the forecast); units to stock are :func:`campaign_units` summed over the
    products; tickets per day = the upper bound of orders × tickets per order (the last 90 days' ratio when
    not given, 0.1 without tickets), agents = tickets ÷ ``tickets_per_agent_day`` rounded up.
    Returns None when no campaign comes round or the campaign does not start after the last day."""
    last = sql_campaigns.last_order_date(ds)
    campaign = next_event(ds) if campaign is None else campaign
    if last is None or campaign is None:
        return None
    start, end = pd.Timestamp(campaign["start"]), pd.Timestamp(campaign["end"])
    if start.date() <= last or end < start:
        return None
    f = Filters(last, last, (), compare="none")
    events = known_events(ds, end)
    mine = (events["kind"] == campaign["kind"]) & (events["start"] == start)
    if not mine.any():
        row = pd.DataFrame([{"kind": campaign["kind"], "name": campaign["name"], "start": start, "end": end,
                             "source": campaign.get("source", "campaigns")}])
        events = pd.concat([events, row], ignore_index=True).sort_values("start", kind="stable")
        events = events.reset_index(drop=True)
        mine = (events["kind"] == campaign["kind"]) & (events["start"] == start)
    # the GMV model is fitted once: its window forecast (as :func:`window_forecast`) and the campaign's lift
    wide = daily_history(ds, f, "gmv")
    if wide.empty or len(wide) < MIN_HISTORY_DAYS:
        raise EmptyPeriodError(f"{len(wide)} days of history up to {f.end}; a forecast needs at least "
                               f"{MIN_HISTORY_DAYS}")
    model = fc.fit_calendar(wide["total"].to_numpy(float), pd.DatetimeIndex(wide.index), events)
    gmv, total_gmv = _window_from_model(model, pd.DatetimeIndex(wide.index), start, end, "gmv", level, events)
    orders, total_orders = window_forecast(ds, f, start.date(), end.date(), "orders", level, events)
    tag = fc.level_tag(level)
    days = pd.date_range(start, end, freq="D")
    lift = model.event_lift(days, events, events[~mine])
    a = (1 - level) / 2
    learnt = f"ev.{campaign['kind']}" in model.columns
    runs = events[(events["end"] <= pd.Timestamp(last)) & (events["source"] != "holiday")]
    runs = runs[runs["kind"] == campaign["kind"]] if learnt else runs
    planned = Estimate(float(np.median(lift)), float(np.quantile(lift, a)), float(np.quantile(lift, 1 - a)), level,
                       len(runs), "calendar_lift", "change", bounds=(-1.0, math.inf))
    products = campaign_units(ds, f, start.date(), end.date(), service_level, events) if ds.has("order_items") \
        else pd.DataFrame(columns=["product_id", "name", "category", "units", "units_to_stock"])
    if tickets_per_order is None:
        recent = sql_campaigns.recent_rates(ds, last - dt.timedelta(days=90))
        tickets_per_order = (recent["tickets"] / recent["orders"]
                             if math.isfinite(recent["tickets"]) and recent["orders"] else 0.1)
    daily = pd.DataFrame({
        "date": gmv["date"], "gmv": gmv["forecast"], "gmv_low": gmv[f"low_{tag}"], "gmv_high": gmv[f"high_{tag}"],
        "orders": orders["forecast"], "orders_low": orders[f"low_{tag}"], "orders_high": orders[f"high_{tag}"],
    })
    units_total = float(products["units_to_stock"].sum()) if len(products) else float("nan")
    units_fc = float(products["units"].sum()) if len(products) else 0.0
    # the day's share of the products' units follows the orders forecast
    share = daily["orders"] / daily["orders"].sum() if daily["orders"].sum() > 0 else 1.0 / len(daily)
    daily["units"] = share * units_total if math.isfinite(units_total) else np.nan
    daily["tickets"] = daily["orders_high"] * tickets_per_order
    daily["agents"] = np.ceil(daily["tickets"] / tickets_per_agent_day).astype(int)
    assumptions = {"tickets_per_order": float(tickets_per_order), "tickets_per_agent_day": float(tickets_per_agent_day),
                   "service_level": float(service_level), "units_forecast": units_fc}
    return CampaignPlan(str(campaign["name"]), str(campaign["kind"]), start, end, planned,
                        "same_kind" if learnt else "all_campaigns", daily, total_gmv, total_orders, products,
                        units_total, int(daily["agents"].max()), assumptions, level,
                        str(campaign.get("source", "campaigns")))
