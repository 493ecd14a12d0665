"""Customer service: the planted slow category is found; Erlang C matches a worked example; gaps are handled."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

import workbench
from testkit import tiny_tables, write_csvs
from workbench.errors import EmptyPeriodError
from workbench.sql import service as service_sql
from workbench.sql.common import Filters
from workbench.stats import queueing
from workbench.topics import service


def test_erlang_c_matches_the_textbook_example() -> None:
    # 10 erlangs offered: P(wait) with 11 agents is 0.682 (Erlang C tables)
    assert queueing.erlang_c_wait_probability(11, 10.0) == pytest.approx(0.6821, abs=1e-3)
    assert queueing.erlang_c_wait_probability(10, 10.0) == 1.0
    # 200 tickets/hour, 3 minutes each, 80% within 20 seconds: 14 agents (13 give 79.6%)
    assert queueing.agents_needed(200, 3.0, 20 / 60, 0.8) == 14
    assert queueing.agents_needed(0, 3.0, 1.0) == 0




@pytest.fixture(scope="module")
def year(ds) -> Filters:
    end = service_sql.last_ticket_day(ds)
    return Filters(start=end - dt.timedelta(days=364), end=end)


def test_planted_slow_category_is_found_with_its_median(ds, truth) -> None:
    planted = truth["slow_support_category"]
    # the planted durations hold over the whole history: estimate from all of it
    first, last = ds.sql("SELECT min(CAST(created_at AS DATE)), max(CAST(created_at AS DATE)) FROM tickets").iloc[0]
    times = service.response_times(ds, Filters(start=first, end=last), "category")
    slow = service.slowest_category(times)
    assert slow.category == planted["category"]
    assert slow.separated
    medians = planted["median_resolution_hours"]
    # the planted median of the slow category lies in the distribution-free 95% interval of the sample median
    assert slow.median.low <= medians[planted["category"]] <= slow.median.high
    assert slow.median.unit == "hours" and slow.median.low <= slow.median.estimate <= slow.median.high
    # and every category's median is recovered to within 20% (open tickets at the data's end are left out)
    res = times[times["measure"] == "resolution_hours"].set_index("category")
    for category, hours in medians.items():
        assert res.loc[category, "p50"] == pytest.approx(hours, rel=0.2), category
    # quantile intervals bracket their estimates everywhere
    ok = times.dropna(subset=["p50_low", "p50_high"])
    assert ((ok["p50_low"] <= ok["p50"]) & (ok["p50"] <= ok["p50_high"])).all()


def test_slow_resolution_drives_low_satisfaction(ds, year) -> None:
    model = service.dissatisfaction_drivers(ds, year)
    res = model.odds_ratios.set_index("term").loc["log2_resolution_hours"]
    assert res["low"] > 1          # longer resolution raises the odds of a 1-2 score
    assert model.n > 1000


def test_service_levels_and_staffing_are_sane(ds, year) -> None:
    lv = service.service_levels(ds, year, "channel")
    assert (lv["sla_rate_low"] <= lv["sla_rate"]).all() and (lv["sla_rate"] <= lv["sla_rate_high"]).all()
    plan = service.staffing(ds, year)
    assert len(plan.plan) == 24
    busiest = plan.plan.sort_values("tickets_per_hour").iloc[-1]
    quietest = plan.plan.sort_values("tickets_per_hour").iloc[0]
    assert busiest["agents"] >= quietest["agents"]
    assert (plan.plan["agents_high"] >= plan.plan["agents"]).all()


def test_missing_and_empty_tickets_are_reported(tmp_path: Path) -> None:
    tables = tiny_tables()
    tiny = workbench.load(write_csvs(tmp_path / "no_tickets", tables))
    assert tiny.missing(service.NEEDS) == ["tickets"]
    tables["tickets"] = pd.DataFrame({
        "ticket_id": ["t1", "t2"], "channel": ["tmall", "jd"], "category": ["delivery", "invoice"],
        "created_at": ["2025-01-02 10:00:00", "2025-01-03 11:00:00"],
        "first_response_at": ["2025-01-02 10:30:00", ""], "resolved_at": ["2025-01-02 20:00:00", ""],
        "satisfaction": [5, None], "escalated": [False, False]})
    small = workbench.load(write_csvs(tmp_path / "two_tickets", tables))
    f = Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 6))
    times = service.response_times(small, f)
    assert set(times["category"]) == {"delivery", "invoice"}
    with pytest.raises(EmptyPeriodError):
        service.dissatisfaction_drivers(small, f)
    with pytest.raises(EmptyPeriodError):
        service.staffing(small, Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 1)))
    assert service.volume(small, Filters(start=dt.date(2020, 1, 1), end=dt.date(2020, 1, 2))).empty


def test_service_queries_bind_their_values(ds, year) -> None:
    """A channel name with a quote is a value like any other; grouping columns come from a fixed list."""
    quoted = Filters(start=year.start, end=year.end, channels=("o'brien",))
    assert service_sql.volume(ds, quoted).empty
    assert service_sql.service_counts(ds, quoted).empty
    assert service_sql.valid_orders(ds, quoted) == 0
    both = Filters(start=year.start, end=year.end, channels=("tmall", "o'brien"))
    assert service_sql.volume(ds, both, "channel")["channel"].tolist() == ["tmall"]
    with pytest.raises(workbench.errors.ParameterError):
        service_sql.volume(ds, year, "category; DROP TABLE tickets")
    q90 = service.response_times(ds, year, "category", level=0.9)
    q99 = service.response_times(ds, year, "category", level=0.99)
    q90, q99 = (q[q["measure"] == "resolution_hours"].set_index("category") for q in (q90, q99))
    q90 = q90.reindex(q99.index)
    assert ((q99["p50_high"] - q99["p50_low"]) >= (q90["p50_high"] - q90["p50_low"])).all()


def test_results_are_estimates_inside_their_feasible_range(ds, year) -> None:
    overall = service.overall_levels(service.service_levels(ds, year), level=0.9)
    for est in overall.values():
        assert est.method == "wilson" and est.level == 0.9 and 0 <= est.low <= est.estimate <= est.high <= 1
    model = service.dissatisfaction_drivers(ds, year)
    res = model.estimate("log2_resolution_hours")
    assert res.unit == "ratio" and res.n == model.n and 0 < res.low <= res.estimate <= res.high
    assert model.strongest_group() in set(model.odds_ratios["term"])
    summary = service.volume_summary(service.volume(ds, year))
    assert summary.tickets > 0 and summary.top_share.low <= summary.top_share.estimate <= summary.top_share.high


def test_grouped_logit_takes_any_category_value() -> None:
    """Factor values are data, not formula text: a quote in a value does not break the fit."""
    from workbench.stats.odds import grouped_logit

    frame = pd.DataFrame({"category": ["it's", "plain", "it's", "plain"], "x": [0.0, 0.0, 1.0, 1.0],
                          "low": [30, 10, 45, 20], "not_low": [70, 90, 55, 80]})
    table = grouped_logit(frame, "low", "not_low", {"category": "plain"}, ["x"]).set_index("term")
    assert table.loc["it's", "odds_ratio"] > 1 and table.loc["it's", "kind"] == "category"
    assert table.loc["x", "kind"] == "covariate" and table.loc["x", "low"] < table.loc["x", "high"]
    assert table["estimable"].all()
    # a group without a single low score separates the outcome: its odds ratio is flagged, not drawn
    separated = pd.concat([frame, pd.DataFrame({"category": ["never", "never"], "x": [0.0, 1.0], "low": [0, 0],
                                                "not_low": [50, 60]})], ignore_index=True)
    flags = grouped_logit(separated, "low", "not_low", {"category": "plain"}, ["x"]).set_index("term")["estimable"]
    assert not flags["never"] and flags["it's"] and flags["x"]


def test_the_page_names_only_catalogue_messages() -> None:
    from testkit import missing_keys, notebook_keys

    assert {"section.volume", "finding.first_response", "note.targets"} <= {k.split(".", 1)[1]
            for k in notebook_keys("05_customer_service")}
    assert missing_keys("05_customer_service") == []


# ----- issue 13: exact percentile intervals and "too few" below their minimum n ---------------------
def test_order_statistic_intervals_are_exact_at_small_n() -> None:
    """Simulated lognormal resolution times: the p90 interval covers the true p90 in ≥ 95% of samples at every
    n where it is given (the normal-approximation ranks covered 40% at n = 5), and is withheld below its
    minimum n (36 at 95%), not made up."""
    import numpy as np
    from scipy.stats import binom

    from seeded_shops import min_covered
    from workbench.stats.quantiles import min_n_for_quantile, order_statistic_ranks, quantile_estimate

    assert min_n_for_quantile(0.9, 0.95) == 36 and min_n_for_quantile(0.5, 0.95) == 6
    rng = np.random.default_rng(5)
    true_p90 = 40 * np.exp(0.8 * 1.2815515655446004)
    for n in (3, 5, 10, 35):
        est = quantile_estimate(rng.lognormal(np.log(40), 0.8, n), 0.9)
        assert est.too_few and not est.ok and "n = " in est.value_text("en")
    runs = 400
    for n in (36, 60, 200):
        lo_r, hi_r = order_statistic_ranks(n, 0.9)
        exact = binom.cdf(hi_r - 1, n, 0.9) - binom.cdf(lo_r - 1, n, 0.9)
        assert exact >= 0.95
        covered = 0
        for _ in range(runs):
            est = quantile_estimate(rng.lognormal(np.log(40), 0.8, n), 0.9, unit="hours")
            covered += est.low <= true_p90 <= est.high
        assert covered >= min_covered(runs), (n, covered)


def test_small_categories_read_too_few_not_an_interval(ds) -> None:
    week = Filters(start=dt.date(2025, 12, 25), end=dt.date(2025, 12, 31))
    times = service.response_times(ds, week, "category")
    small = times[times["n"] < times["p90_min_n"]]
    assert len(small), "a week of the sample has categories with fewer than 36 tickets"
    assert small["p90"].isna().all() and small["p90_low"].isna().all()
    big = times[times["n"] >= times["p90_min_n"]]
    assert ((big["p90_low"] <= big["p90"]) & (big["p90"] <= big["p90_high"])).all()
