"""Charts of the campaigns page in plotly express style: a tidy frame, column names and labels in, a figure out.

Every word on a chart (titles, axis titles, legend entries, hover names) is passed in by the caller,
already in the page's language, so nothing here chooses a language or shows a column name.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from workbench.present.charts import PALETTE


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


def timeline(frame: pd.DataFrame, start: str, end: str, y: str, text: str, title: str,
             labels: Mapping[str, str], shade: tuple[object, object] | None = None) -> go.Figure:
    """Bars from ``start`` to ``end`` (inclusive dates: the bar runs to the end of the last day), one row per ``y``.

    ``labels`` names ``start``, ``end``, ``y`` and ``text`` for the axis and the hover; ``shade``
    (first day, last day) shades a period.
    """
    data = frame.assign(_until=pd.to_datetime(frame[end]) + pd.Timedelta(days=1))
    fig = px.timeline(data, x_start=start, x_end="_until", y=y, color=y, text=text, title=title,
                      hover_data=[start, end], labels=dict(labels))
    fig.update_traces(hovertemplate=f"<b>%{{text}}</b><br>{labels[start]}: %{{customdata[0]|%Y-%m-%d}}"
                                    f"<br>{labels[end]}: %{{customdata[1]|%Y-%m-%d}}<extra></extra>")
    if shade is not None:
        fig.add_vrect(x0=pd.Timestamp(shade[0]), x1=pd.Timestamp(shade[1]) + pd.Timedelta(days=1),
                      fillcolor=PALETTE[0], opacity=0.08, line_width=0)
    fig.update_xaxes(title=labels.get("date", labels[start]))
    fig.update_yaxes(title=labels[y])
    return fig.update_layout(showlegend=False)


def band(frame: pd.DataFrame, x: str, lines: Mapping[str, str], low: str, high: str, band_name: str, title: str,
         x_title: str, y_title: str, shade: tuple[object, object] | None = None,
         hover_format: str = ",.0f") -> go.Figure:
    """Lines of the columns in ``lines`` ({column: legend name}) over ``x`` with one shaded ``low``–``high`` band.

    The band belongs to the last line (a forecast or a counterfactual) and shares its colour;
    ``shade`` (first day, last day) shades the event's days.
    """
    fig = go.Figure()
    colours = dict(zip(lines, PALETTE))
    band_colour = colours[list(lines)[-1]]
    fig.add_trace(go.Scatter(x=frame[x], y=frame[high], mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=frame[x], y=frame[low], fill="tonexty", mode="lines", line={"width": 0}, name=band_name,
                             fillcolor=_rgba(band_colour, 0.15), hoverinfo="skip"))
    for col, name in lines.items():
        fig.add_trace(go.Scatter(x=frame[x], y=frame[col], name=name, line={"color": colours[col]},
                                 hovertemplate=f"%{{x|%Y-%m-%d}}<br>{name}: %{{y:{hover_format}}}<extra></extra>"))
    if shade is not None:
        fig.add_vrect(x0=pd.Timestamp(shade[0]), x1=pd.Timestamp(shade[1]) + pd.Timedelta(days=1),
                      fillcolor=PALETTE[2], opacity=0.08, line_width=0)
    return fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title)
