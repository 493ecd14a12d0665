"""Chart helpers in plotly express style: a tidy frame and column names in, a figure out.

:func:`use_theme` registers the ``workbench`` template (CJK-capable fonts, one colour per
sales channel) and makes it the default; the helpers translate axis labels and legend
values into the notebook's language and put units on the axes.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import plotly.io as pio

from workbench.data import schema
from workbench.text import catalogue
from workbench.text import labels as i18n
from workbench.text.labels import label
from workbench.topics import risk

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
        # numbers on axes as a reader writes them: 400,000 rather than plotly's SI "400k" (not Chinese)
        for axis in (base.layout.xaxis, base.layout.yaxis):
            axis.exponentformat = "none"
            axis.separatethousands = True
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


#: This period and the comparison period keep their colours in every chart of every page.
PERIOD_COLOURS = {"current": "#1f6feb", "comparison": "#adb5bd", "previous": "#adb5bd", "last_year": "#adb5bd"}

#: At most this many shaded interval bands in one chart (more are unreadable).
MAX_BANDS = 3


def _colours(color: str | None, lang: str) -> dict | None:
    if color == "channel":
        return {label(k, lang): v for k, v in CHANNEL_COLOURS.items()}
    if color == "period":
        return {label(k, lang): v for k, v in PERIOD_COLOURS.items()}
    return None


def _labels(cols: list[str | None], lang: str, units: dict[str, str] | None) -> dict[str, str]:
    out = {}
    for c in cols:
        if c:
            out[c] = label(c, lang) + (f" ({units[c]})" if units and c in units else "")
    return out


def line(frame: pd.DataFrame, x: str, y: str, title: str, color: str | None = None, lang: str = "zh",
         units: dict[str, str] | None = None, dash: str | None = None, percent: bool = False) -> go.Figure:
    """A line chart of ``y`` over ``x`` (one line per ``color``), labels in ``lang``.

    ``color="period"`` (values ``current``/``comparison``) keeps the two periods' colours fixed;
    ``percent`` writes the value axis in per cent.
    """
    data = _translated(frame, [color, dash], lang)
    labels = _labels([x, y, color, dash], lang, units)
    fig = _fast_figure("line", data, x, y, title, labels, color=color, dash=dash,
                       colour_map=_colours(color, lang))
    if fig is None:  # a case the direct builder does not cover: plotly express itself
        fig = px.line(data, x=x, y=y, color=color, line_dash=dash, title=title,
                      labels=labels, color_discrete_map=_colours(color, lang))
    if percent:
        fig.update_yaxes(tickformat=".0%", hoverformat=".1%")
    return fig


# ----- the figures of px.bar / px.line, built directly -------------------------------------------
# plotly express spends most of a chart's time on its own machinery (template validation,
# make_subplots, property-by-property updates); the traces and layout below are the same figure
# (tests/present/test_charts.py compares the JSON of both) in about a seventh of the time (medians
# in one process at load 6.5: interval_bar 452 -> 68 ms, line 400 -> 56 ms). Anything else (numeric
# or missing colour values, an empty frame…) goes to plotly express.
_DASHES = ["solid", "dot", "dash", "longdash", "dashdot", "longdashdot"]


def _discrete(data: pd.DataFrame, col: str | None) -> bool:
    """Whether ``col`` is a grouping column px would treat as discrete, without missing values."""
    if col is None:
        return True
    if col not in data:
        return False
    s = data[col]
    if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
        return False
    return bool(s.map(lambda v: type(v) is str).all())


def _fast_figure(kind: str, data: pd.DataFrame, x: str, y: str, title: str, labels: dict[str, str],
                 color: str | None = None, dash: str | None = None, colour_map: dict | None = None,
                 orientation: str = "v", barmode: str = "relative", text: str | None = None,
                 errors: dict[str, str] | None = None) -> go.Figure | None:
    """The figure ``px.bar``/``px.line`` would make for these arguments, or None when not covered."""
    if not isinstance(data, pd.DataFrame) or len(data) == 0 or not isinstance(title, str):
        return None
    if x not in data or y not in data or (text is not None and text not in data):
        return None
    if len({x, y}) < 2 or not _discrete(data, color) or not _discrete(data, dash):
        return None
    if kind == "line" and color is not None and color == dash:
        return None
    if (kind == "bar" and barmode not in ("relative", "group", "overlay", "stack")) or orientation not in ("v", "h"):
        return None
    if data.columns.duplicated().any() or not data.index.is_unique:
        return None
    if kind == "line" and orientation != "v":
        return None

    def lab(c: str) -> str:
        return labels.get(c, c)

    groupers = [c for c in (color, dash) if c is not None]
    orders = {c: list(pd.unique(data[c])) for c in dict.fromkeys(groupers)}
    colour_vals: dict[Any, str] = dict(colour_map or {})
    if color is not None:
        for v in orders[color]:
            if v not in colour_vals:
                colour_vals[v] = PALETTE[len(colour_vals) % len(PALETTE)]
    dash_vals: dict[Any, str] = {}
    if dash is not None:
        for v in orders[dash]:
            if v not in dash_vals:
                dash_vals[v] = _DASHES[len(dash_vals) % len(_DASHES)]
    if groupers:
        keys = list(dict.fromkeys(zip(*(data[c] for c in groupers))))
        keys.sort(key=lambda k: [orders[c].index(v) for c, v in zip(groupers, k)])
        parts = []
        for k in keys:
            mask = pd.Series(True, index=data.index)
            for c, v in zip(groupers, k):
                mask &= data[c] == v
            parts.append((dict(zip(groupers, k)), data[mask]))
    else:
        parts = [({}, data)]

    traces = []
    for values, part in parts:
        hover: dict[str, str] = {}
        names = []
        for c in groupers:
            hover[lab(c)] = str(values[c])
            names.append(str(values[c]))
        name = ", ".join(dict(zip([lab(c) for c in groupers], names)).values())
        trace: dict[str, Any] = {"name": name, "legendgroup": name, "showlegend": name != ""}
        if kind == "bar" and barmode == "group":
            trace.update(alignmentgroup=True, offsetgroup=name)
        c_val = colour_vals[values[color]] if color is not None else PALETTE[0]
        if kind == "bar":
            trace["marker"] = {"color": c_val, "pattern": {"shape": ""}}
            trace["textposition"] = "auto"
        else:
            trace["line"] = {"color": c_val, "dash": dash_vals[values[dash]] if dash is not None else "solid"}
            trace["marker"] = {"symbol": "circle"}
            trace["mode"] = "lines"
        trace["orientation"] = orientation
        hover[lab(x)] = "%{x}"
        hover[lab(y)] = "%{y}"
        trace["x"] = part[x].to_numpy()
        trace["y"] = part[y].to_numpy()
        if text is not None:
            hover[lab(text)] = "%{text}"
            trace["text"] = part[text].to_numpy()
        for key, col in (errors or {}).items():
            axis, _, minus = key.partition("_minus")
            trace.setdefault(axis, {})["arrayminus" if key.endswith("_minus") else "array"] = part[col].to_numpy()
        trace["xaxis"], trace["yaxis"] = "x", "y"
        trace["hovertemplate"] = "<br>".join(f"{k}={v}" for k, v in hover.items()) + "<extra></extra>"
        traces.append((go.Bar if kind == "bar" else go.Scatter)(trace))

    layout: dict[str, Any] = {
        "xaxis": {"anchor": "y", "domain": [0.0, 1.0], "title": {"text": lab(x)}},
        "yaxis": {"anchor": "x", "domain": [0.0, 1.0], "title": {"text": lab(y)}},
        "legend": {"tracegroupgap": 0},
        "title": {"text": title},
    }
    for letter, col in (("x", x), ("y", y)):
        if col in orders:
            order = orders[col] if letter == "x" else list(reversed(orders[col]))
            layout[f"{letter}axis"].update(categoryorder="array", categoryarray=order)
    if groupers:
        layout["legend"]["title"] = {"text": ", ".join(dict.fromkeys(lab(c) for c in groupers))}
    if kind == "bar":
        layout["barmode"] = barmode
    return go.Figure(data=traces, layout=layout)


def _interval_columns(frame: pd.DataFrame, value: str, low: str | None, high: str | None,
                      bounds: tuple[float, float] | None) -> dict[str, pd.Series]:
    """The distances from ``value`` down to ``low`` and up to ``high``, the bounds first clipped to ``bounds``."""
    v = frame[value].astype(float)
    lo = frame[low].astype(float) if low else v
    hi = frame[high].astype(float) if high else v
    if bounds is not None:
        lo, hi = lo.clip(*bounds), hi.clip(*bounds)
    return {"_minus": (v - lo).clip(lower=0), "_plus": (hi - v).clip(lower=0)}


def bar(frame: pd.DataFrame, x: str, y: str, title: str, color: str | None = None, lang: str = "zh",
        units: dict[str, str] | None = None, orientation: str = "v", barmode: str = "relative",
        low: str | None = None, high: str | None = None, bounds: tuple[float, float] | None = None,
        percent: bool = False, text: str | None = None) -> go.Figure:
    """A bar chart; ``low``/``high`` name the interval's bound columns, drawn as asymmetric error bars.

    The bounds are clipped to ``bounds`` (the feasible range: ``(0, 1)`` for a share, ``(0, inf)``
    for days of cover) before they are drawn; ``percent`` writes the value axis in per cent.
    """
    cat = x if orientation == "v" else y
    val = y if orientation == "v" else x
    data = _translated(frame, [cat, color], lang)
    kw = {}
    if low or high:
        data = data.assign(**_interval_columns(frame, val, low, high, bounds))
        kw = ({"error_y": "_plus", "error_y_minus": "_minus"} if orientation == "v"
              else {"error_x": "_plus", "error_x_minus": "_minus"})
    labels = _labels([x, y, color], lang, units)
    fig = _fast_figure("bar", data, x, y, title, labels, color=color, colour_map=_colours(color, lang),
                       orientation=orientation, barmode=barmode, text=text, errors=kw)
    if fig is None:  # a case the direct builder does not cover: plotly express itself
        fig = px.bar(data, x=x, y=y, color=color, title=title, orientation=orientation, barmode=barmode,
                     labels=labels, color_discrete_map=_colours(color, lang), text=text, **kw)
    if percent:
        (fig.update_yaxes if orientation == "v" else fig.update_xaxes)(tickformat=".0%", hoverformat=".1%")
    return fig


def interval_bar(frame: pd.DataFrame, x: str, y: str, low: str, high: str, title: str, lang: str = "zh",
                 color: str | None = None, orientation: str = "v", percent: bool = False,
                 units: dict[str, str] | None = None, bounds: tuple[float, float] | None = None) -> go.Figure:
    """A bar chart of ``y`` with its interval from the ``low``/``high`` columns (asymmetric error bars).

    A share (``percent``) is clipped to 0–1 unless other ``bounds`` are given.
    """
    if bounds is None and percent:
        bounds = (0.0, 1.0)
    return bar(frame, x=x, y=y, title=title, color=color, lang=lang, units=units, orientation=orientation,
               low=low, high=high, bounds=bounds, percent=percent)


def heatmap(frame: pd.DataFrame, x: str, y: str, z: str, title: str, lang: str = "zh",
            fmt: str = ".0%") -> go.Figure:
    """A heat map of ``z`` on a grid of ``x`` by ``y`` (a tidy frame, one row per cell)."""
    grid = frame.pivot(index=y, columns=x, values=z)
    fig = px.imshow(grid, text_auto=fmt, aspect="auto", color_continuous_scale="Blues", title=title,
                    labels={"x": label(x, lang), "y": label(y, lang), "color": label(z, lang)})
    return fig


# ----- charts of the topic pages ------------------------------------------------------------


def band_chart(daily: pd.DataFrame, y: str, title: str, y_title: str, lang: str = "zh",
               flag_low: bool = True, flag_high: bool = True) -> Any:
    """A daily series with its robust band (``low``–``high``), its ``baseline`` and flagged days marked.

    ``daily`` is a frame from :func:`robust_baseline` or :func:`refund_daily` (``date``, ``y``,
    ``baseline``, ``low``, ``high``, ``robust_z``); the current period (``in_period``) is shaded.
    """
    import plotly.graph_objects as go

    d = daily.dropna(subset=["baseline"])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=d["date"], y=d["high"], mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=d["date"], y=d["low"].clip(lower=0), fill="tonexty", mode="lines", line=dict(width=0),
                             fillcolor="rgba(31,111,235,0.12)",
                             name=catalogue.message("chart.normal_range", lang, z=risk.Z_ALERT)))
    fig.add_trace(go.Scatter(x=d["date"], y=d["baseline"], line=dict(color="#888", dash="dot"),
                             name=i18n.label("baseline", lang)))
    fig.add_trace(go.Scatter(x=d["date"], y=d[y], line=dict(color="#1f6feb"), name=y_title))
    mask = ((d["robust_z"] > risk.Z_ALERT) & flag_high) | ((d["robust_z"] < -risk.Z_ALERT) & flag_low)
    fig.add_trace(go.Scatter(x=d.loc[mask, "date"], y=d.loc[mask, y], mode="markers",
                             marker=dict(color="#c2255c", size=10, symbol="diamond"),
                             name=catalogue.message("chart.unusual_day", lang)))
    if "in_period" in d and d["in_period"].any():
        per = d[d["in_period"]]["date"]
        fig.add_vrect(x0=per.min(), x1=per.max(), fillcolor="rgba(0,0,0,0.05)", line_width=0)
    fig.update_layout(title=title, xaxis_title=i18n.label("date", lang), yaxis_title=y_title)
    return fig


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"




# ----- dates as a reader of the page's language writes them -------------------------------------------
DAY_MS = 86_400_000
ZH_DATE_STOPS = (  # plotly's own date ticks read "Dec 7 / 2025": English month names on a Chinese page
    ((None, DAY_MS - 1), "%-m月%-d日 %H:%M"),  # below a day: a tick of exactly one day is a date
    ((DAY_MS, 28 * DAY_MS), "%-m月%-d日"),
    ((28 * DAY_MS, "M12"), "%Y年%-m月"),
    (("M12", None), "%Y年"),
)


def _is_dates(values: Any) -> bool:
    if values is None:
        return False
    kind = getattr(getattr(values, "dtype", None), "kind", "O")
    if kind in "biufcmM" and hasattr(values, "__len__"):  # numbers or datetimes: the dtype says it (as the sample would)
        return kind == "M" and len(values) > 0
    try:
        sample = pd.Series(list(values[:20]) if hasattr(values, "__getitem__") else list(values)[:20])
    except TypeError:
        return False
    if sample.empty:
        return False
    if pd.api.types.is_datetime64_any_dtype(sample):
        return True
    if sample.map(lambda v: hasattr(v, "year") and hasattr(v, "month")).all():
        return True
    if sample.map(lambda v: isinstance(v, str)).all():
        return bool(sample.str.fullmatch(r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?").all())
    return False


def localise_dates(fig: go.Figure, lang: str) -> go.Figure:
    """Write the date axes of ``fig`` in ``lang``: 12月7日, 2025年12月 on Chinese pages (hover too).

    Only axes that carry dates are touched (plotly's ``tickformatstops`` would mis-format a numeric
    axis); other languages keep plotly's English dates. Returns ``fig``.
    """
    if lang != "zh":
        return fig
    axes: set[str] = set()
    for trace in fig.data:
        for letter in ("x", "y"):
            if _is_dates(getattr(trace, letter, None)):
                ref = getattr(trace, f"{letter}axis", None) or letter
                axes.add(ref.replace(letter, f"{letter}axis", 1))
    stops = [dict(dtickrange=list(r), value=v) for r, v in ZH_DATE_STOPS]
    for name in axes:
        axis = fig.layout[name] if name in fig.layout else None
        if axis is None or axis.type not in (None, "-", "date"):
            continue
        fig.update_layout({name: dict(tickformatstops=stops, hoverformat="%Y年%-m月%-d日")})
    return fig
