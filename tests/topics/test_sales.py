"""Sales and traffic: the identities hold exactly and the pattern breaks find the planted events."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

import workbench
from workbench.sql.common import Filters, compare_window
from workbench.topics import sales


@pytest.fixture(scope="module")
def ds(sample_dir):
    return workbench.load(sample_dir)


@pytest.fixture(scope="module")
def truth(sample_dir):
    path = sample_dir / "truth.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _filters(ds, days: int = 90, channels: tuple[str, ...] = ()) -> Filters:
    end = ds.sql("SELECT max(order_date) AS d FROM orders_cny")["d"].iloc[0]
    end = end.date() if hasattr(end, "date") else end
    start = end - dt.timedelta(days=days - 1)
    cs, ce = compare_window(start, end, "previous")
    return Filters(start=start, end=end, channels=channels, compare="previous", compare_start=cs, compare_end=ce)


def test_decomposition_by_channel_adds_up_exactly_to_the_gmv_change(ds):
    f = _filters(ds)
    parts = sales.decompose_gmv_by_channel(ds, f)
    kpis = sales.kpi_table(ds, f).set_index("metric")
    delta = kpis.loc["gmv", "current"] - kpis.loc["gmv", "comparison"]
    assert parts["contribution_cny"].sum() == pytest.approx(delta, rel=1e-9, abs=1e-6)
    per_channel = parts.groupby("channel").agg(c=("contribution_cny", "sum"), g=("gmv", "first"),
                                               g0=("gmv_comparison", "first"))
    np.testing.assert_allclose(per_channel["c"], per_channel["g"] - per_channel["g0"], rtol=1e-9, atol=1e-6)
    # a channel with traffic in both periods is fully split into the three factors
    split = parts[parts["factor"] != "other"].groupby("channel")["contribution_cny"].apply(lambda s: s.abs().sum())
    assert (split > 0).any()


def test_total_decomposition_matches_the_aggregate_identity(ds):
    f = _filters(ds, 28)
    d = sales.decompose_gmv(ds, f)
    assert d is not None
    kpis = sales.kpi_table(ds, f).set_index("metric")
    delta = kpis.loc["gmv", "current"] - kpis.loc["gmv", "comparison"]
    assert d.parts["contribution_cny"].sum() == pytest.approx(delta, rel=1e-9)


@pytest.mark.parametrize("by", ["channel", "region", "customer_type", "category"])
def test_breakdowns_add_up_to_the_total(ds, by):
    f = _filters(ds, 28)
    if not ds.has(*next(iter(sales.BREAKDOWN_NEEDS[by].items()))):
        pytest.skip(f"sample lacks {by}")
    table = sales.breakdown(ds, f, by)
    total = sales.kpi_table(ds, f).set_index("metric").loc["gmv"]
    if by == "category":  # line values: equal to GMV up to order-level adjustments (shipping, coupons)
        assert table["gmv"].sum() == pytest.approx(total["current"], rel=0.25)
    else:
        assert table["gmv"].sum() == pytest.approx(total["current"], rel=1e-9)
        assert table["delta"].sum() == pytest.approx(total["current"] - total["comparison"], rel=1e-9, abs=1e-6)
    assert table["delta"].abs().is_monotonic_decreasing


def test_kpi_series_weeks_sum_to_the_period(ds):
    f = _filters(ds, 28)
    weekly = sales.kpi_series(ds, f, "week")
    total = sales.kpi_table(ds, f).set_index("metric")
    cur = weekly[weekly["period"] == "current"]
    assert cur["gmv"].sum() == pytest.approx(total.loc["gmv", "current"], rel=1e-9)
    assert weekly[weekly["period"] == "comparison"]["gmv"].sum() == pytest.approx(total.loc["gmv", "comparison"])
    assert set(cur["bucket"].dt.day_of_week) == {0}


def test_funnel_intervals_contain_the_rate(ds):
    rates = sales.funnel_rates(ds, _filters(ds, 28))
    ok = rates.dropna(subset=["rate"])
    assert ((ok["rate_low"] <= ok["rate"] + 1e-12) & (ok["rate"] <= ok["rate_high"] + 1e-12)).all()
    overall = sales.overall_conversion(rates)
    assert overall["rate"].is_monotonic_decreasing and (overall["rate"] < 1).all()


def test_pattern_breaks_flag_the_big_campaign_days(ds):
    """The largest planted campaign lifts GMV far above a weekly baseline: its peak day must be flagged."""
    pb = sales.pattern_breaks(ds)
    assert pb.n_days > 300
    camp = ds.sql("SELECT campaign_id, start_date, end_date FROM campaigns")
    daily = pb.daily.set_index("date")
    peak_days = []
    for _, c in camp.iterrows():
        window = daily.loc[str(c["start_date"]):str(c["end_date"])]
        if len(window):
            peak_days.append(window["excess_pct"].idxmax())
    flagged = daily.loc[peak_days, "flag"]
    # most campaigns peak far above their baseline
    assert flagged.mean() >= 0.5, flagged
    # and on ordinary days breaks are rare (the robust z is calibrated)
    assert pb.daily["flag"].mean() < 0.15


def test_empty_period_and_missing_traffic(ds, tiny_shop):
    f = Filters(start=dt.date(1990, 1, 1), end=dt.date(1990, 1, 28), compare="previous",
                compare_start=dt.date(1989, 12, 4), compare_end=dt.date(1989, 12, 31))
    assert sales.breakdown(ds, f, "channel").empty
    assert sales.decompose_gmv_by_channel(ds, f)["contribution_cny"].sum() == 0
    assert sales.funnel_rates(ds, f).empty
    tiny = workbench.load(tiny_shop)
    assert sales.decompose_gmv_by_channel(tiny, f).empty  # no traffic table
    assert sales.pattern_breaks(tiny).daily.empty  # too little history
    with pytest.raises(workbench.MissingTableError):
        sales.breakdown(tiny, _filters(tiny, 7), "member_tier")
