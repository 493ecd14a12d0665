"""Overview: reads recorded findings (batch), computes headlines directly (dashboard), lists every topic."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import workbench
from workbench.sql.common import Filters, compare_window
from workbench.text.labels import label
from workbench.text.pages import TOPICS
from workbench.topics import overview


@pytest.fixture(scope="module")
def ds(sample_dir: Path):
    return workbench.load(sample_dir)


@pytest.fixture(scope="module")
def truth(sample_dir: Path) -> dict:
    return json.loads((sample_dir / "truth.json").read_text(encoding="utf-8"))["effects"]


def _period(start: str, end: str) -> Filters:
    s, e = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    cs, ce = compare_window(s, e, "previous")
    return Filters(s, e, compare_start=cs, compare_end=ce)


def test_status_against_threshold():
    assert overview.status(0.03, "up", 5) == "green"
    assert overview.status(-0.07, "up", 5) == "amber"
    assert overview.status(-0.12, "up", 5) == "red"
    assert overview.status(0.12, "down", 5) == "red"
    assert overview.status(-0.5, "down", 5) == "green"
    assert overview.status(float("nan"), "up", 5) is None
    assert overview.better_direction("refund_rate") == "down" and overview.better_direction("gmv") == "up"


def _record(stem: str, findings: list[dict]) -> dict:
    return {"notebook": stem, "title": stem, "params": {}, "period": {}, "sections": [], "findings": findings}


def test_batch_reads_findings_beside_it(tmp_path: Path):
    slow = {"key": "slow_category", "text": "return_refund tickets take longest", "section": "s", "value": 40.0,
            "unit": "hours", "change": None, "status": None, "headline": True}
    gmv = {"key": "gmv", "text": "GMV fell", "section": "k", "value": 1e6, "unit": "CNY", "change": -0.2,
           "status": None, "headline": True}
    spike = {"key": "refund_rate", "text": "Refunds spiked", "section": "r", "value": 0.1, "unit": "share",
             "change": 1.0, "status": "red", "headline": True}
    for stem, items in (("05_customer_service", [slow]), ("01_sales_traffic", [gmv]), ("13_risk", [spike]),
                        ("00_overview", [])):
        (tmp_path / f"{stem}.findings.json").write_text(json.dumps(_record(stem, items)), encoding="utf-8")
    (tmp_path / "06_logistics.findings.json").write_text("{broken", encoding="utf-8")
    records = overview.read_findings(overview.findings_folder(tmp_path / "00_overview.findings.json"))
    assert set(records) == {"05_customer_service", "01_sales_traffic", "13_risk"}
    heads = overview.recorded_headlines(records, 5).set_index("metric")
    assert heads.loc["gmv", "status"] == "red" and heads.loc["refund_rate", "status"] == "red"
    top = overview.top_findings(records)
    assert "return_refund" in " ".join(top["text"])
    assert overview.recorded_alerts(records)["key"].tolist() == ["refund_rate"]
    page = overview.topics_html(top, "en", True, set(records))
    for stem, t in TOPICS.items():
        if stem != "00_overview":
            assert t.title_en in page and f"{stem}.html" in page
    assert "Not run in this batch" in page


def test_dashboard_headlines_cover_every_topic(ds):
    f = _period("2025-06-01", "2025-06-28")
    heads = overview.direct_headlines(ds, f, 5.0)
    assert set(heads["topic"]) == {t for t in TOPICS if t != "00_overview"}
    known = heads["change"].notna()
    assert heads.loc[known, "status"].isin(["green", "amber", "red"]).all() and heads.loc[~known, "status"].isna().all()
    assert (heads["spark"].map(len) == f.days).all()
    html = overview.headline_tiles_html(heads, "zh", batch=False)
    assert html.count("<svg") == len(heads) and "/voila/render/01_sales_traffic.ipynb" in html


def test_dashboard_alerts_show_planted_effects(ds, truth):
    spike = truth["refund_spike"]
    alerts = overview.direct_alerts(ds, _period("2025-08-04", spike["end"]), "en")
    assert "refund_spike" in set(alerts["key"]) and "shared_address" in set(alerts["key"])
    slow = alerts[alerts["key"] == "slow_category"]
    assert len(slow) == 1 and label(truth["slow_support_category"]["category"], "en") in slow["text"].iloc[0]
    later = overview.direct_alerts(ds, _period("2025-10-01", "2025-10-28"), "en")
    drop = later[later["key"] == "sentiment_drop"]
    assert len(drop) and truth["sentiment_drop"]["product_id"] in drop["text"].iloc[0]


def test_sparkline():
    assert overview.sparkline_svg([1.0]) == ""
    assert overview.sparkline_svg([1.0, float("nan"), 3.0]).startswith("<svg")
