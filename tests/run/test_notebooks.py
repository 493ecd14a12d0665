"""Every notebook in notebooks/ runs in the batch on the sample shop, with default and other parameters.

The notebooks are discovered, so a new notebook is covered without editing this file. The
published output (HTML reports, findings) is checked for personal data and for the figures
being rendered offline.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from workbench import run

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = run.resolve_notebooks()

OTHER = {"language": "en", "period": "last-90d", "channels": "tmall,jd,douyin,cross_border", "compare": "last_year"}


@pytest.fixture(scope="module", params=[{}, OTHER], ids=["defaults", "english-90d-3channels-last-year"])
def batch(request: pytest.FixtureRequest, sample_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("batch") / "run"
    result = run.run_batch(NOTEBOOKS, {"data": str(sample_dir), **request.param}, out=out, jobs=2,
                           timeout=300)
    return request.param, result


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
            assert "Plotly.newPlot" in text, f"{path.name} has no chart"
    assert (result.run_dir / "assets" / "plotly.min.js").stat().st_size > 1_000_000
