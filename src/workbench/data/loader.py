"""Read a shop's data into a :class:`Dataset`, checked against the model.

A source is a folder of ``<table>.parquet`` or ``<table>.csv`` files (one file per
table, named after the table), or a DuckDB database file whose tables carry the
model's names. Files are never modified: CSV files in another encoding than
UTF-8 (GBK, GB18030, UTF-8 with a byte-order mark, ...) are decoded into a
temporary copy that the dataset owns.

Every table becomes a DuckDB view with the model's column names and types; a
column the file lacks but the model allows to be missing is present as NULL.
Personal data columns (``pii`` in the model: names, phones, addresses) are replaced by
a stable token in the views, so that no analysis, chart or report can show them; every other
text column is searched, in every row and inside longer texts, for phone numbers, e-mails,
ID-card numbers and addresses (once per version of the files), and the values holding any read
as keyed pseudonyms (review texts: the pieces read ``***``).
Heavy aggregation runs as SQL on these views (see :mod:`workbench.sql.common`);
pandas receives only aggregated results.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import duckdb
import pandas as pd

from workbench.data import privacy, schema
from workbench.errors import DataError, MissingTableError

SQL_TYPES = {
    "string": "VARCHAR",
    "category": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
}

#: References whose orphans make the data unusable (an order of an unknown customer
#: breaks every customer analysis). Other orphans are warnings with counts.
STRICT_REFERENCES = {("orders", "customer_id"), ("order_items", "order_id"), ("order_items", "product_id")}

#: Share of orphan rows above which even a lenient reference is an error.
ORPHAN_ERROR_SHARE = 0.05

SAMPLE_ROWS = 5

#: Tables of events that have happened: a row dated after today is an error there (campaigns,
#: product launches and signups are left alone: a planned campaign may lie ahead).
EVENT_TABLES = frozenset({"orders", "traffic", "marketing_spend", "shipments", "returns", "tickets", "reviews"})


@dataclass
class Problem:
    """One finding about the input: an ``error`` stops its use, a ``warning`` does not, a ``note`` says
    how something was read (for example "CST" as China Standard Time)."""

    severity: str
    file: str
    table: str
    column: str | None
    message: str
    fix: str
    rows: list = field(default_factory=list)
    count: int = 0
    row_label: str = "rows"

    def __str__(self) -> str:
        where = f"{self.file}" + (f", column '{self.column}'" if self.column else "")
        text = f"{self.severity.upper()}: {where}: {self.message}"
        if self.rows:
            text += f" (e.g. {self.row_label} {', '.join(str(r) for r in self.rows)})"
        if self.fix:
            text += f"\n    fix: {self.fix}"
        return text


@dataclass
class TableSource:
    """Where one table came from: the file, its format and (for CSV) the encoding read."""

    table: str
    path: Path
    kind: str
    encoding: str | None = None
    columns: list[str] = field(default_factory=list)
    rows: int = 0
    #: the typed view's expression of each model column present in the file, over the raw columns of
    #: ``raw_<table>`` (``exprs``), and the same before personal data is tokenised or masked (``plain``):
    #: the marts checksum rows by ``plain`` (cheap) and compare how ``exprs`` masks (see data/marts.py)
    exprs: dict[str, str] = field(default_factory=dict)
    plain: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.path.name if self.kind != "duckdb" else f"{self.path.name}:{self.table}"


class Dataset:
    """A loaded shop: DuckDB views of the tables that are present, and what was found on the way.

    Use :meth:`has` / :meth:`require` to check for tables and columns, :meth:`sql` to run an
    aggregation and get a pandas frame, and :meth:`frame` for a small table as a frame.
    """

    def __init__(self, source: Path, con: duckdb.DuckDBPyConnection, sources: dict[str, TableSource],
                 problems: list[Problem], tmpdir: str | None) -> None:
        self.source = source
        self.con = con
        self.sources = sources
        self.problems = problems
        self._tmpdir = tmpdir
        # the decoded copies of CSV files go with the dataset, or at the latest when the process
        # (a kernel) exits; a killed process leaves them to remove_stale_csv_copies
        self._cleanup = weakref.finalize(self, shutil.rmtree, tmpdir, True) if tmpdir else None

    def close(self) -> None:
        """Close the connection and remove the decoded copies of CSV files now."""
        self.con.close()
        if self._cleanup is not None:
            self._cleanup()

    def __repr__(self) -> str:
        return f"Dataset({str(self.source)!r}, tables={self.tables})"

    @property
    def tables(self) -> list[str]:
        """Names of the model tables present, in model order."""
        return [t for t in schema.TABLES if t in self.sources]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def has(self, table: str, columns: Iterable[str] = ()) -> bool:
        """True when ``table`` is present and every column in ``columns`` came from the file."""
        src = self.sources.get(table)
        return src is not None and all(c in src.columns for c in columns)

    def missing(self, needs: dict[str, Iterable[str]]) -> list[str]:
        """What of ``needs`` ({table: [columns]}) the dataset lacks, as ``table`` or ``table.column``."""
        out: list[str] = []
        for t, cols in needs.items():
            if t not in self.sources:
                out.append(t)
            else:
                out += [f"{t}.{c}" for c in cols if c not in self.sources[t].columns]
        return out

    def require(self, needs: dict[str, Iterable[str]] | Iterable[str]) -> None:
        """Raise :class:`MissingTableError` naming what is missing and how to provide it."""
        if not isinstance(needs, dict):
            needs = {t: () for t in needs}
        gone = self.missing(needs)
        if gone:
            tables = [g for g in gone if "." not in g]
            cols = [g for g in gone if "." in g]
            raise MissingTableError(
                f"needs {', '.join(f'`{g}`' for g in gone)}, which the data in {self.source} does not have; "
                f"add {' and '.join(f'{t}.parquet or {t}.csv' for t in tables) or 'the columns'} "
                "(see docs/data-dictionary.md) or import an export with `workbench import`",
                tables=tables, columns=cols)

    def sql(self, query: str, params: list | dict | None = None) -> pd.DataFrame:
        """Run a SQL query over the table views and return the result as a pandas frame."""
        return self.con.execute(query, params or []).df()

    def frame(self, table: str, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """Return a whole table (or some columns) as a pandas frame; for small tables only."""
        self.require([table])
        cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        return self.sql(f'SELECT {cols} FROM "{table}"')

    def row_count(self, table: str) -> int:
        return self.sources[table].rows if table in self.sources else 0

    def fingerprint(self) -> str:
        """A short hash of the source's file names, sizes and modification times (see :func:`fingerprint`)."""
        return fingerprint(self.source)

    def report(self) -> str:
        """The findings as a readable text report (what ``workbench validate`` prints)."""
        lines = [f"Data source: {self.source}"]
        for t in schema.TABLES:
            if t in self.sources:
                s = self.sources[t]
                enc = f", encoding {s.encoding}" if s.encoding else ""
                lines.append(f"  {t:<16} {s.rows:>12,} rows  from {s.label}{enc}")
        absent = [t for t in schema.TABLES if t not in self.sources]
        if absent:
            lines.append(f"  absent tables: {', '.join(absent)}")
        for p in self.problems:
            lines.append(str(p))
        n_err, n_warn = len(self.errors), len(self.warnings)
        n_note = sum(p.severity == "note" for p in self.problems)
        verdict = "cannot be used until the errors are fixed" if n_err else "can be used"
        lines.append(f"{n_err} error(s), {n_warn} warning(s)" + (f", {n_note} note(s)" if n_note else "")
                     + f": the data {verdict}.")
        return "\n".join(lines)


def fingerprint(path: str | os.PathLike) -> str:
    """A short hash of a data folder's (or file's) names, sizes and modification times; no data is read.

    Cheap enough to tell, before loading, whether data is unchanged since it was validated.
    A missing path gives ``"missing"``.
    """
    path = Path(path)
    if not path.exists():
        return "missing"
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for f in files:
        st = f.stat()
        name = f.relative_to(path).as_posix() if path.is_dir() else f.name
        digest.update(f"{name}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}\n".encode())
    return digest.hexdigest()[:16]


CSV_TEMP_PREFIX = "workbench-csv-"


def _csv_temp_dir() -> str:
    """A folder for decoded copies, named after this process so that a later load can remove it if the
    process died without cleaning up (a killed kernel); removed when the dataset goes or the process ends."""
    remove_stale_csv_copies()
    return tempfile.mkdtemp(prefix=f"{CSV_TEMP_PREFIX}{os.getpid()}-")


def remove_stale_csv_copies(folder: str | os.PathLike | None = None) -> int:
    """Remove ``workbench-csv-<pid>-*`` copies whose process has ended; return how many were removed."""
    removed = 0
    for d in Path(folder or tempfile.gettempdir()).glob(CSV_TEMP_PREFIX + "*"):
        pid = d.name[len(CSV_TEMP_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # still running
        except ProcessLookupError:
            pass
        except OSError:
            continue  # running, owned by someone else
        shutil.rmtree(d, ignore_errors=True)
        removed += 1
    return removed


#: How :func:`decode_to_utf8` names GB18030 (GBK) text that starts with a UTF-8 byte-order mark.
BOM_GB18030 = "gb18030 (after a UTF-8 byte-order mark)"


def decode_to_utf8(path: Path, tmpdir: str, encoding: str = "auto",
                   fix: str = "save the file as UTF-8 (GBK and GB18030 are read too)") -> tuple[str, Path]:
    """Return (encoding read, UTF-8 file): ``path`` itself when it is UTF-8, else a decoded copy in ``tmpdir``.

    ``auto`` checks for a byte-order mark, then UTF-8, then GB18030 (a superset of GBK and GB2312,
    the encodings of Chinese platform exports), decoding while it checks, then asks
    charset-normalizer. The original file is never modified. ``fix`` ends the error raised when
    the file cannot be decoded.
    """
    candidates: list[str]
    head = b""
    if encoding != "auto":
        candidates = [encoding]
    else:
        with open(path, "rb") as fh:
            head = fh.read(4)
        if head.startswith(b"\xef\xbb\xbf"):
            # a UTF-8 byte-order mark; some tools put one before GBK text, so try GB18030 after it
            candidates = ["utf-8-sig", BOM_GB18030]
        elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
            candidates = ["utf-16"]
        else:
            candidates = ["utf-8", "gb18030"]
    target = Path(tmpdir) / (path.stem + ".utf8" + path.suffix)
    for enc in candidates:
        try:
            if enc == "utf-8":
                with open(path, encoding="utf-8") as fh:  # validate only: DuckDB reads the file itself
                    while fh.read(1 << 22):
                        pass
                return enc, path
            with open(path, "rb") as raw_fh, open(target, "w", encoding="utf-8", newline="") as dst:
                if enc == BOM_GB18030:
                    raw_fh.read(3)
                src = io.TextIOWrapper(raw_fh, encoding="gb18030" if enc == BOM_GB18030 else enc, newline="")
                while chunk := src.read(1 << 22):
                    dst.write(chunk)
            return enc, target
        except UnicodeDecodeError:
            continue
        except LookupError:
            raise DataError(f"{path.name}: unknown encoding {enc!r}; use auto, utf-8 or gb18030") from None
        except OSError as exc:
            from workbench.errors import environment_problem

            raise environment_problem(exc, str(tmpdir), needed_bytes=2 * path.stat().st_size) from None
    if encoding == "auto" and not head.startswith(b"\xef\xbb\xbf"):
        from charset_normalizer import from_path

        best = from_path(path).best()
        if best is not None and best.encoding:
            return decode_to_utf8(path, tmpdir, best.encoding, fix)
    raise DataError(f"{path.name}: cannot be decoded as {' or '.join(candidates)}; {fix}")


#: File kinds a table is read from, in order of preference.
READABLE = ((".parquet", "parquet"), (".csv", "csv"), (".csv.gz", "csv"))
#: Files named after a table that the loader does not read, and what to do instead.
NOT_READ = {
    ".xlsx": "Excel files are not read as tables: save the sheet as CSV UTF-8 (File > Save As), or import it "
             "with `workbench import generic FILE --mapping m.yaml` (`workbench import --suggest FILE` proposes one)",
    ".xls": "Excel files are not read as tables: save the sheet as CSV UTF-8, or import it with "
            "`workbench import generic`",
    ".tsv": "save it with commas as separators and the ending .csv",
    ".txt": "save it as a CSV file named after the table (.csv)",
    ".json": "write the table as CSV or Parquet",
}


def _find_sources(root: Path, problems: list[Problem] | None = None) -> dict[str, tuple[Path, str]]:
    """The file each table is read from; what else is named after a table goes to ``problems``.

    A name that is not a readable regular file (a folder, a broken or looping symbolic link, a
    file without read permission) is an error naming it; a second file for the same table
    (``orders.xlsx`` beside ``orders.csv``) is a warning saying which one was read.
    """
    problems = problems if problems is not None else []
    found: dict[str, tuple[Path, str]] = {}
    for name in schema.TABLES:
        candidates: list[tuple[Path, str]] = []
        for ext, kind in READABLE:
            p = root / f"{name}{ext}"
            if not os.path.lexists(p):
                continue
            why = _unreadable(p)
            if why:
                problems.append(Problem("error", p.name, name, None, why[0], why[1]))
                continue
            candidates.append((p, kind))
        others = [root / f"{name}{ext}" for ext in NOT_READ if os.path.lexists(root / f"{name}{ext}")]
        if candidates:
            found[name] = candidates[0]
            for p, _ in candidates[1:]:
                problems.append(Problem("warning", p.name, name, None,
                                        f"ignored: {candidates[0][0].name} is read for table {name}",
                                        f"keep one file per table; remove or rename {p.name}"))
            for p in others:
                problems.append(Problem("warning", p.name, name, None,
                                        f"ignored: {candidates[0][0].name} is read for table {name}",
                                        f"keep one file per table; remove or rename {p.name}"))
        else:
            for p in others:
                problems.append(Problem("error", p.name, name, None,
                                        f"not read: table {name} is expected as {name}.csv or {name}.parquet",
                                        NOT_READ[p.suffix]))
    return found


def _unreadable(path: Path) -> tuple[str, str] | None:
    """Why ``path`` cannot be read as a table file (message, fix), or None when it can."""
    try:
        if path.is_symlink() and not path.exists():
            try:
                path.resolve(strict=True)
            except RuntimeError:
                return ("is a symbolic link that loops back on itself", "point the link at the real file, or copy the file here")
            except OSError:
                pass
            return ("is a symbolic link to a file that does not exist", "point the link at the real file, or copy the file here")
        if path.is_dir():
            return ("is a folder, not a file", f"put the table's file here instead of a folder named {path.name}")
        if not path.is_file():
            return ("is not a regular file", "copy the table's file here")
        with open(path, "rb") as fh:
            fh.read(1)
    except PermissionError:
        return ("cannot be read: permission denied",
                f"let the user running the workbench read it (for example `chmod a+r {path}`)")
    except OSError as exc:
        return (f"cannot be read: {exc.strerror or exc}", "check the file and the disk it is on")
    return None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


#: Written for "missing" by databases and spreadsheets; read as an empty value in text columns
#: (compared exactly, in the spellings tools write: a constant list is cheaper than lower() per row).
MISSING_MARKERS = ("NULL", "null", "Null", "N/A", "n/a", "#N/A", "NaN", "nan", "NAN", "\\N")
#: In free text (ids, names), also "None" (Python's); not in categories, where 'none' can be a value.
MISSING_TEXT_MARKERS = MISSING_MARKERS + ("None", "NONE", "none")

#: Time-zone words that Chinese systems write after a time. "CST" is China Standard Time there;
#: read as DuckDB would, it is US Central Time (14 hours off, most orders move a day).
CHINA_TIME_SUFFIX = r"\s*(CST|China Standard Time|Beijing Time|北京时间|GMT\+8|UTC\+8)$"

#: Plausible years of any date in a shop's data (year 0025 or 2205 is a typing or export error).
FIRST_YEAR, LAST_YEAR = 1900, 2100


#: DuckDB types of whole numbers (a Parquet column of these needs no parsing).
INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                           "UINTEGER", "UBIGINT"})


def _text(raw: str) -> str:
    return f"TRIM(CAST({raw} AS VARCHAR))"


def _finite(expr: str) -> str:
    return f"(CASE WHEN isfinite({expr}) THEN {expr} END)"


def _cast_expr(col: schema.Column, raw: str, raw_type: str = "VARCHAR") -> str:
    """The SQL that turns a raw column into the model's type; NULL where the value cannot be read."""
    sql_type = SQL_TYPES[col.dtype]
    text = _text(raw)
    if col.dtype == "date":
        return (f"COALESCE(TRY_CAST({raw} AS DATE), "
                f"TRY_CAST(TRY_STRPTIME(CAST({raw} AS VARCHAR), '%Y/%m/%d') AS DATE))")
    if col.dtype == "timestamp":
        if raw_type.upper() == "VARCHAR" and schema.DEFAULT_TIMEZONE == "Asia/Shanghai":
            text = f"regexp_replace({text}, '{CHINA_TIME_SUFFIX}', '+08:00')"
        else:
            text = raw
        return (f"COALESCE(TRY_CAST({text} AS TIMESTAMPTZ), "
                f"TRY_CAST(TRY_STRPTIME(CAST({text} AS VARCHAR), '%Y/%m/%d %H:%M:%S') AS TIMESTAMPTZ))")
    markers = ", ".join(_lit(m) for m in (MISSING_MARKERS if col.dtype == "category" else MISSING_TEXT_MARKERS))
    if col.dtype == "category":
        return f"CASE WHEN {text} IN ({markers}) THEN NULL ELSE NULLIF(lower({text}), '') END"
    if col.dtype == "string":
        return f"CASE WHEN {text} IN ({markers}) THEN NULL ELSE NULLIF({text}, '') END"
    native = raw_type.upper()
    if col.dtype == "int" and native in INTEGER_TYPES:  # a typed file: nothing to parse or round
        return f"TRY_CAST({raw} AS BIGINT)"
    if col.dtype == "float" and native in INTEGER_TYPES:
        return f"TRY_CAST({raw} AS DOUBLE)"
    if col.dtype == "float":  # NaN, inf and 1e400 (which reads as inf) are not amounts
        return _finite(f"TRY_CAST({raw} AS DOUBLE)")
    if col.dtype == "int":  # whole numbers only: 2.5 is refused, not rounded to 3
        as_double = f"TRY_CAST({raw} AS DOUBLE)"
        return (f"(CASE WHEN isfinite({as_double}) AND {as_double} = trunc({as_double}) "
                f"AND abs({as_double}) < 9e18 THEN CAST({as_double} AS BIGINT) END)")
    return f"TRY_CAST({raw} AS {sql_type})"


def load(source: str | os.PathLike, tables: Iterable[str] | None = None, strict: bool = True,
         checks: bool = True) -> Dataset:
    """Load a shop's data and check it against the model.

    ``source`` is a folder of ``<table>.parquet`` / ``<table>.csv`` files or a DuckDB database
    file. ``tables`` limits loading to some tables. With ``strict`` (the default) any error
    raises :class:`DataError` whose message lists every problem with file, column, example rows
    and the fix; with ``strict=False`` the dataset is returned with its ``problems`` for a report.
    Warnings never raise. ``checks=False`` skips the row-level checks (types, allowed values,
    keys, references, currencies) for data already validated unchanged (see :func:`fingerprint`):
    the batch runner validates large data once instead of once per notebook.
    Returns a :class:`Dataset`.
    """
    root = Path(source).expanduser()
    if not root.exists():
        raise DataError(f"{root}: no such folder or file; give the folder that holds your tables "
                        f"(for the sample shop: data/sample, made by `workbench sample --out data/sample`)")
    con = duckdb.connect(config={
        "threads": os.cpu_count() or 2,
        # bounded memory: large joins and aggregations spill to a temporary folder instead of
        # growing the kernel (WORKBENCH_DUCKDB_MEMORY overrides, e.g. "8GB" on a bigger machine)
        "memory_limit": os.environ.get("WORKBENCH_DUCKDB_MEMORY", "2GB"),
        "temp_directory": str(Path(tempfile.gettempdir()) / "workbench-duckdb"),
    })
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    con.execute("SET enable_progress_bar = false")
    wanted = set(tables) if tables is not None else set(schema.TABLES)
    sources: dict[str, TableSource] = {}
    problems: list[Problem] = []
    tmpdir: str | None = None

    if root.is_file():
        if root.suffix not in (".duckdb", ".db"):
            raise DataError(f"{root}: not a folder or a DuckDB database; give the folder that holds "
                            "your <table>.parquet or <table>.csv files")
        con.execute(f"ATTACH {_lit(str(root))} AS src (READ_ONLY)")
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'src'").fetchall()}
        for name in schema.TABLES:
            if name in present and name in wanted:
                con.execute(f"CREATE VIEW {_q('raw_' + name)} AS SELECT * FROM src.main.{_q(name)}")
                sources[name] = TableSource(name, root, "duckdb")
    else:
        for name, (path, kind) in _find_sources(root, problems).items():
            if name not in wanted:
                continue
            if kind == "parquet":
                reader = f"read_parquet({_lit(str(path))})"
                src = TableSource(name, path, kind)
            else:
                if path.name.endswith(".gz"):
                    encoding, read_path = "utf-8", path
                else:
                    tmpdir = tmpdir or _csv_temp_dir()
                    try:
                        encoding, read_path = decode_to_utf8(path, tmpdir)
                    except DataError as exc:
                        problems.append(Problem("error", path.name, name, None, str(exc).removeprefix(
                            f"{path.name}: "), ""))
                        continue
                reader = f"read_csv({_lit(str(read_path))}, all_varchar = true, header = true)"
                src = TableSource(name, path, kind, encoding=encoding)
            try:
                con.execute(f"CREATE VIEW {_q('raw_' + name)} AS SELECT * FROM {reader}")
            except duckdb.Error as exc:
                problems.append(Problem("error", path.name, name, None,
                                        f"cannot be read as {kind.upper()} ({str(exc).splitlines()[0]})",
                                        "the file is damaged or incomplete: export or copy it again"))
                continue
            sources[name] = src

    # personal data is looked for in every row of every text column, once per version of the files
    # (the record is kept with their fingerprint, so kernels that skip the checks mask the same columns)
    fp = fingerprint(root)
    scans = privacy.load_scans(root, fp)
    scanned = dict(scans)
    for name, src in sources.items():
        _build_view(con, schema.TABLES[name], src, problems, checks, scans)
    if scans != scanned:
        privacy.save_scans(root, fp, scans)
    if checks:
        # tables that could not be read are already errors; the cross-table checks leave them out
        readable = {n: s for n, s in sources.items()
                    if not any(p.table == n and p.message.startswith("cannot be read") for p in problems)}
        try:
            _check_references(con, readable, problems)
            _check_currencies(con, readable, problems)
        except duckdb.Error as exc:
            problems.append(Problem("error", str(root), "", None, f"cannot be read: {str(exc).splitlines()[0]}",
                                    "a file is damaged or incomplete: export or copy it again"))

    ds = Dataset(root, con, sources, problems, tmpdir)
    if not ds.errors:
        from workbench.data.views import create_derived_views

        create_derived_views(ds)
        if checks:
            _check_orders_without_lines(con, sources, problems)
    if not sources and ds.errors:
        raise DataError("the data cannot be used:\n" + "\n".join(str(p) for p in ds.errors), ds.errors)
    if not sources:
        raise DataError(f"{root}: holds none of the model's tables; expected files such as orders.parquet "
                        f"or orders.csv (tables: {', '.join(schema.TABLES)})")
    if strict and ds.errors:
        raise DataError("the data cannot be used:\n" + "\n".join(str(p) for p in ds.errors), ds.errors)
    return ds


def _build_view(con: duckdb.DuckDBPyConnection, table: schema.Table, src: TableSource,
                problems: list[Problem], checks: bool = True,
                scans: dict[str, dict[str, int]] | None = None) -> None:
    """Create the typed view of one table and record the problems of its columns and key.

    ``scans`` holds the full-column personal-data scans already made ({table: {column: rows}}); this
    table's is added when it was not there (see :func:`_personal_data`).
    """
    raw = _q("raw_" + table.name)
    raw_cols = [r[0] for r in con.execute(f"DESCRIBE {raw}").fetchall()]
    # match columns case-insensitively and ignoring surrounding blanks (exports often differ there)
    by_norm = {c.strip().lower(): c for c in raw_cols}
    src.columns = [c.name for c in table.columns if c.name in by_norm]
    missing_required = [c.name for c in table.columns if c.required and c.name not in by_norm]
    for col in missing_required:
        near = [c for c in raw_cols if col.split("_")[0] in c.lower()]
        hint = f" (columns that look close: {', '.join(near[:3])})" if near else ""
        problems.append(Problem("error", src.label, table.name, col,
                                f"required column '{col}' is missing{hint}",
                                f"add a column named '{col}' ({table.column(col).description.rstrip('.')}), "
                                "or rename the matching column of your export; see docs/data-dictionary.md"))

    raw_types = {r[0]: r[1] for r in con.execute(f"DESCRIBE {raw}").fetchall()}
    personal = _personal_data(con, table, src, raw, by_norm, problems, {} if scans is None else scans)
    selects, typed_cols = [], []
    for col in table.columns:
        if col.name in by_norm:
            raw_ref = _q(by_norm[col.name])
            typed = _cast_expr(col, raw_ref, raw_types.get(by_norm[col.name], "VARCHAR"))
            src.plain[col.name] = typed
            # personal data never leaves the loader: personal columns become keyed tokens (for grouping,
            # e.g. many accounts at one address), ids and names holding a phone number, e-mail, ID-card
            # number or address keyed pseudonyms, and such pieces of a review text *** (workbench.data.privacy)
            typed = privacy.loader_column_sql(table.name, col, typed, col.name in personal)
            selects.append(f"{typed} AS {_q(col.name)}")
            src.exprs[col.name] = typed
            typed_cols.append((col, raw_ref, typed))
        else:
            selects.append(f"CAST(NULL AS {SQL_TYPES[col.dtype]}) AS {_q(col.name)}")
    con.execute(f"CREATE VIEW {_q(table.name)} AS SELECT {', '.join(selects)} FROM {raw}")
    src.rows = con.execute(f"SELECT count(*) FROM {raw}").fetchone()[0]
    if missing_required or not src.rows or not typed_cols:
        if not src.rows:
            problems.append(Problem("warning", src.label, table.name, None, "the table has no rows",
                                    "export the table again with a date range that holds data"))
        return
    if not checks:
        return
    try:
        _check_columns(con, table, src, raw, by_norm, raw_types, typed_cols, problems)
    except duckdb.Error as exc:  # a damaged file shows itself only when its pages are read
        problems.append(Problem("error", src.label, table.name, None,
                                f"cannot be read: {str(exc).splitlines()[0]}",
                                "the file is damaged or incomplete (an interrupted copy or download); "
                                "export or copy it again"))


def _personal_data(con: duckdb.DuckDBPyConnection, table: schema.Table, src: TableSource, raw: str,
                   by_norm: dict[str, str], problems: list[Problem], scans: dict[str, dict[str, int]]
                   ) -> dict[str, int]:
    """The text columns of ``table`` that hold personal data somewhere in some row: {column: rows}.

    Every row of every text column (not only a sample) is searched in DuckDB for phone numbers,
    e-mails, ID-card numbers and street addresses, also inside longer texts
    (:func:`workbench.data.privacy.scan_columns_sql`); the result goes into ``scans`` and a note
    with the count per column into ``problems``. A file that cannot be read is masked in every
    text column (its checks name the damage).
    """
    refs = {c.name: _q(by_norm[c.name]) for c in table.columns
            if c.name in by_norm and c.dtype == "string" and not c.pii}
    if table.name in scans:
        found = {c: n for c, n in scans[table.name].items() if c in refs}
    else:
        try:
            found = privacy.scan_columns_sql(con, raw, refs)
        except duckdb.Error:
            return {c: 0 for c in refs}
        scans[table.name] = found
    for name, n in found.items():
        prose = (table.name, name) in privacy.PROSE_COLUMNS
        problems.append(Problem(
            "note", src.label, table.name, name,
            f"{n:,} values hold personal data (phone numbers, e-mails, ID-card numbers or street addresses, "
            "also inside longer texts); " + ("those pieces read as *** in every analysis" if prose else
                                              "those values read as keyed pseudonyms in every analysis"),
            "nothing to do; to keep personal data out of the files too, leave it out of the export",
            count=n))
    return found


def _check_columns(con: duckdb.DuckDBPyConnection, table: schema.Table, src: TableSource, raw: str,
                   by_norm: dict[str, str], raw_types: dict[str, str], typed_cols: list, problems: list[Problem]
                   ) -> None:
    """Every per-column and key check of one table (reads every column of the file once)."""
    # one pass over the table counts every per-column fault (and reads every column, so that a
    # damaged page shows here, not inside a notebook); examples are fetched only for faults found
    conditions: list[tuple[schema.Column, str, str, str, str]] = []
    for col, raw_ref, typed in typed_cols:
        nonblank = f"NULLIF(TRIM(CAST({raw_ref} AS VARCHAR)), '') IS NOT NULL"
        text_col = col.dtype in ("string", "category")
        if not text_col:
            what = f"values that cannot be read as {col.dtype}" + (
                " (or are NaN, inf or too large, such as 1e400)" if col.dtype == "float" else
                " (whole numbers only: 2.5 is not rounded)" if col.dtype == "int" else "")
            conditions.append((col, f"{nonblank} AND ({typed}) IS NULL", what, _type_fix(col), "error"))
        if col.required and not col.nullable:
            conditions.append((col, f"({typed}) IS NULL" + ("" if text_col else f" AND NOT ({nonblank})"),
                               "empty values (or written as NULL, N/A)" if text_col else "empty values",
                               f"fill every row of '{col.name}'; it is required", "error"))
        elif text_col and not col.pii:
            markers = MISSING_MARKERS if col.dtype == "category" else MISSING_TEXT_MARKERS
            conditions.append((col, f"{_text(raw_ref)} IN ({', '.join(_lit(m) for m in markers)})",
                               "values written as NULL, N/A or similar, read as missing",
                               "leave missing values empty", "warning"))
        if col.dtype in ("date", "timestamp"):
            conditions.append((col, f"year({typed}) < {FIRST_YEAR} OR year({typed}) > {LAST_YEAR}",
                               f"dates outside the years {FIRST_YEAR}-{LAST_YEAR}",
                               "write four-digit years (2025, not 25 or 0025); check the export's date format",
                               "error"))
            if table.name in EVENT_TABLES and col.name == table.time_column:
                conditions.append((col, f"CAST({typed} AS DATE) > current_date + 1",
                                   "rows dated after today (they would move every report's default "
                                   "as-of date into the future)",
                                   "correct or remove those rows (a wrong clock or a typed year is the usual "
                                   "cause); the reports' default period ends on the last day with data",
                                   "error"))
        if col.dtype == "timestamp" and raw_types.get(by_norm[col.name], "VARCHAR").upper() == "VARCHAR" \
                and schema.DEFAULT_TIMEZONE == "Asia/Shanghai":
            conditions.append((col, f"regexp_matches({_text(raw_ref)}, '{CHINA_TIME_SUFFIX}')",
                               "times written with CST (or Beijing Time), read as China Standard Time "
                               "(UTC+08:00), the data's time zone, not US Central Time",
                               "nothing to do; write +08:00 after the time to say it explicitly", "note"))
        if col.allowed:
            allowed = ", ".join(_lit(a) for a in col.allowed)
            conditions.append((col, f"({typed}) IS NOT NULL AND ({typed}) NOT IN ({allowed})",
                               "values outside the allowed set",
                               f"use one of: {', '.join(col.allowed)} (map your export's values with "
                               "`workbench import` or edit a copy of the file)", "error"))
        if col.minimum is not None:
            conditions.append((col, f"({typed}) < {col.minimum}", f"values below {col.minimum:g}",
                               f"'{col.name}' cannot be below {col.minimum:g}; check for sign errors or "
                               "returns booked as negative sales (returns belong in returns)", "error"))
        if col.maximum is not None:
            conditions.append((col, f"({typed}) > {col.maximum}", f"values above {col.maximum:g}",
                               f"'{col.name}' cannot be above {col.maximum:g}", "error"))
    reads = ", ".join(f"count({raw_ref})" for _, raw_ref, _ in typed_cols)
    agg = ", ".join([f"count(*) FILTER (WHERE {cond})" for _, cond, _, _, _ in conditions] + [reads])
    counts = con.execute(f"SELECT {agg} FROM {raw}").fetchone()
    for (col, cond, what, fix, severity), n in zip(conditions, counts):
        if n:
            rows = _example_rows(con, raw, cond, src)
            vals = con.execute(
                f"SELECT DISTINCT CAST({_q(by_norm[col.name])} AS VARCHAR) FROM {raw} WHERE {cond} LIMIT 3"
            ).fetchall()
            # examples are shown with any personal data in them masked (an error message is output too)
            shown = ", ".join(repr(privacy.redact_text(v[0])) for v in vals if v[0] is not None) if not col.pii else ""
            problems.append(Problem(severity, src.label, table.name, col.name,
                                    f"{n:,} {what}" + (f" such as {shown}" if shown else ""), fix,
                                    rows=rows, count=n,
                                    row_label="lines" if src.kind == "csv" else "rows"))
    for col, raw_ref, _ in typed_cols:
        if col.dtype == "string" and col.name.endswith("_id") and not col.pii:
            _check_spreadsheet_damage(con, raw, raw_ref, col, src, problems)

    keys = ", ".join(_q(k) for k in table.key)
    dup = con.execute(
        f"SELECT count(*), sum(n) FROM (SELECT {keys}, count(*) AS n FROM {_q(table.name)} "
        f"GROUP BY ALL HAVING count(*) > 1)").fetchone()
    if dup[0]:
        examples = con.execute(
            f"SELECT {keys} FROM {_q(table.name)} GROUP BY ALL HAVING count(*) > 1 LIMIT 3").fetchall()
        shown = "; ".join(", ".join(str(v) for v in e) for e in examples)
        problems.append(Problem("error", src.label, table.name, ", ".join(table.key),
                                f"{dup[0]:,} duplicated key values ({int(dup[1]):,} rows), such as {shown}",
                                f"each row needs a unique {' + '.join(table.key)}; remove repeated rows "
                                "(an export downloaded twice and concatenated is the usual cause)",
                                count=int(dup[1])))


def _check_spreadsheet_damage(con: duckdb.DuckDBPyConnection, raw: str, raw_ref: str, col: schema.Column,
                              src: TableSource, problems: list[Problem]) -> None:
    """Ids that a spreadsheet program damaged (see :mod:`workbench.data.excel`): an error with the fix.

    A cheap count first; the values are read into Python only when some look suspicious.
    """
    from workbench.data.excel import detect_damaged_ids, suspect_sql

    text = _text(raw_ref)
    if not con.execute(f"SELECT count(*) FILTER (WHERE {suspect_sql(text)}) FROM {raw}").fetchone()[0]:
        return
    rows = con.execute(f"SELECT row_number() OVER () AS rn, {text} FROM {raw}").fetchall()
    found = detect_damaged_ids(v for _, v in rows)
    if found is None:
        return
    offset = 1 if src.kind == "csv" else 0
    problems.append(Problem("error", src.label, src.table, col.name, found.message, found.fix,
                            rows=[int(rows[i][0]) + offset for i in found.positions], count=found.count,
                            row_label="lines" if src.kind == "csv" else "rows"))


def _type_fix(col: schema.Column) -> str:
    return {
        "date": "write dates as YYYY-MM-DD (or YYYY/MM/DD)",
        "timestamp": "write times as YYYY-MM-DD HH:MM:SS, optionally with an offset such as +08:00",
        "int": "use whole numbers without thousands separators or units",
        "float": "use plain numbers: no currency signs (¥, $) or thousands separators",
        "bool": "use true/false or 1/0",
    }.get(col.dtype, "")


def _example_rows(con: duckdb.DuckDBPyConnection, raw: str, cond: str, src: TableSource) -> list[int]:
    """Row numbers (1-based data rows; a CSV's line number is one more for the header) that fail ``cond``."""
    rows = con.execute(
        f"SELECT rn FROM (SELECT *, row_number() OVER () AS rn FROM {raw}) WHERE {cond} ORDER BY rn "
        f"LIMIT {SAMPLE_ROWS}").fetchall()
    offset = 1 if src.kind == "csv" else 0
    return [int(r[0]) + offset for r in rows]


def _check_references(con: duckdb.DuckDBPyConnection, sources: dict[str, TableSource],
                      problems: list[Problem]) -> None:
    """Orphan checks for every reference whose both ends are loaded."""
    bad_tables = {p.table for p in problems if p.severity == "error" and p.message.startswith("required column")}
    for name, src in sources.items():
        if name in bad_tables or not src.rows:
            continue
        for col in schema.TABLES[name].columns:
            if not col.references or col.name not in src.columns:
                continue
            ref_table, ref_col = col.references.split(".")
            if ref_table not in sources or ref_table in bad_tables:
                continue
            n = con.execute(
                f"SELECT count(*) FROM {_q(name)} a WHERE a.{_q(col.name)} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {_q(ref_table)} b WHERE b.{_q(ref_col)} = a.{_q(col.name)})").fetchone()[0]
            if not n:
                continue
            examples = [r[0] for r in con.execute(
                f"SELECT DISTINCT a.{_q(col.name)} FROM {_q(name)} a WHERE a.{_q(col.name)} IS NOT NULL AND NOT "
                f"EXISTS (SELECT 1 FROM {_q(ref_table)} b WHERE b.{_q(ref_col)} = a.{_q(col.name)}) LIMIT 3"
            ).fetchall()]
            share = n / src.rows
            strict = (name, col.name) in STRICT_REFERENCES or share > ORPHAN_ERROR_SHARE
            problems.append(Problem(
                "error" if strict else "warning", src.label, name, col.name,
                f"{n:,} rows ({share:.1%}) point at a {ref_table[:-1] if ref_table.endswith('s') else ref_table} "
                f"that {sources[ref_table].label} does not hold, such as {', '.join(map(repr, examples))}",
                f"export {ref_table} for the same period as {name}, or remove those rows" if strict else
                "these rows are left out of analyses that join the two tables",
                count=n))


def _check_currencies(con: duckdb.DuckDBPyConnection, sources: dict[str, TableSource],
                      problems: list[Problem]) -> None:
    """Every non-CNY currency in orders and returns needs rates in fx_rates."""
    for name in ("orders", "returns"):
        src = sources.get(name)
        if src is None or "currency" not in src.columns or not src.rows:
            continue
        if any(p.severity == "error" and p.table == name and p.message.startswith("required") for p in problems):
            continue
        used = [r[0] for r in con.execute(
            f"SELECT DISTINCT upper(currency) FROM {_q(name)} WHERE currency IS NOT NULL").fetchall()]
        foreign = sorted(c for c in used if c != schema.REPORTING_CURRENCY)
        if not foreign:
            continue
        known: set[str] = set()
        if "fx_rates" in sources and sources["fx_rates"].rows:
            known = {r[0] for r in con.execute("SELECT DISTINCT upper(currency) FROM fx_rates").fetchall()}
        lacking = [c for c in foreign if c not in known]
        if lacking:
            problems.append(Problem(
                "error", src.label, name, "currency",
                f"amounts in {', '.join(lacking)} have no exchange rate to {schema.REPORTING_CURRENCY}",
                "add daily rates for these currencies to fx_rates (date, currency, rate_to_cny)"))
        covered = [c for c in foreign if c in known]
        time_col = schema.TABLES[name].time_column
        if not covered or not time_col or "fx_rates" in {p.table for p in problems if p.severity == "error"}:
            continue
        # the conversion takes the last rate on or before the day; days before the first rate have none,
        # and their amounts would drop out of every CNY figure without a word
        amount = "paid_amount" if name == "orders" else "refund_amount"
        value = f"t.{_q(amount)}" if amount in src.columns else "NULL"
        before = f"CAST(t.{_q(time_col)} AS DATE) < f.first_day"
        listed = ", ".join(_lit(c) for c in covered)
        rows = con.execute(f"""
            WITH first_rate AS (SELECT upper(currency) AS currency, min(date) AS first_day FROM fx_rates
                                WHERE rate_to_cny IS NOT NULL GROUP BY 1)
            SELECT upper(t.currency), count(*) FILTER (WHERE {before}), count(*),
                   sum({value}) FILTER (WHERE {before}), sum({value}),
                   min(CAST(t.{_q(time_col)} AS DATE)), min(f.first_day)
            FROM {_q(name)} t JOIN first_rate f ON upper(t.currency) = f.currency
            WHERE upper(t.currency) IN ({listed}) GROUP BY 1 ORDER BY 1""").fetchall()
        for cur, n_before, n_all, amount_before, amount_all, first_row, first_rate in rows:
            if not n_before:
                continue
            share = f", {amount_before / amount_all:.1%} of their {cur} amount" if amount_all else ""
            problems.append(Problem(
                "error", src.label, name, "currency",
                f"{n_before:,} of {n_all:,} rows in {cur}{share} are dated before the first {cur} rate in "
                f"fx_rates ({first_rate}); they would have no {schema.REPORTING_CURRENCY} value",
                f"add {cur} rates to fx_rates from {first_row} on (date, currency, rate_to_cny)",
                count=int(n_before)))


def _check_orders_without_lines(con: duckdb.DuckDBPyConnection, sources: dict[str, TableSource],
                                problems: list[Problem]) -> None:
    """Orders that no order line points at: a warning with their count and the revenue they leave out
    (run on the CNY view, after the checks)."""
    if not ("orders" in sources and "order_items" in sources and sources["orders"].rows
            and sources["order_items"].rows):
        return
    if any(p.severity == "error" and p.table in ("orders", "order_items") for p in problems):
        return
    lineless = "NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.order_id)"
    n, n_all, gmv_without, gmv_all = con.execute(f"""
        SELECT count(*) FILTER (WHERE {lineless}), count(*), sum(gmv_cny) FILTER (WHERE {lineless}), sum(gmv_cny)
        FROM orders_cny o WHERE is_valid""").fetchone()
    if not n:
        return
    examples = [r[0] for r in con.execute(
        f"SELECT order_id FROM orders_cny o WHERE is_valid AND {lineless} ORDER BY order_id LIMIT 3").fetchall()]
    gap = (f"; product and category revenue is {gmv_without / gmv_all:.1%} below order GMV "
           f"({gmv_without:,.2f} of {gmv_all:,.2f} {schema.REPORTING_CURRENCY})" if gmv_all else "")
    problems.append(Problem(
        "warning", sources["orders"].label, "orders", "order_id",
        f"{n:,} of {n_all:,} orders have no lines in {sources['order_items'].label}, such as "
        f"{', '.join(map(repr, examples))}{gap}",
        "export order_items for the same period as orders; until then product figures leave these orders out",
        count=int(n)))
