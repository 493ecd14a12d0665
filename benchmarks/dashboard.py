"""Dashboard timings and server memory, in Chromium: snapshot, live preheated, live fresh.

    python benchmarks/dashboard.py [--reports DIR] [--notebook 01_sales_traffic] [--rounds 3]

Starts ``workbench serve`` on a free port (Jupyter's folders in a temporary place) and opens
``--notebook`` in Debian's Chromium, measuring the seconds from the request (the page's
navigation start) to the first chart shown (painted) and to the first chart interactive (plotly.js
has run), and the wall-clock seconds this process waited:

* ``snapshot``: the page served from the latest batch report (``--reports``, default: a batch
  of that notebook run now into a temporary reports folder), with its charts drawn ahead by the
  server (the default), and again without (``--no-draw-ahead``: plotly.js draws them);
* ``live_preheated``: ``/voila/live/<nb>.ipynb`` on a server that preheats that notebook
  (``--preheat <nb>``), after its pool has filled;
* ``live_fresh``: a link with parameters no snapshot has (``?period=last-90d``): a kernel started
  for the request.

Then the memory of the whole server (its process and every kernel, from ``/workbench/status``)
with all 14 topics available the default way (snapshot first, ``--preheat auto``), idle and
after ``--open`` live dashboards. Prints one line per figure (median and range over ``--rounds``)
and the JSON of every figure at the end. No timed tests: the figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHART = ".js-plotly-plot .main-svg"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        (tmp / var.lower()).mkdir(parents=True, exist_ok=True)
        env[var] = str(tmp / var.lower())
    return env


def start(tmp: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """``workbench serve`` with ``args``; the process and its base URL once the landing page answers."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    cmd = [sys.executable, "-m", "workbench.cli", "serve", "--port", str(port), *args]
    with open(tmp / "serve.log", "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(tmp), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(base, timeout=5).status == 200:
                return proc, base
        except OSError:
            time.sleep(0.5)
    stop(proc)
    raise RuntimeError(f"workbench serve did not start:\n{(tmp / 'serve.log').read_text()[-2000:]}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def server_status(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(base + "workbench/status", timeout=30) as answer:
        return json.loads(answer.read())


def wait_for_pool(base: str, pooled: int, timeout: float = 900.0) -> float:
    """Seconds until ``pooled`` preheated kernels are ready (their notebooks rendered)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if server_status(base)["kernels"]["ready"] >= pooled:
            return time.monotonic() - t0
        time.sleep(1.0)
    raise RuntimeError(f"the preheated pool did not fill in {timeout} s")


#: In the page, from navigation start (≈ the request): when the first chart is in the page, when a
#: frame with it has been painted (two animation frames later), and when plotly.js has made it
#: interactive (its ``_fullLayout`` exists). A chart drawn ahead (a snapshot) is in the page at once.
TIMING_JS = """
window.__wb = {};
new MutationObserver(function (m, o) {
  if (document.querySelector('.js-plotly-plot .main-svg')) {
    window.__wb.chart = performance.now(); o.disconnect();
    requestAnimationFrame(function () { requestAnimationFrame(function () { window.__wb.painted = performance.now(); }); });
  }
}).observe(document, {subtree: true, childList: true});
(function poll() {
  var g = document.querySelector('.js-plotly-plot');
  if (g && g._fullLayout) { window.__wb.interactive = performance.now(); } else { setTimeout(poll, 10); }
})();
"""


def first_chart(browser: Any, url: str, keep: list[Any] | None = None) -> dict[str, float]:
    """Seconds to the first chart, in a new browser context (no cache): ``painted`` and ``interactive``
    from the page's navigation start, and ``wall`` from the request as this process saw it (it includes
    starting the context's renderer process, which a manager's open browser does not pay)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(int(os.environ.get("WB_BENCH_TIMEOUT_MS", "300000")))
    page.add_init_script(TIMING_JS)
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(CHART, state="attached")
    wall = time.perf_counter() - t0
    page.wait_for_function("() => window.__wb.painted !== undefined && window.__wb.interactive !== undefined")
    inpage = page.evaluate("window.__wb")
    if "/voila/live/" in url:  # stay until the widgets are connected, as a viewer does: its kernel is then
        page.wait_for_function("() => !document.getElementById('loading')")  # shut down as soon as it leaves
    if keep is not None:
        keep.append(context)  # stays open: its kernel stays connected
    else:
        context.close()
    return {"painted": inpage["painted"] / 1000, "interactive": inpage["interactive"] / 1000, "wall": wall}


def wait_for_drawn(base: str, timeout: float = 600.0) -> dict[str, int]:
    """Wait until the server has drawn every snapshot ahead (``/workbench/status``); its counts."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        got = server_status(base).get("drawn", {})
        if not got.get("waiting"):
            return got
        time.sleep(1.0)
    raise RuntimeError(f"the snapshots were not drawn in {timeout} s")


def _lines(name: str, runs: list[dict[str, float]], target: str = "") -> dict[str, Any]:
    """One printed line per timing of ``runs`` (painted, interactive, wall)."""
    return {"painted": _line(f"{name}: shown", [r["painted"] for r in runs], target=target),
            "interactive": _line(f"{name}: interactive", [r["interactive"] for r in runs]),
            "wall": _line(f"{name}: wall clock", [r["wall"] for r in runs])}


def batch_reports(tmp: Path, notebooks: list[str]) -> Path:
    """A reports folder with one batch run of ``notebooks`` (``workbench run``), made now."""
    reports = tmp / "reports"
    env = dict(os.environ, WORKBENCH_REPORTS=str(reports))
    subprocess.run([sys.executable, "-m", "workbench.cli", "run", *notebooks], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return reports


def _line(name: str, values: list[float], unit: str = "s", target: str = "") -> dict[str, Any]:
    med = statistics.median(values)
    spread = f" (range {min(values):.2f}–{max(values):.2f}, n = {len(values)})" if len(values) > 1 else ""
    print(f"{name:<34} {med:8.2f} {unit}{spread}{'   target ' + target if target else ''}", flush=True)
    return {"median": round(med, 3), "values": [round(v, 3) for v in values]}


PARTS = ("snapshot", "preheated", "memory")


def part_snapshot(browser: Any, tmp: Path, reports: Path, notebook: str, rounds: int) -> dict[str, Any]:
    """First chart from a snapshot (drawn ahead, the default; and as plotly.js draws it, without drawing
    ahead), and from a fresh kernel (a link no snapshot has), nothing preheated."""
    out: dict[str, Any] = {}
    proc, base = start(tmp / "snap", "--reports", str(reports), "--preheat", "none",
                       "--kernels-per-client", str(rounds + 1), "--max-kernels", str(rounds + 1))
    try:
        out["drawn"] = wait_for_drawn(base)
        url = f"{base}voila/render/{notebook}.ipynb"
        out["snapshot_first_chart_s"] = _lines("first chart, snapshot drawn ahead",
                                               [first_chart(browser, url) for _ in range(rounds)], target="≤ 1 s")
        out["fresh_first_chart_s"] = _lines("first chart, live fresh kernel", [
            first_chart(browser, f"{base}voila/live/{notebook}.ipynb?period=last-90d") for _ in range(rounds)])
    finally:
        stop(proc)
    proc, base = start(tmp / "snap-plain", "--reports", str(reports), "--preheat", "none", "--no-draw-ahead")
    try:
        url = f"{base}voila/render/{notebook}.ipynb"
        out["snapshot_plain_first_chart_s"] = _lines("first chart, snapshot drawn by plotly.js",
                                                     [first_chart(browser, url) for _ in range(rounds)])
    finally:
        stop(proc)
    return out


def part_preheated(browser: Any, tmp: Path, notebook: str, rounds: int) -> dict[str, Any]:
    """First chart from the notebook's preheated kernel, waiting for the pool to refill between rounds."""
    proc, base = start(tmp / "warm", "--no-snapshots", "--preheat", notebook, "--max-kernels", str(rounds + 1))
    try:
        runs = []
        for _ in range(rounds):
            wait_for_pool(base, 1)
            runs.append(first_chart(browser, f"{base}voila/live/{notebook}.ipynb"))
        return {"preheated_first_chart_s": _lines("first chart, live preheated kernel", runs, target="≤ 2 s")}
    finally:
        stop(proc)


def part_memory(browser: Any, tmp: Path, reports: Path, notebook: str, open_pages: int) -> dict[str, Any]:
    """The whole server's memory, all 14 topics available the default way: idle, then with live pages open."""
    proc, base = start(tmp / "memory", "--reports", str(reports), "--kernels-per-client", str(max(2, open_pages)))
    kept: list[Any] = []
    try:
        said = next(line for line in (tmp / "memory" / "serve.log").read_text().splitlines()
                    if line.startswith("snapshots:")).split("preheated: ")[1].split(";")[0]
        preheated = [] if said == "none" else said.split(", ")
        wait_for_pool(base, len(preheated))
        time.sleep(2)
        idle = server_status(base)
        out = {"preheated": preheated, "snapshots": idle["snapshots"],
               "memory_idle_mb": _line("server memory, idle (preheated pools ready)", [idle["memory_mb"]], "MB",
                                       target="≤ 3000 MB")}
        for i in range(open_pages):
            first_chart(browser, f"{base}voila/live/{notebook}.ipynb?period=last-{30 + i}d", keep=kept)
        busy = server_status(base)
        out["memory_busy_mb"] = _line(f"server memory, {open_pages} live dashboards open", [busy["memory_mb"]],
                                      "MB", target="≤ 3000 MB")
        out["kernels_busy"] = busy["kernels"]
        return out
    finally:
        for context in kept:
            context.close()
        stop(proc)


def measure(reports: Path | None, notebook: str, rounds: int, open_pages: int,
            parts: tuple[str, ...] = PARTS) -> dict[str, Any]:
    """The figures of the parts named in ``parts`` (``snapshot`` includes the fresh kernel)."""
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {"notebook": notebook, "cpus": os.cpu_count(), "load_before": os.getloadavg()[0]}
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if reports is None and ("snapshot" in parts or "memory" in parts):
            reports = batch_reports(tmp, [notebook])
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        try:
            if "snapshot" in parts:
                out |= part_snapshot(browser, tmp, reports, notebook, rounds)
            if "preheated" in parts:
                out |= part_preheated(browser, tmp, notebook, rounds)
            if "memory" in parts:
                out |= part_memory(browser, tmp, reports, notebook, open_pages)
        finally:
            browser.close()
    out["load_after"] = os.getloadavg()[0]
    return out


def measure_first_chart() -> dict[str, float]:
    """The figures ``benchmarks/bench.py`` prints (one round each, one live dashboard for memory)."""
    got = measure(None, "01_sales_traffic", rounds=1, open_pages=1)
    return {"first_chart_snapshot_s": got["snapshot_first_chart_s"]["painted"]["median"],
            "first_chart_preheated_s": got["preheated_first_chart_s"]["painted"]["median"],
            "first_chart_cold_s": got["fresh_first_chart_s"]["painted"]["median"],
            "server_memory_idle_mb": got["memory_idle_mb"]["median"],
            "server_memory_one_live_mb": got["memory_busy_mb"]["median"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=Path, help="reports folder with a batch run (default: run one now)")
    parser.add_argument("--notebook", default="01_sales_traffic")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--open", dest="open_pages", type=int, default=3, help="live dashboards opened for memory")
    parser.add_argument("--only", action="append", choices=PARTS, help="one part (repeatable; default: all)")
    args = parser.parse_args()
    result = measure(args.reports, args.notebook, args.rounds, args.open_pages, tuple(args.only or PARTS))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
