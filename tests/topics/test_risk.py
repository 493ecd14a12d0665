"""Risk indicators recover the planted refund spike and fraud ring; the register loads and degrades cleanly."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

import workbench
from workbench.errors import DataError, MissingTableError
from workbench.sql.common import Filters, compare_window
from workbench.topics import risk
from workbench.topics.kpi import kpi


@pytest.fixture(scope="module")
def ds(sample_dir: Path):
    return workbench.load(sample_dir)


@pytest.fixture(scope="module")
def truth(sample_dir: Path) -> dict:
    return json.loads((sample_dir / "truth.json").read_text(encoding="utf-8"))["effects"] if "effects" in json.loads(
        (sample_dir / "truth.json").read_text(encoding="utf-8")) else json.loads(
        (sample_dir / "truth.json").read_text(encoding="utf-8"))


def _spike(truth: dict) -> dict:
    return truth["refund_spike"]


def _filters_around(start: str, end: str, pad: int = 7) -> Filters:
    s = dt.date.fromisoformat(start) - dt.timedelta(days=pad)
    e = dt.date.fromisoformat(end) + dt.timedelta(days=pad)
    cs, ce = compare_window(s, e, "previous")
    return Filters(start=s, end=e, compare_start=cs, compare_end=ce)


def test_refund_spike_found_on_planted_days(ds, truth):
    spike = _spike(truth)
    f = _filters_around(spike["start"], spike["end"])
    daily = risk.refund_daily(ds, f)
    flagged = {d.date() for d in risk.spike_days(daily)["date"]}
    planted = {dt.date.fromisoformat(spike["start"]) + dt.timedelta(days=i)
               for i in range((dt.date.fromisoformat(spike["end"]) - dt.date.fromisoformat(spike["start"])).days + 1)}
    assert flagged, "no refund spike found around the planted window"
    assert flagged <= planted, f"false alarms outside the planted window: {sorted(flagged - planted)}"
    assert len(flagged & planted) >= len(planted) - 1
    alerts = risk.refund_alerts(daily)
    assert alerts and all(a.key == "refund_spike" and a.date in planted for a in alerts)


def test_refund_rate_in_window_matches_truth(ds, truth):
    spike = _spike(truth)
    f = Filters(dt.date.fromisoformat(spike["start"]), dt.date.fromisoformat(spike["end"]))
    s = kpi(ds, f, "refund_rate").value  # the registry's refund rate, which the risk page shows
    # truth's rate is the whole shop's (all orders incl. cancelled) — allow the small definitional difference
    assert s.low - 0.01 <= spike["spike_refund_rate"] <= s.high + 0.01
    assert s.estimate > 1.5 * spike["baseline_refund_rate"]
    daily = risk.refund_daily(ds, f)  # the page's daily refunds agree with the registry's count
    per = daily[daily["in_period"]]
    assert int(per["refunds"].sum()) == round(s.estimate * s.n) and int(per["orders"].sum()) == s.n


def test_fraud_ring_is_top_shared_address(ds, truth):
    spike = _spike(truth)
    f = _filters_around(spike["start"], spike["end"])
    rings = risk.shared_addresses(ds, f)
    top = rings.iloc[0]
    assert top["top_coupon"] == spike["coupon_code"]
    assert top["accounts"] >= 0.8 * spike["accounts"]
    assert top["score"] >= 6
    # the token is that of the planted address (the loader's keyed token), never the address itself
    from workbench.data import privacy

    token = privacy.token(spike["shared_address"])
    assert top["address_token"] == token
    assert spike["shared_address"] not in rings.to_string()
    assert risk.ring_alerts(rings)[0].key == "shared_address"


def test_assess_raises_alerts_in_the_window(ds, truth):
    spike = _spike(truth)
    a = risk.assess(ds, _filters_around(spike["start"], spike["end"]))
    keys = {x.key for x in a.alerts}
    assert {"refund_spike", "shared_address"} <= keys
    levels = dict(zip(a.indicators["indicator"], a.indicators["level"]))
    assert levels["refund_spike"] == "alert" and levels["suspicious_orders"] == "alert"
    reg = risk.apply_indicators(risk.load_register(), a.indicators)
    fraud = reg.set_index("id").loc["refund_fraud"]
    assert fraud["likelihood"] == 5 and fraud["likelihood_source"] == "data"
    # the KPI alerts are the registry's red and amber statuses, never dropped
    red = [k.key for k in a.registry if k.status == "red"]
    assert sorted(x.values["metric"] for x in a.alerts if x.key == "kpi" and x.level == "alert") == sorted(red)


def test_quiet_period_has_no_refund_alert(ds, truth):
    spike = _spike(truth)
    end = dt.date.fromisoformat(spike["start"]) - dt.timedelta(days=60)
    f = Filters(end - dt.timedelta(days=27), end)
    assert risk.spike_days(risk.refund_daily(ds, f)).empty


def test_concentration_and_cover(ds):
    f = Filters(dt.date(2025, 6, 1), dt.date(2025, 6, 28))
    conc = {c.dimension: c for c in risk.concentration(ds, f)}
    assert set(conc) == {"platform", "supplier", "carrier"}
    for c in conc.values():
        assert 1 / c.groups - 1e-9 <= c.hhi <= 1 and c.low <= c.hhi <= c.high
        assert abs(c.shares["share"].sum() - 1) < 1e-9
    cover = risk.inventory_cover(ds, f)
    assert (cover["cover_low"] <= cover["cover_days"]).all() and (cover["cover_days"] <= cover["cover_high"]).all()


def test_stock_cover_is_the_whole_shops_stock_over_every_channels_demand(ds):
    """The stock has no channel: choosing channels, or another start, leaves the cover as it is; it is
    shorter than the chosen channels' own demand would make it."""
    end = dt.date(2025, 6, 28)
    every = risk.inventory_cover(ds, Filters(dt.date(2025, 6, 1), end))
    one = risk.inventory_cover(ds, Filters(dt.date(2025, 3, 1), end, channels=("jd",)))
    pd.testing.assert_frame_equal(every, one)
    rep = risk.forecast.replenishment(ds, risk.forecast.origin_filters(Filters(dt.date(2025, 6, 1), end,
                                                                               channels=("jd",))))
    jd = every.merge(rep[["product_id", "days_of_cover"]], on="product_id")
    assert len(jd) and (jd["cover_days"] <= jd["days_of_cover"] + 1e-9).all()
    assert (jd["cover_days"] < jd["days_of_cover"]).mean() > 0.5


def test_currency_exposure_sees_the_yen_move(ds, truth):
    fx = truth["fx_move"]
    f = Filters(dt.date.fromisoformat(fx["start"]), dt.date.fromisoformat(fx["end"]))
    exp = risk.currency_exposure(ds, f).set_index("currency")
    assert exp.loc[fx["currency"], "rate_change"] == pytest.approx(fx["percent_change"] / 100, abs=0.03)
    assert (exp["var_30d_cny"] >= 0).all() and (exp["share_of_gmv"] < 1).all()


def test_hhi():
    assert risk.hhi([1, 1, 1, 1]) == pytest.approx(0.25)
    assert risk.hhi([5]) == 1.0


def test_register_default_and_beside_data(tmp_path: Path):
    reg = risk.load_register()
    assert set(reg["category"]) <= set(risk.CATEGORIES) and len(reg) >= 5
    assert risk.register_path(tmp_path) == risk.default_register_path()
    (tmp_path / "risk_register.yaml").write_text(
        "risks:\n  - id: x\n    risk: {en: A risk, zh: 风险}\n    category: legal\n    owner: me\n"
        "    likelihood: 2\n    impact: 3\n", encoding="utf-8")
    assert risk.register_path(tmp_path) == tmp_path / "risk_register.yaml"
    own = risk.load_register(risk.register_path(tmp_path))
    assert own["id"].tolist() == ["x"]
    (tmp_path / "risk_register.yaml").write_text("risks:\n  - id: y\n    category: weather\n    likelihood: 9\n",
                                                 encoding="utf-8")
    with pytest.raises(DataError, match="category 'weather'"):
        risk.load_register(tmp_path / "risk_register.yaml")


def test_degenerate_cases(tiny_shop: Path):
    ds = workbench.load(tiny_shop)
    f = Filters(dt.date(2025, 1, 1), dt.date(2025, 1, 6))
    with pytest.raises(MissingTableError):
        risk.inventory_cover(ds, f)
    with pytest.raises(MissingTableError):
        risk.shared_addresses(ds, f)  # no addresses, no coupon codes in the tiny shop
    a = risk.assess(ds, f)  # never raises for missing tables or a short history
    assert a.cover is None and a.rings is None
    assert isinstance(a.indicators, pd.DataFrame)
    empty = risk.refund_daily(ds, Filters(dt.date(2030, 1, 1), dt.date(2030, 1, 7)))
    assert empty["refunds"].sum() == 0 and risk.spike_days(empty).empty


def test_risk_queries_bind_values(ds):
    """Values are bound parameters: a channel name with a quote is a value, not SQL."""
    from workbench.sql import risk as sql

    f = Filters(dt.date(2025, 6, 1), dt.date(2025, 6, 28), channels=("o'brien",))
    assert sql.daily_orders(ds, f).empty
    assert sql.refunds_by(ds, f, dt.date(2025, 6, 10), "channel").empty
    assert sql.address_groups(ds, f).empty and sql.gmv_by_currency(ds, f).empty
    with pytest.raises(Exception, match="cannot group by"):
        sql.refunds_by(ds, f, dt.date(2025, 6, 10), "1; DROP TABLE orders")


def test_risk_notebook_messages_exist():
    import re

    from workbench.text import catalogue

    src = (Path(__file__).resolve().parents[2] / "notebooks" / "src" / "13_risk.py").read_text(encoding="utf-8")
    keys = set(re.findall(r'nb\.(?:say|finding|section|text|t)\("([a-z_.]+)"', src))
    keys |= set(re.findall(r'message=(?:None if \w+ else )?"([a-z_.]+)"', src))
    keys |= {f"note.{k}" for k in ("register_own", "register_default")}
    for lang in ("zh", "en"):
        for key in keys:
            assert any(catalogue.has(k, lang) for k in (f"risk.{key}", f"risk.finding.{key}", f"risk.section.{key}")), \
                (lang, key)
        for a in risk.INDICATORS:
            assert catalogue.has(f"risk.indicator.{a}", lang)


def test_every_alert_reads_in_both_languages(ds, truth):
    from workbench.present import risk_charts

    spike = _spike(truth)
    a = risk.assess(ds, _filters_around(spike["start"], spike["end"]))
    assert {x.key for x in a.alerts} >= {"kpi", "refund_spike", "shared_address"}
    for x in a.alerts:
        zh, en = risk_charts.alert_sentence(x, "zh"), risk_charts.alert_sentence(x, "en")
        assert zh and en and "nan" not in zh + en and "e-" not in zh + en


def test_assess_on_given_registry_kpis_is_the_same_assessment(ds, truth):
    from workbench.sql import metrics
    from workbench.topics import kpi as kpi_mod

    spike = _spike(truth)
    f = _filters_around(spike["start"], spike["end"])
    given = kpi_mod.kpis(ds, f, metrics.available(ds))
    a, b = risk.assess(ds, f), risk.assess(ds, f, registry=given)
    assert b.registry is given
    assert [(k.key, k.value, k.comparison, k.status) for k in a.registry] == \
        [(k.key, k.value, k.comparison, k.status) for k in b.registry]
    assert [(x.key, x.level, x.value) for x in a.alerts] == [(x.key, x.level, x.value) for x in b.alerts]
    assert {x.key for x in b.alerts} >= {"kpi", "refund_spike"}


def test_the_parts_read_later_are_those_of_the_assessments_filters(ds):
    """Concentration, currency exposure and the indicator table are computed when first read, for the
    assessment's own filters: the same as computing them directly."""
    f = Filters(dt.date(2025, 6, 1), dt.date(2025, 6, 28), channels=("tmall", "jd"), compare_start=dt.date(2025, 5, 4),
                compare_end=dt.date(2025, 5, 31))
    a = risk.assess(ds, f)
    assert a._kept == {}  # nothing of them computed yet
    direct = risk.concentration(ds, f)
    assert [(c.dimension, c.hhi, c.low, c.high) for c in a.concentration] == \
        [(c.dimension, c.hhi, c.low, c.high) for c in direct]
    pd.testing.assert_frame_equal(a.currency, risk.currency_exposure(ds, f))
    want = risk.indicator_table(direct, a.cover, a.rings, a.refunds, a.kpis, risk.currency_exposure(ds, f), a.total_gmv)
    pd.testing.assert_frame_equal(a.indicators, want)
    assert a.indicators is a.indicators  # computed once
