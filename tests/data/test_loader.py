"""Loading: encodings, types, and a clear error for every kind of bad input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

import workbench
from testkit import tiny_tables, write_csvs
from workbench.cli import main as cli
from workbench.errors import DataError, MissingTableError


def test_tiny_shop_loads_with_types_and_cny(tiny_shop: Path) -> None:
    ds = workbench.load(tiny_shop)
    assert ds.tables == ["customers", "products", "orders", "order_items", "fx_rates"]
    assert not ds.errors
    orders = ds.sql("SELECT order_id, ordered_at, gmv_cny FROM orders_cny ORDER BY order_id")
    assert str(orders["ordered_at"].dt.tz) == "Asia/Shanghai"
    assert orders["gmv_cny"].tolist() == pytest.approx([100.0, 225.0, 200.0, 40.0 * 7.2])
    # optional columns the files lack are present as NULL, and reported as absent
    assert ds.has("orders") and not ds.has("orders", ["store_id"])
    assert ds.sql("SELECT count(store_id) AS n FROM orders")["n"].iloc[0] == 0


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig"])
def test_chinese_encodings_are_read_and_named(tmp_path: Path, encoding: str) -> None:
    tables = tiny_tables()
    folder = write_csvs(tmp_path / encoding, tables, encoding=encoding)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    ds = workbench.load(folder)
    categories = ds.sql("SELECT category FROM products ORDER BY product_id")["category"].tolist()
    assert categories == ["护肤", "服饰"]
    expected = "gb18030" if encoding in ("gbk", "gb18030") else "utf-8-sig"
    assert ds.sources["customers"].encoding == expected
    assert f"encoding {expected}" in ds.report()
    # the user's files are never modified
    assert before == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def _broken(tmp_path: Path, table: str, change) -> Path:
    tables = tiny_tables()
    tables[table] = change(tables[table].copy())
    return write_csvs(tmp_path / "broken", tables)


BROKEN = {
    "missing required column": ("orders", lambda d: d.drop(columns=["paid_amount"]), "paid_amount",
                                "required column 'paid_amount' is missing"),
    "unparseable date": ("orders", lambda d: d.assign(ordered_at=["2025-01-01 10:00:00", "yesterday",
                                                                  "2025-01-05 20:00:00", "2025-01-06 09:00:00"]),
                         "ordered_at", "cannot be read as timestamp"),
    "negative quantity": ("order_items", lambda d: d.assign(quantity=[1, -2, 2, 1]), "quantity", "below 1"),
    "duplicated keys": ("orders", lambda d: pd.concat([d, d.iloc[[1]]]), "order_id", "duplicated key"),
    "unknown customer": ("orders", lambda d: d.assign(customer_id=["c1", "c2", "c9", "c3"]), "customer_id",
                         "point at a customer"),
    "currency without rate": ("orders", lambda d: d.assign(currency=["CNY", "CNY", "EUR", "USD"]), "currency",
                              "EUR have no exchange rate"),
    "value outside allowed set": ("orders", lambda d: d.assign(channel=["tmall", "天猫", "tmall", "cross_border"]),
                                  "channel", "outside the allowed set"),
    "currency sign in amount": ("orders", lambda d: d.assign(paid_amount=["100", "￥225", "200", "40"]),
                                "paid_amount", "cannot be read as float"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_input_gets_a_clear_error(tmp_path: Path, case: str, capsys: pytest.CaptureFixture) -> None:
    table, change, column, message = BROKEN[case]
    folder = _broken(tmp_path, table, change)
    with pytest.raises(DataError) as err:
        workbench.load(folder)
    text = str(err.value)
    assert f"{table}.csv" in text and f"'{column}'" in text and message in text
    assert "fix:" in text and "Traceback" not in text
    # the command line says the same and exits non-zero
    assert cli(["validate", str(folder)]) == 2  # EXIT_REFUSED: the data cannot be used
    out = capsys.readouterr().out
    assert f"{table}.csv" in out and message in out


def test_example_rows_point_at_the_csv_line(tmp_path: Path) -> None:
    folder = _broken(tmp_path, "order_items", lambda d: d.assign(quantity=[1, 1, -1, 1]))
    ds = workbench.load(folder, strict=False)
    problem = next(p for p in ds.errors if p.column == "quantity")
    assert problem.rows == [4]  # header is line 1, the third data row is line 4
    assert problem.count == 1


def test_few_orphans_are_a_warning_not_an_error(tmp_path: Path) -> None:
    tables = tiny_tables()
    n = 40
    tables["orders"] = pd.concat([tables["orders"]] * n, ignore_index=True).assign(
        order_id=[f"o{i}" for i in range(4 * n)])
    tables["order_items"] = pd.DataFrame({"order_id": tables["orders"]["order_id"], "line_no": 1,
                                          "product_id": "p1", "quantity": 1, "unit_price": 10.0})
    tables["reviews"] = pd.DataFrame({"review_id": [f"r{i}" for i in range(40)], "product_id": "p1",
                                      "order_id": ["o1"] * 39 + ["gone"],
                                      "created_at": "2025-01-03 10:00:00", "rating": 5})
    ds = workbench.load(write_csvs(tmp_path / "orph", tables))
    warning = next(p for p in ds.warnings if p.table == "reviews")
    assert warning.count == 1 and "order" in warning.message


def test_missing_folder_and_missing_tables(tmp_path: Path, tiny_shop: Path) -> None:
    with pytest.raises(DataError, match="no such folder"):
        workbench.load(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds none of the model's tables"):
        workbench.load(tmp_path / "empty")
    ds = workbench.load(tiny_shop)
    with pytest.raises(MissingTableError) as err:
        ds.require({"tickets": [], "orders": ["store_id"]})
    assert "tickets" in str(err.value) and "orders.store_id" in str(err.value)


def test_duckdb_file_source(tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(db))
    for name, frame in tiny_tables().items():
        con.register("f", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM f")
        con.unregister("f")
    con.close()
    ds = workbench.load(db)
    assert ds.row_count("orders") == 4
    assert ds.sql("SELECT sum(gmv_cny) AS g FROM orders_cny")["g"].iloc[0] == pytest.approx(525 + 40 * 7.2)


def test_personal_data_never_reaches_the_views(tiny_shop: Path) -> None:
    ds = workbench.load(tiny_shop)
    people = ds.sql("SELECT customer_id, name, phone FROM customers ORDER BY customer_id")
    text = people.to_string()
    assert "张三" not in text and "13800000001" not in text
    assert people["name"].str.fullmatch(r"pii-[0-9a-f]{12}").all()
    # the token is stable, so analyses can still group by it
    again = workbench.load(tiny_shop).sql("SELECT name FROM customers ORDER BY customer_id")
    assert again["name"].tolist() == people["name"].tolist()
