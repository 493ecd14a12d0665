"""Charts (workbench.present.charts): intervals drawn as they are, on axes a reader reads."""

from __future__ import annotations

import pandas as pd

from workbench.present import charts, reputation_charts


def _shares() -> pd.DataFrame:
    return pd.DataFrame({"carrier": ["a", "b"], "on_time_rate": [0.97, 0.5], "on_time_rate_low": [0.93, 0.3],
                         "on_time_rate_high": [1.02, 0.6]})


def test_intervals_are_asymmetric_and_clipped_to_the_feasible_range() -> None:
    fig = charts.interval_bar(_shares(), x="carrier", y="on_time_rate", low="on_time_rate_low",
                              high="on_time_rate_high", title="t", percent=True, lang="en")
    err = fig.data[0].error_y
    assert list(err.arrayminus) == [0.97 - 0.93, 0.5 - 0.3]
    assert abs(err.array[0] - 0.03) < 1e-12  # 1.02 clipped to 1.0
    assert abs(err.array[1] - 0.1) < 1e-12
    assert fig.layout.yaxis.tickformat == ".0%"


def test_axis_titles_and_categories_are_labelled_not_raw_columns() -> None:
    fig = charts.bar(pd.DataFrame({"channel": ["tmall", "jd"], "gmv": [1.0, 2.0]}), x="channel", y="gmv",
                     title="t", lang="zh")
    assert fig.layout.xaxis.title.text == "渠道"
    assert "gmv" not in fig.layout.yaxis.title.text
    assert list(fig.data[0].x) == ["天猫", "京东"]


def test_this_period_and_the_comparison_keep_their_colours() -> None:
    frame = pd.DataFrame({"day": [1, 2, 1, 2], "gmv": [1, 2, 3, 4],
                          "period": ["current", "current", "comparison", "comparison"]})
    a = charts.line(frame, x="day", y="gmv", color="period", title="t", lang="en")
    b = charts.line(frame.iloc[::-1], x="day", y="gmv", color="period", title="t", lang="en")
    colours = lambda fig: {tr.name: tr.line.color for tr in fig.data}  # noqa: E731
    assert colours(a) == colours(b)
    assert len(set(colours(a).values())) == 2


def test_no_more_than_three_interval_bands_in_one_chart() -> None:
    frame = pd.DataFrame({"week": list(range(3)) * 5, "g": sum([[k] * 3 for k in "abcde"], []),
                          "s": 0.1, "lo": -1.5, "hi": 0.5})
    fig = reputation_charts.band(frame, x="week", y="s", low="lo", high="hi", title="t", y_title="s", color="g",
                                 bounds=(-1.0, 1.0))
    bands = [tr for tr in fig.data if tr.fill == "tonexty"]
    assert len(bands) == charts.MAX_BANDS
    assert min(min(tr.y) for tr in bands) >= -1.0


def test_chinese_date_axes_are_written_in_chinese_and_numeric_axes_are_left_alone() -> None:
    import pandas as pd

    from workbench.present import charts

    days = pd.DataFrame({"date": pd.date_range("2025-12-01", periods=31), "gmv": range(31)})
    fig = charts.localise_dates(charts.line(days, "date", "gmv", "t", lang="zh"), "zh")
    formats = {tuple(s.dtickrange): s.value for s in fig.layout.xaxis.tickformatstops}
    assert formats[(charts.DAY_MS, 28 * charts.DAY_MS)] == "%-m月%-d日"
    assert fig.layout.xaxis.hoverformat == "%Y年%-m月%-d日"
    assert not fig.layout.yaxis.tickformatstops  # the GMV axis is a number axis
    bars = charts.localise_dates(charts.bar(pd.DataFrame({"x": [1, 2], "y": [3, 4]}), "x", "y", "t", lang="zh"), "zh")
    assert not bars.layout.xaxis.tickformatstops
    english = charts.localise_dates(charts.line(days, "date", "gmv", "t", lang="en"), "en")
    assert not english.layout.xaxis.tickformatstops


# ----- the direct builder draws the figure plotly express draws -----------------------------------------
import datetime as _dt  # noqa: E402
import json  # noqa: E402

import pytest  # noqa: E402


def _mixed() -> pd.DataFrame:
    return pd.DataFrame({
        "channel": ["tmall", "jd", "douyin", "tmall", "not_a_known_key"],
        "period": ["current", "current", "comparison", "comparison", "current"],
        "value": [1.0, 2.0, 3.0, 4.0, 5.0], "count": [1, 2, 3, 4, 5], "lo": [0.5, 1, 2, 3, 4.0],
        "hi": [2.0, 3, 4, 5, 6], "date": pd.date_range("2025-01-01", periods=5),
        "day": [_dt.date(2025, 1, i) for i in range(1, 6)], "segment": pd.Categorical(list("abcab")),
        "score": [0.1, 0.2, 0.3, 0.4, 0.5],
    })


CASES = [
    ("bar", ("channel", "value"), dict(color="period", low="lo", high="hi", text="count", units={"value": "元"})),
    ("bar", ("value", "channel"), dict(orientation="h")),
    ("bar", ("value", "channel"), dict(orientation="h", color="channel")),
    ("bar", ("channel", "count"), dict(color="channel", barmode="group")),
    ("bar", ("channel", "count"), dict(color="period", barmode="group", percent=True, lang="en")),
    ("bar", ("date", "value"), dict(color="period")),
    ("bar", ("segment", "value"), dict(color="segment")),
    ("bar", ("channel", "value"), dict(color="score")),  # a numeric colour: plotly express's colour scale
    ("interval_bar", ("channel", "value"), dict(low="lo", high="hi", percent=True)),
    ("interval_bar", ("value", "channel"), dict(low="lo", high="hi", orientation="h", color="period")),
    ("line", ("date", "value"), dict()),
    ("line", ("date", "value"), dict(color="period", lang="en")),
    ("line", ("day", "count"), dict(color="channel", dash="period", percent=True)),
    ("line", ("channel", "value"), dict(color="period", dash="channel")),
    ("line", ("date", "value"), dict(color="period", dash="period")),
]


@pytest.mark.parametrize("kind,xy,kw", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_bar_and_line_draw_the_same_figure_as_plotly_express(kind, xy, kw, monkeypatch) -> None:
    charts.use_theme()
    draw = getattr(charts, kind)
    fast = json.loads(draw(_mixed(), *xy, title="t", **kw).to_json())
    monkeypatch.setattr(charts, "_fast_figure", lambda *a, **k: None)  # plotly express for every figure
    reference = json.loads(draw(_mixed(), *xy, title="t", **kw).to_json())
    assert fast == reference


def test_the_direct_builder_leaves_uncovered_cases_to_plotly_express() -> None:
    data, labels = _mixed(), {}
    assert charts._fast_figure("bar", data, "channel", "value", "t", labels, color="score") is None
    with_gap = data.assign(period=[None, "current", "current", "comparison", "current"])
    assert charts._fast_figure("bar", with_gap, "channel", "value", "t", labels, color="period") is None
    assert charts._fast_figure("bar", data.iloc[:0], "channel", "value", "t", labels) is None
    assert charts._fast_figure("bar", data, "channel", "value", "t", labels, color="period") is not None
