"""Every CSV/Excel file the workbench writes is safe to open in a spreadsheet (OWASP CSV injection rule)."""

from __future__ import annotations

import csv
import errno
from pathlib import Path

import pandas as pd
import pytest

from workbench.data import safefile
from workbench.errors import EnvironmentProblem

ATTACKS = ["=HYPERLINK(\"http://x\",\"click\")", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd",
           "\t=1+1", "\r=1+1"]


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ATTACKS + ["c-1", "-12.5"], "p": [0.5, -0.25, 1e-3, 0.0, 1.0, 0.2, -1.0, 3.0],
                         "rank": list(range(1, 9))})


def test_formula_cells_are_neutralised_and_numbers_stay_numbers(tmp_path: Path) -> None:
    path = safefile.write_csv(_frame(), tmp_path / "targets.csv")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["customer_id", "p", "rank"]
    ids = [r[0] for r in rows[1:]]
    assert ids[:6] == ["'" + a for a in ATTACKS]
    assert ids[6:] == ["c-1", "-12.5"]  # text that does not start a formula, and a plain number, unchanged
    assert [float(r[1]) for r in rows[1:]] == [0.5, -0.25, 1e-3, 0.0, 1.0, 0.2, -1.0, 3.0]  # negative numbers stay
    assert [r[2] for r in rows[1:]] == [str(i) for i in range(1, 9)]
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_caller_frame_is_not_changed_and_headers_are_checked() -> None:
    frame = _frame().rename(columns={"p": "=p"})
    safe = safefile.safe_frame(frame)
    assert frame["customer_id"].iloc[0] == ATTACKS[0] and list(safe.columns) == ["customer_id", "'=p", "rank"]
    assert safe["rank"].dtype == frame["rank"].dtype and safe["=p" if False else "'=p"].dtype == float


def test_excel_file_is_neutralised_too(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    path = safefile.write_excel(_frame(), tmp_path / "targets.xlsx")
    back = pd.read_excel(path)
    cells = back["customer_id"].tolist()
    assert cells[:5] == ["'" + a for a in ATTACKS[:5]] and cells[5].startswith("'")  # the xlsx keeps CR as LF
    assert back["p"].tolist()[1] == -0.25


def test_full_disk_leaves_no_half_file_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(self, path, **kw):
        Path(path).write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    with pytest.raises(EnvironmentProblem) as err:
        safefile.write_csv(_frame(), tmp_path / "targets.csv")
    assert "disk is full" in str(err.value) and str(tmp_path) in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_no_csv_is_written_around_safefile() -> None:
    """Every writer of CSV or Excel in the package and the notebooks goes through safefile."""
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in list((root / "src" / "workbench").rglob("*.py")) + list((root / "notebooks" / "src").glob("*.py")):
        if path.name == "safefile.py":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in (".to_csv(", ".to_excel(", "csv.writer(", "csv.DictWriter("):
            if needle in text:
                offenders.append(f"{path.relative_to(root)}: {needle}")
    assert offenders == []


def test_the_personalisation_target_list_is_neutralised(tmp_path: Path) -> None:
    from workbench.topics import personalisation as pz

    targets = pd.DataFrame({"rank": [1, 2], "customer_id": ["=HYPERLINK(\"http://x\")", "c2"],
                            "p_purchase_30d": [0.5, 0.4], "recency_days": [3, -1], "orders_365d": [2, 1],
                            "gmv_365d": [100.0, 50.0]})
    path = pz.export_target_list(targets, tmp_path / "10_personalisation_targets.csv", headers={"rank": "排名"})
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert back["customer_id"].tolist() == ["'=HYPERLINK(\"http://x\")", "c2"]
    assert back["recency_days"].tolist() == [3, -1] and back.columns[0] == "排名"
