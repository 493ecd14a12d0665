"""Snapshot pages with their charts already drawn, so the first chart shows before plotly.js runs.

A batch report draws its charts in the browser: each chart is a ``Plotly.newPlot`` call that waits
for plotly.js, a 4.8 MB script that takes about 1.7 s to compile and run on the 2-core machine
this project is measured on (see ``benchmarks/dashboard.py``). A snapshot answered from the server
in a few milliseconds would still show its first chart only after that.

So the server draws each snapshot once, in the background, with headless Chromium
(``--dump-dom``: the page's DOM after its scripts ran, charts included as SVG), and keeps the
result in a cache folder (``$WORKBENCH_DRAWN_DIR``, else ``$XDG_CACHE_HOME/workbench/drawn``),
keyed by the page's path and modification time. :func:`live_charts` then turns such a page into
one that shows the drawn SVGs at once and loads plotly.js without blocking: once it has run, each
chart is drawn again by plotly.js (one per task, in page order), which makes it interactive
(hover, zoom, the legend) and fits it to the window.

Without Chromium, or while a page is not drawn yet, the snapshot is served as it is (charts drawn
by plotly.js in the viewer's browser), so nothing depends on this.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from workbench.app.paths import chromium_executable
from workbench.data.cache import cache_folder

#: Chromium's switches for drawing a page (no sandbox: the pages are our own reports).
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,900", "--hide-scrollbars")

_PLOTLY_TAG = re.compile(r'<script src="([^"]*plotly\.min\.js)"></script>')
_NEW_PLOT = "Plotly.newPlot('wb-"

#: Run last in the page drawn ahead: plotly adds its style rules (where the chart layers sit, the
#: toolbar) through the CSS object model, which a DOM dump leaves out; this writes them as text.
KEEP_STYLE_JS = ("<script id='wb-keep-style'>(function () { document.querySelectorAll('style[id^=\"plotly\"]')"
                 ".forEach(function (st) { if (st.sheet) { st.textContent = Array.prototype.map.call("
                 "st.sheet.cssRules, function (r) { return r.cssText; }).join('\\n'); } }); })();</script>")
_KEEP_STYLE = re.compile(r"<script id=\"?'?wb-keep-style\"?'?>.*?</script>", re.DOTALL)

#: Defined in the page's head: queue the charts until plotly.js has run, then draw them one per task.
LATER_JS = """<script>
(function () {
  var queue = [], started = false;
  function next() {
    var item = queue.shift();
    if (!item) { return; }
    var el = document.getElementById(item[0]);
    if (el) { el.innerHTML = ""; window.Plotly.newPlot(el, item[1], item[2], item[3]); }
    setTimeout(next, 0);
  }
  window.wbLater = function (id, data, layout, config) {
    queue.push([id, data, layout, config]);
    if (started) { if (queue.length === 1) { setTimeout(next, 0); } }
  };
  window.wbPlotlyReady = function () {
    started = true;
    document.documentElement.classList.add("wb-interactive");
    setTimeout(next, 0);
  };
})();
</script>
<style>html:not(.wb-interactive) .modebar-container { visibility: hidden; }</style>"""


def cache_dir() -> Path:
    """Where drawn pages are kept: ``$WORKBENCH_DRAWN_DIR``, else ``$XDG_CACHE_HOME/workbench/drawn``."""
    return cache_folder("drawn", "WORKBENCH_DRAWN_DIR")


def drawn_path(page: Path) -> Path:
    """The cache file for ``page`` as it is now (its path and modification time decide the name)."""
    page = Path(page).resolve()
    stamp = f"{page}\0{page.stat().st_mtime_ns}\0{page.stat().st_size}".encode()
    return cache_dir() / f"{page.stem}-{hashlib.sha256(stamp).hexdigest()[:20]}.html"


def draw(page: Path, exe: str | None = None, timeout: float = 120.0, budget_ms: int = 15000) -> Path | None:
    """Draw ``page`` with headless Chromium into the cache; the cache file, or None when it failed.

    The result is kept only if it has as many drawn charts as the page has charts, so a page whose
    scripts failed is never served half drawn.
    """
    exe = exe or chromium_executable()
    if exe is None:
        return None
    page = Path(page).resolve()
    target = drawn_path(page)
    if target.is_file():
        return target
    text = page.read_text(encoding="utf-8")
    charts = text.count(_NEW_PLOT)
    if charts == 0:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    # a copy beside the page (its relative link to plotly.js still resolves) that keeps plotly's style rules
    end = text.lower().rfind("</body>")
    text = text[:end] + KEEP_STYLE_JS + text[end:] if end >= 0 else text + KEEP_STYLE_JS
    fd, copy_name = tempfile.mkstemp(prefix=f".{page.stem}.draw-", suffix=".html", dir=page.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    copy = Path(copy_name)
    try:
        with tempfile.TemporaryDirectory(prefix="workbench-draw-") as profile:
            cmd = [exe, *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", "--dump-dom",
                   copy.as_uri()]
            nice = (lambda: os.nice(10)) if hasattr(os, "nice") else None  # behind the live dashboards
            try:
                done = subprocess.run(cmd, capture_output=True, timeout=timeout, preexec_fn=nice, check=False)
            except (OSError, subprocess.TimeoutExpired):
                return None
    finally:
        copy.unlink(missing_ok=True)
    dom = _KEEP_STYLE.sub("", done.stdout.decode("utf-8", errors="replace"))
    if done.returncode != 0 or dom.count("class=\"plot-container plotly\"") < charts or "</html>" not in dom:
        return None
    fd, name = tempfile.mkstemp(prefix=".drawn-", suffix=".html", dir=target.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("<!DOCTYPE html>\n" + dom)
    os.replace(name, target)
    return target


def live_charts(dom: str, plotly_src: str) -> str:
    """A drawn page (``dom``) that shows its SVG charts at once and makes them interactive later.

    plotly.js (``plotly_src``) loads with ``defer``, so it never holds up the page; the page's
    ``Plotly.newPlot`` calls become ``wbLater`` calls, which wait for it (:data:`LATER_JS`).
    """
    tag = f'<script defer src="{plotly_src}" onload="wbPlotlyReady()"></script>'
    dom, replaced = _PLOTLY_TAG.subn(lambda _: LATER_JS + tag, dom, count=1)
    if not replaced:
        dom = dom.replace("<head>", "<head>" + LATER_JS + tag, 1)
    return dom.replace(_NEW_PLOT, "wbLater('wb-")


class Drawer:
    """Draws snapshot pages in a background thread, one at a time, in the order they were asked for."""

    def __init__(self, exe: str | None = None) -> None:
        self.exe = exe if exe is not None else chromium_executable()
        self._queue: queue.Queue[Path] = queue.Queue()
        self._seen: set[Path] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.failed: set[Path] = set()
        self.done = 0

    @property
    def available(self) -> bool:
        """Whether a Chromium to draw with was found."""
        return self.exe is not None

    def request(self, page: Path) -> None:
        """Queue ``page`` for drawing (once per page version)."""
        if self.exe is None:
            return
        try:
            key = drawn_path(page)
        except OSError:
            return
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
            self._queue.put(Path(page))
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="workbench-drawer", daemon=True)
                self._thread.start()

    def drawn(self, page: Path) -> Path | None:
        """The drawn version of ``page`` if it is ready, else None (and it is queued)."""
        try:
            target = drawn_path(page)
        except OSError:
            return None
        if target.is_file():
            return target
        self.request(page)
        return None

    def _work(self) -> None:
        while True:
            with self._lock:
                if self._queue.empty():
                    self._thread = None  # a later request starts a new thread
                    return
                page = self._queue.get()
            try:
                if draw(page, self.exe) is None:
                    self.failed.add(page)
                else:
                    self.done += 1
            except Exception as exc:  # noqa: BLE001 - drawing is an optimisation: never stop the server
                self.failed.add(page)
                print(f"workbench serve: could not draw {page.name} ahead ({exc})", file=sys.stderr, flush=True)
            finally:
                self._queue.task_done()

    def counts(self) -> dict[str, int]:
        """Pages drawn, failed and still waiting (for ``/workbench/status``)."""
        return {"drawn": self.done, "failed": len(self.failed), "waiting": self._queue.unfinished_tasks}

    def wait(self) -> None:
        """Block until every queued page is drawn or has failed (for tests and the benchmark)."""
        self._queue.join()
