"""Bring your own data: turn a platform's export into the model's tables (Parquet).

    workbench import taobao  订单报表.csv --items 宝贝报表.csv --out data/myshop   # Taobao/Tmall, GBK or UTF-8
    workbench import pinduoduo orders_export.csv --out data/myshop
    workbench import douyin 抖店订单.csv --out data/myshop
    workbench import generic 京东订单.csv --mapping jd --out data/myshop          # an example mapping to check
    workbench import shopify orders_export.csv --out data/myshop
    workbench import transactions sales_log.csv --out data/myshop
    workbench import --suggest my_erp_export.xlsx > my_erp.yaml  # propose a mapping, then edit it
    workbench import generic my_erp_export.xlsx --mapping my_erp.yaml --out data/myshop

Each kind is a packaged mapping (``workbench/mappings/<kind>.yaml``) read by one engine
(:mod:`workbench.data.importers.engine`); ``generic`` takes the user's mapping, and ``--mapping``
with a packaged kind overrides only the keys it gives. Personal data (names, phones, postal
addresses, e-mails, notes) is never written; buyer identifiers become keyed pseudonyms
(:mod:`workbench.data.importers.pseudonym`). The import report (printed and written as
``<out>/import_report.json``) says what was mapped, dropped and assumed.

Public API: :func:`import_file`, :func:`suggest_mapping`, :func:`resolve_mapping`, :func:`main`.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
from pathlib import Path

import duckdb

from workbench.data import schema
from workbench.data.importers.engine import (
    REPORT_FILE,
    ImportEnvironmentError,
    ImportReport,
    import_export,
    read_source,
)
from workbench.data.importers.mapping import (
    CHANNEL_WORDS,
    FIELDS,
    KINDS,
    Mapping,
    alias_table,
    norm_header,
    norm_value,
    packaged,
    read_mapping,
    status_table,
)
from workbench.data.importers.pseudonym import PseudonymKey, load_key
from workbench.errors import DataError

__all__ = [
    "KINDS",
    "REPORT_FILE",
    "ImportEnvironmentError",
    "ImportReport",
    "Mapping",
    "PseudonymKey",
    "import_file",
    "load_key",
    "main",
    "resolve_mapping",
    "suggest_mapping",
]


def resolve_mapping(kind: str, mapping: str | Path | None = None) -> Mapping:
    """The mapping an import of ``kind`` uses: the packaged one, with the user's file on top if given."""
    kind = (kind or "").lower()
    if kind == "generic":
        if not mapping:
            raise DataError("the generic importer needs a mapping file: make one with "
                            "`workbench import --suggest YOUR_EXPORT > mapping.yaml`, check it, then "
                            "`workbench import generic YOUR_EXPORT --mapping mapping.yaml --out DIR`")
        return read_mapping(mapping)
    base = packaged(kind)
    return base.overlay(read_mapping(mapping)) if mapping else base


def import_file(kind: str, source: str | Path, out: str | Path, mapping: str | Path | Mapping | None = None,
                key: PseudonymKey | None = None, items: str | Path | None = None) -> ImportReport:
    """Import the export ``source`` of ``kind`` (taobao, pinduoduo, douyin, shopify, transactions, generic)
    into folder ``out``.

    ``mapping`` is a mapping YAML path (required for generic; an override for the others; ``jd`` names
    the shipped example) or a :class:`Mapping`. ``items`` is the item report of a two-file export
    (Taobao's 宝贝报表). Returns the :class:`ImportReport`; raises :class:`DataError` for unusable input
    and :class:`ImportEnvironmentError` when the dataset cannot be written.
    """
    m = mapping if isinstance(mapping, Mapping) else resolve_mapping(kind, mapping)
    return import_export(kind, source, out, m, key=key, items=items)


# ---------------------------------------------------------------- --suggest

_PII_WORDS = ("手机", "电话", "姓名", "地址", "身份证", "邮箱", "收件人", "收货人", "phone", "mobile", "email",
              "e-mail", "address", "street", "zip", "postcode", "name")
_CURRENCY_SIGNS = (("US$", "USD"), ("$", "USD"), ("€", "EUR"), ("£", "GBP"), ("HK$", "HKD"), ("￥", "CNY"),
                   ("¥", "CNY"), ("元", "CNY"), ("RMB", "CNY"))


def _yaml_key(text: str) -> str:
    return json.dumps(str(text), ensure_ascii=False)


def suggest_mapping(source: str | Path) -> str:
    """Propose a mapping YAML for an export from its headers (Chinese and English) and sample values.

    Headers are matched against the packaged mappings and ``mappings/aliases.yaml``; headers that
    look like personal data are marked ``pii`` even when not recognised otherwise. Status values
    found in the file get a proposed value map. Returns the YAML text (with comments to check).
    """
    from workbench.data.importers.engine import _connect

    path = Path(source).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: no such file; give the export whose headers a mapping should be proposed for")
    con: duckdb.DuckDBPyConnection = _connect()
    tmpdir = tempfile.mkdtemp(prefix="workbench-suggest-")
    try:
        return _suggest(con, path, read_source(con, path, "auto", tmpdir))
    finally:
        con.close()
        shutil.rmtree(tmpdir, ignore_errors=True)


def _suggest(con: duckdb.DuckDBPyConnection, path: Path, encoding: str | None) -> str:
    headers = [r[0] for r in con.execute("DESCRIBE raw").fetchall() if r[0] != "_rn"]
    aliases = alias_table()
    proposed: dict[str, str] = {}
    unknown: list[str] = []
    for h in headers:
        n = norm_header(h)
        fld = aliases.get(n)
        if fld is None and any(w in n for w in _PII_WORDS):
            fld = "pii"
        if fld is None:
            unknown.append(h)
        else:
            proposed[h] = fld

    votes = {kind: sum(1 for h in headers if norm_header(h) in {norm_header(k) for k in packaged(kind).columns})
             for kind in KINDS}
    best_kind = max(votes, key=votes.get)
    channel = packaged(best_kind).channel or "tmall"
    lines = [f"# Mapping proposed by `workbench import --suggest` for {path.name}"
             + (f" (encoding {encoding})" if encoding else ""), "# Check every line marked 'check', then import with:",
             f"#   workbench import generic {path.name} --mapping THIS_FILE.yaml --out DIR"]
    if votes[best_kind] >= 4:
        lines.append(f"# The headers look like a {best_kind} export: `workbench import {best_kind} {path.name} "
                     "--out DIR` reads it without a mapping.")
    lines += [f"name: {re.sub(r'[^0-9A-Za-z_]+', '_', path.stem).strip('_') or 'my_export'}",
              "encoding: auto", f"timezone: {schema.DEFAULT_TIMEZONE}   # check: the time zone of the file's times"]

    def first_values(header: str, n: int = 200) -> list[str]:
        return [r[0] for r in con.execute(
            f'SELECT DISTINCT clean("{header.replace(chr(34), chr(34) * 2)}") AS v FROM raw WHERE v IS NOT NULL '
            f"LIMIT {n}").fetchall()]

    currency = schema.REPORTING_CURRENCY
    for h, f in proposed.items():
        if f in ("paid_amount", "line_amount", "unit_price", "goods_amount"):
            vals = " ".join(first_values(h, 50))
            for sign, code in _CURRENCY_SIGNS:
                if sign in vals:
                    currency = code
                    break
    lines.append(f"currency: {currency}   # check: currency of the amounts when no column says it")
    if "channel" not in proposed.values():
        lines.append(f"channel: {channel}   # check: sales channel of every order (one of {', '.join(schema.CHANNELS)})")
    if "order_id" not in proposed.values():
        lines.append("order_ids: derive   # no order number found: rows of one customer at one time form one order")
    lines.append("customer_ids: pseudonymise   # buyer ids are replaced by stable pseudonyms")
    lines.append("columns:")
    for h, f in proposed.items():
        lines.append(f"  {_yaml_key(h)}: {f}   # {FIELDS[f]}")
    for h in unknown:
        lines.append(f"  {_yaml_key(h)}: ignore   # check: not recognised; map it to a field or leave it ignored")
    missing = [f for f in ("order_id", "customer_id", "ordered_at", "paid_amount") if f not in proposed.values()]
    if "ordered_at" in missing and "created_at" in proposed.values():
        missing.remove("ordered_at")
    if "paid_amount" in missing and any(f in proposed.values() for f in ("line_amount", "unit_price", "goods_amount")):
        missing.remove("paid_amount")
    if "order_id" in missing:
        missing.remove("order_id")
    for f in missing:
        lines.append(f"  # check: no header found for {f} ({FIELDS[f]}); add `YOUR HEADER: {f}`")

    value_lines: list[str] = []
    status_cols = [h for h, f in proposed.items() if f == "status"]
    if status_cols:
        known = status_table()
        value_lines.append("  status:")
        for v in first_values(status_cols[0], 50):
            target = known.get(norm_value(v))
            note = "" if target else "   # check: unknown status; use paid, shipped, completed, cancelled, refunded or drop"
            value_lines.append(f"    {_yaml_key(v)}: {target or 'completed'}{note}")
    channel_cols = [h for h, f in proposed.items() if f == "channel"]
    if channel_cols:
        value_lines.append("  channel:")
        for v in first_values(channel_cols[0], 50):
            target = CHANNEL_WORDS.get(norm_value(v)) or (norm_value(v) if norm_value(v) in schema.CHANNELS else None)
            note = "" if target else f"   # check: one of {', '.join(schema.CHANNELS)}"
            value_lines.append(f"    {_yaml_key(v)}: {target or channel}{note}")
    if value_lines:
        lines += ["values:"] + value_lines
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the command

#: Exit codes of ``workbench import``.
EXIT_OK, EXIT_NEEDS_MORE, EXIT_DATA, EXIT_ENVIRONMENT = 0, 1, 2, 3


def main(args: argparse.Namespace) -> int:
    """``workbench import``: exit 0 when the dataset written loads cleanly, 1 when it needs more (rates),
    2 when the export cannot be used (the message says why and how to fix it; nothing was written), 3 when
    the dataset cannot be written (disk full, permissions; nothing was changed)."""
    try:
        return _main(args)
    except ImportEnvironmentError as exc:
        import sys

        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ENVIRONMENT


def _main(args: argparse.Namespace) -> int:
    if getattr(args, "suggest", None):
        print(suggest_mapping(args.suggest), end="")
        return 0
    kinds = ", ".join(KINDS + ("generic",))
    if not args.kind or not args.source:
        raise DataError(f"say what to import: `workbench import KIND EXPORT_FILE --out DIR` with KIND one of {kinds}; "
                        "or `workbench import --suggest EXPORT_FILE` to propose a mapping")
    if args.kind.lower() not in KINDS + ("generic",):
        raise DataError(f"unknown import kind {args.kind!r}; use one of {kinds}")
    if not args.out:
        raise DataError("say where to write the dataset: --out DIR (a new folder, or one an earlier import wrote)")
    report = import_file(args.kind, args.source, args.out, getattr(args, "mapping", None),
                         items=getattr(args, "items", None))
    print(report.text())
    from workbench.data.loader import load

    ds = load(args.out, strict=False)
    if ds.errors:
        print(f"the dataset in {args.out} does not load yet:")
        for p in ds.errors:
            print(f"  {p}")
        return 1
    print(f"report written to {Path(args.out) / REPORT_FILE}; `workbench validate {args.out}` and "
          f"`workbench run --data {args.out}` are next")
    return 0
