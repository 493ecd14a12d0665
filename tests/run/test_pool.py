"""Worker pool (workbench.run.pool): time limits, and no kernel left behind when a run is stopped."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from batch_notebooks import RECORD, make_notebook, ok_notebook

from workbench import run

pytestmark = pytest.mark.usefixtures("isolated_jupyter")


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
        result = run.run_batch([slow, quick], {"data": str(tmp_path / "data"), "marks_dir": str(marks)},
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
    assert proc.returncode == 143, err  # 128 + SIGTERM (workbench.errors.EXIT_CODES)
    assert "Traceback" not in err
    assert list(root.iterdir()) == []
    kernel = json.loads((marks / "01_slow.json").read_text())["pid"]
    deadline = time.monotonic() + 10
    while psutil.pid_exists(kernel) and psutil.Process(kernel).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the kernel of the interrupted run still runs"
        time.sleep(0.2)
