"""Omnichannel: channel mix and margin, multi-channel customers, online-offline orders, price
consistency across channels and cannibalisation by a new channel.

Functions take a :class:`~workbench.data.loader.Dataset` and :class:`~workbench.sql.filters.Filters`
and return tidy frames or small results carrying :class:`~workbench.stats.result.Estimate`s; the
notebook ``07_omnichannel`` draws and words them. Queries live in :mod:`workbench.sql.omnichannel`;
fair comparisons of customers use exact matching (:mod:`workbench.stats.matching`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data.loader import Dataset
from workbench.errors import EmptyPeriodError
from workbench.sql import omnichannel as sql
from workbench.sql.filters import Filters
from workbench.stats.matching import MatchedDifference, matched_difference
from workbench.stats.price_gap import index_gap, mean_interval, mean_se, ratio_gap
from workbench.stats.result import Estimate

NEEDS_MIX = {"orders": ["paid_amount", "ordered_at", "channel"]}
NEEDS_CUSTOMERS = {"orders": ["customer_id", "ordered_at", "channel", "paid_amount"]}
NEEDS_O2O = {"orders": ["fulfilment", "store_id", "ordered_at", "channel"], "stores": ["store_id", "city"]}
NEEDS_PRICE = {"order_items": ["product_id", "unit_price", "quantity"], "orders": ["ordered_at", "channel"]}

#: Fulfilment types in which a store serves an online order (O2O).
O2O_FULFILMENT = ("pickup_in_store", "ship_from_store")


def has_product_cost(ds: Dataset) -> bool:
    """Whether the shop's data give product cost (order lines and ``products.unit_cost_cny``)."""
    return sql.has_product_cost(ds)


def channel_mix(ds: Dataset, f: Filters) -> pd.DataFrame:
    """GMV, discounts, platform fees, product cost and margin per channel, with growth.

    ``margin_after_fees`` = GMV − platform fees − product cost. Without product cost in the data
    (see :func:`has_product_cost`) ``product_cost_cny`` and ``margin_rate`` are NaN and
    ``margin_after_fees`` is GMV − fees only: a margin cannot be judged without costs. ``growth``
    is against the comparison period. Returns one row per channel sorted by GMV, with ``gmv_share``.
    """
    cur = sql.channel_totals(ds, f)
    if cur.empty:
        return cur
    has_cost = sql.has_product_cost(ds)
    cur["margin_after_fees"] = cur["gmv"] - cur["platform_fee_cny"] - cur["product_cost_cny"].fillna(0)
    cur["margin_rate"] = (cur["margin_after_fees"] / cur["gmv"].where(cur["gmv"] > 0)) if has_cost else np.nan
    cur["gmv_share"] = cur["gmv"] / cur["gmv"].sum()
    cmp_f = f.comparison()
    if cmp_f is not None:
        prev = sql.channel_totals(ds, cmp_f)[["channel", "gmv"]].rename(columns={"gmv": "gmv_comparison"})
        cur = cur.merge(prev, on="channel", how="left")
        cur["growth"] = cur["gmv"] / cur["gmv_comparison"].where(cur["gmv_comparison"] > 0) - 1
    else:
        cur["gmv_comparison"], cur["growth"] = np.nan, np.nan
    return cur.sort_values("gmv", ascending=False).reset_index(drop=True)


def gmv_share(mix: pd.DataFrame, channel: str) -> Estimate:
    """A channel's share of the period's GMV (a census of the period: no interval; n = its orders)."""
    row = mix[mix["channel"] == channel].iloc[0]
    return Estimate(float(row["gmv_share"]), n=int(row["orders"]), method="total", unit="share", min_n=0)


# ----- multi-channel customers ------------------------------------------------------------------

def multichannel_effect(ds: Dataset, landmark_days: int = 90, horizon_days: int = 365,
                        level: float = 0.95) -> dict[str, MatchedDifference]:
    """Value and retention of customers who buy in several channels against those in one (whole history).

    Landmark design: a customer is *multi-channel* when they bought in two or more channels within
    ``landmark_days`` of their first order. Outcomes are measured after the landmark over
    ``horizon_days``: ``retention`` (any further valid order; the difference in ``points``) and
    ``value`` (GMV, ``money``). Groups are matched exactly on first-purchase month and first
    channel; customers whose horizon runs past the data are left out.
    """
    units = {"retention": "points", "value": "money"}
    return {y: matched_difference(sql.landmark_strata(ds, y, landmark_days, horizon_days), y, units[y], level)
            for y in ("retention", "value")}


def multichannel_share(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Buyers of the period by how many channels they bought in: ``channels_used`` (1, 2, 3 = 3 or
    more), ``buyers``, ``gmv``, ``share`` (of buyers)."""
    frame = sql.buyers_by_channel_count(ds, f)
    frame["share"] = frame["buyers"] / frame["buyers"].sum() if len(frame) else np.nan
    return frame


# ----- online-offline ---------------------------------------------------------------------------

def fulfilment_mix(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Orders and GMV per fulfilment type: ``fulfilment``, ``orders``, ``gmv``, ``share`` (of orders)."""
    frame = sql.fulfilment_totals(ds, f)
    frame["share"] = frame["orders"] / frame["orders"].sum() if len(frame) else np.nan
    return frame


def store_performance(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Per store: ``store_id``, ``name``, ``city``, ``orders``, ``gmv``, orders per fulfilment type
    (``in_store``, ``pickup_in_store``, ``ship_from_store``), ``gmv_per_sqm`` (when the area is known),
    ``local_share`` (orders whose destination or buyer city is the store's city; NaN when unknown)."""
    frame = sql.store_totals(ds, f)
    frame["gmv_per_sqm"] = frame["gmv"] / frame["area_sqm"].where(frame["area_sqm"] > 0)
    frame["local_share"] = frame["local_orders"] / frame["city_known"].where(frame["city_known"] > 0)
    return frame


def store_catchment(ds: Dataset, f: Filters, top: int = 8) -> pd.DataFrame:
    """Where each store's buyers come from: ``store_id``, ``store`` (name), ``city`` (buyer's city, the
    ``top`` cities kept, the rest as 'other'), ``orders`` and ``share`` of the store's orders."""
    frame = sql.store_buyer_cities(ds, f)
    if frame.empty:
        return frame.assign(share=pd.Series(dtype=float))
    keep = frame.groupby("city")["orders"].sum().nlargest(top).index
    frame["city"] = frame["city"].where(frame["city"].isin(keep), "other")
    frame = frame.groupby(["store_id", "store", "city"], as_index=False)["orders"].sum()
    return frame.assign(share=frame["orders"] / frame.groupby("store_id")["orders"].transform("sum"))


# ----- price consistency ------------------------------------------------------------------------

_GAP_COLUMNS = ["product_id", "product", "channel", "units", "lines", "unit_price_cny", "unit_price_cny_low",
                "unit_price_cny_high", "reference_price", "gap", "gap_low", "gap_high", "flagged"]


def price_gaps(ds: Dataset, f: Filters, threshold: float = 0.10, min_units: int = 20,
               include_cross_border: bool = False, level: float = 0.95) -> pd.DataFrame:
    """The same product at different prices across channels, flagged with the gap.

    With products (category, list price) the gap is measured against the same category on the same
    day in the other channels: each line's price index (unit price / list price) over the other
    channels' mean index, so that campaign discounts and weekly price changes do not show up as a
    channel gap. Without them: per product and channel, the quantity-weighted mean unit price in
    CNY against the same product's pooled price in all *other* channels, the gap's interval by the
    delta method on the log ratio. A row is ``flagged`` when the channel sold at least
    ``min_units`` units, |gap| ≥ ``threshold`` and the gap's interval (at ``level``) excludes zero.
    Cross-border prices are left out unless ``include_cross_border``; livestream orders (deliberate
    stream-only prices) always are. Returns ``product_id``, ``product`` (its name), ``channel``,
    ``units``, ``lines``, ``unit_price_cny`` (+ ``_low``/``_high``), ``reference_price``, ``gap``
    (+ ``gap_low``/``gap_high``), ``flagged``; flagged rows first, by |gap|.
    """
    if ds.has("products", ["category", "list_price_cny"]):
        frame = sql.price_index_same_day(ds, f, include_cross_border)
        if frame.empty:
            return pd.DataFrame(columns=_GAP_COLUMNS)
        n = frame["lines"].astype(float)
        frame["unit_price_cny_low"], frame["unit_price_cny_high"] = mean_interval(
            frame["unit_price_cny"], frame["sd_price"], n, level)
        frame["gap"], frame["gap_low"], frame["gap_high"] = index_gap(frame["rel"], frame["sd_rel"], n, level)
        frame["reference_price"] = frame["unit_price_cny"] / frame["rel"]
        known_ref = pd.Series(True, index=frame.index)
    else:
        frame = sql.price_sums(ds, f, include_cross_border)
        if frame.empty:
            return pd.DataFrame(columns=_GAP_COLUMNS)
        tot = frame.groupby("product_id")[["units", "lines", "revenue", "p_sum", "p_sq"]].transform("sum")
        frame["unit_price_cny"] = frame["revenue"] / frame["units"]
        frame["reference_price"] = (tot["revenue"] - frame["revenue"]) / (tot["units"] - frame["units"]).where(
            tot["units"] > frame["units"])
        se_p = mean_se(frame["lines"], frame["p_sum"], frame["p_sq"])
        se_r = mean_se(tot["lines"] - frame["lines"], tot["p_sum"] - frame["p_sum"], tot["p_sq"] - frame["p_sq"])
        frame["unit_price_cny_low"], frame["unit_price_cny_high"] = mean_interval(
            frame["unit_price_cny"], se_p * np.sqrt(frame["lines"].astype(float)), frame["lines"], level)
        frame["gap"], frame["gap_low"], frame["gap_high"] = ratio_gap(
            frame["unit_price_cny"], se_p, frame["reference_price"], se_r, level)
        known_ref = frame["reference_price"].notna()
    excludes = (frame["gap_high"] < 0) | (frame["gap_low"] > 0)
    frame["flagged"] = (known_ref & (frame["units"] >= min_units) & (frame["lines"] >= 2)
                        & (frame["gap"].abs() >= threshold) & excludes).astype(bool)
    frame = frame.merge(sql.product_names(ds), on="product_id", how="left")
    frame["product"] = frame["product"].fillna(frame["product_id"])
    frame = frame[_GAP_COLUMNS]
    order = frame.assign(_a=frame["gap"].abs()).sort_values(["flagged", "_a"], ascending=[False, False]).index
    return frame.loc[order].reset_index(drop=True)


def gap_estimate(row: pd.Series, level: float = 0.95) -> Estimate:
    """One price-gap row (of :func:`price_gaps`) as an Estimate (a relative ``change``; n = units)."""
    return Estimate(row["gap"], row["gap_low"], row["gap_high"], level=level, n=int(row["units"]),
                    method="delta-log-ratio", unit="change", min_n=0)


# ----- cannibalisation --------------------------------------------------------------------------

def newest_channel(ds: Dataset, min_days_after_start: int = 60) -> str | None:
    """The channel whose first order came last, if it started at least ``min_days_after_start`` days
    after the data begin (otherwise None: every channel was there from the start)."""
    frame = sql.channel_first_dates(ds)
    if frame.empty:
        return None
    frame["first"] = pd.to_datetime(frame["first"])
    latest = frame.sort_values("first").iloc[-1]
    return str(latest["channel"]) if (latest["first"] - frame["first"].min()).days >= min_days_after_start else None


@dataclass(frozen=True)
class Cannibalisation:
    """Did a channel's adopters spend less in the other channels afterwards? (difference in differences)

    ``shift`` (money, per adopter; negative = sales moved over) is adopters' change in other-channel
    GMV, after − before, minus the same change for non-adopters. ``share_taken`` = −shift ×
    adopters / ``new_channel_gmv``: the share of the adopters' new-channel GMV that looks taken from
    the others. ``method`` is a key; the caveat (an association, not a proof of cause) is
    ``method.did-adoption`` in the catalogue.
    """

    channel: str
    adopters: int
    controls: int
    adopter_change: float
    control_change: float
    shift: Estimate
    new_channel_gmv: float
    share_taken: float
    window_days: int
    method: str = "did-adoption"

    @property
    def reading(self) -> str:
        """``moved`` (the interval lies below zero), ``no_shift`` (above) or ``unclear``."""
        if self.shift.has_interval and self.shift.high < 0:
            return "moved"
        if self.shift.has_interval and self.shift.low > 0:
            return "no_shift"
        return "unclear"


def cannibalisation(ds: Dataset, channel: str, f: Filters | None = None, window_days: int = 90,
                    level: float = 0.95) -> Cannibalisation:
    """Whether ``channel``'s growth took sales from the other channels, as far as the data can tell.

    Adopters are customers who had bought in other channels and placed their first ``channel`` order
    (in ``f``'s period, or at any time). Their GMV in the other channels over ``window_days`` after
    adopting minus the ``window_days`` before is compared with the same change for controls: customers
    active in the other channels in the same before-window (same adoption month) who did not adopt,
    matched on the adoption month. Raises :class:`EmptyPeriodError` when no customer adopted.
    """
    strata = sql.adopter_strata(ds, channel, f, window_days)
    if strata.empty or strata.loc[strata["treated"] == 1, "n"].sum() == 0:
        raise EmptyPeriodError(f"no customer of other channels started buying in {channel} in the chosen period "
                               "with a full window before and after; choose a longer period")
    md = matched_difference(strata.rename(columns={"m": "stratum", "d_sum": "y_sum", "d_sq": "y_sq"}),
                            "other_channel_gmv_change", "money", level, min_n=2)
    shift = md.difference
    new_gmv = float(strata.loc[strata["treated"] == 1, "new_gmv"].sum())
    share = (-shift.estimate * md.n_treated / new_gmv if new_gmv > 0 and math.isfinite(shift.estimate)
             else math.nan)
    return Cannibalisation(channel, md.n_treated, md.n_control, md.treated_mean, md.control_mean,
                           Estimate(shift.estimate, shift.low, shift.high, level=level, n=md.n_treated,
                                    method="did-adoption", unit="money", min_n=2),
                           new_gmv, share, int(window_days))


def weekly_channel_gmv(ds: Dataset, f: Filters, channel: str) -> pd.DataFrame:
    """Weekly GMV of ``channel`` and of all other channels together: ``week``, ``measure``, ``gmv``."""
    frame = sql.weekly_gmv_of(ds, f, channel)
    frame["week"] = pd.to_datetime(frame["week"])
    return frame
