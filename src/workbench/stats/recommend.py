"""Offline evaluation of a recommender against a baseline on the same customers: hit rates and their paired difference."""

from __future__ import annotations

import math

from workbench.stats.result import Estimate


def paired_difference(only_a: int, only_b: int, n: int, level: float = 0.95) -> Estimate:
    """The difference of two hit rates measured on the same ``n`` customers, (b − c)/n, with its paired
    (McNemar-type) normal interval; ``only_a`` (``only_b``) customers were hit by a and not b (b and not a).
    A difference of two shares lies in [−1, 1]; its unit is ``points``."""
    from scipy.stats import norm

    if n <= 0:
        return Estimate(math.nan, n=0, method="paired-difference", unit="points", bounds=(-1.0, 1.0))
    b, c = float(only_a), float(only_b)
    diff = (b - c) / n
    se = math.sqrt(max(b + c - (b - c) ** 2 / n, 0.0)) / n
    q = float(norm.ppf(0.5 + level / 2))
    return Estimate(diff, diff - q * se, diff + q * se, level=level, n=int(n), method="paired-difference",
                    unit="points", bounds=(-1.0, 1.0), min_n=50)
