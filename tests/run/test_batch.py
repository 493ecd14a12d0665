"""Whole batches (workbench.run.batch): run_batch and the `workbench run` command, and what they write.

One module-scoped batch of tiny notebooks (batch_notebooks.py) runs through ``main``: two good notebooks,
a failing one and an overview. One slow test runs the real 01_sales_traffic notebook on data/sample
when it exists.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import time
from pathlib import Path

import nbformat
import pytest
from batch_notebooks import failing_notebook, jupyter_env, ok_notebook, overview_notebook

from workbench import run
from workbench.errors import ParameterError
from workbench.present import report

pytestmark = pytest.mark.usefixtures("isolated_jupyter")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One batch through ``main`` (the command): two good notebooks, a failing one and an overview."""
    base = tmp_path_factory.mktemp("batch")
    nbs, data, marks, root = base / "notebooks", base / "data", base / "marks", base / "reports"
    data.mkdir()
    marks.mkdir()
    paths = [ok_notebook(nbs, "01_first", sleep=4.0), ok_notebook(nbs, "02_second", sleep=1.0),
             failing_notebook(nbs, "03_broken"), overview_notebook(nbs)]
    (base / "params.yaml").write_text(f"marks_dir: {marks}\nrepeat: 5\nperiod: last-7d\n", encoding="utf-8")
    args = argparse.Namespace(
        notebooks=[str(p) for p in paths], data=str(data), start=None, end="2025-12-31", period=None,
        as_of=None, param=["repeat=3"], params_file=str(base / "params.yaml"), out=None, jobs=2, timeout=120.0)
    with pytest.MonkeyPatch.context() as mp:
        for var, value in jupyter_env(base).items():
            mp.setenv(var, value)
        mp.setenv("WORKBENCH_REPORTS", str(root))
        t0 = time.monotonic()
        code = run.main(args)
        seconds = time.monotonic() - t0
    run_dir = root / "2025-12-31"
    return {"code": code, "root": root, "run": run_dir, "marks": marks, "seconds": seconds,
            "manifest": json.loads((run_dir / "run.json").read_text(encoding="utf-8")),
            "index": (run_dir / "index.html").read_text(encoding="utf-8")}


# ----- a whole batch --------------------------------------------------------------------------------
def test_batch_exit_code_is_1_when_a_notebook_fails_and_the_run_is_complete(batch: dict) -> None:
    assert batch["code"] == 1
    assert sorted(p.name for p in batch["root"].iterdir()) == ["2025-12-31", "latest"]
    assert not list(batch["root"].glob(".tmp-*"))
    assert (batch["root"] / "latest").is_symlink()
    assert (batch["root"] / "latest").resolve() == batch["run"].resolve()
    for stem in ("01_first", "02_second", "03_broken", "00_overview"):
        assert (batch["run"] / f"{stem}.ipynb").is_file()
        assert (batch["run"] / f"{stem}.html").is_file()


def test_executed_notebooks_hold_outputs_and_injected_parameters(batch: dict) -> None:
    nb = nbformat.read(str(batch["run"] / "01_first.ipynb"), as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "repeat = 3" in injected.source  # -p beats the YAML file
    assert "period = \"last-7d\"" in injected.source
    assert "end = \"2025-12-31\"" in injected.source
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "OUTPUT-MARKER 3" in outputs
    mark = json.loads((batch["marks"] / "01_first.json").read_text())
    assert mark["repeat"] == 3


def test_notebooks_run_in_parallel_and_the_overview_runs_last(batch: dict) -> None:
    marks = {p.stem: json.loads(p.read_text()) for p in batch["marks"].glob("*.json")}
    first, second = marks["01_first"], marks["02_second"]
    assert first["start"] < second["end"] and second["start"] < first["end"], "the two did not overlap"
    assert first["pid"] != second["pid"]
    overview = marks["00_overview"]
    assert overview["start"] >= max(m["end"] for name, m in marks.items() if name != "00_overview")
    record = json.loads((batch["run"] / "00_overview.findings.json").read_text())
    assert record["findings"][0]["text"] == ("seen: 01_first.findings.json,02_second.findings.json,"
                                             "03_broken.findings.json")


def test_report_pages_have_outputs_but_no_code(batch: dict) -> None:
    page = (batch["run"] / "01_first.html").read_text(encoding="utf-8")
    assert "OUTPUT-MARKER" in page
    assert "CODE-MARKER" not in page
    assert "write_record(" not in page
    assert not re.search(r"class=\"[^\"]*\b(jp-InputArea-editor|jp-InputPrompt|jp-OutputPrompt|hl-ipython3)\b",
                         page)
    assert re.search(r"class=\"[^\"]*\bjp-OutputArea-output\b", page)  # the same check finds outputs
    assert "In&nbsp;[" not in page


def test_report_pages_load_local_plotly_first_and_nothing_from_the_network(batch: dict) -> None:
    asset = batch["run"] / "assets" / "plotly.min.js"
    assert asset.is_file() and asset.stat().st_size == report.plotly_js_path().stat().st_size
    assert list(batch["run"].rglob("plotly.min.js")) == [asset], "plotly.js is copied once per run"
    for page_path in batch["run"].glob("*.html"):
        if page_path.name == "index.html":
            continue
        page = page_path.read_text(encoding="utf-8")
        head = page[page.index("<head>") + len("<head>"):]
        assert head.startswith('<script src="assets/plotly.min.js"></script>'), page_path.name
        scripts = re.findall(r"<script\b[^>]*>", page)
        assert scripts[0] == '<script src="assets/plotly.min.js">'
        assert not [s for s in scripts if re.search(r"src=[\"']?(https?:)?//", s)], page_path.name
    page = (batch["run"] / "01_first.html").read_text(encoding="utf-8")
    assert page.count("Plotly.newPlot(") == 2  # the HTML bundle and the JSON-only figure, given HTML


def test_failure_is_recorded_with_its_cell(batch: dict) -> None:
    rows = {nb["name"]: nb for nb in batch["manifest"]["notebooks"]}
    assert rows["03_broken"]["status"] == "failed"
    error = rows["03_broken"]["error"]
    assert error["ename"] == "ValueError"
    assert "planted failure" in error["evalue"]
    assert error["cell"].splitlines()[0] == "x = 1"
    assert "never runs" not in error["cell"]
    assert {rows[s]["status"] for s in ("01_first", "02_second", "00_overview")} == {"succeeded"}
    assert batch["manifest"]["status"] == "failed" and batch["manifest"]["failed"] == ["03_broken"]
    page = (batch["run"] / "03_broken.html").read_text(encoding="utf-8")
    assert "planted failure" in page


def test_manifest_records_parameters_data_versions_and_findings(batch: dict) -> None:
    m = batch["manifest"]
    assert [nb["name"] for nb in m["notebooks"]] == ["01_first", "02_second", "03_broken", "00_overview"]
    assert m["params"]["repeat"] == 3 and m["params"]["period"] == "last-7d" and m["params"]["end"] == "2025-12-31"
    assert m["effective_params"]["language"] == "zh" and "findings_path" not in m["effective_params"]
    assert Path(m["data"]["path"]).is_absolute() and len(m["data"]["fingerprint"]) == 16
    assert {"workbench", "pandas", "plotly", "statsmodels", "papermill", "duckdb", "voila", "python"} <= set(
        m["versions"])
    first = m["notebooks"][0]
    assert first["title"] == "Title of 01_first"
    assert first["outputs"] == {"notebook": "01_first.ipynb", "html": "01_first.html",
                                "findings": "01_first.findings.json"}
    assert [f["key"] for f in first["headline_findings"]] == ["gmv"]
    assert first["skipped_sections"] == [{"key": "tickets", "title": "Section tickets", "message": "needs tickets"}]
    assert first["seconds"] > 4.0
    assert m["started"] <= m["finished"]


def test_index_lists_every_notebook_with_status_link_and_findings(batch: dict) -> None:
    index = batch["index"]
    for stem, status in (("01_first", "succeeded"), ("02_second", "succeeded"), ("03_broken", "failed"),
                         ("00_overview", "succeeded")):
        row = re.search(rf"<tr class='row-(\w+)'><td><a href='{stem}.html'>Title of {stem}</a>", index)
        assert row is not None, stem
        assert row.group(1) == status
    assert "status-failed" in index and "status-succeeded" in index
    assert "GMV of 01_first rose &lt;b&gt;5%&lt;/b&gt; &amp; more" in index
    assert "<b>5%</b>" not in index
    assert "planted failure &lt;script&gt;" in index
    assert "Section tickets" in index
    assert "A minor finding" not in index  # a headline finding exists, so only it is shown
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", index)
    assert "<script" not in index


# ----- refusing before anything runs -------------------------------------------------------------------
@pytest.mark.parametrize("values, message", [
    ({"colour": "red"}, "unknown parameter 'colour'"),
    ({"period": "fortnight"}, "parameter 'period'"),
    ({"repeat": "many"}, "parameter 'repeat' = 'many'"),
    ({"start": "2025-13-01"}, "parameter 'start'"),
    ({"findings_path": "/tmp/x.json"}, "findings_path"),
    ({"start": "2025-12-31", "end": "2025-12-01"}, "after end"),
])
def test_bad_parameters_are_refused_before_anything_runs(tmp_path: Path, values: dict, message: str) -> None:
    nb = ok_notebook(tmp_path / "nbs", "01_first")
    (tmp_path / "data").mkdir()
    root = tmp_path / "reports"
    with pytest.raises(ParameterError) as info:
        run.run_batch([nb], {"data": str(tmp_path / "data"), **values}, root=root, jobs=1, timeout=30)
    assert message in str(info.value)
    assert "valid parameters:" in str(info.value)
    assert "repeat" in str(info.value)  # the notebook's own parameters are listed too
    assert not root.exists()


def test_missing_data_is_refused(tmp_path: Path) -> None:
    nb = ok_notebook(tmp_path / "nbs", "01_first")
    with pytest.raises(ParameterError, match="does not exist"):
        run.run_batch([nb], {"data": str(tmp_path / "nowhere")}, root=tmp_path / "r", jobs=1, timeout=30)
    assert not (tmp_path / "r").exists()


def test_command_refuses_with_exit_code_2_and_no_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture) -> None:
    nb = ok_notebook(tmp_path / "nbs", "01_first")
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("WORKBENCH_REPORTS", str(tmp_path / "reports"))
    args = argparse.Namespace(notebooks=[str(nb)], data=str(tmp_path / "data"), start=None, end=None,
                              period=None, as_of=None, param=["threshold_pct=lots"], params_file=None, out=None,
                              jobs=1, timeout=30.0)
    assert run.main(args) == 2
    err = capsys.readouterr().err
    assert "threshold_pct" in err and "valid parameters:" in err and "Traceback" not in err
    args.param = ["bogus=1"]
    assert run.main(args) == 2
    assert "unknown parameter 'bogus'" in capsys.readouterr().err
    args.param, args.notebooks = [], ["99_nothing"]
    assert run.main(args) == 2
    err = capsys.readouterr().err
    assert "unknown notebook '99_nothing'" in err and "available notebooks" in err
    assert not (tmp_path / "reports").exists()


# ----- the real thing -----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_real_sales_notebook_runs_in_batch(tmp_path: Path) -> None:
    sample = ROOT / "data" / "sample"
    if not (sample / "orders.parquet").exists():
        pytest.skip("data/sample/orders.parquet is absent; run `workbench sample --out data/sample`")
    nb = ROOT / "notebooks" / "01_sales_traffic.ipynb"
    result = run.run_batch([nb], {"data": str(sample), "language": "en"}, root=tmp_path / "reports", jobs=1,
                              timeout=600, progress=io.StringIO())
    only = result.notebooks[0]
    assert only.status == "succeeded", only.error
    assert only.findings and any(f.get("headline") for f in only.findings["findings"])
    page = (result.run_dir / "01_sales_traffic.html").read_text(encoding="utf-8")
    assert page.index('<script src="assets/plotly.min.js"></script>') < page.index("Plotly.newPlot(")
    assert "wb.setup(" not in page
    index = (result.run_dir / "index.html").read_text(encoding="utf-8")
    assert "Sales and traffic" in index and "01_sales_traffic.html" in index


def test_the_default_time_limit_grows_with_the_orders(tmp_path: Path) -> None:
    """A flat 600 s stopped 12_crm on a shop of 10.5 million orders; without --timeout the limit is
    600 s up to a million orders and grows in proportion beyond, and run.json records the one used."""
    from workbench.run.batch import default_timeout
    from workbench.run.parameters import check_data

    assert default_timeout(0) == default_timeout(105_000) == 600.0
    assert default_timeout(10_500_000) == pytest.approx(6300.0)
    sample = ROOT / "data" / "sample"
    if (sample / "orders.parquet").exists():
        import duckdb
        rows = duckdb.sql(f"SELECT count(*) FROM '{sample / 'orders.parquet'}'").fetchall()[0][0]
        assert check_data(str(sample)).orders == rows > 0
    nb = ok_notebook(tmp_path / "nbs", "01_first")
    (tmp_path / "data").mkdir()
    result = run.run_batch([nb], {"data": str(tmp_path / "data")}, root=tmp_path / "reports", jobs=1,
                           progress=io.StringIO())
    assert json.loads((result.run_dir / "run.json").read_text(encoding="utf-8"))["timeout"] == 600.0
    from workbench.cli import build_parser

    assert build_parser().parse_args(["run"]).timeout is None  # the command leaves it to the data
