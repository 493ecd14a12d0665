"""Products and pricing: what to sell (ABC, growth-share, launches), how to list it, at what price.

Functions take a :class:`~workbench.data.loader.Dataset` (and :class:`~workbench.sql.filters.Filters`
where the answer depends on the period) and return tidy frames or results carrying
:class:`~workbench.stats.result.Estimate` figures; the queries are in :mod:`workbench.sql.products`,
the estimators in :mod:`workbench.stats.elasticity` and :mod:`workbench.stats.stockout`, and the
notebook words the results through the catalogue. Models fitted on the whole history
(elasticities, listing quality, stock-outs) take only hashable arguments so a notebook can cache
them with ``nb.memo``. Method notes are keys (``method.<key>`` in the catalogue), never prose.
"""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data.loader import Dataset
from workbench.sql import calendar
from workbench.sql import products as q
from workbench.sql.filters import Filters
from workbench.stats import elasticity as elasticity_stats
from workbench.stats import stockout as stockout_stats
from workbench.stats.result import Estimate, ReadsEstimate
from workbench.topics import kpi as kpi_mod

NEEDS_SALES = {"orders": ["ordered_at", "channel"], "order_items": ["product_id", "quantity", "unit_price"],
               "products": ["category"]}
NEEDS_MARGIN = {**NEEDS_SALES, "products": ["category", "unit_cost_cny"]}
NEEDS_LAUNCH = {**NEEDS_SALES, "products": ["category", "launch_date"]}
LISTING_COLUMNS = q.LISTING_ALLOWED
NEEDS_LISTING = {**NEEDS_SALES, "products": ["category", "list_price_cny", *LISTING_COLUMNS]}
NEEDS_ELASTICITY = {**NEEDS_SALES, "products": ["category", "list_price_cny"]}
NEEDS_STOCKOUT = {**NEEDS_SALES, "inventory": ["stock_on_hand"]}
NEEDS_DISCOUNT = {"orders": ["gross_amount", "discount_amount", "ordered_at", "channel"]}


def _has_name(ds: Dataset) -> bool:
    return ds.has("products", ["name"])


# ----- discount depth (the registered KPI) -----------------------------------------------------

def discount_depth(ds: Dataset, f: Filters) -> kpi_mod.Kpi:
    """Discount depth (discounts / gross value of valid orders) for ``f``: the registry's KPI, as the overview reads it."""
    return kpi_mod.kpi(ds, f, "discount_depth")


# ----- what to sell ----------------------------------------------------------------------------

def product_totals(ds: Dataset, f: Filters) -> pd.DataFrame:
    """GMV (line value, CNY), units and margin (CNY; NaN without unit costs) per product in the period.

    Returns ``product_id``, ``product_name`` (``products.name``, else the id), ``category``, ``gmv``,
    ``units``, ``margin``, best-selling first.
    """
    return q.product_totals(ds, f, ds.has("products", ["unit_cost_cny"]), _has_name(ds))


def abc_classes(ds: Dataset, f: Filters, value: str = "gmv", a: float = 0.8, b: float = 0.95) -> pd.DataFrame:
    """ABC (Pareto) classes of products by ``value`` (``gmv`` or ``margin``) in the period.

    Products are ranked by value; those making up the first ``a`` of the total are class A, up
    to ``b`` class B, the rest C (products with a negative or zero value are C). Returns the
    :func:`product_totals` columns plus ``rank``, ``cum_share`` (cumulative share of the total
    value), ``rank_share`` (rank / number of products) and ``abc_class``, best first.
    """
    totals = product_totals(ds, f)
    cols = [*totals.columns, "rank", "cum_share", "rank_share", "abc_class"]
    if totals.empty or totals[value].isna().all():
        return pd.DataFrame(columns=cols)
    out = totals.sort_values(value, ascending=False).reset_index(drop=True)
    positive = out[value].clip(lower=0)
    total = positive.sum()
    out["rank"] = np.arange(1, len(out) + 1)
    out["cum_share"] = positive.cumsum() / total if total > 0 else np.nan
    out["rank_share"] = out["rank"] / len(out)
    before = out["cum_share"] - positive / total if total > 0 else out["cum_share"]
    out["abc_class"] = np.where(before < a, "A", np.where(before < b, "B", "C"))
    out.loc[out[value] <= 0, "abc_class"] = "C"
    return out[cols]


def abc_summary(classes: pd.DataFrame, value: str = "gmv", by_margin: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per ABC class: ``abc_class``, ``n_products``, ``share_of_products``, ``share_of_<value>`` and, with
    ``by_margin`` (the classes by margin), ``share_a_by_margin`` (share of the class that is A by margin)."""
    cols = ["abc_class", "n_products", "share_of_products", f"share_of_{value}"]
    if classes.empty:
        return pd.DataFrame(columns=cols)
    g = classes.groupby("abc_class").agg(n_products=("product_id", "count"), v=(value, "sum")).reset_index()
    g["share_of_products"] = g["n_products"] / g["n_products"].sum()
    g[f"share_of_{value}"] = g["v"] / classes[value].clip(lower=0).sum()
    g = g.drop(columns="v")
    if by_margin is not None and not by_margin.empty:
        both = classes[["product_id", "abc_class"]].merge(by_margin[["product_id", "abc_class"]], on="product_id",
                                                          suffixes=("", "_margin"))
        share = (both.assign(a=both["abc_class_margin"] == "A").groupby("abc_class")["a"].mean()
                 .rename("share_a_by_margin"))
        g = g.merge(share, on="abc_class", how="left")
    return g


@dataclass(frozen=True)
class AbcHeadline:
    """Class A by GMV: how many products, their share of the products sold and of GMV (a census: no interval),
    and how many of them are class C by margin (None without unit costs)."""

    n_products: int
    share_of_products: Estimate
    share_of_gmv: Estimate
    a_but_c_by_margin: int | None


def abc_headline(classes: pd.DataFrame, by_margin: pd.DataFrame | None = None) -> AbcHeadline | None:
    """The class-A figures of :func:`abc_classes` (None when there is no class A)."""
    summary = abc_summary(classes, "gmv")
    if summary.empty or "A" not in set(summary["abc_class"]):
        return None
    a = summary.set_index("abc_class").loc["A"]
    n = len(classes)
    gap = None
    if by_margin is not None and not by_margin.empty:
        both = classes.merge(by_margin[["product_id", "abc_class"]], on="product_id", suffixes=("", "_margin"))
        gap = int(((both["abc_class"] == "A") & (both["abc_class_margin"] == "C")).sum())
    return AbcHeadline(int(a["n_products"]), Estimate(a["share_of_products"], n=n, method="census", unit="share"),
                       Estimate(a["share_of_gmv"], n=n, method="census", unit="share"), gap)


def growth_share(ds: Dataset, f: Filters) -> pd.DataFrame:
    """A growth and share matrix of categories (after the BCG matrix, with the shop's own share).

    ``share`` is the category's share of the shop's line value in the period, ``growth`` its
    change on the comparison period. Quadrants split at the median share and at the shop's
    overall growth: ``star`` (high share, growing faster), ``cash_cow`` (high share, slower),
    ``question_mark`` (low share, faster), ``dog`` (low share, slower). Returns ``category``,
    ``gmv``, ``gmv_comparison``, ``share``, ``growth``, ``quadrant``.
    """
    cur = q.category_gmv(ds, f)
    cols = ["category", "gmv", "gmv_comparison", "share", "growth", "quadrant"]
    if cur.empty:
        return pd.DataFrame(columns=cols)
    cmp_f = f.comparison()
    if cmp_f is None:
        cur["gmv_comparison"] = np.nan
    else:
        prev = q.category_gmv(ds, cmp_f).rename(columns={"gmv": "gmv_comparison"})
        cur = cur.merge(prev, on="category", how="left")
    cur["share"] = cur["gmv"] / cur["gmv"].sum()
    cur["growth"] = cur["gmv"] / cur["gmv_comparison"].where(cur["gmv_comparison"] > 0) - 1
    overall = cur["gmv"].sum() / cur["gmv_comparison"].sum() - 1 if cur["gmv_comparison"].sum() > 0 else np.nan
    high_share = cur["share"] >= cur["share"].median()
    fast = cur["growth"] >= overall
    cur["quadrant"] = np.select([high_share & fast, high_share & ~fast, ~high_share & fast],
                                ["star", "cash_cow", "question_mark"], "dog")
    return cur[cols].sort_values("gmv", ascending=False).reset_index(drop=True)


def launch_curves(ds: Dataset, end: pd.Timestamp | str | dt.date, days: int = 90) -> pd.DataFrame:
    """Cumulative units of each product over its first ``days`` days on sale (new-product launches).

    Products whose ``launch_date`` lies inside the order history and on or before ``end`` are
    kept; a product launched less than ``days`` days before ``end`` has a shorter curve. Returns
    ``product_id``, ``category``, ``launch_date``, ``days_since_launch`` (0..days-1), ``units``,
    ``cum_units``.
    """
    frame = q.launch_curves(ds, pd.Timestamp(end).date(), int(days))
    frame["cum_units"] = frame.groupby("product_id")["units"].cumsum()
    return frame


def launch_benchmark(curves: pd.DataFrame) -> pd.DataFrame:
    """Median and interquartile range of cumulative units by day since launch, over launches.

    Returns ``days_since_launch``, ``median``, ``q25``, ``q75``, ``n_products`` (launches reaching that day).
    """
    if curves.empty:
        return pd.DataFrame(columns=["days_since_launch", "median", "q25", "q75", "n_products"])
    g = curves.groupby("days_since_launch")["cum_units"]
    return pd.DataFrame({"median": g.median(), "q25": g.quantile(0.25), "q75": g.quantile(0.75),
                         "n_products": g.count()}).reset_index()


@dataclass(frozen=True)
class LaunchSummary:
    """The typical launch at the last day of the benchmark: its median cumulative units (``typical``,
    an Estimate without interval, n = launches reaching that day), the quartiles, how many launches
    there are and how many were launched since ``since``."""

    days: int
    typical: Estimate
    q25: float
    q75: float
    launches: int
    recent: int


def launch_summary(curves: pd.DataFrame, since: dt.date | str) -> LaunchSummary | None:
    """:func:`launch_benchmark` read at its last day (None without launches)."""
    bench = launch_benchmark(curves)
    if bench.empty:
        return None
    last = bench[bench["days_since_launch"] == bench["days_since_launch"].max()].iloc[0]
    recent = curves.loc[pd.to_datetime(curves["launch_date"]) >= pd.Timestamp(since), "product_id"].nunique()
    return LaunchSummary(int(last["days_since_launch"]) + 1,
                         Estimate(last["median"], n=int(last["n_products"]), method="median_iqr", unit="count"),
                         float(last["q25"]), float(last["q75"]), int(curves["product_id"].nunique()), int(recent))


# ----- at what price -----------------------------------------------------------------------------

def price_panel(ds: Dataset, channels: tuple[str, ...] = ()) -> pd.DataFrame:
    """Units and average price paid per product and week, the data of a product-level price model.

    Returns ``product_id``, ``category``, ``week`` (Monday), ``units``, ``gmv`` (CNY), ``price``
    (GMV / units, CNY), ``list_price`` (CNY) and ``campaign_share`` (share of the week's days
    inside a campaign; 0 without the campaigns table). Weeks without a sale are absent.
    """
    panel = q.price_weeks(ds, channels)
    panel["price"] = panel["gmv"] / panel["units"]
    panel["week"] = pd.to_datetime(panel["week"])
    days = calendar.campaign_days(ds)
    if len(days):
        share = (days.assign(week=days["date"].dt.to_period("W").dt.start_time).groupby("week")["date"]
                 .nunique().div(7.0).rename("campaign_share").reset_index())
        panel = panel.merge(share, on="week", how="left")
    panel["campaign_share"] = panel.get("campaign_share", pd.Series(0.0, index=panel.index)).fillna(0.0)
    return panel.sort_values(["product_id", "week"]).reset_index(drop=True)


@dataclass
class Elasticity(ReadsEstimate):
    """Own-price elasticity of demand of one category: % change in units for a 1% change in price.

    ``value`` is the :class:`Estimate` (unit ``number``, method ``elasticity_within_day``);
    ``n_days`` the number of days the category was observed on (its n); ``std_error`` the
    clustered standard error.
    """

    category: str
    value: Estimate
    std_error: float
    n_days: int
    model: object = None  # the statsmodels results object
    covariance: pd.DataFrame | None = None  # the slopes' joint covariance (category x category), shared

    @property
    def n(self) -> int:
        return self.n_days


def category_price_days(ds: Dataset, channels: tuple[str, ...] = (),
                        exclude_sources: tuple[str, ...] = ("livestream",)) -> pd.DataFrame:
    """Units and price index per category and day: ``category``, ``date``, ``units``, ``price_index``.

    The price index is Σ quantity × unit price / Σ quantity × list price (1 = full price).
    Orders from ``exclude_sources`` (livestream: prices and volumes set by the host's deal, not
    by the shop's price list) are left out. Lines without a list price fall back to the
    product's ``list_price_cny`` converted at the order's rate.
    """
    frame = q.category_price_days(ds, tuple(channels), tuple(exclude_sources), ds.has("orders", ["source"]))
    frame["date"] = pd.to_datetime(frame["date"])
    return frame.dropna(subset=["price_index"])


def price_elasticities(ds: Dataset, channels: tuple[str, ...] = (), min_days: int = 60,
                       level: float = 0.95) -> list[Elasticity]:
    """Own-price elasticity of demand per category from one log-log regression (statsmodels OLS).

    Model: log(units_cd) = α_c + β_c · log(price_index_cd) + δ_d + ε, on :func:`category_price_days`.
    The day effects δ_d take out everything that moves all categories together (season,
    weekday, campaigns and their promotions, growth), so β_c is identified from a category's
    price moving relative to the others on the same day; standard errors clustered by week
    (see :func:`workbench.stats.elasticity.within_day_elasticities`). Categories with fewer than
    ``min_days`` days or no price variation are left out. Whole history; cache with ``nb.memo``.
    """
    ds.require(NEEDS_ELASTICITY)
    panel = category_price_days(ds, channels)
    if panel.empty:
        return []
    fitted, fit, cov = elasticity_stats.within_day_elasticities(
        panel["category"].to_numpy(), panel["date"].to_numpy(), np.log(panel["units"].to_numpy(float)),
        np.log(panel["price_index"].to_numpy(float)), panel["date"].dt.to_period("W").astype(str).to_numpy(),
        min_days=min_days, level=level)
    return [Elasticity(e.category, e.value, e.std_error, e.n_days, fit, cov) for e in fitted]


def elasticity_extremes(elasticities: list[Elasticity], level: float = 0.95
                        ) -> tuple[elasticity_stats.Extreme | None, elasticity_stats.Extreme | None]:
    """The most and the least price-sensitive category, each with whether the data decide it.

    In: :func:`price_elasticities`' list. Out: two :class:`workbench.stats.elasticity.Extreme`
    (``most``, ``least``; None with fewer than two categories), each naming its category, the
    runner-up, the gap between them with its interval, and the ``contenders`` the data cannot tell
    apart from it at ``level`` (differences from the slopes' joint covariance); a page names a
    category as the extreme only when ``decided``, and otherwise names the contenders.
    """
    cov = elasticities[0].covariance if elasticities else None
    return (elasticity_stats.extreme(elasticities, cov, "most", level),
            elasticity_stats.extreme(elasticities, cov, "least", level))


def elasticity_table(elasticities: list[Elasticity]) -> pd.DataFrame:
    """The elasticities as a frame: ``category``, ``elasticity``, ``elasticity_low``, ``elasticity_high``, ``n_days``."""
    return pd.DataFrame([{"category": e.category, "elasticity": e.estimate, "elasticity_low": e.low,
                          "elasticity_high": e.high, "n_days": e.n_days} for e in elasticities],
                        columns=["category", "elasticity", "elasticity_low", "elasticity_high", "n_days"])


def price_change_scenario(elasticities: pd.DataFrame, gmv_by_category: pd.DataFrame,
                          change: float = 0.05) -> pd.DataFrame:
    """What a ``change`` in price (0.05 = +5%) does to units and GMV per category, with intervals.

    With constant elasticity e, units scale by (1 + change)^e and GMV by (1 + change)^(1 + e);
    the interval bounds come from the elasticity's interval. ``gmv_by_category`` (``category``,
    ``gmv``) gives the base in CNY for ``gmv_change_cny``. Returns ``category``, ``units_change``,
    ``units_change_low``, ``units_change_high``, ``gmv_change``, ``gmv_change_low``,
    ``gmv_change_high`` (relative) and ``gmv_change_cny``.
    """
    rows = []
    for _, r in elasticities.iterrows():
        e = Estimate(r["elasticity"], r["elasticity_low"], r["elasticity_high"])
        u = elasticity_stats.constant_elasticity_change(e, change)
        g = elasticity_stats.constant_elasticity_change(e, change, gmv=True)
        rows.append({"category": r["category"], "units_change": u.estimate, "units_change_low": u.low,
                     "units_change_high": u.high, "gmv_change": g.estimate, "gmv_change_low": g.low,
                     "gmv_change_high": g.high})
    out = pd.DataFrame(rows, columns=["category", "units_change", "units_change_low", "units_change_high",
                                      "gmv_change", "gmv_change_low", "gmv_change_high"])
    out = out.merge(gmv_by_category[["category", "gmv"]], on="category", how="left")
    out["gmv_change_cny"] = out["gmv_change"] * out["gmv"]
    return out.drop(columns="gmv")


def price_change_of(elasticity: Elasticity, change: float = 0.05) -> tuple[Estimate, Estimate]:
    """The relative change in units and in GMV of ``elasticity``'s category after a price ``change``."""
    return (elasticity_stats.constant_elasticity_change(elasticity.value, change),
            elasticity_stats.constant_elasticity_change(elasticity.value, change, gmv=True))


# ----- stock-outs ---------------------------------------------------------------------------------

@dataclass
class StockoutEstimate:
    """Days out of stock and the sales they cost, estimated from demand on in-stock days.

    ``by_product`` holds one row per product with stock-outs: ``product_id``, ``product_name``,
    ``category``, ``stockout_days``, ``baseline_units_per_day``, ``lost_units``, ``lost_units_low``,
    ``lost_units_high``, ``lost_gmv``, ``lost_gmv_low``, ``lost_gmv_high`` (CNY), ``n_instock_days``.
    ``lost_units`` (unit ``count``) and ``lost_gmv`` (``money``) are the totals as Estimates, their
    lower bounds never below 0; ``method`` is the key ``stockout_local_level``.
    """

    by_product: pd.DataFrame
    stockout_days: int
    lost_units: Estimate
    lost_gmv: Estimate
    method: str
    window: int


BY_PRODUCT_COLUMNS = ["product_id", "product_name", "category", "stockout_days", "baseline_units_per_day",
                      "lost_units", "lost_units_low", "lost_units_high", "lost_gmv", "lost_gmv_low",
                      "lost_gmv_high", "n_instock_days"]


def stockout_days(ds: Dataset) -> pd.DataFrame:
    """Product-days of the inventory table with units sold and an out-of-stock flag.

    Returns ``product_id``, ``date``, ``stock_on_hand``, ``units`` (valid order lines), ``out_of_stock``
    for the products that were ever out of stock: a day opens with no stock (the previous day's
    closing stock is zero and nothing came in) or closes at zero having sold nothing.
    """
    return q.stockout_days(ds, ds.has("inventory", ["inbound_units"]))


#: Per dataset and window: each product's baseline on every day (they do not depend on the period asked).
_LEVELS: weakref.WeakKeyDictionary[Dataset, dict] = weakref.WeakKeyDictionary()


def _local_levels(ds: Dataset, window: int) -> tuple[list, pd.Timestamp | None, pd.Timestamp | None]:
    """``([(product_id, LocalLevels)], first day, last day)`` of the stock-out days of ``ds``, kept per
    dataset (its tables are held as loaded) so that another period only sums other days."""
    held = _LEVELS.setdefault(ds, {})
    if window not in held:
        days = stockout_days(ds)
        if days.empty:
            held[window] = ([], None, None)
        else:
            days["date"] = pd.to_datetime(days["date"])
            levels = []
            for pid, d in days.groupby("product_id", sort=False):
                d = d.set_index("date")
                flag = d["out_of_stock"].astype("boolean")
                levels.append((pid, stockout_stats.local_levels(d["units"].astype(float),
                                                                flag.fillna(False).astype(bool),
                                                                (~flag).fillna(False).astype(bool), window)))
            held[window] = (levels, days["date"].min(), days["date"].max())
    return held[window]


def stockout_losses(ds: Dataset, start: str | None = None, end: str | None = None,
                    window: int = 28, level: float = 0.95) -> StockoutEstimate:
    """Sales lost to stock-outs between ``start`` and ``end`` (ISO dates; whole history when None).

    For each product, the expected demand on a day out of stock is the mean daily units on its
    in-stock days within ``window`` days before and after (see :mod:`workbench.stats.stockout`);
    lost GMV is lost units times the product's average price paid. Intervals treat daily units
    as over-dispersed Poisson (dispersion from the same in-stock days); bounds are clipped at 0.
    """
    ds.require(NEEDS_STOCKOUT)
    method = stockout_stats.METHOD

    def result(by: pd.DataFrame, n_days: int, units: tuple, gmv: tuple) -> StockoutEstimate:
        n = int(by["product_id"].nunique()) if len(by) else 0
        return StockoutEstimate(by, n_days, Estimate(*units, level=level, n=n, method=method, unit="count",
                                                     bounds=(0.0, float("inf")), min_n=0),
                                Estimate(*gmv, level=level, n=n, method=method, unit="money",
                                         bounds=(0.0, float("inf")), min_n=0), method, window)

    empty = result(pd.DataFrame(columns=BY_PRODUCT_COLUMNS), 0, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
    levels, first, last = _local_levels(ds, window)
    if not levels:
        return empty
    lo_t = pd.Timestamp(start) if start else first
    hi_t = pd.Timestamp(end) if end else last
    rows = []
    for pid, lv in levels:
        index = lv.rate.index
        lost = lv.lost(pd.Series((index >= lo_t) & (index <= hi_t), index=index))
        if lost is not None:
            rows.append({"product_id": pid, "stockout_days": lost.stockout_days,
                         "baseline_units_per_day": lost.baseline_units_per_day, "lost_units": lost.lost_units,
                         "lost_var": lost.lost_var, "n_instock_days": lost.n_instock_days})
    if not rows:
        return empty
    by = pd.DataFrame(rows).merge(q.stockout_prices(ds, _has_name(ds)), on="product_id", how="left")
    lost_u, var, n_days = (by["lost_units"].to_numpy(float), by["lost_var"].to_numpy(float),
                           by["stockout_days"].to_numpy(float))
    u_lo, u_hi, u_tot, u_tot_lo, u_tot_hi = stockout_stats.spell_interval(lost_u, var, n_days, level)
    g_lo, g_hi, g_tot, g_tot_lo, g_tot_hi = stockout_stats.spell_interval(lost_u, var, n_days, level,
                                                                          by["price"].to_numpy(float))
    by = by.assign(lost_units_low=u_lo, lost_units_high=u_hi, lost_gmv=lost_u * by["price"].to_numpy(float),
                   lost_gmv_low=g_lo, lost_gmv_high=g_hi)
    by = by.sort_values("lost_gmv", ascending=False).reset_index(drop=True)[BY_PRODUCT_COLUMNS]
    return result(by, int(by["stockout_days"].sum()), (u_tot, u_tot_lo, u_tot_hi), (g_tot, g_tot_lo, g_tot_hi))


# ----- how to list it -----------------------------------------------------------------------------

#: The method key of the listing regression (its note is ``method.listing_ols_hc3``).
LISTING_METHOD = "listing_ols_hc3"


@dataclass
class ListingQuality:
    """Effect of listing attributes on sales, controlling for category and price.

    ``effects`` has one row per attribute: ``term``, ``effect`` (relative change in units per day
    for one more unit of the attribute, or for having a video), ``effect_low``, ``effect_high``,
    ``coef``/``coef_low``/``coef_high`` (log scale), ``p_value``, ``per``; ``data`` is the
    product-level frame the model was fitted on.
    """

    effects: pd.DataFrame
    data: pd.DataFrame
    n: int
    method: str
    model: object = None
    level: float = 0.95

    def effect(self, term: str) -> Estimate:
        """The effect of ``term`` as an Estimate (a relative change, unit ``change``)."""
        r = self.effects.set_index("term").loc[term]
        return Estimate(r["effect"], r["effect_low"], r["effect_high"], self.level, self.n, self.method, "change")


def listing_quality(ds: Dataset, per: dict[str, float] | None = None, level: float = 0.95) -> ListingQuality | None:
    """Regress each product's sales rate on its listing attributes with category and price controls.

    The data model carries no per-product page views, so the outcome is the conversion of a
    product's days on sale into units: log(units per day on sale + 0.1), OLS with HC3 errors.
    ``per`` scales an attribute's effect (default: per 10 characters of title, per image, per 100
    characters of description). Returns None when fewer than 20 products carry the attributes.
    """
    import statsmodels.formula.api as smf

    ds.require(NEEDS_SALES)
    per = per or {"title_length": 10, "image_count": 1, "description_length": 100}
    cols = [c for c in LISTING_COLUMNS if ds.has("products", [c])]
    if not cols:
        return None
    data = q.listing_data(ds, cols)
    data = data.dropna(subset=cols + ["list_price_cny"])
    data = data[(data["days_on_sale"] > 0) & (data["list_price_cny"] > 0)]
    if len(data) < 20:
        return None
    data = data.assign(units_per_day=data["units"] / data["days_on_sale"],
                       has_video=data["has_video"].astype(float) if "has_video" in cols else 0.0)
    data["log_rate"] = np.log(data["units_per_day"] + 0.1)
    data["log_price"] = np.log(data["list_price_cny"])
    scaled = {c: data[c].astype(float) / per.get(c, 1) for c in cols}
    frame = data.assign(**scaled)
    formula = "log_rate ~ " + " + ".join(cols) + " + log_price"
    if frame["category"].nunique() > 1:
        formula += " + C(category)"
    fit = smf.ols(formula, data=frame).fit(cov_type="HC3")
    ci = fit.conf_int(alpha=1 - level)
    effects = pd.DataFrame({"term": cols,
                            "effect": [np.expm1(fit.params[c]) for c in cols],
                            "effect_low": [np.expm1(ci.loc[c, 0]) for c in cols],
                            "effect_high": [np.expm1(ci.loc[c, 1]) for c in cols],
                            "coef": [fit.params[c] for c in cols],
                            "coef_low": [ci.loc[c, 0] for c in cols],
                            "coef_high": [ci.loc[c, 1] for c in cols],
                            "p_value": [fit.pvalues[c] for c in cols],
                            "per": [per.get(c, 1) for c in cols]})
    return ListingQuality(effects, data, int(fit.nobs), LISTING_METHOD, fit, level)
