"""Customer service: ticket volume, response and resolution times, service levels, drivers and staffing.

Functions take a :class:`~workbench.data.loader.Dataset` and :class:`~workbench.sql.filters.Filters`
and return tidy frames or small results whose figures are
:class:`~workbench.stats.result.Estimate`\\ s. Queries live in :mod:`workbench.sql.service`; the
satisfaction model is :func:`workbench.stats.odds.grouped_logit`, staffing uses
:mod:`workbench.stats.queueing` (Erlang C). Results carry keys, never sentences.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data.loader import Dataset
from workbench.errors import EmptyPeriodError
from workbench.sql import service as sql
from workbench.sql.filters import Filters
from workbench.stats import odds, queueing
from workbench.stats.intervals import add_rate_interval
from workbench.stats.quantiles import METHOD as QUANTILE_INTERVAL_METHOD, quantile_estimate
from workbench.stats.result import Estimate

NEEDS = {"tickets": ["category", "channel", "created_at"]}
NEEDS_TIMES = {"tickets": ["category", "channel", "created_at", "first_response_at", "resolved_at"]}
NEEDS_CSAT = {"tickets": ["category", "channel", "created_at", "first_response_at", "satisfaction", "escalated"]}
NEEDS_DRIVERS = {"tickets": ["category", "channel", "created_at", "first_response_at", "satisfaction"]}

#: A ticket counts as "not satisfied" when its CSAT score is at or below this (CSAT counts 4-5 as satisfied).
LOW_CSAT = 3
#: Method key of the quantile intervals (``method.order_statistic`` in the catalogue).
QUANTILE_METHOD = QUANTILE_INTERVAL_METHOD
#: The percentiles of ticket durations shown (median and 90th percentile).
QUANTILES = (0.5, 0.9)
#: Fewest rated tickets the satisfaction model is fitted on.
MIN_RATED = 200


def volume(ds: Dataset, f: Filters, by: str = "category") -> pd.DataFrame:
    """Tickets in the period per ``by`` (category or channel) and per 1,000 valid orders where orders exist.

    Returns ``by``, ``tickets``, ``share`` and, with orders loaded, ``per_1000_orders`` (tickets of the
    period over orders of the period in the same channels), most tickets first.
    """
    out = sql.volume(ds, f, by)
    out["share"] = out["tickets"] / out["tickets"].sum() if len(out) else []
    if "orders" in ds.sources and len(out):
        n_orders = sql.valid_orders(ds, f)
        out["per_1000_orders"] = out["tickets"] / n_orders * 1000 if n_orders else np.nan
    return out


@dataclass(frozen=True)
class VolumeSummary:
    """All tickets of a period, the largest ``by`` group and its share (an Estimate), tickets per 1,000 orders."""

    tickets: int
    top: str
    top_share: Estimate
    per_1000_orders: float


def volume_summary(vol: pd.DataFrame, by: str = "category", level: float = 0.95) -> VolumeSummary | None:
    """Summarise :func:`volume`: None when there are no tickets."""
    if vol.empty:
        return None
    total, top = int(vol["tickets"].sum()), vol.iloc[0]
    per = float(vol["per_1000_orders"].sum()) if "per_1000_orders" in vol else math.nan
    return VolumeSummary(total, str(top[by]), Estimate.proportion(top["tickets"], total, level), per)


def hourly_profile(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Average tickets per hour by weekday (0 = Monday) and hour of day over the period's weeks.

    Returns ``weekday``, ``hour``, ``tickets`` (total) and ``tickets_per_hour`` (mean over the days
    of that weekday in the period, so hours without tickets count as zero).
    """
    out = sql.hourly(ds, f)
    days = pd.Series(pd.date_range(f.start, f.end, freq="D").day_of_week).value_counts()
    grid = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"]).to_frame(index=False)
    grid = grid.merge(out, on=["weekday", "hour"], how="left").fillna({"tickets": 0})
    grid["tickets_per_hour"] = grid["tickets"] / grid["weekday"].map(days)
    return grid


def response_times(ds: Dataset, f: Filters, by: str = "category", level: float = 0.95) -> pd.DataFrame:
    """Median and 90th percentile of first-response time (minutes) and resolution time (hours) per ``by``.

    Each quantile comes with its exact distribution-free (order-statistic) interval at ``level``
    (:func:`workbench.stats.quantiles.quantile_estimate`); where a group has too few tickets for that
    interval (a 95% interval of a 90th percentile needs 36, of a median 6) the quantile and its bounds
    are NaN and ``p50_min_n``/``p90_min_n`` say how many it needs. Resolution time counts
    resolved tickets only (``open`` says how many of the group's tickets are still open, so a long
    tail may be hidden). Returns one row per (``by``, ``measure``) with ``n``, ``mean``, ``p50``,
    ``p50_low``, ``p50_high``, ``p90``, ``p90_low``, ``p90_high`` and ``open``; sorted so the slowest
    resolution comes first.
    """
    frames = [_quantiles(sql.durations(ds, f, m, by), by, level).assign(measure=m) for m in sql.MEASURES]
    out = pd.concat(frames, ignore_index=True)
    grid = sql.open_tickets(ds, f, by).merge(pd.DataFrame({"measure": list(sql.MEASURES)}), how="cross")
    out = grid.merge(out, on=[by, "measure"], how="left").fillna({"n": 0})
    order = out[out["measure"] == "resolution_hours"].sort_values("p50", ascending=False, na_position="last")[by].tolist()
    rank = {v: i for i, v in enumerate(order)}
    return out.sort_values([by, "measure"], key=lambda s: s.map(rank) if s.name == by else s).reset_index(drop=True)


def _quantiles(frame: pd.DataFrame, by: str, level: float) -> pd.DataFrame:
    """``by``, ``n``, ``mean``, ``pNN``, ``pNN_low``, ``pNN_high``, ``pNN_min_n`` from a :func:`sql.durations` frame."""
    rows = []
    for r in frame.itertuples(index=False):
        row = {by: getattr(r, by), "n": int(r.n), "mean": float(r.mean)}
        for p in QUANTILES:
            tag = f"p{round(p * 100)}"
            est = quantile_estimate(list(r.values), p, level)
            ok = est.ok
            row |= {tag: est.estimate if ok else np.nan, f"{tag}_low": est.low if ok else np.nan,
                    f"{tag}_high": est.high if ok else np.nan, f"{tag}_min_n": est.min_n}
        rows.append(row)
    cols = [by, "n", "mean"] + [f"p{round(p * 100)}{s}" for p in QUANTILES for s in ("", "_low", "_high", "_min_n")]
    return pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True)
class SlowestCategory:
    """The category whose tickets take longest to resolve, and how it compares with the rest.

    ``median`` and ``p90`` are resolution hours with their order-statistic intervals;
    ``others_median_hours`` is the highest median among the other categories; ``separated`` says
    whether the slowest median's interval lies above every other category's median interval.
    """

    category: str
    median: Estimate
    p90: Estimate
    others_median_hours: float
    separated: bool

    @property
    def n(self) -> int:
        return int(self.median.n or 0)

    # the flat names the overview read before it took findings (kept until it no longer imports this module)
    median_hours = property(lambda self: self.median.estimate)
    median_low = property(lambda self: self.median.low)
    median_high = property(lambda self: self.median.high)


def slowest_category(times: pd.DataFrame, level: float = 0.95) -> SlowestCategory | None:
    """Pick the slowest-resolving category from :func:`response_times` (by category); None when empty."""
    res = times[(times["measure"] == "resolution_hours") & times["p50"].notna()].sort_values("p50", ascending=False)
    if res.empty:
        return None
    top, rest = res.iloc[0], res.iloc[1:]
    bounds = (0.0, math.inf)
    median = Estimate(top["p50"], top["p50_low"], top["p50_high"], level, int(top["n"]), QUANTILE_METHOD, "hours",
                      bounds)
    p90 = Estimate(top["p90"], top["p90_low"], top["p90_high"], level, int(top["n"]), QUANTILE_METHOD, "hours", bounds)
    return SlowestCategory(str(top["category"]), median, p90, float(rest["p50"].max()) if len(rest) else math.nan,
                           bool(len(rest) and top["p50_low"] > rest["p50_high"].max()))


def service_levels(ds: Dataset, f: Filters, by: str = "channel", response_minutes: float = 60,
                   resolution_hours: float = 24, level: float = 0.95) -> pd.DataFrame:
    """SLA compliance, CSAT, low satisfaction and escalation per ``by``, each with a Wilson interval at ``level``.

    SLA: first response within ``response_minutes`` (tickets without a response count as missed) and
    resolution within ``resolution_hours`` (open tickets count as missed). CSAT is the share of
    rated tickets scoring 4-5; low satisfaction the share scoring 1-``LOW_CSAT``.
    Returns ``by``, the counts of :func:`workbench.sql.service.service_counts` and for each rate
    ``x``, ``x_low``, ``x_high``: ``sla_rate``, ``resolution_sla_rate``, ``csat``, ``low_csat_rate``,
    ``escalation_rate``.
    """
    out = sql.service_counts(ds, f, by, response_minutes, resolution_hours, LOW_CSAT)
    for k, n, name in (("responded_in_time", "tickets", "sla_rate"), ("resolved_in_time", "tickets",
                                                                       "resolution_sla_rate"),
                       ("satisfied", "rated", "csat"), ("dissatisfied", "rated", "low_csat_rate"),
                       ("escalations", "tickets", "escalation_rate")):
        out = add_rate_interval(out, k, n, name, level)
    return out


#: The rates of :func:`service_levels` with the counts they are made of.
RATES = {"sla_rate": ("responded_in_time", "tickets"), "resolution_sla_rate": ("resolved_in_time", "tickets"),
         "csat": ("satisfied", "rated"), "low_csat_rate": ("dissatisfied", "rated"),
         "escalation_rate": ("escalations", "tickets")}


def overall_levels(levels: pd.DataFrame, level: float = 0.95) -> dict[str, Estimate]:
    """Each rate of :func:`service_levels` over all its rows, as a Wilson :class:`Estimate`."""
    tot = levels[sorted({c for pair in RATES.values() for c in pair})].sum()
    return {name: Estimate.proportion(tot[k], tot[n], level) for name, (k, n) in RATES.items()}


@dataclass
class DissatisfactionModel:
    """Binomial GLM of low satisfaction on category, channel and log2 waiting times, as odds ratios.

    ``odds_ratios``: ``term``, ``kind`` (category, channel, covariate), ``odds_ratio``, ``low``,
    ``high``, ``p_value``, ``estimable`` (see :func:`workbench.stats.odds.grouped_logit`); ``n`` rated tickets.
    """

    odds_ratios: pd.DataFrame
    n: int
    baseline_category: str
    baseline_channel: str
    level: float = 0.95
    method: str = odds.METHOD

    def estimate(self, term: str) -> Estimate:
        """The odds ratio of ``term`` as an Estimate (unit ratio, bounded below by 0)."""
        row = self.odds_ratios.set_index("term").loc[term]
        return Estimate(row["odds_ratio"], row["low"], row["high"], self.level, self.n, self.method, "ratio",
                        (0.0, math.inf))

    def strongest_group(self) -> str | None:
        """The category or channel term with the highest odds ratio (None when the model has none)."""
        groups = self.odds_ratios[(self.odds_ratios["kind"] != "covariate") & self.odds_ratios["estimable"]]
        return None if groups.empty else str(groups.iloc[0]["term"])


def dissatisfaction_drivers(ds: Dataset, f: Filters, days: int = 365, level: float = 0.95) -> DissatisfactionModel:
    """Fit what drives low satisfaction on the rated tickets of the ``days`` up to the period's end.

    Resolved, rated tickets are grouped by category, channel and bands of first-response and of
    resolution time (log2 hours, half-unit bands); each group's mean log2 times are the covariates.
    Categories and channels are compared with the one with most tickets (its odds ratio is 1). The
    waiting-time odds ratios are per doubling of the first-response and of the resolution time.
    Raises :class:`EmptyPeriodError` with fewer than 200 rated tickets or no low scores.
    """
    window = Filters(start=f.end - dt.timedelta(days=days - 1), end=f.end, channels=f.channels)
    grouped = sql.satisfaction_groups(ds, window, LOW_CSAT)
    n = int(grouped["low"].sum() + grouped["not_low"].sum()) if len(grouped) else 0
    if n < MIN_RATED or grouped["low"].sum() == 0:
        raise EmptyPeriodError(f"only {n} rated tickets in the year to {f.end}; the satisfaction model needs at least "
                               f"{MIN_RATED} with some low scores")

    def largest(col: str) -> str:
        return str(grouped.groupby(col)[["low", "not_low"]].sum().sum(axis=1).idxmax())

    base_cat, base_chan = largest("category"), largest("channel")
    table = odds.grouped_logit(grouped, "low", "not_low", {"category": base_cat, "channel": base_chan},
                               ["log2_wait_hours", "log2_resolution_hours"], level)
    return DissatisfactionModel(table, n, base_cat, base_chan, level)


# ----- staffing -----------------------------------------------------------------------------------

@dataclass
class StaffingPlan:
    """Tickets per hour forecast and agents needed per hour of the day (Erlang C).

    ``plan``: ``hour``, ``tickets_per_hour``, ``low``, ``high`` (the ``band_level`` Poisson band of
    arrivals), ``agents``, ``agents_high`` (agents for the band's upper end).
    """

    plan: pd.DataFrame
    weeks: int
    forecast_weeks: int
    handle_minutes: float
    target_minutes: float
    service_level: float
    n: int
    band_level: float = 0.8
    method: str = "hourly_mean_trend_erlang_c"

    def peak(self) -> pd.Series:
        """The hour that needs most agents (the busiest of those when several tie)."""
        return self.plan.sort_values(["agents", "tickets_per_hour"]).iloc[-1]


def staffing(ds: Dataset, f: Filters, weeks: int = 8, forecast_weeks: int = 2, handle_minutes: float = 10.0,
             target_minutes: float = 5.0, service_level: float = 0.8, peak_day: bool = True,
             band_level: float = 0.8) -> StaffingPlan:
    """Tickets per hour of the day expected in the coming weeks and the agents needed to answer them.

    The forecast takes the ``weeks`` up to the period's end: for each hour of the day the mean tickets
    per day (over all days, or on the busiest weekday when ``peak_day``), times the ratio of the last
    four weeks' daily volume to the window's (a simple trend). Agents per hour come from Erlang C with
    ``handle_minutes`` of work per ticket (the data holds no handling time: an assumption to set) so that
    ``service_level`` of tickets get a first answer within ``target_minutes``; ``agents_high`` covers the
    upper end of the ``band_level`` Poisson band of arrivals. Raises :class:`EmptyPeriodError` without
    tickets in the window.
    """
    start = f.end - dt.timedelta(weeks=weeks) + dt.timedelta(days=1)
    daily = sql.hourly_by_day(ds, Filters(start=start, end=f.end, channels=f.channels))
    if daily.empty:
        raise EmptyPeriodError(f"no tickets in the {weeks} weeks before {f.end}; choose a later period")
    days = pd.DataFrame({"day": pd.date_range(start, f.end, freq="D").date})
    grid = days.merge(pd.DataFrame({"hour": range(24)}), how="cross")
    grid = grid.merge(daily, on=["day", "hour"], how="left").fillna({"tickets": 0})
    per_day = grid.groupby("day")["tickets"].sum()
    recent = per_day[per_day.index > f.end - dt.timedelta(weeks=4)].mean()
    trend = recent / per_day.mean() if per_day.mean() > 0 else 1.0
    if peak_day:
        wd = pd.to_datetime(grid["day"]).dt.day_of_week
        busiest = per_day.groupby(pd.to_datetime(per_day.index).day_of_week).mean().idxmax()
        grid = grid[wd == busiest]
    rate = grid.groupby("hour")["tickets"].mean() * trend
    low, high = queueing.poisson_band(rate.to_numpy(), band_level)
    plan = pd.DataFrame({"hour": rate.index, "tickets_per_hour": rate.to_numpy(), "low": low, "high": high})
    plan["agents"] = [queueing.agents_needed(r, handle_minutes, target_minutes, service_level) for r in plan["tickets_per_hour"]]
    plan["agents_high"] = [queueing.agents_needed(r, handle_minutes, target_minutes, service_level) for r in plan["high"]]
    return StaffingPlan(plan, weeks, forecast_weeks, handle_minutes, target_minutes, service_level,
                        int(daily["tickets"].sum()), band_level)
