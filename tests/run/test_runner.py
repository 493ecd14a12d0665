"""Batch runs (workbench.run.runner) and their report files (workbench.present.report).

Most tests run tiny notebooks built here (no data, no heavy imports in the kernel) through the
real machinery: worker processes, papermill, a python3 kernel, nbconvert. One slow test runs
the real 01_sales_traffic notebook on data/sample when it exists.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import threading
import time
from pathlib import Path

import nbformat
import pytest

from workbench.errors import NotebookError, ParameterError
from workbench.present import report
from workbench.run import runner

ROOT = Path(__file__).resolve().parents[2]

PARAMS = """data = ""
start = ""
end = ""
period = "last-28d"
as_of = ""
channels = "all"
compare = "previous"
language = "en"
findings_path = ""
marks_dir = ""
repeat = 1"""

RECORD = '''import json, os, time
STARTED = time.time()
def write_record(name, findings, skipped=()):
    sections = [{"key": k, "title": "Section " + k, "status": "skipped", "message": "needs tickets", "seconds": 0}
                for k in skipped]
    sections.append({"key": "main", "title": "Main", "status": "ok", "message": "", "seconds": 0.1})
    rec = {"notebook": name, "title": "Title of " + name, "params": {}, "period": {"start": "2025-12-01",
           "end": "2025-12-31"}, "sections": sections, "findings": findings}
    tmp = findings_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(rec, fh)
    os.replace(tmp, findings_path)
def mark(name):
    if marks_dir:
        with open(os.path.join(marks_dir, name + ".json"), "w") as fh:
            json.dump({"start": STARTED, "end": time.time(), "pid": os.getpid(), "repeat": repeat}, fh)'''

CHART = '''from IPython.display import display
spec = {"data": [{"type": "bar", "y": [1, 2, 3]}], "layout": {"title": {"text": "bars"}}}
display({"application/vnd.plotly.v1+json": spec,
         "text/html": "<div id='wb-c1' class='wb-chart'></div><script>Plotly.newPlot('wb-c1', "
                      + json.dumps(spec["data"]) + ", {});</script>",
         "text/plain": "<figure: bars>"}, raw=True)
# a figure shown the plain plotly_mimetype way (fig.show()): JSON only, no HTML
display({"application/vnd.plotly.v1+json": {"data": [{"type": "scatter", "y": [3, 1, 2]}], "layout": {}},
         "text/plain": "<figure>"}, raw=True)'''


def make_notebook(path: Path, *cells: str, params: str = PARAMS) -> Path:
    """Write a notebook: a tagged parameters cell, then ``cells`` (code)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    first = nbformat.v4.new_code_cell(params)
    first.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A test notebook"), first]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def ok_notebook(folder: Path, stem: str, sleep: float = 0.0) -> Path:
    findings = [
        {"key": "gmv", "text": f"GMV of {stem} rose <b>5%</b> & more", "section": "main", "value": 5.0,
         "unit": "CNY", "change": 0.05, "status": "green", "headline": True},
        {"key": "minor", "text": "A minor finding", "section": "main", "value": None, "unit": None,
         "change": None, "status": None, "headline": False},
    ]
    return make_notebook(
        folder / f"{stem}.ipynb",
        RECORD,
        f"# CODE-MARKER: this comment must not reach the report\nprint('OUTPUT-MARKER', repeat)\n"
        f"time.sleep({sleep})",
        CHART,
        f"write_record({stem!r}, {findings!r}, skipped=['tickets'])\nmark({stem!r})",
    )


def failing_notebook(folder: Path, stem: str) -> Path:
    return make_notebook(
        folder / f"{stem}.ipynb",
        RECORD,
        f"write_record({stem!r}, [])\nmark({stem!r})",
        "x = 1\nraise ValueError('planted failure <script>')\n# after the raise",
        "print('never runs')",
    )


def overview_notebook(folder: Path) -> Path:
    """An overview that records which findings files of the others existed when it started."""
    return make_notebook(
        folder / "00_overview.ipynb",
        RECORD,
        "import glob\nseen = sorted(os.path.basename(p) for p in glob.glob(os.path.join(os.path.dirname("
        "findings_path), '*.findings.json')) if not p.endswith('00_overview.findings.json'))\n"
        "write_record('00_overview', [{'key': 'seen', 'text': 'seen: ' + ','.join(seen), 'section': 'main',"
        " 'value': len(seen), 'unit': None, 'change': None, 'status': None, 'headline': True}])\n"
        "mark('00_overview')",
    )


@pytest.fixture(autouse=True)
def isolated_jupyter(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jupyter's and IPython's folders in a temporary place; no report ever lands in the checkout."""
    home = tmp_path_factory.mktemp("jupyter")
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.setenv("WORKBENCH_REPORTS", str(home / "reports-must-stay-unused"))


def _env_for_module(tmp: Path) -> dict[str, str]:
    return {var: str(tmp / var.lower()) for var in
            ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")}


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
        for var, value in _env_for_module(base).items():
            mp.setenv(var, value)
        mp.setenv("WORKBENCH_REPORTS", str(root))
        t0 = time.monotonic()
        code = runner.main(args)
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
        runner.run_batch([nb], {"data": str(tmp_path / "data"), **values}, root=root, jobs=1, timeout=30)
    assert message in str(info.value)
    assert "valid parameters:" in str(info.value)
    assert "repeat" in str(info.value)  # the notebook's own parameters are listed too
    assert not root.exists()


def test_missing_data_is_refused(tmp_path: Path) -> None:
    nb = ok_notebook(tmp_path / "nbs", "01_first")
    with pytest.raises(ParameterError, match="does not exist"):
        runner.run_batch([nb], {"data": str(tmp_path / "nowhere")}, root=tmp_path / "r", jobs=1, timeout=30)
    assert not (tmp_path / "r").exists()


def test_command_refuses_with_exit_code_2_and_no_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture) -> None:
    nb = ok_notebook(tmp_path / "nbs", "01_first")
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("WORKBENCH_REPORTS", str(tmp_path / "reports"))
    args = argparse.Namespace(notebooks=[str(nb)], data=str(tmp_path / "data"), start=None, end=None,
                              period=None, as_of=None, param=["threshold_pct=lots"], params_file=None, out=None,
                              jobs=1, timeout=30.0)
    assert runner.main(args) == 2
    err = capsys.readouterr().err
    assert "threshold_pct" in err and "valid parameters:" in err and "Traceback" not in err
    args.param = ["bogus=1"]
    assert runner.main(args) == 2
    assert "unknown parameter 'bogus'" in capsys.readouterr().err
    args.param, args.notebooks = [], ["99_nothing"]
    assert runner.main(args) == 2
    err = capsys.readouterr().err
    assert "unknown notebook '99_nothing'" in err and "available notebooks" in err
    assert not (tmp_path / "reports").exists()


# ----- run folders ---------------------------------------------------------------------------------------
def test_two_runs_at_once_with_the_same_date_get_different_folders(tmp_path: Path) -> None:
    nb = ok_notebook(tmp_path / "nbs", "01_first")
    (tmp_path / "data").mkdir()
    root = tmp_path / "reports"
    results: list = []

    def one() -> None:
        results.append(runner.run_batch([nb], {"data": str(tmp_path / "data"), "as_of": "2025-06-30"}, root=root,
                                        jobs=1, timeout=120, progress=io.StringIO()))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    names = sorted(r.run_dir.name for r in results)
    assert names == ["2025-06-30", "2025-06-30-2"]
    for r in results:
        assert r.exit_code == 0 and (r.run_dir / "index.html").is_file() and (r.run_dir / "01_first.html").is_file()
    assert not list(root.glob(".tmp-*")) and not list(root.glob(".latest-*"))
    assert (root / "latest").resolve() in {r.run_dir.resolve() for r in results}


def test_claiming_a_folder_name_never_shares_it(tmp_path: Path) -> None:
    base = tmp_path / "2025-01-31"
    base.mkdir()
    (base / "index.html").write_text("earlier run")
    temps = []
    for i in range(8):
        tmp = tmp_path / f".tmp-{i}"
        tmp.mkdir()
        (tmp / "index.html").write_text(str(i))
        temps.append(tmp)
    claimed: list[Path] = []
    barrier = threading.Barrier(len(temps))

    def claim(tmp: Path) -> None:
        barrier.wait()
        claimed.append(runner.claim_run_dir(tmp, base))

    threads = [threading.Thread(target=claim, args=(t,)) for t in temps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(p.name for p in claimed) == sorted(f"2025-01-31-{n}" for n in range(2, 10))
    assert (base / "index.html").read_text() == "earlier run"
    assert sorted((p / "index.html").read_text() for p in claimed) == [str(i) for i in range(8)]


def test_latest_is_replaced_atomically_and_a_real_folder_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert runner.point_latest(tmp_path, tmp_path / "a") == tmp_path / "latest"
    assert os.readlink(tmp_path / "latest") == "a"
    runner.point_latest(tmp_path, tmp_path / "b")
    assert os.readlink(tmp_path / "latest") == "b"
    other = tmp_path / "other"
    (other / "latest").mkdir(parents=True)
    assert runner.point_latest(other, tmp_path / "a") is None
    assert (other / "latest").is_dir() and not (other / "latest").is_symlink()


def test_explicit_out_folder_is_used_and_suffixed_when_taken(tmp_path: Path) -> None:
    nb = ok_notebook(tmp_path / "nbs", "01_first")
    (tmp_path / "data").mkdir()
    out = tmp_path / "weekly"
    out.mkdir()
    result = runner.run_batch([nb], {"data": str(tmp_path / "data")}, out=out, root=tmp_path / "reports", jobs=1,
                              timeout=120, progress=io.StringIO())
    assert result.run_dir == tmp_path / "weekly-2"
    assert (result.run_dir / "run.json").is_file()
    assert not (tmp_path / "reports").exists()  # an explicit folder does not move reports/latest


def test_stale_temporary_folders_of_dead_runs_are_removed(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    stale, alive = tmp_path / ".tmp-stale", tmp_path / ".tmp-alive"
    for folder, pid in ((stale, dead.stdout.strip()), (alive, str(os.getpid()))):
        folder.mkdir()
        (folder / ".owner").write_text(f"{socket.gethostname()} {pid}\n")
    assert runner.remove_stale_temp_dirs(tmp_path) == [stale]
    assert alive.is_dir() and not stale.exists()


# ----- time limit ------------------------------------------------------------------------------------------
def test_a_notebook_over_its_time_limit_is_killed_with_its_kernel(tmp_path: Path) -> None:
    import psutil

    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "data").mkdir()
    slow = make_notebook(tmp_path / "nbs" / "01_slow.ipynb", RECORD, "mark('01_slow')\nprint('BEFORE-SLEEP')",
                         "time.sleep(300)")
    quick = ok_notebook(tmp_path / "nbs", "02_quick")
    lines = tmp_path / "progress.txt"
    t0 = time.monotonic()
    with open(lines, "w") as progress:
        result = runner.run_batch([slow, quick], {"data": str(tmp_path / "data"), "marks_dir": str(marks)},
                                  root=tmp_path / "reports", jobs=2, timeout=6, progress=progress)
    assert time.monotonic() - t0 < 60
    by_name = {nb.name: nb for nb in result.notebooks}
    assert by_name["01_slow"].status == "timeout" and by_name["02_quick"].status == "succeeded"
    assert result.exit_code == 1
    assert 6 <= by_name["01_slow"].seconds < 30
    kernel = json.loads((marks / "01_slow.json").read_text())["pid"]
    deadline = time.monotonic() + 10
    while psutil.pid_exists(kernel) and psutil.Process(kernel).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the kernel of the timed-out notebook still runs"
        time.sleep(0.2)
    page = (result.run_dir / "01_slow.html").read_text(encoding="utf-8")  # as far as it got
    assert "time limit" in page and "BEFORE-SLEEP" in page
    assert "timeout" in (result.run_dir / "index.html").read_text(encoding="utf-8")
    text = lines.read_text()
    assert re.search(r"^\[\d/2\] timeout\s+01_slow \(\d+\.\d s\)", text, re.MULTILINE)
    assert re.search(r"^\[\d/2\] succeeded 02_quick \(\d+\.\d s\)", text, re.MULTILINE)
    assert text.count("started") == 2


def test_an_interrupted_run_leaves_no_folder_and_no_kernel(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    import psutil

    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "data").mkdir()
    slow = make_notebook(tmp_path / "nbs" / "01_slow.ipynb", RECORD, "mark('01_slow')", "time.sleep(300)")
    root = tmp_path / "reports"
    env = {**os.environ, "WORKBENCH_REPORTS": str(root)}
    proc = subprocess.Popen([sys.executable, "-m", "workbench.cli", "run", str(slow), "--data", str(tmp_path / "data"),
                             "-p", f"marks_dir={marks}", "--jobs", "1"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (marks / "01_slow.json").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "slow"
        time.sleep(0.2)
    assert [p.name[:5] for p in root.iterdir()] == [".tmp-"]  # a run in progress has no final name
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert list(root.iterdir()) == []
    kernel = json.loads((marks / "01_slow.json").read_text())["pid"]
    deadline = time.monotonic() + 10
    while psutil.pid_exists(kernel) and psutil.Process(kernel).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the kernel of the interrupted run still runs"
        time.sleep(0.2)


# ----- pieces --------------------------------------------------------------------------------------------
def test_resolve_notebooks_by_stem_number_and_path_overview_last(tmp_path: Path) -> None:
    for stem in ("00_overview", "01_sales", "02_products", "10_people"):
        make_notebook(tmp_path / f"{stem}.ipynb")
    (tmp_path / "helper.ipynb").write_text("{}")
    names = [p.stem for p in runner.resolve_notebooks(None, folder=tmp_path)]
    assert names == ["01_sales", "02_products", "10_people", "00_overview"]
    chosen = runner.resolve_notebooks(["00_overview", "2", "01_sales.ipynb", str(tmp_path / "10_people.ipynb")],
                                      folder=tmp_path)
    assert [p.stem for p in chosen] == ["01_sales", "02_products", "10_people", "00_overview"]
    with pytest.raises(NotebookError) as info:
        runner.resolve_notebooks(["03_nope"], folder=tmp_path)
    assert "01_sales" in str(info.value) and "10_people" in str(info.value)


def test_parameters_merge_yaml_then_assignments_then_options(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("period: last-90d\nchannels: [tmall, jd]\nend: 2025-03-31\nthreshold_pct: 3\n")
    values = runner.collect_params(path, ["period=mtd", "threshold_pct=7.5", "note=a=b"],
                                   {"period": "ytd", "data": None, "start": "2025-01-01"})
    assert values["period"] == "ytd" and values["threshold_pct"] == 7.5 and values["note"] == "a=b"
    assert values["start"] == "2025-01-01" and "data" not in values
    nb = make_notebook(tmp_path / "01_x.ipynb", params=PARAMS + "\nnote = 'x'\nflag = False\nratio = 0.5")
    (tmp_path / "d").mkdir()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        checked = runner.check_params([nb], {**values, "flag": "yes", "ratio": "2", "data": "d"})
    finally:
        os.chdir(cwd)
    assert checked.given["channels"] == "tmall,jd" and checked.given["end"] == "2025-03-31"
    assert checked.per_notebook["01_x"]["flag"] is True and checked.per_notebook["01_x"]["ratio"] == 2.0
    assert checked.per_notebook["01_x"]["data"] == str(tmp_path / "d")
    with pytest.raises(ParameterError, match="NAME=VALUE"):
        runner.collect_params(None, ["period"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(ParameterError, match="mapping"):
        runner.collect_params(bad)


def test_run_label_prefers_end_then_as_of_then_data_then_today() -> None:
    import datetime as dt

    today = dt.date(2026, 1, 2)
    assert runner.run_label({"end": "2025-12-31", "as_of": "2025-11-30"}, today) == "2025-12-31"
    assert runner.run_label({"end": "", "as_of": "2025-11-30"}, today) == "2025-11-30"
    assert runner.run_label({"end": "", "as_of": ""}, today) == "2026-01-02"
    # without either, the data's last day: the as-of date the notebooks use by default
    assert runner.run_label({"end": "", "as_of": ""}, today, last_day=dt.date(2025, 12, 31)) == "2025-12-31"


def test_make_offline_puts_plotly_first_and_drops_cdn_scripts() -> None:
    page = ('<!DOCTYPE html><html><head><meta charset="utf-8"/><title>t</title>'
            '<script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.1.10/require.min.js"></script>'
            '<script src="//cdn.example.org/mathjax.js"> </script><script>var local = 1;</script>'
            "</head><body><script>Plotly.newPlot('x', [], {})</script></body></html>")
    out = report.make_offline(page)
    assert out.startswith('<!DOCTYPE html><html><head><script src="assets/plotly.min.js"></script><meta')
    assert "require.min.js" not in out and "mathjax" not in out
    assert "var local = 1;" in out and "Plotly.newPlot" in out


def test_index_escapes_everything_it_shows() -> None:
    manifest = {
        "started": "2025-12-31T08:00:00+08:00", "seconds": 3.0,
        "params": {"channels": "<img src=x onerror=alert(1)>"},
        "effective_params": {"language": "en"},
        "data": {"path": "/data/<shop>", "fingerprint": "abc"},
        "versions": {"python": "3.11"},
        "notebooks": [{"name": "01_x", "title": "T<i>", "status": "failed", "seconds": 1.0,
                       "error": {"ename": "E", "evalue": "<bad>", "cell": "raise E('<x>')"},
                       "outputs": {}, "skipped_sections": [{"key": "k", "title": "<s>", "message": "m"}],
                       "headline_findings": [{"text": "{{rows}} & <u>", "status": "red"}], "period": None}],
    }
    page = report.render_index(manifest)
    assert "<img" not in page and "<bad>" not in page and "<i>" not in page and "<u>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "/data/&lt;shop&gt;" in page
    assert "{{rows}} &amp; &lt;u&gt;" in page  # substituted text is not treated as a placeholder
    assert "0 of 1 notebooks succeeded" in page and "(no page)" in page


# ----- the real thing -----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_real_sales_notebook_runs_in_batch(tmp_path: Path) -> None:
    sample = ROOT / "data" / "sample"
    if not (sample / "orders.parquet").exists():
        pytest.skip("data/sample/orders.parquet is absent; run `workbench sample --out data/sample`")
    nb = ROOT / "notebooks" / "01_sales_traffic.ipynb"
    result = runner.run_batch([nb], {"data": str(sample), "language": "en"}, root=tmp_path / "reports", jobs=1,
                              timeout=600, progress=io.StringIO())
    only = result.notebooks[0]
    assert only.status == "succeeded", only.error
    assert only.findings and any(f.get("headline") for f in only.findings["findings"])
    page = (result.run_dir / "01_sales_traffic.html").read_text(encoding="utf-8")
    assert page.index('<script src="assets/plotly.min.js"></script>') < page.index("Plotly.newPlot(")
    assert "wb.setup(" not in page
    index = (result.run_dir / "index.html").read_text(encoding="utf-8")
    assert "Sales and traffic" in index and "01_sales_traffic.html" in index


# ----- large data is validated once per batch -------------------------------------------------------
def test_large_data_is_validated_once_and_bad_data_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           tiny_shop: Path) -> None:
    from workbench.data.loader import fingerprint, load
    from workbench.errors import DataError
    from workbench.run import runner as runner_mod

    assert runner_mod.validate_large_data(str(tiny_shop)) is None  # small: each notebook checks it
    monkeypatch.setattr(runner_mod, "VALIDATE_ONCE_BYTES", 0)
    assert runner_mod.validate_large_data(str(tiny_shop)) == fingerprint(tiny_shop)
    # unchecked loading builds the same views without re-running the checks
    ds = load(tiny_shop, checks=False)
    assert ds.row_count("orders") == 4 and not ds.problems
    broken = tmp_path / "broken"
    shutil.copytree(tiny_shop, broken)
    (broken / "orders.csv").write_text((broken / "orders.csv").read_text().replace("o2,", "o1,"))
    with pytest.raises(DataError, match="duplicated key"):
        runner_mod.validate_large_data(str(broken))


def test_a_kernel_that_dies_at_start_is_started_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.run import runner as runner_mod

    calls = []

    def flaky(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        Path(args[1]).write_text("{}")

    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    import nbformat

    from workbench.present import report as report_mod

    monkeypatch.setattr(report_mod, "export_html", lambda *a, **k: "<html></html>")
    task = {"input": "in.ipynb", "output": str(tmp_path / "out.ipynb"), "html": str(tmp_path / "out.html"),
            "cwd": str(tmp_path), "parameters": {}}
    monkeypatch.setattr(nbformat, "read", lambda *a, **k: nbformat.v4.new_notebook())
    answer = runner_mod._execute_task(task)
    assert answer["status"] == "succeeded" and len(calls) == 2
    # any other failure is not retried
    calls.clear()

    def broken(*args: object, **kwargs: object) -> None:
        calls.append(1)
        raise RuntimeError("No such kernel named python9")

    monkeypatch.setattr(papermill, "execute_notebook", broken)
    answer = runner_mod._execute_task(task)
    assert answer["status"] == "failed" and len(calls) == 1 and "python9" in answer["error"]["evalue"]
