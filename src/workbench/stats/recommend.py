"""Recommenders on arrays and their offline evaluation: bestsellers, "buy again" and a hybrid scorer.

Purchase lines come in as integer arrays (customer, item, day, channel; items carry a category) and
scores come out as a dense matrix (test customers x items); the SQL that fetches the lines and the
time-based hold-out live in :mod:`workbench.topics.personalisation`.

The hybrid scorer ranks item i for customer c by

    log p(i | c) + beta * log(1 + again_c(i)) + gamma * log(1 + co_c(i))

where ``p(i | c)`` is the recent bestseller share of i within its category in the customer's own
channels (weight ``omega``; the rest on all channels together), times the customer's category affinity (the customer's own category counts shrunk towards
the channel's recent category mix with prior weight ``m``); ``again_c(i)`` counts the customer's own
earlier purchases of i, each discounted by exp(-age / ``tau`` days); ``co_c(i)`` is the cosine
co-purchase similarity of i to the customer's earlier items (recency-discounted in the same way).
``m``, ``beta``, ``gamma`` and ``omega`` are chosen on a split inside the training history
(:func:`tune_hybrid`), never on the hold-out that reports the accuracy.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from workbench.stats.result import Estimate


@dataclass(frozen=True)
class Lines:
    """Purchase lines as parallel integer arrays: ``customer``, ``item``, ``day`` (days since an
    origin), ``channel``; ``item_category`` maps each item to its category; the counts size the matrices."""

    customer: np.ndarray
    item: np.ndarray
    day: np.ndarray
    channel: np.ndarray
    item_category: np.ndarray
    n_customers: int
    n_channels: int

    @property
    def n_items(self) -> int:
        return len(self.item_category)

    @property
    def n_categories(self) -> int:
        return int(self.item_category.max()) + 1 if len(self.item_category) else 0

    def before(self, day: int) -> "Lines":
        """The lines on or before ``day``."""
        keep = self.day <= day
        return Lines(self.customer[keep], self.item[keep], self.day[keep], self.channel[keep], self.item_category,
                     self.n_customers, self.n_channels)


@dataclass(frozen=True)
class HybridParams:
    """Weights of the hybrid scorer (see the module docstring)."""

    m: float = 10.0
    beta: float = 1.0
    gamma: float = 1.0
    omega: float = 1.0
    tau: float = 90.0
    window: int = 90


def _unique_rows(*columns: np.ndarray, sizes: tuple[int, ...]) -> np.ndarray:
    """``np.unique(np.stack(columns), axis=1)`` for non-negative integer columns below ``sizes``: each row
    coded as one integer (mixed radix, so the codes sort as the rows do), made unique and decoded."""
    key = np.zeros(len(columns[0]), np.int64)
    for col, size in zip(columns, sizes):
        key = key * int(size) + col.astype(np.int64)
    key = np.unique(key)
    out = np.empty((len(columns), len(key)), np.int64)
    for j in range(len(columns) - 1, -1, -1):
        key, out[j] = np.divmod(key, int(sizes[j]))
    return out


def holdout_targets(lines: Lines, cutoff: int, end: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Customers who bought on or before ``cutoff`` and again in (``cutoff``, ``end``], and for each the
    distinct items bought in that window (the targets a recommender made at ``cutoff`` should hit)."""
    seen = np.zeros(lines.n_customers, bool)
    seen[lines.customer[lines.day <= cutoff]] = True
    later = (lines.day > cutoff) & (lines.day <= end) & seen[lines.customer]
    pairs = _unique_rows(lines.customer[later], lines.item[later], sizes=(lines.n_customers, lines.n_items))
    if pairs.size == 0:
        return np.zeros(0, np.int64), []
    cust, start = np.unique(pairs[0], return_index=True)
    return cust, np.split(pairs[1], start[1:])


def _recent_popularity(lines: Lines, cutoff: int, window: int) -> np.ndarray:
    """(channels + 1, items) distinct buyers per item in the ``window`` days up to ``cutoff``; the last row
    is all channels together. Falls back to the whole history when the window holds no line."""
    sel = (lines.day > cutoff - window) & (lines.day <= cutoff)
    if not sel.any():
        sel = lines.day <= cutoff
    pop = np.zeros((lines.n_channels + 1, lines.n_items))
    pairs = _unique_rows(lines.channel[sel], lines.customer[sel], lines.item[sel],
                         sizes=(lines.n_channels, lines.n_customers, lines.n_items))
    # distinct buyers are whole numbers: counting them by bincount is exact
    pop[:-1] += np.bincount(pairs[0] * lines.n_items + pairs[2],
                            minlength=lines.n_channels * lines.n_items).reshape(lines.n_channels, lines.n_items)
    pop[-1] += np.bincount(pairs[2], minlength=lines.n_items)
    return pop


def popular_scores(lines: Lines, cutoff: int, customers: np.ndarray, window: int = 90) -> np.ndarray:
    """The bestseller list: every customer gets the items with most distinct buyers in the ``window`` days
    up to ``cutoff`` (the same list for all)."""
    pop = _recent_popularity(lines, cutoff, window)[-1]
    return np.broadcast_to(pop, (len(customers), lines.n_items)).copy()


def _own(lines: Lines, cutoff: int, customers: np.ndarray, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """(test customers, items) recency-discounted own purchase counts, and (test customers, channels) line counts."""
    pos = np.full(lines.n_customers, -1)
    pos[customers] = np.arange(len(customers))
    sel = (lines.day <= cutoff) & (pos[lines.customer] >= 0)
    row = pos[lines.customer[sel]]
    own = np.zeros((len(customers), lines.n_items))
    np.add.at(own, (row, lines.item[sel]), np.exp(-(cutoff - lines.day[sel]) / tau))
    chan = np.zeros((len(customers), lines.n_channels))
    np.add.at(chan, (row, lines.channel[sel]), 1.0)
    return own, chan


def buy_again_scores(lines: Lines, cutoff: int, customers: np.ndarray, tau: float = 90.0,
                     window: int = 90) -> np.ndarray:
    """"Buy again": the customer's own earlier items (recency-discounted counts) first, then the bestsellers."""
    own, _ = _own(lines, cutoff, customers, tau)
    pop = _recent_popularity(lines, cutoff, window)[-1]
    return own * 1e6 + pop / max(pop.max(), 1.0)


def _cooccurrence(lines: Lines, cutoff: int) -> np.ndarray:
    """Cosine similarity of items over the customers who bought them up to ``cutoff`` (diagonal zero)."""
    sel = lines.day <= cutoff
    pairs = _unique_rows(lines.customer[sel], lines.item[sel], sizes=(lines.n_customers, lines.n_items))
    if pairs.size == 0:
        return np.zeros((lines.n_items, lines.n_items))
    from scipy import sparse

    cust, inv = np.unique(pairs[0], return_inverse=True)
    basket = sparse.csr_matrix((np.ones(pairs.shape[1], np.int64), (inv, pairs[1])),
                               shape=(len(cust), lines.n_items))
    co = (basket.T @ basket).toarray().astype(float)   # customers who bought both: whole numbers, exact
    norm = np.sqrt(np.diag(co))
    co = co / np.maximum(np.outer(norm, norm), 1e-12)
    np.fill_diagonal(co, 0.0)
    return co


@dataclass(eq=False)
class _HybridParts:
    """The pieces of :func:`hybrid_scores` that do not depend on ``m``, ``beta``, ``gamma`` or ``omega``
    (they depend on the lines, ``cutoff``, the customers, ``tau``, ``window`` and the co-purchase matrix),
    so that :func:`tune_hybrid` computes them once for its whole grid. Scores built from them are the
    same numbers :func:`hybrid_scores` returns, computed by the same operations in the same order."""

    lines: Lines
    cutoff: int
    cat: np.ndarray
    within: np.ndarray
    cat_mix: np.ndarray
    own: np.ndarray
    chan_mix: np.ndarray
    n_lines: np.ndarray
    own_cat: np.ndarray
    co: np.ndarray | None
    _log_own: np.ndarray | None = None
    _log_co: np.ndarray | None = None
    _by_omega: dict | None = None
    _log_base: dict | None = None

    def log_own(self) -> np.ndarray:
        if self._log_own is None:
            self._log_own = np.log1p(self.own)
        return self._log_own

    def log_co(self) -> np.ndarray:
        if self._log_co is None:
            co = _cooccurrence(self.lines, self.cutoff) if self.co is None else self.co
            self._log_co = np.log1p(self.own @ co)
        return self._log_co

    def mixes(self, omega: float) -> tuple[np.ndarray, np.ndarray]:
        """(prior category mix, mix @ within) for the channel weight ``omega``."""
        if self._by_omega is None:
            self._by_omega = {}
        if omega not in self._by_omega:
            n_lines = self.n_lines
            # weight omega on the customer's own channels, the rest (and all of it without history) on all channels
            mix = np.hstack([omega * self.chan_mix, 1 - omega + omega * (n_lines == 0)])
            self._by_omega[omega] = (mix @ self.cat_mix, mix @ self.within)
        return self._by_omega[omega]

    def log_base(self, m: float, omega: float) -> np.ndarray:
        """log(theta[:, category] * p(item | category, customer's channels)); kept per (m, omega)."""
        if self._log_base is None:
            self._log_base = {}
        if (m, omega) not in self._log_base:
            prior_cat, mixed_within = self.mixes(omega)
            own_cat = self.own_cat
            theta = (own_cat + m * prior_cat) / (own_cat.sum(1, keepdims=True) + m)
            base = theta[:, self.cat] * mixed_within
            self._log_base[(m, omega)] = np.log(np.maximum(base, 1e-300))
        return self._log_base[(m, omega)]

    def scores(self, params: HybridParams) -> np.ndarray:
        score = self.log_base(params.m, params.omega).copy()
        if params.beta:
            score += params.beta * self.log_own()
        if params.gamma:
            score += params.gamma * self.log_co()
        return score


def _hybrid_parts(lines: Lines, cutoff: int, customers: np.ndarray, tau: float, window: int,
                  co: np.ndarray | None = None) -> _HybridParts:
    """The weight-free pieces of the hybrid scores (see :class:`_HybridParts`)."""
    pop = _recent_popularity(lines, cutoff, window) + 0.5        # every item keeps a little mass
    cat = lines.item_category
    k = lines.n_categories
    cat_pop = np.zeros((pop.shape[0], k))
    for c in range(k):
        cat_pop[:, c] = pop[:, cat == c].sum(1)
    within = pop / cat_pop[:, cat]                                      # p(item | category, channel)
    cat_mix = cat_pop / cat_pop.sum(1, keepdims=True)                   # p(category | channel)
    own, chan = _own(lines, cutoff, customers, tau)
    n_lines = chan.sum(1, keepdims=True)
    chan_mix = np.where(n_lines > 0, chan / np.maximum(n_lines, 1), 0.0)     # the customer's channel shares
    own_cat = np.zeros((len(customers), k))
    for c in range(k):
        own_cat[:, c] = (own[:, cat == c] > 0).sum(1)                  # distinct items bought per category
    return _HybridParts(lines, cutoff, cat, within, cat_mix, own, chan_mix, n_lines, own_cat, co)


def hybrid_scores(lines: Lines, cutoff: int, customers: np.ndarray, params: HybridParams = HybridParams(),
                  co: np.ndarray | None = None) -> np.ndarray:
    """Hybrid scores (test customers x items) as of ``cutoff``; see the module docstring."""
    return _hybrid_parts(lines, cutoff, customers, params.tau, params.window, co).scores(params)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores per row, best first (ties broken by the lower item index).

    The same lists as a stable argsort of ``-scores`` (which it falls back to when a score is nan): the
    k-th highest score of each row is found by a partition, and only the items scoring at least that
    much are sorted (by score, then item index)."""
    k = min(k, scores.shape[1])
    n, width = scores.shape
    if k == 0 or n == 0 or 4 * k >= width or np.isnan(scores).any():
        return np.argsort(-scores, axis=1, kind="stable")[:, :k]
    neg = -scores
    kth = np.partition(neg, k - 1, axis=1)[:, k - 1:k]
    row, col = np.nonzero(neg <= kth)                      # at least k per row; more only with ties at the k-th
    order = np.lexsort((col, neg[row, col], row))
    counts = np.bincount(row, minlength=n)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    take = (first[:, None] + np.arange(k)).ravel()
    return col[order[take]].reshape(n, k)


@dataclass(frozen=True, eq=False)
class _CodedTargets:
    """Target lists coded for :func:`ranking_metrics`: each (customer row, item) pair as one integer."""

    sizes: np.ndarray
    keys: np.ndarray       # sorted
    width: int


def _code_targets(targets: list[np.ndarray], width: int = 0) -> _CodedTargets:
    n = len(targets)
    sizes = np.fromiter((len(t) for t in targets), np.int64, n)
    flat = np.concatenate([np.asarray(t, np.int64) for t in targets]) if n else np.zeros(0, np.int64)
    width = max(int(width), int(flat.max(initial=0)) + 1)
    return _CodedTargets(sizes, np.sort(np.repeat(np.arange(n, dtype=np.int64), sizes) * width + flat), width)


def ranking_metrics(recs: np.ndarray, targets: list[np.ndarray] | _CodedTargets) -> dict[str, np.ndarray]:
    """Per customer: ``hit`` (any target in the list), ``recall`` (share of the targets in the list) and
    ``ndcg`` (binary relevance, log2 discount) of the ranked lists ``recs`` against ``targets``.

    One pass over all customers: each (customer, item) pair is coded as one integer and the ranked
    pairs are looked up among the target pairs (a target list holds distinct items)."""
    recs = np.asarray(recs)
    k = recs.shape[1]
    disc = 1 / np.log2(np.arange(2, k + 2))
    coded = targets if isinstance(targets, _CodedTargets) else _code_targets(targets)
    if int(recs.max(initial=0)) >= coded.width:
        coded = _recode(coded, int(recs.max()) + 1)
    sizes, keys, n = coded.sizes, coded.keys, len(coded.sizes)
    if n == 0:
        return {"hit": np.zeros(0), "recall": np.zeros(0), "ndcg": np.zeros(0)}
    rec_keys = np.arange(n, dtype=np.int64)[:, None] * coded.width + recs[:n].astype(np.int64)
    if len(keys):
        pos = np.minimum(np.searchsorted(keys, rec_keys), len(keys) - 1)
        rel = keys[pos] == rec_keys
    else:
        rel = np.zeros(rec_keys.shape, bool)
    ideal = np.array([disc[:j].sum() for j in range(k + 1)])[np.minimum(sizes, k)]
    with np.errstate(divide="ignore", invalid="ignore"):     # an empty target list: nan, as before
        recall = rel.sum(1) / sizes
        ndcg = (disc * rel).sum(1) / ideal
    return {"hit": rel.any(1).astype(float), "recall": recall, "ndcg": ndcg}


def _recode(coded: _CodedTargets, width: int) -> _CodedTargets:
    row, item = np.divmod(coded.keys, coded.width)
    return _CodedTargets(coded.sizes, np.sort(row * width + item), width)


def tune_hybrid(lines: Lines, cutoff: int, horizon: int, k: int = 10,
                grid: dict[str, tuple[float, ...]] | None = None, max_customers: int = 5000,
                seed: int = 0) -> tuple[HybridParams, int]:
    """Choose the hybrid's ``m``, ``beta`` and ``gamma`` by hit rate at ``k`` on a split inside the
    history: fitted on the lines up to ``cutoff - horizon``, scored on what customers bought in the
    ``horizon`` days up to ``cutoff``. A richer scorer replaces the plain bestseller list (``m`` at its
    largest, ``beta = gamma = omega = 0``, which ranks exactly as :func:`popular_scores`) only when its
    paired gain in hit rate exceeds one standard error on that split. Returns the parameters and the number of validation customers (0: none, then the defaults)."""
    grid = grid or {"m": (5.0, 50.0, 1e6), "beta": (0.0, 1.0), "gamma": (0.0, 1.0), "omega": (0.0, 1.0)}
    inner = cutoff - horizon
    cust, targets = holdout_targets(lines, inner, cutoff)
    if len(cust) == 0:
        return HybridParams(), 0
    if len(cust) > max_customers:
        pick = np.sort(np.random.default_rng(seed).choice(len(cust), max_customers, replace=False))
        cust, targets = cust[pick], [targets[i] for i in pick]
    co = _cooccurrence(lines, inner)
    simple = HybridParams(m=max(grid["m"]), beta=0.0, gamma=0.0, omega=0.0)   # the bestseller list: the fallback
    # the pieces that no weight of the grid changes (popularity, own purchases, co-purchase) once for all of it
    parts = _hybrid_parts(lines, inner, cust, simple.tau, simple.window, co)
    coded = _code_targets(targets, lines.n_items)
    hits = {}
    for m, beta, gamma, omega in itertools.product(grid["m"], grid["beta"], grid["gamma"], grid["omega"]):
        p = HybridParams(m=m, beta=beta, gamma=gamma, omega=omega)
        hits[p] = ranking_metrics(top_k(parts.scores(p), k), coded)["hit"]
    if simple not in hits:
        hits[simple] = ranking_metrics(top_k(parts.scores(simple), k), coded)["hit"]
    best = max(hits, key=lambda p: (hits[p].sum(), p == simple))
    # one-standard-error rule: keep the bestseller list unless the richer scorer beats it beyond the split's noise
    gain = paired_difference(int((hits[best] > hits[simple]).sum()), int((hits[simple] > hits[best]).sum()),
                             len(cust))
    if best != simple and not (gain.has_interval and gain.estimate - (gain.estimate - gain.low) / 1.96 > 0):
        best = simple
    return best, len(cust)


def paired_difference(only_a: int, only_b: int, n: int, level: float = 0.95) -> Estimate:
    """The difference of two hit rates measured on the same ``n`` customers, (b − c)/n, with its paired
    (McNemar-type) normal interval; ``only_a`` (``only_b``) customers were hit by a and not b (b and not a).
    A difference of two shares lies in [−1, 1]; its unit is ``points``."""
    from scipy.stats import norm

    if n <= 0:
        return Estimate(math.nan, n=0, method="paired-difference", unit="points", bounds=(-1.0, 1.0), min_n=50)
    b, c = float(only_a), float(only_b)
    diff = (b - c) / n
    se = math.sqrt(max(b + c - (b - c) ** 2 / n, 0.0)) / n
    q = float(norm.ppf(0.5 + level / 2))
    return Estimate(diff, diff - q * se, diff + q * se, level=level, n=int(n), method="paired-difference",
                    unit="points", bounds=(-1.0, 1.0), min_n=50)


def paired_mean_difference(a: np.ndarray, b: np.ndarray, level: float = 0.95, unit: str = "points") -> Estimate:
    """Mean of ``a - b`` over the same customers (recall, NDCG) with its normal interval; n below 50 withholds it."""
    from scipy.stats import norm

    d = np.asarray(a, float) - np.asarray(b, float)
    n = len(d)
    if n < 2:
        return Estimate(math.nan, n=n, method="paired-mean", unit=unit, bounds=(-1.0, 1.0), min_n=50)
    se = float(d.std(ddof=1) / math.sqrt(n))
    q = float(norm.ppf(0.5 + level / 2))
    m = float(d.mean())
    return Estimate(m, m - q * se, m + q * se, level=level, n=n, method="paired-mean", unit=unit,
                    bounds=(-1.0, 1.0), min_n=50)
