"""The overview's pieces of HTML: KPI tiles with sparklines, and the list of topics with their findings.

Inline HTML and SVG, so that they show alike in static reports and dashboards. Every word comes
from the catalogue (``kpi.name.<key>``, ``kpi.status.<status>``, ``kpi.reason.<reason>``,
``overview.tile.*``); numbers from :mod:`workbench.text.fmt` through the Estimates.
"""

from __future__ import annotations

import html
import math
from typing import Any, Iterable

from workbench.text import catalogue
from workbench.text.pages import TOPICS
from workbench.text.pages import topic as topic_of

STATUS_COLOURS = {"green": "#2f9e44", "amber": "#f08c00", "red": "#c2255c", "none": "#999"}

_STYLE = """<style>
.wb-tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:10px;margin:8px 0 14px 0}
.wb-tile{border:1px solid #ddd;border-left:5px solid #999;border-radius:4px;padding:8px 10px;background:#fff}
.wb-tile .wb-k{font-size:13px;color:#444}.wb-tile .wb-v{font-size:20px;font-weight:600;margin:2px 0}
.wb-tile .wb-c{font-size:12px;color:#555}.wb-tile a{color:inherit;text-decoration:none}
</style>"""


def sparkline_svg(values: Iterable[float | None], colour: str = "#1f6feb", width: int = 160, height: int = 28) -> str:
    """A tiny inline SVG line of ``values`` (missing days skipped); an empty string with fewer than two values."""
    vals = [None if v is None or not math.isfinite(float(v)) else float(v) for v in values]
    ys = [v for v in vals if v is not None]
    if len(ys) < 2:
        return ""
    lo, hi = min(ys), max(ys)
    span = hi - lo or 1.0
    n = len(vals)
    pts = [f"{i * (width - 2) / max(n - 1, 1) + 1:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}"
           for i, v in enumerate(vals) if v is not None]
    return (f"<svg width='{width}' height='{height}' viewBox='0 0 {width} {height}' role='img'>"
            f"<polyline fill='none' stroke='{colour}' stroke-width='1.5' points='{' '.join(pts)}'/></svg>")


def kpi_name(key: str, lang: str) -> str:
    """A KPI's name (``kpi.name.<key>``), else its label."""
    k = f"kpi.name.{key}"
    return catalogue.message(k, lang) if catalogue.has(k, lang) else catalogue.label(key, lang)


def status_text(status: str, reason: str | None, lang: str) -> str:
    """A status as words: the status's name, with the reason when there is no comparison."""
    word = catalogue.message(f"kpi.status.{status}", lang)
    if status == "none" and reason:
        return word + catalogue.message("kpi.reason_sep", lang) + catalogue.message(f"kpi.reason.{reason}", lang)
    return word


def change_text(item: Any, lang: str) -> str:
    """"较对比期 +3.2%" / "+3.2% on the comparison period", or the reason there is none."""
    if item.status == "none" or not math.isfinite(item.change):
        return status_text(item.status, item.reason, lang)
    return catalogue.message("overview.tile.change", lang, change=item.change,
                             comparison=item.comparison)


def kpi_tiles(items: list[Any], lang: str, batch: bool) -> str:
    """The KPIs as tiles: name (linked to the page that explains it), value, change on the comparison
    period, status (colour and word) and a sparkline of the KPI's own daily history."""
    tiles = []
    for k in items:
        colour = STATUS_COLOURS.get(k.status, "#999")
        href = f"{k.page}.html" if batch else f"/voila/render/{k.page}.ipynb"
        title = html.escape(catalogue.message("overview.tile.title", lang, page=topic_of(k.page).title(lang)))
        spark = sparkline_svg(k.daily["value"].tolist(), colour if k.status != "none" else "#1f6feb")
        tiles.append(
            f"<div class='wb-tile' style='border-left-color:{colour}'>"
            f"<div class='wb-k'><a href='{html.escape(href)}' title='{title}'>{html.escape(kpi_name(k.key, lang))}</a></div>"
            f"<div class='wb-v'>{html.escape(k.value.value_text(lang))}</div>"
            f"<div class='wb-c'><span style='color:{colour}'>●</span> {html.escape(status_text(k.status, k.reason, lang))}"
            f" · {html.escape(change_text(k, lang)) if k.status != 'none' else ''}</div>"
            f"<div>{spark}</div></div>")
    return _STYLE + f"<div class='wb-tiles'>{''.join(tiles)}</div>"


def topics_html(findings: Any, lang: str, batch: bool, recorded: set[str], overview: str = "00_overview") -> str:
    """Every registered topic (except the overview) with its top findings and a link.

    A topic without findings says so: not run in this batch, none recorded, or (dashboards) its question.
    """
    items = []
    for stem, t in TOPICS.items():
        if stem == overview:
            continue
        mine = findings[findings["topic"] == stem] if len(findings) else findings
        if len(mine):
            lis = "".join(f"<li><span style='color:{STATUS_COLOURS.get(x.status, '#999')}'>●</span> "
                          f"{html.escape(x.text)}</li>" for x in mine.itertuples(index=False))
        elif batch and stem not in recorded:
            lis = f"<li>{html.escape(catalogue.message('overview.note.not_run', lang))}</li>"
        elif batch:
            lis = f"<li>{html.escape(catalogue.message('overview.note.no_findings', lang))}</li>"
        else:
            lis = f"<li>{html.escape(t.question(lang))}</li>"
        where = catalogue.message("overview.note.report" if batch else "overview.note.dashboard", lang)
        href = f"{stem}.html" if batch else f"/voila/render/{stem}.ipynb"
        items.append(f"<div class='wb-topic'><h4><a href='{html.escape(href)}'>"
                     f"{html.escape(t.title(lang))}</a> <small>({html.escape(where)})</small></h4><ul>{lis}</ul></div>")
    return "".join(items)


def threshold_text(m: Any, lang: str) -> str:
    """A metric's thresholds in words: amber beyond x, red beyond y (adverse relative change)."""
    return catalogue.message("overview.tile.thresholds", lang, amber=m.amber, red=m.red)
