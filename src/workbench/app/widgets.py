"""The filter bar of a live page (JupyterLab, Voila): period, channels and comparison.

A change redraws every section of the page through ``nb.redraw``. The bar is laid out to wrap
on a narrow screen (a phone): date fields keep their full width, channels are check boxes (not a
list box that needs ctrl-click). It also carries the current filters as a query string
(``.wb-query[data-query]``), which the page template reads to keep them in the language switch,
the topic links and the address bar.
"""

from __future__ import annotations

import html
import time
from typing import Any
from urllib.parse import urlencode

from workbench.app import params as params_mod
from workbench.sql.filters import Filters, compare_window


def filters_query(filters: Filters, language: str, threshold_pct: float | None = None) -> str:
    """The dashboard query string that reproduces ``filters`` (as :mod:`workbench.app.url` reads it).

    ``start``/``end`` as YYYY-MM-DD, ``channels`` (comma-separated, left out when all), ``compare``
    and ``language``; ``threshold_pct`` when given.
    """
    values: dict[str, str] = {"start": filters.start.isoformat(), "end": filters.end.isoformat()}
    if filters.channels:
        values["channels"] = ",".join(filters.channels)
    values["compare"] = filters.compare
    values["language"] = language
    if threshold_pct is not None:
        values["threshold_pct"] = f"{threshold_pct:g}"
    return urlencode(values, safe=",")


def query_html(nb: Any) -> str:
    """The hidden element that tells the page template the filters now shown."""
    query = filters_query(nb.filters, nb.lang, nb.params.get("threshold_pct"))
    return f"<span class='wb-query' hidden data-query='{html.escape(query, quote=True)}'></span>"


def filter_bar(nb: Any) -> Any:
    """The filter bar widget of notebook ``nb``: date pickers, channel boxes and comparison; a change redraws.

    Returns an ``ipywidgets.Box``; its widgets are kept in ``nb._widgets`` (``start``, ``end``,
    ``channels`` (a dict channel → Checkbox), ``compare``, ``status``, ``query``).
    """
    import ipywidgets as widgets

    from workbench.data import schema

    f = nb.filters
    wide = {"description_width": "initial"}
    date_layout = widgets.Layout(width="auto", min_width="15em", flex="0 0 auto")
    start = widgets.DatePicker(value=f.start, description=nb.label("start"), style=wide, layout=date_layout)
    end = widgets.DatePicker(value=f.end, description=nb.label("end"), style=wide, layout=date_layout)
    picked = set(f.channels or schema.CHANNELS)
    boxes = {c: widgets.Checkbox(value=c in picked, description=nb.label(c), indent=False,
                                 layout=widgets.Layout(width="auto", margin="0 12px 0 0"))
             for c in schema.CHANNELS}
    channels_label = widgets.HTML(f"<span class='wb-bar-label'>{html.escape(nb.label('channels'))}</span>")
    channel_box = widgets.Box([channels_label, *boxes.values()],
                              layout=widgets.Layout(display="flex", flex_flow="row wrap", align_items="center"))
    channel_box.add_class("wb-channels")
    cmp = widgets.Dropdown(options=[(nb.label(c), c) for c in params_mod.COMPARISONS], value=f.compare,
                           description=nb.label("compare"), style=wide,
                           layout=widgets.Layout(width="auto", min_width="12em"))
    status = widgets.HTML(layout=widgets.Layout(min_height="1.6em"))
    status.add_class("wb-status")
    query = widgets.HTML(query_html(nb), layout=widgets.Layout(display="none"))

    def changed(_: Any = None) -> None:
        chosen = tuple(c for c, box in boxes.items() if box.value)
        if not start.value or not end.value or start.value > end.value or not chosen:
            status.value = f"<span class='wb-invalid' role='status'>{html.escape(nb.t('app.choose_valid'))}</span>"
            return
        cs, ce = compare_window(start.value, end.value, cmp.value)
        new = Filters(start=start.value, end=end.value,
                      channels=() if len(chosen) == len(schema.CHANNELS) else chosen,
                      compare=cmp.value, compare_start=cs, compare_end=ce)

        def progress(done: int, total: int) -> None:
            status.value = (f"<span class='wb-redrawing' role='status'>"
                            f"{html.escape(nb.t('app.redrawing_part', done=done, total=total))}</span>")

        t0 = time.perf_counter()
        nb.redraw(new, progress=progress)
        seconds = time.perf_counter() - t0
        query.value = query_html(nb)
        status.value = (f"<span class='wb-redraw' role='status' data-ms='{seconds * 1000:.0f}'>"
                        f"{html.escape(nb.t('app.redrawn', seconds=seconds))}</span>")

    for w in (start, end, cmp, *boxes.values()):
        w.observe(changed, names="value")
    dates = widgets.Box([start, end, cmp], layout=widgets.Layout(display="flex", flex_flow="row wrap"))
    bar = widgets.VBox([dates, channel_box, status, query], layout=widgets.Layout(width="100%"))
    bar.add_class("wb-filter-bar")
    nb._widgets = {"start": start, "end": end, "channels": boxes, "compare": cmp, "status": status, "query": query}
    return bar
