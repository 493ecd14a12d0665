"""Bad input, one test per case: correct numbers, a warning with counts, or a clear error and exit code 2.

Every case goes through ``workbench validate`` too, which must never show a traceback.
"""

from __future__ import annotations

import builtins
import os
from pathlib import Path

import pandas as pd
import pytest

import workbench
from testkit import tiny_tables, write_csvs
from workbench.cli import main as cli
from workbench.data import loader
from workbench.errors import EXIT_REFUSED, DataError


def _shop(tmp_path: Path, **changes) -> Path:
    """The tiny shop as CSV with ``changes`` ({table: function of its frame}) applied."""
    tables = tiny_tables()
    for name, change in changes.items():
        tables[name] = change(tables[name].copy())
    return write_csvs(tmp_path / "shop", tables)


def _validate(folder: Path, capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = cli(["validate", str(folder)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def _refused(folder: Path, capsys: pytest.CaptureFixture, *words: str) -> DataError:
    """The data is refused by the loader and by ``validate`` (exit 2); the message holds ``words``."""
    with pytest.raises(DataError) as err:
        workbench.load(folder)
    code, out, _ = _validate(folder, capsys)
    assert code == EXIT_REFUSED
    for w in words:
        assert w in str(err.value), (w, str(err.value))
        assert w in out
    return err.value


# ----- times and dates ----------------------------------------------------------------------------
def test_cst_is_china_standard_time_and_said(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = _shop(tmp_path, orders=lambda d: d.assign(ordered_at=d["ordered_at"] + " CST"))
    ds = workbench.load(folder)
    local = ds.sql("SELECT strftime(ordered_at, '%Y-%m-%d %H:%M') AS t FROM orders ORDER BY order_id")["t"]
    assert local.tolist() == ["2025-01-01 10:00", "2025-01-02 11:30", "2025-01-05 20:00", "2025-01-06 09:00"]
    note = next(p for p in ds.problems if p.column == "ordered_at")
    assert note.severity == "note" and note.count == 4 and "China Standard Time" in note.message
    code, out, _ = _validate(folder, capsys)
    assert code == 0 and "4 times written with CST" in out and "1 note(s)" in out


def test_orders_dated_in_the_future_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = _shop(tmp_path, orders=lambda d: d.assign(
        ordered_at=["2025-01-01 10:00:00", "2025-01-02 11:30:00", "2099-01-05 20:00:00", "2099-01-06 09:00:00"]))
    err = _refused(folder, capsys, "orders.csv", "'ordered_at'", "2 rows dated after today", "lines 4, 5")
    assert err.problems[0].count == 2


@pytest.mark.parametrize("table,column,value", [("orders", "ordered_at", "0025-01-05 20:00:00"),
                                                ("orders", "ordered_at", "2205-01-05 20:00:00"),
                                                ("customers", "signup_date", "0025-01-03")])
def test_years_out_of_range_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture, table: str,
                                        column: str, value: str) -> None:
    def change(d: pd.DataFrame) -> pd.DataFrame:
        d[column] = d[column].astype(object)
        d.loc[2, column] = value
        return d

    err = _refused(_shop(tmp_path, **{table: change}), capsys, f"{table}.csv", f"'{column}'",
                   "dates outside the years 1900-2100", "lines 4", "four-digit years")
    assert err.problems[0].count == 1


# ----- amounts, quantities, missing values -------------------------------------------------------------
def test_fractional_quantity_is_refused_not_rounded(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = _shop(tmp_path, order_items=lambda d: d.assign(quantity=["1", "2.5", "2", "1"]))
    _refused(folder, capsys, "order_items.csv", "'quantity'", "cannot be read as int", "2.5 is not rounded",
             "'2.5'", "lines 3")


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e400"])
def test_non_finite_amounts_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture, value: str) -> None:
    folder = _shop(tmp_path, orders=lambda d: d.assign(paid_amount=["100", value, "200", "40"]))
    _refused(folder, capsys, "orders.csv", "'paid_amount'", "1 values that cannot be read as float",
             "NaN, inf", repr(value), "lines 3")


@pytest.mark.parametrize("marker", ["NULL", "null", "N/A", "None", "#N/A", ""])
def test_literal_null_customer_id_is_missing_not_a_customer(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                            marker: str) -> None:
    folder = _shop(tmp_path, orders=lambda d: d.assign(customer_id=["c1", marker, marker, "c3"]))
    err = _refused(folder, capsys, "orders.csv", "'customer_id'", "2 empty values (or written as NULL, N/A)",
                   "lines 3, 4")
    assert err.problems[0].count == 2


def test_literal_null_in_an_optional_column_is_a_warning_with_count(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture) -> None:
    folder = _shop(tmp_path, orders=lambda d: d.assign(coupon_code=["NULL", "n/a", "WELCOME50", ""]))
    ds = workbench.load(folder)
    codes = ds.sql("SELECT coupon_code FROM orders ORDER BY order_id")["coupon_code"].tolist()
    assert [c if isinstance(c, str) else None for c in codes] == [None, None, "WELCOME50", None]
    warning = next(p for p in ds.warnings if p.column == "coupon_code")
    assert warning.count == 2 and "read as missing" in warning.message
    code, out, _ = _validate(folder, capsys)
    assert code == 0 and "2 values written as NULL" in out


def test_orders_without_lines_are_a_warning_with_the_revenue_gap(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture) -> None:
    folder = _shop(tmp_path, order_items=lambda d: d[d["order_id"] != "o2"])
    ds = workbench.load(folder)
    warning = next(p for p in ds.warnings if p.table == "orders" and p.column == "order_id")
    # valid orders: 100 + 225 + 200 + 40 * 7.2 = 813 CNY; o2 (225) has no lines: 27.7%
    assert warning.count == 1 and "'o2'" in warning.message
    assert "27.7% below order GMV" in warning.message and "225.00 of 813.00 CNY" in warning.message
    code, out, _ = _validate(folder, capsys)
    assert code == 0 and "1 of 4 orders have no lines" in out


# ----- exchange rates ------------------------------------------------------------------------------------
def test_rates_that_start_too_late_are_refused_with_counts(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = _shop(
        tmp_path,
        orders=lambda d: d.assign(currency=["CNY", "USD", "CNY", "USD"]),
        fx_rates=lambda d: d.assign(date=["2025-01-04"]))
    err = _refused(folder, capsys, "orders.csv", "'currency'", "1 of 2 rows in USD",
                   "dated before the first USD rate in fx_rates (2025-01-04)", "from 2025-01-02 on")
    # o2 pays 225 USD of the 265 USD in total
    assert "84.9% of their USD amount" in str(err)


# ----- files ----------------------------------------------------------------------------------------------
def test_excel_file_beside_the_csv_is_named_as_ignored(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = _shop(tmp_path)
    (folder / "orders.xlsx").write_bytes(b"PK\x03\x04 not read")
    ds = workbench.load(folder)
    warning = next(p for p in ds.warnings if p.file == "orders.xlsx")
    assert "ignored: orders.csv is read" in warning.message
    code, out, _ = _validate(folder, capsys)
    assert code == 0 and "orders.xlsx" in out


def test_excel_file_instead_of_the_csv_is_refused_with_the_fix(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    folder = _shop(tmp_path)
    (folder / "orders.csv").unlink()
    (folder / "orders.xlsx").write_bytes(b"PK\x03\x04 not read")
    _refused(folder, capsys, "orders.xlsx", "not read", "save the sheet as CSV UTF-8", "workbench import generic")


def test_symlink_loop_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = _shop(tmp_path)
    (folder / "orders.csv").unlink()
    os.symlink("orders.csv", folder / "orders.csv")
    _refused(folder, capsys, "orders.csv", "symbolic link that loops")


def test_folder_named_like_a_table_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = _shop(tmp_path)
    (folder / "orders.csv").unlink()
    (folder / "orders.csv").mkdir()
    _refused(folder, capsys, "orders.csv", "is a folder, not a file")


def test_unreadable_file_is_refused_with_the_permission_fix(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _shop(tmp_path)
    target = folder / "orders.csv"

    def guarded_open(file, *args, **kwargs):  # root reads any file: simulate the permission instead
        if Path(file) == target:
            raise PermissionError(13, "Permission denied", str(file))
        return builtins.open(file, *args, **kwargs)

    monkeypatch.setattr(loader, "open", guarded_open, raising=False)
    _refused(folder, capsys, "orders.csv", "permission denied", "chmod a+r")


@pytest.mark.parametrize("damage", ["pages", "footer"])
def test_corrupt_parquet_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture, damage: str) -> None:
    folder = _shop(tmp_path)
    (folder / "orders.csv").unlink()
    frame = tiny_tables()["orders"]
    frame = pd.concat([frame.assign(order_id=frame["order_id"] + f"-{i}") for i in range(500)], ignore_index=True)
    frame.to_parquet(folder / "orders.parquet", compression=None)
    data = bytearray((folder / "orders.parquet").read_bytes())
    if damage == "pages":
        middle = len(data) // 3
        data[middle:middle + 200] = os.urandom(200)
    else:
        data = data[: len(data) - 40]
    (folder / "orders.parquet").write_bytes(bytes(data))
    _refused(folder, capsys, "orders.parquet", "cannot be read", "export or copy it again")


def test_gbk_file_with_a_utf8_byte_order_mark_is_read(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = _shop(tmp_path)
    text = tiny_tables()["products"].to_csv(index=False)
    (folder / "products.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("gbk"))
    ds = workbench.load(folder)
    assert ds.sql("SELECT category FROM products ORDER BY product_id")["category"].tolist() == ["护肤", "服饰"]
    assert ds.sources["products"].encoding == loader.BOM_GB18030
    code, out, _ = _validate(folder, capsys)
    assert code == 0 and "after a UTF-8 byte-order mark" in out and "product_id' is missing" not in out


# ----- ids damaged by a spreadsheet ---------------------------------------------------------------------------
LONG_IDS = ["4032781562839201234", "4032781562839205678", "4032781562839209012", "4032781562839213456"]


@pytest.mark.parametrize("kind,ids,words", [
    ("truncated", [i[:15] + "0000" for i in LONG_IDS], "cut to 15 significant digits"),
    ("scientific", ["4.03278E+18"] * 4, "scientific notation"),
])
def test_spreadsheet_damaged_order_ids_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture, kind: str,
                                                   ids: list[str], words: str) -> None:
    mapping = dict(zip(["o1", "o2", "o3", "o4"], ids))
    folder = _shop(tmp_path, orders=lambda d: d.assign(order_id=d["order_id"].map(mapping)),
                   order_items=lambda d: d.assign(order_id=d["order_id"].map(mapping)))
    err = _refused(folder, capsys, "orders.csv", "'order_id'", words, "download the export again",
                   "do not open and save it in Excel")
    damage = [p for p in err.problems if "spreadsheet" in p.message]
    assert {p.table for p in damage} == {"orders", "order_items"} and all(p.count == 4 for p in damage)


def test_intact_long_order_ids_pass(tmp_path: Path) -> None:
    mapping = dict(zip(["o1", "o2", "o3", "o4"], LONG_IDS))
    folder = _shop(tmp_path, orders=lambda d: d.assign(order_id=d["order_id"].map(mapping)),
                   order_items=lambda d: d.assign(order_id=d["order_id"].map(mapping)))
    ds = workbench.load(folder)
    assert not ds.errors and sorted(ds.sql("SELECT order_id FROM orders")["order_id"]) == LONG_IDS


# ----- temporary copies --------------------------------------------------------------------------------------
def test_decoded_copies_are_removed_and_stale_ones_cleaned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader.tempfile, "tempdir", str(tmp_path))
    folder = write_csvs(tmp_path / "gbk", tiny_tables(), encoding="gbk")
    ds = workbench.load(folder)
    copies = list(tmp_path.glob("workbench-csv-*"))
    assert len(copies) == 1 and copies[0].name.startswith(f"workbench-csv-{os.getpid()}-")
    ds.close()
    assert not copies[0].exists()
    # a copy left by a process that died (a killed kernel) goes with the next load
    stale = tmp_path / "workbench-csv-999999999-abc"
    stale.mkdir()
    (stale / "orders.utf8.csv").write_text("x")
    workbench.load(folder).close()
    assert not stale.exists()


# ----- through the real command: exit code and no traceback ------------------------------------------------------
def test_the_command_refuses_bad_files_without_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    folder = _shop(tmp_path, order_items=lambda d: d.assign(quantity=["1", "2.5", "2", "1"]))
    (folder / "orders.csv").unlink()
    os.symlink("orders.csv", folder / "orders.csv")
    (folder / "products.csv").unlink()
    (folder / "products.csv").mkdir()
    proc = subprocess.run([sys.executable, "-m", "workbench.cli", "validate", str(folder)], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == EXIT_REFUSED
    assert "Traceback" not in proc.stdout + proc.stderr
    for words in ("orders.csv: symbolic link that loops", "products.csv: is a folder",
                  "order_items.csv, column 'quantity'"):
        file, _, what = words.partition(": ")
        assert any(file in line and what in line for line in proc.stdout.splitlines()), (words, proc.stdout)
