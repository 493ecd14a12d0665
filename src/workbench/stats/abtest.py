"""Reading an A/B test of conversion: difference, interval, p-value, detectable effect and sample size.

Two-sided two-proportion z-test (pooled); Newcombe's hybrid score interval for the difference
(from the two Wilson intervals); the detectable difference and the sample size by the normal
approximation. No "observed power": power computed at the observed difference is a function of the
p-value and says nothing more (Hoenig and Heisey 2001); what a reader can use is the difference the
test, at the visitors it had, would detect with 80% power.
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
    """Two variants' conversion compared: difference, interval, p-value and the detectable difference."""

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
    detectable_difference: float  # smallest B − A (absolute) these visitors detect with 80% power
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
    def detectable_estimate(self) -> Estimate:
        """The detectable difference (percentage points, no interval: it is a design figure)."""
        return Estimate(self.detectable_difference, n=self.visitors_a + self.visitors_b, method="mde_normal",
                        unit="points", bounds=(-1.0, 1.0), min_n=1, level=self.level)

    @property
    def difference_estimate(self) -> Estimate:
        """B − A in percentage points with the Newcombe interval (unit ``points``)."""
        return Estimate(self.difference, self.low, self.high, self.level, self.visitors_a + self.visitors_b,
                        self.method, "points", bounds=(-1.0, 1.0))


def required_sample(rate: float, lift: float, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Visitors per variant to detect a relative ``lift`` on a base conversion ``rate`` (two-sided test).

    None when no sample can do it: a base rate of 0 (a relative lift of nothing is nothing), a rate or
    lifted rate outside (0, 1), or no lift; never a stand-in 0.
    """
    p1, p2 = rate, rate * (1 + lift)
    if not (0 < p1 < 1 and 0 < p2 < 1) or p1 == p2:
        return None
    za, zb = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)
    pbar = (p1 + p2) / 2
    n = (za * np.sqrt(2 * pbar * (1 - pbar)) + zb * np.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p2 - p1) ** 2
    return int(np.ceil(n))


def detectable_difference(rate: float, visitors_a: int, visitors_b: int, alpha: float = 0.05,
                          power: float = 0.8) -> float:
    """The smallest rise d of B's conversion over a base ``rate`` that a two-sided test with these
    visitors detects with ``power``: d = z_α/2 · se₀(d) + z_β · se₁(d) (pooled se under no difference,
    unpooled under d), solved by fixed-point iteration. NaN without visitors."""
    if visitors_a <= 0 or visitors_b <= 0 or not 0 <= rate < 1:
        return float("nan")
    za, zb = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)
    inv = 1 / visitors_a + 1 / visitors_b
    d = (za + zb) * np.sqrt(max(rate * (1 - rate), 1e-6) * inv)
    for _ in range(100):
        p2 = min(rate + d, 1 - 1e-12)
        pbar = (rate * visitors_a + p2 * visitors_b) / (visitors_a + visitors_b)
        new = za * np.sqrt(pbar * (1 - pbar) * inv) + zb * np.sqrt(rate * (1 - rate) / visitors_a
                                                                    + p2 * (1 - p2) / visitors_b)
        if abs(new - d) < 1e-12:
            break
        d = new
    return float(min(d, 1 - rate))


def ab_test(visitors_a: int, conversions_a: int, visitors_b: int, conversions_b: int,
            alpha: float = 0.05) -> ABTest:
    """Compare variant B with A: difference of conversion rates, its interval, p-value and the difference
    these visitors detect with 80% power. Raises ``ValueError`` when a variant has no visitors."""
    if visitors_a <= 0 or visitors_b <= 0:
        raise ValueError("an A/B test needs visitors in both variants")
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
    mde = detectable_difference(pa, visitors_a, visitors_b, alpha)
    return ABTest(visitors_a, conversions_a, visitors_b, conversions_b, pa, pb, diff, float(low), float(high),
                  pb / pa - 1 if pa else float("nan"), p_value, mde, level=1 - alpha)


def sample_size_table(rate: float, lifts: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2)) -> pd.DataFrame:
    """Visitors per variant needed to detect each relative lift on a base ``rate`` (80% power, alpha 0.05);
    ``visitors_per_arm`` is missing (NaN) where no sample can detect it (see :func:`required_sample`)."""
    return pd.DataFrame({"lift": list(lifts), "visitors_per_arm": [required_sample(rate, x) for x in lifts]})
