"""The long-lived papermill workers of a batch, seen from the parent process.

A :class:`Pool` holds ``size`` :class:`Worker` processes (``python -c ...``, running
:func:`workbench.run.worker.worker_main`): each imports papermill and nbconvert once and runs many
notebooks, one at a time, reading one JSON task per line on stdin and answering one JSON line on
a private copy of its stdout. :meth:`Pool.run` borrows an idle worker for a task within a time
limit; a worker that overruns it is killed with its kernel (:func:`kill_tree`), the notebook as far
as it got is still exported by a fresh worker, and that one takes its place. :func:`worker_env` is
the environment of the workers and so of their kernels.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from queue import Empty, Queue
from typing import Any

KERNEL = "python3"
READY_TIMEOUT = 120.0
"""Seconds a new worker may take to import papermill and nbconvert before it counts as broken."""

WORKER_ENV = {
    "WORKBENCH_BATCH": "1",               # workbench.setup: no widgets, charts as HTML + global Plotly
    "PLOTLY_RENDERER": "plotly_mimetype",  # fig.show() outside nb.show: JSON, given HTML by report.export_html
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",  # silence debugpy's frozen-modules warning on kernel start
    "PYTHONUNBUFFERED": "1",
}


class WorkerDied(Exception):
    """Raised in the parent when a worker process exits while it was expected to answer."""


_BOOT = ("import sys; sys.modules['rfc3987_syntax'] = None\n"  # jsonschema imports it for nothing: 0.9 s
         "from workbench.run.worker import worker_main; sys.exit(worker_main())")


class Worker:
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
        kill_tree(self.proc.pid)
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


def kill_tree(pid: int) -> None:
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


class Pool:
    """``size`` long-lived workers; :meth:`run` borrows an idle one for a task."""

    def __init__(self, size: int, env: Mapping[str, str], log_dir: Path, cwd: Path) -> None:
        self.size = size
        self.env = env
        self.log_dir = log_dir
        self.cwd = cwd
        self._count = 0
        self._closed = False
        self._lock = threading.Lock()
        self._idle: Queue[Worker] = Queue()
        self._all: list[Worker] = []
        for _ in range(size):
            self._idle.put(self._spawn())

    def _spawn(self) -> Worker:
        with self._lock:
            if self._closed:
                raise WorkerDied("the batch was stopped")
            self._count += 1
            worker = Worker(self.env, self.log_dir / f"worker-{self._count}.log", self.cwd)
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


def worker_env(language: str) -> dict[str, str]:
    """The environment of worker processes and so of their kernels.

    Besides :data:`WORKER_ENV`: this environment's ``share/jupyter`` goes first on
    ``JUPYTER_PATH``, so that the ``python3`` kernel is this environment's Python (where the
    workbench is installed) even when the user has another ``python3`` kernelspec of their own;
    and one thread per numerical library (:data:`workbench.app.mode.KERNEL_THREADS`).
    """
    from workbench.app.mode import with_kernel_threads

    env = with_kernel_threads({**os.environ, **WORKER_ENV, "WORKBENCH_REPORT_LANGUAGE": language})
    own = Path(sys.prefix) / "share" / "jupyter"
    if (own / "kernels" / KERNEL).is_dir():
        env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(own), os.environ.get("JUPYTER_PATH", "")) if p)
    return env
