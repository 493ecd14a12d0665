"""The loader finds personal data in every row of every text column, also inside longer texts.

Issue 15's hole: the loader looked at the first 20,000 rows of a column and matched whole values
only. These tests plant phone numbers, e-mails, ID-card numbers and addresses after row 20,000
and inside longer texts (a customer id ``tel13800138000``, a coupon ``VIP-13912345678``, a
review that gives an address), and check that no view shows them, that joins still hold, that
``validate`` says how many values were masked without showing one, and that kernels skipping
the checks mask the same columns from the scan's record.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

import workbench
from testkit import tiny_tables, write_csvs
from workbench.cli import main as cli
from workbench.data import privacy
from workbench.data.importers.pseudonym import load_key

N_ORDERS = 25_000
LATE = 24_321  # the row (0-based) where personal data first appears: beyond any 20,000-row sample
ADDRESS = "广东省深圳市南山区科技园路3号502室"
PLANTED = ["13800138000", "13912345678", "13700001111", "buyer77@mail-example.cn", "11010519491231002X", ADDRESS,
           "科技园路3号502室"]


@pytest.fixture(autouse=True)
def _own_scan_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_SCAN_DIR", str(tmp_path / "scans"))


def _big_shop(tmp_path: Path) -> Path:
    """The tiny shop grown to 25,000 orders and as many reviews, personal data only in late rows."""
    tables = tiny_tables()
    tables["customers"] = pd.concat([tables["customers"], pd.DataFrame({
        "customer_id": ["tel13800138000"], "signup_date": ["2025-01-01"], "acquisition_channel": ["tmall"],
        "name": ["王五"], "phone": ["13800138000"]})], ignore_index=True)
    n = N_ORDERS
    ids = [f"o{i:06d}" for i in range(n)]
    customers = ["c1"] * n
    customers[LATE + 5] = "tel13800138000"            # a phone number inside a buyer id
    coupons = [None] * n
    coupons[LATE] = "VIP-13912345678"                 # a phone number inside a code
    coupons[LATE + 1] = "buyer77@mail-example.cn"     # an e-mail used as a code
    tables["orders"] = pd.DataFrame({
        "order_id": ids, "customer_id": customers, "channel": "tmall",
        "ordered_at": [f"2025-01-{1 + i % 28:02d} 10:00:00" for i in range(n)], "status": "completed",
        "currency": "CNY", "gross_amount": 100.0, "discount_amount": 0.0, "paid_amount": 100.0,
        "coupon_code": coupons})
    tables["order_items"] = pd.DataFrame({"order_id": ids, "line_no": 1, "product_id": "p1", "quantity": 1,
                                          "unit_price": 100.0})
    texts = ["面霜很好用，物流也快"] * n
    texts[LATE] = f"收到了，下次寄到{ADDRESS}，谢谢"                 # an address inside a sentence
    texts[LATE + 2] = "有问题请打13700001111找我"                    # a phone number inside a sentence
    texts[LATE + 3] = "发票抬头写身份证11010519491231002X就行"        # an ID-card number inside a sentence
    tables["reviews"] = pd.DataFrame({
        "review_id": [f"r{i:06d}" for i in range(n)], "order_id": ids, "product_id": "p1",
        "created_at": [f"2025-01-{1 + i % 28:02d} 12:00:00" for i in range(n)], "rating": 5, "text": texts})
    return write_csvs(tmp_path / "shop", tables)


@pytest.fixture(scope="module")
def big_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _big_shop(tmp_path_factory.mktemp("big"))


def _all_text(ds) -> str:
    return "\n".join(ds.sql(f'SELECT * FROM "{t}"').to_csv(index=False) for t in ds.tables)


def test_personal_data_after_row_20000_and_inside_texts_reaches_no_view(big_shop: Path) -> None:
    ds = workbench.load(big_shop)
    assert not ds.errors
    text = _all_text(ds)
    assert [p for p in PLANTED if p in text] == []
    key = load_key()
    # the buyer id holding a phone number is the importers' buyer pseudonym, in both tables: joins hold
    buyer = key.pseudonym("tel13800138000")
    assert buyer in set(ds.sql("SELECT customer_id FROM customers")["customer_id"])
    joined = ds.sql("SELECT count(*) AS n FROM orders o JOIN customers c USING (customer_id)")["n"].iloc[0]
    assert joined == N_ORDERS
    # codes holding personal data are pseudonymised whole, the others stay as they are
    codes = ds.sql("SELECT coupon_code FROM orders WHERE coupon_code IS NOT NULL ORDER BY order_id")["coupon_code"]
    assert codes.tolist() == [privacy.pseudonym("VIP-13912345678"), privacy.pseudonym("buyer77@mail-example.cn")]
    # review texts keep their words: only the personal pieces read ***
    reviews = ds.sql("SELECT review_id, text FROM reviews WHERE text LIKE '%***%' ORDER BY review_id")
    assert reviews["text"].tolist() == ["收到了，下次寄到***，谢谢", "有问题请打***找我", "发票抬头写身份证***就行"]
    assert ds.sql("SELECT count(*) AS n FROM reviews WHERE text = '面霜很好用，物流也快'")["n"].iloc[0] == N_ORDERS - 3
    ds.close()


def test_validate_counts_the_masked_values_and_shows_none(big_shop: Path, capsys: pytest.CaptureFixture) -> None:
    ds = workbench.load(big_shop)
    notes = {(p.table, p.column): p.count for p in ds.problems if p.severity == "note" and "personal data" in p.message}
    assert notes == {("orders", "customer_id"): 1, ("orders", "coupon_code"): 2, ("customers", "customer_id"): 1,
                     ("reviews", "text"): 3}
    ds.close()
    code = cli(["validate", str(big_shop)])
    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in out + err
    assert "2 values hold personal data" in out and "3 values hold personal data" in out
    assert [p for p in PLANTED if p in out + err] == []


def test_kernels_that_skip_the_checks_mask_the_same_columns_from_the_record(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shop = _big_shop(tmp_path)
    workbench.load(shop).close()  # validation: scans every row and records what it found
    assert len(list((tmp_path / "scans").glob("scan-*.json"))) == 1

    def no_second_scan(*args, **kwargs):
        raise AssertionError("scanned again although the files are unchanged")

    monkeypatch.setattr(privacy, "scan_columns_sql", no_second_scan)
    ds = workbench.load(shop, checks=False)
    assert [p for p in PLANTED if p in _all_text(ds)] == []
    ds.close()
    # a changed file has another fingerprint: it is scanned again, and its new personal data is found
    monkeypatch.undo()
    monkeypatch.setenv("WORKBENCH_SCAN_DIR", str(tmp_path / "scans"))
    orders = pd.read_csv(shop / "orders.csv", dtype=str)
    orders.loc[3, "coupon_code"] = "call 13655556666"
    orders.to_csv(shop / "orders.csv", index=False)
    ds = workbench.load(shop, checks=False)
    assert "13655556666" not in _all_text(ds)
    ds.close()


def test_example_values_in_an_error_message_are_masked(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    tables = tiny_tables()
    tables["orders"]["gross_amount"] = tables["orders"]["gross_amount"].astype(object)
    tables["orders"].loc[1, "gross_amount"] = "13912345678 ask"
    shop = write_csvs(tmp_path / "shop", tables)
    with pytest.raises(workbench.DataError) as err:
        workbench.load(shop)
    assert "13912345678" not in str(err.value) and "'*** ask'" in str(err.value)
    assert cli(["validate", str(shop)]) == 2
    out, _ = capsys.readouterr()
    assert "gross_amount" in out and "13912345678" not in out


@pytest.mark.parametrize("value, kind", [
    ("tel13800138000", "phone"), ("请联系13912345678谢谢", "phone"), ("13800138000,13900139000", "phone"),
    ("+86 138 1234 5678", "phone"), ("138****5678", "phone"), ("0755-86001234", "phone"),
    ("mail me at a.b@x-y.cn ok", "email"), ("身份证11010519491231002X", "id_card"),
    ("寄到广东省深圳市南山区科技园路3号502室，谢谢", "address"), ("广东 深圳市 南山区 科技园路3号", "address"),
    ("北京市朝阳区3号", "address"), ("12 Baker Street, London", "address"),
    # not personal: long order numbers, dates, codes, names that mention a city
    ("4032781562839201234", None), ("251101-300000000104729", None), ("身份证110105194912310021", None),
    ("2025-11-11", None), ("满300减20", None), ("C000123", None), ("北京3号仓", None), ("黄山毛峰 2号", None),
    ("上海1号店", None), ("Pack of 2 Way", None), (None, None),
])
def test_the_sql_scan_and_its_python_twin_agree(value: str | None, kind: str | None) -> None:
    assert privacy.find_in_text(value) == kind
    con = duckdb.connect()
    found, masked = con.execute(f"SELECT {privacy.text_kind_sql('$v')}, {privacy.redact_sql('$v')}",
                                {"v": value}).fetchone()
    assert (found if value is not None else None) == (None if value is None else kind is not None)
    if kind is not None:
        assert masked == privacy.redact_text(value) and "***" in masked
        assert not any(ch.isdigit() for ch in masked.replace("London", "")) or kind == "email"


def test_the_scan_counts_every_row_in_one_pass(tmp_path: Path) -> None:
    """A million-row column with one phone number at its very end is found (no sample, no early stop)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 'o' || i AS a, CASE WHEN i = 999999 THEN 'x13912345678' END AS b, "
                "'note ' || i AS c FROM range(1000000) r(i)")
    assert privacy.scan_columns_sql(con, "t", {"a": "a", "b": "b", "c": "c"}) == {"b": 1}
