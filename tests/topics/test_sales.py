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


# ----- the SQL layer, the registry KPIs and the page's catalogue -------------------------------

def test_sql_binds_values_a_channel_with_a_quote_is_just_a_name(ds):
    from workbench.errors import ParameterError
    from workbench.sql import sales as sql_sales

    f = _filters(ds, 28)
    quoted = Filters(start=f.start, end=f.end, channels=("tm'all", "jd"), compare="previous",
                     compare_start=f.compare_start, compare_end=f.compare_end)
    only_jd = Filters(start=f.start, end=f.end, channels=("jd",), compare="previous",
                      compare_start=f.compare_start, compare_end=f.compare_end)
    for by in ("channel", "customer_type", "category"):
        a, b = sql_sales.totals_by(ds, quoted, by), sql_sales.totals_by(ds, only_jd, by)
        assert a["gmv"].sum() == pytest.approx(b["gmv"].sum(), rel=1e-12)
    assert sql_sales.funnel(ds, quoted)["sessions"].sum() == sql_sales.funnel(ds, only_jd)["sessions"].sum()
    assert sql_sales.daily_gmv(ds, ("tm'all",)).empty
    with pytest.raises(ParameterError):
        sql_sales.totals_by(ds, f, "region; DROP TABLE orders")
    with pytest.raises(ParameterError):
        sql_sales.buckets(ds, f, "decade")


def test_headline_kpis_are_the_registry_kpis_and_never_nan_status(ds):
    from workbench.topics import kpi

    f = _filters(ds, 28)
    found = sales.kpis(ds, f)
    for key in sales.HEADLINE:
        k, ref = found[key], kpi.kpi(ds, f, key)
        assert k.value.estimate == ref.value.estimate and k.status == ref.status
        assert k.status in kpi.STATUSES and (k.status != "none" or k.reason)
    table = sales.kpi_table(ds, f)
    assert table["status"].notna().all()
    alone = Filters(start=f.start, end=f.end, compare="none")
    assert set(sales.kpi_table(ds, alone)["reason"]) == {"no_comparison"}


def test_breakdown_lumps_values_that_are_not_names_into_other(ds):
    f = _filters(ds, 28)
    table = sales.breakdown(ds, f, "region", keep=lambda v: v in {"East", "South"})
    assert set(table["region"]) == {"East", "South", "other"}
    assert table["gmv"].sum() == pytest.approx(sales.breakdown(ds, f, "region")["gmv"].sum(), rel=1e-9)
    top = sales.top_mover(table, "region")
    assert top is not None and top.direction in ("up", "down") and top.delta.unit == "money"


def test_notebook_catalogue_keys_exist_in_both_languages():

    from testkit import notebook_keys
    from workbench.text import catalogue

    keys = {k.removeprefix("sales_traffic.") for k in notebook_keys("01_sales_traffic")}
    keys |= {f"title.movers_{by}" for by in sales.BREAKDOWN_NEEDS} | {f"dimension.{by}" for by in sales.BREAKDOWN_NEEDS}
    keys |= {f"kpi.{k}" for k in sales.TABLE_KPIS} | {f"factor.{k}" for k in sales.DECOMPOSITION_FACTORS}
    keys |= {f"reason.{r}" for r in ("no_comparison", "too_few", "no_data", "comparison_empty")}
    keys |= {"finding.top_mover_up", "finding.top_mover_down", "finding.top_mover_new"}
    assert len(keys) > 40
    for lang in ("zh", "en"):
        missing = sorted(k for k in keys if not catalogue.has(f"sales_traffic.{k}", lang))
        assert missing == [], (lang, missing)
        for label in ("sales.interval", "sales.none", "sales.other", "red", "amber", "green"):
            assert catalogue.has(f"label.{label}", lang)
