"""The forecast's eight-week hold-out on several generated shops (issue 14 on issue 13's terms).

On the committed sample GMV's 95% interval happens to hold on all 56 held-out days; one hold-out of 56
autocorrelated days says little about calibration (on eight scale-1 shops GMV coverage ran from 44/56 to
56/56, 93.5% together). So the 85–99% criterion is checked on the days of every shop together, per
series, and the accuracy (MASE below 1 against seasonal naive) in every shop.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from workbench.sql.filters import Filters
from workbench.stats import forecast as sfc
from workbench.topics import forecast as fc

HOLDOUT = 56


@pytest.fixture(scope="module")
def holdouts(shops) -> dict[str, list[tuple[int, float, float]]]:
    """Per metric, per shop: (days inside the 95% interval, MASE of the model, MASE of seasonal naive)."""
    out: dict[str, list[tuple[int, float, float]]] = {m: [] for m in fc.METRICS}
    for ds, _ in shops:
        last = pd.Timestamp(ds.sql("SELECT max(CAST(ordered_at AS DATE)) FROM orders").iloc[0, 0]).date()
        f = Filters(last - dt.timedelta(days=27), last)
        for metric in fc.METRICS:
            wide = fc.daily_history(ds, f, metric)
            y, dates = wide["total"].to_numpy(float), pd.DatetimeIndex(wide.index)
            train, actual = y[:-HOLDOUT], y[-HOLDOUT:]
            events = fc.known_events(ds, dates[-1])
            frame = sfc.fit_calendar(train, dates[:-HOLDOUT], events).simulate(events, HOLDOUT).frame
            naive = sfc.seasonal_naive(train, dates[:-HOLDOUT], 7, HOLDOUT).frame
            inside = round(sfc.coverage(actual, frame["low_95"], frame["high_95"]) * HOLDOUT)
            out[metric].append((inside, sfc.mase(actual, frame["forecast"], train, 7),
                                sfc.mase(actual, naive["forecast"], train, 7)))
    return out


@pytest.mark.parametrize("metric", fc.METRICS)
def test_holdout_coverage_across_shops_is_near_nominal(holdouts, metric):
    rows = holdouts[metric]
    inside, days = sum(r[0] for r in rows), HOLDOUT * len(rows)
    assert 0.85 <= inside / days <= 0.99, f"{metric}: {inside}/{days} days inside the 95% interval"


@pytest.mark.parametrize("metric", fc.METRICS)
def test_holdout_beats_seasonal_naive_in_every_shop(holdouts, metric):
    for _, m_model, m_naive in holdouts[metric]:
        assert m_model < 1 and m_model < m_naive
