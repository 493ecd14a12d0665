"""Queries of the personalisation page: customer features, baskets and the offline test of the recommender.

Every value (the reference day, windows, channels, thresholds, sample moduli) is a bound
parameter. Nothing returned carries personal data: customers are identified by ``customer_id``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from workbench.sql import dialect, engine

if TYPE_CHECKING:
    from workbench.data.loader import Dataset


def _channels(channels: tuple[str, ...], column: str = "channel") -> tuple[str, dict]:
    """A channel condition with one bound parameter per channel (TRUE for all channels)."""
    if not channels:
        return "TRUE", {}
    names = [f"ch{i}" for i in range(len(channels))]
    return f"{column} IN ({', '.join('$' + n for n in names)})", dict(zip(names, channels))


def customer_features(ds: Dataset, as_of: dt.date, window_days: int = 365, channels: tuple[str, ...] = (),
                      sample_mod: int = 1) -> pd.DataFrame:
    """One row per customer with a valid order in the ``window_days`` up to ``as_of``.

    Columns: ``customer_id``, ``recency_days``, ``orders_365d``, ``gmv_365d`` (CNY), ``discount_share``,
    ``tenure_days``, ``orders_90d``, ``top_channel``, ``categories`` (distinct product categories, 1 when
    items/products are not loaded). ``sample_mod`` > 1 keeps a stable hash sample (1 in ``sample_mod``).
    """
    lo = as_of - dt.timedelta(days=window_days - 1)
    chan, params = _channels(channels)
    params.update({"as_of": as_of, "lo": lo, "mod": max(int(sample_mod), 1)})
    has_cat = ds.has("order_items") and ds.has("products", ["category"])
    cats = ("LEFT JOIN (SELECT i.customer_id, count(DISTINCT p.category) AS categories FROM items_cny i "
            "JOIN products p USING (product_id) WHERE i.is_valid AND i.order_date BETWEEN $lo AND $as_of "
            "GROUP BY 1) c USING (customer_id)") if has_cat else ""
    sql = f"""
        WITH o AS (SELECT customer_id, order_date, channel, gmv_cny, discount_cny, gross_cny
                   FROM orders_cny WHERE is_valid AND {chan} AND order_date <= $as_of
                     AND ($mod = 1 OR hash(customer_id) % $mod = 0)),
        agg AS (
            SELECT customer_id, date_diff('day', max(order_date), $as_of) AS recency_days,
                   count(CASE WHEN order_date >= $lo THEN 1 END) AS orders_365d,
                   COALESCE(sum(CASE WHEN order_date >= $lo THEN gmv_cny END), 0) AS gmv_365d,
                   COALESCE(sum(CASE WHEN order_date >= $lo THEN discount_cny END)
                            / nullif(sum(CASE WHEN order_date >= $lo THEN gross_cny END), 0), 0) AS discount_share,
                   date_diff('day', min(order_date), $as_of) AS tenure_days,
                   count(CASE WHEN order_date > $as_of - INTERVAL 90 DAY THEN 1 END) AS orders_90d,
                   mode(CASE WHEN order_date >= $lo THEN channel END) AS top_channel
            FROM o GROUP BY 1
        )
        SELECT agg.*{', COALESCE(c.categories, 0) AS categories' if has_cat else ', 1 AS categories'}
        FROM agg {cats} WHERE orders_365d > 0 ORDER BY customer_id"""
    return engine.query(ds, sql, params)


def customer_categories(ds: Dataset, as_of: dt.date, days: int = 365) -> pd.DataFrame:
    """Lines bought per customer and category in the ``days`` up to ``as_of``: ``customer_id``, ``category``, ``n``."""
    if not (ds.has("order_items") and ds.has("products", ["category"])):
        return pd.DataFrame(columns=["customer_id", "category", "n"])
    sql = """SELECT i.customer_id, p.category, count(*) AS n FROM items_cny i JOIN products p USING (product_id)
             WHERE i.is_valid AND i.order_date BETWEEN $lo AND $as_of GROUP BY 1, 2"""
    return engine.query(ds, sql, {"lo": as_of - dt.timedelta(days=days - 1), "as_of": as_of})


def customer_regions(ds: Dataset) -> pd.DataFrame:
    """``customer_id`` and ``region`` (a region of the country, not an address) of customers with one."""
    if not ds.has("customers", ["region"]):
        return pd.DataFrame(columns=["customer_id", "region"])
    return engine.query(ds, "SELECT customer_id, region FROM customers WHERE region IS NOT NULL")


def first_order_date(ds: Dataset) -> dt.date | None:
    """The first day with a valid order."""
    value = engine.scalar(ds, "SELECT min(order_date) FROM orders_cny WHERE is_valid")
    return None if value is None else pd.Timestamp(value).date()


def buyers_between(ds: Dataset, after: dt.date, upto: dt.date, channels: tuple[str, ...] = ()) -> pd.Series:
    """Customers with a valid order after ``after`` and up to ``upto`` (the label of the propensity model)."""
    chan, params = _channels(channels)
    sql = f"""SELECT DISTINCT customer_id FROM orders_cny WHERE is_valid AND {chan}
              AND order_date > $after AND order_date <= $upto"""
    return engine.query(ds, sql, {**params, "after": after, "upto": upto})["customer_id"]


def active_customers(ds: Dataset, start: dt.date, end: dt.date) -> int:
    """Customers with a valid order between ``start`` and ``end``."""
    sql = "SELECT count(DISTINCT customer_id) FROM orders_cny WHERE is_valid AND order_date BETWEEN $lo AND $hi"
    return int(engine.scalar(ds, sql, {"lo": start, "hi": end}) or 0)


def _history(channels: tuple[str, ...], holdout_last: bool) -> str:
    """SQL of (customer_id, product_id) bought up to ``$as_of``; without each customer's last purchase day
    when ``holdout_last`` (customers with a single purchase day are then left out entirely)."""
    chan, _ = _channels(channels)
    base = f"SELECT customer_id, product_id, order_date FROM items_cny WHERE is_valid AND {chan} AND order_date <= $as_of"
    if not holdout_last:
        return f"SELECT DISTINCT customer_id, product_id FROM ({base})"
    return f"""SELECT DISTINCT b.customer_id, b.product_id FROM ({base}) b
               JOIN (SELECT customer_id, max(order_date) AS last_day FROM ({base}) GROUP BY 1) l USING (customer_id)
               WHERE b.order_date < l.last_day"""


def association_rules(ds: Dataset, as_of: dt.date, channels: tuple[str, ...] = (), min_count: int = 5,
                      holdout_last: bool = False) -> pd.DataFrame:
    """Item-to-item rules A → B from customer baskets (all products a customer bought up to ``as_of``).

    Returns ``antecedent``, ``consequent``, ``pair_customers``, ``support``, ``confidence``, ``lift``,
    strongest lift first; pairs seen for fewer than ``min_count`` customers are dropped.
    """
    _, params = _channels(channels)
    sql = f"""
        WITH h AS ({_history(channels, holdout_last)}),
        n AS (SELECT count(DISTINCT customer_id) AS n FROM h),
        item AS (SELECT product_id, count(*) AS c FROM h GROUP BY 1),
        pairs AS (SELECT a.product_id AS antecedent, b.product_id AS consequent, count(*) AS pair_customers
                  FROM h a JOIN h b ON a.customer_id = b.customer_id AND a.product_id <> b.product_id
                  GROUP BY 1, 2 HAVING count(*) >= $min_count)
        SELECT p.*, p.pair_customers / n.n AS support, p.pair_customers / ia.c AS confidence,
               (p.pair_customers / ia.c) / (ib.c / n.n) AS lift
        FROM pairs p, n JOIN item ia ON ia.product_id = p.antecedent JOIN item ib ON ib.product_id = p.consequent
        ORDER BY lift DESC, pair_customers DESC"""
    return engine.query(ds, sql, {**params, "as_of": as_of, "min_count": int(min_count)})


def repeat_customers(ds: Dataset, as_of: dt.date, channels: tuple[str, ...] = ()) -> int:
    """Customers with at least two purchase days up to ``as_of`` (those the recommender can be tested on)."""
    _, params = _channels(channels)
    sql = f"SELECT count(DISTINCT customer_id) FROM ({_history(channels, True)})"
    return int(engine.scalar(ds, sql, {**params, "as_of": as_of}) or 0)


def recommender_hits(ds: Dataset, as_of: dt.date, k: int, mod: int, channels: tuple[str, ...] = (),
                     min_count: int = 3) -> dict[str, int]:
    """Hits at ``k`` on each test customer's held-out last purchase day: rules recommender and most popular.

    Test customers: a stable hash sample (``hash % mod = 0``) of those with two or more purchase days;
    rules and popularity are learnt from every other customer. Returns ``n``, ``rules_hits``,
    ``popular_hits``, ``only_rules``, ``only_popular`` (customers hit by one recommender and not the other).
    """
    chan, params = _channels(channels)
    prior, full = _history(channels, True), _history(channels, False)
    sql = f"""
        WITH prior AS ({prior}), full_h AS ({full}),
        eval_customers AS (SELECT DISTINCT customer_id FROM prior WHERE hash(customer_id) % $mod = 0),
        h AS (SELECT * FROM full_h WHERE customer_id NOT IN (SELECT customer_id FROM eval_customers)),
        item AS (SELECT product_id, count(*) AS c FROM h GROUP BY 1),
        popular AS (SELECT product_id, row_number() OVER (ORDER BY c DESC, product_id) AS pos FROM item),
        rules AS (SELECT a.product_id AS antecedent, b.product_id AS consequent, count(*) / max(ia.c) AS confidence
                  FROM h a JOIN h b ON a.customer_id = b.customer_id AND a.product_id <> b.product_id
                  JOIN item ia ON ia.product_id = a.product_id
                  GROUP BY 1, 2 HAVING count(*) >= $min_count),
        last_day AS (SELECT customer_id, max(order_date) AS d FROM items_cny
                     WHERE is_valid AND {chan} AND order_date <= $as_of GROUP BY 1),
        held AS (SELECT DISTINCT i.customer_id, i.product_id FROM items_cny i
                 JOIN last_day l ON l.customer_id = i.customer_id AND i.order_date = l.d
                 JOIN eval_customers e ON e.customer_id = i.customer_id WHERE i.is_valid AND {chan.replace('channel', 'i.channel')}),
        scored AS (SELECT p.customer_id, r.consequent AS product_id, sum(r.confidence) AS score
                   FROM prior p JOIN eval_customers USING (customer_id) JOIN rules r ON r.antecedent = p.product_id
                   GROUP BY 1, 2),
        ranked AS (SELECT customer_id, product_id,
                          row_number() OVER (PARTITION BY customer_id ORDER BY score DESC, product_id) AS pos
                   FROM scored),
        top_rules AS (SELECT customer_id, product_id, pos FROM ranked WHERE pos <= $k),
        n_rules AS (SELECT e.customer_id, count(t.product_id) AS m FROM eval_customers e
                    LEFT JOIN top_rules t USING (customer_id) GROUP BY 1),
        fill AS (SELECT nr.customer_id, p.product_id, p.pos FROM n_rules nr CROSS JOIN popular p
                 WHERE p.pos <= $k + nr.m
                   AND NOT EXISTS (SELECT 1 FROM top_rules t WHERE t.customer_id = nr.customer_id
                                   AND t.product_id = p.product_id)),
        fill_ranked AS (SELECT customer_id, product_id,
                               row_number() OVER (PARTITION BY customer_id ORDER BY pos) AS pos FROM fill),
        recs AS (SELECT customer_id, product_id FROM top_rules
                 UNION ALL
                 SELECT f.customer_id, f.product_id FROM fill_ranked f JOIN n_rules nr USING (customer_id)
                 WHERE f.pos <= $k - nr.m),
        per AS (SELECT e.customer_id,
                       EXISTS (SELECT 1 FROM recs r JOIN held x USING (customer_id, product_id)
                               WHERE r.customer_id = e.customer_id) AS rules_hit,
                       EXISTS (SELECT 1 FROM popular p JOIN held x USING (product_id)
                               WHERE x.customer_id = e.customer_id AND p.pos <= $k) AS popular_hit
                FROM eval_customers e WHERE e.customer_id IN (SELECT customer_id FROM held))
        SELECT count(*) AS n, count(CASE WHEN rules_hit THEN 1 END) AS rules_hits,
               count(CASE WHEN popular_hit THEN 1 END) AS popular_hits,
               count(CASE WHEN rules_hit AND NOT popular_hit THEN 1 END) AS only_rules,
               count(CASE WHEN popular_hit AND NOT rules_hit THEN 1 END) AS only_popular
        FROM per"""
    row = engine.query(ds, sql, {**params, "as_of": as_of, "k": int(k), "mod": int(mod),
                                 "min_count": int(min_count)}).iloc[0]
    return {c: int(row[c] or 0) for c in ("n", "rules_hits", "popular_hits", "only_rules", "only_popular")}


def product_names(ds: Dataset) -> pd.DataFrame:
    """``product_id`` and ``name`` (listing title; the id where the data has no name) of every product."""
    if not ds.has("products"):
        return pd.DataFrame(columns=["product_id", "name"])
    name = "COALESCE(name, product_id)" if ds.has("products", ["name"]) else "product_id"
    return engine.query(ds, f"SELECT product_id, {name} AS name FROM products")


def purchase_lines(ds: Dataset, as_of: dt.date, channels: tuple[str, ...] = (), days: int = 730) -> pd.DataFrame:
    """Distinct (customer, product, day) purchases of valid orders in the ``days`` up to ``as_of``, with the
    line's ``channel`` and the product's ``category`` ("" where the data has no category). Columns
    ``customer_id``, ``product_id``, ``day`` (days before ``as_of``, 0 = that day), ``channel``, ``category``."""
    chan, params = _channels(channels, "i.channel")
    has_cat = ds.has("products", ["category"])
    cat = "COALESCE(p.category, '')" if has_cat else "''"
    join = "LEFT JOIN products p USING (product_id)" if has_cat else ""
    sql = f"""SELECT DISTINCT i.customer_id, i.product_id, CAST({dialect.days_between('i.order_date', '$as_of')} AS INTEGER) AS day,
                     i.channel, {cat} AS category
              FROM items_cny i {join}
              WHERE i.is_valid AND {chan} AND i.order_date <= $as_of AND i.order_date > $since
                AND i.customer_id IS NOT NULL"""
    return engine.query(ds, sql, {**params, "as_of": as_of, "since": as_of - dt.timedelta(days=days)}, chunked=True)


def labelled_features(ds: Dataset, cutoffs: list[tuple[dt.date, int]], horizon: int, window_days: int = 365,
                      channels: tuple[str, ...] = ()) -> pd.DataFrame:
    """:func:`customer_features` at several cutoffs in one statement, each with its purchase label.

    ``cutoffs``: (``as_of``, ``sample_mod``) pairs. One row per cutoff and customer, the columns of
    :func:`customer_features` but ``top_channel`` (no model term reads it) after ``cut`` (the pair's
    position in ``cutoffs``), and ``bought``: whether the
    customer has a valid order (in ``channels``) after ``as_of`` and up to ``as_of`` + ``horizon`` days
    (:func:`buyers_between`). Ordered by ``cut`` and ``customer_id``; each cutoff's rows are the ones
    :func:`customer_features` returns for it."""
    chan, params = _channels(channels, "o.channel")
    rows = []
    for j, (as_of, mod) in enumerate(cutoffs):
        rows.append(f"SELECT {j} AS cut, CAST($a{j} AS DATE) AS as_of, CAST($l{j} AS DATE) AS lo, "
                    f"CAST($e{j} AS DATE) AS label_end, $m{j} AS mod")
        params.update({f"a{j}": as_of, f"l{j}": as_of - dt.timedelta(days=window_days - 1),
                       f"e{j}": as_of + dt.timedelta(days=horizon), f"m{j}": max(int(mod), 1)})
    has_cat = ds.has("order_items") and ds.has("products", ["category"])
    cats = ("LEFT JOIN (SELECT c.cut, i.customer_id, count(DISTINCT p.category) AS categories FROM items_cny i "
            "JOIN products p USING (product_id) JOIN cuts c ON i.order_date BETWEEN c.lo AND c.as_of "
            "WHERE i.is_valid AND (c.mod = 1 OR hash(i.customer_id) % c.mod = 0) "
            "GROUP BY 1, 2) cat ON cat.cut = agg.cut AND cat.customer_id = agg.customer_id") if has_cat else ""
    sql = f"""
        WITH cuts AS ({' UNION ALL '.join(rows)}),
        o AS (SELECT c.cut, c.as_of, c.lo, o.customer_id, o.order_date, o.gmv_cny, o.discount_cny, o.gross_cny
              FROM orders_cny o JOIN cuts c ON o.order_date <= c.as_of
              WHERE o.is_valid AND {chan} AND (c.mod = 1 OR hash(o.customer_id) % c.mod = 0)),
        agg AS (
            SELECT cut, customer_id, date_diff('day', max(order_date), max(as_of)) AS recency_days,
                   count(CASE WHEN order_date >= lo THEN 1 END) AS orders_365d,
                   COALESCE(sum(CASE WHEN order_date >= lo THEN gmv_cny END), 0) AS gmv_365d,
                   COALESCE(sum(CASE WHEN order_date >= lo THEN discount_cny END)
                            / nullif(sum(CASE WHEN order_date >= lo THEN gross_cny END), 0), 0) AS discount_share,
                   date_diff('day', min(order_date), max(as_of)) AS tenure_days,
                   count(CASE WHEN order_date > as_of - INTERVAL 90 DAY THEN 1 END) AS orders_90d
            FROM o GROUP BY 1, 2
        ),
        buyers AS (SELECT DISTINCT c.cut, o.customer_id FROM orders_cny o
                   JOIN cuts c ON o.order_date > c.as_of AND o.order_date <= c.label_end
                   WHERE o.is_valid AND {chan})
        SELECT agg.*{', COALESCE(cat.categories, 0) AS categories' if has_cat else ', 1 AS categories'},
               b.customer_id IS NOT NULL AS bought
        FROM agg {cats} LEFT JOIN buyers b ON b.cut = agg.cut AND b.customer_id = agg.customer_id
        WHERE orders_365d > 0 ORDER BY agg.cut, agg.customer_id"""
    return engine.query(ds, sql, params)
