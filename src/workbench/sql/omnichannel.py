"""Queries of the omnichannel page: channel totals, multi-channel customers, stores, prices, adopters.

Every function takes the dataset (and filters) and returns a small frame; values are bound
parameters, columns that depend on which tables the shop has are chosen here from fixed text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from workbench.sql import engine
from workbench.sql.common import relations
from workbench.sql.filters import Filters

if TYPE_CHECKING:
    from workbench.data.loader import Dataset

#: Outcomes of the customer comparisons that a caller may choose.
OUTCOMES = ("retention", "repeat", "value")


def has_product_cost(ds: Dataset) -> bool:
    """Whether product cost can be computed (order lines and ``products.unit_cost_cny``)."""
    return ds.has("products", ["unit_cost_cny"]) and "items_cny" in relations(ds)


def channel_totals(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Per channel: ``channel``, ``orders``, ``gmv``, ``discount_cny``, ``platform_fee_cny``,
    ``product_cost_cny`` (NULL without cost data) of valid orders in the period."""
    has_cost = has_product_cost(ds)
    cost = ("LEFT JOIN (SELECT i.order_id, sum(i.quantity * p.unit_cost_cny) AS cost FROM order_items i "
            "JOIN products p USING (product_id) GROUP BY 1) c USING (order_id)") if has_cost else ""
    cost_col = "sum(COALESCE(c.cost, 0))" if has_cost else "CAST(NULL AS DOUBLE)"
    where, params = f.bind("o.order_date", "o.channel")
    return engine.query(ds, f"""
        SELECT o.channel, count(*) AS orders, sum(o.gmv_cny) AS gmv, sum(o.discount_cny) AS discount_cny,
               sum(o.platform_fee_cny) AS platform_fee_cny, {cost_col} AS product_cost_cny
        FROM orders_cny o {cost}
        WHERE o.is_valid AND {where} GROUP BY 1
    """, params)


def _landmark_customers(private: bool) -> str:
    """Per customer after a landmark: stratum, treated (0/1) and both outcomes (whole history)."""
    flag = ", (source = 'private_traffic' OR channel = 'wechat_mini') AS is_private" if private else ""
    first_gmv = ", gmv_cny AS first_gmv" if private else ""
    band = "ntile(4) OVER (ORDER BY f.first_gmv) AS value_band," if private else ""
    treated = ("max(CASE WHEN o.is_private AND o.ordered_at < f.first_at + $landmark * INTERVAL 1 DAY "
               "THEN 1 ELSE 0 END)" if private else
               "CASE WHEN count(DISTINCT CASE WHEN o.ordered_at < f.first_at + $landmark * INTERVAL 1 DAY "
               "THEN o.channel END) >= 2 THEN 1 ELSE 0 END")
    group = ", f.first_gmv" if private else ""
    stratum = ("first_month || '|' || first_channel || '|' || value_band" if private
               else "first_month || '|' || first_channel")
    return f"""
        WITH o AS (SELECT customer_id, ordered_at, channel, gmv_cny {flag},
                          row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS k
                   FROM orders_cny WHERE is_valid),
        first AS (SELECT customer_id, ordered_at AS first_at, channel AS first_channel {first_gmv}
                  FROM o WHERE k = 1),
        last AS (SELECT max(ordered_at) AS last_at FROM orders_cny),
        per AS (
            SELECT f.customer_id, f.first_channel, strftime(f.first_at, '%Y-%m') AS first_month, {band}
                   CAST({treated} AS BIGINT) AS treated,  -- one integer type on every engine
                   max(CASE WHEN o.ordered_at >= f.first_at + $landmark * INTERVAL 1 DAY
                             AND o.ordered_at < f.first_at + $until * INTERVAL 1 DAY
                            THEN 1.0 ELSE 0.0 END) AS outcome_repeat,
                   sum(CASE WHEN o.ordered_at >= f.first_at + $landmark * INTERVAL 1 DAY
                             AND o.ordered_at < f.first_at + $until * INTERVAL 1 DAY
                            THEN o.gmv_cny ELSE 0.0 END) AS outcome_value
            FROM first f JOIN o USING (customer_id)
            WHERE f.first_at + $until * INTERVAL 1 DAY <= (SELECT last_at FROM last)
            GROUP BY f.customer_id, f.first_channel, f.first_at {group}
        )
        SELECT {stratum} AS stratum, treated, outcome_repeat, outcome_value FROM per
    """


def landmark_strata(ds: Dataset, outcome: str, landmark_days: int, horizon_days: int,
                    private: bool = False) -> pd.DataFrame:
    """Per (``stratum``, ``treated``): ``n``, ``y_sum``, ``y_sq`` of ``outcome`` (retention or value).

    Treated: bought in 2+ channels within ``landmark_days`` of the first order (or, with
    ``private``, an order through private traffic in that window). Strata: first-purchase month and
    first channel (and first-order value quartile with ``private``). Outcomes over the
    ``horizon_days`` after the landmark; customers whose horizon runs past the data are left out.
    """
    col = {"retention": "outcome_repeat", "repeat": "outcome_repeat", "value": "outcome_value"}[engine.identifier(outcome, OUTCOMES)]
    return engine.query(ds, f"""
        SELECT stratum, treated, count(*) AS n, sum({col}) AS y_sum, sum({col} * {col}) AS y_sq
        FROM ({_landmark_customers(private)}) GROUP BY 1, 2
    """, {"landmark": int(landmark_days), "until": int(landmark_days) + int(horizon_days)})


def buyers_by_channel_count(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Buyers of the period by how many channels they bought in (3 = 3 or more): ``channels_used``,
    ``buyers``, ``gmv``."""
    where, params = f.bind("order_date", "channel")
    return engine.query(ds, f"""
        SELECT least(n, 3) AS channels_used, count(*) AS buyers, sum(gmv) AS gmv FROM (
            SELECT customer_id, count(DISTINCT channel) AS n, sum(gmv_cny) AS gmv
            FROM orders_cny WHERE is_valid AND {where} GROUP BY 1)
        GROUP BY 1 ORDER BY 1
    """, params)


def fulfilment_totals(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Orders and GMV per fulfilment type (missing = delivery): ``fulfilment``, ``orders``, ``gmv``."""
    where, params = f.bind("order_date", "channel")
    return engine.query(ds, f"""
        SELECT COALESCE(fulfilment, 'delivery') AS fulfilment, count(*) AS orders, sum(gmv_cny) AS gmv
        FROM orders_cny WHERE is_valid AND {where} GROUP BY 1 ORDER BY orders DESC
    """, params)


def _city_sql(ds: Dataset) -> tuple[str, str]:
    ocity = "o.city" if ds.has("orders", ["city"]) else "NULL"
    ccity = "c.city" if ds.has("customers", ["city"]) else "NULL"
    cjoin = "LEFT JOIN customers c ON c.customer_id = o.customer_id" if ds.has("customers", ["city"]) else ""
    return f"COALESCE({ocity}, {ccity})", cjoin


def store_totals(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Per store: ``store_id``, ``name`` (the store id when stores have no name), ``city``, ``area_sqm``,
    ``orders``, ``gmv``, orders per fulfilment type, ``city_known`` and ``local_orders``; by GMV."""
    area = "s.area_sqm" if ds.has("stores", ["area_sqm"]) else "CAST(NULL AS DOUBLE)"
    name = "s.name" if ds.has("stores", ["name"]) else "s.store_id"
    city, cjoin = _city_sql(ds)
    where, params = f.bind("o.order_date", "o.channel")
    return engine.query(ds, f"""
        SELECT s.store_id, {name} AS name, s.city, {area} AS area_sqm, count(*) AS orders, sum(o.gmv_cny) AS gmv,
               count(CASE WHEN o.fulfilment = 'in_store' THEN 1 END) AS in_store,
               count(CASE WHEN o.fulfilment = 'pickup_in_store' THEN 1 END) AS pickup_in_store,
               count(CASE WHEN o.fulfilment = 'ship_from_store' THEN 1 END) AS ship_from_store,
               count({city}) AS city_known,
               count(CASE WHEN {city} = s.city THEN 1 END) AS local_orders
        FROM orders_cny o JOIN stores s ON s.store_id = o.store_id {cjoin}
        WHERE o.is_valid AND {where}
        GROUP BY 1, 2, 3, 4 ORDER BY gmv DESC
    """, params)


def store_buyer_cities(ds: Dataset, f: Filters) -> pd.DataFrame:
    """Store orders by buyer's city: ``store_id``, ``store`` (its name), ``city`` ('unknown' when not
    known), ``orders``."""
    name = "s.name" if ds.has("stores", ["name"]) else "o.store_id"
    sjoin = "LEFT JOIN stores s ON s.store_id = o.store_id" if "stores" in ds.sources else ""
    if not sjoin:
        name = "o.store_id"
    city, cjoin = _city_sql(ds)
    where, params = f.bind("o.order_date", "o.channel")
    return engine.query(ds, f"""
        SELECT o.store_id, COALESCE({name}, o.store_id) AS store, COALESCE({city}, 'unknown') AS city,
               count(*) AS orders
        FROM orders_cny o {cjoin} {sjoin}
        WHERE o.is_valid AND o.store_id IS NOT NULL AND {where}
        GROUP BY 1, 2, 3
    """, params)


def _line_filters(ds: Dataset, include_cross_border: bool) -> str:
    cb = "" if include_cross_border else "AND i.channel <> 'cross_border'"
    stream = []
    if ds.has("orders", ["livestream_id"]):
        stream.append("o.livestream_id IS NULL")
    if ds.has("orders", ["source"]):
        stream.append("COALESCE(o.source, '') <> 'livestream'")
    no_stream = ("AND i.order_id IN (SELECT order_id FROM orders o WHERE " + " AND ".join(stream) + ")"
                 if stream else "")
    return f"{cb} {no_stream}"


def price_sums(ds: Dataset, f: Filters, include_cross_border: bool = False) -> pd.DataFrame:
    """Per product and channel (livestream orders left out): ``product_id``, ``channel``, ``units``,
    ``lines``, ``revenue``, ``p_sum`` and ``p_sq`` (sum and sum of squares of line prices, CNY)."""
    where, params = f.bind("i.order_date", "i.channel")
    return engine.query(ds, f"""
        SELECT i.product_id, i.channel, sum(i.quantity) AS units, count(*) AS lines,
               sum(i.quantity * i.unit_price_cny) AS revenue,
               sum(i.unit_price_cny) AS p_sum, sum(i.unit_price_cny * i.unit_price_cny) AS p_sq
        FROM items_cny i WHERE i.is_valid AND {where} {_line_filters(ds, include_cross_border)}
        GROUP BY 1, 2
    """, params)


def price_index_same_day(ds: Dataset, f: Filters, include_cross_border: bool = False) -> pd.DataFrame:
    """Per product and channel: each line's price index (unit price / list price) over the other
    channels' mean index for the same category and day. Returns ``product_id``, ``channel``,
    ``units``, ``lines``, ``unit_price_cny`` (quantity-weighted), ``sd_price``, ``rel`` (weighted mean
    relative index) and ``sd_rel``."""
    where, params = f.bind("i.order_date", "i.channel")
    return engine.query(ds, f"""
        WITH l AS (
            SELECT i.product_id, p.category, i.channel, i.order_date AS day, i.quantity AS q,
                   i.unit_price_cny, i.unit_price_cny / NULLIF(p.list_price_cny, 0) AS r
            FROM items_cny i JOIN products p USING (product_id)
            WHERE i.is_valid AND {where} {_line_filters(ds, include_cross_border)}
        ),
        cw AS (SELECT category, day, channel, sum(q * r) AS s, sum(q) AS n FROM l GROUP BY 1, 2, 3),
        ct AS (SELECT category, day, sum(s) AS s_all, sum(n) AS n_all FROM cw GROUP BY 1, 2),
        rel AS (
            SELECT l.product_id, l.channel, l.q, l.unit_price_cny,
                   l.r / ((ct.s_all - cw.s) / NULLIF(ct.n_all - cw.n, 0)) AS x
            FROM l JOIN cw USING (category, day, channel) JOIN ct USING (category, day)
        )
        SELECT product_id, channel, sum(q) AS units, count(x) AS lines,
               sum(q * unit_price_cny) / sum(q) AS unit_price_cny, stddev_samp(unit_price_cny) AS sd_price,
               sum(q * x) / sum(q) AS rel, stddev_samp(x) AS sd_rel
        FROM rel WHERE x IS NOT NULL GROUP BY 1, 2
    """, params)


def product_names(ds: Dataset) -> pd.DataFrame:
    """``product_id`` and ``product`` (its name; the id when products have no name)."""
    if not ds.has("products", ["product_id"]):
        return pd.DataFrame({"product_id": pd.Series(dtype=object), "product": pd.Series(dtype=object)})
    name = "COALESCE(name, product_id)" if ds.has("products", ["name"]) else "product_id"
    return engine.query(ds, f"SELECT product_id, {name} AS product FROM products")


def channel_first_dates(ds: Dataset) -> pd.DataFrame:
    """Each channel's first valid order date: ``channel``, ``first``."""
    return engine.query(ds, "SELECT channel, min(order_date) AS first FROM orders_cny WHERE is_valid GROUP BY 1")


def adopter_strata(ds: Dataset, channel: str, f: Filters | None, window_days: int) -> pd.DataFrame:
    """Per adoption month (``m``) and group (``treated``): ``n``, ``d_sum``, ``d_sq`` (change in
    other-channel GMV, after − before) and ``new_gmv`` (adopters' GMV in ``channel`` after).

    Adopters: customers who had bought elsewhere and placed a first ``channel`` order (in ``f``'s
    period when given) with a full window before and after; controls: customers active in the
    other channels in the same month's before-window who never bought in ``channel``.
    """
    params: dict[str, object] = {"channel": channel, "w": int(window_days)}
    period = ""
    if f is not None:
        period = "AND a.adopt_date BETWEEN $start AND $end"
        params.update(start=f.start, end=f.end)
    return engine.query(ds, f"""
        WITH o AS (SELECT customer_id, order_date, channel, gmv_cny FROM orders_cny WHERE is_valid),
        last AS (SELECT max(order_date) AS last_d, min(order_date) AS first_d FROM o),
        adopt AS (SELECT customer_id, min(order_date) AS adopt_date FROM o WHERE channel = $channel GROUP BY 1),
        a AS (SELECT a.customer_id, a.adopt_date FROM adopt a, last
              WHERE a.adopt_date - $w * INTERVAL 1 DAY >= last.first_d
                AND a.adopt_date + $w * INTERVAL 1 DAY <= last.last_d {period}),
        months AS (SELECT DISTINCT date_trunc('month', adopt_date) AS m FROM a),
        adopters AS (
            SELECT a.customer_id, date_trunc('month', a.adopt_date) AS m, 1 AS treated,
                   sum(CASE WHEN o.channel <> $channel AND o.order_date >= a.adopt_date - $w * INTERVAL 1 DAY
                             AND o.order_date < a.adopt_date THEN o.gmv_cny ELSE 0 END) AS before,
                   sum(CASE WHEN o.channel <> $channel AND o.order_date > a.adopt_date
                             AND o.order_date <= a.adopt_date + $w * INTERVAL 1 DAY THEN o.gmv_cny ELSE 0 END)
                       AS after,
                   sum(CASE WHEN o.channel = $channel AND o.order_date >= a.adopt_date
                             AND o.order_date <= a.adopt_date + $w * INTERVAL 1 DAY THEN o.gmv_cny ELSE 0 END)
                       AS new_gmv
            FROM a JOIN o USING (customer_id) GROUP BY 1, 2
            HAVING before > 0
        ),
        controls AS (
            SELECT o.customer_id, months.m, 0 AS treated,
                   sum(CASE WHEN o.order_date >= months.m - $w * INTERVAL 1 DAY AND o.order_date < months.m
                            THEN o.gmv_cny ELSE 0 END) AS before,
                   sum(CASE WHEN o.order_date > months.m AND o.order_date <= months.m + $w * INTERVAL 1 DAY
                            THEN o.gmv_cny ELSE 0 END) AS after,
                   0.0 AS new_gmv
            FROM months JOIN o ON o.order_date >= months.m - $w * INTERVAL 1 DAY
                               AND o.order_date <= months.m + $w * INTERVAL 1 DAY
            WHERE o.customer_id NOT IN (SELECT customer_id FROM adopt) AND o.channel <> $channel
            GROUP BY 1, 2 HAVING before > 0
        ),
        both_ AS (SELECT * FROM adopters UNION ALL SELECT * FROM controls)
        SELECT m, treated, count(*) AS n, sum(after - before) AS d_sum,
               sum((after - before) * (after - before)) AS d_sq, sum(new_gmv) AS new_gmv
        FROM both_ GROUP BY 1, 2
    """, params)


def weekly_gmv_of(ds: Dataset, f: Filters, channel: str) -> pd.DataFrame:
    """Weekly GMV of ``channel`` and of all other channels together (period only, all channels):
    ``week``, ``measure`` (``new_channel_gmv`` / ``other_gmv``), ``gmv``."""
    where, params = f.bind("order_date", None)
    params["channel"] = channel
    return engine.query(ds, f"""
        SELECT date_trunc('week', order_date) AS week,
               CASE WHEN channel = $channel THEN 'new_channel_gmv' ELSE 'other_gmv' END AS measure,
               sum(gmv_cny) AS gmv
        FROM orders_cny WHERE is_valid AND {where} GROUP BY 1, 2 ORDER BY 1, 2
    """, params)
