"""CRM: the lifetime-value models reproduce the published CDNOW fit; the planted churn pattern is found."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.errors import EmptyPeriodError, MissingTableError
from workbench.sql.common import Filters
from workbench.topics import crm

CDNOW = Path(__file__).resolve().parents[1] / "fixtures" / "CDNOW_sample.txt"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """BG/NBD inputs of the CDNOW sample, 39-week calibration (1997-01-01 to 1997-09-30), 39-week hold-out."""
    raw = pd.read_csv(CDNOW, sep=r"\s+", header=None, names=["orig", "customer_id", "date", "cds", "value"],
                      dtype={"date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d").dt.date
    con = duckdb.connect()
    con.register("cdnow", raw)
    return crm.summary_from_transactions(con, "SELECT customer_id, date, value FROM cdnow", dt.date(1997, 9, 30),
                                         dt.date(1998, 6, 30))


def test_cdnow_summary_matches_the_published_calibration_data(cdnow: pd.DataFrame) -> None:
    assert len(cdnow) == 2357
    # the sum of x in Hardie's published CDNOW summary (cdnow_customers_summary.csv in lifetimes)
    assert int(cdnow["frequency"].sum()) == 2457
    assert cdnow["T"].min() > 26 and cdnow["T"].max() == pytest.approx(38.86, abs=0.01)


def test_bgnbd_reproduces_fader_hardie_lee_2005(cdnow: pd.DataFrame) -> None:
    fit = crm.fit_bgnbd(cdnow)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert round(fit.params[name], 3) == value, name
        lo, hi = fit.intervals[name]
        assert lo < value < hi
    assert fit.loglik == pytest.approx(-9582.4, abs=0.1)


def test_gamma_gamma_reproduces_the_published_spend_model(cdnow: pd.DataFrame) -> None:
    fit = crm.fit_gamma_gamma(cdnow)
    # Fader, Hardie and Lee (2005), "RFM and CLV": p = 6.25, q = 3.74, gamma = 15.44
    assert round(fit.params["p"], 2) == 6.25
    assert round(fit.params["q"], 2) == 3.74
    assert round(fit.params["v"], 2) == 15.44


def test_bgnbd_predicts_the_cdnow_holdout_by_frequency(cdnow: pd.DataFrame) -> None:
    fit = crm.fit_bgnbd(cdnow)
    pred = crm.expected_purchases(fit.vector, 39, cdnow["frequency"], cdnow["recency"], cdnow["T"])
    # conditional expectations per calibration frequency track the actual hold-out purchases
    frame = pd.DataFrame({"x": cdnow["frequency"].clip(upper=7), "pred": pred, "act": cdnow["holdout_purchases"]})
    by = frame.groupby("x")[["pred", "act"]].mean()
    assert np.corrcoef(by["pred"], by["act"])[0, 1] > 0.95
    alive = crm.probability_alive(fit.vector, cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert ((alive > 0) & (alive <= 1)).all()
    assert alive[cdnow["frequency"] == 0].max() == pytest.approx(1.0)


# ----- the sample shop ---------------------------------------------------------------------------------



def _last(ds: workbench.Dataset) -> dt.date:
    return pd.Timestamp(ds.sql("SELECT max(order_date) AS d FROM orders_cny")["d"].iloc[0]).date()


def _all(ds: workbench.Dataset) -> Filters:
    lo = pd.Timestamp(ds.sql("SELECT min(order_date) AS d FROM orders_cny")["d"].iloc[0]).date()
    end = _last(ds)
    return Filters(start=end - dt.timedelta(days=89), end=end, compare_start=end - dt.timedelta(days=179),
                   compare_end=end - dt.timedelta(days=90)) if lo else None


def test_planted_churn_pattern_by_acquisition_channel_is_recovered(ds, truth) -> None:
    churn = truth["churn_by_channel"]
    planted = churn["continuation_probability"]
    # the estimand the page reports: the 365-day repeat rate the generator implies for the analysed cohort
    # (truth.json's expected_repeat_rate_365d), compared within 3.3 binomial standard errors of its cohort
    # (a 99.9% band per channel, so seven channels all hold with probability 0.99)
    expected, cohort = churn["expected_repeat_rate_365d"], churn["cohort_customers_365d"]
    by = crm.retention_by_channel(ds, _all(ds), window_days=365).set_index("acquisition_channel")
    assert list(by.index) == sorted(expected, key=expected.get, reverse=True)
    for channel, p in expected.items():
        se = (p * (1 - p) / cohort[channel]) ** 0.5
        assert abs(by.loc[channel, "repeat_rate"] - p) < 3.3 * se, channel
    # the 90-day rates the notebook shows keep the same best and worst channel
    by90 = crm.retention_by_channel(ds, _all(ds), window_days=90)
    assert by90["acquisition_channel"].iloc[0] == max(planted, key=planted.get)
    assert by90["acquisition_channel"].iloc[-1] == min(planted, key=planted.get)


def test_rfm_segments_partition_the_active_customers(ds) -> None:
    f = _all(ds)
    seg = crm.rfm_segments(ds, f)
    n = ds.sql(f"SELECT count(DISTINCT customer_id) AS n FROM orders_cny WHERE is_valid AND order_date BETWEEN "
               f"DATE '{f.end - dt.timedelta(days=364)}' AND DATE '{f.end}'")["n"].iloc[0]
    assert seg["customers"].sum() == n
    assert seg["share"].sum() == pytest.approx(1.0)
    champ = seg.set_index("segment")
    assert champ.loc["champions", "gmv_per_customer"] > champ.loc["lost", "gmv_per_customer"]
    moves = crm.rfm_movement(ds, f)
    assert moves.groupby("segment_from")["share_of_from"].sum().round(6).eq(1).all()


def test_cohort_retention_starts_at_one_and_stays_in_range(ds) -> None:
    grid = crm.cohort_retention(ds, _all(ds), months=6)
    assert (grid.loc[grid["months_since_first"] == 0, "retention"] == 1).all()
    assert grid["retention"].between(0, 1).all()


def test_repurchase_interval_contains_its_estimate(ds) -> None:
    rep = crm.repurchase(ds, _all(ds))
    assert rep.low <= rep.repeat_rate <= rep.high and rep.n > 100
    assert rep.p25_days_between <= rep.median_days_between <= rep.p75_days_between


def test_late_first_delivery_lowers_repurchase_as_planted(ds, truth) -> None:
    odds_ratio = truth["delay_effect"]["repeat_odds_ratio_if_late"]
    d = crm.delay_effect(ds)
    assert d.high < 1                                  # a late first delivery costs repeat customers
    assert abs(d.odds_ratio - odds_ratio) < 0.1
    assert d.repeat_rate_late < d.repeat_rate_on_time


def test_clv_holdout_prediction_is_close_and_interval_holds(ds) -> None:
    res = crm.clv(ds, _last(ds))
    assert res.ok and res.choice == "inner-split"
    assert abs(res.holdout_predicted / res.holdout_actual - 1) < 0.15
    assert res.bgnbd.variant in crm.CLV_MODELS
    assert res.mean_clv_low < res.mean_clv < res.mean_clv_high
    # the prediction interval (customer-level uncertainty too) is wider than the parameter-only one
    assert res.predicted.low < res.mean_clv_low and res.predicted.high > res.mean_clv_high
    # the hold-out interval carries the model's error from the split inside the calibration period, so it
    # contains the interval of parameter and customer-level uncertainty alone (coverage across seeds:
    # tests/truth/test_clv_coverage.py)
    h, m = res.holdout_total, res.holdout_model_only
    assert h.method.endswith("-model-error") and not m.method.endswith("-model-error")
    assert h.low < m.low < m.high < h.high and h.estimate == pytest.approx(m.estimate)
    assert res.predicted.method == "clv-predictive-model-error"
    assert res.customers["p_alive"].between(0, 1).all()
    table = res.model_table()
    assert set(table["model"]) == set(crm.CLV_MODELS) and table["chosen"].sum() == 1
    # the model was chosen on the calibration period: the smallest error inside it, whatever the hold-out says
    inner = table.dropna(subset=["inner_error"])
    assert table.loc[table["chosen"], "model"].item() == inner.loc[inner["inner_error"].abs().idxmin(), "model"]


def test_monthly_bgbb_fits_the_sample_and_withholds_on_tiny_data(ds, tiny_shop: Path) -> None:
    res = crm.monthly_repeat(ds, _last(ds), holdout_months=6)
    assert res.fit.ok and res.n > 1000
    assert all(0 < v < 1e4 for v in res.fit.params.values())
    # months with a purchase in the six months after calibration: predicted within a quarter of what happened
    assert abs(res.error) < 0.25, res.error
    tiny = crm.monthly_repeat(workbench.load(tiny_shop), dt.date(2025, 1, 6))
    assert tiny.fit.status == "too_few" and tiny.predicted.too_few and np.isnan(tiny.error)


def test_tier_value_has_intervals(ds) -> None:
    tv = crm.tier_value(ds, _all(ds))
    assert set(tv["member_tier"]) <= {"none", "silver", "gold", "platinum"}
    ok = tv[tv["buyers"] > 1]
    assert (ok["gmv_per_customer_low"] <= ok["gmv_per_customer"]).all()


# ----- degenerate cases -----------------------------------------------------------------------------------

def test_empty_selection_is_reported_not_crashed(tiny_shop: Path) -> None:
    tiny = workbench.load(tiny_shop)
    f = Filters(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 6))
    res = crm.clv(tiny, dt.date(2025, 1, 6))
    assert res.status == "too_few" and not res.ok and res.bgnbd is None
    assert res.value.too_few and res.predicted.too_few and res.holdout_total.too_few
    assert "too few" in res.value.reading("en") and "¥" not in res.value.reading("en")
    assert crm.clv_by_segment(res, tiny, f).empty
    with pytest.raises(EmptyPeriodError):
        crm.repurchase(tiny, f)
    with pytest.raises(MissingTableError):
        crm.delay_effect(tiny)
    assert crm.rfm_segments(tiny, Filters(start=dt.date(2020, 1, 1), end=dt.date(2020, 1, 2))).empty
    assert tiny.missing(crm.NEEDS_TIER) == ["customers.member_tier"]


# ----- one definition of the delay effect; the SQL layer; the page's catalogue keys ---------------------

def test_the_delay_effect_is_the_logistics_pages_own(ds) -> None:
    from workbench.topics import logistics as lg

    d = crm.delay_effect(ds)
    shared = lg.lateness_effect_on_repeat(ds, 365, odds_ratio=True)
    assert d.odds.value == shared.value
    assert d.odds.value.method == "logit-hc1" and d.late.method == "wilson"


def test_sql_binds_channels_with_quotes(ds) -> None:
    from workbench.sql import crm as sql

    f = _all(ds)
    odd = Filters(f.start, f.end, channels=("o'brien's shop",), compare_start=f.compare_start,
                  compare_end=f.compare_end)
    assert sql.rfm_segment_totals(ds, odd, f.end).empty
    assert sql.rfm_transitions(ds, odd, f.compare_end, f.end).empty
    assert sql.cohort_cells(ds, odd).empty and sql.tier_totals(ds, odd)["buyers"].sum() == 0
    assert sql.first_buyers_repeating(ds, odd, f.start, f.end, 90) == (0, 0)
    assert sql.repeat_by_acquisition_channel(ds, odd, f.end, 90).empty
    assert sql.customer_summary(ds, odd, f.end, f.end).empty


def test_results_carry_estimates_and_tiers_have_their_own_label(ds) -> None:
    from workbench.text import catalogue

    f = _all(ds)
    rep = crm.repurchase(ds, f)
    assert rep.rate.method == "wilson" and rep.gap_days.unit == "days"
    tier, value = crm.top_tier(crm.tier_value(ds, f))
    assert tier in crm.TIERS and value.low <= value.estimate <= value.high and value.low >= 0
    assert catalogue.label("none", "zh", "crm") == "无会员等级"
    assert catalogue.label("lost", "zh", "crm") == "已流失客户"
    assert catalogue.label("lost", "zh", "logistics") == "丢件"


def test_the_page_uses_only_catalogue_keys_that_exist() -> None:
    from testkit import missing_keys
    from testkit import notebook_keys as keys

    assert "crm.finding.delay_effect" in keys("12_crm")
    assert missing_keys("12_crm") == []


def test_chinese_findings_give_the_interval_the_english_ones_give() -> None:
    from workbench.text import catalogue

    for key, zh in catalogue.messages("zh").items():
        if key.startswith(("crm.finding.", "logistics.finding.")):
            en = catalogue.messages("en")[key]
            # a figure read in full ({x}) or by its interval ({x:interval}) in one language is in the other
            full = {p for p in catalogue.placeholders(zh) if ":" not in p or p.endswith(":interval")}
            assert full == {p for p in catalogue.placeholders(en) if ":" not in p or p.endswith(":interval")}, key
            if key.endswith("_too_few"):  # a figure too thin to estimate: the sentence gives its n instead
                assert "n:count" in catalogue.placeholders(zh), key
            else:
                assert full, key  # every finding of these pages gives an interval


def test_clv_results_are_kept_by_data_arguments_and_code(tiny_shop: Path, tmp_path: Path, monkeypatch) -> None:
    kept = tmp_path / "clv"
    monkeypatch.setenv(crm.CLV_CACHE_ENV, str(kept))
    calls = []
    real = crm.fit_clv
    monkeypatch.setattr(crm, "fit_clv", lambda *a, **k: calls.append(a[1:]) or real(*a, **k))
    tiny = workbench.load(tiny_shop)
    day = dt.date(2025, 1, 6)
    first = crm.clv(tiny, day)
    again = crm.clv(tiny, day)
    assert len(calls) == 1 and len(list(kept.glob("*.pkl"))) == 1       # the second came from disk
    assert (again.status, again.reason, again.n, again.calibration_end) == \
        (first.status, first.reason, first.n, first.calibration_end)
    crm.clv(tiny, day, ("tmall",))                                     # another argument: another result
    crm.clv(tiny, day, holdout_weeks=13)
    assert len(calls) == 3 and len(list(kept.glob("*.pkl"))) == 3
    # changed data (the fingerprint: names, sizes, modification times) is fitted again
    target = next(p for p in sorted(tiny_shop.rglob("*")) if p.is_file())
    target.write_bytes(target.read_bytes())
    crm.clv(workbench.load(tiny_shop), day)
    assert len(calls) == 4
    # a damaged file is computed again, and "off" keeps nothing
    for p in kept.glob("*.pkl"):
        p.write_bytes(b"not a pickle")
    crm.clv(tiny, day)
    assert len(calls) == 5
    monkeypatch.setenv(crm.CLV_CACHE_ENV, "off")
    crm.clv(tiny, day)
    crm.clv(tiny, day)
    assert len(calls) == 7


def test_each_customers_interval_comes_on_request_from_the_kept_fit(ds) -> None:
    res = crm.clv(ds, _last(ds))
    assert "clv_low" not in res.customers  # not computed for the page, which shows none of them
    one = res.customer_intervals()
    assert len(one) == len(res.customers) and np.isfinite(one[["clv_low", "clv_high"]].to_numpy()).all()
    assert ((one["clv_low"] >= 0) & (one["clv_low"] <= one["clv_high"])).all()
    assert (one["clv_low"] <= one["clv"] + 1e-9).mean() > 0.9
    pd.testing.assert_frame_equal(one, res.customer_intervals(), check_exact=True)  # seeded
