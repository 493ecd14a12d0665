"""How long Chromium takes to load and run each plotly.js bundle, and to draw a first chart with it.

    python benchmarks/plotly_bundles.py [--rounds 3]

Serves a page that only loads one bundle (the full one the plotly package ships, and plotly's basic
partial bundle when ``workbench assets`` has fetched it) from a local HTTP server, in a new browser
context per round (no cache), and prints the milliseconds from navigation start until plotly.js has
run, and then until one bar chart is drawn. The same script twice in one context (the browser's
cache warm) is printed too. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import statistics
import tempfile
import threading
from pathlib import Path

PAGE = """<html><body><div id="a"></div>
<script src="{src}"></script>
<script>window.t1 = performance.now(); Plotly.newPlot('a', [{{x: [1, 2], y: [3, 4], type: 'bar'}}]);
window.t2 = performance.now();</script></body></html>"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    from workbench.present.report import plotly_js_path
    from workbench.serve.plotly_bundle import light_bundle

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    bundles = {"full": plotly_js_path()}
    if light_bundle() is not None:
        bundles["basic"] = light_bundle()
    else:
        print("basic bundle not fetched (workbench assets): only the full bundle is measured")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        for name, path in bundles.items():
            shutil.copyfile(path, Path(tmp) / f"{name}.js")
            (Path(tmp) / f"{name}.html").write_text(PAGE.format(src=f"{name}.js"), encoding="utf-8")
        handler = functools.partial(_Quiet, directory=tmp)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        print(f"{'bundle':<8} {'size MB':>8} {'run (ms)':>9} {'first chart (ms)':>17} {'run, warm cache':>16}")
        for name, path in bundles.items():
            cold, chart = [], []
            for _ in range(args.rounds):
                context = browser.new_context()
                page = context.new_page()
                page.goto(f"{base}{name}.html")
                page.wait_for_function("window.t2 !== undefined")
                t1, t2 = page.evaluate("[window.t1, window.t2]")
                cold.append(t1)
                chart.append(t2)
                context.close()
            context = browser.new_context()
            warm = []
            for i in range(args.rounds + 1):
                page = context.new_page()
                page.goto(f"{base}{name}.html")
                page.wait_for_function("window.t2 !== undefined")
                if i:
                    warm.append(page.evaluate("window.t1"))
                page.close()
            context.close()
            print(f"{name:<8} {path.stat().st_size / 1e6:>8.2f} {statistics.median(cold):>9.0f} "
                  f"{statistics.median(chart):>17.0f} {statistics.median(warm):>16.0f}")
        browser.close()
        server.shutdown()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    main()
