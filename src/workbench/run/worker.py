"""The worker process of a batch: runs one notebook per task with papermill and exports its page.

:func:`worker_main` is the entry point of the processes a :class:`workbench.run.pool.Pool` starts:
it answers one JSON line per JSON task line until its stdin ends. :func:`execute_task` runs one
notebook (starting it again, up to :data:`KERNEL_START_ATTEMPTS` times, when its kernel dies before
running anything) and writes its HTML page, also when the notebook failed or was stopped.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from workbench.run.pool import KERNEL


def _first_lines(source: str, n: int = 3, width: int = 160) -> str:
    lines = [line[:width] for line in str(source or "").splitlines() if line.strip()]
    return "\n".join(lines[:n]) + ("\n…" if len(lines) > n else "")


#: Times a notebook is started when its kernel dies before running anything.
KERNEL_START_ATTEMPTS = 3


def _kernel_did_not_start(exc: BaseException) -> bool:
    """True for the errors of a kernel that died or hung before its first cell (nothing ran yet)."""
    text = str(exc)
    return "before replying to kernel_info" in text or "Kernel didn't respond" in text


def execute_task(task: Mapping[str, Any]) -> dict[str, Any]:
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


#: Seconds between two looks of a worker at whether the batch that started it is still alive.
PARENT_CHECK_SECONDS = 1.0


def watch_parent(parent: int, interval: float = PARENT_CHECK_SECONDS) -> threading.Thread:
    """Start a thread that kills this worker, its kernel and their children once ``parent`` is gone.

    A batch killed outright (SIGKILL, the machine's OOM killer) cannot stop its workers; they run
    in sessions of their own (so a terminal's Ctrl-C reaches only the batch, which stops them), and
    would otherwise run on as orphans until their time limit.
    """
    from workbench.run.pool import kill_tree

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                kill_tree(os.getpid())
                os._exit(1)

    thread = threading.Thread(target=watch, name="workbench-watch-parent", daemon=True)
    thread.start()
    return thread


def worker_main() -> int:
    """Entry point of a worker process: answer one JSON line per JSON task line until stdin ends."""
    watch_parent(os.getppid())
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
            answer = execute_task(json.loads(line))
        except Exception as exc:  # never leave the parent waiting
            answer = {"status": "failed", "error": {"ename": type(exc).__name__, "evalue": str(exc)[:600]},
                      "html": False}
        answers.write(json.dumps(answer) + "\n")
    return 0
