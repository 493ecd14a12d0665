"""Charts of the report archive and the shops roll-up (workbench.deliver)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from workbench.present.charts import use_theme
from workbench.text import catalogue


def kpi_history(frame: pd.DataFrame, title: str, lang: str = "zh", unit: str = "number") -> go.Figure:
    """One KPI across runs: ``as_of`` (x), ``value`` with its interval ``low``/``high`` (asymmetric
    error bars; rows without an interval show the point only). ``unit`` ``share`` draws a percent axis."""
    use_theme()
    data = frame.sort_values("as_of").copy()
    low = data["low"].where(data["low"].notna(), data["value"])
    high = data["high"].where(data["high"].notna(), data["value"])
    data["_plus"] = (high - data["value"]).clip(lower=0)
    data["_minus"] = (data["value"] - low).clip(lower=0)
    labels = {"as_of": catalogue.message("deliver.archive.period", lang),
              "value": catalogue.message("deliver.archive.kpis", lang)}
    fig = px.line(data, x="as_of", y="value", error_y="_plus", error_y_minus="_minus", markers=True, title=title,
                  labels=labels)
    fig.update_xaxes(type="category")
    if unit == "share":
        fig.update_yaxes(tickformat=".0%", hoverformat=".1%")
    fig.update_layout(height=260, margin={"l": 60, "r": 20, "t": 50, "b": 40}, showlegend=False)
    return fig
