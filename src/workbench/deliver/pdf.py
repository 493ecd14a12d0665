"""PDF of every report page, printed by headless Chromium (charts drawn, Chinese fonts embedded).

Each ``<stem>.html`` of a run, and its ``index.html``, is printed to ``pdf/<stem>.pdf`` inside the
run folder. The page is first copied with a print style sheet (A4, each section from a new page,
charts never cut in two) next to the original, so its relative links to ``assets/plotly.min.js``
still resolve; Chromium runs the page's scripts for a bounded virtual time, so the plotly charts
are drawn before printing. Chromium embeds the fonts it drew with (Noto CJK on Debian), so the
PDF's Chinese text stays text.

The browser is ``$WORKBENCH_CHROMIUM``, else the first of ``chromium``, ``chromium-browser``,
``google-chrome`` on ``PATH``; without one, :func:`write_pdfs` raises a clear error.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from workbench.app.paths import BROWSERS, chromium_executable  # noqa: F401  (BROWSERS re-exported)
from workbench.errors import WorkbenchError

PRINT_CSS = """<style media="print">
@page { size: A4; margin: 14mm 12mm; }
body { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h2.wb-question { break-before: page; }
.wb-chart, .wb-table, .wb-finding, figure, .plotly-graph-div { break-inside: avoid; }
.wb-filters, .modebar, .modebar-container { display: none !important; }
</style>"""
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw", "--window-size=700,1000")


class PdfError(WorkbenchError):
    """No browser to print with, or the browser failed on a page."""


@dataclass
class Printed:
    """One page printed (``pdf`` set) or not (``error`` set)."""

    page: str
    pdf: Path | None = None
    error: str | None = None


def browser() -> str:
    """The Chromium executable to print with; :class:`PdfError` naming how to get one."""
    env = os.environ.get("WORKBENCH_CHROMIUM")
    found = chromium_executable()
    if found:
        return found
    if env:
        raise PdfError(f"WORKBENCH_CHROMIUM={env} is not an executable")
    raise PdfError("--pdf needs Chromium to print the pages: install it (Debian: apt-get install chromium "
                   "fonts-noto-cjk) or set WORKBENCH_CHROMIUM to its path")


def print_copy(page: Path) -> Path:
    """A copy of ``page`` beside it with the print style sheet added; the caller removes it."""
    text = page.read_text(encoding="utf-8")
    head_end = text.lower().find("</head>")
    text = text[:head_end] + PRINT_CSS + text[head_end:] if head_end >= 0 else PRINT_CSS + text
    fd, name = tempfile.mkstemp(prefix=f".{page.stem}.print-", suffix=".html", dir=page.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(name)


def print_page(page: Path, out: Path, exe: str | None = None, budget_ms: int = 20000, timeout: float = 120.0) -> Path:
    """Print ``page`` (an HTML file) to ``out`` (a PDF); returns ``out``; :class:`PdfError` on failure."""
    exe = exe or browser()
    out.parent.mkdir(parents=True, exist_ok=True)
    copy = print_copy(page)
    tmp_out = out.with_name(out.name + ".tmp")
    with tempfile.TemporaryDirectory(prefix="workbench-chromium-") as profile:
        cmd = [exe, *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
               f"--print-to-pdf={tmp_out}", copy.resolve().as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PdfError(f"{page.name}: Chromium did not finish printing within {timeout:g} s") from None
        finally:
            copy.unlink(missing_ok=True)
    if done.returncode != 0 or not tmp_out.is_file() or tmp_out.stat().st_size == 0:
        tmp_out.unlink(missing_ok=True)
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1][:200]
        raise PdfError(f"{page.name}: Chromium could not print it ({last})")
    os.replace(tmp_out, out)
    return out


def pages(run_dir: Path) -> list[Path]:
    """The pages of a run to print: the index first, then every notebook page (no print copies)."""
    found = sorted(p for p in run_dir.glob("*.html") if not p.name.startswith(".") and p.name != "index.html")
    index = run_dir / "index.html"
    return ([index] if index.is_file() else []) + found


def write_pdfs(run_dir: str | Path, only: Sequence[str] | None = None) -> list[Printed]:
    """Print the pages of the run in ``run_dir`` into ``run_dir/pdf/``; one :class:`Printed` per page.

    ``only`` restricts to these page stems (``index``, ``00_overview``…). A page that fails is
    reported and the others still print; :class:`PdfError` only when there is no browser at all.
    """
    run_dir = Path(run_dir)
    exe = browser()
    out = []
    for page in pages(run_dir):
        if only and page.stem not in only:
            continue
        try:
            out.append(Printed(page.name, print_page(page, run_dir / "pdf" / f"{page.stem}.pdf", exe)))
        except PdfError as exc:
            out.append(Printed(page.name, error=str(exc)))
    return out
