"""The import engine: one export file + a mapping -> the model's tables as Parquet.

Everything heavy runs in DuckDB (parsing, cleaning, hashing, grouping, merging), so a
million order lines take seconds and memory stays bounded by DuckDB's, not pandas'.

Stages, each a DuckDB table:

``raw``     the file as text, with its row number ``_rn``
``rows``    one cleaned text column per mapped field (several headers of a field coalesced)
``lines``   typed rows: order id, pseudonymised customer, time, status, channel, money, item
``orders``  one row per order (order amounts repeated on item rows are taken once)
``items`` / ``products`` / ``customers`` / ``returns`` / ``fx``  as the export carries them

Before the rows are built, columns whose values look like personal data are dropped
(:mod:`workbench.data.privacy`) and identifiers damaged by a spreadsheet are refused.

Then the new tables are merged with what ``out`` already holds (an order present in the new
export replaces the old one with its lines, returns and shipment unless the old version comes
from a more recent export) and written sorted by key with pyarrow, so the same input gives
byte-identical files. Everything is written into a new folder beside ``out`` that replaces it
at the end, under a lock: ``out`` holds one import or the next, never a mix.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from workbench.data import privacy, schema
from workbench.data.importers.mapping import (
    AMOUNT_FIELDS,
    CHANNEL_WORDS,
    ORDER_AMOUNTS,
    Mapping,
    norm_header,
    norm_value,
)
from workbench.data.importers.pseudonym import PseudonymKey, load_key
from workbench.data.loader import decode_to_utf8
from workbench.errors import DataError

REPORT_FILE = "import_report.json"
#: Per order, the time of the export its version came from (re-imports never replace a newer version).
VERSIONS_FILE = ".import/order_versions.parquet"
TABLES_WRITTEN = ("customers", "products", "orders", "order_items", "returns", "shipments", "fx_rates")
#: Fields whose values are written as text (checked for personal data before they are).
TEXT_FIELDS = ("order_id", "product_id", "product_name", "category", "coupon_code", "country", "region", "city",
               "carrier")
#: Prefix of the item report's columns in the joined view of a two-file export.
ITEM_PREFIX = "宝贝报表·"
UNCATEGORISED = "uncategorised"

#: SQL twin of mapping.norm_value (same character class).
_NORM_VALUE_RE = r"[\s,，。:：;；()（）\-_]+"

#: Date formats tried on a time column: a family reads every row or loses to the next.
_OFFSET_FORMATS = ["%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%z",
                   "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d %H:%M %z"]
_FORMAT_FAMILIES: dict[str, list[str]] = {
    "YYYY-MM-DD": ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f",
                   "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    "YYYY/MM/DD": ["%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d"],
    "MM/DD/YYYY": ["%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y"],
    "DD/MM/YYYY": ["%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y"],
    "YYYYMMDD": ["%Y%m%d", "%Y%m%d%H%M%S"],
    "YYYY年MM月DD日": ["%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日"],
}

STATUS_RANK = {"completed": 1, "shipped": 2, "paid": 3, "refunded": 4, "cancelled": 5}


@dataclass
class ImportReport:
    """What an import did: written to ``<out>/import_report.json`` and printed by the CLI."""

    source: str
    kind: str
    mapping: str
    out: str
    encoding: str | None = None
    source_sha256: str = ""
    rows_read: int = 0
    mapped: dict[str, str] = field(default_factory=dict)
    personal_data_dropped: list[str] = field(default_factory=list)
    not_used: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    dropped_rows: dict[str, int] = field(default_factory=dict)
    totals: dict = field(default_factory=dict)
    merge: dict = field(default_factory=dict)
    fx: dict[str, str] = field(default_factory=dict)
    pseudonyms: dict[str, str] = field(default_factory=dict)
    tables: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not any(w.startswith("UNUSABLE") for w in self.warnings)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, default=str)

    def text(self) -> str:
        """The report as lines a person reads."""
        lines = [f"Imported {self.source} ({self.kind}, mapping {self.mapping}) into {self.out}",
                 f"  read {self.rows_read:,} rows" + (f", encoding {self.encoding}" if self.encoding else "")
                 + f", in {self.seconds:.1f} s"]
        lines.append("  mapped: " + "; ".join(f"{h} -> {f}" for h, f in self.mapped.items()))
        if self.personal_data_dropped:
            lines.append("  personal data dropped (never written): " + ", ".join(self.personal_data_dropped))
        if self.pseudonyms:
            lines.append(f"  customer ids: {self.pseudonyms.get('method', '')}")
        if self.not_used:
            lines.append("  columns not used: " + ", ".join(self.not_used))
        for k, v in self.dropped_rows.items():
            lines.append(f"  dropped {v:,} rows: {k}")
        for a in self.assumptions:
            lines.append(f"  assumed: {a}")
        for c, s in self.fx.items():
            lines.append(f"  exchange rate {c}: {s}")
        if self.merge:
            lines.append(f"  merge: {self.merge.get('text', '')}")
        lines.append("  written: " + ", ".join(f"{t} {n:,}" for t, n in self.tables.items()))
        for w in self.warnings:
            lines.append(f"  {w}")
        return "\n".join(lines)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"threads": min(os.cpu_count() or 2, 4)})
    con.execute("SET TimeZone = 'Asia/Shanghai'")  # local dates as the loader computes them
    # blanks (with tabs and the full-width space) trimmed; Excel's ="..." wrapper of long numbers removed
    # (plain string functions where they do: a regular expression per cell costs seconds per million rows)
    con.execute("CREATE MACRO tidy(x) AS trim(replace(replace(replace(CAST(x AS VARCHAR), chr(9), ' '), "
                "chr(13), ' '), chr(12288), ' '))")
    con.execute(r"""CREATE MACRO unwrap(y) AS CASE WHEN starts_with(y, '=')
                        THEN trim(regexp_replace(y, '^=\s*"?(.*?)"?$', '\1'))
                        WHEN starts_with(y, chr(39)) AND regexp_full_match(y, chr(39) || '[0-9]+') THEN substr(y, 2)
                        ELSE y END""")
    con.execute("CREATE MACRO clean(x) AS NULLIF(unwrap(tidy(x)), '')")
    # amounts: without currency signs, units and thousands separators; a regular expression only as last resort
    con.execute(r"""CREATE MACRO plain_money(x) AS replace(replace(replace(replace(replace(replace(x, '￥', ''),
                        '¥', ''), ',', ''), '元', ''), '$', ''), ' ', '')""")
    con.execute(r"""CREATE MACRO money(x) AS CASE WHEN TRY_CAST(plain_money(x) AS DOUBLE) IS NOT NULL
                        THEN TRY_CAST(plain_money(x) AS DOUBLE)
                        ELSE TRY_CAST(NULLIF(regexp_replace(x, '[^0-9.\-]', '', 'g'), '') AS DOUBLE) END""")
    con.execute(f"CREATE MACRO normv(x) AS lower(regexp_replace(x, {_lit(_NORM_VALUE_RE)}, '', 'g'))")
    return con


# ---------------------------------------------------------------- reading

def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def read_source(con: duckdb.DuckDBPyConnection, path: Path, encoding: str, tmpdir: str,
                table: str = "raw") -> str | None:
    """Load the export into table ``table`` (text columns plus ``_rn``); return the encoding read."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        try:
            import pandas as pd

            frame = pd.read_excel(path, dtype=str, sheet_name=0)
        except ImportError:
            raise DataError(f"{path.name}: reading Excel needs the openpyxl package "
                            "(`pip install openpyxl`); or save the sheet as CSV and import that") from None
        except Exception as exc:  # noqa: BLE001 - any reader failure (damaged, encrypted workbook) is the same fix
            raise DataError(f"{path.name}: cannot be read as Excel ({exc}); save it as CSV and import that") from None
        con.register("excel_frame", frame)
        con.execute(f"CREATE TABLE {table} AS SELECT row_number() OVER () AS _rn, * FROM excel_frame")
        con.unregister("excel_frame")
        return None
    enc, read_path = decode_to_utf8(path, tmpdir, encoding,
                                    fix="set `encoding:` in a mapping to the file's encoding (gb18030 reads GBK "
                                        "exports) or save the file as UTF-8")
    try:
        # a view: only the mapped columns are ever materialised (in ``rows``)
        con.execute(f"""CREATE VIEW {table} AS SELECT row_number() OVER () AS _rn, *
                        FROM read_csv({_lit(str(read_path))}, all_varchar = true, header = true,
                                      null_padding = true, ignore_errors = false)""")
        con.execute(f"DESCRIBE {table}")
    except duckdb.Error as exc:
        raise DataError(f"{path.name}: cannot be read as CSV ({str(exc).splitlines()[0]}); check that it is a "
                        "complete export with one header row, saved as CSV") from None
    return enc


# ---------------------------------------------------------------- mapping the columns

def _resolve_columns(raw_cols: list[str], m: Mapping) -> tuple[dict[str, list[str]], dict[str, str], list[str]]:
    """Which raw columns feed which field: ({field: [raw columns]}, {raw column: field}, not used)."""
    by_norm: dict[str, str] = {}
    for c in raw_cols:
        by_norm.setdefault(norm_header(c), c)
    fields: dict[str, list[str]] = {}
    used: dict[str, str] = {}
    for header, fld in m.columns.items():
        raw = by_norm.get(norm_header(header))
        if raw is None or raw in used:
            continue
        used[raw] = fld
        fields.setdefault(fld, []).append(raw)
    not_used = [c for c in raw_cols if c not in used]
    return fields, used, not_used


def _missing(path: Path, m: Mapping, what: str, fields: tuple[str, ...], extra: str = "") -> DataError:
    looked = [h for f in fields for h in m.headers_for(f)]
    shown = ", ".join(f"'{h}'" for h in looked[:8]) or "no header (the mapping names none)"
    return DataError(
        f"{path.name}: no column gives the {what} ({' or '.join(fields)}); looked for {shown}{extra}. "
        f"Fix: rename that column of the export to one of these headers, or map your header to "
        f"'{fields[0]}' in a mapping file (`workbench import --suggest {path.name} > mapping.yaml`, edit it, then "
        f"`workbench import generic {path.name} --mapping mapping.yaml --out DIR`)")


def _choose_time_format(con: duckdb.DuckDBPyConnection, m: Mapping, path: Path) -> tuple[str, list[str], bool]:
    """Pick the date format family that reads the most values of ``rows.t_time`` (ties: listed order).

    Returns the family's name, its formats and whether times carry an offset (+08:00, -0500).
    """
    offs = "[" + ", ".join(_lit(f) for f in _OFFSET_FORMATS) + "]"
    n = con.execute("SELECT count(*) FROM rows").fetchone()[0]
    # a deterministic sample spread over the file (every k-th row) decides
    sample = (f"SELECT DISTINCT t_time AS v FROM rows WHERE t_time IS NOT NULL AND _rn % {max(1, n // 5_000)} = 0 "
              "ORDER BY v LIMIT 5000")
    with_offset = bool(con.execute(f"SELECT count(*) FROM ({sample}) WHERE try_strptime(v, {offs}) IS NOT NULL"
                                   ).fetchone()[0])
    if m.date_format != "auto":
        return m.date_format, [m.date_format], with_offset
    cols = [f"count(*) FILTER (WHERE try_strptime(v, {offs}) IS NOT NULL OR try_strptime(v, "
            f"[{', '.join(_lit(f) for f in fmts)}]) IS NOT NULL)" for fmts in _FORMAT_FAMILIES.values()]
    counts = con.execute(f"SELECT count(*), {', '.join(cols)} FROM ({sample})").fetchone()
    total, per = counts[0], counts[1:]
    if not total:
        return "YYYY-MM-DD", _FORMAT_FAMILIES["YYYY-MM-DD"], with_offset
    best = max(range(len(per)), key=lambda i: (per[i], -i))
    name = list(_FORMAT_FAMILIES)[best]
    if per[best] < total * 0.99:
        examples = [r[0] for r in con.execute(f"SELECT v FROM ({sample}) LIMIT 3").fetchall()]
        raise DataError(f"{path.name}: the order times cannot be read as dates (e.g. {', '.join(map(repr, examples))}); "
                        "set `date_format:` in a mapping, e.g. date_format: \"%d/%m/%Y %H:%M\"")
    return name, _FORMAT_FAMILIES[name], with_offset


# ---------------------------------------------------------------- the import

class ImportEnvironmentError(DataError):
    """Raised when the import cannot write its dataset (disk full, no permission): nothing was changed."""


def import_export(kind: str, source: str | os.PathLike, out: str | os.PathLike, mapping: Mapping,
                  key: PseudonymKey | None = None, items: str | os.PathLike | None = None) -> ImportReport:
    """Import one export ``source`` with ``mapping`` into the dataset folder ``out``.

    ``items`` is an optional second file with one row per item (Taobao's 宝贝报表), read with the
    mapping's ``items:`` headers and joined to the orders on the order number.

    Writes ``customers``, ``orders`` and, as far as the export carries them, ``order_items``,
    ``products``, ``returns``, ``shipments`` and ``fx_rates`` as Parquet, merged with what ``out``
    holds from earlier imports, and ``import_report.json``. An order already in ``out`` is replaced
    only by a version from an export at least as recent (the export's time is the latest time it
    records), so re-importing an older export never turns a refund back into a sale. All tables are
    written into a new folder that replaces ``out`` at the end: the dataset holds either the earlier
    import or this one, never a mix, and the report describes what is on disk.

    Returns the :class:`ImportReport`. Raises :class:`DataError` naming the file, the column, example
    rows and the fix when the export cannot be used, :class:`ImportEnvironmentError` when it cannot
    be written.
    """
    t0 = time.perf_counter()
    path = Path(source).expanduser()
    outdir = Path(out).expanduser()
    for f in (path, Path(items).expanduser() if items else None):
        if f is not None and not f.is_file():
            raise DataError(f"{f}: no such file; give the export file (CSV or Excel) to import")
    if items and not mapping.items:
        raise DataError(f"{Path(items).name}: the {mapping.name} mapping has no `items:` section, so a second file "
                        "of item rows cannot be read with it; give one file, or add `items:` to a mapping")
    key = key or (load_key() if mapping.customer_ids == "pseudonymise" else None)
    mask_key = key or load_key()
    rep = ImportReport(source=path.name + (f" + {Path(items).name}" if items else ""), kind=kind,
                       mapping=mapping.origin or mapping.name, out=str(outdir))
    with _import_lock(outdir):
        _recover(outdir, rep)
        _check_target(outdir, key, mapping)
        rep.source_sha256 = _file_sha256(path)
        con = _connect()
        with tempfile.TemporaryDirectory(prefix="workbench-import-") as tmpdir:
            if items:
                mapping = _join_items(con, path, Path(items).expanduser(), mapping, tmpdir, rep)
            else:
                rep.encoding = read_source(con, path, mapping.encoding, tmpdir)
            raw_cols = [r[0] for r in con.execute("DESCRIBE raw").fetchall() if r[0] != "_rn"]
            fields, used, not_used = _resolve_columns(raw_cols, mapping)
            _personal_columns(con, path, mapping, fields, used, not_used, rep)
            rep.mapped = {c: f for c, f in used.items() if f not in ("pii", "ignore", "address")}
            rep.personal_data_dropped += [c for c, f in used.items() if f in ("pii", "address")
                                          and not any(d.startswith(c + " (") for d in rep.personal_data_dropped)]
            if "customer_id" in fields and mapping.customer_ids == "pseudonymise":
                rep.personal_data_dropped += [f"{c} (replaced by a pseudonym)" for c in fields["customer_id"]]
            rep.not_used = [c for c, f in used.items() if f == "ignore"] + [c for c in not_used if c in raw_cols]
            _build_rows(con, fields, path)
            rep.rows_read = con.execute("SELECT count(*) FROM rows").fetchone()[0]
            if not rep.rows_read:
                raise DataError(f"{path.name}: the file has a header but no rows; export a period that holds orders")
            _check_excel_damage(con, path, fields)
            _build_lines(con, path, mapping, fields, key, rep)
            _build_tables(con, mapping, fields, rep)
            _merge_existing(con, outdir, rep)
            _build_customers(con, rep)
            _write_atomically(con, outdir, rep, mask_key, t0)
    return rep


@contextlib.contextmanager
def _import_lock(outdir: Path):
    """Hold an exclusive lock beside ``outdir`` for the import (released when the process ends, even killed)."""
    parent = outdir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(parent / f".{outdir.name}.import.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ImportEnvironmentError(f"{outdir}: cannot write beside it ({exc.strerror}); give --out a folder you "
                                     "may write to") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataError(f"{outdir}: another import into this folder is running; wait for it to finish") from None
        yield
    finally:
        os.close(fd)


def _previous(outdir: Path) -> list[Path]:
    return sorted(outdir.parent.glob(f".{outdir.name}.previous-*"))


def _recover(outdir: Path, rep: ImportReport) -> None:
    """Undo what an import killed half-way left: restore the dataset or remove its leftovers."""
    for stage in outdir.parent.glob(f".{outdir.name}.importing-*"):
        shutil.rmtree(stage, ignore_errors=True)
    prev = _previous(outdir)
    if prev and not outdir.exists():
        os.rename(prev[-1], outdir)
        rep.warnings.append(f"an earlier import into {outdir} was interrupted while replacing the dataset; the dataset "
                            "it replaced was restored first")
        prev = prev[:-1]
    for p in prev:
        shutil.rmtree(p, ignore_errors=True)


def _write_atomically(con: duckdb.DuckDBPyConnection, outdir: Path, rep: ImportReport, key: PseudonymKey,
                      t0: float) -> None:
    """Write every table and the report into a new folder beside ``outdir``, then put it in its place."""
    parent = outdir.parent
    stage = None
    try:
        stage = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.importing-", dir=parent))
        if outdir.is_dir():
            # files of the dataset this import does not rewrite (rates the user added, ...) are kept
            rewritten = {f"{t}.parquet" for t in TABLES_WRITTEN} | {REPORT_FILE}
            for f in outdir.iterdir():
                if f.is_file() and f.name not in rewritten:
                    shutil.copy2(f, stage / f.name)
        _write(con, stage, rep, key)
        (stage / VERSIONS_FILE).parent.mkdir(exist_ok=True)
        con.execute(f"COPY (SELECT * FROM all_versions ORDER BY order_id) TO {_lit(str(stage / VERSIONS_FILE))} "
                    "(FORMAT parquet, COMPRESSION zstd)")
        rep.seconds = round(time.perf_counter() - t0, 2)
        (stage / REPORT_FILE).write_text(rep.to_json() + "\n", encoding="utf-8")
        if outdir.exists():
            old = parent / f".{outdir.name}.previous-{os.getpid()}"
            os.rename(outdir, old)
            os.rename(stage, outdir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(stage, outdir)
        stage = None
    except OSError as exc:
        need = sum(f.stat().st_size for f in stage.rglob("*") if f.is_file()) if stage and stage.exists() else 0
        free = shutil.disk_usage(parent).free if parent.exists() else 0
        raise ImportEnvironmentError(
            f"{outdir}: the dataset could not be written ({exc.strerror or exc}); nothing was changed, the folder holds "
            f"what it held before. Free space: {free / 1e6:,.0f} MB; the import needs about "
            f"{max(need * 2, 1e6) / 1e6:,.0f} MB more (the new tables are written beside the old ones before they "
            "replace them). Free some space or choose another --out, and import again") from None
    finally:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)


def _join_items(con: duckdb.DuckDBPyConnection, path: Path, items: Path, m: Mapping, tmpdir: str,
                rep: ImportReport) -> Mapping:
    """View ``raw``: the order report joined with the item report (one row per item; orders without
    item rows keep one row). Returns the mapping extended with the item report's columns (which win)."""
    enc_o = read_source(con, path, m.encoding, tmpdir, table="raw_orders")
    enc_i = read_source(con, items, m.encoding, tmpdir, table="raw_items")
    rep.encoding = enc_o if enc_o == enc_i else f"{enc_o} (orders), {enc_i} (items)"
    o_cols = [r[0] for r in con.execute("DESCRIBE raw_orders").fetchall() if r[0] != "_rn"]
    i_cols = [r[0] for r in con.execute("DESCRIBE raw_items").fetchall() if r[0] != "_rn"]

    def find(cols: list[str], headers: list[str], what: Path) -> str:
        by_norm = {norm_header(c): c for c in cols}
        for h in headers:
            if norm_header(h) in by_norm:
                return by_norm[norm_header(h)]
        raise DataError(f"{what.name}: no order number column (looked for {', '.join(repr(h) for h in headers)}); "
                        "the item report is joined to the order report on it. Export both reports of the same "
                        "period from 已卖出的宝贝 > 批量导出 and give the order report first, the item report with --items")

    o_id = find(o_cols, m.headers_for("order_id"), path)
    i_id = find(i_cols, [h for h, f in m.items.items() if f == "order_id"], items)
    item_sel = [f'i.{_q(c)} AS {_q(ITEM_PREFIX + c)}' for c in i_cols if c != i_id]
    con.execute(f"""CREATE TABLE raw AS
        SELECT row_number() OVER (ORDER BY o._rn, i._rn) AS _rn, o.* EXCLUDE (_rn)
               {''.join(', ' + x for x in item_sel)}
        FROM raw_orders o LEFT JOIN raw_items i ON clean(o.{_q(o_id)}) = clean(i.{_q(i_id)})""")
    orphans = con.execute(f"""SELECT count(*), min(_rn) FROM raw_items i WHERE NOT EXISTS
        (SELECT 1 FROM raw_orders o WHERE clean(o.{_q(o_id)}) = clean(i.{_q(i_id)}))""").fetchone()
    if orphans[0]:
        rep.warnings.append(f"{items.name}: {orphans[0]:,} item rows belong to orders that are not in {path.name} "
                            f"(first at line {orphans[1] + 1}); they were left out. Export both reports for the same "
                            "period")
    rep.assumptions.append(f"items: one row per item from {items.name} (SKU, price, quantity), joined to the orders of "
                           f"{path.name} on the order number; orders without item rows keep the order report's title "
                           "and quantity")
    cols = {ITEM_PREFIX + h: f for h, f in m.items.items() if f != "order_id"}
    cols.update(m.columns)
    return dataclasses.replace(m, columns=cols)


def _personal_columns(con: duckdb.DuckDBPyConnection, path: Path, m: Mapping, fields: dict[str, list[str]],
                      used: dict[str, str], not_used: list[str], rep: ImportReport) -> None:
    """Find the columns whose values look like phone numbers, e-mails, ID numbers or street addresses.

    Such a column is never written whatever the mapping says: mapped to the buyer it is pseudonymised,
    to region or city it is reduced to province and city, to anything else it is dropped (with a warning);
    unmapped, it is named in the report as personal data not read.
    """
    con.execute("CREATE TABLE pii_sample AS SELECT * FROM raw USING SAMPLE reservoir(2000 ROWS) REPEATABLE (7)")
    for col in [c for c in used if used[c] not in ("pii", "address")] + list(not_used):
        vals = [r[0] for r in con.execute(f"SELECT DISTINCT clean({_q(col)}) AS v FROM pii_sample "
                                          "WHERE v IS NOT NULL LIMIT 500").fetchall()]
        kind = privacy.personal_kind_of_column(vals)
        if not kind:
            continue
        fld = used.get(col)
        if fld == "customer_id":
            if m.customer_ids == "keep":
                raise DataError(f"{path.name}, column '{col}': the buyer ids look like {kind.replace('_', ' ')}s "
                                "(personal data), but the mapping says `customer_ids: keep`. Fix: set "
                                "`customer_ids: pseudonymise` (the default) in the mapping")
            if kind == "phone" and any("*" in str(v) for v in vals):
                rep.warnings.append(f"column '{col}': the buyers are identified by masked phone numbers (138****5678); "
                                    "different buyers can share one, so repeat-purchase figures are too high")
            continue
        if fld in ("region", "city") and kind == "address":
            fields[fld].remove(col)
            if not fields[fld]:
                del fields[fld]
            fields.setdefault("address", []).append(col)
            used[col] = "address"
            continue
        if fld is not None and fld not in ("ignore",):
            fields[fld].remove(col)
            if not fields[fld]:
                del fields[fld]
            rep.warnings.append(f"column '{col}' (mapped to {fld}) holds {kind.replace('_', ' ')}s: personal data, "
                                "dropped instead of written")
        used[col] = "pii"
        if col in not_used:
            not_used.remove(col)
        rep.personal_data_dropped.append(f"{col} (values look like {kind.replace('_', ' ')}s; not read)")
    con.execute("DROP TABLE pii_sample")


def _check_excel_damage(con: duckdb.DuckDBPyConnection, path: Path, fields: dict[str, list[str]]) -> None:
    """Refuse an export whose order, buyer or product ids a spreadsheet damaged (scientific notation, cut to
    15 significant digits, a ``.0`` added, lost leading zeros): the one detector of
    :mod:`workbench.data.excel`, which the loader uses on native tables too. A cheap count over the
    column first; its values are read only when some look damaged."""
    from workbench.data.excel import detect_damaged_ids, suspect_sql

    for fld in ("order_id", "customer_id", "product_id"):
        if fld not in fields:
            continue
        col, t = fields[fld][0], _q("t_" + fld)
        if not con.execute(f"SELECT count(*) FILTER (WHERE {suspect_sql(t)}) FROM rows").fetchone()[0]:
            continue
        rows = con.execute(f"SELECT _rn, {t} FROM rows ORDER BY _rn").fetchall()
        found = detect_damaged_ids(v for _, v in rows)
        if found is None:
            continue
        lines = ", ".join(str(int(rows[i][0]) + 1) for i in found.positions[:3])
        raise DataError(f"{path.name}, column '{col}': {fld.replace('_', ' ')}s written as numbers by a spreadsheet, "
                        f"so different ids became one or no longer match: {found.message} (lines {lines}). "
                        f"Fix: {found.fix}")


def _check_target(outdir: Path, key: PseudonymKey | None, m: Mapping) -> None:
    if outdir.exists() and not outdir.is_dir():
        raise DataError(f"{outdir}: is a file; --out must be a folder (new or written by an earlier import)")
    if not (outdir / "orders.parquet").exists():
        return
    rep_file = outdir / REPORT_FILE
    if not rep_file.exists():
        raise DataError(f"{outdir}: already holds a dataset that `workbench import` did not write; import into a new "
                        "folder (an import merges only with folders it wrote itself)")
    try:
        before = json.loads(rep_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    fp_before = (before.get("pseudonyms") or {}).get("key_fingerprint")
    if key is not None and fp_before and fp_before != key.fingerprint:
        raise DataError(f"{outdir}: was imported with another pseudonym key (fingerprint {fp_before}, now "
                        f"{key.fingerprint}): the same buyers would get new ids and be counted twice. Use the key of "
                        "the earlier import (WORKBENCH_PSEUDONYM_KEY or its key file) or import into a new folder")


def _build_rows(con: duckdb.DuckDBPyConnection, fields: dict[str, list[str]], path: Path) -> None:
    """Table ``rows``: one cleaned text column ``t_<field>`` per mapped field; ``t_time`` = payment or creation."""
    sel = ["_rn"]
    for fld, cols in fields.items():
        if fld in ("pii", "ignore"):
            continue
        sel.append(f"COALESCE({', '.join(f'clean({_q(c)})' for c in cols)}) AS {_q('t_' + fld)}")
    time_cols = fields.get("ordered_at", []) + fields.get("created_at", [])
    if time_cols:
        sel.append(f"COALESCE({', '.join(f'clean({_q(c)})' for c in time_cols)}) AS t_time")
    try:
        con.execute(f"CREATE TABLE rows AS SELECT {', '.join(sel)} FROM raw")
    except duckdb.Error as exc:
        raise DataError(f"{path.name}: cannot be read as CSV ({str(exc).splitlines()[0]}); check that it is a complete "
                        "export with one header row, saved as CSV") from None


def _build_lines(con: duckdb.DuckDBPyConnection, path: Path, m: Mapping, fields: dict[str, list[str]],
                 key: PseudonymKey | None, rep: ImportReport) -> None:
    """Table ``lines``: typed rows with the order id, pseudonymised customer, time, status, channel."""
    has = set(fields)
    if "customer_id" not in has:
        raise _missing(path, m, "buyer", ("customer_id",))
    if "ordered_at" not in has and "created_at" not in has:
        raise _missing(path, m, "order time", ("ordered_at", "created_at"))
    money_fields = [f for f in AMOUNT_FIELDS if f in has]
    if not any(f in has for f in ("paid_amount", "goods_amount", "gross_amount", "line_amount", "unit_price",
                                  "list_price")):
        raise _missing(path, m, "amount paid", ("paid_amount", "line_amount", "unit_price"))
    derive_ids = "order_id" not in has
    if derive_ids and m.order_ids != "derive":
        raise _missing(path, m, "order number", ("order_id",))

    fmt_name, fmts, with_offset = _choose_time_format(con, m, path)
    offs = "[" + ", ".join(_lit(f) for f in _OFFSET_FORMATS) + "]"
    naive = "[" + ", ".join(_lit(f) for f in fmts) + "]"
    ts = f"timezone({_lit(m.timezone)}, try_strptime(t_time, {naive}))"
    if with_offset:
        ts = f"COALESCE(try_strptime(t_time, {offs}), {ts})"
    if "ordered_at" not in has:
        rep.assumptions.append("the export has no payment time: the creation time is used as the order time")
    rep.assumptions.append(f"times are read as {fmt_name}; times without an offset are in {m.timezone}")

    joins: list[str] = []
    if key is not None:
        # hash each distinct buyer once, then join (buyers are far fewer than rows)
        con.execute(f"CREATE TABLE cust_map AS SELECT cm_raw, {key.sql('cm_raw')} AS cm_id FROM "
                    "(SELECT DISTINCT t_customer_id AS cm_raw FROM rows WHERE t_customer_id IS NOT NULL)")
        joins.append("LEFT JOIN cust_map ON t_customer_id = cm_raw")
        cust = "cm_id"
        rep.pseudonyms = {
            "method": "replaced by a stable pseudonym c-<16 hex> = SHA-256(key:SHA-256(key:id)), id trimmed and "
                      "lower-cased; the same buyer gets the same pseudonym in every import made with this key",
            "key_origin": key.origin, "key_fingerprint": key.fingerprint}
    else:
        cust = "trim(t_customer_id)"
        rep.pseudonyms = {"method": "kept as in the export (customer_ids: keep)"}

    # status
    status_map = dict(m.values.get("status", {}))
    for s in schema.ORDER_STATUSES:
        status_map.setdefault(s, s)
    if "status" in has:
        con.execute("CREATE TABLE status_map (k VARCHAR, v VARCHAR)")
        con.executemany("INSERT INTO status_map VALUES (?, ?)", list(status_map.items()))
        unknown = con.execute("""SELECT t_status, count(*) FROM rows r WHERE t_status IS NOT NULL AND NOT EXISTS
                                 (SELECT 1 FROM status_map s WHERE s.k = normv(r.t_status))
                                 GROUP BY 1 ORDER BY 2 DESC LIMIT 5""").fetchall()
        if unknown:
            shown = ", ".join(f"'{v}' ({n:,} rows)" for v, n in unknown)
            col = fields["status"][0]
            raise DataError(f"{path.name}, column '{col}': status values the mapping does not know: {shown}. Fix: add "
                            f"them under `values: status:` in a mapping (each to one of "
                            f"{', '.join(schema.ORDER_STATUSES)}, or drop) and import with --mapping")
        con.execute("""CREATE TABLE status_raw AS SELECT s_raw, (SELECT v FROM status_map WHERE k = normv(s_raw)) AS s_v
                       FROM (SELECT DISTINCT t_status AS s_raw FROM rows WHERE t_status IS NOT NULL)""")
        joins.append("LEFT JOIN status_raw ON t_status = s_raw")
        status = "s_v"
    else:
        status = _lit(m.status or "completed")
        rep.assumptions.append(f"the export has no status column: every order counts as {m.status or 'completed'}")

    # channel
    if "channel" in has:
        cmap = {**{k: v for k, v in CHANNEL_WORDS.items()}, **{c: c for c in schema.CHANNELS},
                **m.values.get("channel", {})}
        con.execute("CREATE TABLE channel_map (k VARCHAR, v VARCHAR)")
        con.executemany("INSERT INTO channel_map VALUES (?, ?)", [(norm_value(k), v) for k, v in cmap.items()])
        unknown = con.execute("""SELECT t_channel, count(*) FROM rows r WHERE t_channel IS NOT NULL AND NOT EXISTS
                                 (SELECT 1 FROM channel_map s WHERE s.k = normv(r.t_channel))
                                 GROUP BY 1 ORDER BY 2 DESC LIMIT 5""").fetchall()
        if unknown and not m.channel:
            shown = ", ".join(f"'{v}'" for v, _ in unknown)
            raise DataError(f"{path.name}, column '{fields['channel'][0]}': channel values the mapping does not know: "
                            f"{shown}. Fix: add them under `values: channel:` (each to one of "
                            f"{', '.join(schema.CHANNELS)}) or set `channel:` as the default")
        con.execute("""CREATE TABLE channel_raw AS SELECT c_raw, (SELECT v FROM channel_map WHERE k = normv(c_raw)) AS c_v
                       FROM (SELECT DISTINCT t_channel AS c_raw FROM rows WHERE t_channel IS NOT NULL)""")
        joins.append("LEFT JOIN channel_raw ON t_channel = c_raw")
        channel = f"COALESCE(c_v, {_lit(m.channel or '')})"
    elif m.channel:
        channel = _lit(m.channel)
        rep.assumptions.append(f"every order is on channel {m.channel} (the mapping's default; the export names none)")
    else:
        raise DataError(f"{path.name}: the export names no sales channel and the mapping gives no default; add "
                        f"`channel: tmall` (or another of {', '.join(schema.CHANNELS)}) to the mapping")

    currency = (f"upper(COALESCE(t_currency, {_lit(m.currency)}))" if "currency" in has else _lit(m.currency.upper()))
    if "currency" not in has:
        rep.assumptions.append(f"amounts are in {m.currency.upper()} (the export has no currency column)")

    sel = ["_rn", f"{cust} AS customer_id", f"{ts} AS ordered_at", f"{status} AS status",
           f"{channel} AS channel", f"{currency} AS currency"]
    sel += [f"money({_q('t_' + f)}) AS {f}" for f in money_fields]
    if "quantity" in has:
        sel.append("TRY_CAST(round(money(t_quantity)) AS BIGINT) AS quantity")
    for f in ("product_id", "product_name", "category", "coupon_code", "country", "carrier"):
        if f in has:
            sel.append(f"t_{f} AS {f}")
    for f in ("shipped_at", "received_at", "updated_at"):
        if f in has:
            t = f"timezone({_lit(m.timezone)}, try_strptime(t_{f}, {naive}))"
            sel.append(f"{f'COALESCE(try_strptime(t_{f}, {offs}), {t})' if with_offset else t} AS {f}")
    region_join = _region_map(con, has, rep)
    if region_join:
        joins.append(region_join)
        sel += ["rg_region AS region", "rg_city AS city"]
    order_expr = "t_order_id AS order_id" if not derive_ids else "NULL::VARCHAR AS order_id"
    con.execute(f"CREATE TABLE lines0 AS SELECT {order_expr}, {', '.join(sel)} FROM rows {' '.join(joins)}")
    con.execute("DROP TABLE rows")
    if derive_ids:
        con.execute("""UPDATE lines0 SET order_id = 't-' || substr(sha256(customer_id || '|' ||
                       strftime(ordered_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S')), 1, 16)
                       WHERE customer_id IS NOT NULL AND ordered_at IS NOT NULL""")
        rep.assumptions.append("the export has no order number: the rows of one customer at one time form one order "
                               "(order id t-<hash of pseudonym and time>)")

    # order-level text fields are often filled on the first row of an order only: spread them
    fill = ["customer_id", "ordered_at", "status", "channel", "currency"] + \
           [f for f in ("coupon_code", "country", "carrier", "shipped_at", "received_at", "updated_at") if f in has] + \
           (["region", "city"] if region_join else [])
    spread = ", ".join(
        f"CASE WHEN order_id IS NULL THEN {f} ELSE COALESCE({f}, arg_min({f}, _rn) FILTER (WHERE {f} IS NOT NULL) "
        f"OVER (PARTITION BY order_id)) END AS {f}" for f in fill)
    others = [c for c in _columns(con, "lines0") if c not in fill]
    con.execute(f"CREATE TABLE lines AS SELECT {', '.join(others)}, {spread} FROM lines0")
    con.execute("DROP TABLE lines0")

    # rows that cannot be used
    n_before = con.execute("SELECT count(*) FROM lines").fetchone()[0]
    checks = [
        ("no buyer", "customer_id IS NULL"),
        ("no readable order time", "ordered_at IS NULL"),
        ("no order number", "order_id IS NULL"),
        ("status mapped to drop (e.g. not paid yet)", "status = 'drop'"),
    ]
    if "quantity" in has:
        why = ("quantity zero or negative (returns booked as negative sales; returns are not imported "
               "from a sales log)")
        checks.append((why, "quantity <= 0"))
    for f in ("line_amount", "unit_price", "paid_amount"):
        if f in has:
            checks.append((f"negative {f.replace('_', ' ')}", f"{f} < 0"))
    for why, cond in checks:
        n = con.execute(f"DELETE FROM lines WHERE {cond}").fetchone()[0]
        if n:
            rep.dropped_rows[why] = int(n)
    if not con.execute("SELECT count(*) FROM lines").fetchone()[0]:
        raise DataError(f"{path.name}: none of its {n_before:,} rows is a usable order ("
                        + "; ".join(f"{k}: {v:,}" for k, v in rep.dropped_rows.items())
                        + "); check the mapping of order number, buyer, time and status")
    bad_money = []
    for f in money_fields:
        n = con.execute(f"SELECT count(*) FROM lines WHERE {f} IS NULL").fetchone()[0]
        if n and f in ("paid_amount", "line_amount", "unit_price") and f not in ORDER_AMOUNTS:
            bad_money.append(f"{f}: {n:,} empty or unreadable values")
    if bad_money:
        rep.warnings.append("amounts left empty: " + "; ".join(bad_money))


def _region_map(con: duckdb.DuckDBPyConnection, has: set[str], rep: ImportReport) -> str | None:
    """Table ``region_map`` (key -> province, city) and the join that adds ``rg_region``/``rg_city`` to ``rows``.

    Chinese addresses and region/city columns are parsed against the list of provinces and cities
    (:func:`workbench.data.privacy.parse_region`) and kept only to the city. Region and city columns that
    name no Chinese province (a Shopify store's US states, say) are kept as they are, since no street
    or number can remain in them (columns that look like addresses were turned into ``address``).
    """
    if "region" in has or "city" in has:
        key = (f"COALESCE({'t_region' if 'region' in has else 'NULL'}, '') || '|' || "
               f"COALESCE({'t_city' if 'city' in has else 'NULL'}, '')")
        source = "region and city columns"
    elif "address" in has:
        key = "left(regexp_replace(t_address, '\\s+', '', 'g'), 40)"
        source = "postal address"
    else:
        return None
    keys = [r[0] for r in con.execute(f"SELECT DISTINCT {key} FROM rows WHERE {key} IS NOT NULL").fetchall()]
    out = []
    for k in keys:
        if source == "postal address":
            prov, city = privacy.parse_region(k)
        else:
            region, _, city_raw = k.partition("|")
            prov, city = privacy.parse_region(region + city_raw)
            if prov is None:
                prov, city = privacy.parse_region(city_raw)
            if prov is None:
                prov, city = (region or None), (city_raw or None)
        out.append((k, prov, city))
    con.execute("CREATE TABLE region_map (rg_key VARCHAR, rg_region VARCHAR, rg_city VARCHAR)")
    if out:
        con.executemany("INSERT INTO region_map VALUES (?, ?, ?)", out)
    unknown = sum(1 for _, p, _ in out if p is None)
    rep.assumptions.append(f"region and city: the province and city of the {source}, matched against the list of "
                           "China's provinces and prefecture-level cities (National Bureau of Statistics 2023); "
                           "nothing finer is kept" + (f"; {unknown:,} distinct values named no known province or city "
                                                      "and were left empty" if unknown else ""))
    return f"LEFT JOIN region_map ON {key} = rg_key"


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]


def _build_tables(con: duckdb.DuckDBPyConnection, m: Mapping, fields: dict[str, list[str]],
                  rep: ImportReport) -> None:
    """Tables ``new_orders``, ``new_items``, ``new_products``, ``new_returns``, ``new_fx`` from ``lines``."""
    has = set(_columns(con, "lines"))
    # how each order amount is spread over the rows of an order
    per_line: dict[str, bool] = {}
    multi = con.execute("SELECT count(*) FROM (SELECT order_id FROM lines GROUP BY 1 HAVING count(*) > 1)").fetchone()[0]
    for f in ORDER_AMOUNTS:
        if f not in has:
            continue
        if m.amounts != "auto":
            per_line[f] = m.amounts == "per_line"
        elif multi:
            n = con.execute(f"SELECT count(*) FROM (SELECT order_id FROM lines GROUP BY 1 "
                            f"HAVING count(DISTINCT {f}) > 1)").fetchone()[0]
            per_line[f] = n > 0
        else:
            per_line[f] = False
    if multi:
        shown = [f"{f} ({'summed over the item rows' if v else 'taken once per order'})" for f, v in per_line.items()]
        if shown:
            rep.assumptions.append("orders span several rows; order amounts: " + ", ".join(shown))

    qty = "COALESCE(quantity, 1)" if "quantity" in has else "1"
    if "quantity" not in has:
        rep.assumptions.append("the export has no quantity: each row is one unit")
    # unit price from the row itself, when the row says it
    unit_parts = []
    if "unit_price" in has:
        unit_parts.append("unit_price")
    if "line_amount" in has:
        unit_parts.append(f"line_amount / NULLIF({qty}, 0)")
    if "list_price" in has:
        unit_parts.append(f"list_price - COALESCE(line_discount, 0) / NULLIF({qty}, 0)"
                          if "line_discount" in has else "list_price")
    row_unit = f"COALESCE({', '.join(unit_parts)})" if unit_parts else "CAST(NULL AS DOUBLE)"
    con.execute(f"CREATE VIEW lines2 AS SELECT *, {qty} AS qty, {row_unit} AS row_unit FROM lines")

    def agg(f: str) -> str:
        if f not in has:
            return f"CAST(NULL AS DOUBLE) AS {f}"
        if per_line.get(f):
            return f"sum({f}) AS {f}"
        return f"arg_min({f}, _rn) FILTER (WHERE {f} IS NOT NULL) AS {f}"

    rank = " ".join(f"WHEN '{s}' THEN {r}" for s, r in STATUS_RANK.items())
    texts = [f"arg_min({f}, _rn) AS {f}" for f in ("customer_id", "ordered_at", "channel", "currency")]
    opt_text = [f for f in ("coupon_code", "country", "region", "city") if f in has]
    texts += [f"arg_min({f}, _rn) FILTER (WHERE {f} IS NOT NULL) AS {f}" for f in opt_text]
    texts += [f"arg_min({f}, _rn) FILTER (WHERE {f} IS NOT NULL) AS {f}"
              for f in ("carrier", "shipped_at", "received_at", "updated_at") if f in has]
    con.execute(f"""
        CREATE TABLE o1 AS SELECT order_id, {', '.join(texts)},
               COALESCE(arg_min(status, CASE status {rank} ELSE 9 END), {_lit(m.status or 'completed')}) AS status,
               {', '.join(agg(f) for f in ORDER_AMOUNTS)},
               sum(qty * row_unit) AS row_value,
               sum(qty * COALESCE({'list_price' if 'list_price' in has else 'NULL'}, row_unit)) AS row_list_value,
               sum(qty) AS units, count(*) AS n_lines
        FROM lines2 GROUP BY order_id""")
    derived = []
    if "paid_amount" not in has:
        derived.append("paid amount = " + ("goods value + shipping" if "goods_amount" in has else
                                           "sum of quantity x unit price of the rows (+ shipping)"))
    list_value = "row_list_value" if "list_price" in has else "NULL"
    if "discount_amount" in has:
        # a goods value next to a discount column is after that discount (Shopify's Subtotal)
        gross = "COALESCE(gross_amount, goods_amount + COALESCE(discount_amount, 0), net_goods + " \
                "COALESCE(discount_amount, 0))"
        discount = "COALESCE(discount_amount, 0)"
        if "gross_amount" not in has:
            derived.append("gross amount = " + ("goods value" if "goods_amount" in has else "paid - shipping")
                           + " + discount")
    else:
        gross = f"COALESCE(gross_amount, goods_amount, {list_value}, net_goods)"
        discount = f"greatest({gross} - net_goods, 0)"
        src = ("gross amount" if "gross_amount" in has else "goods value" if "goods_amount" in has else
               "list value of the items" if "list_price" in has else None)
        derived.append(f"discount = {src} - (paid - shipping), at least 0" if src else "discount = 0 (the export "
                       "shows none)")
        if "gross_amount" not in has:
            derived.append(f"gross amount = {src or 'paid - shipping'}")
    if "shipping_fee" not in has:
        derived.append("shipping not in the export (not written)")
    if derived:
        rep.assumptions.append("; ".join(derived))
    con.execute(f"""
        CREATE TABLE o4 AS
        WITH o2 AS (SELECT *, COALESCE(paid_amount, goods_amount + COALESCE(shipping_fee, 0),
                                       row_value + COALESCE(shipping_fee, 0)) AS paid FROM o1),
             o3 AS (SELECT *, greatest(paid - COALESCE(shipping_fee, 0), 0) AS net_goods FROM o2)
        SELECT *, greatest({gross}, 0) AS gross, {discount} AS discount FROM o3""")
    con.execute("DROP TABLE o1")
    lost = con.execute("SELECT count(*) FROM o4 WHERE paid IS NULL").fetchone()[0]
    if lost:
        rep.dropped_rows["orders without a readable amount"] = int(lost)
        con.execute("DELETE FROM o4 WHERE paid IS NULL")
    if not con.execute("SELECT count(*) FROM o4").fetchone()[0]:
        raise DataError(f"{rep.source}: no order has a readable amount; check the amount columns of the mapping")

    opt_cols = []
    if "shipping_fee" in has:
        opt_cols.append("CAST(greatest(COALESCE(shipping_fee, 0), 0) AS DOUBLE) AS shipping_fee")
    if "platform_fee" in has:
        opt_cols.append("CAST(greatest(COALESCE(platform_fee, 0), 0) AS DOUBLE) AS platform_fee")
    opt_cols += [f"CAST({f} AS VARCHAR) AS {f}" for f in opt_text]
    con.execute(f"""
        CREATE TABLE new_orders AS SELECT CAST(order_id AS VARCHAR) AS order_id, customer_id, channel, ordered_at,
               status, currency,
               CAST(round(gross, 4) AS DOUBLE) AS gross_amount,
               CAST(round(discount, 4) AS DOUBLE) AS discount_amount,
               CAST(round(greatest(paid, 0), 4) AS DOUBLE) AS paid_amount
               {''.join(', ' + c for c in opt_cols)}
        FROM o4""")

    _build_shipments(con, m, has, rep)
    # the export's own time: the latest time it records; every order of it carries that version
    times = [f"max({f})" for f in ("ordered_at", "shipped_at", "received_at", "updated_at") if f in has]
    export_time = con.execute(f"SELECT greatest({', '.join(times)}) FROM o4").fetchone()[0]
    con.execute("CREATE TABLE new_versions AS SELECT order_id, CAST(? AS TIMESTAMPTZ) AS version_at FROM new_orders",
                [export_time])
    rep.totals["export_time"] = str(export_time)

    # lines -> order_items (only when the export names the items)
    if "product_id" in has or "product_name" in has:
        pid = "product_id" if "product_id" in has else "NULL"
        pname = "product_name" if "product_name" in has else "NULL"
        key_expr = f"COALESCE({pid}, 'n-' || substr(md5({pname}), 1, 12))"
        if "product_id" not in has:
            rep.assumptions.append("the export has no SKU: a product is identified by its title (product id "
                                   "n-<hash of the title>)")
        con.execute(f"""
            CREATE TABLE new_items AS
            SELECT l.order_id,
                   CAST(row_number() OVER (PARTITION BY l.order_id ORDER BY l._rn) AS BIGINT) AS line_no,
                   {key_expr} AS product_id,
                   CAST(l.qty AS BIGINT) AS quantity,
                   CAST(round(greatest(COALESCE(l.row_unit, o.net_goods / NULLIF(o.units, 0)), 0), 4) AS DOUBLE)
                       AS unit_price,
                   {'CAST(l.list_price AS DOUBLE) AS list_price,' if 'list_price' in has else ''}
                   {pname} AS product_name, {'category' if 'category' in has else 'NULL'} AS category,
                   l.ordered_at, l.currency
            FROM lines2 l JOIN o4 o USING (order_id)
            WHERE {key_expr} IS NOT NULL""")
        if "unit_price" not in has and "line_amount" not in has and "list_price" not in has:
            rep.assumptions.append("the export has no item prices: unit price = (paid - shipping) of the order / units "
                                   "(exact for orders of one item)")
        n_noitem = con.execute("SELECT count(*) FROM new_orders o WHERE NOT EXISTS "
                               "(SELECT 1 FROM new_items i WHERE i.order_id = o.order_id)").fetchone()[0]
        if n_noitem:
            rep.warnings.append(f"{n_noitem:,} orders have no item (no SKU or title); they have no order_items rows")
    # returns from refunded amounts
    if "refund_amount" in has:
        con.execute("""
            CREATE TABLE new_returns AS SELECT 'r-' || order_id AS return_id, order_id, CAST(NULL AS VARCHAR)
                   AS product_id, ordered_at AS requested_at, 'other' AS reason,
                   CAST(round(refund_amount, 4) AS DOUBLE) AS refund_amount, currency
            FROM o4 WHERE refund_amount > 0""")
        if con.execute("SELECT count(*) FROM new_returns").fetchone()[0]:
            rep.assumptions.append("refunded amounts become returns (one per order, reason 'other'); the export gives "
                                   "no refund date, so requested_at is the order time")
    _build_fx(con, m, rep)



def _build_shipments(con: duckdb.DuckDBPyConnection, m: Mapping, has: set[str], rep: ImportReport) -> None:
    """Table ``new_shipments`` from the carrier and the shipping and receipt times of the orders."""
    if "carrier" not in has and "received_at" not in has:
        return
    if "carrier" not in has or "shipped_at" not in has:
        rep.assumptions.append("shipments not written: the export gives " + (
            "no carrier" if "carrier" not in has else "no shipping time (发货时间)") + "; 06_logistics needs both")
        return
    if m.promise_days is None:
        rep.assumptions.append("shipments not written: the mapping states no delivery promise; add `promise_days: N` "
                               "(days after shipping) to a mapping and import again")
        return
    con.execute(f"""
        CREATE TABLE new_shipments AS
        SELECT order_id, carrier, {_lit(m.warehouse)} AS warehouse, shipped_at,
               shipped_at + to_seconds({float(m.promise_days) * 86400}) AS promised_at,
               {'CASE WHEN received_at >= shipped_at THEN received_at END' if 'received_at' in has else 'NULL'}
                   AS delivered_at,
               CASE WHEN {'received_at >= shipped_at' if 'received_at' in has else 'false'} THEN 'delivered'
                    ELSE 'in_transit' END AS status
        FROM o4 WHERE carrier IS NOT NULL AND shipped_at IS NOT NULL""")
    n = con.execute("SELECT count(*) FROM new_shipments").fetchone()[0]
    if n:
        rep.assumptions.append(
            f"shipments ({n:,}): carrier and shipping time from the export; promised delivery = shipping time + "
            f"{m.promise_days:g} days (the mapping's promise_days); delivered = the buyer's confirmation of receipt "
            "(确认收货时间), which can come days after the parcel arrived (platforms confirm automatically after "
            f"some days), so lateness is overstated rather than hidden; warehouse '{m.warehouse}'; parcels without a "
            "confirmation count as in transit")


def _build_fx(con: duckdb.DuckDBPyConnection, m: Mapping, rep: ImportReport) -> None:
    """Table ``new_fx``: rates for the foreign currencies of the new orders (mapping, then reference rates)."""
    foreign = [r[0] for r in con.execute(
        f"SELECT DISTINCT currency FROM new_orders WHERE currency <> '{schema.REPORTING_CURRENCY}' ORDER BY 1"
    ).fetchall()]
    con.execute("CREATE TABLE new_fx (date DATE, currency VARCHAR, rate_to_cny DOUBLE)")
    if not foreign:
        return
    first = con.execute("SELECT min(CAST(ordered_at AS DATE)) FROM new_orders").fetchone()[0]
    for cur in foreign:
        if cur in m.fx_rates:
            con.execute("INSERT INTO new_fx VALUES (?, ?, ?)", [first, cur, m.fx_rates[cur]])
            rep.fx[cur] = f"{m.fx_rates[cur]:g} CNY per {cur} from the mapping (fx_rates), for every day"
        else:
            # no invented rates: the user supplies them, and the loader names the currency until then
            rep.fx[cur] = (f"no rate known: add `fx_rates: {{{cur}: <CNY per {cur}>}}` to a mapping "
                           "(--mapping) or daily rates to fx_rates.parquet in the dataset")


def _existing(outdir: Path, table: str) -> Path | None:
    p = outdir / f"{table}.parquet"
    return p if p.exists() else None


def _merge_existing(con: duckdb.DuckDBPyConnection, outdir: Path, rep: ImportReport) -> None:
    """Merge the new tables with the dataset's: an order of this export replaces the same order id
    unless the dataset's version comes from a more recent export (then the dataset's is kept)."""
    if "new_items" in _tables(con):
        con.execute("CREATE VIEW new_items_w AS SELECT order_id, line_no, product_id, quantity, unit_price"
                    + (", list_price" if "list_price" in _columns(con, "new_items") else "") + " FROM new_items")
    children = [("new_items_w", "order_items", "all_items"), ("new_returns", "returns", "all_returns"),
                ("new_shipments", "shipments", "all_shipments")]
    old_orders = _existing(outdir, "orders")
    stale = 0
    if old_orders is not None:
        con.execute(f"CREATE TABLE old_orders AS SELECT * FROM read_parquet({_lit(str(old_orders))})")
        versions = outdir / VERSIONS_FILE
        if versions.exists():
            con.execute(f"CREATE TABLE old_versions AS SELECT * FROM read_parquet({_lit(str(versions))})")
        else:  # a dataset imported before versions were kept: its orders count as oldest
            con.execute("CREATE TABLE old_versions (order_id VARCHAR, version_at TIMESTAMPTZ)")
        # orders whose version in the dataset is newer than this export's: keep the dataset's
        con.execute("""CREATE TABLE stale AS SELECT n.order_id FROM new_versions n JOIN old_versions o USING (order_id)
                       WHERE o.version_at > n.version_at""")
        stale = con.execute("SELECT count(*) FROM stale").fetchone()[0]
        if stale:
            for t in ("new_orders", "new_versions") + tuple(c[0] for c in children if c[0] != "new_items_w"):
                if t in _tables(con):
                    con.execute(f"DELETE FROM {t} WHERE order_id IN (SELECT order_id FROM stale)")
            if "new_items" in _tables(con):
                con.execute("DELETE FROM new_items WHERE order_id IN (SELECT order_id FROM stale)")
    new_n = con.execute("SELECT count(*) FROM new_orders").fetchone()[0]
    if old_orders is None:
        con.execute("CREATE TABLE all_orders AS SELECT * FROM new_orders")
        con.execute("CREATE TABLE all_versions AS SELECT * FROM new_versions")
        before = replaced = 0
    else:
        replaced = con.execute("SELECT count(*) FROM old_orders WHERE order_id IN (SELECT order_id FROM new_orders)"
                               ).fetchone()[0]
        before = con.execute("SELECT count(*) FROM old_orders").fetchone()[0]
        con.execute("""CREATE TABLE all_orders AS SELECT * FROM new_orders UNION ALL BY NAME
                       SELECT * FROM old_orders WHERE order_id NOT IN (SELECT order_id FROM new_orders)""")
        con.execute("""CREATE TABLE all_versions AS SELECT * FROM new_versions UNION ALL BY NAME
                       SELECT * FROM old_versions WHERE order_id NOT IN (SELECT order_id FROM new_orders)
                       AND order_id IN (SELECT order_id FROM old_orders)""")
    tables = _tables(con)
    for new_t, name, all_t in children:
        parts = [f"SELECT * FROM {new_t}"] if new_t in tables else []
        old = _existing(outdir, name)
        if old is not None:
            parts.append(f"SELECT * FROM read_parquet({_lit(str(old))}) "
                         "WHERE order_id NOT IN (SELECT order_id FROM new_orders)")
        if parts:
            con.execute(f"CREATE TABLE {all_t} AS " + " UNION ALL BY NAME ".join(parts))
    old_fx = _existing(outdir, "fx_rates")
    if old_fx is not None:
        # rates already in the dataset win over reference rates for the same currency
        con.execute(f"CREATE TABLE old_fx AS SELECT * FROM read_parquet({_lit(str(old_fx))})")
        con.execute("""CREATE TABLE all_fx AS SELECT * FROM old_fx UNION ALL
                       SELECT * FROM new_fx n WHERE NOT EXISTS
                       (SELECT 1 FROM old_fx f WHERE f.currency = n.currency AND f.date = n.date)""")
    else:
        con.execute("CREATE TABLE all_fx AS SELECT * FROM new_fx")
    added = new_n - replaced
    if old_orders is None:
        text = f"new dataset: {new_n:,} orders"
    else:
        text = (f"the dataset held {before:,} orders; {replaced:,} of them are in this export and were replaced by its "
                f"version, {added:,} orders are new (now {before + added:,})")
    if stale:
        text += (f"; {stale:,} orders of this export were kept in the dataset's version, which comes from a more "
                 f"recent export (this export's latest time is {rep.totals.get('export_time')})")
    rep.merge = {"text": text, "orders_before": int(before), "replaced": int(replaced), "added": int(added),
                 "kept_newer": int(stale)}
    _products(con, _existing(outdir, "products"))


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() UNION ALL "
                                      "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0])


def _products(con: duckdb.DuckDBPyConnection, old: Path | None) -> None:
    """Table ``all_products``: products of the new lines (list price in CNY), merged over the old ones."""
    if not _has_table(con, "new_items"):
        if old is not None:
            con.execute(f"CREATE TABLE all_products AS SELECT * FROM read_parquet({_lit(str(old))})")
        return
    list_col = "COALESCE(i.list_price, i.unit_price)" if "list_price" in _columns(con, "new_items") else "i.unit_price"
    con.execute(f"""
        CREATE TABLE new_products AS
        SELECT i.product_id,
               COALESCE(arg_max(i.category, i.ordered_at) FILTER (WHERE i.category IS NOT NULL), '{UNCATEGORISED}')
                   AS category,
               arg_max(i.product_name, i.ordered_at) FILTER (WHERE i.product_name IS NOT NULL) AS name,
               CAST(round(max({list_col} * CASE WHEN i.currency = '{schema.REPORTING_CURRENCY}' THEN 1.0
                                              ELSE fx.rate_to_cny END), 2) AS DOUBLE) AS list_price_cny
        FROM new_items i ASOF LEFT JOIN all_fx fx
             ON i.currency = fx.currency AND CAST(i.ordered_at AS DATE) >= fx.date
        GROUP BY i.product_id""")
    if old is None:
        con.execute("CREATE TABLE all_products AS SELECT * FROM new_products")
    else:
        con.execute(f"""CREATE TABLE all_products AS SELECT * FROM new_products UNION ALL BY NAME
                        SELECT * FROM read_parquet({_lit(str(old))})
                        WHERE product_id NOT IN (SELECT product_id FROM new_products)""")


def _build_customers(con: duckdb.DuckDBPyConnection, rep: ImportReport) -> None:
    """Table ``all_customers`` from every order of the dataset: first purchase date and channel."""
    con.execute("""
        CREATE TABLE all_customers AS
        SELECT customer_id, min(CAST(ordered_at AS DATE)) AS signup_date,
               arg_min(channel, ordered_at) AS acquisition_channel
        FROM all_orders GROUP BY customer_id""")
    rep.assumptions.append("customers: signup date = date of the first order in the data, acquisition channel = its "
                           "channel (exports carry no registration date)")
    if _has_table(con, "new_items") and con.execute(
            f"SELECT count(*) FROM all_products WHERE category = '{UNCATEGORISED}'").fetchone()[0]:
        rep.assumptions.append(f"products without a category in the export get category '{UNCATEGORISED}'")


_ORDER_KEYS = {"customers": "customer_id", "products": "product_id", "orders": "order_id",
               "order_items": "order_id, line_no", "returns": "return_id", "shipments": "order_id",
               "fx_rates": "date, currency"}
_SOURCE_TABLES = {"customers": "all_customers", "products": "all_products", "orders": "all_orders",
                  "order_items": "all_items", "returns": "all_returns", "shipments": "all_shipments",
                  "fx_rates": "all_fx"}
_SQL_TYPES = {"string": "VARCHAR", "category": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "bool": "BOOLEAN",
              "date": "DATE", "timestamp": "TIMESTAMPTZ"}


def _masked(c: schema.Column, key: PseudonymKey) -> str:
    if c.dtype != "string":
        return _q(c.name)
    prefix = "c-" if c.name == "customer_id" else privacy.VALUE_PREFIX
    return privacy.mask_sql(_q(c.name), key, prefix=prefix)


def _write(con: duckdb.DuckDBPyConnection, outdir: Path, rep: ImportReport, key: PseudonymKey) -> None:
    """Write every table sorted by its key, columns in model order and types (byte-stable output).

    Text values that look like a phone number, e-mail or ID-card number are written as their keyed
    pseudonym whatever column they are in (the last guard: no such value reaches a file).
    """
    outdir.mkdir(parents=True, exist_ok=True)
    for name in TABLES_WRITTEN:
        src = _SOURCE_TABLES[name]
        if not _has_table(con, src):
            continue
        n = con.execute(f"SELECT count(*) FROM {src}").fetchone()[0]
        if name == "fx_rates" and not n:
            continue
        present = set(_columns(con, src))
        cols = [f"CAST({_masked(c, key)} AS {_SQL_TYPES[c.dtype]}) AS {_q(c.name)}"
                for c in schema.TABLES[name].columns if c.name in present and not c.pii]
        table = con.sql(f"SELECT {', '.join(cols)} FROM {src} ORDER BY {_ORDER_KEYS[name]}").to_arrow_table()
        target = outdir / f"{name}.parquet"
        tmp = outdir / f".{name}.parquet.tmp"
        pq.write_table(table, tmp, compression="zstd", row_group_size=1 << 20)
        os.replace(tmp, target)
        rep.tables[name] = int(n)
    totals = con.execute("""SELECT currency, count(*), sum(paid_amount) FROM new_orders GROUP BY 1 ORDER BY 1"""
                         ).fetchall()
    rep.totals = {"orders_in_export": int(sum(r[1] for r in totals)),
                  "paid_amount_in_export": {r[0]: round(float(r[2]), 2) for r in totals}}
    if _has_table(con, "new_items"):
        rep.totals["lines_in_export"] = int(con.execute("SELECT count(*) FROM new_items").fetchone()[0])
        rep.totals["units_in_export"] = int(con.execute("SELECT sum(quantity) FROM new_items").fetchone()[0] or 0)
    unknown = [c for c, s in rep.fx.items() if s == "no rate known"]
    if unknown:
        rep.warnings.append(
            f"UNUSABLE until rates are added: amounts in {', '.join(unknown)} have no exchange rate to CNY. Add daily "
            f"rates to {outdir / 'fx_rates.parquet'} (date, currency, rate_to_cny) or `fx_rates: {{{unknown[0]}: RATE}}` "
            "to a mapping and import again")
