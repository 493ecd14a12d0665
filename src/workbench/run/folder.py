"""Run folders: written under a temporary name, renamed atomically when complete.

A run writes into ``<root>/.tmp-<random>`` (:func:`make_temp_dir`); :func:`publish` writes
``run.json`` and ``index.html`` last and renames the folder to ``<root>/<date>`` (``-2``, ``-3``...
when taken, :func:`claim_run_dir`); :func:`point_latest` then points ``<root>/latest`` at it.
A folder that does not hold ``index.html`` never carries a final name; :func:`remove_stale_temp_dirs`
removes the ``.tmp-*`` folders of runs killed outright.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError


def reports_root() -> Path:
    """Where runs go by default: ``$WORKBENCH_REPORTS``, else ``reports/`` of the checkout or cwd."""
    from workbench.app.notebook import repo_root

    env = os.environ.get("WORKBENCH_REPORTS")
    if env:
        return Path(env)
    root = repo_root()
    return (root if root is not None else Path.cwd()) / "reports"


def make_temp_dir(parent: Path) -> Path:
    """A fresh, empty ``parent/.tmp-<random>`` folder, readable like any other, with an ``.owner`` file
    (host and process id) so that :func:`remove_stale_temp_dirs` can tell a dead run's folder."""
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=parent))  # os.mkdir: atomic, never shared
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; a report folder is as readable as any other
    (tmp / ".owner").write_text(f"{socket.gethostname()} {os.getpid()}\n", encoding="utf-8")
    return tmp


def remove_stale_temp_dirs(parent: Path) -> list[Path]:
    """Remove ``.tmp-*`` folders in ``parent`` left by runs on this host whose process is gone."""
    removed = []
    host = socket.gethostname()
    for tmp in parent.glob(".tmp-*") if parent.is_dir() else []:
        try:
            owner_host, pid = (tmp / ".owner").read_text(encoding="utf-8").split()
            if owner_host != host:
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
        except (OSError, ValueError):
            continue
    return removed


def claim_run_dir(tmp: Path, base: Path) -> Path:
    """Rename the finished folder ``tmp`` to ``base``, or ``base-2``, ``base-3``... if taken.

    Safe against concurrent runs: a name is claimed only by a successful rename onto a name
    that does not exist (a rename onto a finished run fails, as that folder is not empty), so
    two runs never share a folder. Returns the final path.
    """
    for n in range(1, 10_000):
        candidate = base if n == 1 else base.with_name(f"{base.name}-{n}")
        if candidate.exists() or candidate.is_symlink():
            continue
        try:
            os.rename(tmp, candidate)
        except OSError:  # claimed by another run between the check and the rename: take the next
            if candidate.exists():
                continue
            raise
        return candidate
    raise WorkbenchError(f"cannot find a free name for the run folder next to {base}")


def point_latest(root: Path, run_dir: Path) -> Path | None:
    """Point the symlink ``root/latest`` at ``run_dir`` atomically (temporary link + rename).

    Returns the link, or None when ``latest`` exists and is not a symlink (left alone).
    """
    link = root / "latest"
    if link.exists() and not link.is_symlink():
        return None
    tmp = root / f".latest-{os.getpid()}-{time.monotonic_ns()}"
    target = os.path.relpath(run_dir, root)
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except OSError:
        tmp.unlink(missing_ok=True)
        return None
    return link


def prune_logs(logs: Path) -> None:
    """Remove the empty worker logs in ``logs``, and the folder itself when nothing is left."""
    for log in logs.iterdir():
        if log.stat().st_size == 0:
            log.unlink()
    if not any(logs.iterdir()):
        logs.rmdir()


def publish(tmp: Path, base: Path, manifest: Mapping[str, Any]) -> Path:
    """Finish the run folder ``tmp``: write ``run.json``, then ``index.html`` (the last files written),
    rename it to ``base`` (or ``base-2``...: :func:`claim_run_dir`) and drop its ``.owner``; the final path."""
    from workbench.present import report

    report.write_run_files(tmp, manifest)
    run_dir = claim_run_dir(tmp, base)
    (run_dir / ".owner").unlink(missing_ok=True)
    return run_dir
