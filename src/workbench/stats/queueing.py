"""Staffing a queue: Erlang C waiting probability, agents for a service level, Poisson bands of arrivals.

Numbers in, numbers out; nothing here knows about tickets, data or SQL.
"""

from __future__ import annotations

import math

import numpy as np


def erlang_c_wait_probability(agents: int, load: float) -> float:
    """Probability that an arrival waits (Erlang C) with ``agents`` and offered ``load`` in erlangs.

    Uses the stable Erlang B recursion; 1.0 when agents <= load (the queue grows without bound).
    """
    if agents <= load:
        return 1.0
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return agents * b / (agents - load * (1 - b))


def agents_needed(arrivals_per_hour: float, handle_minutes: float, target_minutes: float,
                  service_level: float = 0.8) -> int:
    """Fewest agents so that ``service_level`` of arrivals are answered within ``target_minutes`` (Erlang C).

    Service level = 1 − P(wait) · exp(−(N − A) · target / handle time), A = arrivals × handle time.
    0 agents when no arrivals are expected.
    """
    if not arrivals_per_hour or arrivals_per_hour <= 0 or not np.isfinite(arrivals_per_hour):
        return 0
    load = arrivals_per_hour * handle_minutes / 60.0
    n = max(1, math.floor(load) + 1)
    while True:
        sl = 1 - erlang_c_wait_probability(n, load) * math.exp(-(n - load) * target_minutes / handle_minutes)
        if sl >= service_level:
            return n
        n += 1


def poisson_band(rate: np.ndarray, level: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """The central ``level`` band of Poisson counts with mean ``rate`` (the upper end never below the mean)."""
    from scipy.stats import poisson

    rate = np.asarray(rate, dtype=float)
    a = (1 - level) / 2
    return poisson.ppf(a, rate), np.maximum(poisson.ppf(1 - a, rate), rate)
