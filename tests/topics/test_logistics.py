"""Logistics: the planted late carrier and the cost of lateness are recovered from the sample shop."""

from __future__ import annotations

import datetime as dt

import pytest

import workbench
from workbench.errors import EmptyPeriodError
from workbench.sql.common import Filters
from workbench.topics import logistics as lg

ALL = Filters(dt.date(2024, 1, 1), dt.date(2025, 12, 31))




@pytest.fixture(scope="module")
def lateness_frame(ds):
    return lg.order_lateness_frame(ds, 365)


def test_on_time_rates_contain_the_planted_rates(ds, truth):
    planted = truth["late_carrier"]
    carriers = planted["late_probability"]
    # outside the Spring Festival slowdowns the chance of being late is the carrier's own; one 95% family
    table = lg.on_time_by(ds, ALL, "carrier", exclude=planted["spring_festival_slowdowns"],
                          level=1 - 0.05 / len(carriers))
    assert set(table["carrier"]) == set(carriers)
    for row in table.itertuples():
        true_rate = 1 - carriers[row.carrier]
        assert row.on_time_rate_low <= true_rate <= row.on_time_rate_high, row.carrier
    assert table.iloc[0]["carrier"] == planted["carrier"]  # sorted worst first


def test_scorecard_ranks_the_planted_carrier_last(ds, truth):
    card = lg.carrier_scorecard(ds, ALL)
    assert card.worst == truth["late_carrier"]["carrier"]
    assert card.worst_clearly_last
    assert list(card.table["score_rank"]) == list(range(1, len(card.table) + 1))


def test_rating_drop_per_late_day_contains_the_truth(lateness_frame, truth):
    effect = lg.rating_drop_per_late_day(lateness_frame)
    planted = truth["delay_effect"]["rating_per_late_day"]
    assert effect.low <= planted <= effect.high
    assert effect.high - effect.low < 0.1
    # the plain regression with controls agrees in sign and is smaller (the 1-star floor)
    ols = lg.lateness_effect_on_rating(None, "late_days_capped", frame=lateness_frame)
    assert ols.high < 0 and ols.estimate > effect.estimate


def test_late_delivery_lowers_the_odds_of_buying_again(lateness_frame, truth):
    effect = lg.lateness_effect_on_repeat(None, 365, frame=lateness_frame, odds_ratio=True)
    assert effect.low <= truth["delay_effect"]["repeat_odds_ratio_if_late"] <= effect.high
    assert effect.high < 1
    lpm = lg.lateness_effect_on_repeat(None, 365, frame=lateness_frame)
    assert lpm.high < 0


def test_returns_and_distributions_are_consistent(ds):
    f = Filters(dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    by_channel = lg.returns_by(ds, f, "channel")
    assert (by_channel["returned_orders"] <= by_channel["orders"]).all()
    assert ((by_channel["return_rate_low"] <= by_channel["return_rate"])
            & (by_channel["return_rate"] <= by_channel["return_rate_high"])).all()
    dist = lg.delivery_time_distribution(ds, f)
    assert dist.groupby("carrier")["share"].sum().round(6).eq(1).all()
    mix = lg.outcome_mix(ds, f)
    assert set(mix["outcome"]) <= {"on_time", "late", "lost", "damaged", "in_transit"}


def test_an_empty_period_is_said_not_crashed(ds):
    empty = Filters(dt.date(2030, 1, 1), dt.date(2030, 1, 31))
    assert lg.on_time_by(ds, empty).empty
    assert lg.delivery_time_distribution(ds, empty).empty
    with pytest.raises(EmptyPeriodError):
        lg.carrier_scorecard(ds, empty)


def test_orders_alone_lack_what_the_sections_need(tiny_shop):
    small = workbench.load(tiny_shop)
    assert "shipments" in small.missing(lg.NEEDS)
    assert small.missing(lg.NEEDS_RETURNS)
    import pandas as pd

    tiny = pd.DataFrame({"rating": [5.0, 4.0], "late": [0, 1]})
    assert not lg._fit_effect(tiny, "rating", "late", ()).ok


# ----- one definition of the on-time rate; the SQL layer; the page's catalogue keys -------------------

def test_carrier_table_sums_equal_the_on_time_kpi(ds):
    from workbench.sql import metrics
    from workbench.topics.kpi import kpi

    f = Filters(dt.date(2025, 10, 1), dt.date(2025, 12, 31), compare_start=dt.date(2025, 7, 2),
                compare_end=dt.date(2025, 9, 30))
    for channels in ((), ("tmall", "jd")):
        g = Filters(f.start, f.end, channels, compare_start=f.compare_start, compare_end=f.compare_end)
        table = lg.on_time_by(ds, g, "carrier")
        whole = metrics.period(ds, g, "on_time_rate")
        assert table["on_time"].sum() == whole["num"]
        assert table["delivered"].sum() == whole["den"]
        k = kpi(ds, g, "on_time_rate")
        assert k.value.estimate == pytest.approx(table["on_time"].sum() / table["delivered"].sum())
        for by in ("warehouse", "region"):
            other = lg.on_time_by(ds, g, by)
            assert other["on_time"].sum() == whole["num"] and other["delivered"].sum() == whole["den"]


def test_sql_binds_values_and_checks_identifiers(ds):
    from workbench.errors import ParameterError
    from workbench.sql import logistics as sql

    odd = Filters(dt.date(2025, 10, 1), dt.date(2025, 12, 31), channels=("it's; DROP TABLE orders",))
    assert sql.shipments_by(ds, odd, "carrier").empty
    assert sql.outcome_counts(ds, odd).empty and sql.returns_by_channel(ds, odd).empty
    assert sql.return_reasons(ds, odd).empty and sql.returns_by_category(ds, odd).empty
    with pytest.raises(ParameterError):
        sql.shipments_by(ds, ALL, "carrier; DROP TABLE shipments")
    with pytest.raises(ParameterError):
        sql.on_time_by_period(ds, ALL, "carrier", "fortnight")
    weekly = lg.daily_on_time(ds, Filters(dt.date(2025, 12, 1), dt.date(2025, 12, 31)))
    shown = weekly.dropna(subset=["on_time_rate"])
    assert len(shown) and (shown["on_time_rate_low"] <= shown["on_time_rate_high"]).all()


def test_results_carry_estimates(ds, lateness_frame):
    f = Filters(dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    card = lg.carrier_scorecard(ds, f)
    assert card.worst_rate.method == "wilson-clustered" and card.worst_rate.n > 30
    assert card.worst_rate.low <= card.worst_rate.estimate <= card.worst_rate.high
    p = lg.parcels(lg.on_time_by(ds, f))
    assert 0 <= p.lost_damaged.low <= p.lost_damaged.estimate <= p.lost_damaged.high <= 1
    s = lg.returns_summary(lg.returns_by(ds, f), lg.return_reasons(ds, f))
    assert s.rate.ok and s.top_reason is not None
    rep = lg.lateness_effect_on_repeat(None, 365, frame=lateness_frame)
    assert rep.value.unit == "points" and rep.value.method == "ols-hc1" and rep.value.level == 0.95


def test_the_page_uses_only_catalogue_keys_that_exist():
    from testkit import missing_keys
    from testkit import notebook_keys as keys

    assert "logistics.title.on_time_by_region" in keys("06_logistics")

    assert missing_keys("06_logistics") == []


# ----- issue 13: the page's intervals cover what they say, on several generated shops ---------------
def _all_days_truth(ds, planted: dict, carrier_rows) -> dict:
    """Planted on-time probability of each carrier's parcels over all days: 1 − p − extra × slowdown share."""
    import pandas as pd

    from workbench.sql import logistics as q

    daily = q.on_time_by_period(ds, ALL, "carrier", "day")
    slow = pd.Series(False, index=daily.index)
    for a, b in planted["spring_festival_slowdowns"]:
        slow |= daily["period"].between(pd.Timestamp(a), pd.Timestamp(b))
    out = {}
    for carrier in carrier_rows:
        d = daily["carrier"] == carrier
        share = daily.loc[d & slow, "delivered"].sum() / daily.loc[d, "delivered"].sum()
        out[carrier] = 1 - planted["late_probability"][carrier] - planted["extra_late_probability_in_slowdown"] * share
    return out


def test_on_time_intervals_cover_the_planted_rates_on_several_shops():
    """The all-days per-carrier rate the page shows covers its planted estimand (the carrier's late probability
    plus the Spring Festival extra on the share of its parcels ordered in the slowdowns) in ≥ k of n cases,
    k from the binomial bound of an honest 95% interval; and outside the slowdowns it covers 1 − p itself."""
    import json

    from seeded_shops import SEEDS, generated_shop, min_covered

    covered = {"all days": 0, "outside slowdowns": 0}
    cases = 0
    for seed in SEEDS:
        folder = generated_shop(seed)
        shop = workbench.load(folder)
        planted = json.loads((folder / "truth.json").read_text(encoding="utf-8"))["effects"]["late_carrier"]
        table = lg.on_time_by(shop, ALL, "carrier")
        assert (table["on_time_method"] == "wilson-clustered").all()
        assert ((table["on_time_rate_low"] < table["on_time_rate"])
                & (table["on_time_rate"] < table["on_time_rate_high"])).all()
        truth = _all_days_truth(shop, planted, table["carrier"])
        covered["all days"] += int(sum(r.on_time_rate_low <= truth[r.carrier] <= r.on_time_rate_high
                                       for r in table.itertuples()))
        outside = lg.on_time_by(shop, ALL, "carrier", exclude=planted["spring_festival_slowdowns"])
        covered["outside slowdowns"] += int(sum(
            r.on_time_rate_low <= 1 - planted["late_probability"][r.carrier] <= r.on_time_rate_high
            for r in outside.itertuples()))
        cases += len(table)
        assert table.iloc[0]["carrier"] == planted["carrier"]
    need = min_covered(cases)
    assert covered["all days"] >= need, (covered, cases, need)
    assert covered["outside slowdowns"] >= need, (covered, cases, need)
