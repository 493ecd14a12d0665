"""The forecast page's topic on the sample shop: planted seasonality and campaigns forecast in a hold-out,
the calendar of known events, and replenishment numbers that follow from the forecast and the parameters."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from workbench.sql.filters import Filters
from workbench.stats import forecast as sfc
from workbench.topics import forecast as fc

HOLDOUT = 56  # the last eight weeks: 2025-11-06 to 2025-12-31, the end of Double 11 and all of Double 12


@pytest.fixture(scope="module")
def last_day(ds) -> dt.date:
    return pd.Timestamp(ds.sql("SELECT max(CAST(ordered_at AS DATE)) FROM orders").iloc[0, 0]).date()


COVERED: dict[str, tuple[int, int]] = {}


@pytest.mark.parametrize("metric", fc.METRICS)
def test_holdout_of_eight_weeks_with_campaigns_beats_seasonal_naive(ds, last_day, metric):
    f = Filters(last_day - dt.timedelta(days=27), last_day)
    wide = fc.daily_history(ds, f, metric)
    y, dates = wide["total"].to_numpy(float), pd.DatetimeIndex(wide.index)
    train, actual = y[:-HOLDOUT], y[-HOLDOUT:]
    events = fc.known_events(ds, dates[-1])
    held = fc.events_in(events, dates[-HOLDOUT], dates[-1])
    assert {"double_11", "double_12"} <= set(held["kind"])  # campaigns are in the hold-out
    model = sfc.fit_calendar(train, dates[:-HOLDOUT], events)
    forecast = model.simulate(events, HOLDOUT).frame
    naive = sfc.seasonal_naive(train, dates[:-HOLDOUT], 7, HOLDOUT).frame
    m_model = sfc.mase(actual, forecast["forecast"], train, 7)
    m_naive = sfc.mase(actual, naive["forecast"], train, 7)
    assert m_model < 1 and m_model < m_naive
    cov = sfc.coverage(actual, forecast["low_95"], forecast["high_95"])
    COVERED[metric] = (round(cov * HOLDOUT), HOLDOUT)
    assert 0.85 <= cov <= 1.0
    # forecast as a campaign: the last day of Double 11 well above the days after it
    d11 = forecast.set_index("date")["forecast"]
    assert d11[pd.Timestamp("2025-11-11")] > 2.5 * d11[pd.Timestamp("2025-11-13"):pd.Timestamp("2025-11-30")].median()


def test_holdout_coverage_of_the_95_intervals_is_near_nominal():
    # the daily actuals of the three series together (3 × 56 days); on this hold-out GMV alone happens to
    # fall inside on all 56 days (its largest error is ~0.9 of the half-width), orders and units miss a few
    if len(COVERED) < len(fc.METRICS):
        pytest.skip("runs after the hold-out test of every metric")
    inside, days = sum(k for k, _ in COVERED.values()), sum(n for _, n in COVERED.values())
    assert 0.85 <= inside / days <= 0.99


def test_forecast_result_carries_backtest_and_prediction_estimates(ds, last_day):
    f = Filters(last_day - dt.timedelta(days=27), last_day)
    r = fc.forecast(ds, f, "orders", freq="W")
    assert r.method == "calendar" and r.reason == "best_backtest" and r.beats_naive
    assert r.total.kind == "prediction" and r.total.low < r.total.estimate < r.total.high
    assert r.total_80.low > r.total.low and r.total_80.high < r.total.high
    assert r.backtest.origins == 3 and 0.85 <= r.backtest.coverage_95 <= 1.0
    assert r.forecast["date"].iloc[0] == pd.Timestamp("2025-12-29")  # weeks start on Monday
    assert r.forecast["date"].dt.day_of_week.eq(0).all()
    assert r.forecast["forecast"].sum() == pytest.approx(r.total.estimate, rel=0.02)


def test_known_events_project_recurring_campaigns_and_the_festival(ds):
    ev = fc.known_events(ds, pd.Timestamp("2026-12-31"))
    projected = ev[ev["source"] == "projected"].set_index("kind")
    assert projected.loc["618", "start"] == pd.Timestamp("2026-06-01")
    assert projected.loc["double_11", "end"] == pd.Timestamp("2026-11-11")
    # the Spring Festival sale keeps its distance to the festival: 2025-01-20 was 9 days before 2025-01-29
    assert projected.loc["chinese_new_year", "start"] == pd.Timestamp("2026-02-17") - pd.Timedelta(days=9)
    assert projected.loc["618", "name"].startswith("2026")
    holiday = ev[(ev["source"] == "holiday") & (ev["start"].dt.year == 2026)]
    assert holiday["start"].iloc[0] == pd.Timestamp("2026-02-15")
    assert not ((ev["source"] == "projected") & (ev["start"] < pd.Timestamp("2026-01-01"))).any()


def test_replenishment_follows_from_the_forecast_and_the_parameters(ds, last_day):
    f = Filters(last_day - dt.timedelta(days=27), last_day)
    demand = fc.product_demand(ds, f)
    table = fc.replenishment(ds, f, lead_time_days=10, service_level=0.9)
    assert len(table) == len(demand.products) and table["stock_on_hand"].notna().all()
    row = table.iloc[0]
    i = int(np.flatnonzero(demand.products["product_id"] == row["product_id"])[0])
    sigma = demand.products["sigma"].iloc[i] * float(np.mean(demand.index[:10]))
    assert row["lead_time_demand"] == pytest.approx(demand.daily[i, :10].sum())
    assert row["safety_stock"] == pytest.approx(norm.ppf(0.9) * sigma * math.sqrt(10))
    assert row["reorder_point"] == pytest.approx(row["lead_time_demand"] + row["safety_stock"])
    assert row["days_of_cover"] == pytest.approx(row["stock_on_hand"] / demand.daily[i].mean())
    assert row["reorder_now"] == (row["stock_on_hand"] + row["inbound_units"] <= row["reorder_point"])
    assert table["days_of_cover"].is_monotonic_increasing
    assert (table["cover_low"] <= table["days_of_cover"]).all() and (table["days_of_cover"] <= table["cover_high"]).all()
    assert set(table["method"]) <= {"ses", "sba", "tsb"} and (table["method"] != "ses").any()
    higher = fc.replenishment(ds, f, lead_time_days=10, service_level=0.99)
    assert (higher.set_index("product_id")["safety_stock"] >= table.set_index("product_id")["safety_stock"]).all()


def test_campaign_units_lift_the_campaign_days(ds):
    f = Filters(dt.date(2025, 9, 1), dt.date(2025, 9, 15))
    camp = fc.campaign_units(ds, f, dt.date(2025, 10, 20), dt.date(2025, 11, 11))
    calm = fc.campaign_units(ds, f, dt.date(2025, 9, 20), dt.date(2025, 9, 29))
    per_day_camp = camp["units"].sum() / 23
    per_day_calm = calm["units"].sum() / 10
    assert per_day_camp > 1.3 * per_day_calm
    assert (camp["units_to_stock"] >= camp["units"]).all()


def test_window_forecast_of_a_projected_campaign(ds, last_day):
    f = Filters(last_day - dt.timedelta(days=27), last_day)
    days, total = fc.window_forecast(ds, f, dt.date(2026, 2, 8), dt.date(2026, 2, 14), "orders")
    assert len(days) == 7 and days["date"].iloc[0] == pd.Timestamp("2026-02-08")
    assert total.kind == "prediction" and total.low < total.estimate < total.high
    calm, _ = fc.window_forecast(ds, f, dt.date(2026, 1, 5), dt.date(2026, 1, 11), "orders")
    assert days["forecast"].mean() > 1.2 * calm["forecast"].mean()  # the Spring Festival sale, projected


def test_short_history_is_refused(ds):
    with pytest.raises(Exception, match="at least 56"):
        fc.forecast_values(np.ones(30), pd.date_range("2025-01-01", periods=30), fc.known_events(ds, "2025-03-01"),
                           "orders")


def test_campaign_plan_is_the_forecast_of_the_same_model(ds):
    """04's plan for the next campaign: GMV and orders are the calendar model's window forecast with the
    campaign in its calendar, units the products' campaign forecast; nothing of its own."""
    nxt = fc.next_event(ds)
    assert nxt is not None and nxt["kind"] == "chinese_new_year" and nxt["source"] == "projected"
    assert nxt["start"] == pd.Timestamp("2026-02-17") - pd.Timedelta(days=9)  # as known_events projects it
    plan = fc.campaign_plan(ds)
    last = dt.date(2025, 12, 31)
    f = Filters(last, last, (), compare="none")
    events = fc.known_events(ds, plan.end_date)
    gmv, total = fc.window_forecast(ds, f, plan.start_date.date(), plan.end_date.date(), "gmv", events=events)
    assert np.allclose(plan.daily["gmv"], gmv["forecast"]) and np.allclose(plan.daily["gmv_high"], gmv["high_95"])
    assert plan.total_gmv.estimate == pytest.approx(total.estimate)
    units = fc.campaign_units(ds, f, plan.start_date.date(), plan.end_date.date(), events=events)
    assert plan.units_needed == pytest.approx(units["units_to_stock"].sum())
    assert plan.daily["units"].sum() == pytest.approx(plan.units_needed)
    d = plan.daily
    assert (d["gmv_low"] <= d["gmv"]).all() and (d["gmv"] <= d["gmv_high"]).all()
    assert (d["orders_low"] <= d["orders"]).all() and (d["orders"] <= d["orders_high"]).all()
    assert plan.peak_agents >= 1 and plan.uplift_source == "same_kind" and plan.source == "projected"
    u = plan.planned_uplift
    assert u.low < u.estimate < u.high and u.n == 2  # the 2024 and 2025 Spring Festival sales


def test_campaign_plan_for_double_11_forecasts_a_campaign(ds):
    """A campaign the shop ran twice with a large planted lift: the learnt lift is clearly positive, and the
    plan's days sit far above the same days without the campaign."""
    ev = fc.known_events(ds, pd.Timestamp("2026-12-31"))
    d11 = ev[(ev["kind"] == "double_11") & (ev["source"] == "projected")].iloc[0]
    plan = fc.campaign_plan(ds, d11)
    assert plan.planned_uplift.low > 0.3
    f = Filters(dt.date(2025, 12, 31), dt.date(2025, 12, 31), (), compare="none")
    without = ev[~((ev["kind"] == "double_11") & (ev["start"] == d11["start"]))]
    base, _ = fc.window_forecast(ds, f, plan.start_date.date(), plan.end_date.date(), "gmv", events=without)
    assert plan.daily["gmv"].sum() > (1 + plan.planned_uplift.low) * base["forecast"].sum() * 0.9


def test_campaign_plan_without_a_future_campaign(ds):
    past = pd.Series({"kind": "618", "name": "2025 618", "start": pd.Timestamp("2025-06-01"),
                      "end": pd.Timestamp("2025-06-18")})
    assert fc.campaign_plan(ds, past) is None


@pytest.mark.parametrize("freq", fc.FREQS)
def test_event_names_are_the_kinds_of_the_events_overlapping_each_period(ds, freq):
    events = fc.known_events(ds, pd.Timestamp("2026-12-31"))
    starts = pd.date_range("2024-01-01", "2026-12-31", freq={"D": "D", "W": "W-MON", "M": "MS"}[freq])
    names = fc._event_names(starts, freq, events)
    assert len(names) == len(starts) and any(names)
    for d, name in zip(starts, names):
        last = d if freq == "D" else d + pd.Timedelta(days=6) if freq == "W" else d + pd.offsets.MonthEnd(0)
        hit = fc.events_in(events, d, last)
        assert name == " ".join(dict.fromkeys(hit["kind"].astype(str)))
    assert fc._event_names(starts[:3], freq, events.iloc[:0]) == ["", "", ""]
    assert fc._event_names(pd.DatetimeIndex([]), freq, events) == []


def test_a_forecast_depends_on_the_filters_only_through_their_origin_filters(ds, last_day):
    f = Filters(last_day - dt.timedelta(days=27), last_day, ("tmall", "jd"), compare="previous")
    o = fc.origin_filters(f)
    assert o == fc.origin_filters(Filters(last_day - dt.timedelta(days=90), last_day, ("tmall", "jd"),
                                          compare="last_year"))
    assert (o.end, o.channels) == (f.end, f.channels) and fc.origin_filters(o) == o
    a, b = fc.forecast(ds, f, "orders", horizon_days=28), fc.forecast(ds, o, "orders", horizon_days=28)
    pd.testing.assert_frame_equal(a.forecast, b.forecast)
    assert a.total == b.total and a.method == b.method
    pd.testing.assert_frame_equal(fc.replenishment(ds, f, horizon_days=28), fc.replenishment(ds, o, horizon_days=28))


def test_widen_equals_the_pivot_table_it_replaces():
    """Days × keys from (date, key, value) rows, as pivot_table, reindexed to every day and 0-filled, gives:
    absent pairs and NULL values 0, keys sorted, days from the first row to the end (rows after it dropped)."""
    rng = np.random.default_rng(3)
    days = pd.date_range("2025-01-01", periods=90, freq="D")
    keys = ["tmall", "jd", "douyin", "cross_border", "apparel & shoes"]
    pairs = [(d, k) for d in days for k in keys if rng.random() < 0.6]
    long = pd.DataFrame({"date": [d for d, _ in pairs], "key": [k for _, k in pairs]})
    long["gmv"] = rng.gamma(2.0, 500.0, len(long))
    long.loc[rng.random(len(long)) < 0.05, "gmv"] = np.nan
    long = long.sample(frac=1.0, random_state=1).reset_index(drop=True)  # any row order
    for end in (days[-1], days[-1] + pd.Timedelta(days=10), days[60]):
        expected = long.pivot_table(index="date", columns="key", values="gmv", aggfunc="sum")
        expected = expected.reindex(pd.date_range(expected.index.min(), end, freq="D", name="date")).fillna(0.0)
        pd.testing.assert_frame_equal(fc.widen(long, "gmv", end.date()), expected, check_exact=True)


def test_known_events_kept_equal_the_calendar_made_afresh(ds, last_day):
    until = pd.Timestamp(last_day) + pd.Timedelta(days=56)
    fc._CALENDARS.clear()
    first = fc.known_events(ds, until)
    assert fc._CALENDARS
    first.loc[0, "name"] = "changed by a caller"  # a copy: the kept calendar is not changed
    again = fc.known_events(ds, until)
    fresh = fc._known_events(fc.sql.campaign_spans(ds), until)
    pd.testing.assert_frame_equal(again, fresh, check_exact=True)
    assert len(fc.known_events(ds, until + pd.Timedelta(days=400))) > len(again)  # another day, another calendar


def test_forecast_values_kept_only_for_the_same_series_events_and_arguments(ds, last_day):
    """A forecast kept from before is the one computed afresh; any change of the values, the events (also
    only a name) or the arguments computes it again."""
    wide = fc.daily_history(ds, Filters(last_day, last_day), "orders")
    y, dates = wide["total"].to_numpy(float), pd.DatetimeIndex(wide.index)
    events = fc.known_events(ds, dates[-1] + pd.Timedelta(days=28))
    fc._FORECASTS.clear()
    a = fc.forecast_values(y, dates, events, "orders", 28, "W", origins=2)
    b = fc.forecast_values(y, dates, events, "orders", 28, "W", origins=2)
    assert len(fc._FORECASTS) == 1
    fresh = fc._forecast_values(y, dates, events, "orders", 28, "W", "total", 2)
    for r in (a, b):
        pd.testing.assert_frame_equal(r.forecast, fresh.forecast, check_exact=True)
        pd.testing.assert_frame_equal(r.history, fresh.history, check_exact=True)
        assert (r.total, r.backtest, r.model_backtest, r.method) == (fresh.total, fresh.backtest,
                                                                     fresh.model_backtest, fresh.method)
    b.forecast.loc[0, "forecast"] = -1.0  # a copy per call
    assert fc.forecast_values(y, dates, events, "orders", 28, "W", origins=2).forecast.loc[0, "forecast"] >= 0
    y2 = y.copy()
    y2[-1] += 1.0
    renamed = events.assign(name=events["name"].where(events.index != len(events) - 1, "renamed"))
    variants = [(y2, events, "W", 2), (y, renamed, "W", 2), (y, events, "D", 2), (y, events, "W", 3)]
    for yy, ev, freq, origins in variants:
        got = fc.forecast_values(yy, dates, ev, "orders", 28, freq, origins=origins)
        want = fc._forecast_values(yy, dates, ev, "orders", 28, freq, "total", origins)
        pd.testing.assert_frame_equal(got.forecast, want.forecast, check_exact=True)
        pd.testing.assert_frame_equal(got.events, want.events, check_exact=True)
        assert got.backtest == want.backtest
    assert len(fc._FORECASTS) == 1 + len(variants)
    assert not fc.forecast_values(y2, dates, events, "orders", 28, "W", origins=2).forecast.equals(a.forecast)


def test_product_matrix_equals_the_pivot_table_it_replaces():
    rng = np.random.default_rng(5)
    days = pd.date_range("2025-03-01", periods=60, freq="D")
    pairs = [(p, d) for p in [f"P{i:03d}" for i in rng.permutation(40)] for d in days if rng.random() < 0.2]
    units = pd.DataFrame({"product_id": [p for p, _ in pairs], "date": [d for _, d in pairs],
                          "units": rng.integers(1, 9, len(pairs)).astype(float)})
    units.loc[rng.random(len(units)) < 0.03, "units"] = np.nan
    ids = sorted(set(units["product_id"]))
    expected = (units.pivot_table(index="product_id", columns="date", values="units", aggfunc="sum")
                .reindex(index=ids, columns=days).fillna(0.0).to_numpy())
    got_ids, got = fc.product_matrix(units, days)
    assert got_ids == ids
    np.testing.assert_array_equal(got, expected)
    later = days[10:]  # rows before the first day are left out
    np.testing.assert_array_equal(fc.product_matrix(units, later)[1],
                                  units.pivot_table(index="product_id", columns="date", values="units",
                                                    aggfunc="sum").reindex(index=ids, columns=later).fillna(0.0))
