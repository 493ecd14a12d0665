"""Batch runs: execute notebooks with papermill, in parallel, into one report folder.

    workbench run [NOTEBOOK ...] [--data PATH] [--start D --end D | --period P --as-of D]
                  [-p NAME=VALUE ...] [--params FILE.yaml] [--out DIR] [--jobs N] [--timeout S]

:func:`run_batch` is the API, :func:`main` the command. This module only orchestrates; a run:

1. resolves the notebooks (:mod:`workbench.run.discover`) and checks every parameter against
   :data:`workbench.app.params.SPEC` and each notebook's own parameters cell
   (:mod:`workbench.run.parameters`) -- a bad name or value is refused before anything runs;
2. writes into a fresh ``reports/.tmp-<random>`` folder (:mod:`workbench.run.folder`):
   ``assets/plotly.min.js`` once, then per notebook ``<stem>.ipynb`` (executed), ``<stem>.html``
   (no code, charts offline) and ``<stem>.findings.json``; notebooks run in long-lived worker
   processes (:mod:`workbench.run.pool`, :mod:`workbench.run.worker`), ``--jobs`` at a time, each
   with a time limit; ``00_*`` notebooks (the overview) start after all the others finished;
3. writes ``run.json`` and ``index.html`` last (:mod:`workbench.present.report`), renames the folder to
   ``reports/<date>`` (``<date>-2``, ``-3``... when taken) and points ``reports/latest`` at it.

A folder that does not hold ``index.html`` never carries a final name: an interrupted run is
removed, or stays as ``.tmp-*`` when the process is killed outright.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from workbench.errors import (
    EXIT_ENVIRONMENT,
    EXIT_REFUSED,
    EnvironmentProblem,
    NotebookError,
    ParameterError,
    WorkbenchError,
    environment_problem,
)
from workbench.data.loader import fingerprint, remove_stale_csv_copies
from workbench.run.discover import is_overview, resolve_notebooks, run_order
from workbench.run.folder import make_temp_dir, point_latest, prune_logs, publish, remove_stale_temp_dirs, reports_root
from workbench.run.parameters import check_data, check_params, collect_params, run_label
from workbench.run.pool import KERNEL, Pool, worker_env
from workbench.run.results import NotebookResult, Progress, RunResult

__all__ = ["main", "run_batch"]


def _title(stem: str, lang: str) -> str:
    from workbench.text.pages import topic

    return topic(stem).title(lang)


def _read_findings(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _record(result: NotebookResult, kind: str, answer: dict[str, Any], tmp: Path, timeout: float) -> None:
    """Fill ``result`` from a pool's answer (``kind``: done, timeout or died) and the files in ``tmp``."""
    stem = result.name
    result.timings = dict(answer.get("timings") or {})
    if kind == "done":
        result.status, result.error = answer["status"], answer.get("error")
    elif kind == "timeout":
        result.status = "timeout"
        result.error = {"ename": "Timeout", "evalue": f"stopped after {timeout:g} s (time limit --timeout)"}
    else:
        result.status, result.error = "failed", answer
    for key, name in (("notebook", f"{stem}.ipynb"), ("html", f"{stem}.html"), ("findings", f"{stem}.findings.json")):
        if (tmp / name).exists():
            result.outputs[key] = name
    known = {f"{stem}.ipynb", f"{stem}.html", f"{stem}.findings.json"}
    extra = sorted(f.name for f in tmp.glob(f"{stem}[._]*") if f.is_file() and f.name not in known
                   and not f.name.endswith(".tmp"))
    if extra:  # anything else the notebook wrote next to its findings (tables to download...)
        result.outputs["files"] = extra
    result.findings = _read_findings(tmp / f"{stem}.findings.json")
    if result.findings and result.findings.get("title"):
        result.title = str(result.findings["title"])


#: The default time limit per notebook: this many seconds, and as many again per million orders beyond the
#: first million. The sample shop (105,000 orders) runs each notebook in under a minute; a shop of 10.5
#: million orders (scale 100) ran 12_crm in 556 s on 2 cores under load, and a flat 600 s had cut it off
#: before. The limit is there to stop a hung notebook, not a large shop.
TIMEOUT_BASE = 600.0


def default_timeout(orders: int) -> float:
    """Seconds a notebook may run when ``--timeout`` is not given, for data of ``orders`` order rows:
    :data:`TIMEOUT_BASE` up to a million orders, growing in proportion beyond (6,300 s for 10.5 million)."""
    return TIMEOUT_BASE * max(1.0, orders / 1_000_000)


def run_batch(notebooks: Sequence[Path], params: Mapping[str, Any], out: Path | None = None,
              jobs: int | None = None, timeout: float | None = None, *, root: Path | None = None,
              progress: TextIO | None = None) -> RunResult:
    """Run ``notebooks`` with ``params`` and write a complete report folder; return what happened.

    ``params`` maps parameter names to values (text or typed, as from :func:`collect_params`);
    they are checked before anything runs (:class:`ParameterError`, nothing written).
    ``out`` is the run folder to create (taken: ``<out>-2``...); by default
    ``<root>/<date>`` (``root``: :func:`reports_root`), and then ``<root>/latest`` is pointed at it.
    ``jobs`` notebooks run at once (default: the number of cores), each within ``timeout``
    seconds (default: :func:`default_timeout` of the data's orders); ``00_*`` notebooks start after
    the others. Progress lines go to ``progress``
    (default stderr).
    A failing notebook does not stop the others: check :attr:`RunResult.exit_code`.
    """
    if not notebooks:
        raise NotebookError("no notebooks to run")
    if jobs is not None and jobs < 1:
        raise ParameterError(f"--jobs must be at least 1, got {jobs}")
    if timeout is not None and (not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0):
        raise ParameterError(f"--timeout must be a positive, finite number of seconds, got {timeout}")
    ordered = run_order([Path(p).resolve() for p in notebooks])
    stems = [p.stem for p in ordered]
    if len(set(stems)) != len(stems):
        raise NotebookError(f"notebook names must be unique in a batch: {', '.join(stems)}")
    checked = check_params(ordered, params)
    lang = checked.effective["language"]
    _check_engine(checked.effective.get("engine") or os.environ.get("WORKBENCH_ENGINE", ""))
    # the data is checked once, before any kernel starts: unusable data is refused here, and its
    # warnings go to run.json and the index; its fingerprint is compared before and after each notebook
    data = check_data(checked.effective.get("data") or "")
    validated = data.validated
    if timeout is None:
        timeout = default_timeout(data.orders)

    root = (Path(root) if root is not None else reports_root()).resolve()
    if out is None:
        eff = checked.effective
        last = None if (eff.get("end") or eff.get("as_of")) else data.last_day
        base, latest_root = root / run_label(eff, last_day=last), root
    else:
        base, latest_root = Path(out).resolve(), None
    started = dt.datetime.now().astimezone()
    t0 = time.monotonic()
    try:
        remove_stale_temp_dirs(base.parent)
        tmp = make_temp_dir(base.parent)
    except OSError as exc:  # a read-only or full disk, a folder the user may not write
        raise environment_problem(exc, str(base.parent)) from None
    pool: Pool | None = None
    seen: dict[str, dict[str, str]] = {}
    results: dict[str, NotebookResult] = {}
    try:
        from workbench.present import report

        report.copy_plotly_js(tmp)
        logs = tmp / "logs"
        logs.mkdir()
        results = {p.stem: NotebookResult(p.stem, p, _title(p.stem, lang)) for p in ordered}
        tasks = {p.stem: {
            "input": str(p), "output": str(tmp / f"{p.stem}.ipynb"), "html": str(tmp / f"{p.stem}.html"),
            "cwd": str(p.parent), "kernel": KERNEL, "language": lang, "title": results[p.stem].title,
            "parameters": {**checked.per_notebook[p.stem], "findings_path": str(tmp / f"{p.stem}.findings.json")},
        } for p in ordered}
        first = [p for p in ordered if not is_overview(p)]
        last = [p for p in ordered if is_overview(p)]
        size = max(1, min(jobs or os.cpu_count() or 1, max(len(first), len(last))))
        env = worker_env(lang)
        if validated:
            env["WORKBENCH_VALIDATED"] = validated
        pool = Pool(size, env, logs, ordered[0].parent)
        bar = Progress(len(ordered), progress)

        def one(path: Path) -> None:
            if pool.closed:
                return
            result = results[path.stem]
            bar.started(path.stem)
            before = fingerprint(data.path)
            kind, answer, result.seconds = pool.run(tasks[path.stem], timeout)
            seen[path.stem] = {"before": before, "after": fingerprint(data.path)}
            remove_stale_csv_copies()  # the decoded CSV copies of the kernel that just ended
            if pool.closed:  # the batch was interrupted: nothing more to record
                return
            _record(result, kind, answer, tmp, timeout)
            bar.finished(result)

        threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="workbench-run")
        try:
            for phase in (first, last):
                for future in [threads.submit(one, p) for p in phase]:
                    future.result()
        except BaseException:
            threads.shutdown(wait=False, cancel_futures=True)
            pool.kill()  # the threads waiting on workers return at once
            raise
        threads.shutdown()
        pool.close()
        prune_logs(logs)
        finished = dt.datetime.now().astimezone()
        manifest = report.build_manifest(
            params=checked.given, effective_params=checked.effective, data_path=checked.data_path,
            started=started, finished=finished, notebooks=[results[p.stem].as_dict() for p in ordered],
            jobs=size, timeout=timeout)
        _add_data_record(manifest, data, seen)
        run_dir = publish(tmp, base, manifest)  # run.json, then index.html: the last files written
    except OSError as exc:
        if pool is not None:
            pool.kill()
        raise _keep_finished(tmp, base, exc, results) from None
    except BaseException:
        if pool is not None:
            pool.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        remove_stale_csv_copies()
    if latest_root is not None:
        point_latest(latest_root, run_dir)
    return RunResult(run_dir=run_dir, notebooks=[results[p.stem] for p in ordered], manifest=manifest,
                     seconds=time.monotonic() - t0)


def _check_engine(engine: str) -> None:
    """Refuse a Spark batch before any kernel starts when Spark cannot run here (EnvironmentProblem, exit 3)."""
    from workbench.sql import spark

    name, master = spark.parse_engine(engine)
    if name == "spark":
        spark.check_available(master)


def _add_data_record(manifest: dict[str, Any], data: Any, seen: Mapping[str, Mapping[str, str]]) -> None:
    """Put the data's check into ``manifest``: the fingerprint each notebook saw before and after it ran,
    whether the data changed during the run (and for which notebooks), and the loader's warnings."""
    record = manifest.setdefault("data", {})
    record["fingerprint"] = data.fingerprint  # as checked before the run
    record["fingerprint_at_end"] = fingerprint(data.path)
    changed = sorted(stem for stem, fp in seen.items()
                     if fp["before"] != data.fingerprint or fp["after"] != data.fingerprint)
    record["changed_during_run"] = changed
    record["consistent"] = not changed and record["fingerprint_at_end"] == data.fingerprint
    record["warnings"] = [p for p in data.problems if p["severity"] in ("warning", "note")]
    for row in manifest.get("notebooks", []):
        if row["name"] in seen:
            row["data_fingerprint"] = dict(seen[row["name"]])


def _keep_finished(tmp: Path, base: Path, exc: OSError, results: Mapping[str, NotebookResult]) -> EnvironmentProblem:
    """After a disk error while finishing the run: keep the pages already written (under
    ``<base>.incomplete``, never the final name) and say where they are and how much space is needed."""
    done = [r for r in results.values() if r.outputs.get("html")]
    try:
        written = sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file())
    except OSError:
        written = 0
    if done:  # what the finished pages took, for the pages left, run.json and the index
        per_page = written / len(done)
        needed = int(per_page * (len(results) - len(done) + 2) + (1 << 20))
    else:  # nothing finished: the plotly bundle and, as a rule of thumb, 2 MB a page
        needed = _plotly_js_size() + (2 << 20) * max(len(results), 1)
    kept = None
    if done:
        for n in range(1, 1000):
            candidate = base.with_name(f"{base.name}.incomplete" + ("" if n == 1 else f"-{n}"))
            try:
                os.rename(tmp, candidate)
            except OSError:
                if candidate.exists():
                    continue
                break
            kept = candidate
            (kept / ".owner").unlink(missing_ok=True)
            break
    if kept is None:
        shutil.rmtree(tmp, ignore_errors=True)
    problem = environment_problem(exc, str(base.parent), needed_bytes=needed)
    if kept is not None:
        problem = EnvironmentProblem(f"{problem}; the pages of the {len(done)} notebook(s) that finished are kept "
                                     f"in {kept}", needed)
    return problem


def _plotly_js_size() -> int:
    try:
        import plotly

        return (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").stat().st_size
    except (ImportError, OSError):
        return 5 << 20


# ----- command ----------------------------------------------------------------------------------------
class Stopped(KeyboardInterrupt):
    """Raised in the main thread when the batch receives SIGTERM or SIGHUP (a closed terminal)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, frame: Any) -> None:
    raise Stopped(signum)


#: Signals that stop the whole batch: its workers and their kernels are killed, no report is written.
STOP_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)


def run_from_args(args: Any, values: Mapping[str, Any] | None = None, *, root: Path | None = None,
                  jobs: int | None = None, progress: TextIO | None = None) -> RunResult:
    """Run the batch that ``args`` (an argparse Namespace of ``workbench run``) describes.

    ``values`` replaces the parameters read from ``args`` (``--params``, ``-p``, ``--data``...);
    ``root`` and ``jobs`` override the reports root and ``--jobs``. Raises what :func:`run_batch` raises.
    """
    notebooks = resolve_notebooks(getattr(args, "notebooks", None) or [])
    if values is None:
        options = {name: getattr(args, name, None) for name in ("data", "start", "end", "period", "as_of", "engine")}
        values = collect_params(getattr(args, "params_file", None), getattr(args, "param", None) or [], options)
    out = getattr(args, "out", None)
    return run_batch(notebooks, values, out=Path(out) if out else None,
                     jobs=jobs if jobs is not None else getattr(args, "jobs", None),
                     timeout=getattr(args, "timeout", None),
                     root=root, progress=progress)


def print_result(result: RunResult, stream: TextIO | None = None) -> None:
    """The closing lines of ``workbench run``: how many notebooks succeeded (stderr), the index (stdout)."""
    n, bad = len(result.notebooks), result.failed
    summary = f"{n - len(bad)} of {n} notebooks succeeded in {result.seconds:.1f} s"
    if bad:
        summary += "; not succeeded: " + ", ".join(f"{nb.name} ({nb.status})" for nb in bad)
    data_record = result.manifest.get("data", {})
    if data_record.get("changed_during_run") or data_record.get("consistent") is False:
        summary += ("; WARNING: the data changed during the run (" +
                    (", ".join(data_record.get("changed_during_run") or []) or "after the last notebook") +
                    "): the pages may disagree; run again when the data is complete")
    warnings = data_record.get("warnings") or []
    if warnings:
        summary += f"; {len(warnings)} data warning(s), listed in run.json and the index"
    print(summary, file=stream or sys.stderr)
    print(result.run_dir / "index.html")
    environment = result.environment_failure
    if environment:
        print(f"error: environment problem, {environment}", file=stream or sys.stderr)


def stop_code(exc: BaseException, stream: TextIO | None = None) -> int:
    """Say why a batch ended before its report (on ``stream``, default stderr) and return the exit code.

    :class:`EnvironmentProblem` and other OS errors (disk full, read-only, permission): 3; any other
    :class:`WorkbenchError` (unusable data, bad parameter): 2; a stop signal: 128 + its number
    (SIGINT 130, SIGTERM 143, SIGHUP 129). See :data:`workbench.errors.EXIT_CODES`.
    """
    out = stream or sys.stderr
    if isinstance(exc, KeyboardInterrupt):
        signum = int(getattr(exc, "signum", signal.SIGINT))
        print(f"stopped by {signal.Signals(signum).name}: workers and kernels were stopped; no report was written",
              file=out)
        return 128 + signum
    if isinstance(exc, OSError) and not isinstance(exc, WorkbenchError):
        exc = environment_problem(exc, getattr(exc, "filename", None) or ".")
    print(f"error: {exc}", file=out)
    return EXIT_ENVIRONMENT if isinstance(exc, EnvironmentProblem) else EXIT_REFUSED


class handle_stop:
    """Within this block SIGTERM and SIGHUP (a closed terminal) stop the batch as Ctrl-C does, raising
    :class:`Stopped` (only in the main thread); workers and kernels are killed on the way out."""

    def __enter__(self) -> None:
        self.previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self.previous[signum] = signal.signal(signum, _terminate)

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def main(args: Any) -> int:
    """``workbench run``: run the notebooks named in ``args`` (an argparse Namespace); the exit code.

    0: every notebook succeeded; 1: the report was written but some notebook failed or timed
    out; 2: refused (unusable data, unknown notebook, bad parameter), nothing was run; 3: environment
    problem (full disk, read-only or forbidden folder: finished pages are kept); 130 on SIGINT, 143 on
    SIGTERM, 129 on SIGHUP: stopped, workers and kernels killed (see :data:`workbench.errors.EXIT_CODES`).
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # see workbench.run.pool._BOOT
    try:
        with handle_stop():
            result = run_from_args(args)
    except (WorkbenchError, OSError, KeyboardInterrupt) as exc:
        return stop_code(exc)
    print_result(result)
    return result.exit_code
