"""Customer service: ticket volume, response and resolution times, SLA, satisfaction, drivers and staffing.

Functions take a :class:`~workbench.data.loader.Dataset` and :class:`~workbench.sql.common.Filters` and return
tidy frames or small result objects. Every aggregation runs in DuckDB over the ``tickets`` view; the
regression is a binomial GLM on grouped counts (category x channel x waiting-time band), which gives
the same odds ratios as a ticket-level logistic regression with the band's mean waiting time as the
covariate, at a cost that does not grow with the number of tickets.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

from workbench.data.loader import Dataset
from workbench.errors import EmptyPeriodError
from workbench.sql.common import Filters
from workbench.stats import add_rate_interval, wilson_interval

NEEDS = {"tickets": ["category", "channel", "created_at"]}
NEEDS_TIMES = {"tickets": ["category", "channel", "created_at", "first_response_at", "resolved_at"]}
NEEDS_CSAT = {"tickets": ["category", "channel", "created_at", "first_response_at", "satisfaction", "escalated"]}
NEEDS_DRIVERS = {"tickets": ["category", "channel", "created_at", "first_response_at", "satisfaction"]}

#: A ticket counts as "not satisfied" when its CSAT score is at or below this (CSAT counts 4-5 as satisfied).
LOW_CSAT = 3


_TICKETS = "SELECT * FROM tickets"


def _where(f: Filters, column: str = "created_at") -> str:
    return f"{f.date_sql(f'CAST({column} AS DATE)')} AND {f.channel_sql('channel')}"


def volume(ds: Dataset, f: Filters, by: str = "category") -> pd.DataFrame:
    """Tickets in the period per ``by`` (category or channel) and per 1,000 valid orders where orders exist.

    Returns ``by``, ``tickets``, ``share`` and, with orders loaded, ``per_1000_orders`` (tickets of the
    period over orders of the period in the same channels), most tickets first.
    """
    out = ds.sql(f"SELECT {by}, count(*) AS tickets FROM tickets WHERE {_where(f)} GROUP BY 1 ORDER BY 2 DESC")
    out["share"] = out["tickets"] / out["tickets"].sum() if len(out) else []
    if "orders" in ds.sources and len(out):
        n_orders = ds.sql(f"SELECT count(*) AS n FROM orders_cny WHERE is_valid AND {f.where()}")["n"].iloc[0]
        out["per_1000_orders"] = out["tickets"] / n_orders * 1000 if n_orders else np.nan
    return out


def hourly_profile(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Average tickets per hour by weekday (0 = Monday) and hour of day over the period's weeks.

    Returns ``weekday``, ``hour``, ``tickets`` (total) and ``tickets_per_hour`` (mean over the days
    of that weekday in the period, so hours without tickets count as zero).
    """
    out = ds.sql(f"""
        SELECT isodow(created_at) - 1 AS weekday, hour(created_at) AS hour, count(*) AS tickets
        FROM tickets WHERE {_where(f)} GROUP BY ALL
    """)
    days = pd.Series(pd.date_range(f.start, f.end, freq="D").weekday).value_counts()
    grid = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"]).to_frame(index=False)
    grid = grid.merge(out, on=["weekday", "hour"], how="left").fillna({"tickets": 0})
    grid["tickets_per_hour"] = grid["tickets"] / grid["weekday"].map(days).fillna(np.nan)
    return grid


def _quantile_sql(value: str, group: str, where: str, probs: tuple[float, ...] = (0.5, 0.9)) -> str:
    """SQL of distribution-free 95% intervals for quantiles of ``value`` per ``group``.

    For the p-quantile of n sorted values the interval is [x_(l), x_(u)] with
    l, u = n p -/+ 1.96 sqrt(n p (1 - p)) (the binomial order-statistic interval).
    """
    cols = []
    for p in probs:
        tag = f"p{round(p * 100)}"
        half = f"1.96 * sqrt(n * {p} * {1 - p})"
        cols += [
            f"max(v) FILTER (WHERE rn = greatest(1, ceil(n * {p}))) AS {tag}",
            f"max(v) FILTER (WHERE rn = greatest(1, floor(n * {p} - {half}))) AS {tag}_low",
            f"max(v) FILTER (WHERE rn = least(n, ceil(n * {p} + {half}) + 1)) AS {tag}_high",
        ]
    return f"""
        WITH t AS (
            SELECT {group} AS grp, v, row_number() OVER (PARTITION BY {group} ORDER BY v) AS rn,
                   count(*) OVER (PARTITION BY {group}) AS n
            FROM (SELECT *, {value} AS v FROM tickets WHERE {where}) WHERE v IS NOT NULL
        )
        SELECT grp, max(n) AS n, avg(v) AS mean, {", ".join(cols)} FROM t GROUP BY grp
    """


def response_times(ds: Dataset, f: Filters, by: str = "category") -> pd.DataFrame:
    """Median and 90th percentile of first-response time (minutes) and resolution time (hours) per ``by``.

    Each quantile comes with a distribution-free 95% interval. Resolution time counts resolved tickets
    only (``open`` says how many of the group's tickets are still open, so a long tail may be hidden).
    Returns one row per (``by``, ``measure``) with ``n``, ``mean``, ``p50``, ``p50_low``, ``p50_high``,
    ``p90``, ``p90_low``, ``p90_high`` and ``open``; sorted so the slowest resolution comes first.
    """
    where = _where(f)
    frames = []
    for measure, expr in (("first_response_minutes", "date_diff('second', created_at, first_response_at) / 60.0"),
                          ("resolution_hours", "date_diff('second', created_at, resolved_at) / 3600.0")):
        q = ds.sql(_quantile_sql(expr, by, where)).assign(measure=measure)
        frames.append(q)
    out = pd.concat(frames, ignore_index=True).rename(columns={"grp": by})
    opened = ds.sql(f"SELECT {by}, count(*) AS tickets, count(*) FILTER (WHERE resolved_at IS NULL) AS open "
                    f"FROM tickets WHERE {where} GROUP BY 1")
    grid = opened.merge(pd.DataFrame({"measure": ["first_response_minutes", "resolution_hours"]}), how="cross")
    out = grid.merge(out, on=[by, "measure"], how="left").fillna({"n": 0})
    order = out[out["measure"] == "resolution_hours"].sort_values("p50", ascending=False, na_position="last")[by].tolist()
    rank = {v: i for i, v in enumerate(order)}
    return out.sort_values([by, "measure"], key=lambda s: s.map(rank) if s.name == by else s).reset_index(drop=True)


@dataclass
class SlowestCategory:
    """The category whose tickets take longest to resolve, and how it compares with the rest."""

    category: str
    median_hours: float
    median_low: float
    median_high: float
    p90_hours: float
    p90_low: float
    p90_high: float
    n: int
    others_median_hours: float   # the highest median among the other categories
    separated: bool              # its median interval lies above every other category's median interval


def slowest_category(times: pd.DataFrame) -> SlowestCategory | None:
    """Pick the slowest-resolving category from :func:`response_times` (by category); None when empty."""
    res = times[(times["measure"] == "resolution_hours") & times["p50"].notna()].sort_values("p50", ascending=False)
    if res.empty:
        return None
    top, rest = res.iloc[0], res.iloc[1:]
    return SlowestCategory(str(top["category"]), float(top["p50"]), float(top["p50_low"]), float(top["p50_high"]),
                           float(top["p90"]), float(top["p90_low"]), float(top["p90_high"]), int(top["n"]),
                           float(rest["p50"].max()) if len(rest) else float("nan"),
                           bool(len(rest) and top["p50_low"] > rest["p50_high"].max()))


def service_levels(ds: Dataset, f: Filters, by: str = "channel", response_minutes: float = 60,
                   resolution_hours: float = 24) -> pd.DataFrame:
    """SLA compliance, CSAT, low satisfaction and escalation per ``by``, each with a 95% Wilson interval.

    SLA: first response within ``response_minutes`` (tickets without a response count as missed) and
    resolution within ``resolution_hours`` (open tickets older than that count as missed). CSAT is the
    share of rated tickets scoring 4-5; low satisfaction the share scoring 1-``LOW_CSAT``.
    Returns ``by``, ``tickets``, ``rated`` and for each rate ``x``, ``x_low``, ``x_high``.
    """
    out = ds.sql(f"""
        SELECT {by}, count(*) AS tickets,
               count(*) FILTER (WHERE first_response_at IS NOT NULL AND
                   date_diff('second', created_at, first_response_at) <= {response_minutes * 60}) AS responded_in_time,
               count(*) FILTER (WHERE resolved_at IS NOT NULL AND
                   date_diff('second', created_at, resolved_at) <= {resolution_hours * 3600}) AS resolved_in_time,
               count(satisfaction) AS rated,
               count(*) FILTER (WHERE satisfaction >= 4) AS satisfied,
               count(*) FILTER (WHERE satisfaction <= {LOW_CSAT}) AS dissatisfied,
               count(*) FILTER (WHERE escalated) AS escalations
        FROM tickets WHERE {_where(f)} GROUP BY 1 ORDER BY 2 DESC
    """)
    out = add_rate_interval(out, "responded_in_time", "tickets", "sla_rate")
    out = add_rate_interval(out, "resolved_in_time", "tickets", "resolution_sla_rate")
    out = add_rate_interval(out, "satisfied", "rated", "csat")
    out = add_rate_interval(out, "dissatisfied", "rated", "low_csat_rate")
    return add_rate_interval(out, "escalations", "tickets", "escalation_rate")


@dataclass
class DissatisfactionModel:
    """Binomial GLM of low satisfaction on category, channel and log2 waiting times, as odds ratios."""

    odds_ratios: pd.DataFrame     # term, odds_ratio, low, high, p_value
    result: object = field(repr=False)   # statsmodels GLMResults
    n: int = 0                    # rated tickets
    baseline_category: str = ""
    baseline_channel: str = ""
    method: str = ("binomial GLM (logit) of CSAT <= 3 on category + channel + log2(first-response hours) + "
                   "log2(resolution hours), "
                   "fitted on grouped counts; odds ratios with 95% Wald intervals")


def dissatisfaction_drivers(ds: Dataset, f: Filters, days: int = 365) -> DissatisfactionModel:
    """Fit what drives low satisfaction on the rated tickets of the ``days`` up to the period's end.

    Resolved, rated tickets are grouped by category, channel and bands of first-response and of
    resolution time (log2 hours, half-unit bands); each group's mean log2 times are the covariates.
    Categories and channels are compared with the one with most tickets (its odds ratio is 1).
    The waiting-time odds ratios are per doubling of the first-response and of the resolution time. Raises :class:`EmptyPeriodError` with fewer than
    200 rated tickets or no low scores.
    """
    lo = f.end - dt.timedelta(days=days - 1)
    period = Filters(start=lo, end=f.end, channels=f.channels)
    grouped = ds.sql(f"""
        WITH t AS (
            SELECT category, channel, satisfaction <= {LOW_CSAT} AS low,
                   log2(greatest(date_diff('second', created_at, first_response_at) / 3600.0, 1.0 / 60)) AS lw,
                   log2(greatest(date_diff('second', created_at, resolved_at) / 3600.0, 1.0 / 60)) AS lr
            FROM tickets WHERE {_where(period)} AND satisfaction IS NOT NULL AND first_response_at IS NOT NULL
                 AND resolved_at IS NOT NULL
        )
        SELECT category, channel, floor(lw * 2) / 2 AS band, floor(lr * 2) / 2 AS res_band,
               avg(lw) AS log2_wait_hours, avg(lr) AS log2_resolution_hours,
               count(*) FILTER (WHERE low) AS low, count(*) FILTER (WHERE NOT low) AS not_low
        FROM t GROUP BY ALL
    """)
    n = int(grouped["low"].sum() + grouped["not_low"].sum()) if len(grouped) else 0
    if n < 200 or grouped["low"].sum() == 0:
        raise EmptyPeriodError(f"only {n} rated tickets in the year to {f.end}; the satisfaction model needs at least "
                               "200 with some low scores")
    size_of = lambda col: grouped.groupby(col)[["low", "not_low"]].sum().sum(axis=1)
    base_cat = size_of("category").idxmax()
    base_chan = size_of("channel").idxmax()
    formula = (f"low + not_low ~ C(category, Treatment('{base_cat}')) + C(channel, Treatment('{base_chan}'))"
               " + log2_wait_hours + log2_resolution_hours")
    if grouped["channel"].nunique() < 2:
        formula = f"low + not_low ~ C(category, Treatment('{base_cat}')) + log2_wait_hours + log2_resolution_hours"
    if grouped["category"].nunique() < 2:
        formula = formula.replace(f"C(category, Treatment('{base_cat}')) + ", "")
    result = smf.glm(formula, data=grouped, family=sm.families.Binomial()).fit()
    ci = result.conf_int()
    rows = []
    for term in result.params.index:
        if term == "Intercept":
            continue
        if "category" in term:
            name, kind = term.split("[T.")[1].rstrip("]"), "category"
        elif "channel" in term:
            name, kind = term.split("[T.")[1].rstrip("]"), "channel"
        else:
            name, kind = term, "waiting"
        rows.append({"term": name, "kind": kind, "odds_ratio": float(np.exp(result.params[term])),
                     "low": float(np.exp(ci.loc[term, 0])), "high": float(np.exp(ci.loc[term, 1])),
                     "p_value": float(result.pvalues[term])})
    table = pd.DataFrame(rows).sort_values("odds_ratio", ascending=False).reset_index(drop=True)
    return DissatisfactionModel(table, result, n, str(base_cat), str(base_chan))


# ----- staffing -----------------------------------------------------------------------------------

def erlang_c_wait_probability(agents: int, load: float) -> float:
    """Probability that an arriving ticket waits (Erlang C) with ``agents`` and offered ``load`` in erlangs.

    Uses the stable Erlang B recursion; 1.0 when agents <= load (the queue grows without bound).
    """
    if agents <= load:
        return 1.0
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return agents * b / (agents - load * (1 - b))


def agents_needed(tickets_per_hour: float, handle_minutes: float, target_minutes: float,
                  service_level: float = 0.8) -> int:
    """Fewest agents so that ``service_level`` of tickets are answered within ``target_minutes`` (Erlang C).

    Service level = 1 - P(wait) * exp(-(N - A) * target / handle time), A = arrivals x handle time.
    0 agents when no tickets are expected.
    """
    if not tickets_per_hour or tickets_per_hour <= 0 or not np.isfinite(tickets_per_hour):
        return 0
    load = tickets_per_hour * handle_minutes / 60.0
    n = max(1, math.floor(load) + 1)
    while True:
        sl = 1 - erlang_c_wait_probability(n, load) * math.exp(-(n - load) * target_minutes / handle_minutes)
        if sl >= service_level:
            return n
        n += 1


@dataclass
class StaffingPlan:
    """Tickets per hour forecast and agents needed per hour of the day (Erlang C)."""

    plan: pd.DataFrame          # hour, tickets_per_hour, low, high (80% Poisson band), agents, agents_high
    weeks: int                  # weeks of history the forecast averages
    forecast_weeks: int
    handle_minutes: float
    target_minutes: float
    service_level: float
    n: int                      # tickets in the history used
    method: str = ("forecast = mean tickets in each hour of the day over the last weeks, scaled by the "
                   "ratio of the last 4 weeks to the whole window (trend); agents by Erlang C")


def staffing(ds: Dataset, f: Filters, weeks: int = 8, forecast_weeks: int = 2, handle_minutes: float = 10.0,
             target_minutes: float = 5.0, service_level: float = 0.8, peak_day: bool = True) -> StaffingPlan:
    """Tickets per hour of the day expected in the coming weeks and the agents needed to answer them.

    The forecast takes the ``weeks`` up to the period's end: for each hour of the day the mean tickets
    per day (over all days, or on the busiest weekday when ``peak_day``), times the ratio of the last
    four weeks' daily volume to the window's (a simple trend). Agents per hour come from Erlang C with
    ``handle_minutes`` of work per ticket (the data holds no handling time: an assumption to set) so that
    ``service_level`` of tickets get a first answer within ``target_minutes``; ``agents_high`` covers the
    upper 80% Poisson band of arrivals. Raises :class:`EmptyPeriodError` without tickets in the window.
    """
    start = f.end - dt.timedelta(weeks=weeks) + dt.timedelta(days=1)
    window = Filters(start=start, end=f.end, channels=f.channels)
    daily = ds.sql(f"""
        SELECT CAST(created_at AS DATE) AS day, hour(created_at) AS hour, count(*) AS tickets
        FROM tickets WHERE {_where(window)} GROUP BY ALL
    """)
    if daily.empty:
        raise EmptyPeriodError(f"no tickets in the {weeks} weeks before {f.end}; choose a later period")
    days = pd.DataFrame({"day": pd.date_range(start, f.end, freq="D").date})
    grid = days.merge(pd.DataFrame({"hour": range(24)}), how="cross")
    daily["day"] = pd.to_datetime(daily["day"]).dt.date
    grid = grid.merge(daily, on=["day", "hour"], how="left").fillna({"tickets": 0})
    per_day = grid.groupby("day")["tickets"].sum()
    recent = per_day[per_day.index > f.end - dt.timedelta(weeks=4)].mean()
    trend = recent / per_day.mean() if per_day.mean() > 0 else 1.0
    if peak_day:
        wd = pd.to_datetime(grid["day"]).dt.day_of_week
        busiest = per_day.groupby(pd.to_datetime(per_day.index).day_of_week).mean().idxmax()
        grid = grid[wd == busiest]
    rate = grid.groupby("hour")["tickets"].mean() * trend
    from scipy import stats as sps
    low = sps.poisson.ppf(0.1, rate.to_numpy())
    high = np.maximum(sps.poisson.ppf(0.9, rate.to_numpy()), rate.to_numpy())
    plan = pd.DataFrame({"hour": rate.index, "tickets_per_hour": rate.to_numpy(), "low": low, "high": high})
    plan["agents"] = [agents_needed(r, handle_minutes, target_minutes, service_level) for r in plan["tickets_per_hour"]]
    plan["agents_high"] = [agents_needed(r, handle_minutes, target_minutes, service_level) for r in plan["high"]]
    return StaffingPlan(plan, weeks, forecast_weeks, handle_minutes, target_minutes, service_level,
                        int(daily["tickets"].sum()))


def wilson(k: int, n: int) -> tuple[float, float]:
    """95% Wilson interval of k successes out of n as two floats."""
    lo, hi = wilson_interval(k, n)
    return float(lo), float(hi)


