"""Time a widget redraw: run each notebook in an in-process IPython shell, then change the filters.

The filter bar's callback calls ``Notebook.redraw(filters)``; this measures exactly that call
(every section of the notebook recomputed and redrawn) after a change of period and channels.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CHANNEL_PICKS = (("tmall", "jd", "douyin"), ("tmall",), ("pinduoduo", "wechat_mini", "cross_border"))


def measure_redraw(names: list[str] | None = None, repeats: int = 3) -> dict:
    """Median milliseconds of one redraw per notebook: all sections, and the first section alone.

    Sections redraw one after the other, so the first one is what a viewer sees change first.
    Returns ``{'per_notebook_ms': {name: ms}, 'first_section_ms': {name: ms}}``.
    """
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    os.environ["WORKBENCH_BATCH"] = "1"  # no widget front-end in-process; sections recompute the same
    shell = InteractiveShell.instance()
    out: dict[str, float] = {}
    first_ms: dict[str, float] = {}
    os.chdir(ROOT / "notebooks")
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if names and path.stem not in names:
            continue
        nb = nbformat.read(path, as_version=4)
        with capture_output():
            for cell in nb.cells:
                if cell.cell_type == "code":
                    res = shell.run_cell(cell.source)
                    if not res.success:
                        break
        book = shell.user_ns.get("nb")
        if book is None or not res.success:
            out[path.stem] = float("nan")
            continue
        f = book.filters
        times, first = [], []
        for i in range(repeats):
            # a different selection each time, as a user clicking through channels and dates would make
            changed = dataclasses.replace(f, start=f.start - dt.timedelta(days=7 * (i + 1)),
                                          channels=CHANNEL_PICKS[i % len(CHANNEL_PICKS)])
            with capture_output():
                t0 = time.perf_counter()
                book.redraw(changed)
                times.append((time.perf_counter() - t0) * 1000)
            first.append(book.sections[0].seconds * 1000 if book.sections else float("nan"))
        out[path.stem] = sorted(times)[len(times) // 2]
        first_ms[path.stem] = sorted(first)[len(first) // 2]
    return {"per_notebook_ms": out, "first_section_ms": first_ms}
