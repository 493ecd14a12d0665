"""Behaviour segments on arrays: k-means on standardised features and a marketer's name for each centroid."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Segment keys and how well a centroid fits each (centroid in standardised features: recency, orders,
#: GMV, discount share, categories, tenure; higher score = better fit). Their words are ``label.<key>``.
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
    """A distinct name key for each centroid: the assignment of :data:`SEGMENT_NAMES` to centroids that
    maximises the summed fit (Hungarian algorithm); beyond eight segments keys get a number."""
    from scipy.optimize import linear_sum_assignment

    names = list(SEGMENT_NAMES)
    weights = np.array([SEGMENT_NAMES[n] for n in names])
    rows, cols = linear_sum_assignment(-(centroids @ weights.T))
    out = [f"segment_{i + 1}" for i in range(len(centroids))]
    for r, c in zip(rows, cols):
        out[r] = names[c]
    return out


def kmeans(x: np.ndarray, k: int, seed: int = 0, fit_size: int = 50_000) -> tuple[np.ndarray, np.ndarray]:
    """k-means (scipy ``kmeans2``, k-means++) on the standardised columns of ``x``, centroids fitted on at
    most ``fit_size`` rows; returns (centroids in standardised units, the nearest centroid of every row)."""
    from scipy.cluster.vq import kmeans2

    x = np.asarray(x, dtype=float)
    mu, sd = x.mean(axis=0), x.std(axis=0)
    z = (x - mu) / np.where(sd > 0, sd, 1)
    rng = np.random.default_rng(seed)
    rows = z if len(z) <= fit_size else z[rng.choice(len(z), fit_size, replace=False)]
    centroids, _ = kmeans2(rows, k, minit="++", seed=seed)
    label = np.argmin(((z[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2), axis=1)
    return centroids, label


def segment_count(n: int, k: int, min_size: int) -> int:
    """How many segments ``n`` customers support: at most ``k``, each with ``min_size`` customers on average."""
    return int(max(0, min(k, n // max(min_size, 1))))


__all__: Sequence[str] = ("SEGMENT_NAMES", "kmeans", "name_segments", "segment_count")
