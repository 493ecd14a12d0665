"""Products and pricing: what to sell (ABC, growth-share, launches), how to list it, at what price.

Functions take a :class:`~workbench.data.loader.Dataset` (and :class:`~workbench.sql.common.Filters`
where the answer depends on the period) and return tidy frames or small result objects; the
notebook draws and words them. Models fitted on the whole history (elasticities, listing
quality, stock-outs) take only hashable arguments so a notebook can cache them with ``nb.memo``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data.loader import Dataset
from workbench.sql.common import Filters

NEEDS_SALES = {"orders": ["ordered_at", "channel"], "order_items": ["product_id", "quantity", "unit_price"],
               "products": ["category"]}
NEEDS_MARGIN = {**NEEDS_SALES, "products": ["category", "unit_cost_cny"]}
NEEDS_LAUNCH = {**NEEDS_SALES, "products": ["category", "launch_date"]}
LISTING_COLUMNS = ("title_length", "image_count", "has_video", "description_length")
NEEDS_LISTING = {**NEEDS_SALES, "products": ["category", "list_price_cny", *LISTING_COLUMNS]}
NEEDS_ELASTICITY = {**NEEDS_SALES, "products": ["category", "list_price_cny"]}
NEEDS_STOCKOUT = {**NEEDS_SALES, "inventory": ["stock_on_hand"]}


# ----- what to sell ----------------------------------------------------------------------------

def product_totals(ds: Dataset, f: Filters) -> pd.DataFrame:
    """GMV (line value, CNY), units and margin (CNY; NaN without unit costs) per product in the period.

    Returns ``product_id``, ``category``, ``gmv``, ``units``, ``margin``.
    """
    has_cost = ds.has("products", ["unit_cost_cny"])
    cost = "sum(i.line_gmv_cny - i.quantity * p.unit_cost_cny)" if has_cost else "CAST(NULL AS DOUBLE)"
    return ds.sql(f"""
        SELECT i.product_id, any_value(p.category) AS category, sum(i.line_gmv_cny) AS gmv,
               sum(i.quantity) AS units, {cost} AS margin
        FROM items_cny i JOIN products p USING (product_id)
        WHERE i.is_valid AND {f.where('i.order_date', 'i.channel')}
        GROUP BY 1 ORDER BY gmv DESC""")


def abc_classes(ds: Dataset, f: Filters, value: str = "gmv", a: float = 0.8, b: float = 0.95) -> pd.DataFrame:
    """ABC (Pareto) classes of products by ``value`` (``gmv`` or ``margin``) in the period.

    Products are ranked by value; those making up the first ``a`` of the total are class A, up
    to ``b`` class B, the rest C (products with a negative or zero value are C). Returns the
    :func:`product_totals` columns plus ``rank``, ``cum_share`` (cumulative share of the total
    value) and ``rank_share`` (rank / number of products), best first.
    """
    totals = product_totals(ds, f)
    cols = [*totals.columns, "rank", "cum_share", "rank_share", "abc"]
    if totals.empty or totals[value].isna().all():
        return pd.DataFrame(columns=cols)
    out = totals.sort_values(value, ascending=False).reset_index(drop=True)
    positive = out[value].clip(lower=0)
    total = positive.sum()
    out["rank"] = np.arange(1, len(out) + 1)
    out["cum_share"] = positive.cumsum() / total if total > 0 else np.nan
    out["rank_share"] = out["rank"] / len(out)
    before = out["cum_share"] - positive / total if total > 0 else out["cum_share"]
    out["abc"] = np.where(before < a, "A", np.where(before < b, "B", "C"))
    out.loc[out[value] <= 0, "abc"] = "C"
    return out[cols]


def abc_summary(classes: pd.DataFrame, value: str = "gmv") -> pd.DataFrame:
    """Per ABC class: number and share of products, and share of ``value``."""
    if classes.empty:
        return pd.DataFrame(columns=["abc", "n_products", "share_of_products", f"share_of_{value}"])
    g = classes.groupby("abc").agg(n_products=("product_id", "count"), v=(value, "sum")).reset_index()
    g["share_of_products"] = g["n_products"] / g["n_products"].sum()
    g[f"share_of_{value}"] = g["v"] / classes[value].clip(lower=0).sum()
    return g.drop(columns="v")


def growth_share(ds: Dataset, f: Filters) -> pd.DataFrame:
    """A growth and share matrix of categories (after the BCG matrix, with the shop's own share).

    ``share`` is the category's share of the shop's line value in the period, ``growth`` its
    change on the comparison period. Quadrants split at the median share and at the shop's
    overall growth: ``star`` (high share, growing faster), ``cash_cow`` (high share, slower),
    ``question_mark`` (low share, faster), ``dog`` (low share, slower). Returns ``category``,
    ``gmv``, ``gmv_comparison``, ``share``, ``growth``, ``quadrant``.
    """
    cur = ds.sql(f"""SELECT p.category, sum(i.line_gmv_cny) AS gmv FROM items_cny i JOIN products p USING (product_id)
                     WHERE i.is_valid AND {f.where('i.order_date', 'i.channel')} GROUP BY 1""")
    cols = ["category", "gmv", "gmv_comparison", "share", "growth", "quadrant"]
    cmp_f = f.comparison()
    if cur.empty:
        return pd.DataFrame(columns=cols)
    if cmp_f is None:
        cur["gmv_comparison"] = np.nan
    else:
        prev = ds.sql(f"""SELECT p.category, sum(i.line_gmv_cny) AS gmv_comparison FROM items_cny i
                          JOIN products p USING (product_id)
                          WHERE i.is_valid AND {cmp_f.where('i.order_date', 'i.channel')} GROUP BY 1""")
        cur = cur.merge(prev, on="category", how="left")
    cur["share"] = cur["gmv"] / cur["gmv"].sum()
    cur["growth"] = cur["gmv"] / cur["gmv_comparison"].where(cur["gmv_comparison"] > 0) - 1
    overall = cur["gmv"].sum() / cur["gmv_comparison"].sum() - 1 if cur["gmv_comparison"].sum() > 0 else np.nan
    high_share = cur["share"] >= cur["share"].median()
    fast = cur["growth"] >= overall
    cur["quadrant"] = np.select([high_share & fast, high_share & ~fast, ~high_share & fast],
                                ["star", "cash_cow", "question_mark"], "dog")
    return cur[cols].sort_values("gmv", ascending=False).reset_index(drop=True)


def launch_curves(ds: Dataset, end: "pd.Timestamp | str", days: int = 90) -> pd.DataFrame:
    """Cumulative units of each product over its first ``days`` days on sale (new-product launches).

    Products whose ``launch_date`` lies inside the order history and on or before ``end`` are
    kept; a product launched less than ``days`` days before ``end`` has a shorter curve. Returns
    ``product_id``, ``category``, ``launch_date``, ``days_since_launch`` (0..days-1), ``units``,
    ``cum_units``.
    """
    frame = ds.sql(f"""
        WITH launched AS (
            SELECT product_id, category, launch_date FROM products
            WHERE launch_date >= (SELECT min(order_date) FROM orders_cny) AND launch_date <= DATE '{pd.Timestamp(end).date()}'),
        grid AS (
            SELECT l.product_id, l.category, l.launch_date, d AS days_since_launch FROM launched l,
                   range(0, {int(days)}) AS t(d)
            WHERE l.launch_date + CAST(d AS INTEGER) <= DATE '{pd.Timestamp(end).date()}'),
        sold AS (
            SELECT i.product_id, CAST(i.order_date - l.launch_date AS BIGINT) AS days_since_launch,
                   sum(i.quantity) AS units
            FROM items_cny i JOIN launched l USING (product_id)
            WHERE i.is_valid AND i.order_date >= l.launch_date AND i.order_date < l.launch_date + {int(days)}
            GROUP BY 1, 2)
        SELECT g.product_id, g.category, g.launch_date, g.days_since_launch, COALESCE(s.units, 0) AS units
        FROM grid g LEFT JOIN sold s USING (product_id, days_since_launch)
        ORDER BY 1, 4""")
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


# ----- at what price -----------------------------------------------------------------------------

def price_panel(ds: Dataset, channels: tuple[str, ...] = ()) -> pd.DataFrame:
    """Units and average price paid per product and week, the data of the elasticity model.

    Returns ``product_id``, ``category``, ``week`` (Monday), ``units``, ``gmv`` (CNY), ``price``
    (GMV / units, CNY), ``list_price`` (CNY) and ``campaign_share`` (share of the week's days
    inside a campaign; 0 without the campaigns table). Weeks without a sale are absent: their
    price is not observed.
    """
    chan = Filters(start=pd.Timestamp(0).date(), end=pd.Timestamp(0).date(), channels=channels).channel_sql("i.channel")
    panel = ds.sql(f"""
        SELECT i.product_id, any_value(p.category) AS category, CAST(date_trunc('week', i.order_date) AS DATE) AS week,
               sum(i.quantity) AS units, sum(i.line_gmv_cny) AS gmv, any_value(p.list_price_cny) AS list_price
        FROM items_cny i JOIN products p USING (product_id)
        WHERE i.is_valid AND i.unit_price > 0 AND {chan} GROUP BY 1, 3""")
    panel["price"] = panel["gmv"] / panel["units"]
    panel["week"] = pd.to_datetime(panel["week"])
    if ds.has("campaigns"):
        days = ds.sql("""SELECT CAST(date_trunc('week', d) AS DATE) AS week, count(DISTINCT d) / 7.0 AS campaign_share
                         FROM campaigns, generate_series(start_date, end_date, INTERVAL 1 DAY) AS t(d) GROUP BY 1""")
        days["week"] = pd.to_datetime(days["week"])
        panel = panel.merge(days, on="week", how="left")
    panel["campaign_share"] = panel.get("campaign_share", pd.Series(0.0, index=panel.index)).fillna(0.0)
    return panel.sort_values(["product_id", "week"]).reset_index(drop=True)


@dataclass
class Elasticity:
    """Own-price elasticity of demand of one category: % change in units for a 1% change in price."""

    category: str
    estimate: float
    low: float
    high: float
    std_error: float
    n: int
    n_products: int
    method: str
    model: object = None  # the statsmodels results object

    def reading(self, lang: str = "en") -> str:
        if lang == "zh":
            return f"价格每上涨 1%，销量变化 {self.estimate:+.2f}%（95% 置信区间 {self.low:+.2f}–{self.high:+.2f}，n = {self.n:,}）。"
        return (f"A 1% higher price changes units by {self.estimate:+.2f}% "
                f"(95% CI {self.low:+.2f} to {self.high:+.2f}, n = {self.n:,}).")


ELASTICITY_METHOD = ("OLS of log daily units on log price index (price paid / list price) per category, with day "
                     "fixed effects (absorbing seasonality, campaigns, promotions and overall demand: the within-day "
                     "transform), category intercepts; livestream-sourced orders left out; standard errors "
                     "clustered by week (price regimes last a week)")


def category_price_days(ds: Dataset, channels: tuple[str, ...] = (),
                        exclude_sources: tuple[str, ...] = ("livestream",)) -> pd.DataFrame:
    """Units and price index per category and day: ``category``, ``date``, ``units``, ``price_index``.

    The price index is Σ quantity × unit price / Σ quantity × list price (1 = full price).
    Orders from ``exclude_sources`` (livestream: prices and volumes set by the host's deal, not
    by the shop's price list) are left out. Lines without a list price fall back to the
    product's ``list_price_cny`` converted at the order's rate.
    """
    f = Filters(start=dt.date(1970, 1, 1), end=dt.date(1970, 1, 1), channels=channels)
    src = ("o.source IS NULL OR o.source NOT IN (" + ", ".join(f"'{x}'" for x in exclude_sources) + ")"
           if exclude_sources and ds.has("orders", ["source"]) else "TRUE")
    frame = ds.sql(f"""
        SELECT p.category, i.order_date AS date, sum(i.quantity) AS units,
               sum(i.quantity * i.unit_price) / sum(i.quantity * COALESCE(i.list_price, p.list_price_cny / i.fx_rate))
                   AS price_index
        FROM items_cny i JOIN products p USING (product_id) JOIN orders o USING (order_id)
        WHERE i.is_valid AND i.unit_price > 0 AND ({src}) AND {f.channel_sql('i.channel')}
        GROUP BY 1, 2 HAVING sum(i.quantity) > 0""")
    frame["date"] = pd.to_datetime(frame["date"])
    return frame.dropna(subset=["price_index"])


def price_elasticities(ds: Dataset, channels: tuple[str, ...] = (), min_days: int = 60) -> list[Elasticity]:
    """Own-price elasticity of demand per category from one log-log regression (statsmodels OLS).

    Model: log(units_cd) = α_c + β_c · log(price_index_cd) + δ_d + ε, on :func:`category_price_days`.
    The day effects δ_d take out everything that moves all categories together (season,
    weekday, campaigns and their promotions, growth), so β_c is identified from a category's
    price moving relative to the others on the same day. Fitted by the within-day transform
    (Frisch–Waugh–Lovell, so thousands of day dummies cost nothing), with standard errors
    clustered by week and corrected for the absorbed day effects. Categories with fewer than
    ``min_days`` days or no price variation are left out. Whole history; cache with ``nb.memo``.
    """
    import statsmodels.api as sm

    ds.require(NEEDS_ELASTICITY)
    panel = category_price_days(ds, channels)
    if panel.empty:
        return []
    panel = panel.assign(log_units=np.log(panel["units"]), log_price=np.log(panel["price_index"]))
    keep = panel.groupby("category")["log_price"].agg(["count", "std"])
    cats = sorted(keep[(keep["count"] >= min_days) & (keep["std"] > 1e-6)].index)
    panel = panel[panel["category"].isin(cats)]
    panel = panel[panel.groupby("date")["category"].transform("count") > 1]  # a day with one category says nothing
    if len(cats) < 2 or panel.empty:
        return []
    cols = {}
    for c in cats[1:]:
        cols[f"is_{c}"] = (panel["category"] == c).astype(float)
    for c in cats:
        cols[f"lp_{c}"] = np.where(panel["category"] == c, panel["log_price"], 0.0)
    x = pd.DataFrame(cols, index=panel.index)
    y = panel["log_units"]
    xd = x - x.groupby(panel["date"]).transform("mean")
    yd = y - y.groupby(panel["date"]).transform("mean")
    weeks = pd.factorize(panel["date"].dt.to_period("W"))[0]
    fit = sm.OLS(yd.to_numpy(), xd.to_numpy()).fit(cov_type="cluster", cov_kwds={"groups": weeks})
    n, k, g = len(yd), xd.shape[1], panel["date"].nunique()
    adj = np.sqrt((n - k) / max(n - k - g, 1))  # the day means used up g degrees of freedom
    out: list[Elasticity] = []
    z = 1.959964
    for c in cats:
        j = list(x.columns).index(f"lp_{c}")
        est, se = float(fit.params[j]), float(fit.bse[j]) * adj
        out.append(Elasticity(c, est, est - z * se, est + z * se, se, int((panel["category"] == c).sum()),
                              int(g), ELASTICITY_METHOD, fit))
    return out


def elasticity_table(elasticities: list[Elasticity]) -> pd.DataFrame:
    """The elasticities as a frame: ``category``, ``elasticity``, ``elasticity_low``, ``elasticity_high``, ``n_obs``."""
    return pd.DataFrame([{"category": e.category, "elasticity": e.estimate, "elasticity_low": e.low,
                          "elasticity_high": e.high, "n_obs": e.n, "n_products": e.n_products}
                         for e in elasticities],
                        columns=["category", "elasticity", "elasticity_low", "elasticity_high", "n_obs", "n_products"])


def price_change_scenario(elasticities: pd.DataFrame, gmv_by_category: pd.DataFrame,
                          change: float = 0.05) -> pd.DataFrame:
    """What a ``change`` in price (0.05 = +5%) does to units and GMV per category, with intervals.

    With constant elasticity e, units scale by (1 + change)^e and GMV by (1 + change)^(1 + e);
    the interval bounds come from the elasticity's 95% interval. ``gmv_by_category`` (``category``,
    ``gmv``) gives the base in CNY for ``gmv_change_cny``. Returns ``category``, ``units_change``,
    ``units_change_low``, ``units_change_high``, ``gmv_change``, ``gmv_change_low``,
    ``gmv_change_high`` (relative) and ``gmv_change_cny``.
    """
    e = elasticities.set_index("category")
    f = 1.0 + change
    out = pd.DataFrame({
        "category": e.index,
        "units_change": f ** e["elasticity"].to_numpy() - 1,
        "units_change_low": f ** np.where(change > 0, e["elasticity_low"], e["elasticity_high"]) - 1,
        "units_change_high": f ** np.where(change > 0, e["elasticity_high"], e["elasticity_low"]) - 1,
        "gmv_change": f ** (1 + e["elasticity"].to_numpy()) - 1,
        "gmv_change_low": f ** (1 + np.where(change > 0, e["elasticity_low"], e["elasticity_high"])) - 1,
        "gmv_change_high": f ** (1 + np.where(change > 0, e["elasticity_high"], e["elasticity_low"])) - 1,
    })
    out = out.merge(gmv_by_category[["category", "gmv"]], on="category", how="left")
    out["gmv_change_cny"] = out["gmv_change"] * out["gmv"]
    return out.drop(columns="gmv")


# ----- stock-outs ---------------------------------------------------------------------------------

@dataclass
class StockoutEstimate:
    """Days out of stock and the sales they cost, estimated from demand on in-stock days.

    ``by_product`` holds one row per product with stock-outs: ``product_id``, ``category``,
    ``stockout_days``, ``baseline_units_per_day``, ``lost_units``, ``lost_units_low``,
    ``lost_units_high``, ``lost_gmv`` (CNY), ``n_instock_days`` (days the baseline rests on).
    """

    by_product: pd.DataFrame
    stockout_days: int
    lost_units: float
    lost_units_low: float
    lost_units_high: float
    lost_gmv: float
    lost_gmv_low: float
    lost_gmv_high: float
    method: str


STOCKOUT_METHOD = ("a product-day is out of stock when it opens with no stock (the previous day's closing "
                   "stock is zero and nothing came in) or closes at zero having sold nothing; lost units = "
                   "days out × mean daily units on the product's in-stock days within {window} days of "
                   "the stock-out (same weekday mix), 95% interval from the Poisson variance of that mean")


def stockout_days(ds: Dataset) -> pd.DataFrame:
    """Product-days of the inventory table with units sold and an out-of-stock flag.

    Returns ``product_id``, ``date``, ``stock_on_hand``, ``units`` (valid order lines), ``out_of_stock``
    for the products that were ever out of stock (see :data:`STOCKOUT_METHOD`).
    """
    inbound = "COALESCE(inbound_units, 0)" if ds.has("inventory", ["inbound_units"]) else "0"
    return ds.sql(f"""
        WITH inv AS (
            SELECT product_id, date, stock_on_hand, {inbound} AS inbound,
                   lag(stock_on_hand) OVER (PARTITION BY product_id ORDER BY date) AS opening
            FROM inventory),
        sold AS (
            SELECT product_id, order_date AS date, sum(quantity) AS units FROM items_cny
            WHERE is_valid AND product_id IN (SELECT product_id FROM inventory WHERE stock_on_hand = 0)
            GROUP BY 1, 2),
        flagged AS (
            SELECT inv.product_id, inv.date, inv.stock_on_hand, COALESCE(s.units, 0) AS units,
                   ((inv.opening = 0 AND inv.inbound = 0) OR (inv.stock_on_hand = 0 AND COALESCE(s.units, 0) = 0))
                       AS out_of_stock
            FROM inv LEFT JOIN sold s USING (product_id, date)
            WHERE inv.product_id IN (SELECT product_id FROM inventory WHERE stock_on_hand = 0))
        SELECT * FROM flagged ORDER BY product_id, date""")


def stockout_losses(ds: Dataset, start: "str | None" = None, end: "str | None" = None,
                    window: int = 28) -> StockoutEstimate:
    """Sales lost to stock-outs between ``start`` and ``end`` (ISO dates; whole history when None).

    For each product, the expected demand on a day out of stock is the mean daily units on its
    in-stock days within ``window`` days before and after (a local level that follows the
    product's trend and season); lost units are that demand summed over the days out of stock,
    lost GMV the lost units times the product's average price paid on those in-stock days. The
    interval treats daily units as Poisson: Var(mean) = mean / n_instock_days.
    """
    ds.require(NEEDS_STOCKOUT)
    days = stockout_days(ds)
    method = STOCKOUT_METHOD.format(window=window)
    empty = StockoutEstimate(pd.DataFrame(columns=["product_id", "category", "stockout_days", "baseline_units_per_day",
                                                   "lost_units", "lost_units_low", "lost_units_high", "lost_gmv",
                                                   "n_instock_days"]),
                             0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, method)
    if days.empty:
        return empty
    days["date"] = pd.to_datetime(days["date"])
    prices = ds.sql("""SELECT product_id, sum(line_gmv_cny) / sum(quantity) AS price, any_value(p.category) AS category
                       FROM items_cny JOIN products p USING (product_id) WHERE is_valid
                       AND product_id IN (SELECT product_id FROM inventory WHERE stock_on_hand = 0) GROUP BY 1""")
    rows = []
    lo_t = pd.Timestamp(start) if start else days["date"].min()
    hi_t = pd.Timestamp(end) if end else days["date"].max()
    for pid, d in days.groupby("product_id", sort=False):
        d = d.set_index("date")
        instock_units = d["units"].where(~d["out_of_stock"])
        # centred window sum / count over in-stock days only
        roll_sum = instock_units.fillna(0).rolling(2 * window + 1, center=True, min_periods=1).sum()
        roll_n = instock_units.notna().astype(float).rolling(2 * window + 1, center=True, min_periods=1).sum()
        out = d["out_of_stock"] & (d.index >= lo_t) & (d.index <= hi_t)
        if not out.any():
            continue
        rate = (roll_sum / roll_n.where(roll_n > 0))[out]
        n_in = roll_n[out]
        lost = float(rate.sum())
        var = float((rate / n_in).sum()) if len(rate) else 0.0  # sum of Var(mean) over days (upper bound on corr.)
        rows.append({"product_id": pid, "stockout_days": int(out.sum()), "baseline_units_per_day": float(rate.mean()),
                     "lost_units": lost, "lost_var": var, "n_instock_days": int(n_in.mean())})
    if not rows:
        return empty
    by = pd.DataFrame(rows).merge(prices, on="product_id", how="left")
    by["lost_gmv"] = by["lost_units"] * by["price"]
    # days of one spell share one baseline: their errors add up, not in quadrature
    se = np.sqrt(by["lost_var"] * by["stockout_days"])
    by["lost_units_low"] = (by["lost_units"] - 1.96 * se).clip(lower=0)
    by["lost_units_high"] = by["lost_units"] + 1.96 * se
    total_se = float(np.sqrt((by["lost_var"] * by["stockout_days"]).sum()))
    gmv_se = float(np.sqrt((by["lost_var"] * by["stockout_days"] * by["price"] ** 2).sum()))
    by = by.sort_values("lost_gmv", ascending=False).reset_index(drop=True)
    lost_u, lost_g = float(by["lost_units"].sum()), float(by["lost_gmv"].sum())
    return StockoutEstimate(by[empty.by_product.columns.tolist() + []], int(by["stockout_days"].sum()), lost_u,
                            max(lost_u - 1.96 * total_se, 0.0), lost_u + 1.96 * total_se, lost_g,
                            max(lost_g - 1.96 * gmv_se, 0.0), lost_g + 1.96 * gmv_se, method)


# ----- how to list it -----------------------------------------------------------------------------

LISTING_METHOD = ("OLS of log(units per day on sale + 0.1) on title length, image count, video and description "
                  "length, with category effects and log list price as controls; HC3 robust standard errors")


@dataclass
class ListingQuality:
    """Effect of listing attributes on sales, controlling for category and price.

    ``effects`` has one row per attribute: ``term``, ``effect`` (relative change in units per day
    for one more unit of the attribute, or for having a video), ``effect_low``, ``effect_high``,
    ``p_value``; ``data`` is the product-level frame the model was fitted on.
    """

    effects: pd.DataFrame
    data: pd.DataFrame
    n: int
    method: str
    model: object = None


def listing_quality(ds: Dataset, per: dict[str, float] | None = None) -> ListingQuality | None:
    """Regress each product's sales rate on its listing attributes with category and price controls.

    The data model carries no per-product page views, so the outcome is the conversion of a
    product's days on sale into units: units per day on sale (from launch, or from the first
    day of the data, to the last day). ``per`` scales an attribute's effect (default: per 10
    characters of title, per image, per 100 characters of description). Returns None when
    fewer than 20 products carry the attributes.
    """
    import statsmodels.formula.api as smf

    ds.require(NEEDS_SALES)
    per = per or {"title_length": 10, "image_count": 1, "description_length": 100}
    cols = [c for c in LISTING_COLUMNS if ds.has("products", [c])]
    if not cols:
        return None
    data = ds.sql(f"""
        WITH span AS (SELECT min(order_date) AS first, max(order_date) AS last FROM orders_cny),
        sold AS (SELECT product_id, sum(quantity) AS units FROM items_cny WHERE is_valid GROUP BY 1)
        SELECT p.product_id, p.category, p.list_price_cny, {', '.join('p.' + c for c in cols)},
               COALESCE(s.units, 0) AS units,
               (SELECT last FROM span) - greatest(COALESCE(p.launch_date, (SELECT first FROM span)),
                                                  (SELECT first FROM span)) + 1 AS days_on_sale
        FROM products p LEFT JOIN sold s USING (product_id)""")
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
    ci = fit.conf_int()
    effects = pd.DataFrame({"term": cols,
                            "effect": [np.expm1(fit.params[c]) for c in cols],
                            "effect_low": [np.expm1(ci.loc[c, 0]) for c in cols],
                            "effect_high": [np.expm1(ci.loc[c, 1]) for c in cols],
                            "coef": [fit.params[c] for c in cols],
                            "coef_low": [ci.loc[c, 0] for c in cols],
                            "coef_high": [ci.loc[c, 1] for c in cols],
                            "p_value": [fit.pvalues[c] for c in cols],
                            "per": [per.get(c, 1) for c in cols]})
    return ListingQuality(effects, data, int(fit.nobs), LISTING_METHOD, fit)
