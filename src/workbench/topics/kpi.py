"""KPIs evaluated once, for every page: value with interval, comparison, change, status and history.

:func:`kpi` reads a definition of :mod:`workbench.sql.metrics` and returns a :class:`Kpi`; the
overview, ``13_risk`` and the topic pages all call it, so a KPI reads the same everywhere. (This
module is shared by the topic modules; it is not a topic itself.)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from workbench.data.loader import Dataset
from workbench.sql import calendar
from workbench.sql import metrics as registry
from workbench.sql.overview import campaign_kinds
from workbench.sql.filters import Filters, compare_window
from workbench.stats.ratio import clustered_ratio, total
from workbench.stats.result import Estimate

#: The statuses a KPI can have; ``none`` always comes with a reason key (``kpi.reason.<reason>``).
STATUSES = ("red", "amber", "green", "none")


@dataclass(frozen=True)
class Kpi:
    """One KPI for one period: ``value`` and ``comparison`` Estimates, relative ``change``, ``status``.

    ``status`` is red, amber, green or none; with none, ``reason`` says why (``no_comparison``,
    ``no_data``, ``too_few``, ``comparison_empty``, ``comparison_zero``). ``daily`` is the period's history by day
    (``date``, ``value``) for a sparkline.
    """

    key: str
    page: str
    unit: str
    better: str
    value: Estimate
    comparison: Estimate | None
    change: float
    status: str
    reason: str | None
    daily: pd.DataFrame

    def as_dict(self) -> dict:
        return {"key": self.key, "page": self.page, "unit": self.unit, "better": self.better,
                "value": self.value.as_dict(),
                "comparison": self.comparison.as_dict() if self.comparison is not None else None,
                "change": None if not math.isfinite(self.change) else self.change,
                "status": self.status, "reason": self.reason}


class _Reads:
    """The registry's daily and period reads of one dataset within one call, each statement run once
    (keyed by the statement's SQL text and parameters, i.e. by everything its result depends on)."""

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        self._seen: dict[tuple, object] = {}

    def _key(self, f: Filters, key: str, by_day: bool) -> tuple:
        sql, params = registry._statement(registry.metric(key), self.ds, f, by_day)
        # the daily frame spans the calendar of f (every day present), so its bounds are in the key too
        return (key, by_day, sql, repr(sorted(params.items())), f.start, f.end)

    def daily(self, f: Filters, key: str, copy: bool = True) -> pd.DataFrame:
        """The daily frame of ``key`` for ``f``; ``copy=False`` for a caller that only reads it."""
        k = self._key(f, key, True)
        if k not in self._seen:
            self._seen[k] = registry.daily(self.ds, f, key)
        return self._seen[k].copy() if copy else self._seen[k]

    def period(self, f: Filters, key: str) -> dict[str, float | None]:
        k = self._key(f, key, False)
        if k not in self._seen:
            self._seen[k] = registry.period(self.ds, f, key)
        return dict(self._seen[k])

    def prefetch(self, f: Filters, keys: list[str]) -> None:
        """Read the daily and period figures of every metric of ``keys`` for ``f`` at once
        (:func:`workbench.sql.metrics.many`: one statement per group of metrics over the same rows)."""
        todo = [k for k in keys if self._key(f, k, True) not in self._seen or self._key(f, k, False) not in self._seen]
        if not todo:
            return
        days, whole = registry.many(self.ds, f, todo)
        for key in todo:
            self._seen[self._key(f, key, True)] = days[key]
            self._seen[self._key(f, key, False)] = whole[key]


def _reads(ds: Dataset | _Reads) -> _Reads:
    return ds if isinstance(ds, _Reads) else _Reads(ds)


def estimate(ds: Dataset, f: Filters, key: str, level: float = 0.95) -> tuple[Estimate, pd.DataFrame]:
    """The value of metric ``key`` for ``f`` as an :class:`Estimate`, and its daily history."""
    reads = _reads(ds)
    m = registry.metric(key)
    days = reads.daily(f, key, copy=False)
    whole = reads.period(f, key)
    n = int(whole["n"] or 0)
    num = days["num"].to_numpy(dtype=float)
    if m.den is None:
        est = total(whole["num"] or 0.0, n, m.unit)
        value = num.copy()
    else:
        den = days["den"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        if m.interval == "wilson":
            est = Estimate.proportion(whole["num"] or 0.0, whole["den"] or 0.0, level=level, min_n=m.min_n)
            est = Estimate(est.estimate, est.low, est.high, level, n, "wilson", m.unit, m.bounds, m.min_n)
        else:
            est = clustered_ratio(num, den, n=n, level=level, unit=m.unit, bounds=m.bounds, min_n=m.min_n)
            if whole["den"]:  # distinct counts are not additive over days: the period's own ratio is the value
                est = Estimate(whole["num"] / whole["den"], est.low, est.high, level, n, est.method, m.unit,
                               m.bounds, m.min_n)
    return est, pd.DataFrame({"date": days["date"].to_numpy(), "value": value})


def status_of(m: registry.Metric, value: Estimate, comparison: Estimate | None,
              change: float) -> tuple[str, str | None]:
    """Red, amber or green by the adverse relative change against the metric's thresholds, else none+reason."""
    if comparison is None:
        return "none", "no_comparison"
    if value.too_few or comparison.too_few:
        return "none", "too_few"
    if not math.isfinite(value.estimate):
        return "none", "no_data"
    if not math.isfinite(comparison.estimate) or (comparison.estimate == 0 and not comparison.n):
        return "none", "comparison_empty"
    if comparison.estimate == 0:  # e.g. no campaign sales in the comparison window: no relative change
        return "none", "comparison_zero"
    adverse = -change if m.better == "up" else change
    return ("red" if adverse > m.red else "amber" if adverse > m.amber else "green"), None


def kpi(ds: Dataset, f: Filters, key: str, level: float = 0.95) -> Kpi:
    """Metric ``key`` for ``f`` and its comparison period: value, change, status and history."""
    m = registry.metric(key)
    reads = _reads(ds)
    value, days = estimate(reads, f, key, level)
    cmp_f = f.comparison()
    comparison = estimate(reads, cmp_f, key, level)[0] if cmp_f is not None else None
    change = math.nan
    if comparison is not None and math.isfinite(comparison.estimate) and comparison.estimate:
        change = value.estimate / comparison.estimate - 1
    st, reason = status_of(m, value, comparison, change)
    return Kpi(key, m.page, m.unit, m.better, value, comparison, change, st, reason, days)


def kpis(ds: Dataset, f: Filters, keys: list[str] | None = None, level: float = 0.95) -> list[Kpi]:
    """:func:`kpi` for each of ``keys`` (default: every metric the dataset can feed); the figures of the
    period and of its comparison are read together (:meth:`_Reads.prefetch`)."""
    keys = list(keys or registry.available(ds))
    reads = _reads(ds)
    for window in (f, f.comparison()):
        if window is not None:
            reads.prefetch(window, keys)
    return [kpi(reads, f, k, level) for k in keys]


def _on_days(ds: Dataset, f: Filters, key: str, exclude: set[pd.Timestamp], level: float) -> Estimate:
    """Metric ``key`` over the days of ``f`` not in ``exclude``: a ratio over those days, or for a total
    its mean per day (a day-clustered interval), since the windows then have different lengths."""
    m = registry.metric(key)
    days = _reads(ds).daily(f, key)
    kept = days[~days["date"].isin(exclude)]
    n = int(kept["n"].sum())
    if m.den is None:
        return clustered_ratio(kept["num"], [1.0] * len(kept), n=len(kept), level=level, unit=m.unit,
                               bounds=(0.0, math.inf), min_n=7)
    if m.interval == "wilson":
        est = Estimate.proportion(float(kept["num"].sum()), float(kept["den"].sum()), level=level, min_n=m.min_n)
        return Estimate(est.estimate, est.low, est.high, level, n, "wilson", m.unit, m.bounds, m.min_n)
    return clustered_ratio(kept["num"], kept["den"], n=n, level=level, unit=m.unit, bounds=m.bounds, min_n=m.min_n)


def excluding_days(ds: Dataset, f: Filters, key: str, days: Iterable[dt.date | pd.Timestamp],
                   level: float = 0.95) -> Kpi:
    """Metric ``key`` against its comparison period with ``days`` (e.g. campaign days) left out of both.

    Totals (GMV, orders) become means per remaining day; ratios and shares are taken over the
    remaining days. Status by the metric's own thresholds, as in :func:`kpi`. ``daily`` is the
    period's history with the left-out days as NaN.
    """
    m = registry.metric(key)
    skip = {pd.Timestamp(d) for d in days}
    reads = _reads(ds)
    value = _on_days(reads, f, key, skip, level)
    cmp_f = f.comparison()
    comparison = _on_days(reads, cmp_f, key, skip, level) if cmp_f is not None else None
    change = math.nan
    if comparison is not None and math.isfinite(comparison.estimate) and comparison.estimate:
        change = value.estimate / comparison.estimate - 1
    st, reason = status_of(m, value, comparison, change)
    history = estimate(reads, f, key, level)[1]
    history = history.assign(value=history["value"].where(~history["date"].isin(skip)))
    return Kpi(key, m.page, m.unit, m.better, value, comparison, change, st, reason, history)


def against_last_year(ds: Dataset, f: Filters, key: str, level: float = 0.95) -> Kpi:
    """Metric ``key`` for the period of ``f`` against the same weekdays one year earlier (364 days)."""
    cs, ce = compare_window(f.start, f.end, "last_year")
    return kpi(ds, replace(f, compare="last_year", compare_start=cs, compare_end=ce), key, level)


# ------------------------------------------------------------------------------------------------
# the comparison's calendar: campaigns in one window and not the other
# ------------------------------------------------------------------------------------------------
#: The KPIs whose like-for-like comparison the campaign note gives.
LIKE_FOR_LIKE = ("gmv", "orders", "aov")


@dataclass(frozen=True)
class CampaignContext:
    """Campaign days of the period and of its comparison window, and like-for-like comparisons.

    ``current``/``comparison``: campaign days (``date``, ``campaign_id``, ``kind``) in each window;
    ``uneven`` is True when the two windows hold a different number of campaign days (then a
    change on the comparison period is partly the calendar). ``comparison_campaign_share`` is the
    share of the comparison window's GMV sold on its campaign days (NaN without GMV).
    ``without_campaigns`` holds :func:`workbench.topics.kpi.excluding_days` for :data:`LIKE_FOR_LIKE`
    (campaign days of both windows left out); ``last_year`` holds
    :func:`workbench.topics.kpi.against_last_year` for the same keys (empty when the data do not
    reach back a year).
    """

    current: pd.DataFrame
    comparison: pd.DataFrame
    uneven: bool
    comparison_campaign_share: float
    current_campaign_share: float
    without_campaigns: dict[str, Kpi] = field(default_factory=dict)
    last_year: dict[str, Kpi] = field(default_factory=dict)

    @property
    def current_kinds(self) -> list[str]:
        return list(dict.fromkeys(self.current["kind"])) if len(self.current) else []

    @property
    def comparison_kinds(self) -> list[str]:
        return list(dict.fromkeys(self.comparison["kind"])) if len(self.comparison) else []


def _window_days(ds: Dataset, start, end) -> pd.DataFrame:
    days = calendar.campaign_days(ds, start, end)
    days = days[days["date"].between(pd.Timestamp(start), pd.Timestamp(end))]
    kinds = campaign_kinds(ds, sorted(set(days["campaign_id"])))
    return days.assign(kind=days["campaign_id"].map(kinds))[["date", "campaign_id", "kind"]].reset_index(drop=True)


def _share_on(days: pd.DataFrame, on: pd.DataFrame) -> float:
    total = float(days["num"].sum())
    if not total:
        return float("nan")
    return float(days.loc[days["date"].isin(on["date"]), "num"].sum()) / total


def campaign_context(ds: Dataset, f: Filters, level: float = 0.95) -> CampaignContext | None:
    """Campaign days in the period and its comparison window, and like-for-like KPIs when they differ.

    None without a comparison window or without orders.
    """
    cmp_f = f.comparison()
    if cmp_f is None or ds.missing(registry.metric("gmv").needs):
        return None
    cur, prev = _window_days(ds, f.start, f.end), _window_days(ds, cmp_f.start, cmp_f.end)
    uneven = len(cur) != len(prev)
    reads = _Reads(ds)  # the like-for-like KPIs read the same days again: each statement runs once
    keys = [k for k in LIKE_FOR_LIKE if not ds.missing(registry.metric(k).needs)]
    windows = [f, cmp_f]
    if uneven:  # and the same weekdays a year before, for against_last_year
        cs, ce = compare_window(f.start, f.end, "last_year")
        windows.append(replace(f, compare="last_year", compare_start=cs, compare_end=ce).comparison())
    for window in windows:  # every metric of a window in one statement per group (metrics.many)
        if window is not None:
            reads.prefetch(window, keys if uneven else ["gmv"])
    cur_share = _share_on(reads.daily(f, "gmv"), cur)
    prev_share = _share_on(reads.daily(cmp_f, "gmv"), prev)
    without: dict[str, Kpi] = {}
    last: dict[str, Kpi] = {}
    if uneven:
        skip = list(cur["date"]) + list(prev["date"])
        without = {k: excluding_days(reads, f, k, skip, level) for k in keys}
        last = {k: against_last_year(reads, f, k, level) for k in keys}
        last = {k: v for k, v in last.items() if v.status != "none" or v.reason != "comparison_empty"}
    return CampaignContext(cur, prev, uneven, prev_share, cur_share, without, last)
