"""Time from a dashboard request to its first chart, in Chromium, cold and preheated.

Starts ``workbench serve`` (with and without preheated kernels) on a free port with Jupyter's
folders in a temporary place, opens the sales dashboard in Debian's Chromium and measures the
seconds from the request to the first plotly chart drawn. Used by ``benchmarks/bench.py``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = "voila/render/01_sales_traffic.ipynb"
CHART = ".js-plotly-plot .main-svg"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(tmp: Path, preheat: bool) -> tuple[subprocess.Popen, str]:
    tmp.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {**os.environ, **{v: str(tmp / v.lower()) for v in
                            ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")}}
    cmd = [sys.executable, "-m", "workbench.cli", "serve", "--port", str(port)] + ([] if preheat else ["--no-preheat"])
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(tmp / "serve.log", "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(base, timeout=2).status == 200:
                return proc, base
        except OSError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("workbench serve did not start")


def _first_chart(browser, url: str) -> float:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(120_000)
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector(CHART, state="attached")
    seconds = time.perf_counter() - t0
    page.context.close()
    return seconds


def measure_first_chart(preheat_wait: float = 150.0) -> dict[str, float]:
    """Seconds to the first chart: a cold kernel, and a preheated one (after ``preheat_wait`` s)."""
    from playwright.sync_api import sync_playwright

    out: dict[str, float] = {}
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        for preheat in (False, True):
            proc, base = _start(Path(tmp) / ("warm" if preheat else "cold"), preheat)
            try:
                if preheat:
                    time.sleep(preheat_wait)  # the pools fill one notebook after the other
                    out["first_chart_preheated_s"] = _first_chart(browser, base + DASHBOARD)
                else:
                    out["first_chart_cold_s"] = _first_chart(browser, base + DASHBOARD)
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
        browser.close()
    return out
