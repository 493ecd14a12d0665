"""Personal data recognised by its values; addresses kept only to the city; keyed tokens in the loader."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

import workbench
from testkit import tiny_tables, write_csvs
from workbench.data import privacy
from workbench.data.importers.pseudonym import load_key


@pytest.mark.parametrize("text, expect", [
    ("广东省深圳市南山区科技园路3号502室", ("广东省", "深圳市")),
    ("广东省 深圳市 南山区 科技园路3号", ("广东省", "深圳市")),
    ("广东深圳南山区科技园", ("广东省", "深圳市")),
    ("深圳市福田区福华路1号", ("广东省", "深圳市")),
    ("北京 北京市 朝阳区 建国路88号", ("北京市", "北京市")),
    ("上海市浦东新区世纪大道100弄2号", ("上海市", "上海市")),
    ("内蒙古呼和浩特市新城区", ("内蒙古自治区", "呼和浩特市")),
    ("湖北恩施州恩施市", ("湖北省", "恩施土家族苗族自治州")),
    ("海南省琼海市嘉积镇", ("海南省", "琼海市")),
    ("新疆维吾尔自治区石河子市", ("新疆维吾尔自治区", "石河子市")),
    ("某某区幸福路3号", (None, None)),
    ("", (None, None)),
])
def test_region_is_never_finer_than_the_city(text: str, expect: tuple) -> None:
    assert privacy.parse_region(text) == expect


def test_the_shipped_table_holds_every_province_and_its_cities() -> None:
    provs = privacy.provinces()
    assert len(provs) == 34                                  # 31 of the mainland + Hong Kong, Macao, Taiwan
    assert len(provs["广东省"]) == 21 and "深圳市" in provs["广东省"]
    assert sum(len(c) for p, c in provs.items()) > 330       # 333 prefecture-level divisions + municipalities + ...


@pytest.mark.parametrize("value, kind", [
    ("13812345678", "phone"), ("+86 138 1234 5678", "phone"), ("138****5678", "phone"), ("0755-86001234", "phone"),
    ("buyer@mail-example.cn", "email"), ("11010519491231002X", "id_card"),
    ("广东省深圳市南山区科技园路3号502室", "address"), ("12 Baker Street", "address"),
    # not personal: ids and texts of the shop
    ("110105194912310021", None),          # wrong check digit: an 18-digit order number, not an ID card
    ("4200000000000012345", None), ("C000123", None), ("SKU-COAT-01", None), ("羊毛大衣 黑色", None),
    ("广东省", None), ("满300减20", None),
])
def test_detectors(value: str, kind: str | None) -> None:
    assert privacy.kind_of(value) == kind


def test_sql_detector_agrees_with_python() -> None:
    values = ["13812345678", "138****5678", "buyer@mail-example.cn", "11010519491231002X", "110105194912310021",
              "4200000000000012345", "C000123", None]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, v VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    got = [r[0] for r in con.execute(f"SELECT {privacy.sql_kind('v')} FROM t ORDER BY i").fetchall()]
    assert got == [privacy.kind_of(v) if privacy.kind_of(v) != "address" else None for v in values]


def test_tokens_are_keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_PSEUDONYM_KEY", "key-one")
    one = privacy.token("广东省深圳市南山区科技园路3号502室")
    monkeypatch.setenv("WORKBENCH_PSEUDONYM_KEY", "key-two")
    two = privacy.token("广东省深圳市南山区科技园路3号502室")
    assert one != two and one.startswith("pii-") and len(one) == 16
    import hashlib

    assert one[4:] != hashlib.md5("广东省深圳市南山区科技园路3号502室".encode()).hexdigest()[:12]


def test_loader_pseudonymises_phone_numbers_used_as_customer_ids(tmp_path: Path) -> None:
    """Native tables: phone numbers as customer ids never reach a view, and joins still hold."""
    tables = tiny_tables()
    phones = {cid: f"139{i:08d}" for i, cid in enumerate(tables["customers"]["customer_id"])}
    for frame in tables.values():
        for col in frame.columns:
            if col == "customer_id" or col.endswith("customer_id"):
                frame[col] = frame[col].map(lambda c: phones.get(c, c))
    shop = write_csvs(tmp_path / "shop", tables)
    ds = workbench.load(shop)
    assert not ds.errors
    key = load_key()
    ids = set(ds.sql("SELECT customer_id FROM customers")["customer_id"])
    assert ids == {key.pseudonym(p) for p in phones.values()}
    text = ds.sql("SELECT * FROM orders").to_string() + ds.sql("SELECT * FROM customers").to_string()
    assert not any(p in text for p in phones.values())
    # orders still find their customers
    joined = ds.sql("SELECT count(*) AS n FROM orders o JOIN customers c USING (customer_id)")["n"].iloc[0]
    assert joined == len(tables["orders"])


def test_loader_masks_phone_numbers_in_a_text_column(tmp_path: Path) -> None:
    tables = tiny_tables()
    if "coupon_code" not in tables["orders"].columns:
        tables["orders"]["coupon_code"] = None
    tables["orders"]["coupon_code"] = tables["orders"]["coupon_code"].astype(object)
    tables["orders"].loc[tables["orders"].index[0], "coupon_code"] = "13912345678"
    shop = write_csvs(tmp_path / "shop", tables)
    codes = workbench.load(shop).sql("SELECT coupon_code FROM orders")["coupon_code"]
    assert "13912345678" not in codes.astype(str).tolist()
    assert pd.Series(codes).astype(str).str.startswith("p-").sum() == 1
