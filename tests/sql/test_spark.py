"""The Spark engine (workbench.sql.spark): the same statements and findings as DuckDB, or a listed gap.

The slow tests run every topic notebook of the sample shop in this process twice, on DuckDB and on
Spark ``local[2]`` (:mod:`spark_kit`), recording every statement and every finding, and compare:

- every statement Spark runs gives DuckDB's frame: the same columns and dtypes, the same rows
  (compared after sorting, so ties in an ORDER BY do not count), numbers equal to 1e-9 relative to
  the column's largest magnitude (sums added in another order differ in the last bits);
- every finding both engines produce has the same figures (estimate, low, high, n, change) to 1e-9
  relative, and the same sentence;
- statements Spark refuses must each contain a known DuckDB-only construct
  (:data:`workbench.sql.spark.DUCKDB_ONLY`); while any remain, the tests that depend on them are
  expected failures whose reason lists each statement with its construct and Spark's error, so
  the gap is visible (``pytest -rx``) until the portable rewrites of ``workbench.sql`` close it.

Skipped, with the reason, when pyspark, sqlglot or Java is missing.
"""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from workbench.errors import EnvironmentProblem, ParameterError
from workbench.sql import spark

sys.path.insert(0, str(Path(__file__).parent))
import spark_kit  # noqa: E402

MASTER = "local[2]"
RTOL = 1e-9
FIGURES = ("estimate", "low", "high", "n", "change")

#: Findings whose figures may differ between the engines, and why.
DIFFERENT_BY_DESIGN: dict[str, str] = {
    # the per-customer summaries (crm.customer_summary) agree to 5e-16 relative: monetary and
    # holdout_value are sums and means of doubles, added in another order on Spark. The CLV fits and
    # their simulation amplify that: on DuckDB alone, moving 5% of those values by one ulp moves the
    # estimate by ~1e-6 relative; Spark's is 2.3e-7 off DuckDB's on the sample
    "12_crm/clv": "CLV fits amplify last-bit differences of summed money (~1e-7 relative)",
}


def _why_unavailable() -> str | None:
    try:
        spark.check_available(MASTER)
    except EnvironmentProblem as exc:
        return str(exc)
    return None


needs_spark = pytest.mark.skipif(_why_unavailable() is not None, reason=_why_unavailable() or "")


# ----- fast: engine names, transpiling, the missing-Spark message ----------------------------------------
def test_engine_names_and_masters() -> None:
    assert spark.parse_engine("") == ("duckdb", None)
    assert spark.parse_engine("duckdb") == ("duckdb", None)
    assert spark.parse_engine("spark:local[4]") == ("spark", "local[4]")
    assert spark.parse_engine("spark:sc://spark.example:15002") == ("spark", "sc://spark.example:15002")
    assert spark.parse_engine("Spark:spark://m:7077") == ("spark", "spark://m:7077")
    for bad in ("postgres", "duckdb:local[2]", "spark:; rm -rf /", "spark:http://x"):
        with pytest.raises(ParameterError):
            spark.parse_engine(bad)


def test_default_master_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKBENCH_SPARK_MASTER", raising=False)
    assert spark.parse_engine("spark") == ("spark", "local[2]")
    monkeypatch.setenv("WORKBENCH_SPARK_MASTER", "local[8]")
    assert spark.parse_engine("spark") == ("spark", "local[8]")


def test_missing_pyspark_or_java_is_an_environment_problem_naming_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spark, "_importable", lambda name: name != "pyspark")
    with pytest.raises(EnvironmentProblem, match=r"pyspark.*pip install 'workbench\[spark\]'"):
        spark.check_available("local[2]")
    monkeypatch.setattr(spark, "_importable", lambda name: True)
    monkeypatch.setattr(spark, "java_path", lambda: None)
    with pytest.raises(EnvironmentProblem, match="Java 17"):
        spark.check_available("local[2]")
    spark.check_available("sc://localhost:15002")  # a Connect client needs no Java


def test_a_batch_on_spark_without_java_exits_3_before_any_kernel(monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture) -> None:
    from workbench import cli

    monkeypatch.setattr(spark, "java_path", lambda: None)
    monkeypatch.setattr(spark, "_importable", lambda name: True)
    code = cli.main(["run", "06_logistics", "--engine", "spark", "--out", "/nonexistent/never-written"])
    assert code == 3
    err = capsys.readouterr().err
    assert "Java 17" in err and "Traceback" not in err


def test_a_bad_engine_is_refused_with_exit_2(capsys: pytest.CaptureFixture) -> None:
    from workbench import cli

    assert cli.main(["run", "06_logistics", "--engine", "oracle", "--out", "/nonexistent/never-written"]) == 2
    assert "parameter 'engine' = 'oracle'" in capsys.readouterr().err
    from workbench.app import params

    with pytest.raises(ParameterError, match="engine"):
        params.validate({"engine": "oracle"})


@pytest.mark.skipif(not spark._importable("sqlglot"), reason="sqlglot is not installed (pip install 'workbench[spark]')")
def test_parameters_stay_bound_never_spliced() -> None:
    text, names = spark.transpile("SELECT count(*) FROM orders_cny WHERE order_date BETWEEN $start AND $end "
                                  "AND channel IN ($c0, $c1) AND note = '$start'")
    assert names == ("c0", "c1", "end", "start")
    assert ":start" in text and ":end" in text and ":c0" in text and "'$start'" in text
    assert "$start AND" not in text


def test_constructs_name_what_spark_lacks() -> None:
    found = spark.constructs("SELECT count(*) FILTER (WHERE x) FROM a ASOF LEFT JOIN b ON a.t >= b.t GROUP BY ALL")
    assert found == ["ASOF JOIN", "GROUP BY ALL", "FILTER (WHERE …)"]
    assert spark.constructs("SELECT sum(x) FROM t GROUP BY 1") == []


# ----- slow: the sample's notebooks on both engines -----------------------------------------------------
@pytest.fixture(scope="module")
def runs(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    if _why_unavailable():
        pytest.skip(_why_unavailable())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_MART_DIR", str(tmp_path_factory.mktemp("marts")))
        mp.delenv("WORKBENCH_ENGINE", raising=False)
        duck = spark_kit.run("duckdb", sample_dir)
        on_spark = spark_kit.run(f"spark:{MASTER}", sample_dir)
        yield duck, on_spark
    spark.stop()


def _refused(run: spark_kit.EngineRun) -> dict[str, spark_kit.Statement]:
    return {st.sql: st for st in run.statements if isinstance(st.error, spark.SparkQueryError)}


def _gap(run: spark_kit.EngineRun) -> str:
    lines = []
    for sql, st in _refused(run).items():
        error = str(st.error).split("; statement:")[0]
        lines.append(f"- {st.notebook}: [{', '.join(spark.constructs(sql)) or 'no known construct'}] {error} "
                     f"— {spark._head(sql, 120)}")
    return f"{len(lines)} statement(s) Spark refuses:\n" + "\n".join(lines)


@pytest.mark.slow
@pytest.mark.spark
@needs_spark
def test_every_statement_runs_on_spark(runs) -> None:
    duck, on_spark = runs
    assert not [st for st in duck.statements if st.error is not None and not _expected(st.error)], \
        "the DuckDB run itself failed"
    refused = _refused(on_spark)
    other = [st for st in on_spark.statements if st.error is not None and not _expected(st.error)
             and not isinstance(st.error, spark.SparkQueryError)]
    assert not other, f"errors that are not Spark refusing a statement: {[repr(st.error) for st in other[:5]]}"
    unexplained = [sql for sql in refused if not spark.constructs(sql)]
    assert not unexplained, "Spark refuses statements with no known DuckDB-only construct:\n" + _gap(on_spark)
    if refused:
        pytest.xfail(_gap(on_spark))


def _expected(exc: BaseException) -> bool:
    from workbench.errors import EmptyPeriodError, MissingTableError

    return isinstance(exc, (EmptyPeriodError, MissingTableError))


def _sorted(frame: Any) -> Any:
    try:
        return frame.sort_values(list(frame.columns), na_position="last", kind="mergesort").reset_index(drop=True)
    except TypeError:  # lists or mixed values: keep the statement's own order
        return frame.reset_index(drop=True)


def _same_frame(a: Any, b: Any) -> str | None:
    """None when ``b`` (Spark) equals ``a`` (DuckDB) as the module's docstring says, else what differs."""
    import numpy as np
    import pandas as pd

    if not isinstance(a, pd.DataFrame):
        return None if _same_value(a, b) else f"{a!r} != {b!r}"
    if list(a.columns) != list(b.columns):
        return f"columns {list(a.columns)} != {list(b.columns)}"
    dtypes = {c: (str(a[c].dtype), str(b[c].dtype)) for c in a.columns if str(a[c].dtype) != str(b[c].dtype)}
    if dtypes:
        return f"dtypes differ: {dtypes}"
    if len(a) != len(b):
        return f"{len(a)} rows != {len(b)} rows"
    a, b = _sorted(a), _sorted(b)
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            xv, yv = x.to_numpy(dtype=float, na_value=np.nan), y.to_numpy(dtype=float, na_value=np.nan)
            scale = np.nanmax(np.abs(xv)) if np.isfinite(xv).any() else 0.0
            if not np.allclose(xv, yv, rtol=RTOL, atol=RTOL * scale, equal_nan=True):
                worst = int(np.nanargmax(np.abs(xv - yv)))
                return f"column {c}: {xv[worst]!r} != {yv[worst]!r} (row {worst})"
        elif not x.astype(object).where(x.notna(), None).equals(y.astype(object).where(y.notna(), None)):
            return f"column {c} differs"
    return None


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if isinstance(a, float) and math.isnan(a):
            return isinstance(b, float) and math.isnan(b)
        return math.isclose(a, b, rel_tol=RTOL, abs_tol=0.0)
    return a == b


@pytest.mark.slow
@pytest.mark.spark
@needs_spark
def test_every_statement_spark_runs_gives_duckdbs_frame(runs) -> None:
    duck, on_spark = runs
    compared, different, gap = _compare_statements(duck, on_spark)
    assert compared >= 50, f"only {compared} statements ran on both engines"
    assert not different, f"{len(different)} of {compared} statements differ:\n" + "\n".join(different)
    if gap:
        pytest.xfail(f"{compared - len(gap)} of {compared} statements equal; {len(gap)} differ where the statement "
                     "holds a DuckDB-only construct:\n" + "\n".join(sorted(set(gap))))


def _compare_statements(duck: spark_kit.EngineRun, on_spark: spark_kit.EngineRun) -> tuple[int, list[str], list[str]]:
    """(statements compared, differences without a known construct, differences with one: the gap)."""
    by_key = {st.key: st for st in duck.statements if st.error is None}
    compared, different, gap = 0, [], []
    for st in on_spark.statements:
        if st.error is not None or st.key not in by_key:
            continue
        compared += 1
        why = _same_frame(by_key[st.key].result, st.result)
        if why:
            found = spark.constructs(st.sql)
            line = f"- {st.notebook}: [{', '.join(found) or 'no known construct'}] {why} — {spark._head(st.sql, 140)}"
            (gap if found else different).append(line)
    return compared, different, gap


def _figures(finding: dict[str, Any]) -> dict[str, Any]:
    return {k: finding.get(k) for k in FIGURES}


@pytest.mark.slow
@pytest.mark.spark
@needs_spark
def test_every_finding_equals_duckdbs(runs) -> None:
    duck, on_spark = runs
    compared, different, missing = 0, [], []
    for stem, d in duck.notebooks.items():
        s = on_spark.notebooks[stem]
        d_findings = {f["key"]: f for f in (d.record or {}).get("findings", [])}
        s_findings = {f["key"]: f for f in (s.record or {}).get("findings", [])}
        for key, f in d_findings.items():
            if key not in s_findings:
                missing.append(f"{stem}/{key}")
                continue
            compared += 1
            if f"{stem}/{key}" in DIFFERENT_BY_DESIGN:
                continue
            a, b = _figures(f), _figures(s_findings[key])
            bad = [k for k in FIGURES if not (a[k] is None and b[k] is None)
                   and (a[k] is None or b[k] is None or not math.isclose(a[k], b[k], rel_tol=RTOL, abs_tol=1e-12))]
            if bad or f.get("text") != s_findings[key].get("text"):
                different.append(f"- {stem}/{key}: DuckDB {a} {f.get('text')!r}; Spark {b} {s_findings[key].get('text')!r}")
    assert compared >= 10, f"only {compared} findings on both engines"
    # a notebook with a statement Spark refuses, or answers differently where it holds a DuckDB-only
    # construct, is in the gap: its findings may be missing or differ until that statement is rewritten
    _, _, statement_gap = _compare_statements(duck, on_spark)
    refused_in = {st.notebook for st in on_spark.statements if isinstance(st.error, spark.SparkQueryError)}
    in_gap = refused_in | {g[2:].split(":")[0] for g in statement_gap}
    unexplained = [d for d in different if d[2:].split("/")[0] not in in_gap]
    assert not unexplained, f"{len(unexplained)} of {compared} findings differ:\n" + "\n".join(unexplained)
    unexplained = [m for m in missing if m.split("/")[0] not in in_gap]
    assert not unexplained, f"findings missing on Spark with no DuckDB-only statement in their notebook: {unexplained}"
    if missing or different:
        pytest.xfail(f"{compared - len(different)} of {compared} findings equal; {len(different)} differ and "
                     f"{len(missing)} are missing in notebooks with DuckDB-only statements "
                     f"({', '.join(sorted(in_gap))}):\n" + "\n".join(different) +
                     ("\nmissing: " + ", ".join(missing) if missing else ""))


@pytest.mark.slow
@pytest.mark.spark
@needs_spark
def test_a_csv_shop_reaches_spark_through_its_mart(tiny_shop: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.data.loader import load
    from workbench.sql import engine

    monkeypatch.setenv("WORKBENCH_MART_DIR", str(tmp_path / "marts"))
    duck = load(tiny_shop)
    on_spark = load(tiny_shop)
    data = spark.attach(on_spark, MASTER)
    assert on_spark.engine == "spark" and {"orders", "orders_cny"} <= set(data.views)
    assert any(data.mart.glob("orders/part-*.parquet")), "the CSV tables were not converted to Parquet"
    sql = ("SELECT order_date, channel, count(*) AS orders, sum(gmv_cny) AS gmv FROM orders_cny "
           "WHERE is_valid AND order_date BETWEEN $start AND $end GROUP BY 1, 2 ORDER BY 1, 2")
    lo, hi = engine.scalar(duck, "SELECT min(order_date) FROM orders_cny"), \
        engine.scalar(duck, "SELECT max(order_date) FROM orders_cny")
    expected = engine.query(duck, sql, {"start": lo, "end": hi})
    assert len(expected) > 0
    assert _same_frame(expected, engine.query(on_spark, sql, {"start": lo, "end": hi})) is None
    assert engine.scalar(on_spark, "SELECT max(order_date) FROM orders_cny") == hi
    shutil.rmtree(tmp_path / "marts", ignore_errors=True)


# ----- statements Spark refused in the sample batch (each class once, on a tiny shop, local[2]) ----------
@pytest.fixture
def shop_on_both(tiny_shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The tiny shop with three campaigns (two overlap, two share a name), loaded twice: DuckDB, Spark."""
    import pandas as pd

    from testkit import write_csvs
    from workbench.data.loader import load

    if _why_unavailable():
        pytest.skip(_why_unavailable())
    write_csvs(tiny_shop, {"campaigns": pd.DataFrame({
        "campaign_id": ["k1", "k2", "k3"], "name": ["年货节", "Brand Day", "年货节"],
        "kind": ["618", "618", "618"], "start_date": ["2025-01-01", "2025-01-03", "2025-01-04"],
        "end_date": ["2025-01-04", "2025-01-05", "2025-01-06"]})})
    monkeypatch.setenv("WORKBENCH_MART_DIR", str(tmp_path / "marts"))
    duck, on_spark = load(tiny_shop), load(tiny_shop)
    spark.attach(on_spark, MASTER)
    yield duck, on_spark


@pytest.mark.spark
@needs_spark
def test_the_daily_cubes_are_spark_views(shop_on_both) -> None:
    """Spark refused every breakdown of 01_sales_traffic but member tier: TABLE_OR_VIEW_NOT_FOUND
    cube_orders / cube_items (the mart built them; only DuckDB's views read them)."""
    import datetime as dt

    from workbench.errors import MissingTableError
    from workbench.sql import sales
    from workbench.sql.filters import Filters

    duck, on_spark = shop_on_both
    assert {"cube_orders", "cube_items"} <= set(on_spark.spark.views)
    f = Filters(dt.date(2025, 1, 1), dt.date(2025, 1, 6))
    for by in ("channel", "category", "region", "customer_type"):
        try:
            expected = sales.totals_by(duck, f, by)
        except MissingTableError:  # a dimension the tiny shop lacks (no region)
            continue
        assert len(expected) > 0
        assert _same_frame(expected, sales.totals_by(on_spark, f, by)) is None, by


@pytest.mark.spark
@needs_spark
def test_campaign_days_with_overlapping_campaigns_run_on_spark(shop_on_both) -> None:
    """Spark 4.3 analysed, then failed to optimise, the campaign calendar (ClassCastException in
    RewriteDistinctAggregates): string_agg(DISTINCT … ORDER BY …), Spark's LISTAGG … WITHIN GROUP,
    next to count(DISTINCT …). It cost every section built on the calendar (00, 01, 03, 04, 08, 13)."""
    from workbench.sql import calendar

    duck, on_spark = shop_on_both
    for kw in ({}, {"lead_days": 2}):
        expected = calendar.campaign_days(duck, **kw)
        assert _same_frame(expected, calendar.campaign_days(on_spark, **kw)) is None, kw
    days = calendar.campaign_days(duck).set_index("date")
    # 2025-01-04: all three run; the shared name is written once, the campaigns counted each
    assert days.loc["2025-01-04", "campaign"] == "Brand Day / 年货节"
    assert days.loc["2025-01-04", "campaigns"] == 3 and days.loc["2025-01-04", "campaign_id"] == "k1"
    assert days.loc["2025-01-06", "campaign"] == "年货节" and days.loc["2025-01-06", "campaigns"] == 1


@pytest.mark.skipif(not spark._importable("sqlglot"), reason="sqlglot is not installed (pip install 'workbench[spark]')")
def test_a_division_is_a_double_division_on_spark() -> None:
    """DuckDB's ``/`` divides as DOUBLE; Spark divided ``seconds / 3600.0`` (a DECIMAL literal) as a DECIMAL,
    rounded to 6 decimals (05/slow_category's median hours)."""
    from workbench.sql import dialect

    text, _ = spark.transpile("SELECT date_diff('second', created_at, resolved_at) / 3600.0 AS h FROM tickets")
    assert "CAST(DATEDIFF(SECOND, created_at, resolved_at) AS DOUBLE) / CAST(3600.0 AS DOUBLE)" in text
    text, _ = spark.transpile(f"SELECT {dialect.days_elapsed('a', 'b')} / (x / 2) FROM t")
    assert text.count("AS DOUBLE") >= 4 and "/ CAST(86400000000.0 AS DOUBLE)" in text


@pytest.mark.spark
@needs_spark
def test_divisions_keep_duckdbs_fractions_on_spark(shop_on_both) -> None:
    from workbench.sql import engine

    duck, on_spark = shop_on_both
    for sql in ("SELECT 7 / 3600.0 AS h",
                "SELECT sum(date_diff('second', DATE '2025-01-01', ordered_at) / 3600.0) AS h FROM orders",
                "SELECT avg(date_diff('microsecond', DATE '2025-01-01', ordered_at) / 86400000000.0) AS d FROM orders",
                "SELECT CAST(1 AS DECIMAL(10, 2)) / CAST(3 AS DECIMAL(10, 2)) AS third"):
        a, b = engine.scalar(duck, sql), engine.scalar(on_spark, sql)
        assert isinstance(b, float) and math.isclose(a, b, rel_tol=1e-15), (sql, a, b)
