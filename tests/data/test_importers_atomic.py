"""Imports write all tables or none, and never let an older export undo a newer one."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
from pathlib import Path

import pytest
from exports_kit import export, sql, truth

from workbench import cli
from workbench.data import importers
from workbench.data.importers import engine
from workbench.data.importers.pseudonym import PseudonymKey

KEY = PseudonymKey("atomic-test-key", "test")
ORDERS = truth()
REFUNDED = sum(1 for o in ORDERS if o["status"] == "refunded")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(f.relative_to(folder)): f.read_bytes() for f in sorted(folder.rglob("*")) if f.is_file()}


def _older_export(tmp_path: Path) -> Path:
    """The Taobao order report as exported on 20 Nov: refunds not yet made (交易成功), nothing after that day."""
    rows = list(csv.reader(io.StringIO(export("taobao_orders").read_text(encoding="utf-8"))))
    head, body = rows[0], rows[1:]
    col = {h: i for i, h in enumerate(head)}
    kept = []
    for r in body:
        if r[col["订单创建时间"]] >= "2025-11-20":
            continue
        if r[col["订单状态"]] == "交易关闭（退款成功）":
            r[col["订单状态"]] = "交易成功"
            r[col["退款金额"]] = "0.00"
        for c in ("发货时间", "确认收货时间"):
            if r[col[c]] >= "2025-11-20":
                r[col[c]] = ""
        kept.append(r)
    out = tmp_path / "ExportOrderList_20251120.csv"
    buf = io.StringIO()
    csv.writer(buf).writerows([head] + kept)
    out.write_text(buf.getvalue(), encoding="utf-8")
    return out


def test_an_older_export_never_turns_refunds_back_into_sales(tmp_path: Path) -> None:
    out = tmp_path / "shop"
    importers.import_file("taobao", export("taobao_orders"), out, key=KEY)
    before = dict(sql(out, "SELECT status, count(*) FROM orders GROUP BY 1"))
    assert before["refunded"] == REFUNDED
    older = _older_export(tmp_path)
    rep = importers.import_file("taobao", older, out, key=KEY)
    after = dict(sql(out, "SELECT status, count(*) FROM orders GROUP BY 1"))
    assert after == before
    assert len(sql(out, "SELECT * FROM returns")) == REFUNDED
    n_older = sum(1 for _ in csv.reader(io.StringIO(older.read_text(encoding="utf-8")))) - 1
    assert rep.merge["kept_newer"] == n_older and rep.merge["replaced"] == 0
    assert "more recent export" in rep.merge["text"]


def test_a_newer_export_does_apply_its_refunds(tmp_path: Path) -> None:
    out = tmp_path / "shop"
    importers.import_file("taobao", _older_export(tmp_path), out, key=KEY)
    assert dict(sql(out, "SELECT status, count(*) FROM orders GROUP BY 1")).get("refunded", 0) == 0
    rep = importers.import_file("taobao", export("taobao_orders"), out, key=KEY)
    assert dict(sql(out, "SELECT status, count(*) FROM orders GROUP BY 1"))["refunded"] == REFUNDED
    assert rep.merge["kept_newer"] == 0


def test_a_full_disk_leaves_the_dataset_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "shop"
    importers.import_file("taobao", export("taobao_orders"), out, key=KEY)
    before = _snapshot(out)
    written = []
    real = engine.pq.write_table

    def full_disk(table, where, **kw):
        written.append(where)
        if len(written) == 3:  # customers and products are written, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(table, where, **kw)

    monkeypatch.setattr(engine.pq, "write_table", full_disk)
    monkeypatch.setenv("WORKBENCH_PSEUDONYM_KEY", KEY.secret)
    code = cli.main(["import", "pinduoduo", str(export("pinduoduo_orders")), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 3
    assert "Traceback" not in err and "No space left on device" in err and "MB" in err
    assert "nothing was changed" in err
    assert _snapshot(out) == before                       # every table and the report as before
    report = json.loads((out / "import_report.json").read_text(encoding="utf-8"))
    assert report["source"] == "taobao_orders.utf8.csv"    # the report describes what is on disk
    assert not list(tmp_path.glob(".shop.importing-*"))   # no half-written folder left behind


def test_an_import_killed_between_the_renames_is_recovered(tmp_path: Path) -> None:
    out = tmp_path / "shop"
    importers.import_file("taobao", export("taobao_orders"), out, key=KEY)
    before = _snapshot(out)
    # what a kill after "dataset moved aside" and before "new dataset moved in" leaves
    os.rename(out, tmp_path / ".shop.previous-12345")
    (tmp_path / ".shop.importing-abc").mkdir()
    rep = importers.import_file("taobao", export("taobao_orders"), out, key=KEY)
    assert any("interrupted" in w for w in rep.warnings)
    assert not list(tmp_path.glob(".shop.previous-*")) and not list(tmp_path.glob(".shop.importing-*"))
    after = _snapshot(out)
    assert after["orders.parquet"] == before["orders.parquet"]   # same export again: same orders


def test_no_permission_to_write_is_an_environment_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture) -> None:
    real = os.rename

    def denied(a, b):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(engine.os, "rename", denied)
    monkeypatch.setenv("WORKBENCH_PSEUDONYM_KEY", KEY.secret)
    code = cli.main(["import", "taobao", str(export("taobao_orders")), "--out", str(tmp_path / "shop")])
    monkeypatch.setattr(engine.os, "rename", real)
    err = capsys.readouterr().err
    assert code == 3 and "Permission denied" in err and "Traceback" not in err
    assert not (tmp_path / "shop").exists()
