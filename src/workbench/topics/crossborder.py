"""Cross-border: markets in local currency and CNY, the FX effect, landed cost and margin, delivery, risk.

A cross-border order is one in the ``cross_border`` channel or paid in a currency other than CNY;
its *market* is the destination country (``orders.country``), or its currency when the country is
missing. Functions take a :class:`~workbench.data.loader.Dataset` and :class:`~workbench.sql.filters.Filters`
and return tidy frames or small results carrying :class:`~workbench.stats.result.Estimate`s; the
notebook ``09_cross_border`` draws and words them. Queries live in :mod:`workbench.sql.crossborder`.

The GMV change between two periods is split exactly (log-mean Divisia, LMDI) into

``volume``       orders
``local_price``  average order value in the market's own currency
``fx``           the effective exchange rate (CNY per unit of local currency)

since GMV(CNY) = orders × local AOV × rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data.loader import Dataset
from workbench.errors import EmptyPeriodError
from workbench.sql import crossborder as sql
from workbench.sql.filters import Filters
from workbench.stats.decomposition import lmdi
from workbench.stats.intervals import add_rate_interval, pct_change
from workbench.stats.means import random_walk_change, t_bounds
from workbench.stats.result import Estimate

NEEDS = {"orders": ["currency", "paid_amount", "ordered_at", "channel"]}
NEEDS_FX = {"orders": ["currency", "paid_amount", "ordered_at", "channel"], "fx_rates": ["rate_to_cny"]}
NEEDS_COST = {"orders": ["currency", "paid_amount", "ordered_at", "channel"],
              "shipments": ["shipping_cost_cny", "duty_cny"]}
NEEDS_TIMES = {"orders": ["ordered_at", "channel", "currency"],
               "shipments": ["shipped_at", "delivered_at", "promised_at", "customs_cleared_at", "status"]}

FACTORS = ("volume", "local_price", "fx")

__all__ = [
    "constant_fx_monthly",
    "currency_move",
    "delivery_by_market",
    "fx_decomposition",
    "fx_rate_series",
    "fx_volatility",
    "has_cross_border",
    "has_product_cost",
    "landed_margin",
    "lmdi",
    "margin_per_order",
    "market_scorecard",
    "market_totals",
    "on_time",
    "returns_by_market",
]


def market_totals(ds: Dataset, f: Filters) -> pd.DataFrame:
    """GMV per market: ``market``, ``currency``, ``orders``, ``gmv_local``, ``gmv_cny``, ``rate``
    (effective CNY per local unit), ``aov_local``; sorted by CNY GMV. Markets selling in more than
    one currency get one row per currency."""
    frame = sql.market_totals(ds, f)
    frame["rate"] = frame["gmv_cny"] / frame["gmv_local"].where(frame["gmv_local"] > 0)
    frame["aov_local"] = frame["gmv_local"] / frame["orders"].where(frame["orders"] > 0)
    return frame


def has_cross_border(ds: Dataset, f: Filters) -> bool:
    """Whether the period and channels hold any cross-border order."""
    return not sql.market_totals(ds, f).empty


def has_product_cost(ds: Dataset) -> bool:
    """Whether product cost is in the data (order lines and ``products.unit_cost_cny``)."""
    return ds.has("products", ["unit_cost_cny"]) and "order_items" in ds.sources


@dataclass(frozen=True)
class FxDecomposition:
    """GMV change per market split into volume, local price and exchange rate (LMDI, exact).

    Method key ``lmdi``: GMV(CNY) = orders × local AOV × rate, split per market and currency;
    the contributions add up to the change.
    """

    table: pd.DataFrame   # market, currency, factor, current, comparison, change, contribution_cny
    totals: pd.DataFrame  # factor, contribution_cny (summed over markets)
    gmv_change_cny: float
    fx_change: pd.DataFrame  # currency, rate_comparison, rate_current, change
    method: str = "lmdi"

    def contribution(self, factor: str) -> float:
        """The summed contribution (CNY) of one factor: ``volume``, ``local_price`` or ``fx``."""
        return float(self.totals.set_index("factor").at[factor, "contribution_cny"])


def fx_decomposition(ds: Dataset, f: Filters, comparison: Filters | None = None) -> FxDecomposition:
    """Split the change in cross-border GMV (CNY) between the comparison period and the period.

    ``comparison`` defaults to ``f.comparison()``. Each (market, currency) is split on its own;
    markets present in only one period contribute their whole GMV to ``volume``. Raises
    :class:`EmptyPeriodError` without a comparison period or without cross-border orders.
    """
    comparison = comparison or f.comparison()
    if comparison is None:
        raise EmptyPeriodError("the FX decomposition needs a comparison period; set compare to previous or last_year")
    cur, prev = market_totals(ds, f), market_totals(ds, comparison)
    if cur.empty and prev.empty:
        raise EmptyPeriodError("no cross-border orders in the period or the comparison period")
    both = cur.merge(prev, on=["market", "currency"], how="outer", suffixes=("", "_cmp")).fillna(
        {"orders": 0, "gmv_local": 0.0, "gmv_cny": 0.0, "orders_cmp": 0, "gmv_local_cmp": 0.0, "gmv_cny_cmp": 0.0})
    rows = []
    for r in both.itertuples(index=False):
        now = {"volume": r.orders, "local_price": r.gmv_local / r.orders if r.orders else 0.0,
               "fx": r.gmv_cny / r.gmv_local if r.gmv_local else 0.0}
        before = {"volume": r.orders_cmp, "local_price": r.gmv_local_cmp / r.orders_cmp if r.orders_cmp else 0.0,
                  "fx": r.gmv_cny_cmp / r.gmv_local_cmp if r.gmv_local_cmp else 0.0}
        if r.gmv_cny > 0 and r.gmv_cny_cmp > 0:
            parts = lmdi(now, before, r.gmv_cny, r.gmv_cny_cmp)
        else:
            parts = {"volume": r.gmv_cny - r.gmv_cny_cmp, "local_price": 0.0, "fx": 0.0}
        for k in FACTORS:
            rows.append({"market": r.market, "currency": r.currency, "factor": k, "current": now[k],
                         "comparison": before[k], "change": pct_change(now[k], before[k]),
                         "contribution_cny": parts[k]})
    table = pd.DataFrame(rows)
    totals = table.groupby("factor", sort=False)["contribution_cny"].sum().reindex(list(FACTORS)).reset_index()

    def rates(frame: pd.DataFrame) -> pd.Series:
        g = frame.groupby("currency")[["gmv_cny", "gmv_local"]].sum()
        return g["gmv_cny"] / g["gmv_local"].where(g["gmv_local"] > 0)

    fx = pd.DataFrame({"rate_comparison": rates(prev), "rate_current": rates(cur)}).rename_axis("currency") \
        .reset_index()
    fx["change"] = fx["rate_current"] / fx["rate_comparison"] - 1
    return FxDecomposition(table, totals, float(both["gmv_cny"].sum() - both["gmv_cny_cmp"].sum()), fx)


def constant_fx_monthly(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Monthly cross-border GMV in CNY at actual rates and at fixed rates (each currency's mean rate in
    the first month of the window, which spans the comparison period and the period).

    Returns ``month``, ``measure`` (``gmv_cny`` / ``gmv_constant_fx``) and ``value`` (CNY).
    """
    start = f.compare_start or f.start
    window = Filters(start=min(start, f.start), end=f.end, channels=f.channels)
    frame = sql.monthly_constant_fx(ds, window)
    frame["month"] = pd.to_datetime(frame["month"])
    return frame.melt(id_vars="month", var_name="measure", value_name="value")


def fx_rate_series(ds: Dataset, f: Filters, currencies: list[str] | None = None) -> pd.DataFrame:
    """Daily rates (CNY per unit) over the comparison period and the period: ``date``, ``currency``,
    ``rate_to_cny`` and ``index`` (rate / first rate of the window)."""
    start = min(f.compare_start or f.start, f.start)
    frame = sql.fx_rates(ds, start, f.end, currencies)
    frame["date"] = pd.to_datetime(frame["date"])
    frame["index"] = frame["rate_to_cny"] / frame.groupby("currency")["rate_to_cny"].transform("first")
    return frame


# ----- landed cost and margin --------------------------------------------------------------------

def landed_margin(ds: Dataset, f: Filters, level: float = 0.95) -> pd.DataFrame:
    """Landed cost and margin per market, CNY.

    ``product_cost`` needs order_items and products.unit_cost_cny (NaN otherwise, see
    :func:`has_product_cost`); ``shipping`` and ``duty`` come from shipments; ``platform_fee``
    from orders. Returns ``market``, ``orders``, ``gmv_cny``, the four cost items, ``margin`` (GMV
    minus the known costs), ``margin_rate`` and ``margin_per_order`` with a t interval at ``level``
    (``margin_per_order_low``/``_high``) from the spread of order margins.
    """
    frame = sql.landed_costs(ds, f)
    if not has_product_cost(ds):
        frame["product_cost"] = np.nan
    frame["margin_rate"] = frame["margin"] / frame["gmv_cny"].where(frame["gmv_cny"] > 0)
    frame["margin_per_order"] = frame["margin"] / frame["orders"]
    frame["margin_per_order_low"], frame["margin_per_order_high"] = t_bounds(
        frame["margin_per_order"], frame["margin_sd"], frame["orders"], level)
    return frame.drop(columns="margin_sd")


def margin_per_order(row: pd.Series, level: float = 0.95) -> Estimate:
    """One market's margin per order (a row of :func:`landed_margin`) as a money Estimate (n = orders)."""
    return Estimate(row["margin_per_order"], row["margin_per_order_low"], row["margin_per_order_high"], level=level,
                    n=int(row["orders"]), method="t", unit="money", min_n=2)


def delivery_by_market(ds: Dataset, f: Filters, level: float = 0.95) -> pd.DataFrame:
    """Customs clearance and delivery times per market: ``market``, ``shipments``, ``clearance_days``
    (median ship → clearance), ``median_days`` and ``p90_days`` (ship → delivery), ``delivered``,
    ``on_time_rate`` with Wilson interval, ``lost_rate``."""
    frame = sql.delivery_times(ds, f)
    frame = add_rate_interval(frame, "on_time", "delivered", "on_time_rate", level)
    return add_rate_interval(frame, "lost", "shipments", "lost_rate", level)


def on_time(row: pd.Series, level: float = 0.95) -> Estimate:
    """One market's on-time rate (a row of :func:`delivery_by_market`) as a Wilson Estimate."""
    return Estimate.proportion(row["on_time"], row["delivered"], level=level)


def returns_by_market(ds: Dataset, f: Filters, level: float = 0.95) -> pd.DataFrame:
    """Return rate per market: ``market``, ``orders``, ``returned``, ``return_rate`` (Wilson interval)."""
    return add_rate_interval(sql.returns(ds, f), "returned", "orders", "return_rate", level)


def fx_volatility(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Annualised volatility of each currency's daily log change over the period: ``currency``, ``fx_volatility``."""
    if "fx_rates" not in ds.sources:
        return pd.DataFrame(columns=["currency", "fx_volatility"])
    return sql.fx_volatility(ds, f)


def market_scorecard(ds: Dataset, f: Filters) -> pd.DataFrame:
    """One row per market a manager can read: size, growth, margin, delivery and risk.

    Columns: ``market``, ``currency``, ``orders``, ``gmv_cny``, ``growth`` (vs the comparison period),
    ``margin_rate`` (when shipments are present), ``median_days`` and ``on_time_rate`` (when shipments
    are present), ``return_rate``, ``fx_volatility``. Raises :class:`EmptyPeriodError` without
    cross-border orders in the period.
    """
    cur = market_totals(ds, f)
    if cur.empty:
        raise EmptyPeriodError("no cross-border orders in the chosen period and channels")
    main_currency = cur.sort_values("gmv_cny", ascending=False).drop_duplicates("market")[["market", "currency"]]
    card = cur.groupby("market", as_index=False)[["orders", "gmv_cny"]].sum().merge(main_currency, on="market")
    cmp_f = f.comparison()
    if cmp_f is not None:
        prev = market_totals(ds, cmp_f).groupby("market", as_index=False)["gmv_cny"].sum() \
            .rename(columns={"gmv_cny": "gmv_cmp"})
        card = card.merge(prev, on="market", how="left")
        card["growth"] = card["gmv_cny"] / card["gmv_cmp"].where(card["gmv_cmp"] > 0) - 1
        card = card.drop(columns="gmv_cmp")
    else:
        card["growth"] = np.nan
    if ds.has("shipments", ["shipping_cost_cny"]):
        card = card.merge(landed_margin(ds, f)[["market", "margin_rate"]], on="market", how="left")
    if ds.has("shipments", ["delivered_at", "customs_cleared_at"]):
        card = card.merge(delivery_by_market(ds, f)[["market", "median_days", "on_time_rate"]], on="market",
                          how="left")
    card = card.merge(returns_by_market(ds, f)[["market", "return_rate"]], on="market", how="left")
    card = card.merge(fx_volatility(ds, f), on="currency", how="left")
    return card.sort_values("gmv_cny", ascending=False).reset_index(drop=True)


@dataclass(frozen=True)
class CurrencyMove:
    """The change in a currency's rate between two windows, with an interval from its day-to-day noise.

    ``change`` is an Estimate (unit ``change``; method key ``random-walk``: ratio of mean rates in
    the two windows, the interval from a random walk with the currency's daily log-change volatility
    measured outside the gap between the windows).
    """

    currency: str
    rate_before: float
    rate_after: float
    change: Estimate
    daily_volatility: float

    @property
    def low(self) -> float:
        return self.change.low

    @property
    def high(self) -> float:
        return self.change.high


def currency_move(ds: Dataset, currency: str, before: tuple[str, str], after: tuple[str, str],
                  level: float = 0.95) -> CurrencyMove:
    """How far ``currency`` moved against CNY between the ``before`` and ``after`` windows (ISO dates).

    Raises :class:`EmptyPeriodError` when either window holds no rate.
    """
    cur = currency.upper()
    rates = sql.currency_rates(ds, cur)
    rates["date"] = pd.to_datetime(rates["date"])
    b = rates[(rates["date"] >= before[0]) & (rates["date"] <= before[1])]["rate_to_cny"]
    a = rates[(rates["date"] >= after[0]) & (rates["date"] <= after[1])]["rate_to_cny"]
    if b.empty or a.empty:
        raise EmptyPeriodError(f"no {cur} rates in one of the windows {before} / {after}")
    steps = np.log(rates["rate_to_cny"]).diff()
    gap = (rates["date"] > before[1]) & (rates["date"] < after[0])
    vol = float(steps[~gap].std())
    days = (pd.Timestamp(after[0]) + (pd.Timestamp(after[1]) - pd.Timestamp(after[0])) / 2
            - pd.Timestamp(before[0]) - (pd.Timestamp(before[1]) - pd.Timestamp(before[0])) / 2).days
    change = random_walk_change(b, a, vol, days, level)
    return CurrencyMove(cur, float(b.mean()), float(a.mean()), change, vol)
