"""Social commerce: the planted best and worst KOL are found with intervals holding the planted ROIs."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import workbench
from workbench.errors import EmptyPeriodError
from workbench.sql import social as social_sql
from workbench.sql.common import Filters
from workbench.stats.matching import matched_difference
from workbench.topics import social

ALL = Filters(dt.date(2024, 1, 1), dt.date(2025, 12, 31))




@pytest.fixture(scope="module")
def ranking(ds):
    return social.kol_ranking(ds, ALL)


def test_ranking_finds_the_planted_best_and_worst_kol(ranking, truth):
    assert ranking.best == truth["kol_roi"]["best"]
    assert ranking.worst == truth["kol_roi"]["worst"]
    assert ranking.best_clearly_first and ranking.worst_clearly_last
    best = ranking.roi(ranking.best)
    assert best.unit == "ratio" and best.low <= best.estimate <= best.high
    assert (ranking.table["handle"] != ranking.table["kol_id"]).all()  # KOLs are shown by handle


def test_best_and_worst_intervals_hold_the_planted_roi(ranking, truth):
    table = ranking.table.set_index("kol_id")
    for kol in (truth["kol_roi"]["best"], truth["kol_roi"]["worst"]):
        assert table.at[kol, "roi_low"] <= truth["kol_roi"]["roi"][kol] <= table.at[kol, "roi_high"], kol
    # ROI is GMV over fixed fees plus commission
    row = table.iloc[0]
    assert row["roi"] == pytest.approx(row["gmv"] / (row["fee"] + row["commission"]))


def test_livestream_table_and_incrementality(ds):
    f = Filters(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    streams = social.livestream_table(ds, f)
    assert len(streams) > 0 and (streams["orders"] >= 0).all()
    inc = social.incrementality(ds, f)
    assert inc.n_days > 0
    assert inc.during.low <= inc.during.estimate <= inc.during.high
    assert inc.after.low <= inc.after.estimate <= inc.after.high


def test_matched_difference_recovers_a_known_gap():
    import pandas as pd

    strata = pd.DataFrame({"stratum": ["a", "a", "b", "b"], "treated": [1, 0, 1, 0], "n": [100, 300, 50, 50],
                           "y_sum": [60.0, 120.0, 40.0, 30.0], "y_sq": [60.0, 120.0, 40.0, 30.0]})
    md = matched_difference(strata, "repeat", "points")
    # stratum a: 0.6 - 0.4 = 0.2 (weight 2/3); b: 0.8 - 0.6 = 0.2 (weight 1/3)
    assert md.difference.estimate == pytest.approx(0.2)
    assert md.low < 0.2 < md.high and md.n_treated == 150
    assert md.difference.level == 0.95 and md.difference.unit == "points"
    wider = matched_difference(strata, "repeat", "points", level=0.99)
    assert wider.low < md.low and wider.high > md.high


def test_private_traffic_and_referrals_give_intervals(ds):
    res = social.private_traffic_effect(ds)
    rep = res["repeat"]
    assert rep.n_treated > 0 and rep.low <= rep.difference.estimate <= rep.high
    f = Filters(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    try:
        ref = social.referrals(ds, f)
    except EmptyPeriodError:
        return  # the sample may carry no shares
    assert ref.per_referrer.low <= ref.per_referrer.estimate <= ref.per_referrer.high


def test_empty_period_raises_a_clear_error(ds):
    empty = Filters(dt.date(2030, 1, 1), dt.date(2030, 1, 31))
    with pytest.raises(EmptyPeriodError):
        social.kol_ranking(ds, empty)
    with pytest.raises(EmptyPeriodError):
        social.incrementality(ds, empty)


def test_orders_alone_lack_kols(tiny_shop):
    small = workbench.load(tiny_shop)
    assert small.missing(social.NEEDS_KOL) and small.missing(social.NEEDS_STREAM)


def test_sql_binds_values_so_a_quote_in_a_channel_name_is_harmless(ds):
    f = Filters(dt.date(2025, 1, 1), dt.date(2025, 3, 31), channels=("o'brien",))
    assert social_sql.livestreams(ds, f).empty
    assert social_sql.referrers(ds, f).empty
    assert social_sql.valid_orders(ds, f) == 0
    assert social_sql.stream_units(ds, f).empty


def test_the_roi_intervals_do_not_depend_on_the_order_the_engine_returns_rows_in(ds, monkeypatch):
    """Spark returns a statement's rows in another order than DuckDB; the bootstrap must not see it."""
    first = social.kol_ranking(ds, ALL).table
    given = social.sql.stream_units
    monkeypatch.setattr(social.sql, "stream_units", lambda *a, **k: given(*a, **k).iloc[::-1].reset_index(drop=True))
    again = social.kol_ranking(ds, ALL).table
    pd.testing.assert_frame_equal(first, again)
