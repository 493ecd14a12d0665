"""Static or live: a notebook run without a front end renders static output by itself, with no
environment variable (plain papermill, nbconvert --execute, schedulers built on them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from workbench.app import mode
from workbench.run import resolve_notebooks

ROOT = Path(__file__).resolve().parents[2]


def test_the_batch_variable_forces_either_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_BATCH", "1")
    assert mode.headless() and not mode.self_contained()
    monkeypatch.setenv("WORKBENCH_BATCH", "0")
    assert not mode.headless()


def test_outside_a_kernel_the_page_is_static(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKBENCH_BATCH", raising=False)
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    assert mode.headless() and mode.self_contained()
    monkeypatch.setenv("VOILA_PREHEAT", "False")
    assert not mode.headless()


def _plain_papermill(nb: Path, out: Path) -> tuple[Path, int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKBENCH_", "VOILA_"))}
    proc = subprocess.run([str(Path(sys.executable).with_name("papermill")), "--log-level", "ERROR", str(nb),
                           str(out / nb.name)], env=env, capture_output=True, text=True, timeout=300)
    return nb, proc.returncode, proc.stderr[-2000:]


@pytest.mark.slow
def test_plain_papermill_runs_every_notebook_with_static_charts(tmp_path: Path) -> None:
    notebooks = resolve_notebooks()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda nb: _plain_papermill(nb, tmp_path), notebooks))
    failed = {nb.stem: err for nb, rc, err in results if rc != 0}
    assert not failed, failed
    for nb, _, _ in results:
        cells = json.loads((tmp_path / nb.name).read_text(encoding="utf-8"))["cells"]
        html = "".join("".join(o.get("data", {}).get("text/html", "")) for c in cells for o in c.get("outputs", []))
        assert "application/vnd.jupyter.widget-view+json" not in json.dumps(cells), f"{nb.stem} shows widgets"
        if "Plotly.newPlot" in html:  # a page with charts carries plotly.js once, so it renders offline
            assert html.count("window._wbDefine = window.define") == 1, nb.stem
