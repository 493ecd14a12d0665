"""Reading an A/B test of conversion: difference, interval, p-value, power and sample size (numbers in).

Two-sided two-proportion z-test (pooled); Newcombe's hybrid score interval for the difference
(from the two Wilson intervals); power and sample size by the normal approximation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from workbench.stats.intervals import wilson_interval
from workbench.stats.result import Estimate


@dataclass
class ABTest:
    """Two variants' conversion compared: difference, interval, p-value and power."""

    visitors_a: int
    conversions_a: int
    visitors_b: int
    conversions_b: int
    rate_a: float
    rate_b: float
    difference: float       # rate_b − rate_a (absolute)
    low: float
    high: float
    lift: float             # rate_b / rate_a − 1
    p_value: float
    power: float            # power to detect the observed difference at this sample size
    needed_per_arm: int     # visitors per variant for 80% power at the observed difference
    enough: bool
    method: str = "ab_ztest_newcombe"
    level: float = 0.95

    @property
    def rate_a_estimate(self) -> Estimate:
        """Variant A's conversion with its Wilson interval."""
        return Estimate.proportion(self.conversions_a, self.visitors_a, self.level, min_n=1)

    @property
    def rate_b_estimate(self) -> Estimate:
        """Variant B's conversion with its Wilson interval."""
        return Estimate.proportion(self.conversions_b, self.visitors_b, self.level, min_n=1)

    @property
    def difference_estimate(self) -> Estimate:
        """B − A in percentage points with the Newcombe interval (unit ``points``)."""
        return Estimate(self.difference, self.low, self.high, self.level, self.visitors_a + self.visitors_b,
                        self.method, "points", bounds=(-1.0, 1.0))


def required_sample(rate: float, lift: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Visitors per variant to detect a relative ``lift`` on a base conversion ``rate`` (two-sided test)."""
    p1, p2 = rate, rate * (1 + lift)
    if not (0 < p1 < 1 and 0 < p2 < 1) or p1 == p2:
        return 0
    za, zb = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)
    pbar = (p1 + p2) / 2
    n = (za * np.sqrt(2 * pbar * (1 - pbar)) + zb * np.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p2 - p1) ** 2
    return int(np.ceil(n))


def ab_test(visitors_a: int, conversions_a: int, visitors_b: int, conversions_b: int,
            alpha: float = 0.05) -> ABTest:
    """Compare variant B with A: difference of conversion rates, its interval, p-value and power."""
    pa, pb = conversions_a / visitors_a, conversions_b / visitors_b
    diff = pb - pa
    la, ha = wilson_interval(conversions_a, visitors_a, 1 - alpha)
    lb, hb = wilson_interval(conversions_b, visitors_b, 1 - alpha)
    la, ha, lb, hb = float(la), float(ha), float(lb), float(hb)
    low = diff - np.sqrt((pb - lb) ** 2 + (ha - pa) ** 2)
    high = diff + np.sqrt((hb - pb) ** 2 + (pa - la) ** 2)
    pool = (conversions_a + conversions_b) / (visitors_a + visitors_b)
    se0 = np.sqrt(pool * (1 - pool) * (1 / visitors_a + 1 / visitors_b))
    p_value = float(2 * sps.norm.sf(abs(diff) / se0)) if se0 > 0 else float("nan")
    se1 = np.sqrt(pa * (1 - pa) / visitors_a + pb * (1 - pb) / visitors_b)
    za = sps.norm.ppf(1 - alpha / 2)
    power = float(sps.norm.cdf(abs(diff) / se1 - za)) if se1 > 0 else float("nan")
    needed = required_sample(pa, diff / pa if pa else 0.0, alpha) if pa else 0
    return ABTest(visitors_a, conversions_a, visitors_b, conversions_b, pa, pb, diff, float(low), float(high),
                  pb / pa - 1 if pa else float("nan"), p_value, power, needed,
                  bool(min(visitors_a, visitors_b) >= needed > 0), level=1 - alpha)


def sample_size_table(rate: float, lifts: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2)) -> pd.DataFrame:
    """Visitors per variant needed to detect each relative lift on a base ``rate`` (80% power, alpha 0.05)."""
    return pd.DataFrame({"lift": list(lifts), "visitors_per_arm": [required_sample(rate, x) for x in lifts]})
