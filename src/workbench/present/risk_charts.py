"""The risk page's words for its alerts: each :class:`~workbench.topics.risk.Alert` read through the catalogue.

An alert reads in three parts, ``risk.alert.<key>.what`` (what happened), ``.unusual`` (how unusual)
and ``.where`` (where to look), filled from the alert's ``values``. The overview and ``13_risk``
both use :func:`alert_sentence`, so an alert reads the same on both pages.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from workbench.text import catalogue, fmt
from workbench.text.pages import topic as topic_of

PARTS = ("what", "unusual", "where")


def p_text(p: float, lang: str) -> str:
    """A p-value as a reader writes it: "p < 0.0001" for tiny ones, else "p = 0.0123" (no "e" notation)."""
    if p != p:
        return fmt.DASH
    return "p < 0.0001" if p < 1e-4 else "p = " + fmt.number(p, lang, 4)


def _values(alert: Any, lang: str) -> dict[str, Any]:
    v = dict(alert.values)
    sep = catalogue.message("risk.list_sep", lang)
    if alert.key == "kpi":
        name_key = f"kpi.name.{v['metric']}"
        v["metric_name"] = catalogue.message(name_key, lang) if catalogue.has(name_key, lang) else v["metric"]
        v["status"] = catalogue.message(f"kpi.status.{'red' if alert.level == 'alert' else 'amber'}", lang)
        v["page_title"] = topic_of(v["page"]).title(lang)
    elif alert.key == "refund_spike":
        parts = [catalogue.message("risk.alert.refund_spike.part", lang, dimension=d,
                                   value=catalogue.label(val, lang, d), excess=e)
                 for d, val, e in v.get("where") or []]
        v["look"] = sep.join(parts) if parts else catalogue.message("risk.alert.refund_spike.anywhere", lang)
    elif alert.key == "shared_address":
        v["coupon_part"] = (catalogue.message("risk.alert.shared_address.coupon", lang, share=v["coupon_share"],
                                              coupon=v["coupon"]) if v.get("coupon") else "")
    if "p" in v:
        v["p"] = p_text(v["p"], lang)
    if alert.key in ("day_low", "day_high"):
        v["value_text"] = fmt.value(v["value"], v["unit"], lang)
        v["usual_text"] = fmt.value(v["usual"], v["unit"], lang)
    return v


def alert_parts(alert: Any, lang: str) -> tuple[str, str, str]:
    """What happened, how unusual, where to look: the alert's three catalogue sentences in ``lang``."""
    v = _values(alert, lang)
    what, unusual, where = (catalogue.message(f"risk.alert.{alert.key}.{p}", lang, **v) for p in PARTS)
    return what, unusual, where


def alert_sentence(alert: Any, lang: str) -> str:
    """The alert as one sentence (its three parts joined)."""
    what, unusual, where = alert_parts(alert, lang)
    return catalogue.message("risk.alert_sentence", lang, what=what, unusual=unusual, where=where)


def alert_table(alerts: list[Any], lang: str) -> pd.DataFrame:
    """Alerts as a table: ``level`` (labelled), ``what``, ``how_unusual``, ``where_to_look``; alerts before watches."""
    rows = []
    for a in sorted(alerts, key=lambda a: a.level != "alert"):
        what, unusual, where = alert_parts(a, lang)
        rows.append({"level": catalogue.label(a.level, lang), "what": what, "how_unusual": unusual,
                     "where_to_look": where})
    return pd.DataFrame(rows, columns=["level", "what", "how_unusual", "where_to_look"])


_CATEGORY_COLOURS = {"market": "#1f6feb", "operations": "#e8590c", "technology": "#7048e8", "legal": "#c2255c",
                     "financial": "#2f9e44"}


def matrix_chart(register: pd.DataFrame, title: str, lang: str = "zh") -> Any:
    """The likelihood × impact matrix: one numbered marker per risk (``no``, its rank in the register
    table; the risk's name on hover), filled when the likelihood comes from data; the background
    shaded green/amber/red by exposure. ``register`` is :func:`workbench.topics.risk.apply_indicators`
    with ``no`` and ``risk`` (the name in ``lang``) added."""
    import numpy as np
    import plotly.graph_objects as go

    fig = go.Figure()
    cells = []  # the 25 shaded cells, given to the layout at once (25 add_shape calls took about 1 s)
    for li in range(1, 6):
        for im in range(1, 6):
            e = li * im
            colour = "rgba(47,158,68,0.12)" if e < 8 else "rgba(240,140,0,0.15)" if e < 15 else "rgba(194,37,92,0.15)"
            cells.append(dict(type="rect", x0=li - 0.5, x1=li + 0.5, y0=im - 0.5, y1=im + 0.5, fillcolor=colour,
                              line=dict(color="white", width=1), layer="below"))
    fig.update_layout(shapes=cells)
    rng = np.random.default_rng(0)
    for cat, g in register.groupby("category", sort=False):
        colour = _CATEGORY_COLOURS.get(cat, "#555")
        fig.add_trace(go.Scatter(
            x=g["likelihood"] + rng.uniform(-0.25, 0.25, len(g)), y=g["impact"] + rng.uniform(-0.25, 0.25, len(g)),
            mode="markers+text", text=g["no"].astype(str), textposition="top center", textfont=dict(size=11),
            name=catalogue.label(cat, lang), hovertext=g["risk"], hoverinfo="text",
            marker=dict(size=14, color=colour, symbol=np.where(g["likelihood_source"] == "data", "circle",
                                                               "circle-open"), line=dict(width=2, color=colour))))
    fig.update_layout(title=title, height=520,
                      xaxis=dict(title=catalogue.label("likelihood", lang), range=[0.5, 5.5], dtick=1),
                      yaxis=dict(title=catalogue.label("impact", lang), range=[0.5, 5.5], dtick=1))
    return fig
