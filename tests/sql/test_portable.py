"""One dialect: every statement the notebooks run transpiles to Spark SQL and means the same there.

The statements are collected, not listed: every notebook source in ``notebooks/src`` runs
in-process on the sample shop under :func:`workbench.sql.engine.recording` (with a channel
filter and with none), and the mart/view SQL that builds the CNY facts and the daily cubes is
added. Each distinct statement is then

1. transpiled by sqlglot from DuckDB to Spark SQL with ``unsupported_level=RAISE`` (a construct
   sqlglot knows Spark lacks raises), and
2. checked by :func:`duckdb_only`, our own list of constructs that sqlglot passes through
   unchanged or rewrites into something Spark reads differently (STACK-NOTES, "Found in the
   second round"): ``ASOF`` joins, ``duckdb_*()`` catalogue functions, ``(TRY_)STRPTIME``,
   date minus date (an integer in DuckDB, an interval in Spark), ``epoch()``, ``USING SAMPLE``,
   ``range()``/``generate_series``, ``dayofweek``/``isodow`` (Sunday is 0 in DuckDB, 1 in
   Spark), ``quantile_cont``/``quantile_disc``/``median``/``percentile_cont`` (no two-argument
   form in Spark), ``arg_min``/``arg_max`` (ties), ``GROUP BY ALL``/``ORDER BY ALL`` and
   ``FILTER (WHERE …)``, and ``string_agg(DISTINCT … ORDER BY …)`` next to another DISTINCT
   aggregate (Spark analyses it, then its optimiser fails), which we keep out so that one rule
   holds for every engine.

When pyspark and Java are present, every transpiled statement is also analysed by Spark itself
(``local[1]``, over empty views with the sample's schema): a parse or analysis error fails.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import re
from pathlib import Path
from typing import Any

import pytest

sqlglot = pytest.importorskip("sqlglot")
from sqlglot import ErrorLevel, exp

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py"))
#: the two runs: the defaults (no channel condition) and a filtered, compared, English run
RUNS = ({}, {"language": "en", "period": "last-90d", "channels": "tmall,jd,douyin,cross_border",
             "compare": "last_year"})


# ----- collecting ---------------------------------------------------------------------------------
def run_notebook(source: Path, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Run one notebook source in this process with ``params`` over its defaults; the statements it ran.

    The parameters cell (the first ``# %%`` cell) runs first, then ``params`` replace its values,
    then the rest. A section that fails raises here (sections skipped for missing data do not).
    """
    from workbench.sql import engine

    cells = source.read_text(encoding="utf-8").split("# %%")
    head, rest = cells[1], "# %%".join(cells[2:])
    namespace: dict[str, Any] = {"__name__": "__main__"}
    with engine.recording() as seen, contextlib.redirect_stdout(io.StringIO()):
        exec(compile(head, str(source), "exec"), namespace)  # noqa: S102 - our own notebook sources
        namespace.update(params)
        exec(compile("\n" * head.count("\n") + rest, str(source), "exec"), namespace)  # noqa: S102
    failed = [s.key for s in namespace["nb"].sections if s.status not in ("ok", "skipped")]
    assert not failed, f"{source.name}: sections {failed} did not finish"
    return list(seen)


def mart_statements() -> list[str]:
    """The mart and view SQL that builds the facts the topics read (CNY orders and lines, cubes)."""
    from workbench.data import marts

    return [marts.fx_daily_sql(), marts.orders_cny_sql("orders", "fx_daily"),
            marts.orders_cny_sql("orders", None), marts.items_cny_sql("order_items", "orders_cny"),
            *marts.cube_statements(), *marts.cube_statements(has_region=False, products=None)]


# ----- checking -----------------------------------------------------------------------------------
def to_spark(sql: str) -> str:
    """``sql`` (DuckDB) as Spark SQL; raises on what sqlglot knows Spark cannot do."""
    out = sqlglot.transpile(sql, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE)
    assert len(out) == 1, f"one statement expected, got {len(out)}"
    return out[0]


#: patterns in the DuckDB text that the transpiler passes through or turns into something Spark
#: reads differently (or refuses): pattern → what to write instead
TEXT_RULES = {
    r"\bASOF\b": "ASOF join (DuckDB only): join the dense daily table on equality instead",
    r"\bduckdb_\w+\s*\(": "duckdb_*() catalogue function",
    r"\b(?:TRY_)?STRPTIME\s*\(": "STRPTIME (DuckDB format codes): parse in the loader, not in a topic query",
    r"\bepoch\s*\(": "epoch(): Spark's unix_timestamp drops fractions and refuses intervals; "
                      "use dialect.days_between / dialect.seconds_between",
    r"\bto_days\s*\(": "to_days(): not in Spark; use dialect.add_days",
    r"\bUSING\s+SAMPLE\b": "USING SAMPLE: Spark's TABLESAMPLE draws other rows",
    r"\brange\s*\(|(?:FROM|JOIN|,)\s*generate_series\s*\(": "range()/generate_series() as a table: Spark gets "
        "EXPLODE(SEQUENCE) it cannot alias; use dialect.series in a SELECT list",
    r"\b(?:dayofweek|isodow|dow)\b": "day of week: Sunday is 0 in DuckDB, 1 in Spark; use dialect.weekday",
    r"\b(?:quantile_cont|quantile_disc|quantile|median|percentile_cont|percentile_disc|approx_quantile)\s*\(":
        "quantiles: sqlglot writes a two-argument percentile_cont Spark refuses (or, from WITHIN GROUP, an "
        "approximate one, or from quantile a continuous one for DuckDB's discrete); use dialect.quantile",
    r"\b(?:arg_min|arg_max|argmin|argmax|min_by|max_by)\s*\(": "arg_min/arg_max: ties resolve differently",
    r"\bGROUP\s+BY\s+ALL\b": "GROUP BY ALL: name the columns",
    r"\bORDER\s+BY\s+ALL\b": "ORDER BY ALL: name the columns",
    r"\bFILTER\s*\(\s*WHERE\b": "FILTER (WHERE …): put CASE WHEN … inside the aggregate",
    r"::": ":: cast: write CAST(… AS …)",
    r"(?s)^(?=(?:.*?\(\s*DISTINCT\b){2})(?=.*\b(?:string_agg|listagg|group_concat)\s*\(\s*DISTINCT\b[^)]*\bORDER\s+BY)":
        "string_agg(DISTINCT … ORDER BY …) next to another DISTINCT aggregate: Spark analyses its LISTAGG … "
        "WITHIN GROUP and then fails in the optimiser (RewriteDistinctAggregates); keep one row per value "
        "first (row_number() = 1) and aggregate without DISTINCT",
    r"\bunnest\s*\(\s*\$|\[\]": "a list parameter: bind one parameter per value ($t0, $t1, …)",
}


def _literal(value: Any) -> exp.Expression | None:
    """A typed SQL literal for a bound value, so that types of expressions with parameters are known."""
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, dt.datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "TIMESTAMP")
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, (int, float)):
        return exp.Literal.number(value)
    if isinstance(value, str):
        return exp.Literal.string(value)
    return None


def typed_tree(sql: str, params: dict[str, Any], schema: dict[str, dict[str, str]]) -> exp.Expression:
    """``sql`` parsed as DuckDB, parameters replaced by typed literals, every expression typed by ``schema``."""
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    def bind(node: exp.Expression) -> exp.Expression:
        if isinstance(node, (exp.Parameter, exp.Placeholder)) and node.name in params:
            return _literal(params[node.name]) or node
        return node

    tree = sqlglot.parse_one(sql, read="duckdb").transform(bind)
    tree = qualify(tree, schema=schema, dialect="duckdb", validate_qualify_columns=False)
    return annotate_types(tree, schema=schema, dialect="duckdb")


DATE_TYPES = {exp.DataType.Type.DATE, exp.DataType.Type.DATE32}
TIME_TYPES = {exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ,
              exp.DataType.Type.TIMESTAMPNTZ}


def duckdb_only(sql: str, params: dict[str, Any], schema: dict[str, dict[str, str]]) -> list[str]:
    """The DuckDB-only constructs in ``sql``, each as "<construct>: <what to write instead>"."""
    found = [why for pattern, why in TEXT_RULES.items() if re.search(pattern, sql, re.IGNORECASE)]
    for sub in typed_tree(sql, params, schema).find_all(exp.Sub):
        left, right = sub.left.type, sub.right.type
        if left is None or right is None:
            continue
        if left.this in DATE_TYPES and right.this in DATE_TYPES:
            found.append(f"date minus date ({sub.sql('duckdb')[:120]}): an integer in DuckDB, an interval in "
                         "Spark; use dialect.days_between(a, b)")
        elif left.this in TIME_TYPES and right.this in TIME_TYPES:
            found.append(f"timestamp minus timestamp ({sub.sql('duckdb')[:120]}): intervals differ; use "
                         "dialect.seconds_between(a, b)")
    return found


def problems(statements: dict[str, dict[str, Any]], schema: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """Per statement (its first 300 characters), what fails: the transpiler's error or our rules."""
    out: dict[str, list[str]] = {}
    for sql, params in statements.items():
        issues = []
        try:
            to_spark(sql)
        except Exception as exc:  # noqa: BLE001 - the transpiler's error is the finding
            issues.append(f"sqlglot: {type(exc).__name__}: {str(exc)[:300]}")
        issues += duckdb_only(sql, params, schema)
        if issues:
            out[" ".join(sql.split())[:300]] = issues
    return out


@pytest.fixture(scope="module")
def sample(sample_dir: Path) -> Any:
    import workbench

    return workbench.load(sample_dir)


@pytest.fixture(scope="module")
def schema(sample: Any) -> dict[str, dict[str, str]]:
    """Column types of every table and view of the sample's connection (derived ones included)."""
    names = [r[0] for r in sample.con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
    return {n: {c[0]: c[1] for c in sample.con.execute(f'DESCRIBE "{n}"').fetchall()} for n in names}


# ----- the checks can fail ------------------------------------------------------------------------
@pytest.mark.parametrize("sql", [
    "SELECT channel, count(*) FILTER (WHERE is_valid) AS n FROM orders_cny GROUP BY ALL",
    "SELECT * FROM orders o ASOF LEFT JOIN fx_rates f ON o.currency = f.currency AND o.ordered_at >= f.date",
    "SELECT quantile_cont(gmv_cny, 0.5) FROM orders_cny",
    "SELECT CAST(delivered_at AS DATE) - CAST(shipped_at AS DATE) AS days FROM shipments",
    "SELECT max(order_date) - min(order_date) FROM orders_cny",
    "SELECT $end - order_date FROM orders_cny",
    "SELECT d - first_day FROM (SELECT order_date AS d, min(order_date) OVER () AS first_day FROM orders_cny)",
    "SELECT delivered_at - shipped_at FROM shipments",
    "SELECT TRY_STRPTIME(order_id, '%Y-%m-%d') FROM orders",
    "SELECT epoch(delivered_at) - epoch(shipped_at) FROM shipments",
    "SELECT ordered_at + to_days(7) FROM orders",
    "SELECT * FROM orders USING SAMPLE 10%",
    "SELECT isodow(order_date) FROM orders_cny",
    "SELECT arg_min(carrier, shipping_cost_cny) FROM shipments",
    "SELECT view_name FROM duckdb_views()",
    "SELECT CAST(x AS DATE) FROM range(DATE '2025-01-01', DATE '2025-02-01', INTERVAL 1 DAY) t(x)",
    "SELECT k FROM orders, generate_series(0, 3) t(k)",
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY gmv_cny) FROM orders_cny",
    "SELECT shipping_cost_cny::DOUBLE FROM shipments",
    "SELECT * FROM campaigns WHERE campaign_id IN (SELECT unnest($ids))",
    "SELECT start_date, string_agg(DISTINCT name, ' / ' ORDER BY name), count(DISTINCT campaign_id) "
    "FROM campaigns GROUP BY 1",
])
def test_each_duckdb_only_construct_is_caught(sql: str, schema: dict[str, dict[str, str]]) -> None:
    assert problems({sql: {"end": dt.date(2025, 12, 31), "ids": ["a"]}}, schema), sql


@pytest.mark.parametrize("sql", [
    "SELECT channel, sum(CASE WHEN is_valid THEN 1 ELSE 0 END) AS n FROM orders_cny GROUP BY channel",
    "SELECT date_diff('day', CAST(shipped_at AS DATE), CAST(delivered_at AS DATE)) AS days FROM shipments",
    "SELECT order_date + 7 AS due, gmv_cny - discount_cny AS net FROM orders_cny WHERE order_date >= $start",
    "SELECT percentile(gmv_cny, 0.9) AS p90 FROM orders_cny",
    "SELECT order_id, unnest(generate_series(0, 3)) AS k FROM orders",
    "SELECT start_date, string_agg(DISTINCT name, ' / ' ORDER BY name) FROM campaigns GROUP BY 1",
    "SELECT start_date, string_agg(name, ' / ' ORDER BY name), count(DISTINCT campaign_id) FROM campaigns GROUP BY 1",
])
def test_portable_forms_pass(sql: str, schema: dict[str, dict[str, str]]) -> None:
    assert problems({sql: {"start": dt.date(2025, 1, 1)}}, schema) == {}


# ----- every statement of every notebook (slow: the notebooks run, twice) ---------------------------
@pytest.fixture(scope="module")
def recorded(sample_dir: Path) -> dict[str, dict[str, Any]]:
    """Every distinct statement the notebooks ran on the sample (two runs), with one set of its parameters."""
    saved = os.environ.get("WORKBENCH_BATCH")
    os.environ["WORKBENCH_BATCH"] = "1"  # static output, plotly.js not inlined
    try:
        seen: dict[str, dict[str, Any]] = {}
        for params in RUNS:
            for source in SOURCES:
                for sql, bound in run_notebook(source, {"data": str(sample_dir), **params}):
                    seen.setdefault(sql, bound)
    finally:
        if saved is None:
            os.environ.pop("WORKBENCH_BATCH", None)
        else:
            os.environ["WORKBENCH_BATCH"] = saved
    return seen


@pytest.mark.slow
def test_every_notebook_ran_statements(recorded: dict[str, dict[str, Any]]) -> None:
    assert len(recorded) > 100, f"only {len(recorded)} distinct statements recorded"


def _report(found: dict[str, list[str]]) -> str:
    return f"{len(found)} statements are not portable:\n" + "\n".join(
        f"- {sql}\n    " + "\n    ".join(why) for sql, why in found.items())


@pytest.mark.slow
def test_every_statement_transpiles_to_spark(recorded: dict[str, dict[str, Any]],
                                             schema: dict[str, dict[str, str]]) -> None:
    found = problems(recorded, schema)
    assert not found, _report(found)


def test_the_mart_sql_transpiles_to_spark(schema: dict[str, dict[str, str]]) -> None:
    found = problems({sql: {} for sql in mart_statements()}, schema)
    assert not found, _report(found)


# ----- and Spark itself reads them (when pyspark and Java are here) -------------------------------
SPARK_TYPES = {"VARCHAR": "STRING", "BIGINT": "BIGINT", "INTEGER": "INT", "DOUBLE": "DOUBLE", "FLOAT": "FLOAT",
               "BOOLEAN": "BOOLEAN", "DATE": "DATE", "TIMESTAMP": "TIMESTAMP_NTZ",
               "TIMESTAMP WITH TIME ZONE": "TIMESTAMP", "SMALLINT": "SMALLINT", "TINYINT": "TINYINT",
               "HUGEINT": "DECIMAL(38,0)", "UBIGINT": "DECIMAL(20,0)", "UINTEGER": "BIGINT"}


@pytest.fixture(scope="module")
def spark(schema: dict[str, dict[str, str]]) -> Any:
    """A ``local[1]`` Spark session with an empty view of the sample's schema for every relation."""
    pytest.importorskip("pyspark")
    import logging
    import shutil

    if shutil.which("java") is None:
        pytest.skip("no Java for Spark")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[1]").appName("workbench-portable-sql")
               .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "Asia/Shanghai")
               .getOrCreate())
    session.sparkContext.setLogLevel("OFF")
    logging.getLogger("SQLQueryContextLogger").disabled = True  # an analysis error is the finding, not a log
    for name, cols in schema.items():
        ddl = ", ".join(f"`{c}` {SPARK_TYPES.get(t, t)}" for c, t in cols.items())
        session.createDataFrame([], ddl).createOrReplaceTempView(name)
    yield session
    session.stop()


@pytest.mark.slow
def test_spark_analyses_every_transpiled_statement(recorded: dict[str, dict[str, Any]], spark: Any) -> None:
    refused = {}
    for sql, params in {**recorded, **{s: {} for s in mart_statements()}}.items():
        try:
            spark.sql(to_spark(sql), args=params or None).schema  # noqa: B018 - analysis is the check
        except Exception as exc:  # noqa: BLE001 - Spark's error is the finding
            refused[" ".join(sql.split())[:300]] = [str(exc).splitlines()[0][:300]]
    assert not refused, _report(refused)
