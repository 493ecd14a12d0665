"""Every notebook in notebooks/ runs in the batch on the sample shop, with default and other parameters.

The notebooks are discovered, so a new notebook is covered without editing this file. The
published output (HTML reports, findings) is checked for personal data and for the figures
being rendered offline.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import pandas as pd
import pytest

from workbench import run

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = run.resolve_notebooks()

sys.path.insert(0, str(ROOT / "tools"))
import pagecheck  # noqa: E402

ENGLISH = {"language": "en"}
OTHER = {"language": "en", "period": "last-90d", "channels": "tmall,jd,douyin,cross_border", "compare": "last_year"}
_RUNS: dict[tuple, object] = {}


def _run(params: dict, sample_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    key = tuple(sorted(params.items()))
    if key not in _RUNS:
        out = tmp_path_factory.mktemp("batch") / "run"
        _RUNS[key] = run.run_batch(NOTEBOOKS, {"data": str(sample_dir), **params}, out=out, jobs=2, timeout=300)
    return _RUNS[key]


@pytest.fixture(scope="module", params=[{}, ENGLISH, OTHER],
                ids=["defaults", "english", "english-90d-3channels-last-year"])
def batch(request: pytest.FixtureRequest, sample_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    return request.param, _run(request.param, sample_dir, tmp_path_factory)


@pytest.fixture(scope="module")
def names(sample_dir: Path) -> set[str]:
    return pagecheck.names_from_data(sample_dir)


def test_every_notebook_succeeds(batch) -> None:
    given, result = batch
    failed = {r.name: (r.error or {}).get("evalue") for r in result.notebooks if r.status != "succeeded"}
    assert not failed, failed
    assert result.exit_code == 0
    assert {r.name for r in result.notebooks} == {p.stem for p in NOTEBOOKS}
    assert (result.run_dir / "index.html").exists() and (result.run_dir / "run.json").exists()


def test_findings_are_recorded_for_the_parameters(batch) -> None:
    given, result = batch
    for r in result.notebooks:
        record = r.findings
        assert record is not None, f"{r.name} recorded no findings"
        assert record["language"] == given.get("language", "zh")
        assert record["findings"], f"{r.name} has no findings"
        if "channels" in given:
            assert record["period"]["channels"] == given["channels"].split(",")
        period = record["period"]
        days = (pd.Timestamp(period["end"]) - pd.Timestamp(period["start"])).days + 1
        assert days == (90 if given.get("period") == "last-90d" else 28)
        # the language shows in the text: Chinese findings are largely CJK; English ones only quote
        # names from the data (a campaign called "2025 双11 Double 11")
        text = "".join(f["text"] for f in record["findings"])
        cjk_share = len(re.findall(r"[\u4e00-\u9fff]", text)) / max(1, len(re.findall(r"\w", text)))
        assert (cjk_share > 0.2) if record["language"] == "zh" else (cjk_share < 0.05), (r.name, cjk_share)


def test_reports_render_offline_and_hold_no_personal_data(batch, sample_dir: Path) -> None:
    given, result = batch
    people = pd.read_parquet(sample_dir / "customers.parquet", columns=["name", "phone", "address"])
    probes = set(people.sample(300, random_state=1).stack().astype(str))
    probes |= set(people["address"].value_counts().index[:5])  # the shared address of the planted fraud ring
    for path in result.run_dir.glob("*"):
        if path.suffix not in (".html", ".json", ".csv", ".ipynb"):
            continue
        text = path.read_text(encoding="utf-8")
        leaked = [p for p in probes if p and p in text]
        assert not leaked, f"{path.name} shows personal data: {leaked[:3]}"
        if path.suffix == ".html" and path.name != "index.html":
            assert "cdn." not in text.lower() and "https://cdn" not in text
            head = text[text.index("<head>"):text.index("</head>")]
            assert head.index("assets/plotly.min.js") < (head.find("<script", head.index("assets/plotly.min.js") - 40)
                                                         + 60)
            executed = (result.run_dir / f"{path.stem}.ipynb").read_text(encoding="utf-8")
            if "application/vnd.plotly.v1+json" in executed:  # every chart of the page is in its report
                assert text.count("Plotly.newPlot") == executed.count("application/vnd.plotly.v1+json"), path.name
    assert (result.run_dir / "assets" / "plotly.min.js").stat().st_size > 1_000_000


def test_pages_show_no_nan_raw_key_foreign_word_or_impossible_interval(batch, names: set[str]) -> None:
    """What a reader sees on every page, charts included (tools/pagecheck.py): no ``nan``, no
    snake_case key, no English word on a Chinese page that is not a name from the data, no
    symmetric error bars, no share interval outside 0–100%."""
    given, result = batch
    lang = given.get("language", "zh")
    found = {}
    for r in result.notebooks:
        page = result.run_dir / f"{r.name}.ipynb"
        problems = pagecheck.problems(page, lang, names)
        if problems:
            found[r.name] = problems[:8]
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)


def test_findings_follow_the_json_contract(batch) -> None:
    given, result = batch
    for r in result.notebooks:
        text = (result.run_dir / f"{r.name}.findings.json").read_text(encoding="utf-8")
        assert "NaN" not in text and "Infinity" not in text, r.name
        for f in json.loads(text)["findings"]:
            assert {"key", "text", "estimate", "low", "high", "level", "n", "unit", "method", "status",
                    "status_reason", "change", "headline", "metric"} <= set(f), (r.name, f["key"])
            assert f["status"] in (None, "red", "amber", "green", "none"), (r.name, f["key"], f["status"])
            if f["status"] == "none":
                assert f["status_reason"], (r.name, f["key"])
            if f["low"] is not None:
                assert f["high"] is not None and f["level"] and f["low"] <= f["high"], (r.name, f["key"])


def test_every_interval_given_in_one_language_is_given_in_the_other(sample_dir: Path,
                                                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    zh = _run({}, sample_dir, tmp_path_factory)
    en = _run(ENGLISH, sample_dir, tmp_path_factory)
    compared = 0
    for a in zh.notebooks:
        b = next(x for x in en.notebooks if x.name == a.name)
        zf = {f["key"]: f for f in json.loads((zh.run_dir / f"{a.name}.findings.json").read_text())["findings"]}
        ef = {f["key"]: f for f in json.loads((en.run_dir / f"{b.name}.findings.json").read_text())["findings"]}
        assert set(zf) == set(ef), (a.name, set(zf) ^ set(ef))
        for key in zf:
            z, e = zf[key], ef[key]
            assert (z["low"] is None) == (e["low"] is None), (a.name, key)
            assert ("置信区间" in z["text"]) == (" CI " in e["text"] or "CI " in e["text"]), (a.name, key, z["text"],
                                                                                          e["text"])
            assert ("样本过少" in z["text"]) == ("too few" in e["text"]), (a.name, key)
            compared += 1
    assert compared > 50


def test_a_kpi_reads_the_same_on_every_page(batch) -> None:
    """A registry KPI that several pages show (the overview's tiles, 13_risk's alerts, each topic's own
    headline: the ``kpis`` of the findings JSON, and findings naming their ``metric``) has the same value
    and status on every page."""
    given, result = batch
    seen: dict[str, list[tuple[str, float | None, str | None]]] = {}
    for r in result.notebooks:
        record = json.loads((result.run_dir / f"{r.name}.findings.json").read_text())
        for k in record.get("kpis", []):
            seen.setdefault(k["key"], []).append((r.name, k["value"]["estimate"], k["status"]))
        for f in record["findings"]:
            if f.get("metric"):
                seen.setdefault(f["metric"], []).append((r.name, f["estimate"], f["status"]))
    shared = {k: v for k, v in seen.items() if len({page for page, _, _ in v}) > 1}
    assert len(shared) >= 8, sorted(seen)  # the overview shows every KPI; each topic page its own
    for metric, shown in shared.items():
        values = [v for _, v, _ in shown]
        assert all((v is None and values[0] is None) or (v is not None and values[0] is not None
                                                          and math.isclose(v, values[0], rel_tol=1e-9))
                   for v in values), (metric, shown)
        assert len({s for _, _, s in shown}) == 1, (metric, shown)
