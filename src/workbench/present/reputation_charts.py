"""Charts of the brand-reputation page: lines with interval bands clipped to what is possible.

Plotly-express style: a tidy frame and column names in, a figure out. Labels come from the
catalogue (:func:`workbench.text.labels.label`); titles are passed in already written.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go

from workbench.present.charts import MAX_BANDS, PALETTE, _rgba
from workbench.text.labels import label

#: Not more interval bands than this are overlaid in one chart (more groups are drawn as lines).


def band(frame: pd.DataFrame, x: str, y: str, low: str, high: str, title: str, y_title: str,
         color: str | None = None, lang: str = "zh", bounds: tuple[float, float] | None = None,
         names: dict | None = None, marks: Iterable = (), percent: bool = False) -> go.Figure:
    """Lines of ``y`` over ``x`` with a shaded ``low``–``high`` band per ``color`` group.

    The band is clipped to ``bounds`` (the feasible range: (−1, 1) for sentiment, (1, 5) for stars);
    the first :data:`MAX_BANDS` groups get a band, later ones a line only. Group values are shown
    through ``names`` (e.g. product names) or their catalogue label. ``marks`` are x values (dates)
    drawn as dotted vertical lines (a change date).
    """
    fig = go.Figure()
    groups = list(frame.groupby(color, sort=False)) if color else [(None, frame)]
    for i, (name, g) in enumerate(groups):
        colour = PALETTE[i % len(PALETTE)]
        shown = y_title if name is None else (names or {}).get(name, label(name, lang))
        lo, hi = g[low].astype(float), g[high].astype(float)
        if bounds is not None:
            lo, hi = lo.clip(*bounds), hi.clip(*bounds)
        if i < MAX_BANDS:
            fig.add_trace(go.Scatter(x=g[x], y=hi, mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip",
                                     legendgroup=str(name)))
            fig.add_trace(go.Scatter(x=g[x], y=lo, fill="tonexty", mode="lines", line=dict(width=0), showlegend=False,
                                     hoverinfo="skip", fillcolor=_rgba(colour, 0.15), legendgroup=str(name)))
        fig.add_trace(go.Scatter(x=g[x], y=g[y], line=dict(color=colour), name=shown, legendgroup=str(name)))
    for m in marks:
        fig.add_vline(x=str(m), line_dash="dot", line_color="#c2255c")
    fig.update_layout(title=title, xaxis_title=label(x, lang), yaxis_title=y_title, showlegend=color is not None)
    if bounds is not None and all(abs(b) != float("inf") for b in bounds):
        pad = (bounds[1] - bounds[0]) * 0.02
        fig.update_yaxes(range=[max(bounds[0], float(frame[low].min()) - pad) if frame[low].notna().any()
                                else bounds[0], min(bounds[1], float(frame[high].max()) + pad)
                                if frame[high].notna().any() else bounds[1]])
    if percent:
        fig.update_yaxes(tickformat=".0%")
    return fig
