"""Faults during a batch, one test each: the data changing, signals, a parent killed outright, temporary
copies, a full or read-only disk, a bad time limit, unusable data. Each asserts the outcome and its exit
code, and that no traceback reaches the user."""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from batch_notebooks import RECORD, make_notebook, ok_notebook

from testkit import tiny_tables, write_csvs
from workbench import run
from workbench.cli import main as cli
from workbench.errors import EXIT_ENVIRONMENT, EXIT_REFUSED, EnvironmentProblem, ParameterError

pytestmark = pytest.mark.usefixtures("isolated_jupyter")


def _args(notebooks: list[Path], data: Path, **kw) -> argparse.Namespace:
    base = dict(notebooks=[str(p) for p in notebooks], data=str(data), start=None, end="2025-01-06", period=None,
                as_of=None, param=["language=en"], params_file=None, out=None, jobs=1, timeout=120.0)
    return argparse.Namespace(**{**base, **kw})


def _gone(pid: int, seconds: float = 15.0) -> bool:
    import psutil

    deadline = time.monotonic() + seconds
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _tmpfs(path: Path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    return done.returncode == 0


# ----- the data changes during the run -------------------------------------------------------------------------
def test_data_rewritten_during_the_batch_is_detected_per_notebook(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    data = write_csvs(tmp_path / "shop", tiny_tables())
    nbs = tmp_path / "nbs"
    first = ok_notebook(nbs, "01_first")
    rewrite = make_notebook(nbs / "02_rewrite.ipynb", RECORD,
                            f"with open({str(data / 'orders.csv')!r}, 'a') as fh:\n    fh.write('')\n"
                            f"os.utime({str(data / 'orders.csv')!r}, ns=(1, 10**18))\n"
                            "write_record('02_rewrite', [])")
    last = ok_notebook(nbs, "03_last")
    code = run.main(_args([first, rewrite, last], data, out=str(tmp_path / "out")))
    err = capsys.readouterr().err
    assert code == 0 and "Traceback" not in err
    assert "the data changed during the run (02_rewrite, 03_last)" in err
    manifest = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    record = manifest["data"]
    assert record["changed_during_run"] == ["02_rewrite", "03_last"] and record["consistent"] is False
    assert record["fingerprint_at_end"] != record["fingerprint"]
    rows = {r["name"]: r["data_fingerprint"] for r in manifest["notebooks"]}
    assert rows["01_first"] == {"before": record["fingerprint"], "after": record["fingerprint"]}
    assert rows["02_rewrite"]["before"] == record["fingerprint"] != rows["02_rewrite"]["after"]
    assert rows["03_last"]["before"] == rows["03_last"]["after"] == record["fingerprint_at_end"]
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "The data changed during the run (02_rewrite, 03_last)" in index


def test_an_unchanged_run_is_marked_consistent_and_carries_data_warnings(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    tables = tiny_tables()
    tables["orders"] = tables["orders"].assign(coupon_code=["NULL", "", "", ""])
    data = write_csvs(tmp_path / "shop", tables)
    nb = ok_notebook(tmp_path / "nbs", "01_ok")
    assert run.main(_args([nb], data, out=str(tmp_path / "out"))) == 0
    err = capsys.readouterr().err
    assert "1 data warning(s)" in err and "changed during the run" not in err
    record = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))["data"]
    assert record["consistent"] is True and record["changed_during_run"] == []
    assert [(w["column"], w["count"]) for w in record["warnings"]] == [("coupon_code", 1)]
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "1 data warnings (1 rows); see run.json." in index and "data changed" not in index


def test_unusable_data_is_refused_before_any_kernel_starts(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    tables = tiny_tables()
    tables["orders"] = tables["orders"].assign(paid_amount=["100", "nan", "200", "40"])
    data = write_csvs(tmp_path / "shop", tables)
    nb = ok_notebook(tmp_path / "nbs", "01_ok")
    assert run.main(_args([nb], data, out=str(tmp_path / "out"))) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "orders.csv, column 'paid_amount'" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".tmp-*"))


# ----- signals and a parent killed outright --------------------------------------------------------------------
@pytest.mark.parametrize("signame,code", [("SIGHUP", 129), ("SIGINT", 130)])
def test_a_signal_stops_workers_and_kernels(tmp_path: Path, signame: str, code: int) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "data").mkdir()
    slow = make_notebook(tmp_path / "nbs" / "01_slow.ipynb", RECORD, "mark('01_slow')", "time.sleep(300)")
    root = tmp_path / "reports"
    proc = subprocess.Popen([sys.executable, "-m", "workbench.cli", "run", str(slow), "--data",
                             str(tmp_path / "data"), "-p", f"marks_dir={marks}", "--jobs", "1"],
                            env={**os.environ, "WORKBENCH_REPORTS": str(root)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while not (marks / "01_slow.json").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "slow"
        time.sleep(0.2)
    proc.send_signal(getattr(signal, signame))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert f"stopped by {signame}" in err and "Traceback" not in err
    assert list(root.iterdir()) == []
    assert _gone(json.loads((marks / "01_slow.json").read_text())["pid"]), "the kernel still runs"


def test_workers_and_kernels_end_when_the_batch_is_killed_outright(tmp_path: Path) -> None:
    import psutil

    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "data").mkdir()
    slow = make_notebook(tmp_path / "nbs" / "01_slow.ipynb", RECORD, "mark('01_slow')", "time.sleep(300)")
    proc = subprocess.Popen([sys.executable, "-m", "workbench.cli", "run", str(slow), "--data",
                             str(tmp_path / "data"), "-p", f"marks_dir={marks}", "--jobs", "1"],
                            env={**os.environ, "WORKBENCH_REPORTS": str(tmp_path / "reports")},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while not (marks / "01_slow.json").exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    workers = [p.pid for p in psutil.Process(proc.pid).children()]
    assert workers
    proc.kill()  # SIGKILL: the batch cannot clean up; the workers notice their parent is gone
    proc.wait()
    assert all(_gone(pid) for pid in workers), "a worker outlived its batch"
    assert _gone(json.loads((marks / "01_slow.json").read_text())["pid"]), "a kernel outlived its batch"


# ----- temporary copies of CSV data -------------------------------------------------------------------------------
def test_decoded_csv_copies_of_the_kernels_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    data = write_csvs(tmp_path / "shop", tiny_tables(), encoding="gbk")  # GBK: every kernel decodes a copy
    loads = make_notebook(tmp_path / "nbs" / "01_loads.ipynb", RECORD,
                          "import glob, workbench\nds = workbench.load(data)\n"
                          "copies = glob.glob(os.path.join(os.environ['TMPDIR'], 'workbench-csv-*'))\n"
                          "assert copies, 'the kernel made no copy'\nwrite_record('01_loads', [])")
    result = run.run_batch([loads], {"data": str(data), "end": "2025-01-06"}, out=tmp_path / "out", jobs=1,
                           timeout=120)
    assert result.notebooks[0].status == "succeeded", result.notebooks[0].error
    assert list(temp.glob("workbench-csv-*")) == []


# ----- full and read-only disks ------------------------------------------------------------------------------------
def test_full_disk_at_the_end_keeps_the_finished_pages_and_says_how_much_is_needed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.present import report

    (tmp_path / "data").mkdir()
    nbs = [ok_notebook(tmp_path / "nbs", "01_a"), ok_notebook(tmp_path / "nbs", "02_b")]

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report, "write_run_files", full)
    with pytest.raises(EnvironmentProblem) as err:
        run.run_batch(nbs, {"data": str(tmp_path / "data"), "end": "2025-01-06"}, out=tmp_path / "r" / "nov",
                      jobs=1, timeout=120)
    kept = tmp_path / "r" / "nov.incomplete"
    text = str(err.value)
    assert "disk is full" in text and "is needed" in text and str(kept) in text and "2 notebook(s)" in text
    assert err.value.needed_bytes and err.value.needed_bytes > 0
    assert (kept / "01_a.html").exists() and (kept / "02_b.html").exists()
    assert not (tmp_path / "r" / "nov").exists() and not list((tmp_path / "r").glob(".tmp-*"))


def test_a_disk_full_from_the_start_is_an_environment_problem(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    mnt = tmp_path / "tiny"
    if not _tmpfs(mnt, "size=1m"):
        pytest.skip("cannot mount a tmpfs here")
    try:
        (tmp_path / "data").mkdir()
        nb = ok_notebook(tmp_path / "nbs", "01_a")
        code = run.main(_args([nb], tmp_path / "data", out=str(mnt / "run")))
        err = capsys.readouterr().err
        assert code == EXIT_ENVIRONMENT, err
        assert "disk is full" in err and "Traceback" not in err
        assert os.listdir(mnt) == []
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_a_read_only_out_folder_is_an_environment_problem(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    mnt = tmp_path / "ro"
    if not _tmpfs(mnt, "ro,size=1m"):
        pytest.skip("cannot mount a tmpfs here")
    try:
        (tmp_path / "data").mkdir()
        nb = ok_notebook(tmp_path / "nbs", "01_a")
        code = run.main(_args([nb], tmp_path / "data", out=str(mnt / "run")))
        err = capsys.readouterr().err
        assert code == EXIT_ENVIRONMENT, err
        assert "read-only" in err and "--out" in err and "Traceback" not in err
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


# ----- the command line -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "soon"])
def test_a_time_limit_that_is_not_a_positive_number_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                               value: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli(["run", "--timeout", value])
    assert exit_.value.code == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "--timeout" in err and "Traceback" not in err
    (tmp_path / "data").mkdir()
    with pytest.raises(ParameterError, match="positive, finite"):
        run.run_batch([ok_notebook(tmp_path / "nbs", "01_a")], {"data": str(tmp_path / "data")},
                      out=tmp_path / "out", jobs=1, timeout=float("nan"))
