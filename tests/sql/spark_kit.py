"""Run the topic notebooks in this process on one engine, recording every statement and every finding.

Each notebook's source (``notebooks/src/NN_x.py``) is executed cell by cell, with its parameters
cell followed by the values a run would inject (as papermill does); a cell that raises is recorded
and the next cell runs, so one statement Spark refuses costs one section, not the notebook. Every
call of :func:`workbench.sql.engine.query` / ``scalar`` is recorded with its parameters, its
result (or error) and its time. One process and one Spark session serve every notebook, so the
JVM starts once.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "notebooks" / "src"


@dataclass
class Statement:
    """One call of the executor: the DuckDB text, its parameters, the result or the error, the seconds."""

    notebook: str
    kind: str  # query or scalar
    sql: str
    params: dict[str, Any]
    result: Any = None
    error: BaseException | None = None
    seconds: float = 0.0

    @property
    def key(self) -> tuple:
        return (self.sql, tuple(sorted((k, repr(v)) for k, v in self.params.items() if f"${k}" in self.sql)))


@dataclass
class NotebookRun:
    """What one notebook did: its record (findings, sections), the cells that raised, its seconds."""

    stem: str
    record: dict[str, Any] | None = None
    failed_cells: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class EngineRun:
    engine: str
    notebooks: dict[str, NotebookRun] = field(default_factory=dict)
    statements: list[Statement] = field(default_factory=list)
    seconds: float = 0.0


def cells(source: str) -> list[str]:
    """The code cells of a percent-format notebook source (markdown cells dropped)."""
    out, current, markdown = [], [], False
    for line in source.splitlines():
        if line.startswith("# %%"):
            if current and not markdown:
                out.append("\n".join(current))
            current, markdown = [], "[markdown]" in line
            continue
        current.append(line)
    if current and not markdown:
        out.append("\n".join(current))
    return [c for c in out if c.strip()]


def stems() -> list[str]:
    return sorted(p.stem for p in SOURCES.glob("[0-9][0-9]_*.py"))


def run(engine: str, data: Path, notebooks: list[str] | None = None, language: str = "en",
        values: dict[str, Any] | None = None) -> EngineRun:
    """Run ``notebooks`` (default: every one) on ``engine`` over ``data``; see the module's docstring."""
    from workbench.sql import engine as executor

    result = EngineRun(engine)
    current = {"stem": ""}
    originals = (executor.query, executor.scalar)

    def recorder(kind: str, original: Any) -> Any:
        def call(ds: Any, sql: str, params: dict[str, Any] | None = None, **how: Any) -> Any:
            st = Statement(current["stem"], kind, sql, dict(params or {}))
            t0 = time.perf_counter()
            try:
                out = original(ds, sql, params, **how)
                # kept as the statement gave it: a caller may add columns to the frame it gets
                st.result = out.copy() if hasattr(out, "copy") else out
                return out
            except BaseException as exc:
                st.error = exc
                raise
            finally:
                st.seconds = time.perf_counter() - t0
                result.statements.append(st)
        return call

    env_before = os.environ.get("WORKBENCH_BATCH")
    os.environ["WORKBENCH_BATCH"] = "1"  # static pages, plotly.js not inlined
    executor.query, executor.scalar = recorder("query", originals[0]), recorder("scalar", originals[1])
    t_all = time.perf_counter()
    try:
        for stem in notebooks or stems():
            current["stem"] = stem
            nb_run = NotebookRun(stem)
            code = cells((SOURCES / f"{stem}.py").read_text(encoding="utf-8"))
            namespace: dict[str, Any] = {"__name__": "__main__"}
            injected = {"data": str(data), "engine": engine, "language": language, **(values or {})}
            t0 = time.perf_counter()
            sink = io.StringIO()
            for i, cell in enumerate(code):
                try:
                    with contextlib.redirect_stdout(sink):
                        exec(compile(cell, f"{stem}[{i}]", "exec"), namespace)  # noqa: S102 - our own notebooks
                        if i == 0:
                            namespace.update(injected)
                except Exception:  # noqa: BLE001 - recorded; the next section still runs
                    nb_run.failed_cells.append((i, traceback.format_exc(limit=-3)))
                    if i <= 1:  # parameters or setup: nothing else can run
                        break
                sink.seek(0)
                sink.truncate()
            nb = namespace.get("nb")
            nb_run.record = nb.record() if nb is not None and hasattr(nb, "record") else None
            nb_run.seconds = time.perf_counter() - t0
            result.notebooks[stem] = nb_run
    finally:
        executor.query, executor.scalar = originals
        if env_before is None:
            os.environ.pop("WORKBENCH_BATCH", None)
        else:
            os.environ["WORKBENCH_BATCH"] = env_before
    result.seconds = time.perf_counter() - t_all
    return result
