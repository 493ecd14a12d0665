"""Exact additive splits of a change in a product of factors (log-mean Divisia index, LMDI)."""

from __future__ import annotations

import math


def lmdi(current: dict[str, float], previous: dict[str, float], total_now: float, total_before: float) -> dict:
    """Additive log-mean Divisia split of ``total_now - total_before`` over multiplicative factors.

    ``current``/``previous`` map factor → value with total = product of factors. Returns factor →
    contribution (in the total's units); the contributions add up to the change exactly. NaN where
    a value is zero or missing (Ang, 2005, *Energy Policy* 33: 867–871).
    """
    delta = total_now - total_before
    if total_now <= 0 or total_before <= 0:
        return {k: math.nan for k in current}
    weight = delta / math.log(total_now / total_before) if total_now != total_before else total_now
    return {k: float(weight * math.log(current[k] / previous[k])) if current[k] > 0 and previous[k] > 0
            else math.nan for k in current}
