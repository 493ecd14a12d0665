"""Exports damaged by a spreadsheet: refused with a message that says how to export again."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from exports_kit import export

from workbench import cli
from workbench.data import importers
from workbench.data.importers.pseudonym import PseudonymKey
from workbench.errors import DataError

KEY = PseudonymKey("excel-test-key", "test")


def _rewrite_ids(tmp_path: Path, how) -> Path:
    """The Taobao order report with every order number passed through ``how`` (as Excel would save it)."""
    text = export("taobao_orders").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    for r in rows[1:]:
        r[0] = how(r[0].strip('="'))
    out = tmp_path / "ExportOrderList.csv"
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    out.write_text(buf.getvalue(), encoding="utf-8")
    return out


def _cut_to_15(oid: str) -> str:
    """What Excel writes for a 19-digit number: its first 15 significant digits, then zeros."""
    return oid[:15] + "0" * (len(oid) - 15)


CASES = {
    "15 significant digits": (_cut_to_15, "15 significant digits"),
    "scientific notation": (lambda oid: f"{float(oid):.5E}", "written as numbers"),
    "a decimal point": (lambda oid: oid + ".0", "written as numbers"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_damaged_order_numbers_are_refused(tmp_path: Path, case: str) -> None:
    how, words = CASES[case]
    src = _rewrite_ids(tmp_path, how)
    out = tmp_path / "shop"
    with pytest.raises(DataError) as err:
        importers.import_file("taobao", src, out, key=KEY)
    msg = str(err.value)
    assert "ExportOrderList.csv" in msg and "'订单编号'" in msg and words in msg
    assert "lines 2" in msg                        # example rows by CSV line
    assert "download the export again" in msg      # how to export again
    assert not out.exists()                        # nothing written


def test_damaged_export_exits_2_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = _rewrite_ids(tmp_path, lambda oid: f"{float(oid):.5E}")
    code = cli.main(["import", "taobao", str(src), "--out", str(tmp_path / "shop")])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and err.startswith("error: ")
    assert "Data > From Text/CSV" in err


def test_lost_wrapper_with_intact_digits_imports(tmp_path: Path) -> None:
    """Order numbers that lost their ="…" (or leading ') but kept every digit are still read correctly."""
    plain = _rewrite_ids(tmp_path, lambda oid: oid)
    (tmp_path / "q").mkdir()
    quoted = _rewrite_ids(tmp_path / "q", lambda oid: "'" + oid)
    a = importers.import_file("taobao", plain, tmp_path / "a", key=KEY)
    b = importers.import_file("taobao", quoted, tmp_path / "b", key=KEY)
    assert a.tables["orders"] == b.tables["orders"] == 36
    assert (tmp_path / "a" / "orders.parquet").read_bytes() == (tmp_path / "b" / "orders.parquet").read_bytes()


def test_genuine_ids_ending_in_zeros_are_not_taken_for_damage(tmp_path: Path) -> None:
    """One 19-digit number ending in 0000 among many is chance, not Excel."""
    src = _rewrite_ids(tmp_path, lambda oid: oid)
    text = src.read_text(encoding="utf-8").splitlines()
    first = text[1].split(",", 1)
    text[1] = "4200000000000000000," + first[1]
    src.write_text("\n".join(text) + "\n", encoding="utf-8")
    rep = importers.import_file("taobao", src, tmp_path / "shop", key=KEY)
    assert rep.tables["orders"] == 36
