"""Chart helpers in plotly express style: a tidy frame and column names in, a figure out.

:func:`use_theme` registers the ``workbench`` template (CJK-capable fonts, one colour per
sales channel) and makes it the default; the helpers translate axis labels and legend
values into the notebook's language and put units on the axes.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import plotly.io as pio

from workbench import schema
from workbench.i18n import label

FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif'
PALETTE = ["#1f6feb", "#e8590c", "#2f9e44", "#c2255c", "#7048e8", "#f08c00", "#0c8599", "#5c940d", "#862e9c"]
CHANNEL_COLOURS = dict(zip(schema.CHANNELS, PALETTE))


def use_theme() -> None:
    """Register the ``workbench`` plotly template and make it the default."""
    if "workbench" not in pio.templates:
        base = go.layout.Template(pio.templates["plotly_white"])
        base.layout.font = dict(family=FONT, size=13)
        base.layout.colorway = PALETTE
        base.layout.title = dict(x=0.0, xanchor="left", font=dict(size=16))
        base.layout.margin = dict(l=60, r=20, t=60, b=50)
        base.layout.legend = dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0)
        pio.templates["workbench"] = base
    pio.templates.default = "workbench"
    px.defaults.template = "workbench"


def _translated(frame: pd.DataFrame, columns: list[str | None], lang: str) -> pd.DataFrame:
    out = frame.copy()
    for c in columns:
        if c and c in out and (out[c].dtype == object or isinstance(out[c].dtype, pd.StringDtype)
                               or isinstance(out[c].dtype, pd.CategoricalDtype)):
            out[c] = out[c].map(lambda v: label(v, lang))
    return out


def _colours(color: str | None, lang: str) -> dict | None:
    if color == "channel":
        return {label(k, lang): v for k, v in CHANNEL_COLOURS.items()}
    return None


def _labels(cols: list[str | None], lang: str, units: dict[str, str] | None) -> dict[str, str]:
    out = {}
    for c in cols:
        if c:
            out[c] = label(c, lang) + (f" ({units[c]})" if units and c in units else "")
    return out


def line(frame: pd.DataFrame, x: str, y: str, title: str, color: str | None = None, lang: str = "zh",
         units: dict[str, str] | None = None, dash: str | None = None) -> go.Figure:
    """A line chart of ``y`` over ``x`` (one line per ``color``), labels in ``lang``."""
    data = _translated(frame, [color, dash], lang)
    fig = px.line(data, x=x, y=y, color=color, line_dash=dash, title=title,
                  labels=_labels([x, y, color, dash], lang, units), color_discrete_map=_colours(color, lang))
    return fig


def bar(frame: pd.DataFrame, x: str, y: str, title: str, color: str | None = None, lang: str = "zh",
        units: dict[str, str] | None = None, orientation: str = "v", barmode: str = "relative",
        error: str | None = None, text: str | None = None) -> go.Figure:
    """A bar chart; ``error`` names a column of half-widths drawn as error bars."""
    data = _translated(frame, [x if orientation == "v" else y, color], lang)
    kw = {"error_x" if orientation == "h" else "error_y": error} if error else {}
    fig = px.bar(data, x=x, y=y, color=color, title=title, orientation=orientation, barmode=barmode,
                 labels=_labels([x, y, color], lang, units), color_discrete_map=_colours(color, lang),
                 text=text, **kw)
    return fig


def heatmap(frame: pd.DataFrame, x: str, y: str, z: str, title: str, lang: str = "zh",
            fmt: str = ".0%") -> go.Figure:
    """A heat map of ``z`` on a grid of ``x`` by ``y`` (a tidy frame, one row per cell)."""
    grid = frame.pivot(index=y, columns=x, values=z)
    fig = px.imshow(grid, text_auto=fmt, aspect="auto", color_continuous_scale="Blues", title=title,
                    labels={"x": label(x, lang), "y": label(y, lang), "color": label(z, lang)})
    return fig
