"""Logistics: on-time delivery, delivery times, lost and damaged parcels, cost, returns, and what lateness costs.

Functions take a :class:`~workbench.data.loader.Dataset` and :class:`~workbench.sql.filters.Filters`
and return tidy frames or small results whose figures are :class:`~workbench.stats.result.Estimate`;
the notebook ``06_logistics`` draws and words them. The queries are in :mod:`workbench.sql.logistics`,
the estimators in :mod:`workbench.stats` (Wilson intervals, :mod:`workbench.stats.effects`).

Definitions used throughout:

``on_time``       delivered no later than promised (the registry's on-time KPI, by order date,
                  valid orders; :func:`workbench.topics.kpi.kpi` ``"on_time_rate"`` gives the headline)
``on_time_rate``  on-time shipments / delivered shipments (lost, damaged and in-transit parcels are
                  counted separately as ``lost_rate`` and ``damaged_rate`` over all shipments)
``delivery_days`` ``delivered_at - shipped_at`` in days
``late_days``     ``delivered_at - promised_at`` in days, when positive
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from workbench.data import schema
from workbench.data.loader import Dataset
from workbench.errors import EmptyPeriodError
from workbench.sql import logistics as q
from workbench.sql.filters import Filters
from workbench.stats.effects import (
    LATENESS_CATEGORICAL,
    LATENESS_CONTROLS,
    Effect,
    floor_thinning_drop,
    late_repeat_effect,
    no_effect,
    regression_effect,
)
from workbench.stats.intervals import add_rate_interval
from workbench.stats.ratio import clustered_share
from workbench.stats.result import Estimate

SHIP_COLS = ["carrier", "warehouse", "shipped_at", "promised_at", "delivered_at", "status"]
NEEDS = {"shipments": SHIP_COLS, "orders": ["ordered_at", "channel"]}
NEEDS_REGION = {"shipments": SHIP_COLS, "orders": ["ordered_at", "channel", "region"]}
NEEDS_COST = {"shipments": SHIP_COLS + ["shipping_cost_cny"], "orders": ["ordered_at", "channel"]}
NEEDS_REVIEW_EFFECT = {"shipments": SHIP_COLS, "orders": ["ordered_at", "channel", "customer_id", "paid_amount"],
                       "reviews": ["order_id", "rating"]}
NEEDS_REPEAT_EFFECT = {"shipments": SHIP_COLS, "orders": ["ordered_at", "channel", "customer_id", "paid_amount"]}
NEEDS_RETURNS = {"returns": ["order_id", "reason", "refund_amount", "currency", "requested_at"],
                 "orders": ["ordered_at", "channel"]}
NEEDS_RETURNS_CATEGORY = {"returns": ["order_id", "product_id", "reason"], "orders": ["ordered_at", "channel"],
                          "order_items": ["product_id", "quantity"], "products": ["category"]}

#: Rows of orders at most used to fit a lateness model (a reproducible subset beyond that).
MODEL_ROWS = 400_000
#: Fewest delivered parcels for a group's rate to be named in a finding.
MIN_DELIVERED = 30


def share(successes: float, trials: float, level: float = 0.95, min_n: int = 10) -> Estimate:
    """A share of counts with its Wilson interval (``Estimate.proportion``)."""
    return Estimate.proportion(float(successes), float(trials), level=level, min_n=min_n)


def on_time_by(ds: Dataset, f: Filters, by: str = "carrier", exclude: list[tuple[str, str]] | None = None,
               level: float = 0.95) -> pd.DataFrame:
    """On-time, late, lost and damaged rates, delivery times and cost per shipment, per ``by``.

    ``by`` is ``carrier``, ``warehouse``, ``region`` (the order's destination region) or ``channel``.
    Returns one row per group with ``shipments``, ``delivered``, ``on_time`` (the on-time KPI's
    numerator and denominator per group), ``on_time_rate`` with its interval at ``level``
    (``on_time_rate_low``/``_high``: Wilson on the effective n, clustered by order day, see
    :func:`workbench.stats.ratio.clustered_share`; ``on_time_method`` names it), ``late_rate`` (late / delivered), ``lost_rate`` and
    ``damaged_rate`` (over all shipments, Wilson intervals), ``mean_days``, ``median_days``,
    ``p90_days`` and ``cost_per_order`` (NaN without shipping costs); worst on-time rate first.
    Empty when no shipment falls in the filters. ``exclude`` lists (first, last) ISO order dates to
    leave out (e.g. Spring Festival slowdowns).
    """
    frame = q.shipments_by(ds, f, by, exclude or (), with_cost=ds.has("shipments", ["shipping_cost_cny"]))
    if frame.empty:
        return frame
    frame = frame.astype({"shipments": int, "delivered": int, "on_time": int, "lost": int, "damaged": int})
    frame = add_rate_interval(frame, "on_time", "delivered", "on_time_rate", level)
    frame = _cluster_by_day(ds, f, by, exclude or (), frame, level)
    frame = add_rate_interval(frame, "lost", "shipments", "lost_rate", level)
    frame = add_rate_interval(frame, "damaged", "shipments", "damaged_rate", level)
    frame["late_rate"] = 1 - frame["on_time_rate"]
    return frame.sort_values("on_time_rate").reset_index(drop=True)


def _cluster_by_day(ds: Dataset, f: Filters, by: str, exclude, frame: pd.DataFrame, level: float) -> pd.DataFrame:
    """Replace the Wilson on-time intervals by day-clustered ones (:func:`workbench.stats.ratio.clustered_share`).

    Parcels ordered on the same day share the day's weather, volume and warehouse backlog, so they are
    not independent trials: the interval uses the spread of the daily on-time counts (order days are the
    clusters) and widens where the days differ more than binomial noise says.
    """
    daily = q.on_time_by_period(ds, f, by, "day", exclude)
    low, high, method = [], [], []
    for group in frame[by]:
        d = daily[daily[by] == group]
        est = clustered_share(d["on_time"].to_numpy(float), d["delivered"].to_numpy(float), level=level)
        low.append(est.low)
        high.append(est.high)
        method.append(est.method)
    return frame.assign(on_time_rate_low=np.asarray(low, dtype=float), on_time_rate_high=np.asarray(high, dtype=float),
                        on_time_method=method)


def row_rate(row: pd.Series, k: str = "on_time", n: str = "delivered", level: float = 0.95) -> Estimate:
    """The share ``row[k] / row[n]`` of one table row as an Estimate.

    For the on-time rate of an :func:`on_time_by` row the row's own (day-clustered) interval is used,
    so a finding reads the same interval as the chart; otherwise a Wilson interval at ``level``.
    """
    if k == "on_time" and "on_time_method" in row.index and np.isfinite(row.get("on_time_rate_low", np.nan)):
        return Estimate(float(row[k]) / float(row[n]), float(row["on_time_rate_low"]), float(row["on_time_rate_high"]),
                        level=level, n=int(row[n]), method=str(row["on_time_method"]), unit="share", min_n=10)
    return share(row[k], row[n], level)


@dataclass(frozen=True)
class Worst:
    """The group with the lowest on-time rate among those with enough delivered parcels."""

    name: str | None
    rate: Estimate
    groups: int


def worst_group(table: pd.DataFrame, by: str, min_delivered: int = MIN_DELIVERED) -> Worst:
    """The worst group of an :func:`on_time_by` table with at least ``min_delivered`` delivered parcels."""
    enough = table[table["delivered"] >= min_delivered] if len(table) else table
    if enough.empty:
        return Worst(None, Estimate(np.nan, n=0, method="wilson", unit="share"), 0)
    w = enough.iloc[0]
    return Worst(str(w[by]), row_rate(w), len(enough))


def delivery_time_distribution(ds: Dataset, f: Filters, by: str = "carrier", bin_days: float = 0.5,
                               max_days: float = 15.0) -> pd.DataFrame:
    """Histogram of delivery times per ``by`` (carrier or warehouse).

    Returns ``by``, ``delivery_days`` (bin start, days; the last bin holds everything above
    ``max_days``), ``shipments`` and ``share`` (of the group's delivered shipments).
    """
    frame = q.delivery_histogram(ds, f, by, bin_days, max_days)
    if frame.empty:
        return frame.assign(share=pd.Series(dtype=float))
    return frame.assign(share=frame["shipments"] / frame.groupby(by)["shipments"].transform("sum"))


def outcome_mix(ds: Dataset, f: Filters, by: str = "carrier") -> pd.DataFrame:
    """Share of shipments per outcome (on_time, late, lost, damaged, in_transit) per ``by``.

    Returns ``by``, ``outcome``, ``shipments`` and ``share`` (of the group's shipments).
    """
    frame = q.outcome_counts(ds, f, by)
    if frame.empty:
        return frame.assign(share=pd.Series(dtype=float))
    return frame.assign(share=frame["shipments"] / frame.groupby(by)["shipments"].transform("sum"))


@dataclass(frozen=True)
class Parcels:
    """Lost or damaged parcels over all shipments, and the typical delivery time."""

    lost_damaged: Estimate   # share of shipments lost or damaged (Wilson)
    lost: int                # lost + damaged parcels
    shipments: int
    median_days: float       # median delivery days, weighted over groups by delivered parcels


def parcels(table: pd.DataFrame, level: float = 0.95) -> Parcels:
    """Lost/damaged share and typical delivery time from an :func:`on_time_by` table."""
    n = int(table["shipments"].sum()) if len(table) else 0
    lost = int(table["lost"].sum() + table["damaged"].sum()) if len(table) else 0
    med = float((table["median_days"] * table["delivered"]).sum() / max(table["delivered"].sum(), 1)) if n else np.nan
    return Parcels(share(lost, n, level), lost, n, med)


@dataclass(frozen=True)
class Scorecard:
    """Carriers ranked on on-time rate, speed, loss and cost; ``worst`` is the lowest overall.

    ``method`` is the key ``scorecard-z``: score = 0.4 × z(on-time rate) − 0.2 × z(median days) −
    0.2 × z(lost + damaged rate) − 0.2 × z(cost per order), z-scores across carriers, domestic
    parcels only. ``worst_rate`` is the worst carrier's on-time rate.
    """

    table: pd.DataFrame
    best: str | None
    worst: str | None
    worst_clearly_last: bool
    worst_rate: Estimate
    n: int
    method: str = "scorecard-z"


SCORE_WEIGHTS = {"on_time_rate": 0.4, "median_days": -0.2, "loss_rate": -0.2, "cost_per_order": -0.2}


def carrier_scorecard(ds: Dataset, f: Filters, min_shipments: int = 30, domestic_only: bool = True) -> Scorecard:
    """Rank carriers on on-time rate, speed, loss and cost (weighted z-scores, see :class:`Scorecard`).

    Carriers with fewer than ``min_shipments`` delivered parcels are left out. With ``domestic_only``
    cross-border orders are left out (their carriers are compared in the cross-border notebook).
    ``worst_clearly_last`` says whether the worst carrier's on-time interval lies wholly below every
    other carrier's. The table holds ``score``, ``score_rank`` and the ranks per measure
    (``rank_on_time``, ``rank_speed``, ``rank_loss``, ``rank_cost``; 1 = best). Raises
    :class:`EmptyPeriodError` when no carrier has enough shipments.
    """
    if domestic_only:
        chans = tuple(c for c in (f.channels or schema.CHANNELS) if c != "cross_border")
        f = replace(f, channels=chans)
    table = on_time_by(ds, f, "carrier")
    if table.empty or (table["delivered"] >= min_shipments).sum() == 0:
        raise EmptyPeriodError("too few shipments in the chosen period and channels to rank carriers; "
                               "choose a longer period or more channels")
    table = table[table["delivered"] >= min_shipments].copy()
    table["loss_rate"] = (table["lost"] + table["damaged"]) / table["shipments"]
    table["rank_on_time"] = table["on_time_rate"].rank(ascending=False, method="min")
    table["rank_speed"] = table["median_days"].rank(ascending=True, method="min")
    table["rank_loss"] = table["loss_rate"].rank(ascending=True, method="min")
    table["rank_cost"] = table["cost_per_order"].rank(ascending=True, method="min")
    score = pd.Series(0.0, index=table.index)
    for col, weight in SCORE_WEIGHTS.items():
        x = table[col].astype(float)
        if x.notna().sum() < 2 or not x.std(ddof=0) > 0:
            continue
        score += weight * ((x - x.mean()) / x.std(ddof=0)).fillna(0.0)
    table["score"] = score
    table = table.sort_values(["score", "rank_on_time"], ascending=[False, True]).reset_index(drop=True)
    table["score_rank"] = np.arange(1, len(table) + 1)
    worst = table.iloc[-1]
    others = table.iloc[:-1]
    clearly = bool(len(others)) and bool((worst["on_time_rate_high"] < others["on_time_rate_low"]).all())
    return Scorecard(table, str(table.iloc[0]["carrier"]), str(worst["carrier"]), clearly, row_rate(worst),
                     int(table["shipments"].sum()))


def daily_on_time(ds: Dataset, f: Filters, by: str = "carrier", freq: str = "week") -> pd.DataFrame:
    """On-time rate per week (or day/month) and ``by``, with Wilson intervals: ``period``, ``by``, rates."""
    return add_rate_interval(q.on_time_by_period(ds, f, by, freq), "on_time", "delivered", "on_time_rate")


# ----- what lateness costs ------------------------------------------------------------------------

#: Controls of the lateness models (one definition, in :mod:`workbench.stats.effects`).
CATEGORICAL = LATENESS_CATEGORICAL
CONTROLS = LATENESS_CONTROLS


def order_lateness_frame(ds: Dataset, repeat_window_days: int = 365, rows: int = MODEL_ROWS) -> pd.DataFrame:
    """One row per delivered shipment (all history): lateness, the order's controls and its outcomes.

    The columns of :func:`workbench.sql.logistics.lateness_orders`; the same frame feeds the CRM
    page's late-delivery effect.
    """
    return q.lateness_orders(ds, repeat_window_days, rows)


def _fit_effect(frame: pd.DataFrame, outcome: str, treatment: str, controls: tuple[str, ...],
                logit: bool = False) -> Effect:
    return regression_effect(frame, outcome, treatment, controls, CATEGORICAL, logit=logit)


def lateness_effect_on_rating(ds: Dataset | None, treatment: str = "late",
                              frame: pd.DataFrame | None = None) -> Effect:
    """Effect of a late delivery on the order's review rating (stars), with controls.

    OLS of rating on ``late`` (or ``late_days`` / ``late_days_capped``: stars per day late) with
    channel, order month, log order value, the customer's prior orders and damage as controls,
    HC1 interval (``method="ols-hc1"``), over all reviewed, delivered orders. The carrier is not a
    control: it acts through lateness. ``frame`` (from :func:`order_lateness_frame`) saves a query.
    """
    frame = order_lateness_frame(ds) if frame is None else frame
    effect = _fit_effect(frame, "rating", treatment, CONTROLS)
    return replace(effect, value=replace(effect.value, unit="stars"))


def lateness_effect_on_repeat(ds: Dataset | None, window_days: int = 365, treatment: str = "late",
                              frame: pd.DataFrame | None = None, odds_ratio: bool = False) -> Effect:
    """Effect of a late delivery on the chance the customer orders again within ``window_days``.

    Linear probability model (``ols-hc1``; the estimate is a difference in probability, −0.05 =
    five points less likely; unit ``points``) with the rating model's controls plus the acquisition
    channel; with ``odds_ratio`` a logistic regression (``logit-hc1``; 0.6 = the odds of buying
    again fall by 40%). Orders whose window runs past the end of the data are left out.
    This is the one definition of the late-delivery → repeat effect; the CRM page uses it too.
    """
    frame = order_lateness_frame(ds, window_days) if frame is None else frame
    return late_repeat_effect(frame, odds_ratio, treatment)


def lateness_outcomes_by_days(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean rating and repeat rate by how late the order arrived (on_time, <1d, 1-2d, 2-4d, 4d+).

    ``frame`` is :func:`order_lateness_frame`'s result. Returns ``late_bucket`` (those keys),
    ``orders``, ``rating``, ``rating_n``, ``repeat_rate`` with Wilson intervals
    (``repeat_rate_low``/``_high``) and ``repeat_n``: the raw picture behind the models.
    """
    if frame.empty:
        return pd.DataFrame()
    bins = [-0.1, 0, 1, 2, 4, np.inf]
    names = ["on_time", "<1d", "1-2d", "2-4d", "4d+"]
    frame = frame.assign(late_bucket=pd.cut(frame["late_days"].where(frame["late"] == 1, 0), bins, labels=names))
    g = frame.groupby("late_bucket", observed=True)
    out = pd.DataFrame({
        "orders": g.size(),
        "rating": g["rating"].mean(),
        "rating_n": g["rating"].count(),
        "repeats": g["repeat"].sum(),
        "repeat_n": g["repeat"].count(),
    }).reset_index()
    out["late_bucket"] = out["late_bucket"].astype(str)
    return add_rate_interval(out, "repeats", "repeat_n", "repeat_rate")


def rating_drop_per_late_day(frame: pd.DataFrame, by: str = "channel") -> Effect:
    """Stars lost per day late, corrected for the 1-star floor (:func:`~workbench.stats.effects.floor_thinning_drop`).

    Base ratings per ``by`` group (the control); ``frame`` is :func:`order_lateness_frame`'s result.
    """
    data = frame.dropna(subset=["rating"])
    if data.empty:
        return no_effect("rating", "thinning-ml", 0, "stars")
    return floor_thinning_drop(data["late_days_capped"].to_numpy(), data["rating"].to_numpy(),
                               data["damaged"].to_numpy(), data[by].to_numpy())


@dataclass(frozen=True)
class LatenessCost:
    """What lateness costs, fitted once on the whole history: the effects and the raw buckets."""

    rating: Effect                # stars per late order (binary), OLS with controls
    rating_per_day: Effect        # stars per day late (rounded up, capped at 5), OLS with controls
    rating_per_day_floor: Effect  # the same, corrected for the 1-star floor (thinning model)
    repeat: Effect                # difference in probability of buying again (points)
    repeat_odds: Effect           # odds ratio of buying again
    by_days: pd.DataFrame
    window_days: int


def lateness_cost(ds: Dataset, window_days: int = 365) -> LatenessCost:
    """Both lateness effects (rating, repeat within ``window_days``) and the by-days table, one query."""
    frame = order_lateness_frame(ds, window_days)
    return LatenessCost(lateness_effect_on_rating(ds, frame=frame),
                        lateness_effect_on_rating(ds, "late_days_capped", frame=frame),
                        rating_drop_per_late_day(frame),
                        lateness_effect_on_repeat(ds, window_days, frame=frame),
                        lateness_effect_on_repeat(ds, window_days, frame=frame, odds_ratio=True),
                        lateness_outcomes_by_days(frame), window_days)


# ----- returns ------------------------------------------------------------------------------------

def returns_by(ds: Dataset, f: Filters, by: str = "channel") -> pd.DataFrame:
    """Return rate and refunds per ``by`` (``channel`` or ``category``) for orders of the period.

    For ``channel``: ``orders`` (valid orders), ``returned_orders``, ``return_rate`` with Wilson
    interval, ``refund_cny``, ``refund_share`` (of GMV). For ``category``: per category of the
    returned product, ``lines`` sold, ``returns`` (return rows), ``return_rate`` = returns / order
    lines of that category; highest return rate first.
    """
    if by == "category":
        frame = q.returns_by_category(ds, f)
        frame["returns"] = np.minimum(frame["returns"], frame["lines"])
        return add_rate_interval(frame, "returns", "lines", "return_rate").sort_values(
            "return_rate", ascending=False).reset_index(drop=True)
    if by != "channel":
        raise ValueError(f"returns_by: by must be 'channel' or 'category', not {by!r}")
    frame = q.returns_by_channel(ds, f)
    frame["refund_share"] = frame["refund_cny"] / frame["gmv"].where(frame["gmv"] > 0)
    return add_rate_interval(frame, "returned_orders", "orders", "return_rate").sort_values(
        "return_rate", ascending=False).reset_index(drop=True)


def return_reasons(ds: Dataset, f: Filters, by: str = "channel") -> pd.DataFrame:
    """Returns per reason and channel: ``channel``, ``reason``, ``returns``, ``refund_cny``, ``share``."""
    frame = q.return_reasons(ds, f)
    if frame.empty:
        return frame.assign(share=pd.Series(dtype=float))
    return frame.assign(share=frame["returns"] / frame.groupby("channel")["returns"].transform("sum"))


@dataclass(frozen=True)
class Returns:
    """Share of the period's orders returned, the refund total and the most common reason (a key)."""

    rate: Estimate
    refund_cny: float
    top_reason: str | None


def returns_summary(by_channel: pd.DataFrame, reasons: pd.DataFrame, level: float = 0.95) -> Returns:
    """The period's return rate (Wilson), refunds and top reason from :func:`returns_by` and :func:`return_reasons`."""
    n, k = int(by_channel["orders"].sum()), int(by_channel["returned_orders"].sum())
    top = None
    if len(reasons):
        top = str(reasons.groupby("reason")["returns"].sum().sort_values(ascending=False).index[0])
    return Returns(share(k, n, level), float(by_channel["refund_cny"].sum()), top)
