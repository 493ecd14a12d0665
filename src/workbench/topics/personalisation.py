"""Personalised marketing: behaviour segments, item-to-item recommendations and purchase propensity.

Every function takes a :class:`~workbench.data.loader.Dataset` and a reference date (the period's
end) and returns a tidy frame or a result whose figures are :class:`~workbench.stats.result.Estimate`
objects. Customer features and baskets are queried by :mod:`workbench.sql.personalisation`; the
estimators live in :mod:`workbench.stats.segments`, :mod:`workbench.stats.recommend` and
:mod:`workbench.stats.propensity`. Nothing returned carries personal data: customers are identified by
``customer_id`` only. Methods are keys (``method.<key>`` in the catalogue), not prose.

Methods: k-means on standardised log behaviour features for segments (as many as the customers
support, :data:`MIN_SEGMENT` each on average); association rules (support, confidence, lift) from
customer baskets, scored against a most-popular baseline by hit rate at k on each customer's
held-out last purchase; a logistic regression for the probability of buying in the next 30 days,
checked on a time-based hold-out by AUC (Hanley-McNeil interval) and a calibration table.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data import schema
from workbench.data.loader import Dataset
from workbench.errors import EmptyPeriodError
from workbench.sql import personalisation as q
from workbench.stats import propensity as pm
from workbench.stats import segments as sg
from workbench.stats.recommend import paired_difference
from workbench.stats.result import Estimate
from workbench.stats.segments import SEGMENT_NAMES, name_segments  # noqa: F401

NEEDS = {"orders": ["customer_id", "ordered_at", "paid_amount", "status"]}
NEEDS_SEGMENTS = {"orders": ["customer_id", "ordered_at", "paid_amount", "status", "discount_amount",
                             "gross_amount"],
                  "order_items": ["product_id"], "products": ["product_id", "category"]}
NEEDS_ITEMS = {"orders": ["customer_id", "ordered_at", "status"], "order_items": ["product_id"]}

#: Columns a target list may carry; personal data never leaves.
TARGET_COLUMNS = ("rank", "customer_id", "p_purchase_30d", "recency_days", "orders_365d", "gmv_365d")

FEATURES = ("log_recency", "log_orders", "log_gmv", "discount_share", "categories", "log_tenure")
MIN_SEGMENT = 100           # customers a segment needs on average; fewer customers give fewer segments
MIN_HISTORY_DAYS = 90       # days of order history a segmentation needs (names such as "lapsed" need it)


# ----- customer features ------------------------------------------------------------------------

def customer_features(ds: Dataset, as_of: dt.date, window_days: int = 365, channels: tuple[str, ...] = (),
                      sample_mod: int = 1) -> pd.DataFrame:
    """One row per customer with a valid order in the ``window_days`` up to ``as_of`` (one SQL aggregation).

    Columns of :func:`workbench.sql.personalisation.customer_features` and the log features of
    :data:`FEATURES`.
    """
    return _log_features(q.customer_features(ds, as_of, window_days, channels, sample_mod))


def _log_features(out: pd.DataFrame) -> pd.DataFrame:
    return out.assign(log_recency=np.log1p(out["recency_days"].astype(float)),
                      log_orders=np.log(out["orders_365d"].astype(float).clip(lower=1)),
                      log_gmv=np.log1p(out["gmv_365d"].astype(float)),
                      log_tenure=np.log1p(out["tenure_days"].astype(float)))


# ----- segments -----------------------------------------------------------------------------------

@dataclass
class Segments:
    """Behaviour segments: each customer's segment and a profile of each segment.

    ``k`` segments were formed of the ``requested`` (fewer when the customers do not support them);
    ``profile`` columns: ``segment`` (a name key), ``customers``, ``share``, ``gmv_share``,
    ``gmv_per_customer``, medians of ``orders_365d``, ``recency_days``, ``tenure_days``,
    ``discount_share``, ``categories``; ``top_channel``, ``top_category``, ``top_region``.
    """

    assignment: pd.DataFrame    # customer_id, segment
    profile: pd.DataFrame
    k: int
    n: int
    requested: int = 5
    method: str = "kmeans"

    def share(self, segment: str, level: float = 0.95) -> Estimate:
        """The share of active customers in ``segment`` (Wilson interval)."""
        row = self.profile.set_index("segment").loc[segment]
        return Estimate.proportion(row["customers"], self.n, level=level)


def segments(ds: Dataset, as_of: dt.date, k: int = 5, channels: tuple[str, ...] = (), seed: int = 0,
             fit_size: int = 50_000, min_segment: int = MIN_SEGMENT) -> Segments:
    """Cluster the customers active in the 365 days to ``as_of`` into up to ``k`` behaviour segments.

    As many segments are formed as the customers support (``min_segment`` each on average).
    Raises :class:`EmptyPeriodError` when fewer than two segments can be formed, or when the data
    holds less than :data:`MIN_HISTORY_DAYS` days of orders before ``as_of`` (then recency and
    tenure cannot tell loyal from new customers).
    """
    first = q.first_order_date(ds)
    if first is None or (as_of - first).days < MIN_HISTORY_DAYS:
        raise EmptyPeriodError(f"segments need {MIN_HISTORY_DAYS} days of order history before {as_of}")
    feat = customer_features(ds, as_of, channels=channels)
    k_used = min(sg.segment_count(len(feat), k, min_segment), len(sg.SEGMENT_NAMES))  # every segment has a name
    if k_used < 2:
        raise EmptyPeriodError(f"only {len(feat)} customers bought in the year to {as_of}; "
                               f"segments need at least {2 * min_segment}")
    centroids, label = sg.kmeans(feat[list(FEATURES)].to_numpy(float), k_used, seed, fit_size)
    names = dict(enumerate(sg.name_segments(centroids)))
    feat = feat.assign(segment=pd.Series(label).map(names).to_numpy())
    mode = lambda s: s.mode().iat[0] if len(s.mode()) else None
    prof = feat.groupby("segment").agg(customers=("customer_id", "size"), gmv=("gmv_365d", "sum"),
                                       gmv_per_customer=("gmv_365d", "mean"), orders_365d=("orders_365d", "median"),
                                       recency_days=("recency_days", "median"),
                                       discount_share=("discount_share", "median"),
                                       categories=("categories", "median"), tenure_days=("tenure_days", "median"),
                                       top_channel=("top_channel", mode)).reset_index()
    assignment = feat[["customer_id", "segment"]]
    prof = prof.merge(_segment_tops(ds, assignment, as_of), on="segment", how="left")
    prof = prof.assign(share=prof["customers"] / prof["customers"].sum(), gmv_share=prof["gmv"] / prof["gmv"].sum())
    prof = prof.sort_values("gmv_per_customer", ascending=False).reset_index(drop=True)
    return Segments(assignment.reset_index(drop=True), prof, k_used, len(feat), k)


def _segment_tops(ds: Dataset, assignment: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Most common category (by lines bought in the year) and region per segment."""
    out = pd.DataFrame({"segment": assignment["segment"].unique()})
    cats = q.customer_categories(ds, as_of)
    if len(cats):
        c = cats.merge(assignment, on="customer_id").groupby(["segment", "category"], as_index=False)["n"].sum()
        top = c.sort_values(["segment", "n", "category"], ascending=[True, False, True]).drop_duplicates("segment")
        out = out.merge(top[["segment", "category"]].rename(columns={"category": "top_category"}), on="segment",
                        how="left")
    regions = q.customer_regions(ds)
    if len(regions):
        r = regions.merge(assignment, on="customer_id").groupby(["segment", "region"], as_index=False).size()
        top = r.sort_values(["segment", "size", "region"], ascending=[True, False, True]).drop_duplicates("segment")
        out = out.merge(top[["segment", "region"]].rename(columns={"region": "top_region"}), on="segment", how="left")
    return out


# ----- association rules and offline evaluation ------------------------------------------------------

def association_rules(ds: Dataset, as_of: dt.date, channels: tuple[str, ...] = (), min_count: int = 5,
                      holdout_last: bool = False) -> pd.DataFrame:
    """Item-to-item rules A -> B from customer baskets (all products a customer bought up to ``as_of``).

    support = customers with A and B / customers; confidence = customers with A and B / customers with A;
    lift = confidence / support of B. Returns ``antecedent``, ``consequent`` (product ids) and their
    ``antecedent_name``, ``consequent_name``, ``pair_customers``, ``support``, ``confidence``, ``lift``,
    strongest lift first.
    """
    rules = q.association_rules(ds, as_of, channels, min_count, holdout_last)
    names = q.product_names(ds).set_index("product_id")["name"]
    return rules.assign(antecedent_name=rules["antecedent"].map(names).fillna(rules["antecedent"]),
                        consequent_name=rules["consequent"].map(names).fillna(rules["consequent"]))


@dataclass(frozen=True)
class HitRate:
    """Offline evaluation: hit rate at ``k`` of the rules recommender and of the most-popular baseline
    (Wilson intervals) on the same ``n`` customers, and their paired difference (unit ``points``)."""

    k: int
    rules: Estimate
    popular: Estimate
    difference: Estimate
    n: int
    method: str = "customer-holdout"

    @property
    def rules_beat_popular(self) -> bool:
        """Whether the difference's interval lies above zero."""
        return self.difference.has_interval and self.difference.low > 0

    @property
    def verdict(self) -> str:
        """``better``, ``worse`` (the interval lies below zero) or ``unclear``."""
        if self.rules_beat_popular:
            return "better"
        return "worse" if self.difference.has_interval and self.difference.high < 0 else "unclear"


def evaluate_recommender(ds: Dataset, as_of: dt.date, k: int = 10, channels: tuple[str, ...] = (),
                         min_count: int = 3, max_customers: int = 20_000, level: float = 0.95) -> HitRate:
    """Hit rate at ``k`` on each customer's held-out last purchase: association rules vs most popular.

    Test customers are a stable hash sample (one in five, fewer beyond ``max_customers``) of those with at
    least two purchase days up to ``as_of``; rules and popularity are learnt from every other customer's
    full history (see :func:`workbench.sql.personalisation.recommender_hits`). Raises
    :class:`EmptyPeriodError` with fewer than 50 customers to evaluate.
    """
    mod = max(5, math.ceil(q.repeat_customers(ds, as_of, channels) / max_customers))
    res = q.recommender_hits(ds, as_of, k, mod, channels, min_count)
    n = res["n"]
    if n < 50:
        raise EmptyPeriodError(f"only {n} customers with two or more purchase days; the recommender cannot be evaluated")
    return HitRate(k, Estimate.proportion(res["rules_hits"], n, level=level),
                   Estimate.proportion(res["popular_hits"], n, level=level),
                   paired_difference(res["only_rules"], res["only_popular"], n, level), n)


# ----- recommenders compared on a time-based hold-out ---------------------------------------------------

#: The recommenders the page compares: the hybrid scorer and its two baselines.
RECOMMENDERS = ("hybrid", "buy_again", "popular")
#: The ranking metrics at k, each a per-customer mean.
RANK_METRICS = ("hit_rate", "recall", "ndcg")


@dataclass(frozen=True)
class Comparison:
    """Recommenders compared on what customers bought in the ``horizon_days`` after ``cutoff``.

    ``metrics``: one row per recommender (:data:`RECOMMENDERS`) and metric (:data:`RANK_METRICS`) with
    ``value``, ``low``, ``high`` (hit rate: Wilson; recall and NDCG: normal interval of a mean);
    ``estimates``: the same as Estimates keyed ``(recommender, metric)``; ``vs_popular`` and
    ``vs_buy_again``: the paired difference of the hybrid's hit rate against each baseline on the same
    ``n`` customers (unit ``points``); ``ndcg_vs_popular`` the paired difference of NDCG. ``params``:
    the hybrid's weights, chosen on a split inside the training history (``validation_n`` customers).
    """

    k: int
    cutoff: dt.date
    horizon_days: int
    n: int
    metrics: pd.DataFrame
    estimates: dict
    vs_popular: Estimate
    vs_buy_again: Estimate
    ndcg_vs_popular: Estimate
    params: object
    validation_n: int
    method: str = "time-holdout"
    #: customers who bought before and in the hold-out; ``n`` of them (a random sample when more than
    #: ``max_customers``) were scored
    eligible: int = 0

    @property
    def fell_back(self) -> bool:
        """Whether the tuning kept the plain bestseller list (no personal signal beat it before the hold-out)."""
        p = self.params
        return p.beta == 0 and p.gamma == 0 and p.omega == 0 and p.m >= 1e6

    @property
    def verdict(self) -> str:
        """``bestsellers`` (the hybrid fell back to the bestseller list), ``better`` (its hit rate beats both
        baselines beyond the hold-out noise: both paired intervals above zero), ``worse`` (an interval lies
        below zero) or ``unclear``."""
        if self.fell_back:
            return "bestsellers"
        diffs = (self.vs_popular, self.vs_buy_again)
        if all(d.ok and d.has_interval and d.low > 0 for d in diffs):
            return "better"
        if any(d.ok and d.has_interval and d.high < 0 for d in diffs):
            return "worse"
        return "unclear"


def _lines(frame: pd.DataFrame) -> tuple:
    """Integer-coded :class:`workbench.stats.recommend.Lines` from :func:`workbench.sql.personalisation.purchase_lines`,
    with the product ids in item order."""
    from workbench.stats.recommend import Lines

    # sorted codes as np.unique gives them, without a fixed-width copy of every id (1.3 GB for 20 M lines)
    ci, cust = pd.factorize(frame["customer_id"], sort=True)
    ii, items = pd.factorize(frame["product_id"], sort=True)
    chi, chans = pd.factorize(frame["channel"], sort=True)
    ci, ii, chi, items = ci.astype(np.int64), ii.astype(np.int64), chi.astype(np.int64), np.asarray(items, str)
    cat_of = frame.groupby("product_id")["category"].first().reindex(items).fillna("").to_numpy(str)
    _, cat_i = np.unique(cat_of, return_inverse=True)
    day = -frame["day"].to_numpy(np.int64)            # days relative to as_of: 0 is as_of, negative before
    return Lines(ci, ii, day, chi, cat_i, len(cust), len(chans)), items


def compare_recommenders(ds: Dataset, as_of: dt.date, k: int = 10, horizon_days: int = 28,
                         channels: tuple[str, ...] = (), level: float = 0.95, seed: int = 0,
                         max_customers: int = 20_000) -> Comparison:
    """Hybrid recommender against the bestseller list and "buy again", on a time-based hold-out.

    Recommendations are made at ``cutoff`` = ``as_of`` - ``horizon_days`` from the history up to it,
    for every customer who bought before the cutoff and again after it; a recommendation list hits
    when it holds a product the customer bought in the hold-out. The hybrid's weights are tuned on
    the ``horizon_days`` before the cutoff (:func:`workbench.stats.recommend.tune_hybrid`), so the
    hold-out only reports. Bestsellers are the products with most buyers in the 90 days before the
    cutoff. Beyond ``max_customers`` such customers a random sample of that many (fixed by ``seed``) is
    scored: the intervals are those of the sample (about ±0.6 points for a hit rate near 30% at 20,000),
    and the scoring's memory and time no longer grow with the customer base (at 10.5 million orders,
    scoring all 253,000 took the process to 6.8 GB; the popularity and co-purchase counts still read
    every customer's lines). Raises :class:`EmptyPeriodError` with fewer than 50
    customers to evaluate.
    """
    from workbench.stats import recommend as rc

    frame = q.purchase_lines(ds, as_of, channels)
    if frame.empty:
        raise EmptyPeriodError("no purchases to learn recommendations from in this selection")
    lines, _ = _lines(frame)
    del frame  # the coded lines hold all that is needed (at 10.5 M orders the text frame is about 0.8 GB)
    cutoff, end = -horizon_days, 0
    cust, targets = rc.holdout_targets(lines, cutoff, end)
    if len(cust) < 50:
        raise EmptyPeriodError(f"only {len(cust)} customers bought both before and in the last {horizon_days} days; "
                               "the recommenders cannot be compared")
    eligible = len(cust)
    if eligible > max_customers:
        pick = np.sort(np.random.default_rng([seed, 2]).choice(eligible, max_customers, replace=False))
        cust, targets = cust[pick], [targets[i] for i in pick]
    params, n_val = rc.tune_hybrid(lines, cutoff, horizon_days, k, seed=seed)
    scores = {"hybrid": rc.hybrid_scores(lines, cutoff, cust, params),
              "buy_again": rc.buy_again_scores(lines, cutoff, cust, params.tau, params.window),
              "popular": rc.popular_scores(lines, cutoff, cust, params.window)}
    per = {name: rc.ranking_metrics(rc.top_k(sc, k), targets) for name, sc in scores.items()}
    estimates, rows = {}, []
    for name in RECOMMENDERS:
        m = per[name]
        est = {"hit_rate": Estimate.proportion(m["hit"].sum(), len(cust), level=level, min_n=50),
               "recall": _mean_share(m["recall"], level), "ndcg": _mean_share(m["ndcg"], level)}
        for metric, e in est.items():
            estimates[(name, metric)] = e
            rows.append({"recommender": name, "metric": metric, "value": e.estimate, "low": e.low, "high": e.high})

    def hit_diff(other: str) -> Estimate:
        a, b = per["hybrid"]["hit"], per[other]["hit"]
        return rc.paired_difference(int((a > b).sum()), int((b > a).sum()), len(a), level)

    return Comparison(k, as_of - dt.timedelta(days=horizon_days), horizon_days, len(cust), pd.DataFrame(rows),
                      estimates, hit_diff("popular"), hit_diff("buy_again"),
                      rc.paired_mean_difference(per["hybrid"]["ndcg"], per["popular"]["ndcg"], level), params, n_val,
                      eligible=eligible)


def _mean_share(values: np.ndarray, level: float) -> Estimate:
    """The mean of per-customer shares in [0, 1] with a normal interval (n below 50 withheld)."""
    from scipy.stats import norm

    n = len(values)
    mean = float(np.mean(values)) if n else math.nan
    se = float(np.std(values, ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    z = float(norm.ppf(0.5 + level / 2))
    return Estimate(mean, mean - z * se, mean + z * se, level=level, n=n, method="mean-normal", unit="share",
                    min_n=50)


# ----- purchase propensity ----------------------------------------------------------------------------

PROPENSITY_FEATURES = ("log_recency", "log_orders", "log_gmv", "discount_share", "log_tenure", "log_orders_90d",
                       "log_recency_sq", "recency_x_orders")


def _propensity_terms(feat: pd.DataFrame) -> pd.DataFrame:
    return feat.assign(log_orders_90d=np.log1p(feat["orders_90d"].astype(float)),
                       # the purchase rate falls off with recency faster than a log-linear term allows
                       log_recency_sq=feat["log_recency"] ** 2,
                       recency_x_orders=feat["log_recency"] * feat["log_orders"])


def _propensity_frame(ds: Dataset, cutoff: dt.date, horizon: int, channels: tuple[str, ...],
                      sample_mod: int, label: bool) -> pd.DataFrame:
    feat = _propensity_terms(customer_features(ds, cutoff, channels=channels, sample_mod=sample_mod))
    if label:
        buyers = q.buyers_between(ds, cutoff, cutoff + dt.timedelta(days=horizon), channels)
        feat["bought"] = feat["customer_id"].isin(set(buyers)).astype(int)
    return feat


def _propensity_frames(ds: Dataset, cutoffs: list[tuple[dt.date, int]], horizon: int,
                       channels: tuple[str, ...]) -> list[pd.DataFrame]:
    """``_propensity_frame(ds, cutoff, horizon, channels, mod, True)`` for each (cutoff, mod) of
    ``cutoffs``, from one statement (:func:`workbench.sql.personalisation.labelled_features`), without
    the ``top_channel`` column (no model term reads it)."""
    both = q.labelled_features(ds, cutoffs, horizon, channels=channels)
    bought = both.pop("bought").astype(bool).astype(int)
    both = _propensity_terms(_log_features(both)).assign(bought=bought)
    cut = both.pop("cut").to_numpy()
    return [both[cut == j].reset_index(drop=True) for j in range(len(cutoffs))]


@dataclass
class Propensity:
    """30-day purchase propensity: the fitted model, its hold-out check and the scored customers.

    ``auc``: AUC on the hold-out (an Estimate); ``calibration``: ``decile``, ``customers``, ``buyers``,
    ``predicted_rate``, ``observed_rate`` with its Wilson bounds; ``scores``: customers at ``as_of`` with
    ``p_purchase_30d``; ``base_rate_test``: the hold-out's purchase rate (an Estimate).
    """

    result: object = field(repr=False)
    odds_ratios: pd.DataFrame = field(repr=False)
    auc: Estimate = field(default_factory=lambda: Estimate(math.nan))
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    scores: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    train_cutoff: dt.date | None = None
    test_cutoff: dt.date | None = None
    n_train: int = 0
    n_test: int = 0
    base_rate_test: Estimate = field(default_factory=lambda: Estimate(math.nan))
    horizon_days: int = 30
    method: str = "logit-time-holdout"
    seasonal_shift: float = 0.0      # logit shift to the same window a year earlier (0: no year of history)

    @property
    def deciles_within(self) -> int:
        """Score deciles whose mean predicted rate lies inside the observed rate's (Wilson) interval."""
        cal = self.calibration
        if cal.empty:
            return 0
        inside = (cal["predicted_rate"] >= cal["observed_low"]) & (cal["predicted_rate"] <= cal["observed_high"])
        return int(inside.sum())

    @property
    def mean_predicted(self) -> float:
        """The hold-out's mean predicted probability (to set beside its observed rate, ``base_rate_test``)."""
        cal = self.calibration
        if cal.empty:
            return math.nan
        return float((cal["predicted_rate"] * cal["customers"]).sum() / cal["customers"].sum())


def propensity(ds: Dataset, as_of: dt.date, channels: tuple[str, ...] = (), horizon: int = 30,
               max_rows: int = 200_000, stack: int = 6, level: float = 0.95) -> Propensity:
    """Fit, check and apply a model of the probability that a customer buys in the next ``horizon`` days.

    Training: features at ``stack`` cutoffs ``as_of`` - (2 + i) x horizon (i = 0 .. stack - 1, each a hash
    sample so the stacked rows stay near ``max_rows``), label = bought in the following ``horizon`` days.
    Hold-out: features at ``as_of`` - horizon, label = bought up to ``as_of``; AUC with interval and a
    calibration table by predicted decile. Seasonality: each model's intercept is shifted so that it
    matches the purchase rate of the same window a year before its cutoff (:func:`_seasonal_shift`;
    only data before the cutoff), since a campaign month buys more than a quiet one. Scoring: the
    model refitted on the hold-out window is applied to features at ``as_of``. Raises :class:`EmptyPeriodError` with too few customers or buyers.
    """
    test_cut = as_of - dt.timedelta(days=horizon)
    train_cut = test_cut - dt.timedelta(days=horizon)
    n_all = q.active_customers(ds, train_cut - dt.timedelta(days=364), as_of)
    mod = max(1, math.ceil(n_all / max_rows))
    train_mod = max(1, math.ceil(n_all * stack / max_rows))
    # training stacks several monthly cutoffs so that no single season (a campaign month) sets the base rate;
    # their frames, the hold-out's and the two seasonal checks' come from one statement
    cuts = [(train_cut - dt.timedelta(days=horizon * i), train_mod) for i in range(stack)] + [(test_cut, mod)]
    first = q.first_order_date(ds)
    seasonal = [c for c in (test_cut, as_of) if _has_year(first, c, horizon)]
    frames = _propensity_frames(ds, cuts + [(c - dt.timedelta(days=364), mod) for c in seasonal], horizon, channels)
    train = pd.concat(frames[:stack], ignore_index=True)
    test = frames[stack]
    past = dict(zip(seasonal, frames[stack + 1:]))
    if len(train) < 200 or train["bought"].sum() < 20 or len(test) < 100 or test["bought"].sum() < 10:
        raise EmptyPeriodError("too few customers or buyers to fit a purchase-propensity model for this selection")
    cols = [c for c in PROPENSITY_FEATURES if train[c].std() > 0 and test[c].std() > 0]
    model = pm.fit_logit(train[cols], train["bought"])
    shift_test = _seasonal_shift(ds, model, cols, test_cut, horizon, channels, mod, past.get(test_cut))
    p_test = pm.shifted(pm.predict(model, test[cols]), shift_test)
    final = pm.fit_logit(test[cols], test["bought"])
    shift_now = _seasonal_shift(ds, final, cols, as_of, horizon, channels, mod, past.get(as_of))
    now = _propensity_frame(ds, as_of, horizon, channels, 1, False)
    now = now.assign(p_purchase_30d=pm.shifted(pm.predict(final, now[cols]), shift_now))
    return Propensity(model, pm.odds_ratios(model, cols, level), pm.auc(test["bought"], p_test, level),
                      pm.calibration(test["bought"], p_test, 10, level), now, train_cut, test_cut, len(train),
                      len(test), Estimate.proportion(test["bought"].sum(), len(test), level=level), horizon,
                      seasonal_shift=shift_test)


def _has_year(first: dt.date | None, cutoff: dt.date, horizon: int) -> bool:
    """Whether the data reach back to the window a year before ``cutoff`` (see :func:`_seasonal_shift`)."""
    return first is not None and cutoff - dt.timedelta(days=364) - dt.timedelta(days=horizon) >= first


def _seasonal_shift(ds: Dataset, model, cols: list[str], cutoff: dt.date, horizon: int, channels: tuple[str, ...],
                    mod: int, past: pd.DataFrame | None = None) -> float:
    """The logit shift that makes ``model`` match the purchase rate of the same ``horizon`` days a year
    before ``cutoff`` (features a year earlier, labels known before the cutoff): campaign months buy more
    than quiet ones, and a model trained over several months predicts their average. 0 without a year of
    history (fewer than 100 customers or 10 buyers then). ``past``: the labelled frame a year before
    ``cutoff`` when the caller has it already (``_propensity_frame(ds, year_ago, horizon, channels, mod, True)``)."""
    year_ago = cutoff - dt.timedelta(days=364)
    if not _has_year(q.first_order_date(ds), cutoff, horizon):
        return 0.0
    if past is None:
        past = _propensity_frame(ds, year_ago, horizon, channels, mod, True)
    if len(past) < 100 or past["bought"].sum() < 10:
        return 0.0
    return pm.intercept_shift(pm.predict(model, past[cols]), float(past["bought"].mean()))


def target_list(prop: Propensity, n: int = 1000) -> pd.DataFrame:
    """The ``n`` customers most likely to buy in the next 30 days, ranked, with ``customer_id`` only
    (no personal data): the columns of :data:`TARGET_COLUMNS`."""
    top = prop.scores.sort_values(["p_purchase_30d", "customer_id"], ascending=[False, True]).head(n)
    top = top.assign(rank=np.arange(1, len(top) + 1))
    return top[list(TARGET_COLUMNS)].reset_index(drop=True)


def export_target_list(targets: pd.DataFrame, path: str | Path, headers: Mapping[str, str] | None = None) -> Path:
    """Write a target list as spreadsheet-safe UTF-8 CSV after checking it holds no personal-data column.

    ``headers`` maps the columns of :data:`TARGET_COLUMNS` to the words written as the CSV's header
    (the page's labels); without it the column keys are written. Raises ``ValueError`` if a column is
    not in :data:`TARGET_COLUMNS` or is a personal-data column of the data model (name, phone, address).
    """
    pii = set(schema.TABLES["customers"].pii_columns)
    bad = [c for c in targets.columns if c not in TARGET_COLUMNS or c in pii]
    if bad:
        raise ValueError(f"a target list may not carry {bad}; only {TARGET_COLUMNS}")
    from workbench.data.safefile import write_csv  # cells a spreadsheet would run as formulas are neutralised

    out = targets.rename(columns=dict(headers)) if headers else targets
    return write_csv(out, path, encoding="utf-8-sig" if headers else "utf-8")


@dataclass(frozen=True)
class Lift:
    """The purchase rate of the top ``share`` of hold-out scores (an Estimate), its ``lift`` over the
    base rate and the rate the model ``predicted`` for them."""

    rate: Estimate
    lift: float
    predicted: float


def lift_at(prop: Propensity, share: float = 0.1, level: float = 0.95) -> Lift:
    """Observed purchase rate in the top ``share`` of the hold-out scores and its lift over the base rate."""
    top = prop.calibration[prop.calibration["decile"] > 10 - round(share * 10)]
    rate = Estimate.proportion(top["buyers"].sum(), top["customers"].sum(), level=level)
    base = prop.base_rate_test.estimate
    predicted = float((top["predicted_rate"] * top["customers"]).sum() / top["customers"].sum())
    return Lift(rate, rate.estimate / base if base else math.nan, predicted)


def target_summary(targets: pd.DataFrame, sizes: tuple[int, ...] = (100, 500, 1000)) -> pd.DataFrame:
    """The head of a target list in bands: ``top_n`` (the first n customers), ``mean_p`` (mean predicted probability),
    ``expected_buyers`` (sum of the probabilities), ``recency_days`` (median) and ``gmv_365d`` (mean)."""
    rows = []
    for size in sizes:
        head = targets.head(size)
        if len(head) < size and rows:
            break
        rows.append({"top_n": len(head), "mean_p": float(head["p_purchase_30d"].mean()),
                     "expected_buyers": float(head["p_purchase_30d"].sum()),
                     "recency_days": float(head["recency_days"].median()), "gmv_365d": float(head["gmv_365d"].mean())})
    return pd.DataFrame(rows)
