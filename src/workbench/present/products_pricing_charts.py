"""Charts of the products and pricing page that :mod:`workbench.present.charts` does not have (plotly express style)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from workbench.text.labels import label


def bubble(frame: pd.DataFrame, x: str, y: str, size: str, color: str, text: str, title: str, lang: str = "zh",
           percent_x: bool = False, percent_y: bool = False) -> go.Figure:
    """A bubble chart: ``x`` against ``y``, bubble area by ``size``, colour by ``color``, ``text`` beside each.

    The values of ``color`` and ``text`` and every column name are shown through their labels in ``lang``.
    """
    data = frame.copy()
    for c in (color, text):
        data[c] = data[c].map(lambda v: label(v, lang))
    fig = px.scatter(data, x=x, y=y, size=size, color=color, text=text, title=title,
                     labels={c: label(c, lang) for c in (x, y, size, color, text)})
    fig.update_traces(textposition="top center")
    if percent_x:
        fig.update_xaxes(tickformat=".0%")
    if percent_y:
        fig.update_yaxes(tickformat=".0%")
    return fig
