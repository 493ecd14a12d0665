"""Importers: personal data inside a kept column's longer texts, in rows no sample looks at, is never written.

The importers judge columns on a sample of rows (to decide what to drop); the last guard, applied
to every value of every text column written, must catch a phone number or e-mail anywhere inside
a value, in any row.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from exports_kit import leaks, sql

from workbench.data import importers, privacy

N_ROWS = 3_000


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_a_phone_number_inside_a_late_product_name_is_pseudonymised(tmp_path: Path, encoding: str) -> None:
    log = tmp_path / "sales_log.csv"
    with open(log, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["会员编号", "日期", "商品编码", "商品名称", "数量", "单价"])
        for i in range(N_ROWS):
            sku, name = f"SKU-{i % 5}", "保湿面霜 50ml"
            if i == N_ROWS - 7:
                sku, name = "SKU-X", "保湿面霜 客服tel13912345678"
            if i == N_ROWS - 3:
                sku, name = "SKU-Y", "围巾 问buyer77@mail-example.cn"
            w.writerow([f"M{i % 400:05d}", f"2025-11-{1 + i % 28:02d}", sku, name, 1, "129.00"])
    out = tmp_path / "shop"
    importers.import_file("transactions", log, out, None)
    assert leaks(out, ["13912345678", "buyer77@mail-example.cn"]) == {}
    names = dict(sql(out, "SELECT product_id, name FROM products WHERE product_id IN ('SKU-X', 'SKU-Y', 'SKU-0')"))
    assert names == {"SKU-X": privacy.pseudonym("保湿面霜 客服tel13912345678"),
                     "SKU-Y": privacy.pseudonym("围巾 问buyer77@mail-example.cn"), "SKU-0": "保湿面霜 50ml"}
    assert sql(out, "SELECT count(*) FROM order_items")[0][0] == N_ROWS
