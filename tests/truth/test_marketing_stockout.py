"""Recovery of the marketing response (adstock decay, marginal ROAS) and the stock-out lost units on the
generated shops of this folder, with the checks of ``benchmarks/truth.py`` (issue 13).

Tolerance: at least the 0.1% quantile of Binomial(n, 0.95) of the n cases covered (see
``test_recovery.py``). The response fit takes about 4 s a shop and the stock-out estimate about 5 s,
so both are marked slow. Over-coverage cannot be told from luck on 30 cases (30/30 happens in 21% of
runs of honest intervals); the sweep prints coverage and sd/se for that.
"""

from __future__ import annotations

import math

import pytest
from test_recovery import _assert_covers


@pytest.mark.slow
def test_decay_and_marginal_roas_intervals_cover_and_stay_feasible(outcomes):
    o = outcomes("marketing")
    for effect in ("adstock decay", "marginal ROAS"):
        _assert_covers(o, effect, min_cases=5 * 6)
    for c in (c for x in o for c in x.cases):
        assert c.low <= c.estimate <= c.high, c  # each interval holds its own point
        if c.effect == "adstock decay":
            assert 0 < c.low and c.high < 1, c
        else:
            assert 0 <= c.low and math.isfinite(c.high), c


@pytest.mark.slow
def test_stockout_lost_units_intervals_cover(outcomes):
    o = outcomes("stockouts")
    _assert_covers(o, "stock-out lost units", min_cases=5 * 3)
    assert not any(x.counts.get("stock-out not found") for x in o)
    assert all(c.low >= 0 for x in o for c in x.cases)
