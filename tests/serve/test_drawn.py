"""Snapshot pages drawn ahead (:mod:`workbench.serve.drawn`): the charts are in the page as SVG, so
the first one shows before plotly.js has run, and plotly.js makes each interactive once loaded.

The pages are written the way ``workbench run`` writes them (``Notebook.show`` in batch mode:
a ``div`` and a ``Plotly.newPlot('wb-…')`` script; plotly.js in ``assets/``).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_security import fetch, status, tiny_notebooks
from test_serve import running_server
from test_snapshot import make_run

from workbench.serve import drawn

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Chromium")


def batch_chart(div_id: str, title: str, values: list[int]) -> str:
    """One chart as ``Notebook.show`` writes it in a batch report."""
    import plotly.graph_objects as go

    spec = go.Figure(go.Bar(x=["天猫", "京东", "拼多多"], y=values), layout={"title": {"text": title}}).to_json()
    return (f"<div id='{div_id}' class='wb-chart' style='height:450px'></div><script>(function(){{var s={spec};"
            f"Plotly.newPlot('{div_id}', s.data, s.layout, {{responsive: true, displaylogo: false}});}})();</script>")


def batch_page(charts: list[str]) -> str:
    return ('<!DOCTYPE html>\n<html lang="zh">\n<head><meta charset="utf-8"/><script src="assets/plotly.min.js">'
            '</script><title>销售与流量</title></head>\n<body class="jp-Notebook"><h1>销售与流量</h1>'
            "<ul class='wb-findings'><li class='wb-finding'>成交额 144.2 万元</li></ul>"
            + "".join(charts) + "</body>\n</html>\n")


def with_assets(run: Path) -> Path:
    """Copy plotly.js into ``run/assets/``, as ``workbench run`` does."""
    from workbench.present.report import plotly_js_path

    (run / "assets").mkdir(parents=True, exist_ok=True)
    shutil.copy(plotly_js_path(), run / "assets" / "plotly.min.js")
    return run


def test_live_charts_loads_plotly_without_blocking_and_queues_every_chart() -> None:
    page = batch_page([batch_chart("wb-a1", "一", [1, 2, 3]), batch_chart("wb-b2", "二", [3, 2, 1])])
    out = drawn.live_charts(page, "/workbench/assets/plotly.min.js")
    assert '<script defer src="/workbench/assets/plotly.min.js" onload="wbPlotlyReady()"></script>' in out
    assert '<script src="assets/plotly.min.js">' not in out  # no blocking script left
    assert out.count("wbLater('wb-") == 2 and "Plotly.newPlot('wb-" not in out
    assert out.index("window.wbLater") < out.index("wbLater('wb-a1'")  # defined before the first chart


def test_the_drawn_page_is_keyed_by_the_page_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_DRAWN_DIR", str(tmp_path / "drawn"))
    page = tmp_path / "01.html"
    page.write_text(batch_page([batch_chart("wb-a1", "一", [1, 2, 3])]), encoding="utf-8")
    first = drawn.drawn_path(page)
    assert first.parent == tmp_path / "drawn"
    time.sleep(0.01)
    page.write_text(batch_page([batch_chart("wb-a1", "一", [3, 2, 1])]), encoding="utf-8")
    assert drawn.drawn_path(page) != first  # a new run's page is drawn again, never served stale


def test_without_chromium_nothing_is_drawn_and_nothing_waits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_CHROMIUM", str(tmp_path / "no-such-browser"))
    monkeypatch.setenv("WORKBENCH_DRAWN_DIR", str(tmp_path / "drawn"))
    page = tmp_path / "01.html"
    page.write_text(batch_page([batch_chart("wb-a1", "一", [1, 2, 3])]), encoding="utf-8")
    drawer = drawn.Drawer()
    assert not drawer.available
    assert drawer.drawn(page) is None and drawn.draw(page) is None
    drawer.wait()  # returns at once: nothing was queued


@needs_chromium
def test_a_page_is_drawn_with_every_chart_and_plotly_styles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_DRAWN_DIR", str(tmp_path / "drawn"))
    run = with_assets(tmp_path / "run")
    page = run / "01_sales_traffic.html"
    page.write_text(batch_page([batch_chart("wb-a1", "每日成交额", [1, 2, 3]),
                                batch_chart("wb-b2", "渠道", [5, 4, 3])]), encoding="utf-8")
    drawer = drawn.Drawer()
    assert drawer.drawn(page) is None  # not yet: queued
    drawer.wait()
    target = drawer.drawn(page)
    assert target is not None and target == drawn.drawn_path(page)
    dom = target.read_text(encoding="utf-8")
    assert dom.count('class="plot-container plotly"') == 2
    assert "每日成交额" in dom and "渠道" in dom  # the titles are drawn into the SVG
    style = dom.split('<style id="plotly.js-style-global">')[1].split("</style>")[0]
    assert ".main-svg" in style  # plotly's rules that place the chart layers, kept as text
    assert "wb-keep-style" not in dom
    assert not list(run.glob(".*draw-*"))  # the copy drawn from is gone


@needs_chromium
def test_a_page_whose_charts_fail_is_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_DRAWN_DIR", str(tmp_path / "drawn"))
    run = with_assets(tmp_path / "run")
    page = run / "01_sales_traffic.html"
    broken = batch_chart("wb-b2", "渠道", [5, 4, 3]).replace("(function(){var s=", "(function(){throw 1;var s=")
    page.write_text(batch_page([batch_chart("wb-a1", "一", [1, 2, 3]), broken]), encoding="utf-8")
    assert drawn.draw(page) is None
    assert not drawn.drawn_path(page).exists()


# ----- served, in Chromium ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def drawn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A local server with a zh snapshot of ``01_tiny`` whose page has three charts, drawn ahead."""
    tmp = tmp_path_factory.mktemp("drawn")
    data = tmp / "shop"
    data.mkdir()
    (data / "orders.csv").write_text("order_id\n1\n")
    reports = tmp / "reports"
    charts = [batch_chart(f"wb-c{i}", f"图{i}", [i, 2, 3]) for i in range(3)]
    run = with_assets(make_run(reports, "2025-12-31", data, pages={"01_tiny": batch_page(charts)}))
    with running_server(tmp / "server", preheat=False, data=data, reports=reports, ready_timeout=180,
                        extra=("--notebooks", str(tiny_notebooks(tmp / "nb")))) as base:
        target = tmp / "server" / "drawn"
        deadline = time.monotonic() + 120
        while not list(target.glob("01_sales*.html")) and not list(target.glob("01_tiny*.html")):
            assert time.monotonic() < deadline, "the snapshot was not drawn ahead within 120 s"
            time.sleep(0.5)
        yield base, run


@needs_chromium
def test_the_served_snapshot_carries_its_charts_drawn(drawn_server: tuple[str, Path]) -> None:
    from workbench.serve.plotly_bundle import light_bundle

    base, _ = drawn_server
    code, headers, page = fetch(f"{base}voila/render/01_tiny.ipynb")
    # the tiny page's charts are bars and lines: the basic bundle makes them interactive when fetched
    bundle = light_bundle().name if light_bundle() is not None else "plotly.min.js"
    assert code == 200 and headers.get("x-workbench-snapshot") == "1"
    assert page.count('class="plot-container plotly"') == 3
    assert "快照：数据截至 2025-12-31" in page
    assert f'defer src="/workbench/assets/{bundle}"' in page
    assert status(base)["kernels"]["total"] == 0


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_a_drawn_snapshot_shows_its_charts_without_scripts_and_becomes_interactive(
        drawn_server: tuple[str, Path]) -> None:
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM_ARGS

    base, _ = drawn_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            static = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
            page = static.new_page()
            page.goto(f"{base}voila/render/01_tiny.ipynb")
            assert page.locator(".js-plotly-plot .main-svg").first.is_visible()  # drawn, no script ran
            box = page.locator(".js-plotly-plot").first.bounding_box()
            assert box is not None and box["width"] > 600 and box["height"] > 300
            static.close()

            live = browser.new_context(viewport={"width": 1280, "height": 900})
            page = live.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{base}voila/render/01_tiny.ipynb")
            page.wait_for_function("() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
                                   ".every(g => g._fullLayout !== undefined)", timeout=60_000)
            counts = page.evaluate("() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
                                   ".map(g => g.querySelectorAll('.plot-container').length)")
            assert counts == [1, 1, 1]  # redrawn in place, never doubled
            assert page.evaluate("document.documentElement.classList.contains('wb-interactive')")
            assert not errors, errors
            live.close()
        finally:
            browser.close()
