"""Run folders (workbench.run.folder): atomic names, reports/latest, stale temporary folders."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import pytest
from batch_notebooks import ok_notebook

from workbench import run
from workbench.run.folder import claim_run_dir, point_latest, remove_stale_temp_dirs

pytestmark = pytest.mark.usefixtures("isolated_jupyter")


def test_two_runs_at_once_with_the_same_date_get_different_folders(tmp_path: Path) -> None:
    nb = ok_notebook(tmp_path / "nbs", "01_first")
    (tmp_path / "data").mkdir()
    root = tmp_path / "reports"
    results: list = []

    def one() -> None:
        results.append(run.run_batch([nb], {"data": str(tmp_path / "data"), "as_of": "2025-06-30"}, root=root,
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
        claimed.append(claim_run_dir(tmp, base))

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
    assert point_latest(tmp_path, tmp_path / "a") == tmp_path / "latest"
    assert os.readlink(tmp_path / "latest") == "a"
    point_latest(tmp_path, tmp_path / "b")
    assert os.readlink(tmp_path / "latest") == "b"
    other = tmp_path / "other"
    (other / "latest").mkdir(parents=True)
    assert point_latest(other, tmp_path / "a") is None
    assert (other / "latest").is_dir() and not (other / "latest").is_symlink()


def test_explicit_out_folder_is_used_and_suffixed_when_taken(tmp_path: Path) -> None:
    nb = ok_notebook(tmp_path / "nbs", "01_first")
    (tmp_path / "data").mkdir()
    out = tmp_path / "weekly"
    out.mkdir()
    result = run.run_batch([nb], {"data": str(tmp_path / "data")}, out=out, root=tmp_path / "reports", jobs=1,
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
    assert remove_stale_temp_dirs(tmp_path) == [stale]
    assert alive.is_dir() and not stale.exists()
