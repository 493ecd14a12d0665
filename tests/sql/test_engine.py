"""The SQL layer: one executor with bound parameters, and no other layer touches the connection."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest

import workbench
from workbench.errors import ParameterError
from workbench.sql import engine, metrics
from workbench.sql.filters import Filters

SRC = Path(__file__).resolve().parents[2] / "src" / "workbench"


@pytest.fixture(scope="module")
def ds(sample_dir: Path) -> workbench.Dataset:
    return workbench.load(sample_dir)


def test_filters_bind_values_as_parameters_never_as_sql_text() -> None:
    f = Filters(dt.date(2025, 1, 1), dt.date(2025, 1, 31), channels=("tmall", "o'brien; DROP TABLE orders"))
    sql, params = f.bind("o.order_date", "o.channel")
    assert "2025" not in sql and "tmall" not in sql and "DROP" not in sql
    assert params == {"start": dt.date(2025, 1, 1), "end": dt.date(2025, 1, 31), "c0": "tmall",
                      "c1": "o'brien; DROP TABLE orders"}


def test_a_hostile_channel_name_is_only_a_value(ds: workbench.Dataset) -> None:
    f = Filters(dt.date(2025, 1, 1), dt.date(2025, 1, 31), channels=("x' OR '1'='1",))
    assert metrics.period(ds, f, "orders")["num"] == 0
    assert metrics.period(ds, Filters(dt.date(2025, 1, 1), dt.date(2025, 1, 31)), "orders")["num"] > 0


def test_grouping_columns_come_from_an_allow_list() -> None:
    assert engine.identifier("carrier", ("carrier", "warehouse")) == "carrier"
    with pytest.raises(ParameterError, match="cannot group by"):
        engine.identifier("carrier; DROP TABLE x", ("carrier", "warehouse"))


def test_the_daily_history_sums_to_the_period(ds: workbench.Dataset) -> None:
    f = Filters(dt.date(2025, 11, 1), dt.date(2025, 11, 30))
    for key in ("gmv", "orders", "on_time_rate", "refund_rate"):
        days, whole = metrics.daily(ds, f, key), metrics.period(ds, f, key)
        assert len(days) == 30
        assert days["num"].sum() == pytest.approx(whole["num"])


def test_no_layer_above_sql_touches_the_connection() -> None:
    """Queries run only in the SQL layer (through sql.engine); the data layer owns the connection."""
    touching = re.compile(r"\.con\.|\.con\b\s*\)|\bds\.sql\(|\.execute\(")
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).parts
        if rel[0] in ("data", "sql"):
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if touching.search(line) and not line.lstrip().startswith("#"):
                offenders.append(f"{path.relative_to(SRC)}:{i}: {line.strip()}")
    assert offenders == [], "\n".join(offenders)


def test_inside_reusing_a_repeated_statement_is_answered_once_and_callers_get_their_own_frame(
        ds: workbench.Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    sql = "SELECT channel, count(*) AS n FROM orders WHERE channel = $c GROUP BY channel"
    calls: list[str] = []

    class Counting:
        def __init__(self, con):
            self.con = con

        def execute(self, text, params=None):
            calls.append(text)
            return self.con.execute(text, params)

    plain = engine.query(ds, sql, {"c": "tmall"})
    monkeypatch.setattr(ds, "con", Counting(ds.con))
    with engine.reusing():
        first = engine.query(ds, sql, {"c": "tmall", "unused": 1})
        first.loc[0, "n"] = -1  # a caller changing its frame does not change what the next caller gets
        second = engine.query(ds, sql, {"c": "tmall"})
        other = engine.query(ds, sql, {"c": "jd"})
        total = engine.scalar(ds, "SELECT count(*) FROM orders WHERE channel = $c", {"c": "jd"})
        again = engine.scalar(ds, "SELECT count(*) FROM orders WHERE channel = $c", {"c": "jd"})
    assert len(calls) == 3  # tmall once, jd once, the scalar once
    assert second.equals(plain) and int(plain.loc[0, "n"]) > 0
    assert other["channel"].tolist() == ["jd"] and total == again == int(other.loc[0, "n"])
    engine.query(ds, sql, {"c": "tmall"})  # outside the block every statement runs again
    assert len(calls) == 4


def test_a_chunked_fetch_gives_the_same_frame_as_one_df_without_a_warning(ds: workbench.Dataset,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """``query(..., chunked=True)`` (long results of ids: 18 M purchase lines rose a kernel to 6.4 GB
    through one ``df()``) answers with the frame ``df()`` gives: the same values and dtypes, bound
    parameters alike, over several chunks, one, or none."""
    import warnings

    import pandas as pd

    sql = ("SELECT customer_id, product_id, CAST(quantity AS INTEGER) AS units FROM items_cny "
           "WHERE channel = $channel ORDER BY order_id, product_id, units LIMIT 5000")
    monkeypatch.setattr(engine, "CHUNK_VECTORS", 1)  # 2,048 rows a chunk: three chunks here
    for limit in (5000, 100, 0):
        statement = sql.replace("LIMIT 5000", f"LIMIT {limit}")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            part = engine.query(ds, statement, {"channel": "tmall", "unused": 1}, chunked=True)
        assert len(part) == limit
        pd.testing.assert_frame_equal(part, engine.query(ds, statement, {"channel": "tmall"}))


def _direct(ds: workbench.Dataset, f: Filters, key: str) -> tuple[pd.DataFrame, dict]:
    """Metric ``key`` for ``f`` read by its own statements (the straightforward reading the cube replaces)."""
    sql, params = metrics._statement(metrics.metric(key), ds, f, by_day=True)
    frame = engine.query(ds, sql, params)
    frame["date"] = pd.to_datetime(frame["date"])
    days = pd.DataFrame({"date": pd.date_range(f.start, f.end, freq="D")}).merge(frame, on="date", how="left")
    sql, params = metrics._statement(metrics.metric(key), ds, f, by_day=False)
    row = engine.query(ds, sql, params).iloc[0]
    return days, {k: (None if pd.isna(row[k]) else float(row[k])) for k in ("num", "den", "n")}


@pytest.mark.parametrize("f", [
    Filters(dt.date(2025, 11, 1), dt.date(2025, 11, 30)),
    Filters(dt.date(2025, 3, 3), dt.date(2025, 6, 1), channels=("tmall", "cross_border")),
    Filters(dt.date(2024, 1, 1), dt.date(2024, 1, 7), channels=("wechat_mini",)),
    Filters(dt.date(2031, 1, 1), dt.date(2031, 1, 31)),  # after the data: an empty period
    Filters(dt.date(2023, 11, 1), dt.date(2024, 1, 20), channels=("jd", "douyin")),  # across the first day
    Filters(dt.date(2025, 12, 1), dt.date(2026, 3, 1)),  # across the last day
    Filters(dt.date(2025, 1, 1), dt.date(2025, 1, 31), channels=("x' OR '1'='1",)),  # no such channel
], ids=["month", "two-channels", "week-one-channel", "empty", "before-and-into", "into-and-after",
                       "unknown-channel"])
def test_every_metric_read_from_the_cube_equals_its_own_statement(ds: workbench.Dataset, f: Filters) -> None:
    keys = metrics.available(ds)
    assert any(metrics.additive(metrics.metric(k)) for k in keys) and not all(
        metrics.additive(metrics.metric(k)) for k in keys)  # both paths are exercised
    days, whole = metrics.many(ds, f, keys)
    for key in keys:
        want_days, want_whole = _direct(ds, f, key)
        got = days[key]
        assert list(got["date"]) == list(want_days["date"]), key
        for part in ("num", "n") + (("den",) if metrics.metric(key).den else ()):
            want = want_days[part].astype(float).fillna(0.0).to_numpy()
            assert got[part].to_numpy() == pytest.approx(want, rel=1e-12, abs=1e-6), (key, part)
        if metrics.metric(key).den is None:
            assert got["den"].isna().all() and whole[key]["den"] is None, key
        for part in ("num", "den", "n"):
            if want_whole[part] is None:
                assert whole[key][part] is None, (key, part)
            else:
                assert whole[key][part] == pytest.approx(want_whole[part], rel=1e-12, abs=1e-6), (key, part)
