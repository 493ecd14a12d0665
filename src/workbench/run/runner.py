"""Batch runs: execute notebooks with papermill, in parallel, into one report folder.

    workbench run [NOTEBOOK ...] [--data PATH] [--start D --end D | --period P --as-of D]
                  [-p NAME=VALUE ...] [--params FILE.yaml] [--out DIR] [--jobs N] [--timeout S]

:func:`run_batch` is the API, :func:`main` the command. A run:

1. resolves the notebooks (:func:`resolve_notebooks`) and checks every parameter against
   :data:`workbench.app.params.SPEC` and each notebook's own parameters cell
   (:func:`check_params`) -- a bad name or value is refused before anything runs;
2. writes into a fresh ``reports/.tmp-<random>`` folder: ``assets/plotly.min.js`` once, then per
   notebook ``<stem>.ipynb`` (executed), ``<stem>.html`` (no code, charts offline) and
   ``<stem>.findings.json``; notebooks run in worker subprocesses, ``--jobs`` at a time, each
   with a time limit; ``00_*`` notebooks (the overview) start after all the others finished;
3. writes ``run.json`` and ``index.html`` last (:mod:`workbench.present.report`), renames the folder to
   ``reports/<date>`` (``<date>-2``, ``-3``... when taken) and points ``reports/latest`` at it.

A folder that does not hold ``index.html`` never carries a final name: an interrupted run is
removed, or stays as ``.tmp-*`` when the process is killed outright.

Workers are long-lived processes (``python -c ... _worker_main()``): each imports papermill and
nbconvert once and runs many notebooks, one at a time, reading one JSON task per line on stdin
and answering one JSON line on a private copy of its stdout. A worker that overruns the time
limit is killed with its kernel, and a fresh one takes its place.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Queue
from typing import Any, TextIO

from workbench.app import params as params_mod
from workbench.errors import NotebookError, ParameterError, WorkbenchError

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
KERNEL = "python3"
READY_TIMEOUT = 120.0
"""Seconds a new worker may take to import papermill and nbconvert before it counts as broken."""

RESERVED = {"findings_path"}
"""Parameters the runner sets itself; a user may not pass them."""

WORKER_ENV = {
    "WORKBENCH_BATCH": "1",               # workbench.setup: no widgets, charts as HTML + global Plotly
    "PLOTLY_RENDERER": "plotly_mimetype",  # fig.show() outside nb.show: JSON, given HTML by report.export_html
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",  # silence debugpy's frozen-modules warning on kernel start
    "PYTHONUNBUFFERED": "1",
}


# ----- results -----------------------------------------------------------------------------------
@dataclass
class NotebookResult:
    """What became of one notebook in a batch.

    ``status`` is ``succeeded``, ``failed`` or ``timeout``; ``error`` (None on success) holds
    ``ename``, ``evalue`` and, when a cell failed, ``cell`` (its first lines) and ``cell_index``;
    ``outputs`` maps ``notebook``/``html``/``findings`` to file names inside the run folder
    (only those written) and ``files`` to other files the notebook wrote there named
    ``<stem>_*``/``<stem>.*`` (e.g. a table to download); ``findings`` is the notebook's findings
    record, if it wrote one; ``seconds`` is the wall time from handing the notebook to a ready
    worker until done (execution and export), ``timings`` splits it (``execute``, ``export``).
    """

    name: str
    source: Path
    title: str
    status: str = "pending"
    seconds: float = 0.0
    error: dict[str, Any] | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    findings: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": str(self.source), "title": self.title, "status": self.status,
                "seconds": self.seconds, "error": self.error, "outputs": dict(self.outputs),
                "findings": self.findings, "timings": dict(self.timings)}


@dataclass
class RunResult:
    """A finished batch: its folder (final name), notebooks in run order and the manifest written."""

    run_dir: Path
    notebooks: list[NotebookResult]
    manifest: dict[str, Any]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(nb.ok for nb in self.notebooks)

    @property
    def exit_code(self) -> int:
        """0 when every notebook succeeded, otherwise 1."""
        return 0 if self.ok else 1

    @property
    def failed(self) -> list[NotebookResult]:
        return [nb for nb in self.notebooks if not nb.ok]


# ----- notebooks -----------------------------------------------------------------------------------
def notebooks_folder() -> Path:
    """The ``notebooks/`` folder of the checkout (or of the current directory outside one)."""
    from workbench.app.notebook import repo_root

    root = repo_root()
    return (root if root is not None else Path.cwd()) / "notebooks"


def is_overview(path: Path) -> bool:
    """True for ``00_*`` notebooks: they read the others' findings, so they run last."""
    return path.stem.startswith("00_")


def run_order(paths: Sequence[Path]) -> list[Path]:
    """``paths`` sorted by file name, ``00_*`` notebooks last."""
    return sorted(paths, key=lambda p: (is_overview(p), p.name))


def resolve_notebooks(names: Sequence[str] | None = None, folder: Path | None = None) -> list[Path]:
    """Turn notebook names into notebook files, in run order.

    ``names`` may hold stems (``01_sales_traffic``), numbers (``01``), file names or paths;
    none means every ``NN_*.ipynb`` in ``folder`` (default: :func:`notebooks_folder`).
    Raises :class:`NotebookError` listing the available notebooks when a name matches nothing.
    """
    folder = Path(folder) if folder is not None else notebooks_folder()
    available = sorted(folder.glob(NOTEBOOK_GLOB)) if folder.is_dir() else []
    if not names:
        if not available:
            raise NotebookError(f"no notebooks (files {NOTEBOOK_GLOB}) in {folder}")
        return run_order(available)
    by_stem = {p.stem: p for p in available}
    chosen: dict[str, Path] = {}
    for name in names:
        path = _match(str(name), folder, by_stem)
        if path is None:
            listing = "\n".join(f"  {p.stem}" for p in available) or "  (none)"
            raise NotebookError(f"unknown notebook '{name}'; available notebooks in {folder}:\n{listing}")
        if path.stem in chosen and chosen[path.stem] != path:
            raise NotebookError(f"two notebooks are both called {path.stem}: {chosen[path.stem]} and {path}; "
                                "their reports would overwrite each other")
        chosen[path.stem] = path
    return run_order(list(chosen.values()))


def _match(name: str, folder: Path, by_stem: Mapping[str, Path]) -> Path | None:
    stem = name.removesuffix(".ipynb")
    if stem in by_stem:
        return by_stem[stem]
    if stem.isdigit():
        hits = [p for s, p in by_stem.items() if s.split("_", 1)[0] == stem.zfill(2)]
        if len(hits) == 1:
            return hits[0]
    candidate = Path(name).expanduser()
    if candidate.suffix == ".ipynb" and candidate.is_file():
        return candidate.resolve()
    return None


# ----- parameters ----------------------------------------------------------------------------------
def collect_params(params_file: str | os.PathLike | None = None, assignments: Sequence[str] = (),
                   options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge parameters from a YAML file, then ``NAME=VALUE`` texts, then dedicated options.

    Later sources win. ``options`` holds the values of ``--data``, ``--start``... (None when not
    given). Text from ``NAME=VALUE`` is converted with :func:`workbench.app.params.coerce_text` for
    known names; names and values are checked later by :func:`check_params`.
    Raises :class:`ParameterError` for an unreadable file or an assignment without ``=``.
    """
    merged: dict[str, Any] = {}
    if params_file:
        merged.update(_read_params_file(Path(params_file)))
    for text in assignments:
        name, sep, value = str(text).partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"-p expects NAME=VALUE, got {text!r}\nvalid parameters:\n{params_mod.describe()}")
        try:
            merged[name] = params_mod.coerce_text(name, value)
        except ValueError as exc:
            raise ParameterError(f"parameter '{name}' = {value!r}: {exc}\nvalid parameters:\n"
                                 f"{params_mod.describe()}") from None
    for name, value in (options or {}).items():
        if value is not None:
            merged[name] = value
    return merged


def _read_params_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ParameterError(f"cannot read the parameters file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ParameterError(f"the parameters file {path} is not valid YAML: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict) or not all(isinstance(k, str) for k in loaded):
        raise ParameterError(f"the parameters file {path} must be a mapping of NAME: VALUE, "
                             f"got {type(loaded).__name__}")
    return loaded


@dataclass
class CheckedParams:
    """Parameters after :func:`check_params`.

    ``given``: the values passed, converted; ``effective``: every :data:`~workbench.app.params.SPEC`
    parameter with defaults filled in; ``per_notebook``: what to inject into each notebook
    (by stem), ``findings_path`` excluded; ``data_path``: the data the notebooks will read.
    """

    given: dict[str, Any]
    effective: dict[str, Any]
    per_notebook: dict[str, dict[str, Any]]
    data_path: Path


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The parameters declared in a notebook's ``parameters`` cell: name -> default value.

    Read with :func:`papermill.inspect_notebook`; a default that is not a literal comes back as
    its source text wrapped in :class:`_Expression`. Raises :class:`NotebookError` when the
    notebook cannot be read.
    """
    import papermill

    try:
        declared = papermill.inspect_notebook(str(path))
    except Exception as exc:  # nbformat, JSON or papermill errors: all mean "cannot use this file"
        raise NotebookError(f"cannot read notebook {path}: {exc}") from None
    out: dict[str, Any] = {}
    for name, info in declared.items():
        try:
            out[name] = ast.literal_eval(str(info.get("default", "None")))
        except (ValueError, SyntaxError):
            out[name] = _Expression(str(info.get("default")))
    return out


@dataclass(frozen=True)
class _Expression:
    """A parameter default that is an expression: any value is accepted for it."""

    source: str


def _convert_like(default: Any, value: Any) -> Any:
    """Convert ``value`` to the type of a notebook parameter's ``default``; ValueError if it cannot."""
    if isinstance(default, _Expression) or default is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off"):
            return False
        raise ValueError("expected true or false")
    if isinstance(default, int):
        if isinstance(value, bool):
            raise ValueError("expected a whole number")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        text = str(value).strip()
        if text.lstrip("-").isdigit():
            return int(text)
        raise ValueError("expected a whole number")
    if isinstance(default, float):
        if isinstance(value, bool):
            raise ValueError("expected a number")
        if isinstance(value, (int, float)):
            return float(value)
        try:
            return float(str(value).strip())
        except ValueError:
            raise ValueError("expected a number") from None
    if isinstance(default, str):
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        raise ValueError("expected text")
    if isinstance(default, (list, tuple, dict)):
        if isinstance(value, str):
            import yaml

            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError:
                raise ValueError(f"expected a {type(default).__name__}") from None
        if isinstance(default, dict) and isinstance(value, dict):
            return value
        if isinstance(default, (list, tuple)) and isinstance(value, (list, tuple)):
            return list(value)
        raise ValueError(f"expected a {type(default).__name__}")
    return value


def _describe_extras(declared: Mapping[str, Mapping[str, Any]]) -> str:
    rows: dict[str, list[str]] = {}
    for stem, names in declared.items():
        for name, default in names.items():
            if name not in params_mod.SPEC:
                shown = default.source if isinstance(default, _Expression) else repr(default)
                rows.setdefault(f"  {name:<14} default {shown:<12}", []).append(stem)
    if not rows:
        return ""
    return "\nnotebook parameters:\n" + "\n".join(f"{k} in {', '.join(v)}" for k, v in sorted(rows.items()))


def check_params(notebooks: Sequence[Path], values: Mapping[str, Any],
                 declared: Mapping[str, Mapping[str, Any]] | None = None) -> CheckedParams:
    """Check and convert ``values`` for a batch of ``notebooks``, before anything runs.

    A name must be in :data:`workbench.app.params.SPEC` (converted by its converter) or declared in
    the parameters cell of at least one of the notebooks (converted to the type of that
    notebook's default). A relative ``data`` path is made absolute (notebooks run in their own
    folder) and must exist. ``declared`` (stem -> name -> default) skips reading the notebooks.
    Raises :class:`ParameterError` naming every problem and listing the valid parameters.
    """
    from workbench.app.notebook import default_data

    if declared is None:
        declared = {p.stem: notebook_parameters(p) for p in notebooks}
    extras = {name for names in declared.values() for name in names if name not in params_mod.SPEC}
    problems: list[str] = []
    spec_values: dict[str, Any] = {}
    extra_values: dict[str, dict[str, Any]] = {stem: {} for stem in declared}
    for name, value in values.items():
        if name in RESERVED:
            problems.append(f"parameter '{name}' is set by `workbench run` itself; leave it out")
        elif name in params_mod.SPEC:
            try:
                spec_values[name] = params_mod.SPEC[name].convert(value)
            except (ValueError, TypeError) as exc:
                problems.append(f"parameter '{name}' = {value!r}: {exc}")
        elif name in extras:
            for stem, names in declared.items():
                if name in names:
                    try:
                        extra_values[stem][name] = _convert_like(names[name], value)
                    except ValueError as exc:
                        problems.append(f"parameter '{name}' = {value!r} for {stem}: {exc}")
        else:
            problems.append(f"unknown parameter '{name}'")
    data_path = default_data()
    if spec_values.get("data"):
        data_path = Path(spec_values["data"]).expanduser()
        data_path = data_path if data_path.is_absolute() else (Path.cwd() / data_path)
        spec_values["data"] = str(data_path)
    if not data_path.exists():
        problems.append(f"the data {data_path} does not exist; pass --data FOLDER (or create the sample shop "
                        f"with `workbench sample`)")
    allowed = set(params_mod.SPEC) - RESERVED
    listing = "\nvalid parameters:\n" + params_mod.describe(allowed) + _describe_extras(declared)
    if problems:
        raise ParameterError("; ".join(problems) + listing)
    try:
        effective = params_mod.validate(spec_values, allowed=allowed)
    except ParameterError as exc:  # cross-checks such as start after end
        raise ParameterError(str(exc).split("\nvalid parameters:")[0] + listing) from None
    for name in RESERVED:
        effective.pop(name, None)
    per_notebook = {stem: {**spec_values, **extra_values[stem]} for stem in declared}
    given = {**spec_values, **{k: v for stem_values in extra_values.values() for k, v in stem_values.items()}}
    return CheckedParams(given=given, effective=effective, per_notebook=per_notebook, data_path=data_path)


# ----- run folder ------------------------------------------------------------------------------------
def reports_root() -> Path:
    """Where runs go by default: ``$WORKBENCH_REPORTS``, else ``reports/`` of the checkout or cwd."""
    from workbench.app.notebook import repo_root

    env = os.environ.get("WORKBENCH_REPORTS")
    if env:
        return Path(env)
    root = repo_root()
    return (root if root is not None else Path.cwd()) / "reports"


def run_label(effective: Mapping[str, Any], today: dt.date | None = None, last_day: dt.date | None = None) -> str:
    """The date a run is named after (YYYY-MM-DD): its ``end``, else its ``as_of``, else the data's
    last day (``last_day``, the as-of date the notebooks use by default), else today."""
    return (effective.get("end") or effective.get("as_of") or (last_day.isoformat() if last_day else "")
            or (today or dt.date.today()).isoformat())


def data_last_day(data: str) -> dt.date | None:
    """The last day with data (the notebooks' default as-of date), or None when it cannot be read."""
    from workbench.app.notebook import default_data
    from workbench.data.loader import load
    from workbench.sql.common import data_range

    try:
        span = data_range(load(Path(data) if data else default_data(), checks=False))
    except WorkbenchError:
        return None
    return span[1] if span else None


def _make_temp_dir(parent: Path) -> Path:
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


# ----- progress ------------------------------------------------------------------------------------
class Progress:
    """One plain-text line per notebook start and finish, ``[finished/total]`` first (cron-safe)."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self._lock = threading.Lock()

    def _line(self, text: str) -> None:
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def started(self, name: str) -> None:
        with self._lock:
            self._line(f"[{self.done}/{self.total}] started   {name}")

    def finished(self, result: NotebookResult) -> None:
        with self._lock:
            self.done += 1
            extra = ""
            if result.error:
                extra = f"  {result.error.get('ename', '')}: {result.error.get('evalue', '')!s}".splitlines()[0]
                extra = extra[:160]
            self._line(f"[{self.done}/{self.total}] {result.status:<9} {result.name} ({result.seconds:.1f} s){extra}")


# ----- workers -------------------------------------------------------------------------------------
class WorkerDied(Exception):
    """Raised in the parent when a worker process exits while it was expected to answer."""


_BOOT = ("import sys; sys.modules['rfc3987_syntax'] = None\n"  # jsonschema imports it for nothing: 0.9 s
         "from workbench.run.runner import _worker_main; sys.exit(_worker_main())")


class _Worker:
    """A worker process seen from the parent: send one task, read one answer line, or kill it."""

    def __init__(self, env: Mapping[str, str], log: Path, cwd: Path) -> None:
        self.log = log
        with open(log, "ab") as err:
            self.proc = subprocess.Popen([sys.executable, "-c", _BOOT], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=err, env=dict(env), cwd=cwd,
                                         start_new_session=True)
        self._buffer = b""
        self.ready = False

    def _read_line(self, deadline: float) -> bytes | None:
        """One line from the worker, or None when ``deadline`` (monotonic) passes first."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            readable, _, _ = select.select([fd], [], [], min(remaining, 5.0))
            if not readable:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                code = self.proc.wait()
                raise WorkerDied(f"the worker process exited with code {code}; see {self.log.name}")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        if self.ready:
            return
        line = self._read_line(time.monotonic() + timeout)
        if line is None:
            self.kill()
            raise WorkerDied(f"the worker did not start within {timeout:.0f} s; see {self.log.name}")
        self.ready = True

    def run(self, task: Mapping[str, Any], timeout: float) -> dict[str, Any] | None:
        """Send ``task``; return the worker's answer, or None when ``timeout`` seconds pass first."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(task) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerDied(f"the worker process exited with code {self.proc.wait()}; see {self.log.name}") \
                from None
        line = self._read_line(time.monotonic() + timeout)
        return None if line is None else json.loads(line)

    def kill(self) -> None:
        """Kill the worker, its kernel (which runs in a session of its own) and their children."""
        _kill_tree(self.proc.pid)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def close(self) -> None:
        """Let the worker finish (end of its input), killing it if it does not exit promptly."""
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()
        if self.proc.stdout:
            self.proc.stdout.close()


def _kill_tree(pid: int) -> None:
    """SIGKILL process ``pid``, every descendant and the process group ``pid`` leads."""
    victims = []
    try:
        import psutil

        parent = psutil.Process(pid)
        victims = parent.children(recursive=True)
    except Exception:  # psutil missing or the process already gone: the group kill below still runs
        pass
    for victim in victims:
        try:
            os.killpg(victim.pid, signal.SIGKILL)  # a kernel leads its own session and group
        except OSError:
            pass
        try:
            victim.kill()
        except Exception:
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


class _Pool:
    """``size`` long-lived workers; :meth:`run` borrows an idle one for a task."""

    def __init__(self, size: int, env: Mapping[str, str], log_dir: Path, cwd: Path) -> None:
        self.size = size
        self.env = env
        self.log_dir = log_dir
        self.cwd = cwd
        self._count = 0
        self._closed = False
        self._lock = threading.Lock()
        self._idle: Queue[_Worker] = Queue()
        self._all: list[_Worker] = []
        for _ in range(size):
            self._idle.put(self._spawn())

    def _spawn(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise WorkerDied("the batch was stopped")
            self._count += 1
            worker = _Worker(self.env, self.log_dir / f"worker-{self._count}.log", self.cwd)
            self._all.append(worker)
        return worker

    def run(self, task: Mapping[str, Any], timeout: float) -> tuple[str, dict[str, Any], float]:
        """Run ``task`` on an idle worker; return (kind, answer, seconds).

        kind is "done" (answer: the worker's), "timeout" (answer: that of exporting the notebook
        as far as it got) or "died" (answer: the error); seconds run from handing the task to a
        ready worker until its answer (or the time limit).
        """
        worker = None
        began = time.monotonic()
        while worker is None:
            if self._closed:
                return "died", {"ename": "Interrupted", "evalue": "the batch was stopped"}, 0.0
            try:
                worker = self._idle.get(timeout=0.2)
            except Empty:
                continue
        try:
            worker.wait_ready()
            began = time.monotonic()
            answer = worker.run(task, timeout)
        except WorkerDied as exc:
            worker.kill()
            if not self._closed:
                self._idle.put(self._spawn())
            return "died", {"ename": "WorkerDied", "evalue": str(exc), "log": _tail(worker.log)}, \
                time.monotonic() - began
        seconds = time.monotonic() - began
        if answer is not None:
            self._idle.put(worker)
            return "done", answer, seconds
        worker.kill()
        export: dict[str, Any] = {}
        try:  # the notebook as far as it got (papermill saves after every cell) still becomes a page
            fresh = self._spawn()
            fresh.wait_ready()
            export = fresh.run({**task, "execute": False,
                                "banner": f"Stopped after {timeout:g} s: the time limit (--timeout) was reached."},
                               max(60.0, timeout)) or {}
        except WorkerDied:
            if self._closed:
                return "timeout", export, seconds
            fresh.kill()
            fresh = self._spawn()
        self._idle.put(fresh)
        return "timeout", export, seconds

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        for worker in list(self._all):
            if worker.proc.poll() is None:
                worker.close()

    def kill(self) -> None:
        """Stop at once: kill every worker (and kernel); no new worker starts after this."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
        for worker in workers:
            if worker.proc.poll() is None:
                worker.kill()


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# ----- the worker process --------------------------------------------------------------------------
def _first_lines(source: str, n: int = 3, width: int = 160) -> str:
    lines = [line[:width] for line in str(source or "").splitlines() if line.strip()]
    return "\n".join(lines[:n]) + ("\n…" if len(lines) > n else "")


#: Times a notebook is started when its kernel dies before running anything.
KERNEL_START_ATTEMPTS = 3


def _kernel_did_not_start(exc: BaseException) -> bool:
    """True for the errors of a kernel that died or hung before its first cell (nothing ran yet)."""
    text = str(exc)
    return "before replying to kernel_info" in text or "Kernel didn't respond" in text


def _execute_task(task: Mapping[str, Any]) -> dict[str, Any]:
    """Run one notebook (unless ``execute`` is false) and export its page; the answer for the parent."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from workbench.present import report

    output = Path(task["output"])
    error: dict[str, Any] | None = None
    status = "succeeded"
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    attempts = KERNEL_START_ATTEMPTS if task.get("execute", True) else 0
    for attempt in range(1, attempts + 1):
        try:
            papermill.execute_notebook(
                task["input"], str(output), parameters=task["parameters"], kernel_name=task.get("kernel", KERNEL),
                log_output=False, progress_bar=False, cwd=task["cwd"],
                shutdown_kernel="immediate",  # the notebook is done: no need to wait for a graceful exit
                extra_arguments=["--IPKernelApp.log_level=ERROR"])  # not the "TCP without encryption" warning
        except PapermillExecutionError as exc:
            status = "failed"
            error = {"ename": exc.ename, "evalue": str(exc.evalue)[:600], "cell": _first_lines(exc.source),
                     "cell_index": exc.cell_index}
        except Exception as exc:  # kernel died, bad notebook file...: recorded, the batch goes on
            if attempt < attempts and _kernel_did_not_start(exc):
                # two kernels starting at once can race for the same free port: start again
                print(f"kernel did not start ({exc}); attempt {attempt + 1} of {attempts}", file=sys.stderr)
                time.sleep(1.0)
                continue
            status = "failed"
            error = {"ename": type(exc).__name__, "evalue": str(exc)[:600]}
        break
    timings["execute"] = round(time.monotonic() - t0, 3)
    t0 = time.monotonic()
    html_written = False
    if output.exists():
        try:
            nb = nbformat.read(str(output), as_version=4)
            if task.get("banner"):
                nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**⚠ {task['banner']}**"))
            page = report.export_html(nb, title=task.get("title", output.stem), language=task.get("language", "zh"))
            report.write_text_atomic(Path(task["html"]), page)
            html_written = True
        except Exception as exc:
            if error is None:
                status = "failed"
                error = {"ename": "ExportError", "evalue": f"{type(exc).__name__}: {exc}"[:600]}
    timings["export"] = round(time.monotonic() - t0, 3)
    return {"status": status, "error": error, "html": html_written, "timings": timings}


def _quietly(func: Callable[..., Any], *args: Any) -> None:
    try:
        func(*args)
    except Exception:  # a warm-up only: the real export reports its own errors
        pass


def _worker_main() -> int:
    """Entry point of a worker process: answer one JSON line per JSON task line until stdin ends."""
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # anything else written to stdout (by us or the kernel) goes to the log
    import papermill  # noqa: F401  (imported once here, before the first task)
    from nbconvert import HTMLExporter  # noqa: F401

    from workbench.present import report

    answers.write('{"ready": true}\n')
    language = os.environ.get("WORKBENCH_REPORT_LANGUAGE", "zh")
    threading.Thread(target=_quietly, args=(report.warm_up, language), daemon=True).start()  # while a kernel starts
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = _execute_task(json.loads(line))
        except Exception as exc:  # never leave the parent waiting
            answer = {"status": "failed", "error": {"ename": type(exc).__name__, "evalue": str(exc)[:600]},
                      "html": False}
        answers.write(json.dumps(answer) + "\n")
    return 0


# ----- the batch -----------------------------------------------------------------------------------
def _worker_env(language: str) -> dict[str, str]:
    """The environment of worker processes and so of their kernels.

    Besides :data:`WORKER_ENV`: this environment's ``share/jupyter`` goes first on
    ``JUPYTER_PATH``, so that the ``python3`` kernel is this environment's Python (where the
    workbench is installed) even when the user has another ``python3`` kernelspec of their own.
    """
    env = {**os.environ, **WORKER_ENV, "WORKBENCH_REPORT_LANGUAGE": language}
    own = Path(sys.prefix) / "share" / "jupyter"
    if (own / "kernels" / KERNEL).is_dir():
        env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(own), os.environ.get("JUPYTER_PATH", "")) if p)
    return env


def _title(stem: str, lang: str) -> str:
    from workbench.text.pages import topic

    return topic(stem).title(lang)


def _read_findings(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


#: Data folders larger than this are validated once by the runner, not once per notebook.
VALIDATE_ONCE_BYTES = 100_000_000


def validate_large_data(data: str) -> str | None:
    """Validate large data once for the whole batch; return its fingerprint, or None for small data.

    Each notebook validates the data it loads, which costs little on the sample but about a
    minute per notebook at 10 million orders. Above :data:`VALIDATE_ONCE_BYTES` the runner loads
    and checks the data here, before anything runs (unusable data is refused with the loader's
    message), and tells the kernels the fingerprint of what it checked, so they skip the checks
    while the files stay unchanged.
    """
    from workbench.app.notebook import default_data
    from workbench.data.loader import fingerprint, load

    path = Path(data) if data else default_data()
    if not path.exists():
        return None
    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    if sum(p.stat().st_size for p in files) < VALIDATE_ONCE_BYTES:
        return None
    before = fingerprint(path)
    load(path)  # raises DataError naming file, column, rows and fix
    return before


def run_batch(notebooks: Sequence[Path], params: Mapping[str, Any], out: Path | None = None,
              jobs: int | None = None, timeout: float = 600.0, *, root: Path | None = None,
              progress: TextIO | None = None) -> RunResult:
    """Run ``notebooks`` with ``params`` and write a complete report folder; return what happened.

    ``params`` maps parameter names to values (text or typed, as from :func:`collect_params`);
    they are checked before anything runs (:class:`ParameterError`, nothing written).
    ``out`` is the run folder to create (taken: ``<out>-2``...); by default
    ``<root>/<date>`` (``root``: :func:`reports_root`), and then ``<root>/latest`` is pointed at it.
    ``jobs`` notebooks run at once (default: the number of cores), each within ``timeout``
    seconds; ``00_*`` notebooks start after the others. Progress lines go to ``progress``
    (default stderr).
    A failing notebook does not stop the others: check :attr:`RunResult.exit_code`.
    """
    if not notebooks:
        raise NotebookError("no notebooks to run")
    if jobs is not None and jobs < 1:
        raise ParameterError(f"--jobs must be at least 1, got {jobs}")
    if not timeout or timeout <= 0:
        raise ParameterError(f"--timeout must be a positive number of seconds, got {timeout}")
    ordered = run_order([Path(p).resolve() for p in notebooks])
    stems = [p.stem for p in ordered]
    if len(set(stems)) != len(stems):
        raise NotebookError(f"notebook names must be unique in a batch: {', '.join(stems)}")
    checked = check_params(ordered, params)
    lang = checked.effective["language"]
    validated = validate_large_data(checked.effective.get("data") or "")

    root = (Path(root) if root is not None else reports_root()).resolve()
    if out is None:
        eff = checked.effective
        last = None if (eff.get("end") or eff.get("as_of")) else data_last_day(eff.get("data") or "")
        base, latest_root = root / run_label(eff, last_day=last), root
    else:
        base, latest_root = Path(out).resolve(), None
    remove_stale_temp_dirs(base.parent)
    started = dt.datetime.now().astimezone()
    t0 = time.monotonic()
    tmp = _make_temp_dir(base.parent)
    pool: _Pool | None = None
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
        env = _worker_env(lang)
        if validated:
            env["WORKBENCH_VALIDATED"] = validated
        pool = _Pool(size, env, logs, ordered[0].parent)
        bar = Progress(len(ordered), progress)

        def one(path: Path) -> None:
            if pool.closed:
                return
            result = results[path.stem]
            bar.started(path.stem)
            kind, answer, result.seconds = pool.run(tasks[path.stem], timeout)
            if pool.closed:  # the batch was interrupted: nothing more to record
                return
            result.timings = dict(answer.get("timings") or {})
            if kind == "done":
                result.status, result.error = answer["status"], answer.get("error")
            elif kind == "timeout":
                result.status = "timeout"
                result.error = {"ename": "Timeout", "evalue": f"stopped after {timeout:g} s (time limit --timeout)"}
            else:
                result.status, result.error = "failed", answer
            for key, name in (("notebook", f"{path.stem}.ipynb"), ("html", f"{path.stem}.html"),
                              ("findings", f"{path.stem}.findings.json")):
                if (tmp / name).exists():
                    result.outputs[key] = name
            known = {f"{path.stem}.ipynb", f"{path.stem}.html", f"{path.stem}.findings.json"}
            extra = sorted(f.name for f in tmp.glob(f"{path.stem}[._]*") if f.is_file() and f.name not in known
                           and not f.name.endswith(".tmp"))
            if extra:  # anything else the notebook wrote next to its findings (tables to download...)
                result.outputs["files"] = extra
            result.findings = _read_findings(tmp / f"{path.stem}.findings.json")
            if result.findings and result.findings.get("title"):
                result.title = str(result.findings["title"])
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
        for log in logs.iterdir():
            if log.stat().st_size == 0:
                log.unlink()
        if not any(logs.iterdir()):
            logs.rmdir()
        finished = dt.datetime.now().astimezone()
        manifest = report.build_manifest(
            params=checked.given, effective_params=checked.effective, data_path=checked.data_path,
            started=started, finished=finished, notebooks=[results[p.stem].as_dict() for p in ordered],
            jobs=size, timeout=timeout)
        report.write_run_files(tmp, manifest)  # run.json, then index.html: the last files written
        run_dir = claim_run_dir(tmp, base)
        (run_dir / ".owner").unlink(missing_ok=True)
    except BaseException:
        if pool is not None:
            pool.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if latest_root is not None:
        point_latest(latest_root, run_dir)
    return RunResult(run_dir=run_dir, notebooks=[results[p.stem] for p in ordered], manifest=manifest,
                     seconds=time.monotonic() - t0)


# ----- command ----------------------------------------------------------------------------------------
def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(args: Any) -> int:
    """``workbench run``: run the notebooks named in ``args`` (an argparse Namespace); the exit code.

    0: every notebook succeeded; 1: the report was written but some notebook failed or timed
    out; 2: refused (unknown notebook, bad parameter), nothing was run; 130: interrupted.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # see _BOOT
    previous = signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        notebooks = resolve_notebooks(getattr(args, "notebooks", None) or [])
        options = {name: getattr(args, name, None) for name in ("data", "start", "end", "period", "as_of")}
        values = collect_params(getattr(args, "params_file", None), getattr(args, "param", None) or [], options)
        out = getattr(args, "out", None)
        result = run_batch(notebooks, values, out=Path(out) if out else None, jobs=getattr(args, "jobs", None),
                           timeout=600.0 if getattr(args, "timeout", None) is None else args.timeout)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: no report was written", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    n, bad = len(result.notebooks), result.failed
    summary = f"{n - len(bad)} of {n} notebooks succeeded in {result.seconds:.1f} s"
    if bad:
        summary += "; not succeeded: " + ", ".join(f"{nb.name} ({nb.status})" for nb in bad)
    print(summary, file=sys.stderr)
    print(result.run_dir / "index.html")
    return result.exit_code
