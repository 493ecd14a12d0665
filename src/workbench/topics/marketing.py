"""Marketing and promotion: where the money goes, what it returns, and how to read an A/B test.

Delivery KPIs are sums over ``marketing_spend`` (queries in :mod:`workbench.sql.marketing`); the
shop's ROAS is the registered KPI (:func:`roas`, the same number as the overview's). The response
model (:mod:`workbench.stats.response`) explains daily orders by each marketing channel's spend with
carry-over and diminishing returns; the A/B reader is :mod:`workbench.stats.abtest`. Results carry
:class:`~workbench.stats.result.Estimate` figures and method keys; the notebook words them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data.loader import Dataset
from workbench.errors import ParameterError
from workbench.sql import calendar
from workbench.sql import marketing as q
from workbench.sql import metrics as registry
from workbench.sql.filters import Filters

# the estimators this page composes, importable from here as before
from workbench.stats.abtest import ABTest, ab_test, required_sample, sample_size_table  # noqa: F401
from workbench.stats.response import (  # noqa: F401
    RESPONSE_METHOD,
    Reallocation,
    ResponseModel,
    adstock,
    gain_estimate,
    marginal_roas_estimate,
    marginal_roas_table,
    reallocate,
    response_curves,
    saturation,
)
from workbench.stats.response import fit_response as fit_response_frame
from workbench.stats.result import Estimate
from workbench.topics import kpi as kpi_mod

NEEDS_SPEND = {"marketing_spend": ["spend_cny", "impressions", "clicks"]}
NEEDS_RESPONSE = {"marketing_spend": ["spend_cny"], "orders": ["paid_amount", "ordered_at", "channel"]}
NEEDS_TRAFFIC = {"traffic": ["date", "sessions", "paid_orders"]}
NEEDS_ROAS = {"marketing_spend": ["attributed_gmv_cny", "spend_cny"]}


# ----- delivery KPIs -------------------------------------------------------------------------------

def roas(ds: Dataset, f: Filters) -> kpi_mod.Kpi:
    """The shop's ROAS (attributed GMV / spend) for ``f``: the registry's KPI, as the overview reads it."""
    return kpi_mod.kpi(ds, f, "roas")


def channel_kpis(ds: Dataset, f: Filters, level: float = 0.95) -> pd.DataFrame:
    """Spend, impressions, clicks, CTR, CPC, cost per attributed order and ROAS per marketing channel.

    ``channel`` filters on the sales channel the spend drives. CPA and ROAS use the ad platforms'
    own attribution (``attributed_orders``, ``attributed_gmv_cny``; NaN when absent), which
    over-credits ads; the response model is the incrementality view. Returns
    ``marketing_channel``, ``spend_cny``, ``impressions``, ``clicks``, ``ctr``, ``ctr_low``,
    ``ctr_high`` (Wilson at ``level``), ``cpc``, ``attributed_orders``, ``cpa``, ``attributed_gmv_cny``, ``roas``.
    """
    out = q.channel_totals(ds, f, ds.has("marketing_spend", ["attributed_orders"]),
                           ds.has("marketing_spend", ["attributed_gmv_cny"]))
    ctr = [ctr_estimate(r, level) for r in out.itertuples()]
    out["ctr"] = [e.estimate for e in ctr]
    out["ctr_low"] = [e.low for e in ctr]
    out["ctr_high"] = [e.high for e in ctr]
    out["cpc"] = out["spend_cny"] / out["clicks"].where(out["clicks"] > 0)
    out["cpa"] = out["spend_cny"] / out["attributed_orders"].where(out["attributed_orders"] > 0)
    out["roas"] = out["attributed_gmv_cny"] / out["spend_cny"].where(out["spend_cny"] > 0)
    return out[["marketing_channel", "spend_cny", "impressions", "clicks", "ctr", "ctr_low", "ctr_high", "cpc",
                "attributed_orders", "cpa", "attributed_gmv_cny", "roas"]]


def ctr_estimate(row: object, level: float = 0.95) -> Estimate:
    """A channel's click-through rate (clicks / impressions) with its Wilson interval."""
    return Estimate.proportion(float(row.clicks), float(row.impressions), level, min_n=1)


@dataclass(frozen=True)
class DeliverySummary:
    """The period's spend (a census, no interval; n = days) and its largest marketing channel: its share
    of spend, its CTR (Wilson) and its platform-attributed ROAS (NaN without attribution)."""

    spend: Estimate
    top_channel: str
    top_share: float
    top_ctr: Estimate
    top_roas: float
    top_impressions: int


def delivery_summary(kpis: pd.DataFrame, days: int, level: float = 0.95) -> DeliverySummary | None:
    """:func:`channel_kpis` summed up for the page's first finding (None without spend)."""
    if kpis.empty or not kpis["spend_cny"].sum() > 0:
        return None
    total = float(kpis["spend_cny"].sum())
    top = kpis.sort_values("spend_cny", ascending=False).iloc[0]
    return DeliverySummary(Estimate(total, n=days, method="census", unit="money"), str(top["marketing_channel"]),
                           float(top["spend_cny"]) / total, ctr_estimate(top, level), float(top["roas"]),
                           int(top["impressions"]))


def spend_over_time(ds: Dataset, f: Filters, grain: str = "week") -> pd.DataFrame:
    """Spend (CNY), clicks and attributed GMV per ``grain`` (day/week/month) and marketing channel."""
    out = q.spend_by(ds, f, grain, ds.has("marketing_spend", ["attributed_gmv_cny"]))
    out[grain] = pd.to_datetime(out[grain])
    return out


# ----- response curves -------------------------------------------------------------------------------

def response_data(ds: Dataset, channels: tuple[str, ...] = ()) -> pd.DataFrame:
    """Daily GMV (CNY, valid orders of ``channels``), spend per marketing channel (CNY, wide) and a campaign flag.

    Spend is the spend that drives the chosen sales channels (all when empty); livestream-sourced
    orders are left out (they follow the hosts' schedule). Returns ``date``, ``gmv``, ``orders``,
    one column per marketing channel, ``campaign`` (bool: a campaign day or one of the 7 days
    before, from :func:`workbench.sql.calendar.campaign_days`), ``holiday`` (bool: a Spring Festival
    window, :func:`spring_festival_days`; both kinds of day are left out of the fit) and ``price_index``
    (paid / gross GMV of the day, a control of the baseline), on the days both tables cover.
    """
    gmv = q.daily_orders(ds, tuple(channels), ds.has("orders", ["source"]))
    spend = q.daily_spend(ds, tuple(channels))
    if gmv.empty or spend.empty:
        return pd.DataFrame(columns=["date", "gmv", "orders", "campaign", "holiday", "price_index"])
    wide = spend.pivot_table(index="date", columns="marketing_channel", values="spend", aggfunc="sum")
    wide.columns = [str(c) for c in wide.columns]
    lo = max(pd.Timestamp(gmv["date"].min()), pd.Timestamp(wide.index.min()))
    hi = min(pd.Timestamp(gmv["date"].max()), pd.Timestamp(wide.index.max()))
    cal = pd.DataFrame({"date": pd.date_range(lo, hi, freq="D")})
    gmv["date"] = pd.to_datetime(gmv["date"])
    wide.index = pd.to_datetime(wide.index)
    out = cal.merge(gmv, on="date", how="left").merge(wide.reset_index(), on="date", how="left").fillna(0.0)
    days = calendar.campaign_days(ds, lead_days=7)
    out["campaign"] = out["date"].isin(days["date"]) if len(days) else False
    out["holiday"] = spring_festival_days(out["date"])
    out["price_index"] = _price_index(ds, channels, lo.date(), hi.date())
    return out


#: Spring Festival (Chinese New Year's Day), 2020–2030. Source: Hong Kong Observatory, Gregorian–Lunar
#: Calendar Conversion Table (www.hko.gov.hk/en/gts/time/conversion.htm). The same dates as the
#: forecast page's (topics do not import each other), with its window of shop closures (−2 to +5 days).
SPRING_FESTIVALS = ("2020-01-25", "2021-02-12", "2022-02-01", "2023-01-22", "2024-02-10", "2025-01-29",
                    "2026-02-17", "2027-02-06", "2028-01-26", "2029-02-13", "2030-02-03")
SPRING_FESTIVAL_WINDOW = (-2, 5)


def spring_festival_days(dates: pd.Series) -> np.ndarray:
    """Whether each date falls in a Spring Festival window (demand drops by about a third for a week,
    which the yearly Fourier terms cannot follow since the festival moves): bool array."""
    d = pd.to_datetime(pd.Series(dates)).reset_index(drop=True)
    out = np.zeros(len(d), bool)
    for fd in SPRING_FESTIVALS:
        off = (d - pd.Timestamp(fd)).dt.days
        out |= ((off >= SPRING_FESTIVAL_WINDOW[0]) & (off <= SPRING_FESTIVAL_WINDOW[1])).to_numpy()
    return out


def _price_index(ds: Dataset, channels: tuple[str, ...], start: dt.date, end: dt.date) -> np.ndarray:
    """Paid / gross GMV per day (1 − the registered discount depth) from ``start`` to ``end``; NaN on days
    without orders and everywhere when the orders carry no gross and discount amounts."""
    n = (end - start).days + 1
    if ds.missing(registry.metric("discount_depth").needs):
        return np.full(n, np.nan)
    d = registry.daily(ds, Filters(start, end, tuple(channels), compare="none"), "discount_depth")
    return (1 - d["num"] / d["den"].where(d["den"] > 0)).to_numpy(float)


def fit_response(ds: Dataset, channels: tuple[str, ...] = (), min_days: int = 120,
                 max_decay: float = 0.95, max_evaluations: int = 200) -> ResponseModel | None:
    """Fit the response model on the whole history of :func:`response_data`; None with too little data.

    See :func:`workbench.stats.response.fit_response`. Cache with ``nb.memo``.
    """
    return fit_response_frame(response_data(ds, channels), min_days, max_decay, max_evaluations)


@dataclass
class ResponseAnalysis:
    """Everything the notebook shows from one response fit: the model, curves, marginal ROAS and a reallocation."""

    model: ResponseModel
    curves: pd.DataFrame
    marginal_roas: pd.DataFrame
    reallocation: Reallocation | None   # None when the model is not identified: no advice is built on it

    @property
    def identified(self) -> bool:
        """Whether every channel's response is identified from the data (the reallocation needs them all)."""
        return self.model.identified

    def unidentified(self) -> list[str]:
        """The marketing channels whose response the data do not identify (see :mod:`workbench.stats.response`)."""
        return self.model.unidentified()

    def best_and_worst(self) -> tuple[str, str]:
        """The marketing channels with the highest and the lowest marginal ROAS at today's spend."""
        m = self.marginal_roas
        return (str(m.loc[m["marginal_roas"].idxmax(), "marketing_channel"]),
                str(m.loc[m["marginal_roas"].idxmin(), "marketing_channel"]))

    def marginal(self, channel: str) -> Estimate:
        """The marginal ROAS of ``channel`` as an Estimate (n: days the model was fitted on)."""
        return marginal_roas_estimate(self.marginal_roas, channel, self.model.n)

    def gain(self, days: int = 30) -> Estimate:
        """The reallocation's extra GMV over ``days`` days at the same spend, as an Estimate (CNY); raises
        :class:`ValueError` when the reallocation was withheld (check ``reallocation`` first)."""
        if self.reallocation is None:
            raise ValueError("no reallocation: the response model is not identified from these data")
        return gain_estimate(self.reallocation, days, self.model.n)


def analyse_response(ds: Dataset, channels: tuple[str, ...] = (), max_change: float = 0.5) -> ResponseAnalysis | None:
    """Fit :func:`fit_response` and derive curves, marginal ROAS and a reallocation (hashable arguments, for ``nb.memo``).

    The reallocation is only computed when the model is identified (``model.identified``); otherwise
    it is None and the page says which channels the data do not identify.
    """
    model = fit_response(ds, channels)
    if model is None:
        return None
    plan = reallocate(model, max_change) if model.identified else None
    return ResponseAnalysis(model, response_curves(model), marginal_roas_table(model), plan)


# ----- A/B test reader -------------------------------------------------------------------------------

def parse_ab(text: str) -> tuple[int, int, int, int] | None:
    """Read the ``ab_test`` parameter 'visitors_a,conversions_a,visitors_b,conversions_b' (empty: None)."""
    if not text or not text.strip():
        return None
    parts = [p for p in re.split(r"[,\s;]+", text.strip()) if p]
    try:
        nums = [int(float(p)) for p in parts]
    except ValueError:
        nums = []
    if len(nums) != 4 or nums[0] <= 0 or nums[2] <= 0 or not (0 <= nums[1] <= nums[0]) or not (0 <= nums[3] <= nums[2]):
        raise ParameterError(f"ab_test = {text!r}: expected 'visitors_a,conversions_a,visitors_b,conversions_b' with "
                             "whole numbers and conversions not above visitors, e.g. '12000,384,11800,431'")
    return nums[0], nums[1], nums[2], nums[3]


@dataclass(frozen=True)
class Sizing:
    """How many visitors per variant a test needs, from the shop's conversion (``base``, the registered KPI).

    ``table`` has ``lift`` and ``visitors_per_arm``; ``reason`` is ``no_traffic`` (no traffic table)
    or ``no_conversion`` (no sessions in the period) when there is no base to size from, and then
    ``table`` is empty: the page never sizes from a stand-in rate.
    """

    base: Estimate | None
    table: pd.DataFrame
    reason: str | None

    def needed(self, lift: float = 0.1) -> int | None:
        hit = self.table[np.isclose(self.table["lift"], lift)] if len(self.table) else self.table
        return int(hit["visitors_per_arm"].iloc[0]) if len(hit) else None


def ab_sizing(ds: Dataset, f: Filters, lifts: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2)) -> Sizing:
    """Visitors per variant needed to detect each relative lift at the shop's conversion in ``f``."""
    empty = pd.DataFrame(columns=["lift", "visitors_per_arm"])
    if ds.missing(NEEDS_TRAFFIC):
        return Sizing(None, empty, "no_traffic")
    k = kpi_mod.kpi(ds, f, "conversion")
    if not k.value.ok or not 0 < k.value.estimate < 1:
        return Sizing(k.value, empty, "no_conversion")
    return Sizing(k.value, sample_size_table(k.value.estimate, lifts), None)
