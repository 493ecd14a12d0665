"""Time a widget redraw as a dashboard viewer meets it: each notebook runs live (filter bar, redraw
areas) in an in-process IPython shell, then a filter is changed through the filter bar's widgets.

Printed per notebook (medians over ``--repeats`` changes, each a different selection of period
and channels, as a viewer clicking through would make): the milliseconds from the change to the
first redrawn chart (the first ``nb.show`` of the redraw), to the end of the first section, and
to the end of the whole page (every section redrawn, the findings box replaced). What the
browser adds on top (about 0.1 s to draw a plot, STACK-NOTES) is not included.

    python benchmarks/redraw.py                 # every notebook
    python benchmarks/redraw.py 03 12 --repeats 5

Targets (issue 12): first redrawn chart <= 300 ms, whole page <= 1 s on the sample.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from pathlib import Path
from typing import Any

import nbformat

# the kernels of `workbench serve` run with one BLAS thread (workbench.app.mode.KERNEL_THREADS); so does
# this shell, set before numpy is first imported
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

ROOT = Path(__file__).resolve().parents[1]
CHANNEL_PICKS = (("tmall", "jd", "douyin", "cross_border"), ("tmall", "cross_border"), ("pinduoduo", "wechat_mini", "cross_border"))
FIRST_CHART_TARGET_MS = 300.0
WHOLE_PAGE_TARGET_MS = 1000.0


def _run_live(shell: Any, path: Path) -> Any:
    """Run notebook ``path`` top to bottom in ``shell`` as a live page; its ``nb`` (or None on failure)."""
    from IPython.utils.capture import capture_output

    nb = nbformat.read(path, as_version=4)
    shell.user_ns.clear()
    with capture_output():
        for cell in nb.cells:
            if cell.cell_type == "code" and not shell.run_cell(cell.source).success:
                return None
    return shell.user_ns.get("nb")


def _change(book: Any, i: int) -> dict[str, float]:
    """Change the filters through the filter bar (start date and channels); the measured times in ms."""
    from IPython.utils.capture import capture_output

    w = book._widgets
    marks: dict[str, float] = {}
    original_show = book.show

    def show(fig: Any) -> None:
        original_show(fig)
        marks.setdefault("first_chart", time.perf_counter())

    book.show = show
    wanted = set(CHANNEL_PICKS[i % len(CHANNEL_PICKS)])
    try:
        with capture_output():
            # pick the channels without a redraw per box, then one change of the start date redraws
            observers = {c: box for c, box in w["channels"].items()}
            for box in observers.values():
                box.unobserve_all("value")
            for c, box in observers.items():
                box.value = c in wanted
            t0 = time.perf_counter()
            w["start"].value = book.filters.start - dt.timedelta(days=7 * (i + 1))
            end = time.perf_counter()
    finally:
        book.show = original_show
    if book.filters.channels and set(book.filters.channels) != wanted:
        raise RuntimeError("the filter bar did not apply the channel selection")
    first_section = book.sections[0].seconds if book.sections else float("nan")
    return {"first_chart_ms": (marks.get("first_chart", float("nan")) - t0) * 1000,
            "first_section_ms": first_section * 1000, "whole_page_ms": (end - t0) * 1000}


def measure_redraw(names: list[str] | None = None, repeats: int = 3) -> dict[str, dict[str, float]]:
    """Median redraw times per notebook.

    Returns ``{"first_chart_ms": {name: ms}, "first_section_ms": {...}, "per_notebook_ms": {...}}``
    (``per_notebook_ms``: the whole page). ``names`` selects notebooks by stem or number prefix
    (all when empty); a notebook that fails to run gets NaN figures.
    """
    from IPython.core.interactiveshell import InteractiveShell

    os.environ["WORKBENCH_BATCH"] = "0"  # a live page: filter bar and redraw areas, as in Voila
    os.environ["WORKBENCH_PAGE_PLOTLY"] = "queue"  # charts as workbench serve writes them (app.notebook.show)
    shell = InteractiveShell.instance()
    os.chdir(ROOT / "notebooks")
    out: dict[str, dict[str, float]] = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if names and not any(path.stem == n or path.stem.startswith(n) for n in names):
            continue
        book = _run_live(shell, path)
        if book is None or not getattr(book, "_widgets", None):
            out[path.stem] = {"first_chart_ms": float("nan"), "first_section_ms": float("nan"),
                              "whole_page_ms": float("nan")}
            continue
        runs = [_change(book, i) for i in range(repeats)]
        out[path.stem] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return {"first_chart_ms": {n: r["first_chart_ms"] for n, r in out.items()},
            "first_section_ms": {n: r["first_section_ms"] for n, r in out.items()},
            "per_notebook_ms": {n: r["whole_page_ms"] for n, r in out.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="notebooks (stem or number prefix); default: all")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    figures = measure_redraw(args.names, args.repeats)
    result = {n: {"first_chart_ms": figures["first_chart_ms"][n], "first_section_ms": figures["first_section_ms"][n],
                  "whole_page_ms": ms} for n, ms in figures["per_notebook_ms"].items()}
    print(f"redraw after a filter change, median of {args.repeats} (ms); targets: first chart "
          f"<= {FIRST_CHART_TARGET_MS:.0f}, whole page <= {WHOLE_PAGE_TARGET_MS:.0f}")
    print(f"{'notebook':<22} {'first chart':>12} {'first section':>14} {'whole page':>11}")
    for name, r in result.items():
        flag = "" if r["whole_page_ms"] <= WHOLE_PAGE_TARGET_MS and r["first_chart_ms"] <= FIRST_CHART_TARGET_MS \
            else "  missed"
        print(f"{name:<22} {r['first_chart_ms']:>12.0f} {r['first_section_ms']:>14.0f} {r['whole_page_ms']:>11.0f}{flag}")


if __name__ == "__main__":
    main()
