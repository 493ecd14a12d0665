"""Charts of the forecast page in plotly express style: tidy frames and column names in, a figure out.

Every word on a chart (titles, axis titles, legend names) is passed in by the caller, already in the
page's language. Prediction bands are drawn from their own low/high columns (asymmetric, as the
forecast's paths give them) and clipped at zero, the feasible floor of sales and counts.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from workbench.present.charts import PALETTE


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


def fan(history: pd.DataFrame, forecast: pd.DataFrame, names: Mapping[str, str], title: str, x_title: str,
        y_title: str, bands: tuple[tuple[str, str, str], ...] = (("low_95", "high_95", "band_95"),
                                                                   ("low_80", "high_80", "band_80")),
        hover_format: str = ",.0f") -> go.Figure:
    """The recent ``history`` (``date``, ``actual``) and the ``forecast`` (``date``, ``forecast`` and the
    band columns) with its prediction bands, widest first.

    ``names`` gives the legend names of ``actual``, ``forecast`` and each band's key (``band_95``, ``band_80``).
    """
    fig = go.Figure()
    colour = PALETTE[1]
    for i, (low, high, key) in enumerate(bands):
        fig.add_trace(go.Scatter(x=forecast["date"], y=forecast[high].clip(lower=0), mode="lines", line={"width": 0},
                                 showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=forecast["date"], y=forecast[low].clip(lower=0), fill="tonexty",
                                 mode="lines", line={"width": 0}, name=names[key], fillcolor=_rgba(colour, 0.12 + 0.13 * i),
                                 hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=history["date"], y=history["actual"], name=names["actual"],
                             line={"color": PALETTE[0]},
                             hovertemplate=f"%{{x|%Y-%m-%d}}<br>{names['actual']}: %{{y:{hover_format}}}<extra></extra>"))
    fig.add_trace(go.Scatter(x=forecast["date"], y=forecast["forecast"], name=names["forecast"],
                             line={"color": colour},
                             hovertemplate=f"%{{x|%Y-%m-%d}}<br>{names['forecast']}: %{{y:{hover_format}}}"
                                           "<extra></extra>"))
    fig.update_yaxes(rangemode="tozero")
    return fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title)
