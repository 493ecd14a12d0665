"""Charts of the customer-service page in plotly express style: a tidy frame, column names and labels in, a figure out.

Every word on a chart is passed in by the caller, already in the page's language.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go


def odds_ratios(frame: pd.DataFrame, x: str, y: str, low: str, high: str, title: str, x_title: str,
                y_title: str) -> go.Figure:
    """A forest plot: one marker per row of ``frame`` at ``x`` (an odds ratio) on a log axis, with its
    asymmetric ``low``–``high`` interval, the rows named by ``y`` (labels, not term keys), first row on top.

    A dotted line marks 1 (no effect). The hover shows the ratio and its interval under the axis title.
    """
    data = frame.assign(_plus=(frame[high] - frame[x]).clip(lower=0),
                        _minus=(frame[x] - frame[low]).clip(lower=0)).iloc[::-1]
    fig = px.scatter(data, x=x, y=y, error_x="_plus", error_x_minus="_minus", log_x=True, title=title,
                     labels={x: x_title, y: y_title}, custom_data=[low, high])
    fig.update_traces(hovertemplate=f"%{{y}}<br>{x_title}: %{{x:.2f}} (%{{customdata[0]:.2f}} – "
                                    f"%{{customdata[1]:.2f}})<extra></extra>")
    fig.add_vline(x=1.0, line_dash="dot", line_color="#888")
    return fig.update_layout(height=max(360, 28 * len(data) + 140))
