"""Omnichannel: channel mix and margin, multi-channel customers, online-offline orders, price
consistency across channels and cannibalisation by a new channel.

Functions take a :class:`~workbench.data.loader.Dataset` and :class:`~workbench.sql.common.Filters` and
return tidy frames or small result objects; the notebook ``07_omnichannel`` draws and words them.
Fair comparisons of customers use exact matching on strata (see
:func:`workbench.topics.social.matched_difference`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data.loader import Dataset
from workbench.errors import EmptyPeriodError
from workbench.sql import common as queries
from workbench.sql.common import Filters
from workbench.topics.social import MatchedDifference, matched_difference

NEEDS_MIX = {"orders": ["paid_amount", "ordered_at", "channel"]}
NEEDS_CUSTOMERS = {"orders": ["customer_id", "ordered_at", "channel", "paid_amount"]}
NEEDS_O2O = {"orders": ["fulfilment", "store_id", "ordered_at", "channel"], "stores": ["store_id", "city"]}
NEEDS_PRICE = {"order_items": ["product_id", "unit_price", "quantity"], "orders": ["ordered_at", "channel"]}



def channel_mix(ds: Dataset, f: Filters) -> pd.DataFrame:
    """GMV, discounts, platform fees, product cost and margin per channel, with growth.

    ``margin_after_fees`` = GMV − platform fees − product cost (product cost only when order_items
    and products.unit_cost_cny are present; otherwise GMV − fees). ``growth`` is against the
    comparison period. Returns one row per channel sorted by GMV, with ``gmv_share``.
    """
    has_cost = ds.has("products", ["unit_cost_cny"]) and "items_cny" in queries.relations(ds)

    def totals(ff: Filters) -> pd.DataFrame:
        cost = ("LEFT JOIN (SELECT i.order_id, sum(i.quantity * p.unit_cost_cny) AS cost FROM order_items i "
                "JOIN products p USING (product_id) GROUP BY 1) c USING (order_id)") if has_cost else ""
        cost_col = "sum(COALESCE(c.cost, 0))" if has_cost else "NULL::DOUBLE"
        return ds.sql(f"""
            SELECT o.channel, count(*) AS orders, sum(o.gmv_cny) AS gmv, sum(o.discount_cny) AS discount_cny,
                   sum(o.platform_fee_cny) AS platform_fee_cny, {cost_col} AS product_cost_cny
            FROM orders_cny o {cost}
            WHERE o.is_valid AND {ff.where('o.order_date', 'o.channel')} GROUP BY 1
        """)

    cur = totals(f)
    if cur.empty:
        return cur
    cur["margin_after_fees"] = cur["gmv"] - cur["platform_fee_cny"] - cur["product_cost_cny"].fillna(0)
    cur["margin_rate"] = cur["margin_after_fees"] / cur["gmv"].where(cur["gmv"] > 0)
    cur["gmv_share"] = cur["gmv"] / cur["gmv"].sum()
    cmp_f = f.comparison()
    if cmp_f is not None:
        prev = totals(cmp_f)[["channel", "gmv"]].rename(columns={"gmv": "gmv_comparison"})
        cur = cur.merge(prev, on="channel", how="left")
        cur["growth"] = cur["gmv"] / cur["gmv_comparison"].where(cur["gmv_comparison"] > 0) - 1
    else:
        cur["gmv_comparison"], cur["growth"] = np.nan, np.nan
    return cur.sort_values("gmv", ascending=False).reset_index(drop=True)


# ----- multi-channel customers ------------------------------------------------------------------

def multichannel_effect(ds: Dataset, landmark_days: int = 90, horizon_days: int = 365) -> dict[str, MatchedDifference]:
    """Value and retention of customers who buy in several channels against those in one (whole history).

    Landmark design: a customer is *multi-channel* when they bought in two or more channels within
    ``landmark_days`` of their first order. Outcomes are measured after the landmark over
    ``horizon_days``: ``retention`` (any further valid order) and ``value`` (GMV, CNY). Groups are
    matched exactly on first-purchase month and first channel; customers whose horizon runs past the
    data are left out. Returns {"retention": ..., "value": ...} as :class:`MatchedDifference`.
    """
    customers = f"""
        WITH o AS (SELECT customer_id, ordered_at, channel, gmv_cny,
                          row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS k
                   FROM orders_cny WHERE is_valid),
        first AS (SELECT customer_id, ordered_at AS first_at, channel AS first_channel FROM o WHERE k = 1),
        last AS (SELECT max(ordered_at) AS last_at FROM orders_cny),
        per AS (
            SELECT f.customer_id, f.first_channel, strftime(f.first_at, '%Y-%m') AS first_month,
                   CASE WHEN count(DISTINCT CASE WHEN o.ordered_at < f.first_at + INTERVAL {landmark_days} DAY
                                                 THEN o.channel END) >= 2 THEN 1 ELSE 0 END AS treated,
                   max(CASE WHEN o.ordered_at >= f.first_at + INTERVAL {landmark_days} DAY
                             AND o.ordered_at < f.first_at + INTERVAL {landmark_days + horizon_days} DAY
                            THEN 1.0 ELSE 0.0 END) AS retention,
                   sum(CASE WHEN o.ordered_at >= f.first_at + INTERVAL {landmark_days} DAY
                             AND o.ordered_at < f.first_at + INTERVAL {landmark_days + horizon_days} DAY
                            THEN o.gmv_cny ELSE 0.0 END) AS value
            FROM first f JOIN o USING (customer_id)
            WHERE f.first_at + INTERVAL {landmark_days + horizon_days} DAY <= (SELECT last_at FROM last)
            GROUP BY f.customer_id, f.first_channel, f.first_at
        )
        SELECT first_month || '|' || first_channel AS stratum, treated, retention, value FROM per
    """
    method = (f"exact matching on first-purchase month and first channel; multi-channel = 2+ channels within "
              f"{landmark_days} days of the first order; outcome over the following {horizon_days} days")
    out = {}
    for y in ("retention", "value"):
        strata = ds.sql(f"""
            SELECT stratum, treated, count(*) AS n, sum({y}) AS y_sum, sum({y} * {y}) AS y_sq
            FROM ({customers}) GROUP BY ALL
        """)
        out[y] = matched_difference(strata, y, method)
    return out


def multichannel_share(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Buyers of the period by how many channels they bought in: ``channels_used``, ``buyers``, ``gmv``, ``share``."""
    frame = ds.sql(f"""
        SELECT least(n, 3) AS channels_used, count(*) AS buyers, sum(gmv) AS gmv FROM (
            SELECT customer_id, count(DISTINCT channel) AS n, sum(gmv_cny) AS gmv
            FROM orders_cny WHERE is_valid AND {f.where()} GROUP BY 1)
        GROUP BY 1 ORDER BY 1
    """)
    frame["share"] = frame["buyers"] / frame["buyers"].sum() if len(frame) else np.nan
    return frame


# ----- online-offline ---------------------------------------------------------------------------

def fulfilment_mix(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Orders and GMV per fulfilment type: ``fulfilment``, ``orders``, ``gmv``, ``share`` (of orders)."""
    frame = ds.sql(f"""
        SELECT COALESCE(fulfilment, 'delivery') AS fulfilment, count(*) AS orders, sum(gmv_cny) AS gmv
        FROM orders_cny WHERE is_valid AND {f.where()} GROUP BY 1 ORDER BY orders DESC
    """)
    frame["share"] = frame["orders"] / frame["orders"].sum() if len(frame) else np.nan
    return frame


def store_performance(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Per store: ``store_id``, ``name``, ``city``, ``orders``, ``gmv``, orders per fulfilment type
    (``in_store``, ``pickup_in_store``, ``ship_from_store``), ``gmv_per_sqm`` (when the area is known),
    ``local_share`` (orders whose destination or buyer city is the store's city; NaN when unknown)."""
    area = "s.area_sqm" if ds.has("stores", ["area_sqm"]) else "NULL::DOUBLE"
    name = "s.name" if ds.has("stores", ["name"]) else "s.store_id"
    ocity = "o.city" if ds.has("orders", ["city"]) else "NULL"
    ccity = "c.city" if ds.has("customers", ["city"]) else "NULL"
    cjoin = "LEFT JOIN customers c ON c.customer_id = o.customer_id" if ds.has("customers", ["city"]) else ""
    frame = ds.sql(f"""
        SELECT s.store_id, {name} AS name, s.city, {area} AS area_sqm, count(*) AS orders, sum(o.gmv_cny) AS gmv,
               count(*) FILTER (WHERE o.fulfilment = 'in_store') AS in_store,
               count(*) FILTER (WHERE o.fulfilment = 'pickup_in_store') AS pickup_in_store,
               count(*) FILTER (WHERE o.fulfilment = 'ship_from_store') AS ship_from_store,
               count(COALESCE({ocity}, {ccity})) AS city_known,
               count(*) FILTER (WHERE COALESCE({ocity}, {ccity}) = s.city) AS local_orders
        FROM orders_cny o JOIN stores s ON s.store_id = o.store_id {cjoin}
        WHERE o.is_valid AND {f.where('o.order_date', 'o.channel')}
        GROUP BY ALL ORDER BY gmv DESC
    """)
    frame["gmv_per_sqm"] = frame["gmv"] / frame["area_sqm"].where(frame["area_sqm"] > 0)
    frame["local_share"] = frame["local_orders"] / frame["city_known"].where(frame["city_known"] > 0)
    return frame


def store_catchment(ds: Dataset, f: Filters, top: int = 8) -> pd.DataFrame:
    """Where each store's buyers come from: ``store_id``, ``city`` (buyer's city, the ``top`` cities
    kept, the rest as 'other'), ``orders`` and ``share`` of the store's orders."""
    ocity = "o.city" if ds.has("orders", ["city"]) else "NULL"
    ccity = "c.city" if ds.has("customers", ["city"]) else "NULL"
    cjoin = "LEFT JOIN customers c ON c.customer_id = o.customer_id" if ds.has("customers", ["city"]) else ""
    frame = ds.sql(f"""
        SELECT o.store_id, COALESCE({ocity}, {ccity}, 'unknown') AS city, count(*) AS orders
        FROM orders_cny o {cjoin}
        WHERE o.is_valid AND o.store_id IS NOT NULL AND {f.where('o.order_date', 'o.channel')}
        GROUP BY ALL
    """)
    if frame.empty:
        return frame.assign(share=pd.Series(dtype=float))
    keep = frame.groupby("city")["orders"].sum().nlargest(top).index
    frame["city"] = frame["city"].where(frame["city"].isin(keep), "other")
    frame = frame.groupby(["store_id", "city"], as_index=False)["orders"].sum()
    return frame.assign(share=frame["orders"] / frame.groupby("store_id")["orders"].transform("sum"))


# ----- price consistency ------------------------------------------------------------------------

def price_gaps(ds: Dataset, f: Filters, threshold: float = 0.10, min_units: int = 20,
               include_cross_border: bool = False) -> pd.DataFrame:
    """The same product at different prices across channels, flagged with the gap.

    With products (category, list price) the gap is measured against the same category on the same
    day in the other channels (see :func:`_price_gaps_same_day`). Without them: per product and
    channel, quantity-weighted mean unit price in CNY (with a 95% interval from the spread of line
    prices) and the gap to the reference price: the same product's pooled price in all *other*
    channels. The gap's 95% interval (delta method, on the log ratio) allows for noise
    in both prices. A row is ``flagged`` when the channel sold at least ``min_units`` units,
    |gap| ≥ ``threshold`` and the gap's interval excludes zero.
    Cross-border prices (foreign currency, duty) are left out unless ``include_cross_border``, and
    livestream orders (deliberate stream-only prices) are always left out.
    Returns ``product_id``, ``channel``, ``units``, ``lines``, ``unit_price_cny`` (+ ``_low``/``_high``),
    ``reference_price``, ``gap`` (+ ``gap_low``/``gap_high``), ``flagged``; flagged rows first, by |gap|.
    """
    cb = "" if include_cross_border else "AND i.channel <> 'cross_border'"
    stream = []
    if ds.has("orders", ["livestream_id"]):
        stream.append("o.livestream_id IS NULL")
    if ds.has("orders", ["source"]):
        stream.append("COALESCE(o.source, '') <> 'livestream'")
    no_stream = ("AND i.order_id IN (SELECT order_id FROM orders o WHERE " + " AND ".join(stream) + ")"
                 if stream else "")
    if ds.has("products", ["category", "list_price_cny"]):
        return _price_gaps_same_day(ds, f, threshold, min_units, cb, no_stream)
    frame = ds.sql(f"""
        SELECT i.product_id, i.channel, sum(i.quantity) AS units, count(*) AS lines,
               sum(i.quantity * i.unit_price_cny) AS revenue,
               sum(i.unit_price_cny) AS p_sum, sum(i.unit_price_cny * i.unit_price_cny) AS p_sq
        FROM items_cny i WHERE i.is_valid AND {f.where('i.order_date', 'i.channel')} {cb} {no_stream}
        GROUP BY ALL
    """)
    cols = ["product_id", "channel", "units", "lines", "unit_price_cny", "unit_price_cny_low", "unit_price_cny_high",
            "reference_price", "gap", "gap_low", "gap_high", "flagged"]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    # each channel's price and the other channels' pooled price, with standard errors of line means
    tot = frame.groupby("product_id")[["units", "lines", "revenue", "p_sum", "p_sq"]].transform("sum")
    frame["unit_price_cny"] = frame["revenue"] / frame["units"]
    frame["reference_price"] = (tot["revenue"] - frame["revenue"]) / (tot["units"] - frame["units"]).where(
        tot["units"] > frame["units"])

    def se(n: pd.Series, s1: pd.Series, s2: pd.Series) -> pd.Series:
        var = (s2 - s1 ** 2 / n) / (n - 1).where(n > 1)
        return np.sqrt(var.clip(lower=0) / n)

    se_p = se(frame["lines"], frame["p_sum"], frame["p_sq"])
    se_r = se(tot["lines"] - frame["lines"], tot["p_sum"] - frame["p_sum"], tot["p_sq"] - frame["p_sq"])
    z = 1.96
    half_p = z * se_p
    frame["unit_price_cny_low"] = frame["unit_price_cny"] - half_p
    frame["unit_price_cny_high"] = frame["unit_price_cny"] + half_p
    log_gap = np.log(frame["unit_price_cny"] / frame["reference_price"])
    half = z * np.sqrt((se_p / frame["unit_price_cny"]) ** 2 + (se_r / frame["reference_price"]) ** 2)
    frame["gap"] = np.exp(log_gap) - 1
    frame["gap_low"] = np.exp(log_gap - half) - 1
    frame["gap_high"] = np.exp(log_gap + half) - 1
    excludes = (frame["gap_high"] < 0) | (frame["gap_low"] > 0)
    frame["flagged"] = (frame["reference_price"].notna() & (frame["units"] >= min_units) & (frame["lines"] >= 2)
                        & (frame["gap"].abs() >= threshold) & excludes).astype(bool)
    frame = frame[cols]
    order = frame.assign(_a=frame["gap"].abs()).sort_values(["flagged", "_a"], ascending=[False, False]).index
    return frame.loc[order].reset_index(drop=True)


def _price_gaps_same_day(ds: Dataset, f: Filters, threshold: float, min_units: int, cb: str,
                          no_stream: str) -> pd.DataFrame:
    """Price gaps measured against the same category on the same day in the other channels.

    Each line's price index r = unit price / list price is divided by the other channels' mean r
    for the line's category and day, so that campaign discounts and weekly price changes (which a
    channel's buyers may time differently) do not show up as a channel price gap. The product's gap
    in a channel is the quantity-weighted mean of these ratios minus one, with a 95% interval from
    their spread over lines.
    """
    cols = ["product_id", "channel", "units", "lines", "unit_price_cny", "unit_price_cny_low", "unit_price_cny_high",
            "reference_price", "gap", "gap_low", "gap_high", "flagged"]
    frame = ds.sql(f"""
        WITH l AS (
            SELECT i.product_id, p.category, i.channel, i.order_date AS day, i.quantity AS q,
                   i.unit_price_cny, i.unit_price_cny / NULLIF(p.list_price_cny, 0) AS r
            FROM items_cny i JOIN products p USING (product_id)
            WHERE i.is_valid AND {f.where('i.order_date', 'i.channel')} {cb} {no_stream.replace('i.order_id', 'i.order_id')}
        ),
        cw AS (SELECT category, day, channel, sum(q * r) AS s, sum(q) AS n FROM l GROUP BY ALL),
        ct AS (SELECT category, day, sum(s) AS s_all, sum(n) AS n_all FROM cw GROUP BY ALL),
        rel AS (
            SELECT l.product_id, l.channel, l.q, l.unit_price_cny,
                   l.r / ((ct.s_all - cw.s) / NULLIF(ct.n_all - cw.n, 0)) AS x
            FROM l JOIN cw USING (category, day, channel) JOIN ct USING (category, day)
        )
        SELECT product_id, channel, sum(q) AS units, count(x) AS lines,
               sum(q * unit_price_cny) / sum(q) AS unit_price_cny, stddev_samp(unit_price_cny) AS sd_price,
               sum(q * x) / sum(q) AS rel, stddev_samp(x) AS sd_rel
        FROM rel WHERE x IS NOT NULL GROUP BY ALL
    """)
    if frame.empty:
        return pd.DataFrame(columns=cols)
    n = frame["lines"].astype(float)
    z = 1.96
    half_p = z * frame["sd_price"].fillna(0) / np.sqrt(n)
    frame["unit_price_cny_low"] = frame["unit_price_cny"] - half_p
    frame["unit_price_cny_high"] = frame["unit_price_cny"] + half_p
    half = z * frame["sd_rel"] / np.sqrt(n)
    frame["gap"] = frame["rel"] - 1
    frame["gap_low"] = frame["gap"] - half
    frame["gap_high"] = frame["gap"] + half
    frame["reference_price"] = frame["unit_price_cny"] / frame["rel"]
    excludes = (frame["gap_high"] < 0) | (frame["gap_low"] > 0)
    frame["flagged"] = ((frame["units"] >= min_units) & (frame["lines"] >= 2) & (frame["gap"].abs() >= threshold)
                        & excludes).astype(bool)
    frame = frame[cols]
    order = frame.assign(_a=frame["gap"].abs()).sort_values(["flagged", "_a"], ascending=[False, False]).index
    return frame.loc[order].reset_index(drop=True)


# ----- cannibalisation --------------------------------------------------------------------------

def newest_channel(ds: Dataset, min_days_after_start: int = 60) -> str | None:
    """The channel whose first order came last, if it started at least ``min_days_after_start`` days
    after the data begin (otherwise None: every channel was there from the start)."""
    frame = ds.sql("SELECT channel, min(order_date) AS first FROM orders_cny WHERE is_valid GROUP BY 1")
    if frame.empty:
        return None
    frame["first"] = pd.to_datetime(frame["first"])
    latest = frame.sort_values("first").iloc[-1]
    return str(latest["channel"]) if (latest["first"] - frame["first"].min()).days >= min_days_after_start else None


@dataclass
class Cannibalisation:
    """Did a channel's adopters spend less in the other channels afterwards? (difference in differences)"""

    channel: str
    adopters: int
    controls: int
    adopter_change: float   # mean change in other-channel GMV per adopter, after − before (CNY)
    control_change: float
    shift: float            # adopter_change − control_change; negative = sales moved over
    low: float
    high: float
    new_channel_gmv: float  # adopters' GMV in the new channel in the after window
    share_taken: float      # −shift × adopters / new_channel_gmv: share of its GMV taken from others
    window_days: int
    method: str
    caveat: str = ("Customers choose when to adopt a channel; those who adopt may already be changing how they "
                   "shop, so this is an association adjusted for the common trend, not a proof of cause.")


def cannibalisation(ds: Dataset, channel: str, f: Filters | None = None, window_days: int = 90) -> Cannibalisation:
    """Whether ``channel``'s growth took sales from the other channels, as far as the data can tell.

    Adopters are customers who had bought in other channels and placed their first ``channel`` order
    (in ``f``'s period, or at any time). Their GMV in the other channels over ``window_days`` after
    adopting minus the ``window_days`` before is compared with the same change for controls: customers
    active in the other channels in the same before-window (same adoption month) who did not adopt.
    Interval: 95%, from the two groups' spreads (Welch, normal approximation). Raises
    :class:`EmptyPeriodError` when no customer adopted.
    """
    period = f"AND a.adopt_date BETWEEN DATE '{f.start}' AND DATE '{f.end}'" if f is not None else ""
    w = int(window_days)
    q = f"""
        WITH o AS (SELECT customer_id, order_date, channel, gmv_cny FROM orders_cny WHERE is_valid),
        last AS (SELECT max(order_date) AS last_d, min(order_date) AS first_d FROM o),
        adopt AS (SELECT customer_id, min(order_date) AS adopt_date FROM o WHERE channel = '{channel}' GROUP BY 1),
        a AS (SELECT a.customer_id, a.adopt_date FROM adopt a, last
              WHERE a.adopt_date - INTERVAL {w} DAY >= last.first_d AND a.adopt_date + INTERVAL {w} DAY <= last.last_d
              {period}),
        months AS (SELECT DISTINCT date_trunc('month', adopt_date) AS m FROM a),
        adopters AS (
            SELECT a.customer_id, date_trunc('month', a.adopt_date) AS m, 1 AS treated,
                   sum(CASE WHEN o.channel <> '{channel}' AND o.order_date >= a.adopt_date - INTERVAL {w} DAY
                             AND o.order_date < a.adopt_date THEN o.gmv_cny ELSE 0 END) AS before,
                   sum(CASE WHEN o.channel <> '{channel}' AND o.order_date > a.adopt_date
                             AND o.order_date <= a.adopt_date + INTERVAL {w} DAY THEN o.gmv_cny ELSE 0 END) AS after,
                   sum(CASE WHEN o.channel = '{channel}' AND o.order_date >= a.adopt_date
                             AND o.order_date <= a.adopt_date + INTERVAL {w} DAY THEN o.gmv_cny ELSE 0 END) AS new_gmv
            FROM a JOIN o USING (customer_id) GROUP BY 1, 2
            HAVING before > 0
        ),
        controls AS (
            SELECT o.customer_id, months.m, 0 AS treated,
                   sum(CASE WHEN o.order_date >= months.m - INTERVAL {w} DAY AND o.order_date < months.m
                            THEN o.gmv_cny ELSE 0 END) AS before,
                   sum(CASE WHEN o.order_date > months.m AND o.order_date <= months.m + INTERVAL {w} DAY
                            THEN o.gmv_cny ELSE 0 END) AS after,
                   0.0 AS new_gmv
            FROM months JOIN o ON o.order_date >= months.m - INTERVAL {w} DAY
                               AND o.order_date <= months.m + INTERVAL {w} DAY
            WHERE o.customer_id NOT IN (SELECT customer_id FROM adopt) AND o.channel <> '{channel}'
            GROUP BY 1, 2 HAVING before > 0
        ),
        both_ AS (SELECT * FROM adopters UNION ALL SELECT * FROM controls)
        SELECT m, treated, count(*) AS n, sum(after - before) AS d_sum, sum((after - before) * (after - before)) AS d_sq,
               sum(new_gmv) AS new_gmv
        FROM both_ GROUP BY ALL
    """
    strata = ds.sql(q)
    if strata.empty or strata.loc[strata["treated"] == 1, "n"].sum() == 0:
        raise EmptyPeriodError(f"no customer of other channels started buying in {channel} in the chosen period "
                               "with a full window before and after; choose a longer period")
    md = matched_difference(strata.rename(columns={"m": "stratum", "d_sum": "y_sum", "d_sq": "y_sq"}),
                            "other_channel_gmv_change", "")
    new_gmv = float(strata.loc[strata["treated"] == 1, "new_gmv"].sum())
    share = -md.difference * md.n_treated / new_gmv if new_gmv > 0 and np.isfinite(md.difference) else float("nan")
    return Cannibalisation(channel, md.n_treated, md.n_control, md.treated_mean, md.control_mean, md.difference,
                           md.low, md.high, new_gmv, share, w,
                           f"difference in differences of other-channel GMV, {w} days after vs before adopting "
                           f"{channel}, adopters against non-adopters active in the same month")


def weekly_channel_gmv(ds: Dataset, f: Filters, channel: str) -> pd.DataFrame:
    """Weekly GMV of ``channel`` and of all other channels together: ``week``, ``measure``, ``gmv``."""
    frame = ds.sql(f"""
        SELECT date_trunc('week', order_date) AS week,
               CASE WHEN channel = '{channel}' THEN 'new_channel_gmv' ELSE 'other_gmv' END AS measure,
               sum(gmv_cny) AS gmv
        FROM orders_cny WHERE is_valid AND {f.date_sql('order_date')} GROUP BY ALL ORDER BY ALL
    """)
    frame["week"] = pd.to_datetime(frame["week"])
    return frame
