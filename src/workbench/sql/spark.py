"""The Spark engine: the same queries, run on Apache Spark instead of DuckDB.

A dataset opened with ``engine="spark"`` (``workbench run --engine spark``, a notebook's ``engine``
parameter) is loaded and checked by DuckDB as always; then :func:`attach` gives it a Spark session
whose temporary views hold the same tables:

- every table of the dataset is read from its mart (:mod:`workbench.data.marts`: the typed, cleaned
  and privacy-tokenised tables as Parquet, built once per version of the data; a CSV dataset is
  converted there too), so Spark reads exactly what DuckDB's views show;
- ``fx_daily`` (one rate per currency and day, computed once by the mart) is read from its Parquet;
- the daily cubes ``cube_orders`` and ``cube_items`` (:data:`workbench.data.marts.CUBES`, built by the
  mart) are read from their Parquet parts, as DuckDB's views of the mart read them;
- ``orders_cny`` and ``items_cny`` are the DuckDB view definitions of :mod:`workbench.data.marts`
  transpiled with sqlglot (``read="duckdb", write="spark"``).

:func:`query` and :func:`scalar` (called by :mod:`workbench.sql.engine` when ``ds.engine`` is
``"spark"``) transpile a statement once (cached), bind its ``$name`` parameters as Spark SQL named
parameters (``:name``, passed through ``spark.sql(sql, args=...)``: values are never spliced into
the text), and return the result through Arrow and DuckDB's own conversion, so a frame has the
same dtypes as on the DuckDB path (dates as ``datetime64``, decimals as floats, text as ``str``).

Where Spark runs (:func:`parse_engine`): ``spark`` is ``local[2]`` (or ``$WORKBENCH_SPARK_MASTER``);
``spark:local[8]``, ``spark:spark://host:7077`` (a cluster: the mart folder must be on a path every
executor reads, see ``$WORKBENCH_MART_DIR``) or ``spark:sc://host:15002`` (Spark Connect: a thin
client, no JVM here). Sessions are shared per master within a process and stopped when it exits.

Session settings that make Spark answer as DuckDB does: the session time zone is the data's
(Asia/Shanghai, so ``CAST(ts AS DATE)`` gives the same day), ANSI mode is off (``x / 0`` is NULL,
as in DuckDB, instead of an error), and NULLs sort last (sqlglot writes ``NULLS LAST``).
"""

from __future__ import annotations

import atexit
import datetime as dt
import decimal
import os
import re
import shutil
import threading
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.data import schema
from workbench.errors import EnvironmentProblem, ParameterError, WorkbenchError

if TYPE_CHECKING:
    import pandas as pd

    from workbench.data.loader import Dataset

ENGINES = ("duckdb", "spark")
DEFAULT_MASTER = "local[2]"
INSTALL_FIX = "install the Spark extra: pip install 'workbench[spark]'"

#: Spark SQL settings of every session (runtime settings: they hold for Spark Connect too).
SQL_CONF = {
    "spark.sql.session.timeZone": schema.DEFAULT_TIMEZONE,
    "spark.sql.ansi.enabled": "false",  # x / 0 is NULL as in DuckDB, not an error
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


class SparkQueryError(WorkbenchError):
    """Raised when Spark cannot run a statement; the message names the DuckDB-only construct when known."""


def parse_engine(value: str | None) -> tuple[str, str | None]:
    """``(engine, master)`` of an engine parameter: ``""``/``duckdb`` → ``("duckdb", None)``;
    ``spark`` → ``("spark", $WORKBENCH_SPARK_MASTER or local[2])``; ``spark:MASTER`` → ``("spark", MASTER)``.

    Raises :class:`ParameterError` for anything else.
    """
    text = (value or "").strip()
    name, _, master = text.partition(":")
    name = name.strip().lower() or "duckdb"
    if name not in ENGINES:
        raise ParameterError(f"unknown engine {value!r}; expected duckdb, spark or spark:MASTER "
                             "(local[N], spark://host:7077 or sc://host:15002)")
    if name == "duckdb":
        if master:
            raise ParameterError(f"engine {value!r}: duckdb takes no master; write duckdb")
        return "duckdb", None
    master = master.strip() or os.environ.get("WORKBENCH_SPARK_MASTER", "").strip() or DEFAULT_MASTER
    if not re.fullmatch(r"local(\[(\d+|\*)\])?|(spark|sc|yarn|k8s)(://\S+)?", master):
        raise ParameterError(f"engine {value!r}: the master must be local[N], spark://host:port, yarn, "
                             "k8s://… or a Spark Connect address sc://host:15002")
    return "spark", master


def is_connect(master: str) -> bool:
    """Whether ``master`` is a Spark Connect address (``sc://…``)."""
    return master.startswith("sc://")


def check_available(master: str = DEFAULT_MASTER) -> None:
    """Raise :class:`EnvironmentProblem` (exit code 3) naming the fix when Spark cannot start here:
    pyspark or sqlglot not installed, no Java for a local or cluster session, or the Spark Connect
    client's packages missing for an ``sc://`` address."""
    missing = [name for name in ("pyspark", "sqlglot") if not _importable(name)]
    if missing:
        raise EnvironmentProblem(f"the Spark engine needs {' and '.join(missing)}, which is not installed; "
                                 f"{INSTALL_FIX}")
    if is_connect(master):
        lacking = [name for name in ("grpc", "google.protobuf", "zstandard") if not _importable(name)]
        if lacking:
            raise EnvironmentProblem(f"a Spark Connect address ({master}) needs the Connect client "
                                     f"({', '.join(lacking)} missing); {INSTALL_FIX}")
        return
    if not java_path():
        raise EnvironmentProblem(f"the Spark engine ({master}) needs Java 17 or newer, and none was found "
                                 "(no JAVA_HOME, no java on PATH); install it (Debian: apt-get install "
                                 "openjdk-17-jre-headless) or use a Spark Connect server (--engine spark:sc://HOST:15002)")


def java_path() -> str | None:
    """The ``java`` a local Spark would start (``$JAVA_HOME/bin/java``, else on ``PATH``), or None."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def _importable(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# ----- sessions ----------------------------------------------------------------------------------------
_SESSIONS: dict[str, Any] = {}
_LOCK = threading.Lock()


def session(master: str = DEFAULT_MASTER) -> Any:
    """The process's Spark session for ``master`` (started on first use; see the module's settings).

    Local sessions bind to 127.0.0.1 and use ``$WORKBENCH_SPARK_DRIVER_MEMORY`` (default 2g) and
    ``$WORKBENCH_SPARK_PARTITIONS`` shuffle partitions (default 4: the data of one shop is small
    once aggregated). Raises :class:`EnvironmentProblem` when Spark cannot start.
    """
    with _LOCK:
        if master in _SESSIONS:
            return _SESSIONS[master]
        check_available(master)
        with warnings.catch_warnings():
            # pyspark 4.3 warns that pandas 3 is "not yet fully supported": results reach pandas through
            # Arrow and DuckDB here, not through pyspark's pandas conversion
            warnings.filterwarnings("ignore", message=".*pandas >= 3.*", category=FutureWarning)
            from pyspark.sql import SparkSession

            builder = SparkSession.builder.appName("workbench")
            if is_connect(master):
                builder = builder.remote(master)
            else:
                if master.startswith("local"):
                    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
                builder = (builder.master(master)
                           .config("spark.ui.enabled", "false")
                           .config("spark.ui.showConsoleProgress", "false")
                           .config("spark.driver.memory", os.environ.get("WORKBENCH_SPARK_DRIVER_MEMORY", "2g"))
                           .config("spark.sql.shuffle.partitions",
                                   os.environ.get("WORKBENCH_SPARK_PARTITIONS", "4")))
            try:
                spark = builder.getOrCreate()
            except Exception as exc:  # the JVM did not start, or the server did not answer
                raise EnvironmentProblem(f"Spark ({master}) did not start: {_first_line(exc)}; check Java "
                                         "and the master address, or run with --engine duckdb") from None
        if not is_connect(master):
            spark.sparkContext.setLogLevel("ERROR")
        import logging

        for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
            # pyspark logs every refused statement with the JVM's whole stack; SparkQueryError says it in a line
            logging.getLogger(name).setLevel(logging.CRITICAL)
        for key, value in SQL_CONF.items():
            spark.conf.set(key, value)
        _SESSIONS[master] = spark
        return spark


def stop() -> None:
    """Stop every Spark session this process started (and with it a local JVM)."""
    with _LOCK:
        for spark in _SESSIONS.values():
            try:
                spark.stop()
            except Exception:  # noqa: BLE001  (already stopped, or the server went away)
                pass
        _SESSIONS.clear()


atexit.register(stop)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


# ----- a dataset on Spark ------------------------------------------------------------------------------
@dataclass
class SparkData:
    """A dataset's Spark side: its session (own temporary views), master, mart folder and views."""

    session: Any
    master: str
    mart: Path
    views: list[str] = field(default_factory=list)


def attach(ds: "Dataset", master: str = DEFAULT_MASTER) -> SparkData:
    """Register ``ds``'s tables as temporary views of a Spark session; queries on ``ds`` run on Spark after.

    Builds (or reuses) the dataset's mart, reads each table's Parquet parts into a view of the same
    name, ``fx_daily`` and the daily cubes from their Parquet, and defines ``orders_cny`` and
    ``items_cny`` with the DuckDB definitions transpiled to Spark SQL. Sets ``ds.engine = "spark"`` and ``ds.spark``; returns the latter.
    Raises :class:`EnvironmentProblem` when Spark cannot start.
    """
    from workbench.data import marts

    base = session(master)
    spark = base if is_connect(master) else base.newSession()  # temporary views of its own
    for key, value in SQL_CONF.items():  # a new session starts from the context's settings, not base's
        spark.conf.set(key, value)
    mart, manifest = marts.ensure(ds)
    data = SparkData(spark, master, mart)
    for table, entry in manifest["tables"].items():
        _read_parquet(spark, [mart / p for p in entry["parts"]]).createOrReplaceTempView(table)
        data.views.append(table)
    if "orders" in manifest["tables"]:
        fx = None
        if (mart / "fx_daily.parquet").exists():
            _read_parquet(spark, [mart / "fx_daily.parquet"]).createOrReplaceTempView("fx_daily")
            data.views.append("fx_daily")
            fx = "fx_daily"
        definitions = {"orders_cny": marts.orders_cny_sql("orders", fx)}
        if "order_items" in manifest["tables"]:
            definitions["items_cny"] = marts.items_cny_sql("order_items", "orders_cny")
        for name, sql in definitions.items():
            spark.sql(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {transpile(sql)[0]}")
            data.views.append(name)
    derived = manifest.get("derived") or {}
    for name in marts.CUBES:  # sales.breakdown reads them on DuckDB through the mart's views
        if derived.get(name):
            _read_parquet(spark, [mart / p for p in derived[name]]).createOrReplaceTempView(name)
            data.views.append(name)
    ds.engine = "spark"
    ds.spark = data
    return data


def _read_parquet(spark: Any, paths: list[Path]) -> Any:
    return spark.read.option("mergeSchema", "true").parquet(*[str(p) for p in paths])


# ----- statements -------------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def transpile(sql: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` (DuckDB, ``$name`` parameters) as Spark SQL (``:name`` parameters), and the names it binds.

    Cached: a notebook runs the same statements after every filter change. Raises
    :class:`SparkQueryError` when sqlglot cannot read the statement.
    """
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise SparkQueryError(f"cannot transpile a statement to Spark SQL ({_first_line(exc)}): "
                              f"{_head(sql)}") from None
    names = tuple(sorted({p.name for p in tree.find_all(exp.Placeholder) if p.name}))
    for node in list(tree.find_all(exp.Sum)):
        # DuckDB sums whole numbers as HUGEINT, which reaches pandas as float64 (sums of doubles and
        # decimals too); Spark sums them as BIGINT (int64). A sum as DOUBLE gives DuckDB's dtype, and
        # the same value while it is below 2**53.
        target = node
        while isinstance(target.parent, (exp.Window, exp.Filter)):
            target = target.parent
        if not isinstance(target.parent, exp.Cast):
            target.replace(exp.cast(target.copy(), "DOUBLE"))
    for node in reversed(list(tree.find_all(exp.Div))):  # inner divisions first: an outer one copies them
        # DuckDB's ``/`` divides as DOUBLE whatever the operands; Spark divides a DECIMAL (``3600.0`` is a
        # DECIMAL literal) as a DECIMAL of scale 6 or more, so ``seconds / 3600.0`` came back rounded to
        # 6 decimals. Operands as DOUBLE give DuckDB's division.
        for operand in (node.this, node.expression):
            if not (isinstance(operand, exp.Cast) and operand.to.is_type(exp.DataType.Type.DOUBLE)):
                operand.replace(exp.cast(operand.copy(), "DOUBLE"))
    return tree.sql(dialect="spark"), names


#: DuckDB-only constructs (see STACK-NOTES.md): a pattern over the DuckDB text and how it is named.
DUCKDB_ONLY = (
    (r"\bASOF\b", "ASOF JOIN"),
    (r"\bGROUP\s+BY\s+ALL\b", "GROUP BY ALL"),
    (r"\bORDER\s+BY\s+ALL\b", "ORDER BY ALL"),
    (r"\bFILTER\s*\(\s*WHERE\b", "FILTER (WHERE …)"),
    (r"\bepoch\s*\(", "epoch()"),
    (r"\bquantile_(cont|disc)\s*\(", "quantile_cont/quantile_disc"),
    (r"\bmedian\s*\(", "median()"),
    (r"\barg_(min|max)\s*\(", "arg_min/arg_max"),
    (r"\bUSING\s+SAMPLE\b", "USING SAMPLE"),
    (r"\b(range|generate_series)\s*\(", "range()/generate_series()"),
    (r"\bTRY_STRPTIME\b|\bstrptime\s*\(", "strptime/TRY_STRPTIME"),
    (r"\bduckdb_(views|tables)\s*\(", "duckdb_views()/duckdb_tables()"),
    (r"\bdate_diff\s*\(|\bdatediff\s*\(", "date_diff()"),
    (r"(date|_at|as_of|day|last|first|start|end)\w*\)*\s+-\s+\(*\s*(greatest|least|max|min|coalesce|\$|"
     r"[\w.]*(date|_at|as_of|day)\b)|\)\s*-\s*(greatest|least)\s*\(", "DATE - DATE (likely)"),
    (r"\bdate_trunc\s*\(", "date_trunc() (a timestamp in Spark, a date in DuckDB)"),
    (r"\bstruct_pack\b|\blist_\w+\s*\(|\blist\s*\(|\bunnest\s*\(", "lists/structs"),
    (r"::", "x::TYPE casts"),
    (r"(?s)^(?=(?:.*?\(\s*DISTINCT\b){2})(?=.*\b(?:string_agg|listagg)\s*\(\s*DISTINCT\b[^)]*\bORDER\s+BY)",
     "string_agg(DISTINCT … ORDER BY …) with another DISTINCT aggregate (Spark's optimiser fails on it)"),
)


def constructs(sql: str) -> list[str]:
    """The DuckDB-only constructs :data:`DUCKDB_ONLY` finds in ``sql`` (to explain a Spark failure)."""
    return [name for pattern, name in DUCKDB_ONLY if re.search(pattern, sql, flags=re.IGNORECASE)]


def _head(sql: str, n: int = 160) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= n else text[:n] + " …"


def _value(v: Any) -> Any:
    """A parameter value as Spark binds it (numpy and pandas scalars become Python values)."""
    if v is None or isinstance(v, (bool, int, float, str, dt.date, decimal.Decimal)):
        return v
    if hasattr(v, "to_pydatetime"):  # pandas Timestamp
        return v.to_pydatetime()
    if hasattr(v, "item"):  # numpy scalar
        return v.item()
    if isinstance(v, (list, tuple)):
        return [_value(x) for x in v]
    raise ParameterError(f"cannot bind a value of type {type(v).__name__} as a Spark SQL parameter")


def _spark_data(ds: "Dataset") -> SparkData:
    data = getattr(ds, "spark", None)
    if data is None:
        raise SparkQueryError("this dataset has no Spark session; open it with engine='spark'")
    return data


def arrow(ds: "Dataset", sql: str, params: dict[str, Any] | None = None) -> Any:
    """Run ``sql`` (DuckDB dialect, ``$name`` parameters) on ``ds``'s Spark session; a pyarrow Table back.

    Raises :class:`SparkQueryError` naming the statement and its DuckDB-only constructs when Spark
    refuses it.
    """
    data = _spark_data(ds)
    text, names = transpile(sql)
    given = params or {}
    absent = [n for n in names if n not in given]
    if absent:
        raise ParameterError(f"the statement names ${', $'.join(absent)}, which no parameter gives: {_head(sql)}")
    args = {n: _value(given[n]) for n in names}
    try:
        return data.session.sql(text, args=args or None).toArrow()
    except Exception as exc:  # noqa: BLE001  (Spark's AnalysisException, ParseException, Py4J errors)
        if not _is_spark_error(exc):
            raise
        found = constructs(sql)
        why = f" (DuckDB-only: {', '.join(found)})" if found else ""
        raise SparkQueryError(f"Spark cannot run a statement{why}: {_first_line(exc)}; statement: "
                              f"{_head(sql)}") from None


def _is_spark_error(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.startswith(("pyspark", "py4j"))


_CONVERT = threading.local()


def _duckdb() -> Any:
    """A DuckDB connection of this thread for the Arrow → pandas conversion (the loader's time zone)."""
    con = getattr(_CONVERT, "con", None)
    if con is None:
        import duckdb

        con = duckdb.connect()
        con.execute(f"SET TimeZone = '{schema.DEFAULT_TIMEZONE}'")
        _CONVERT.con = con
    return con


@lru_cache(maxsize=4096)
def _cast_to_int(sql: str) -> frozenset[str]:
    """Output columns of ``sql`` that it casts to INTEGER itself (DuckDB keeps those 32-bit too)."""
    import sqlglot
    from sqlglot import exp

    small = {exp.DataType.Type.INT, exp.DataType.Type.SMALLINT, exp.DataType.Type.TINYINT}
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError:
        return frozenset()
    if not isinstance(tree, exp.Query):
        return frozenset()
    out = set()
    for column in tree.selects:
        inner = column.this if isinstance(column, exp.Alias) else column
        if isinstance(inner, exp.Cast) and inner.to.this in small:
            out.add(column.alias_or_name)
    return frozenset(out)


def _widen(table: Any, keep: frozenset[str] = frozenset()) -> Any:
    """Spark's INT results (``datediff``, ``dayofweek``, ``extract``…) as BIGINT, DuckDB's type for them;
    columns in ``keep`` (cast to INTEGER by the statement) stay as they are."""
    import pyarrow as pa

    fields = [pa.field(f.name, pa.int64(), f.nullable)
              if pa.types.is_integer(f.type) and f.type.bit_width < 64 and f.name not in keep else f
              for f in table.schema]
    return table.cast(pa.schema(fields)) if fields != list(table.schema) else table


def query(ds: "Dataset", sql: str, params: dict[str, Any] | None = None) -> "pd.DataFrame":
    """:func:`workbench.sql.engine.query` on Spark: the result as a pandas frame with DuckDB's dtypes."""
    return _duckdb().from_arrow(_widen(arrow(ds, sql, params), _cast_to_int(sql))).df()


def scalar(ds: "Dataset", sql: str, params: dict[str, Any] | None = None) -> Any:
    """:func:`workbench.sql.engine.scalar` on Spark: the single value (as DuckDB gives it), None when no row."""
    rows = _duckdb().from_arrow(arrow(ds, sql, params)).fetchall()
    return rows[0][0] if rows else None
