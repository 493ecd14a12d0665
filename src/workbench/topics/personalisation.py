"""Personalised marketing: behaviour segments, item-to-item recommendations and purchase propensity.

Every function takes a :class:`~workbench.data.loader.Dataset` and a reference date (or
:class:`~workbench.sql.common.Filters`) and returns a tidy frame or a small result object. Customer
features are built with one SQL aggregation per customer; co-purchase counts and the offline
evaluation of the recommender run in DuckDB. Nothing returned carries personal data: customers are
identified by ``customer_id`` only.

Methods: k-means (scipy) on standardised log behaviour features for segments; association rules
(support, confidence, lift) from customer baskets for recommendations, scored against a most-popular
baseline by hit rate at k on each customer's held-out last purchase; a logistic regression
(statsmodels) for the probability of buying in the next 30 days, checked on a time-based hold-out by
AUC (Hanley-McNeil interval) and a calibration table.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as sps
from scipy.cluster.vq import kmeans2

from workbench.data import schema
from workbench.data.loader import Dataset
from workbench.errors import EmptyPeriodError
from workbench.stats import wilson_interval

NEEDS = {"orders": ["customer_id", "ordered_at", "paid_amount", "status"]}
NEEDS_SEGMENTS = {"orders": ["customer_id", "ordered_at", "paid_amount", "status", "discount_amount",
                             "gross_amount"],
                  "order_items": ["product_id"], "products": ["product_id", "category"]}
NEEDS_ITEMS = {"orders": ["customer_id", "ordered_at", "status"], "order_items": ["product_id"]}

#: Columns a target list may carry; personal data never leaves.
TARGET_COLUMNS = ("rank", "customer_id", "p_purchase_30d", "recency_days", "orders_365d", "gmv_365d")

FEATURES = ("log_recency", "log_orders", "log_gmv", "discount_share", "categories", "log_tenure")



# ----- customer features ------------------------------------------------------------------------

def customer_features(ds: Dataset, as_of: dt.date, window_days: int = 365, channels: tuple[str, ...] = (),
                      sample_mod: int = 1) -> pd.DataFrame:
    """One row per customer with a valid order in the ``window_days`` up to ``as_of`` (one SQL aggregation).

    Columns: ``customer_id``, ``recency_days``, ``orders_365d``, ``gmv_365d`` (CNY), ``discount_share``
    (discount / gross value), ``tenure_days`` (since the first order ever), ``orders_90d``,
    ``categories`` (distinct product categories, when items and products are loaded), ``top_channel``,
    and the log features of :data:`FEATURES`. ``sample_mod`` > 1 keeps a stable hash sample
    (1 in ``sample_mod`` customers) for very large data.
    """
    lo = as_of - dt.timedelta(days=window_days - 1)
    chan = ("TRUE" if not channels else "channel IN (" + ", ".join(f"'{c}'" for c in channels) + ")")
    sample = "TRUE" if sample_mod <= 1 else f"hash(customer_id) % {int(sample_mod)} = 0"
    has_cat = ds.has("order_items") and ds.has("products", ["category"])
    cats = ("LEFT JOIN (SELECT i.customer_id, count(DISTINCT p.category) AS categories FROM items_cny i "
            f"JOIN products p USING (product_id) WHERE i.is_valid AND i.order_date BETWEEN DATE '{lo}' "
            f"AND DATE '{as_of}' GROUP BY 1) c USING (customer_id)") if has_cat else ""
    out = ds.sql(f"""
        WITH o AS (SELECT customer_id, order_date, channel, gmv_cny, discount_cny, gross_cny
                   FROM orders_cny WHERE is_valid AND {chan} AND order_date <= DATE '{as_of}' AND {sample}),
        agg AS (
            SELECT customer_id, DATE '{as_of}' - max(order_date) AS recency_days,
                   count(*) FILTER (WHERE order_date >= DATE '{lo}') AS orders_365d,
                   COALESCE(sum(gmv_cny) FILTER (WHERE order_date >= DATE '{lo}'), 0) AS gmv_365d,
                   COALESCE(sum(discount_cny) FILTER (WHERE order_date >= DATE '{lo}')
                            / nullif(sum(gross_cny) FILTER (WHERE order_date >= DATE '{lo}'), 0), 0) AS discount_share,
                   DATE '{as_of}' - min(order_date) AS tenure_days,
                   count(*) FILTER (WHERE order_date > DATE '{as_of}' - INTERVAL 90 DAY) AS orders_90d,
                   mode(channel) FILTER (WHERE order_date >= DATE '{lo}') AS top_channel
            FROM o GROUP BY 1
        )
        SELECT agg.*{', COALESCE(c.categories, 0) AS categories' if has_cat else ', 1 AS categories'}
        FROM agg {cats} WHERE orders_365d > 0 ORDER BY customer_id
    """)
    return out.assign(log_recency=np.log1p(out["recency_days"].astype(float)),
                      log_orders=np.log(out["orders_365d"].astype(float).clip(lower=1)),
                      log_gmv=np.log1p(out["gmv_365d"].astype(float)),
                      log_tenure=np.log1p(out["tenure_days"].astype(float)))


# ----- segments -----------------------------------------------------------------------------------

@dataclass
class Segments:
    """Behaviour segments: each customer's segment and a profile (user portrait) of each segment."""

    assignment: pd.DataFrame    # customer_id, segment
    profile: pd.DataFrame       # segment, customers, share, gmv_share, gmv_per_customer, orders, recency, ...
    k: int
    n: int
    method: str = ("k-means (scipy kmeans2, k-means++) on standardised log recency, orders, GMV, tenure, "
                  "discount share and categories")


#: Segment names and how well a centroid fits each (centroid in standardised features of :data:`FEATURES`:
#: recency, orders, GMV, discount share, categories, tenure; higher score = better fit).
SEGMENT_NAMES: dict[str, tuple[float, ...]] = {
    "vip_loyal": (-0.5, 1.0, 1.0, 0.0, 0.3, 0.2),
    "active_regulars": (-1.0, 0.6, 0.2, 0.0, 0.0, 0.0),
    "lapsed": (1.0, -0.5, -0.3, 0.0, 0.0, 0.3),
    "deal_hunters": (0.0, 0.0, -0.2, 1.2, 0.0, 0.0),
    "new_one_timers": (-0.6, -0.6, 0.0, 0.0, 0.0, -1.0),
    "big_ticket_occasional": (0.0, -0.6, 1.0, 0.0, 0.0, 0.0),
    "explorers": (0.0, 0.2, 0.0, 0.0, 1.0, 0.0),
    "steady_mid": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
}


def name_segments(centroids: np.ndarray) -> list[str]:
    """A distinct marketer's name for each centroid: the assignment of :data:`SEGMENT_NAMES` to centroids
    that maximises the summed fit (Hungarian algorithm); beyond seven segments names get a number."""
    from scipy.optimize import linear_sum_assignment

    names = list(SEGMENT_NAMES)
    weights = np.array([SEGMENT_NAMES[n] for n in names])
    fit = centroids @ weights.T
    rows, cols = linear_sum_assignment(-fit)
    out = [f"segment_{i + 1}" for i in range(len(centroids))]
    for r, c in zip(rows, cols):
        out[r] = names[c]
    return out


def segments(ds: Dataset, as_of: dt.date, k: int = 5, channels: tuple[str, ...] = (), seed: int = 0,
             fit_size: int = 50_000) -> Segments:
    """Cluster the customers active in the 365 days to ``as_of`` into ``k`` behaviour segments and profile them.

    Centroids are fitted on at most ``fit_size`` customers (a random subset) and every customer is
    assigned to the nearest one. Each segment's profile: ``customers``, ``share``, ``gmv_share``,
    ``gmv_per_customer``, medians of ``orders_365d``, ``recency_days``, ``discount_share``,
    ``categories``; ``top_channel``, ``top_category`` and ``top_region`` (most common; category and
    region when items/products and customers.region are loaded) and a ``name``. Raises
    :class:`EmptyPeriodError` with fewer than 10 x k customers.
    """
    feat = customer_features(ds, as_of, channels=channels)
    if len(feat) < 10 * k:
        raise EmptyPeriodError(f"only {len(feat)} customers bought in the year to {as_of}; segments need at least {10 * k}")
    x = feat[list(FEATURES)].to_numpy(float)
    mu, sd = x.mean(axis=0), x.std(axis=0)
    z = (x - mu) / np.where(sd > 0, sd, 1)
    rng = np.random.default_rng(seed)
    fit_rows = z if len(z) <= fit_size else z[rng.choice(len(z), fit_size, replace=False)]
    centroids, _ = kmeans2(fit_rows, k, minit="++", seed=seed)
    label = np.argmin(((z[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2), axis=1)
    feat = feat.assign(cluster=label)
    prof = feat.groupby("cluster").agg(customers=("customer_id", "size"), gmv=("gmv_365d", "sum"),
                                       gmv_per_customer=("gmv_365d", "mean"), orders_365d=("orders_365d", "median"),
                                       recency_days=("recency_days", "median"),
                                       discount_share=("discount_share", "median"),
                                       categories=("categories", "median"), tenure_days=("tenure_days", "median"),
                                       top_channel=("top_channel", lambda s: s.mode().iat[0] if len(s.mode()) else None))
    prof = prof.reset_index()
    names = dict(enumerate(name_segments(centroids)))
    prof["segment"] = prof["cluster"].map(names)
    assignment = feat[["customer_id", "cluster"]].assign(segment=lambda d: d["cluster"].map(names))
    prof = prof.merge(_segment_tops(ds, assignment, as_of), on="segment", how="left")
    prof = prof.assign(share=prof["customers"] / prof["customers"].sum(), gmv_share=prof["gmv"] / prof["gmv"].sum())
    prof = prof.drop(columns=["cluster"]).sort_values("gmv_per_customer", ascending=False).reset_index(drop=True)
    return Segments(assignment[["customer_id", "segment"]], prof, k, len(feat))


def _segment_tops(ds: Dataset, assignment: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Most common category (by lines bought in the year) and region per segment, via SQL on a registered frame."""
    con = ds.con
    con.register("_wb_segment_assignment", assignment[["customer_id", "segment"]])
    try:
        out = pd.DataFrame({"segment": assignment["segment"].unique()})
        if ds.has("order_items") and ds.has("products", ["category"]):
            lo = as_of - dt.timedelta(days=364)
            cat = ds.sql(f"""
                SELECT segment, arg_max(category, n) AS top_category FROM (
                    SELECT a.segment, p.category, count(*) AS n FROM items_cny i
                    JOIN _wb_segment_assignment a USING (customer_id) JOIN products p USING (product_id)
                    WHERE i.is_valid AND i.order_date BETWEEN DATE '{lo}' AND DATE '{as_of}' GROUP BY ALL)
                GROUP BY 1""")
            out = out.merge(cat, on="segment", how="left")
        if ds.has("customers", ["region"]):
            reg = ds.sql("""
                SELECT segment, arg_max(region, n) AS top_region FROM (
                    SELECT a.segment, c.region, count(*) AS n FROM _wb_segment_assignment a
                    JOIN customers c USING (customer_id) WHERE c.region IS NOT NULL GROUP BY ALL)
                GROUP BY 1""")
            out = out.merge(reg, on="segment", how="left")
        return out
    finally:
        con.unregister("_wb_segment_assignment")


# ----- association rules and offline evaluation ------------------------------------------------------

def _history_sql(as_of: dt.date, channels: tuple[str, ...], holdout_last: bool) -> str:
    """SQL of (customer_id, product_id) bought up to ``as_of``; without each customer's last purchase day
    when ``holdout_last`` (customers with a single purchase day are then left out entirely)."""
    chan = "TRUE" if not channels else "channel IN (" + ", ".join(f"'{c}'" for c in channels) + ")"
    base = (f"SELECT customer_id, product_id, order_date FROM items_cny WHERE is_valid AND {chan} "
            f"AND order_date <= DATE '{as_of}'")
    if not holdout_last:
        return f"SELECT DISTINCT customer_id, product_id FROM ({base})"
    return f"""SELECT DISTINCT b.customer_id, b.product_id FROM ({base}) b
               JOIN (SELECT customer_id, max(order_date) AS last_day FROM ({base}) GROUP BY 1) l USING (customer_id)
               WHERE b.order_date < l.last_day"""


def association_rules(ds: Dataset, as_of: dt.date, channels: tuple[str, ...] = (), min_count: int = 5,
                      holdout_last: bool = False) -> pd.DataFrame:
    """Item-to-item rules A -> B from customer baskets (all products a customer bought up to ``as_of``).

    support = customers with A and B / customers; confidence = customers with A and B / customers with A;
    lift = confidence / support of B. Pairs seen for fewer than ``min_count`` customers are dropped.
    With ``holdout_last`` each customer's last purchase day is left out (for the offline evaluation).
    Returns ``antecedent``, ``consequent``, ``pair_customers``, ``support``, ``confidence``, ``lift``,
    strongest lift first.
    """
    hist = _history_sql(as_of, channels, holdout_last)
    return ds.sql(f"""
        WITH h AS ({hist}),
        n AS (SELECT count(DISTINCT customer_id) AS n FROM h),
        item AS (SELECT product_id, count(*) AS c FROM h GROUP BY 1),
        pairs AS (SELECT a.product_id AS antecedent, b.product_id AS consequent, count(*) AS pair_customers
                  FROM h a JOIN h b ON a.customer_id = b.customer_id AND a.product_id <> b.product_id
                  GROUP BY ALL HAVING count(*) >= {int(min_count)})
        SELECT p.*, p.pair_customers / n.n AS support, p.pair_customers / ia.c AS confidence,
               (p.pair_customers / ia.c) / (ib.c / n.n) AS lift
        FROM pairs p, n JOIN item ia ON ia.product_id = p.antecedent JOIN item ib ON ib.product_id = p.consequent
        ORDER BY lift DESC, pair_customers DESC
    """)


@dataclass
class HitRate:
    """Offline evaluation: hit rate at k of the rules recommender and of the most-popular baseline."""

    k: int
    rules_hit_rate: float
    rules_low: float
    rules_high: float
    popular_hit_rate: float
    popular_low: float
    popular_high: float
    difference: float           # rules minus popular
    difference_low: float       # paired 95% interval (customers are the same in both)
    difference_high: float
    n: int                      # customers evaluated
    rules_beat_popular: bool    # the difference's interval lies above zero
    method: str = ("customer hold-out: rules and popularity learnt from 80% of customers; for the other 20% the "
                   "last purchase day is held out and predicted from the earlier purchases; a hit is any "
                   "held-out product among the top k; paired interval for the difference")


def evaluate_recommender(ds: Dataset, as_of: dt.date, k: int = 10, channels: tuple[str, ...] = (),
                         min_count: int = 3, max_customers: int = 20_000) -> HitRate:
    """Hit rate at ``k`` on each customer's held-out last purchase: association rules vs most popular.

    Test customers are a stable hash sample (one in five, fewer beyond ``max_customers``) of those with at
    least two purchase days up to ``as_of``; rules and popularity are learnt from every other customer's
    full history. For a test customer the rules recommender scores each product B by the sum of
    confidence(A -> B) over the products A bought before the last purchase day and fills up with popular
    items; the baseline recommends the k products bought by most training customers. A hit is any product
    of the held-out last purchase day among the k. Both may recommend an item bought before.
    Raises :class:`EmptyPeriodError` with fewer than 50 customers to evaluate.
    """
    prior = _history_sql(as_of, channels, holdout_last=True)
    full = _history_sql(as_of, channels, holdout_last=False)
    chan = "TRUE" if not channels else "channel IN (" + ", ".join(f"'{c}'" for c in channels) + ")"
    n_rep = ds.sql(f"SELECT count(DISTINCT customer_id) AS n FROM ({prior})")["n"].iloc[0]
    mod = max(5, math.ceil(n_rep / max_customers))
    ds.con.execute(f"CREATE OR REPLACE TEMP TABLE _wb_prior AS {prior}")
    ds.con.execute(f"CREATE OR REPLACE TEMP TABLE _wb_full AS {full}")
    try:
        res = ds.sql(f"""
            WITH eval_customers AS (SELECT DISTINCT customer_id FROM _wb_prior
                                    WHERE hash(customer_id) % {mod} = 0),
            h AS (SELECT * FROM _wb_full WHERE customer_id NOT IN (SELECT customer_id FROM eval_customers)),
            item AS (SELECT product_id, count(*) AS c FROM h GROUP BY 1),
            popular AS (SELECT product_id, row_number() OVER (ORDER BY c DESC, product_id) AS pos FROM item),
            rules AS (SELECT a.product_id AS antecedent, b.product_id AS consequent, count(*) / max(ia.c) AS confidence
                      FROM h a JOIN h b ON a.customer_id = b.customer_id AND a.product_id <> b.product_id
                      JOIN item ia ON ia.product_id = a.product_id
                      GROUP BY ALL HAVING count(*) >= {int(min_count)}),
            last_day AS (SELECT customer_id, max(order_date) AS d FROM items_cny
                         WHERE is_valid AND {chan} AND order_date <= DATE '{as_of}' GROUP BY 1),
            held AS (SELECT DISTINCT i.customer_id, i.product_id FROM items_cny i
                     JOIN last_day l ON l.customer_id = i.customer_id AND i.order_date = l.d
                     JOIN eval_customers e ON e.customer_id = i.customer_id WHERE i.is_valid AND {chan}),
            scored AS (SELECT p.customer_id, r.consequent AS product_id, sum(r.confidence) AS score
                       FROM _wb_prior p JOIN eval_customers USING (customer_id) JOIN rules r ON r.antecedent = p.product_id
                       GROUP BY ALL),
            ranked AS (SELECT customer_id, product_id,
                              row_number() OVER (PARTITION BY customer_id ORDER BY score DESC, product_id) AS pos
                       FROM scored),
            top_rules AS (SELECT customer_id, product_id, pos FROM ranked WHERE pos <= {k}),
            n_rules AS (SELECT e.customer_id, count(t.product_id) AS m FROM eval_customers e
                        LEFT JOIN top_rules t USING (customer_id) GROUP BY 1),
            fill AS (SELECT nr.customer_id, p.product_id FROM n_rules nr CROSS JOIN popular p
                     WHERE p.pos <= {k} + nr.m
                       AND p.product_id NOT IN (SELECT product_id FROM top_rules t WHERE t.customer_id = nr.customer_id)),
            fill_ranked AS (SELECT customer_id, product_id, row_number() OVER (PARTITION BY customer_id ORDER BY
                            (SELECT pos FROM popular q WHERE q.product_id = fill.product_id)) AS pos FROM fill),
            recs AS (SELECT customer_id, product_id FROM top_rules
                     UNION ALL
                     SELECT f.customer_id, f.product_id FROM fill_ranked f JOIN n_rules nr USING (customer_id)
                     WHERE f.pos <= {k} - nr.m),
            per AS (SELECT e.customer_id,
                           EXISTS (SELECT 1 FROM recs r JOIN held x USING (customer_id, product_id)
                                   WHERE r.customer_id = e.customer_id) AS rules_hit,
                           EXISTS (SELECT 1 FROM popular p JOIN held x USING (product_id)
                                   WHERE x.customer_id = e.customer_id AND p.pos <= {k}) AS popular_hit
                    FROM eval_customers e WHERE e.customer_id IN (SELECT customer_id FROM held))
            SELECT count(*) AS n, count(*) FILTER (WHERE rules_hit) AS rules_hits,
                   count(*) FILTER (WHERE popular_hit) AS popular_hits,
                   count(*) FILTER (WHERE rules_hit AND NOT popular_hit) AS only_rules,
                   count(*) FILTER (WHERE popular_hit AND NOT rules_hit) AS only_popular
            FROM per
        """).iloc[0]
    finally:
        ds.con.execute("DROP TABLE IF EXISTS _wb_prior")
        ds.con.execute("DROP TABLE IF EXISTS _wb_full")
    n = int(res["n"])
    if n < 50:
        raise EmptyPeriodError(f"only {n} customers with two or more purchase days; the recommender cannot be evaluated")
    rh, ph = int(res["rules_hits"]), int(res["popular_hits"])
    rl, rhi = wilson_interval(rh, n)
    pl, phi = wilson_interval(ph, n)
    b, c = int(res["only_rules"]), int(res["only_popular"])
    diff = (b - c) / n
    se = math.sqrt(max(b + c - (b - c) ** 2 / n, 0)) / n
    return HitRate(k, rh / n, float(rl), float(rhi), ph / n, float(pl), float(phi), diff, diff - 1.96 * se,
                   diff + 1.96 * se, n, diff - 1.96 * se > 0)


# ----- purchase propensity ----------------------------------------------------------------------------

PROPENSITY_FEATURES = ("log_recency", "log_orders", "log_gmv", "discount_share", "log_tenure", "log_orders_90d")


def _propensity_frame(ds: Dataset, cutoff: dt.date, horizon: int, channels: tuple[str, ...],
                      sample_mod: int, label: bool) -> pd.DataFrame:
    feat = customer_features(ds, cutoff, channels=channels, sample_mod=sample_mod)
    feat = feat.assign(log_orders_90d=np.log1p(feat["orders_90d"].astype(float)))
    if label:
        chan = "TRUE" if not channels else "channel IN (" + ", ".join(f"'{c}'" for c in channels) + ")"
        buyers = ds.sql(f"""SELECT DISTINCT customer_id FROM orders_cny WHERE is_valid AND {chan}
                            AND order_date > DATE '{cutoff}' AND order_date <= DATE '{cutoff + dt.timedelta(days=horizon)}'""")
        feat["bought"] = feat["customer_id"].isin(set(buyers["customer_id"])).astype(int)
    return feat


def auc_interval(y: np.ndarray, p: np.ndarray) -> tuple[float, float, float]:
    """Area under the ROC curve (Mann-Whitney) with the Hanley-McNeil (1982) 95% interval."""
    y = np.asarray(y).astype(bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan"), float("nan"), float("nan")
    ranks = sps.rankdata(p)
    auc = (ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    q1, q2 = auc / (2 - auc), 2 * auc ** 2 / (1 + auc)
    se = math.sqrt((auc * (1 - auc) + (n1 - 1) * (q1 - auc ** 2) + (n0 - 1) * (q2 - auc ** 2)) / (n1 * n0))
    return float(auc), float(auc - 1.96 * se), float(auc + 1.96 * se)


@dataclass
class Propensity:
    """30-day purchase propensity: the fitted model, its hold-out check and the scored customers."""

    result: object = field(repr=False)       # statsmodels results of the model fitted at the training cutoff
    odds_ratios: pd.DataFrame = field(repr=False)
    auc: float = float("nan")
    auc_low: float = float("nan")
    auc_high: float = float("nan")
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)  # decile, customers, predicted_rate, observed_rate (+ interval)
    scores: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)       # customers at as_of with p_purchase_30d
    train_cutoff: dt.date | None = None
    test_cutoff: dt.date | None = None
    n_train: int = 0
    n_test: int = 0
    base_rate_test: float = float("nan")
    horizon_days: int = 30
    method: str = ("logistic regression (statsmodels) of buying within 30 days on log recency, orders, GMV, "
                   "tenure, orders in 90 days and discount share; trained on six monthly cutoffs ending 60 days before "
                   "as_of, tested with the cutoff 30 days before (time-based hold-out), refitted to score at as_of")


def propensity(ds: Dataset, as_of: dt.date, channels: tuple[str, ...] = (), horizon: int = 30,
               max_rows: int = 200_000, stack: int = 6) -> Propensity:
    """Fit, check and apply a model of the probability that a customer buys in the next ``horizon`` days.

    Training: features at ``stack`` cutoffs ``as_of`` - (2 + i) x horizon (i = 0 .. stack - 1, each a hash
    sample so the stacked rows stay near ``max_rows``), label = bought in the following ``horizon`` days.
    Hold-out: features at ``as_of`` - horizon, label = bought up to ``as_of``; AUC with interval and a
    calibration table by predicted decile. Scoring: the model refitted on the hold-out window is applied
    to features at ``as_of``. Customers are those with an order in the year before each cutoff (a stable
    hash sample when there are more than ``max_rows``). Raises :class:`EmptyPeriodError` with too few
    customers or buyers.
    """
    test_cut = as_of - dt.timedelta(days=horizon)
    train_cut = test_cut - dt.timedelta(days=horizon)
    n_all = int(ds.sql(f"SELECT count(DISTINCT customer_id) AS n FROM orders_cny WHERE is_valid AND "
                       f"order_date BETWEEN DATE '{train_cut - dt.timedelta(days=364)}' AND DATE '{as_of}'")["n"].iloc[0])
    mod = max(1, math.ceil(n_all / max_rows))
    train_mod = max(1, math.ceil(n_all * stack / max_rows))
    # training stacks several monthly cutoffs so that no single season (a campaign month) sets the base rate
    train = pd.concat([_propensity_frame(ds, train_cut - dt.timedelta(days=horizon * i), horizon, channels,
                                         train_mod, True) for i in range(stack)], ignore_index=True)
    test = _propensity_frame(ds, test_cut, horizon, channels, mod, True)
    if len(train) < 200 or train["bought"].sum() < 20 or len(test) < 100 or test["bought"].sum() < 10:
        raise EmptyPeriodError("too few customers or buyers to fit a purchase-propensity model for this selection")
    cols = [c for c in PROPENSITY_FEATURES if train[c].std() > 0 and test[c].std() > 0]
    model = sm.Logit(train["bought"], sm.add_constant(train[cols], has_constant="add")).fit(disp=0, maxiter=200)
    p_test = model.predict(sm.add_constant(test[cols], has_constant="add")).to_numpy()
    auc, lo, hi = auc_interval(test["bought"].to_numpy(), p_test)
    dec = pd.qcut(pd.Series(p_test).rank(method="first"), 10, labels=False) + 1
    cal = (pd.DataFrame({"decile": dec, "p": p_test, "y": test["bought"].to_numpy()})
           .groupby("decile").agg(customers=("y", "size"), buyers=("y", "sum"), predicted_rate=("p", "mean"))
           .reset_index())
    clo, chi = wilson_interval(cal["buyers"].to_numpy(), cal["customers"].to_numpy())
    cal = cal.assign(observed_rate=cal["buyers"] / cal["customers"], observed_low=clo, observed_high=chi)
    ci = model.conf_int()
    ors = pd.DataFrame({"term": cols, "odds_ratio": np.exp(model.params[cols]).to_numpy(),
                        "low": np.exp(ci.loc[cols, 0]).to_numpy(), "high": np.exp(ci.loc[cols, 1]).to_numpy()})
    final = sm.Logit(test["bought"], sm.add_constant(test[cols], has_constant="add")).fit(disp=0, maxiter=200)
    now = _propensity_frame(ds, as_of, horizon, channels, 1, False)
    now = now.assign(p_purchase_30d=final.predict(sm.add_constant(now[cols], has_constant="add")).to_numpy())
    return Propensity(model, ors, auc, lo, hi, cal, now, train_cut, test_cut, len(train), len(test),
                      float(test["bought"].mean()), horizon)


def target_list(prop: Propensity, n: int = 1000) -> pd.DataFrame:
    """The ``n`` customers most likely to buy in the next 30 days, ranked, with ``customer_id`` only
    (no personal data): the columns of :data:`TARGET_COLUMNS`."""
    top = prop.scores.sort_values(["p_purchase_30d", "customer_id"], ascending=[False, True]).head(n)
    top = top.assign(rank=np.arange(1, len(top) + 1))
    return top[list(TARGET_COLUMNS)].reset_index(drop=True)


def export_target_list(targets: pd.DataFrame, path: str | Path) -> Path:
    """Write a target list as UTF-8 CSV after checking it holds no personal-data column.

    Raises ``ValueError`` if a column is not in :data:`TARGET_COLUMNS` or is a personal-data column of
    the data model (name, phone, address).
    """
    pii = set(schema.TABLES["customers"].pii_columns)
    bad = [c for c in targets.columns if c not in TARGET_COLUMNS or c in pii]
    if bad:
        raise ValueError(f"a target list may not carry {bad}; only {TARGET_COLUMNS}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    targets.to_csv(path, index=False, encoding="utf-8")
    return path


def lift_at(prop: Propensity, share: float = 0.1) -> tuple[float, float]:
    """Observed purchase rate in the top ``share`` of the hold-out scores and its lift over the base rate."""
    top = prop.calibration[prop.calibration["decile"] > 10 - round(share * 10)]
    rate = top["buyers"].sum() / top["customers"].sum() if top["customers"].sum() else float("nan")
    return float(rate), float(rate / prop.base_rate_test) if prop.base_rate_test else float("nan")
