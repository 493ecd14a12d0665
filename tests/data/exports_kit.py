"""Helpers shared by the importer tests: the shipped test exports and what they hold."""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"


def _maker():
    spec = importlib.util.spec_from_file_location("make_exports", EXPORTS / "make_exports.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MAKER = _maker()


def truth() -> list[dict]:
    """The orders every shipped export was written from (the generator's own records)."""
    rng = random.Random(20251201)
    people = MAKER.buyers(rng)
    return MAKER.orders(rng, people)


def planted() -> list[str]:
    """Personal data planted in the exports, none of which may reach any output."""
    return json.loads((EXPORTS / "planted.json").read_text(encoding="utf-8"))["never_in_any_output"]


def export(name: str, encoding: str = "utf8") -> Path:
    return EXPORTS / f"{name}.{encoding}.csv"


def file_text(path: Path) -> str:
    """Everything a file holds as text (Parquet: every value of every column)."""
    if path.suffix == ".parquet":
        return json.dumps(pq.read_table(path).to_pylist(), ensure_ascii=False, default=str)
    return path.read_bytes().decode("utf-8", errors="replace")


def leaks(folder: Path, secrets: list[str]) -> dict[str, list[str]]:
    """{file: [planted strings found in it]} over every file under ``folder`` (hidden ones too)."""
    found = {}
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            text = file_text(f)
            hits = [s for s in secrets if s in text]
            if hits:
                found[str(f.relative_to(folder))] = hits
    return found


def sql(folder: Path, query: str) -> list[tuple]:
    """Run ``query`` over the Parquet tables of ``folder`` (each table a view of its name)."""
    con = duckdb.connect()
    for f in folder.glob("*.parquet"):
        con.execute(f"CREATE VIEW {f.stem} AS SELECT * FROM read_parquet('{f}')")
    return con.execute(query).fetchall()
