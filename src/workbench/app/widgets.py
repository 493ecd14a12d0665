"""The filter bar of a live page (JupyterLab, Voila): period, channels and comparison.

A change redraws every section of the page through ``nb.redraw``.
"""

from __future__ import annotations

import time
from typing import Any

from workbench.app import params as params_mod
from workbench.sql.filters import Filters, compare_window


def filter_bar(nb: Any) -> Any:
    """The filter bar widget of notebook ``nb``: date pickers, channels and comparison; a change redraws."""
    import ipywidgets as widgets

    from workbench.data import schema

    f = nb.filters
    start = widgets.DatePicker(value=f.start, description=nb.label("start"))
    end = widgets.DatePicker(value=f.end, description=nb.label("end"))
    options = [(nb.label(c), c) for c in schema.CHANNELS]
    chans = widgets.SelectMultiple(options=options, value=f.channels or tuple(schema.CHANNELS), rows=4,
                                   description=nb.label("channels"))
    cmp = widgets.Dropdown(options=[(nb.label(c), c) for c in params_mod.COMPARISONS], value=f.compare,
                           description=nb.label("compare"))
    status = widgets.HTML()

    def changed(_: Any = None) -> None:
        if not start.value or not end.value or start.value > end.value or not chans.value:
            status.value = nb.t("app.choose_valid")
            return
        cs, ce = compare_window(start.value, end.value, cmp.value)
        picked = tuple(chans.value)
        new = Filters(start=start.value, end=end.value,
                      channels=() if len(picked) == len(schema.CHANNELS) else picked,
                      compare=cmp.value, compare_start=cs, compare_end=ce)
        status.value = f"<span class='wb-redrawing'>{nb.t('app.redrawing')}</span>"
        t0 = time.perf_counter()
        nb.redraw(new)
        seconds = time.perf_counter() - t0
        status.value = (f"<span class='wb-redraw' data-ms='{seconds * 1000:.0f}'>"
                        f"{nb.t('app.redrawn', seconds=seconds)}</span>")

    for w in (start, end, chans, cmp):
        w.observe(changed, names="value")
    bar = widgets.HBox([widgets.VBox([start, end, cmp]), chans, status])
    bar.add_class("wb-filter-bar")
    nb._widgets = {"start": start, "end": end, "channels": chans, "compare": cmp, "status": status}
    return bar
