"""The live page without a browser: the filter bar's widgets, the redraw contract (first answers
as plain output, redraws into an Output below them, findings replaced once), the query string
the page carries into its links, and a section that fails on redraw."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from workbench.app import url
from workbench.app.notebook import setup
from workbench.app.widgets import filters_query


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch, tiny_shop: Path) -> Any:
    """A live page (as in Voila) on the tiny shop, with two sections, run in an IPython shell."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("WORKBENCH_BATCH", "0")
    InteractiveShell.instance()
    from IPython.utils.capture import capture_output

    namespace = {"data": str(tiny_shop), "period": "all", "channels": "all", "language": "zh", "findings_path": ""}
    calls: list[str] = []
    with capture_output() as shown:
        nb = setup("01_sales_traffic", namespace)

        @nb.section("kpis", needs={"orders": ["paid_amount"]})
        def first(f: Any) -> None:
            calls.append("kpis")
            n = len(f.channels) or 7  # any catalogue message with a number will do
            nb.finding("channels", value=n, unit="count", message="app.redrawing_part", done=n, total=7)

        @nb.section("trend", needs={"orders": ["paid_amount"]})
        def second(f: Any) -> None:
            calls.append("trend")
            if f.channels == ("jd",):
                raise ValueError("a bug in this section")
    nb._test_calls = calls
    nb._test_first_outputs = shown.outputs
    return nb


def _widget_views(outputs: list[Any]) -> list[Any]:
    return [o for o in outputs if "application/vnd.jupyter.widget-view+json" in (o.data or {})]


def test_first_answers_are_plain_output_and_redraw_areas_start_empty(live: Any) -> None:
    """The page's widget state must stay small: no section's answer lives in a widget at first."""
    assert [s.output is not None for s in live.sections] == [True, True]
    assert all(s.output.outputs == () for s in live.sections)
    assert all("wb-redraw-area" in s.output._dom_classes for s in live.sections)
    texts = "".join(str((o.data or {}).get("text/html", "")) for o in live._test_first_outputs)
    assert "wb-finding" in texts  # the first answer's sentence is ordinary HTML output
    # the header's filter bar, the findings box, then one (empty) redraw area per section
    assert len(_widget_views(live._test_first_outputs)) == 2 + len(live.sections)


def test_channels_are_check_boxes_and_a_change_redraws_once(live: Any) -> None:
    import ipywidgets as widgets
    from IPython.utils.capture import capture_output

    from workbench.data import schema

    w = live._widgets
    assert set(w["channels"]) == set(schema.CHANNELS)
    assert all(isinstance(b, widgets.Checkbox) and b.value for b in w["channels"].values())
    assert not any(isinstance(x, widgets.SelectMultiple) for x in _walk(live))
    published: list[str] = []
    live._findings_widget.observe(lambda ch: published.append(ch["new"]), names="value")
    statuses: list[str] = []
    w["status"].observe(lambda ch: statuses.append(ch["new"]), names="value")
    live._test_calls.clear()
    with capture_output():
        w["channels"]["tmall"].value = False
    assert live._test_calls == ["kpis", "trend"]
    assert "tmall" not in live.filters.channels and len(live.filters.channels) == len(schema.CHANNELS) - 1
    assert len(published) == 1, "the findings box must be replaced once, as one block"
    assert "第 6 部分" in published[0]  # the new finding (6 channels), not the old one (7)
    assert any("第 1 部分，共 2 部分" in s for s in statuses) and any("第 2 部分，共 2 部分" in s for s in statuses)
    assert "已更新" in statuses[-1] and " ms" not in statuses[-1]
    for sec in live.sections:
        assert "wb-live" in sec.output._dom_classes and "wb-stale" not in sec.output._dom_classes
    assert "channels=jd,pinduoduo" in w["query"].value and "tmall" not in w["query"].value


def test_an_invalid_choice_says_so_and_does_not_redraw(live: Any) -> None:
    from IPython.utils.capture import capture_output

    w = live._widgets
    live._test_calls.clear()
    with capture_output():
        for box in w["channels"].values():
            box.value = False
    assert "至少一个渠道" in w["status"].value
    assert live._test_calls.count("kpis") == len(w["channels"]) - 1  # the last box emptied the choice


def test_a_section_failing_on_redraw_says_so_without_a_traceback(live: Any, capfd: pytest.CaptureFixture) -> None:
    from IPython.utils.capture import capture_output

    w = live._widgets
    with capture_output() as shown:
        for c, box in w["channels"].items():
            box.value = c == "jd"
    trend = live.sections[1]
    assert live.filters.channels == ("jd",)
    assert trend.status == "error" and "a bug in this section" in trend.message
    assert live.sections[0].status == "ok"
    page = shown.stdout + "".join(str((o.data or {}).get("text/html", "")) for o in shown.outputs)
    assert "Traceback" not in page and "ValueError" not in page
    assert "Traceback" in capfd.readouterr().err  # the details go to the kernel's log


def test_the_carried_query_reproduces_the_filters(live: Any) -> None:
    from workbench.app import params as params_mod
    from workbench.app.period import resolve_filters
    from workbench.sql.common import data_range

    f = live.filters
    changed = type(f)(start=f.start + dt.timedelta(days=1), end=f.end, channels=("tmall", "jd"), compare="none",
                      compare_start=None, compare_end=None)
    query = filters_query(changed, "en", 7.5)
    values = url.check_query(query)
    assert values == {"start": changed.start.isoformat(), "end": changed.end.isoformat(), "channels": "tmall,jd",
                      "compare": "none", "language": "en", "threshold_pct": "7.5"}
    again = resolve_filters(params_mod.validate({**values, "data": live.params["data"]}), data_range(live.data))
    assert (again.start, again.end, again.channels, again.compare) == (changed.start, changed.end, ("tmall", "jd"),
                                                                       "none")


def _walk(nb: Any) -> list[Any]:
    out, todo = [], list(nb._widgets.values())
    while todo:
        x = todo.pop()
        if isinstance(x, dict):
            todo.extend(x.values())
            continue
        out.append(x)
        todo.extend(getattr(x, "children", ()))
    return out
