"""Marts: the cleaned, typed, CNY-converted facts of a dataset, materialised once per version.

Every query of every notebook reads the tables through the loader's views. Over raw CSV or
Parquet those views re-parse and re-check every row in every query, and the currency conversion
re-joins the rates each time: at 10 million orders that is seconds per query, in every kernel of a
batch and every dashboard. A mart holds the result once, as Parquet, for one version of the data:

``<table>/part-*.parquet``   each table of the dataset, typed and cleaned as the loader reads it
``fx_daily.parquet``         one rate per currency and calendar day (the last published rate on or
                             before the day), so conversion is an equi-join instead of an as-of join
``orders_cny/``, ``items_cny/``  the derived CNY facts of :mod:`workbench.data.views`
``cube_orders/``             daily cube of valid orders: day × channel × region × customer type
                             (``new`` on the buyer's first day of buying), with orders, GMV, gross,
                             discounts and refunded orders (:func:`cube_orders_sql`)
``cube_items/``              daily cube of valid order lines: day × channel × category, with orders,
                             lines, units and line GMV (:func:`cube_items_sql`)
``mart.json``                the data fingerprint, per-table parts and per-day checksums

Where: ``$WORKBENCH_MART_DIR``, else ``$XDG_CACHE_HOME/workbench/marts`` (``~/.cache/…``), in a
folder per data path and a sub-folder per fingerprint (:func:`workbench.data.loader.fingerprint`:
names, sizes and modification times, so a rewritten file is a new version). Never inside the data
folder, so building a mart does not change the data's fingerprint.

A build runs under a lock: the first kernel of a batch builds, the others wait and then read.
When a new version only appended days to the previous one (every day up to the old last day has
the same rows, checked by a per-day count and hash), the old parts are linked and only the new
days are written: a nightly append costs a small fraction of the first build (the cubes too:
a day's cells depend only on that day's orders, the buyers' first days and, for categories, the
products table, which must be unchanged). The two newest versions are kept.

All SQL here that the topics read is written in the one portable dialect (see
:mod:`workbench.sql.dialect`; ``tests/sql/test_portable.py`` transpiles it to Spark SQL).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.data import schema

if TYPE_CHECKING:
    from workbench.data.loader import Dataset

KEEP_VERSIONS = 2
VERSION = 4  # of the mart layout (2: the daily cubes; 3: raw-row checksums; 4: orders_cny and items_cny sorted
#               by order_date); a new layout never reads an old mart


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def home() -> Path:
    """The folder that holds every dataset's marts."""
    from workbench.data.cache import cache_folder

    return cache_folder("marts", "WORKBENCH_MART_DIR")


def folder_for(source: Path) -> Path:
    """The marts folder of the dataset at ``source`` (one per resolved path)."""
    key = hashlib.sha256(str(Path(source).resolve()).encode()).hexdigest()[:12]
    return home() / f"{Path(source).name or 'data'}-{key}"


def day_expr(table: str) -> str | None:
    """SQL giving a row's calendar day in ``table`` (alias ``t``), or None when rows have no day."""
    if table == "order_items":
        return "o.__day"
    col = schema.TABLES[table].time_column if table in schema.TABLES else None
    return f"CAST(t.{_q(col)} AS DATE)" if col else None


def _source_with_day(table: str) -> str:
    """A SELECT of ``table`` with its day as ``__day`` (order lines take their order's day)."""
    if table == "order_items":
        return ("SELECT t.*, o.__day FROM order_items t JOIN "
                "(SELECT order_id, CAST(ordered_at AS DATE) AS __day FROM orders) o USING (order_id)")
    return f"SELECT t.*, {day_expr(table)} AS __day FROM {_q(table)} t"


def _hashed_rows(ds: "Dataset", table: str) -> str | None:
    """A SELECT of ``table``'s rows as (``__day``, ``__h``): the typed day and a hash of the typed row
    before personal data is tokenised or masked (the loader's ``TableSource.plain`` expressions).

    Typing without the keyed tokens costs a fraction of reading the view (the customers' three
    tokenised columns are most of their view's cost); how the view masks is compared separately
    (:func:`_masking_hash`). None when the table has no typed expressions or no day in its file.
    """
    src = ds.sources.get(table)
    if src is None or not src.plain:
        return None
    raw = _q("raw_" + table)
    packed = ", ".join(f"{_q(c)} := {e}" for c, e in src.plain.items())
    if table == "order_items":
        oid = src.exprs.get("order_id")
        if oid is None:
            return None
        return (f"SELECT o.__day, r.__h FROM (SELECT {oid} AS __oid, hash(struct_pack({packed})) AS __h FROM {raw}) r "
                "JOIN (SELECT order_id, CAST(ordered_at AS DATE) AS __day FROM orders) o ON o.order_id = r.__oid")
    col = schema.TABLES[table].time_column if table in schema.TABLES else None
    if not col or col not in src.exprs:
        return None
    return f"SELECT CAST({src.exprs[col]} AS DATE) AS __day, hash(struct_pack({packed})) AS __h FROM {raw}"


def _checksums(ds: "Dataset", table: str) -> dict[str, list[int]]:
    """Per day: [rows, sum of the rows' hashes] of ``table`` (a sum, not an XOR, so that a duplicated
    row changes it). Rows are hashed as :func:`_hashed_rows` types them, else as the view reads them."""
    con = ds.con
    select = _hashed_rows(ds, table)
    if select is None:
        cols = ", ".join(_q(c) for c in _columns(con, table))
        select = f"SELECT __day, hash(struct_pack({cols})) AS __h FROM ({_source_with_day(table)})"
    rows = con.execute(f"SELECT CAST(__day AS VARCHAR), count(*), sum(__h) FROM ({select}) GROUP BY 1").fetchall()
    return {str(d): [int(n), int(h)] for d, n, h in rows}


def _masking_hash(ds: "Dataset", table: str) -> str:
    """A hash of which columns of ``table`` are read from the file and how the view tokenises or masks
    personal data in them (key included): the checksums hold only under the same masking."""
    src = ds.sources.get(table)
    masked = {c: e for c, e in (src.exprs if src else {}).items() if src and src.plain.get(c) != e}
    text = json.dumps({"columns": sorted(src.plain) if src else [], "masked": masked}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _columns(con: Any, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {_q(table)}").fetchall()]


def _copy(con: Any, select: str, path: Path, order_by: str | None = None) -> None:
    """Write ``select`` to the Parquet file ``path``; ``order_by``: the rows sorted by that column, so
    that each row group holds a short span of it and a query for a period reads only its row groups
    (Parquet keeps each group's minimum and maximum; unsorted, every group spans the whole history)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if order_by:
        select = f"SELECT * FROM ({select}) ORDER BY {order_by}"
    con.execute(f"COPY ({select}) TO {_lit(str(path))} (FORMAT parquet, COMPRESSION zstd)")


def fx_daily_sql(fx: str = "fx_rates", orders: str = "orders") -> str:
    """One rate per currency and day from the first published rate to the last order day.

    The as-of lookup runs once here, over currencies × days (a few thousand rows), not in every
    query: each day takes the rate of the last day on or before it with a published rate (the
    highest of that day's rates should one currency and day hold several). Portable SQL (no ASOF
    join, no ``range()`` table): a running maximum of the published day over a dense calendar,
    then an equi-join.
    """
    return f"""
        WITH bounds AS (SELECT min(f.date) AS lo,
                               greatest(max(f.date), (SELECT max(CAST(ordered_at AS DATE)) FROM {orders})) AS hi
                        FROM {fx} f),
             cur AS (SELECT DISTINCT upper(currency) AS currency FROM {fx}),
             offsets AS (SELECT unnest(generate_series(0, date_diff('day', lo, hi))) AS k FROM bounds),
             days AS (SELECT cur.currency, bounds.lo + CAST(offsets.k AS INTEGER) AS date
                      FROM cur, bounds, offsets),
             pub AS (SELECT upper(currency) AS currency, date, max(rate_to_cny) AS rate_to_cny
                     FROM {fx} GROUP BY 1, 2),
             latest AS (SELECT days.currency, days.date,
                               max(pub.date) OVER (PARTITION BY days.currency ORDER BY days.date
                                                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS published
                        FROM days LEFT JOIN pub ON pub.currency = days.currency AND pub.date = days.date)
        SELECT latest.currency, latest.date, pub.rate_to_cny
        FROM latest LEFT JOIN pub ON pub.currency = latest.currency AND pub.date = latest.published
    """


def orders_cny_sql(orders: str, fx_daily: str | None) -> str:
    """The ``orders_cny`` facts from ``orders`` with an equi-join on the dense daily rates."""
    rate = ("CASE WHEN upper(o.currency) = 'CNY' THEN 1.0 ELSE fx.rate_to_cny END" if fx_daily
            else "CASE WHEN upper(o.currency) = 'CNY' THEN 1.0 END")
    join = (f"LEFT JOIN {fx_daily} fx ON upper(o.currency) = fx.currency AND CAST(o.ordered_at AS DATE) = fx.date"
            if fx_daily else "")
    return f"""
        SELECT o.*,
               CAST(o.ordered_at AS DATE) AS order_date,
               {rate} AS fx_rate,
               o.paid_amount * {rate} AS gmv_cny,
               o.gross_amount * {rate} AS gross_cny,
               o.discount_amount * {rate} AS discount_cny,
               COALESCE(o.platform_fee, 0) * {rate} AS platform_fee_cny,
               o.status <> 'cancelled' AS is_valid
        FROM {orders} o {join}
    """


def items_cny_sql(items: str, orders_cny: str) -> str:
    """The ``items_cny`` facts: order lines with their order's date, channel, customer and CNY values."""
    return f"""
        SELECT i.*, o.order_date, o.channel, o.customer_id, o.is_valid, o.fx_rate,
               i.quantity * i.unit_price * o.fx_rate AS line_gmv_cny,
               i.unit_price * o.fx_rate AS unit_price_cny
        FROM {items} i JOIN {orders_cny} o USING (order_id)
    """


#: the daily cubes a mart holds (and the in-memory path creates), in build order
CUBES = ("cube_orders", "cube_items")


def cube_orders_sql(orders_cny: str, has_region: bool, after: str | None = None) -> str:
    """The ``cube_orders`` cells from ``orders_cny`` (optionally only days after ISO day ``after``).

    One row per ``order_date``, ``channel``, ``region`` (``unknown`` when missing or absent) and
    ``customer_type`` (``new`` on the buyer's first day of buying over all the data, ``returning``
    after, NULL without a buyer): ``orders``, ``gmv_cny``, ``gross_cny``, ``discount_cny``,
    ``refunded_orders``. Valid orders only. Sums over cells equal sums over the orders.
    """
    region = "COALESCE(CAST(o.region AS VARCHAR), 'unknown')" if has_region else "'unknown'"
    since = f" AND o.order_date > DATE {_lit(after)}" if after else ""
    return f"""
        WITH firsts AS (SELECT customer_id, min(order_date) AS first_date FROM {orders_cny}
                        WHERE is_valid GROUP BY 1)
        SELECT o.order_date, o.channel, {region} AS region,
               CASE WHEN fi.first_date IS NULL THEN NULL WHEN o.order_date = fi.first_date THEN 'new'
                    ELSE 'returning' END AS customer_type,
               count(*) AS orders, sum(o.gmv_cny) AS gmv_cny, sum(o.gross_cny) AS gross_cny,
               sum(o.discount_cny) AS discount_cny,
               sum(CASE WHEN o.status = 'refunded' THEN 1 ELSE 0 END) AS refunded_orders
        FROM {orders_cny} o LEFT JOIN firsts fi ON fi.customer_id = o.customer_id
        WHERE o.is_valid{since}
        GROUP BY 1, 2, 3, 4
    """


def cube_items_sql(items_cny: str, products: str | None, after: str | None = None) -> str:
    """The ``cube_items`` cells from ``items_cny`` (optionally only days after ISO day ``after``).

    One row per ``order_date``, ``channel`` and ``category`` (the product's, ``unknown`` when
    missing or without a products table): ``orders`` (distinct orders with such a line: additive
    over days and channels, since an order has one of each), ``lines``, ``units``, ``gmv_cny``
    (quantity × unit price, CNY). Valid lines only.
    """
    category = "COALESCE(p.category, 'unknown')" if products else "'unknown'"
    join = f"LEFT JOIN {products} p ON p.product_id = i.product_id" if products else ""
    since = f" AND i.order_date > DATE {_lit(after)}" if after else ""
    return f"""
        SELECT i.order_date, i.channel, {category} AS category, count(DISTINCT i.order_id) AS orders,
               count(*) AS lines, sum(i.quantity) AS units, sum(i.line_gmv_cny) AS gmv_cny
        FROM {items_cny} i {join}
        WHERE i.is_valid{since}
        GROUP BY 1, 2, 3
    """


def cube_statements(has_region: bool = True, products: str | None = "products") -> list[str]:
    """Every statement that builds the cubes (full and incremental), for the portable-SQL test."""
    return [cube_orders_sql("orders_cny", has_region), cube_orders_sql("orders_cny", has_region, "2025-01-01"),
            cube_items_sql("items_cny", products), cube_items_sql("items_cny", products, "2025-01-01")]


def _has_columns(con: Any, table: str, *columns: str) -> bool:
    try:
        have = set(_columns(con, table))
    except Exception:  # noqa: BLE001 - a missing table has no columns
        return False
    return set(columns) <= have


def _table_hash(con: Any, table: str) -> list[int]:
    """[rows, hash of the rows] of a whole table (a table without days, such as products)."""
    cols = ", ".join(_q(c) for c in _columns(con, table))
    n, h = con.execute(f"SELECT count(*), bit_xor(hash(struct_pack({cols}))) FROM {_q(table)}").fetchone()
    return [int(n), int(h or 0)]


class _Lock:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(path, "a+")  # noqa: SIM115

    def __enter__(self) -> _Lock:
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: Any) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def _manifest(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads((path / "mart.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) and value.get("version") == VERSION else None


def ensure(ds: "Dataset") -> tuple[Path, dict[str, Any]]:
    """The mart of ``ds``'s current version, built (or extended) first when missing.

    Returns the mart folder and its manifest, whose ``build`` says ``reused``, ``incremental`` or
    ``full`` and how long it took (``seconds``).
    """
    base = folder_for(ds.source)
    fp = ds.fingerprint()
    target = base / fp
    with _Lock(base / ".lock"):
        found = _manifest(target)
        if found is not None:
            return target, {**found, "build": {"kind": "reused", "seconds": 0.0}}
        previous = _latest(base, exclude=fp)
        t0 = time.monotonic()
        tmp = base / f".tmp-{fp}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            manifest = _build(ds, tmp, previous)
            manifest["build"]["seconds"] = round(time.monotonic() - t0, 2)
            (tmp / "mart.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
            if target.exists():  # a mart of an older layout, or a damaged one, for the same data: set aside
                stale = base / f".stale-{fp}-{os.getpid()}"
                shutil.rmtree(stale, ignore_errors=True)
                os.replace(target, stale)
                shutil.rmtree(stale, ignore_errors=True)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _prune(base, keep=fp)
    return target, manifest


def _latest(base: Path, exclude: str) -> tuple[Path, dict[str, Any]] | None:
    found = []
    for child in base.iterdir() if base.is_dir() else []:
        if child.name.startswith(".") or child.name == exclude or not child.is_dir():
            continue
        m = _manifest(child)
        if m is not None:
            found.append((m.get("built", 0), child, m))
    if not found:
        return None
    _, path, m = max(found, key=lambda x: x[0])
    return path, m


def _prune(base: Path, keep: str) -> None:
    versions = sorted((p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: (_manifest(p) or {}).get("built", 0), reverse=True)
    for old in versions[KEEP_VERSIONS:]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def _link_parts(old_dir: Path, parts: list[str], new_dir: Path) -> None:
    for name in parts:
        dst = new_dir / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(old_dir / name, dst)
        except OSError:
            shutil.copyfile(old_dir / name, dst)


def _build(ds: "Dataset", out: Path, previous: tuple[Path, dict[str, Any]] | None) -> dict[str, Any]:
    con = ds.con
    tables = [t for t in schema.TABLES if t in ds.sources]
    old_dir, old = previous if previous else (None, None)
    manifest: dict[str, Any] = {"version": VERSION, "fingerprint": ds.fingerprint(), "source": str(ds.source),
                                "built": time.time(), "tables": {}, "build": {"kind": "full", "appended": {}}}
    appended: dict[str, str | None] = {}  # table → old last day, for tables extended in place
    for t in tables:
        entry: dict[str, Any] = {"parts": []}
        sums = _checksums(ds, t) if day_expr(t) else None
        if sums is not None:
            entry["checksums"] = sums
            entry["view"] = _masking_hash(ds, t)
        cols = ", ".join(_q(c) for c in _columns(con, t))
        reuse = None
        if old and old_dir and sums is not None and t in old["tables"] and old["tables"][t].get("checksums") \
                and old["tables"][t].get("view") == entry["view"]:
            before = old["tables"][t]["checksums"]
            last = max(before) if before else None
            if last and all(sums.get(d) == v for d, v in before.items()) \
                    and all(d > last for d in sums if d not in before):
                reuse = (before, last)
        if reuse:
            _, last = reuse
            entry["parts"] = list(old["tables"][t]["parts"])
            _link_parts(old_dir, entry["parts"], out)
            if any(d > last for d in sums):
                part = f"{t}/part-{len(entry['parts'])}.parquet"
                _copy(con, f"SELECT {cols} FROM ({_source_with_day(t)}) WHERE __day > DATE {_lit(last)}", out / part)
                entry["parts"].append(part)
            appended[t] = last
        else:
            part = f"{t}/part-0.parquet"
            _copy(con, f"SELECT * FROM {_q(t)}", out / part)
            entry["parts"] = [part]
        manifest["tables"][t] = entry
    manifest["build"]["appended"] = appended
    if appended and len(appended) == len([t for t in tables if day_expr(t)]):
        manifest["build"]["kind"] = "incremental"
    _attach(con, out, manifest, derived=False)
    _build_derived(con, out, manifest, old_dir, old, appended)
    return manifest


def _build_derived(con: Any, out: Path, manifest: dict[str, Any], old_dir: Path | None, old: dict | None,
                   appended: dict[str, str | None]) -> None:
    """``fx_daily``, ``orders_cny`` and ``items_cny``; appended orders only extend the old parts."""
    if "orders" not in manifest["tables"]:
        return
    has_fx = "fx_rates" in manifest["tables"]
    if has_fx:
        _copy(con, fx_daily_sql(), out / "fx_daily.parquet")
        con.execute(f"CREATE OR REPLACE TEMP VIEW __fx_daily AS SELECT * FROM read_parquet({_lit(str(out / 'fx_daily.parquet'))})")
    fx = "__fx_daily" if has_fx else None
    extend = (old is not None and old_dir is not None and "orders" in appended
              and (not has_fx or "fx_rates" in appended) and old.get("derived")
              and ("order_items" not in manifest["tables"] or "order_items" in appended))
    derived: dict[str, list[str]] = {}
    if extend:
        last = appended["orders"]
        for name in ("orders_cny", "items_cny"):
            derived[name] = list(old["derived"].get(name, []))
            _link_parts(old_dir, derived[name], out)
        new_orders = f"(SELECT * FROM orders WHERE CAST(ordered_at AS DATE) > DATE {_lit(last)})"
        part = f"orders_cny/part-{len(derived['orders_cny'])}.parquet"
        _copy(con, orders_cny_sql(new_orders, fx), out / part, order_by="order_date")
        derived["orders_cny"].append(part)
        if "order_items" in manifest["tables"]:
            new_cny = f"read_parquet({_lit(str(out / part))})"
            ipart = f"items_cny/part-{len(derived['items_cny'])}.parquet"
            _copy(con, items_cny_sql("order_items", new_cny), out / ipart, order_by="order_date")
            derived["items_cny"].append(ipart)
    else:
        _copy(con, orders_cny_sql("orders", fx), out / "orders_cny/part-0.parquet", order_by="order_date")
        derived["orders_cny"] = ["orders_cny/part-0.parquet"]
        if "order_items" in manifest["tables"]:
            cny = f"read_parquet({_lit(str(out / 'orders_cny/part-0.parquet'))})"
            _copy(con, items_cny_sql("order_items", cny), out / "items_cny/part-0.parquet", order_by="order_date")
            derived["items_cny"] = ["items_cny/part-0.parquet"]
    _build_cubes(con, out, manifest, derived, old_dir, old, appended if extend else {})
    manifest["derived"] = derived


def _build_cubes(con: Any, out: Path, manifest: dict[str, Any], derived: dict[str, list[str]],
                 old_dir: Path | None, old: dict | None, appended: dict[str, str | None]) -> None:
    """``cube_orders`` and ``cube_items`` from the mart's CNY facts; after appended days only the new
    days' cells are written (category cells also need the products table unchanged)."""
    def reader(name: str) -> str:
        return _reader(out, derived[name])

    has_region = _has_columns(con, "orders", "region")
    products = "products" if _has_columns(con, "products", "product_id", "category") else None
    inputs = {"region": has_region, "products": _table_hash(con, "products") if products else None}
    manifest["cube_inputs"] = inputs
    before = (old or {}).get("cube_inputs") or {}
    last = appended.get("orders")
    specs = [("cube_orders", lambda after: cube_orders_sql(reader("orders_cny"), has_region, after),
              before.get("region") == has_region)]
    if derived.get("items_cny"):
        specs.append(("cube_items", lambda after: cube_items_sql(reader("items_cny"), products, after),
                      before.get("products") == inputs["products"]))
    for name, sql, same_inputs in specs:
        parts = list((old or {}).get("derived", {}).get(name, []))
        if last and old_dir is not None and same_inputs and parts:
            _link_parts(old_dir, parts, out)
            part = f"{name}/part-{len(parts)}.parquet"
            _copy(con, sql(last), out / part)
            derived[name] = [*parts, part]
        else:
            _copy(con, sql(None), out / f"{name}/part-0.parquet")
            derived[name] = [f"{name}/part-0.parquet"]


def _reader(out: Path, parts: list[str]) -> str:
    files = ", ".join(_lit(str(out / p)) for p in parts)
    return f"read_parquet([{files}], union_by_name = true)"


def _attach(con: Any, out: Path, manifest: dict[str, Any], derived: bool = True) -> None:
    """Point the dataset's views at the mart's Parquet files."""
    for t, entry in manifest["tables"].items():
        con.execute(f"CREATE OR REPLACE VIEW {_q(t)} AS SELECT * FROM {_reader(out, entry['parts'])}")
    if derived:
        for name, parts in (manifest.get("derived") or {}).items():
            if parts:
                con.execute(f"CREATE OR REPLACE VIEW {_q(name)} AS SELECT * FROM {_reader(out, parts)}")


def attach(ds: "Dataset") -> dict[str, Any]:
    """Build or reuse the mart of ``ds`` and make its tables and CNY facts what every query reads.

    Returns the mart's manifest (see :func:`ensure`); ``ds.mart`` is set to it.
    """
    path, manifest = ensure(ds)
    _attach(ds.con, path, manifest)
    ds.mart = {"path": str(path), **{k: v for k, v in manifest.items() if k in ("fingerprint", "build")}}
    return manifest
