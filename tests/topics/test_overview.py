"""Overview: every registry KPI with a status, campaign context, recorded findings by the JSON contract."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import workbench
from workbench.present import overview_charts
from workbench.sql import metrics
from workbench.sql.filters import Filters, compare_window
from workbench.text import catalogue
from workbench.text.pages import TOPICS
from workbench.topics import kpi as kpis
from workbench.topics import overview

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "src" / "00_overview.py"


@pytest.fixture(scope="module")
def ds(sample_dir: Path):
    return workbench.load(sample_dir)


def _period(start: str, end: str) -> Filters:
    s, e = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    cs, ce = compare_window(s, e, "previous")
    return Filters(s, e, compare_start=cs, compare_end=ce)


def _record(stem: str, findings: list[dict]) -> dict:
    return {"notebook": stem, "title": stem, "params": {}, "period": {}, "sections": [], "findings": findings}


def test_batch_reads_findings_beside_it(tmp_path: Path):
    slow = {"key": "slow_category", "text": "return_refund tickets take longest", "section": "s", "estimate": 40.0,
            "low": 35.0, "high": 44.0, "level": 0.95, "n": 120, "unit": "hours", "method": "bootstrap",
            "change": None, "status": "amber", "headline": True}
    gmv = {"key": "gmv", "text": "GMV fell", "section": "k", "estimate": 1e6, "unit": "money", "change": -0.2,
           "status": "red", "headline": True}
    spike = {"key": "refund_spike", "text": "Refunds spiked", "section": "r", "estimate": 0.1, "unit": "share",
             "change": 1.0, "status": "red", "headline": True}
    for stem, items in (("05_customer_service", [slow]), ("01_sales_traffic", [gmv]), ("13_risk", [spike]),
                        ("00_overview", [])):
        (tmp_path / f"{stem}.findings.json").write_text(json.dumps(_record(stem, items)), encoding="utf-8")
    (tmp_path / "06_logistics.findings.json").write_text("{broken", encoding="utf-8")
    records = overview.read_findings(overview.findings_folder(tmp_path / "00_overview.findings.json"))
    assert set(records) == {"05_customer_service", "01_sales_traffic", "13_risk"}
    top = overview.top_findings(records)
    assert "return_refund" in " ".join(top["text"])
    assert top.set_index("key").loc["slow_category", "estimate"] == 40.0  # `estimate`, not `value`
    # the KPIs are listed from the registry: the recorded alerts leave them out
    alerts = overview.recorded_alerts(records, overview.other_alert_keys())
    assert alerts["key"].tolist() == ["refund_spike", "slow_category"]
    page = overview_charts.topics_html(top, "en", True, set(records))
    for stem, t in TOPICS.items():
        if stem != "00_overview":
            assert t.title_en in page and f"{stem}.html" in page
    assert catalogue.message("overview.note.not_run", "en") in page


def test_headlines_are_the_registry_with_a_status_each(ds):
    f = _period("2025-06-01", "2025-06-28")
    items, table = overview.headlines(ds, f)
    assert table["key"].tolist() == metrics.available(ds)
    assert table["status"].isin(list(kpis.STATUSES)).all() and table["status"].notna().all()
    for k in items:  # the same number and colour as the page that explains it
        again = kpis.kpi(ds, f, k.key)
        assert again.value.estimate == k.value.estimate and again.status == k.status
        assert len(k.daily) == f.days
    counts = overview.status_counts(items)
    assert sum(counts.values()) == len(items)
    assert [k.status for k in overview.flagged(items)].count("red") == counts["red"]
    html = overview_charts.kpi_tiles(items, "zh", batch=False)
    assert html.count("<svg") == len(items) and "/voila/render/01_sales_traffic.ipynb" in html
    assert "nan" not in html.lower()


def test_overview_and_risk_page_show_the_same_kpis(ds):
    from workbench.topics import risk

    f = _period("2025-12-04", "2025-12-31")
    items, _ = overview.headlines(ds, f)
    a = risk.assess(ds, f)
    assert [(k.key, k.value.estimate, k.status) for k in a.registry] == [
        (k.key, k.value.estimate, k.status) for k in items]
    red = [k.key for k in items if k.status == "red"]
    assert red and sorted(x.values["metric"] for x in a.alerts if x.key == "kpi" and x.level == "alert") == sorted(red)
    assert a.n_alerts >= len(red)  # the risk page never says "no alerts" while a KPI is red


def test_campaign_in_the_comparison_window_is_explained(ds):
    f = _period("2025-12-04", "2025-12-31")
    c = overview.campaign_context(ds, f)
    assert c.uneven and "double_11" in c.comparison_kinds and "double_12" in c.current_kinds
    assert c.comparison_campaign_share > 0.3  # Double 11 days carry a large part of the comparison's GMV
    reported = kpis.kpi(ds, f, "gmv")
    assert reported.status == "red"
    # like for like, the drop mostly goes away
    assert abs(c.without_campaigns["gmv"].change) < abs(reported.change) / 2
    assert "gmv" in c.last_year
    quiet = overview.campaign_context(ds, _period("2025-08-01", "2025-08-28"))
    assert not quiet.uneven and not quiet.without_campaigns


def test_overview_notebook_messages_exist():
    import re

    src = NOTEBOOK.read_text(encoding="utf-8")
    keys = set(re.findall(r'nb\.(?:say|finding|section|text|t)\("([a-z_.]+)"', src))
    keys |= {f"finding.{k}" for k in re.findall(r'message="finding\.([a-z_]+)"', src)}
    for lang in ("zh", "en"):
        for key in keys:
            full = [f"overview.{key}", f"overview.finding.{key}", f"overview.section.{key}", key]
            assert any(catalogue.has(k, lang) for k in full), (lang, key)


def test_sparkline():
    assert overview_charts.sparkline_svg([1.0]) == ""
    assert overview_charts.sparkline_svg([1.0, float("nan"), 3.0]).startswith("<svg")


def test_campaign_kinds_bind_values(ds):
    from workbench.sql import overview as sql

    assert sql.campaign_kinds(ds, ["C2025_DOUBLE11", "x' OR '1'='1"]) == {"C2025_DOUBLE11": "double_11"}
    assert sql.campaign_kinds(ds, []) == {}
