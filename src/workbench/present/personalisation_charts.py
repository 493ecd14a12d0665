"""Charts of the personalisation page: the calibration of a propensity model, in per cent."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from workbench.present.charts import PALETTE
from workbench.text.labels import label


def calibration(frame: pd.DataFrame, title: str, lang: str = "zh", x: str = "decile",
                predicted: str = "predicted_rate", observed: str = "observed_rate", low: str = "observed_low",
                high: str = "observed_high") -> go.Figure:
    """Predicted and observed rates by score decile: the observed rate with its asymmetric interval
    (clipped to 0–100%), the predicted rate as a dotted line; the rate axis in per cent."""
    lo = frame[low].astype(float).clip(0, 1)
    hi = frame[high].astype(float).clip(0, 1)
    obs = frame[observed].astype(float)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=frame[x], y=frame[predicted], mode="lines+markers", name=label(predicted, lang),
                             line=dict(color=PALETTE[1], dash="dot")))
    fig.add_trace(go.Scatter(x=frame[x], y=obs, mode="lines+markers", name=label(observed, lang),
                             line=dict(color=PALETTE[0]),
                             error_y=dict(type="data", symmetric=False, array=(hi - obs).clip(lower=0).tolist(),
                                          arrayminus=(obs - lo).clip(lower=0).tolist())))
    fig.update_layout(title=title, xaxis_title=label(x, lang), yaxis_title=label("purchase_rate", lang))
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(dtick=1)
    return fig
