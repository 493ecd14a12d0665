"""Social commerce: KOLs and livestreams, their payback, incrementality, private traffic and referrals.

Functions take a :class:`~workbench.data.loader.Dataset` and :class:`~workbench.sql.filters.Filters`
and return tidy frames or small results carrying :class:`~workbench.stats.result.Estimate`s; the
notebook ``08_social_commerce`` draws and words them. Queries live in :mod:`workbench.sql.social`.

Definitions:

``gmv``         valid orders attributed to the KOL (``orders.kol_id``) or the livestream, CNY
``cost``        fixed livestream fees (``livestreams.fee_cny``) + commission
                (``kols.commission_rate`` × attributed GMV)
``roi``         GMV / cost (投产比, the way Chinese operations teams quote it; 3.0 = ¥3 of sales per ¥1)
``conversion``  attributed orders / unique viewers of the streams
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data.loader import Dataset
from workbench.errors import EmptyPeriodError
from workbench.sql import social as sql
from workbench.sql.calendar import campaign_days
from workbench.sql.filters import Filters
from workbench.stats.bootstrap import payback_ratio_interval
from workbench.stats.matching import MatchedDifference, matched_difference
from workbench.stats.means import mean_t, total_t
from workbench.stats.result import Estimate

NEEDS_KOL = {"orders": ["kol_id", "paid_amount", "ordered_at", "channel", "customer_id"],
             "kols": ["kol_id", "handle"]}
NEEDS_STREAM = {"orders": ["livestream_id", "paid_amount", "ordered_at", "channel"],
                "livestreams": sql.STREAM_COLUMNS}
NEEDS_PRIVATE = {"orders": ["customer_id", "ordered_at", "channel", "source", "paid_amount"]}
NEEDS_REFERRAL = {"orders": ["referrer_customer_id", "customer_id", "ordered_at", "channel", "paid_amount"]}

N_BOOT = 1000


@dataclass(frozen=True)
class KolRanking:
    """KOLs ranked by ROI with bootstrap intervals; ``best``/``worst`` (kol ids) and whether they stand apart.

    ``table`` columns: ``kol_id``, ``handle``, ``tier``, ``streams``, ``units``, ``viewers``,
    ``orders``, ``gmv``, ``fee``, ``commission``, ``cost``, ``roi``, ``roi_low``, ``roi_high``,
    ``conversion``, ``new_customers``, ``return_rate``, ``rank``; sorted by ROI, best first.
    ``method`` key ``bootstrap-units``: percentile bootstrap resampling the KOL's livestreams (and
    weeks of off-stream sales).
    """

    table: pd.DataFrame
    best: str | None
    worst: str | None
    best_clearly_first: bool
    worst_clearly_last: bool
    n_streams: int
    level: float = 0.95
    method: str = "bootstrap-units"

    def roi(self, kol_id: str) -> Estimate:
        """The ROI of one KOL as an Estimate (n = paying units: streams and weeks of sales)."""
        r = self.table[self.table["kol_id"] == kol_id].iloc[0]
        return Estimate(r["roi"], r["roi_low"], r["roi_high"], level=self.level, n=int(r["units"]),
                        method=self.method, unit="ratio", bounds=(0.0, float("inf")), min_n=0)


def kol_ranking(ds: Dataset, f: Filters, min_units: int = 3, n_boot: int = N_BOOT, seed: int = 0,
                level: float = 0.95) -> KolRanking:
    """Per KOL: streams, viewers, orders, GMV, fee, commission, cost, ROI with interval, new customers, returns.

    KOLs with fewer than ``min_units`` paying units (streams or weeks of sales) get no interval and are
    not ranked. Raises :class:`EmptyPeriodError` when no KOL sold in the period.
    """
    units = sql.stream_units(ds, f)
    if units.empty or units["gmv"].sum() == 0:
        raise EmptyPeriodError("no KOL-attributed sales in the chosen period and channels; choose a longer period")
    kols = sql.kols(ds)
    if "commission_rate" not in kols:
        kols["commission_rate"] = 0.0
    kols["commission_rate"] = kols["commission_rate"].fillna(0.0)
    units = units.merge(kols[["kol_id", "commission_rate"]], on="kol_id", how="left").fillna({"commission_rate": 0.0})
    # the bootstrap draws rows by position: the same rows in the same order on every engine
    units = units.sort_values(["kol_id", "unit"], kind="stable").reset_index(drop=True)
    rng = np.random.default_rng(seed)
    rows = []
    for kol, g in units.groupby("kol_id", sort=True):
        rate = float(g["commission_rate"].iloc[0])
        gmv, fee = g["gmv"].to_numpy(float), g["fee"].to_numpy(float)
        commission = rate * gmv.sum()
        cost = fee.sum() + commission
        low, high = (payback_ratio_interval(gmv, fee, rate, n_boot, rng, level) if len(g) >= min_units
                     else (np.nan, np.nan))
        streams = g[g["is_stream"]]
        viewers = streams["viewers"].sum()
        rows.append({"kol_id": kol, "streams": len(streams), "units": len(g), "viewers": int(viewers),
                     "orders": int(g["orders"].sum()), "gmv": gmv.sum(), "fee": fee.sum(), "commission": commission,
                     "cost": cost, "roi": gmv.sum() / cost if cost > 0 else np.nan, "roi_low": low, "roi_high": high,
                     "conversion": streams["orders"].sum() / viewers if viewers else np.nan,
                     "new_customers": int(g["new_customers"].sum()),
                     "return_rate": g["returned"].sum() / g["orders"].sum() if g["orders"].sum() else np.nan})
    table = pd.DataFrame(rows).merge(kols.drop(columns="commission_rate"), on="kol_id", how="left")
    if "handle" not in table:
        table["handle"] = table["kol_id"]
    table["handle"] = table["handle"].fillna(table["kol_id"])
    table = table.sort_values("roi", ascending=False, na_position="last").reset_index(drop=True)
    ranked = table[table["roi_low"].notna()]
    table["rank"] = table["roi"].where(table["roi_low"].notna()).rank(ascending=False, method="min")
    best = worst = None
    best_clear = worst_clear = False
    if len(ranked) >= 2:
        b, w = ranked.iloc[0], ranked.iloc[-1]
        best, worst = str(b["kol_id"]), str(w["kol_id"])
        best_clear = bool((b["roi_low"] > ranked.iloc[1:]["roi_high"]).all())
        worst_clear = bool((w["roi_high"] < ranked.iloc[:-1]["roi_low"]).all())
    return KolRanking(table, best, worst, best_clear, worst_clear, int(table["streams"].sum()), level)


def livestream_table(ds: Dataset, f: Filters) -> pd.DataFrame:
    """One row per livestream of the period: ``livestream_id``, ``kol_id``, ``handle``, ``channel``,
    ``date``, ``viewers``, ``orders``, ``gmv``, ``fee``, ``conversion`` (orders / viewers),
    ``gmv_per_viewer``; sorted by GMV, largest first."""
    frame = sql.livestreams(ds, f)
    frame["conversion"] = frame["orders"] / frame["viewers"].where(frame["viewers"] > 0)
    frame["gmv_per_viewer"] = frame["gmv"] / frame["viewers"].where(frame["viewers"] > 0)
    return frame


def stream_conversion(streams: pd.DataFrame, level: float = 0.95) -> Estimate:
    """Attributed orders over viewers of the streams in ``streams`` (Wilson; n = viewers)."""
    orders, viewers = float(streams["orders"].sum()), float(streams["viewers"].sum())
    return Estimate.proportion(min(orders, viewers), viewers, level=level)


# ----- incrementality ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Incrementality:
    """Channel GMV on stream days and the days after, against a baseline of comparable days.

    ``during`` and ``after`` are money Estimates (t interval from the spread of per-day lifts,
    n = stream days); ``attributed`` is the GMV attributed to the streams on those days. Method
    key ``lift-same-weekday``: baseline = mean channel GMV on the same weekday within ±``weeks``
    weeks on days with no stream that day or the ``after_days`` before and outside campaigns.
    """

    per_stream_day: pd.DataFrame  # channel, date, gmv, baseline, lift_during, lift_after, attributed_gmv
    during: Estimate
    after: Estimate
    attributed: float
    n_days: int
    after_days: int
    weeks: int
    method: str = "lift-same-weekday"


def incrementality(ds: Dataset, f: Filters, after_days: int = 3, weeks: int = 5,
                   level: float = 0.95) -> Incrementality:
    """Sales during and after livestreams against a baseline of comparable days (see the result).

    For each channel-day of the period with a livestream (streams sharing a day are pooled), the
    lift is the channel's GMV minus the baseline; ``after`` sums the lifts of the ``after_days``
    following days. Campaign days (:func:`workbench.sql.calendar.campaign_days`) are neither
    baseline nor judged. Raises :class:`EmptyPeriodError` when no stream falls in the period.
    """
    streams = sql.stream_days(ds)
    streams["date"] = pd.to_datetime(streams["date"])
    daily = sql.channel_daily(ds)
    daily["date"] = pd.to_datetime(daily["date"])
    in_campaign = pd.DatetimeIndex(campaign_days(ds)["date"])
    out = []
    for chan, s in streams.groupby("channel"):
        d = daily[daily["channel"] == chan].set_index("date")[["gmv", "attributed_gmv"]]
        if d.empty:
            continue
        cal = pd.DataFrame(index=pd.date_range(d.index.min(), d.index.max(), freq="D")).join(d).fillna(0.0)
        stream_day = cal.index.isin(s["date"])
        campaign = cal.index.isin(in_campaign)
        touched = pd.Series(stream_day, index=cal.index).astype(float).rolling(after_days + 1, min_periods=1).max() > 0
        clean = (~touched) & (~campaign)
        cal["clean_gmv"] = cal["gmv"].where(clean)
        # same-weekday mean of clean days within ±weeks (excluding the day itself, which is never clean here)
        base = pd.Series(np.nan, index=cal.index)
        for wd in range(7):
            sub = cal[cal.index.day_of_week == wd]["clean_gmv"]
            roll = sub.rolling(2 * weeks + 1, center=True, min_periods=2).mean()
            base.loc[roll.index] = roll
        cal["baseline"] = base
        cal["lift"] = cal["gmv"] - cal["baseline"]
        in_period = (cal.index >= pd.Timestamp(f.start)) & (cal.index <= pd.Timestamp(f.end))
        for day in cal.index[stream_day & in_period & ~campaign]:
            nxt = cal.loc[day + pd.Timedelta(days=1): day + pd.Timedelta(days=after_days)]
            nxt = nxt[~nxt.index.isin(s["date"])]
            out.append({"channel": chan, "date": day, "gmv": cal.at[day, "gmv"], "baseline": cal.at[day, "baseline"],
                        "lift_during": cal.at[day, "lift"], "lift_after": nxt["lift"].sum(min_count=1),
                        "attributed_gmv": cal.at[day, "attributed_gmv"]})
    per = pd.DataFrame(out, columns=["channel", "date", "gmv", "baseline", "lift_during", "lift_after",
                                     "attributed_gmv"])
    if f.channels:
        per = per[per["channel"].isin(f.channels)]
    per = per.dropna(subset=["lift_during"])
    if per.empty:
        raise EmptyPeriodError("no livestream with a usable baseline in the chosen period and channels")
    during = total_t(per["lift_during"], level, "money")
    after = total_t(per["lift_after"], level, "money")
    return Incrementality(per.reset_index(drop=True), during, after, float(per["attributed_gmv"].sum()), len(per),
                          after_days, weeks)


# ----- fair comparisons (exact matching) --------------------------------------------------------

def private_traffic_effect(ds: Dataset, landmark_days: int = 30, horizon_days: int = 180,
                           level: float = 0.95) -> dict[str, MatchedDifference]:
    """Repurchase and value of customers reached in private traffic against matched others (whole history).

    Landmark design, so that buying more does not itself make a customer "reached": a customer is
    *reached* when an order in their first ``landmark_days`` came through private traffic
    (``source = 'private_traffic'`` or the WeChat mini-program). Outcomes are measured after the
    landmark, over ``horizon_days``: ``repeat`` (any further valid order; a difference in
    ``points``) and ``value`` (GMV, ``money``). Reached and other customers are matched exactly on
    first-purchase month, first channel and first-order value quartile.
    """
    units = {"repeat": "points", "value": "money"}
    return {y: matched_difference(sql.private_traffic_strata(ds, y, landmark_days, horizon_days), y, units[y], level)
            for y in ("repeat", "value")}


# ----- referrals ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Referrals:
    """How many orders a sharing customer brings: ``per_referrer`` (t interval, n = sharers) and totals."""

    referred_orders: int
    referred_gmv: float
    share_of_orders: float
    referrers: int
    per_referrer: Estimate
    new_customer_share: float
    distribution: pd.DataFrame  # orders_brought (10 = 10 or more), referrers


def referrals(ds: Dataset, f: Filters, level: float = 0.95) -> Referrals:
    """Orders brought by shares (``orders.referrer_customer_id``) in the period.

    The data model records who shared, not each share, so "orders per share" is estimated as
    orders per sharing customer. ``new_customer_share`` is the share of referred orders that were
    the buyer's first. Raises :class:`EmptyPeriodError` when no order in the period came through a share.
    """
    per = sql.referrers(ds, f)
    if per.empty:
        raise EmptyPeriodError("no orders came through a customer's share in the chosen period and channels")
    total = sql.valid_orders(ds, f)
    x = per["orders"].to_numpy(float)
    dist = per.assign(orders_brought=np.minimum(per["orders"], 10)).groupby("orders_brought").size() \
        .rename("referrers").reset_index()
    return Referrals(int(x.sum()), float(per["gmv"].sum()), float(x.sum() / total) if total else float("nan"),
                     len(x), mean_t(x, level, "number", bounds=(1.0, float("inf"))),
                     float(per["new_orders"].sum() / x.sum()), dist)
