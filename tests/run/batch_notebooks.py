"""Tiny notebooks for the batch tests, built on the fly (no data, no heavy imports in the kernel).

They run through the real machinery (worker processes, papermill, a python3 kernel, nbconvert):
``ok_notebook`` writes a findings record and a chart, ``failing_notebook`` raises in a cell,
``overview_notebook`` records which findings files existed when it started; ``mark`` cells leave
``<marks_dir>/<name>.json`` with the kernel's start/end time and pid.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

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


def jupyter_env(tmp: Path) -> dict[str, str]:
    """Jupyter's and IPython's folders under ``tmp``, as environment variables."""
    return {var: str(tmp / var.lower()) for var in
            ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")}
