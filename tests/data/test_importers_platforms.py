"""Each platform's importer on its shipped test export, in UTF-8 and GBK: the numbers it must give."""

from __future__ import annotations

from pathlib import Path

import pytest
from exports_kit import export, leaks, planted, sql, truth

from workbench.data import importers, privacy
from workbench.data.importers.pseudonym import PseudonymKey
from workbench.errors import DataError

KEY = PseudonymKey("platform-test-key", "test")
ORDERS = truth()
SHIPPED = [o for o in ORDERS if o["carrier"]]


def _import(kind: str, files: tuple[Path, ...], out: Path, mapping=None):
    items = files[1] if len(files) > 1 else None
    return importers.import_file(kind, files[0], out, mapping, key=KEY, items=items)


def _official(o: dict) -> tuple[str, str]:
    return o["buyer"]["province"], o["buyer"]["city"]


@pytest.mark.parametrize("encoding", ["utf8", "gbk"])
def test_taobao_order_and_item_reports(tmp_path: Path, encoding: str) -> None:
    out = tmp_path / "shop"
    rep = _import("taobao", (export("taobao_orders", encoding), export("taobao_items", encoding)), out)
    (n, paid), = sql(out, "SELECT count(*), round(sum(paid_amount), 2) FROM orders")
    assert n == len(ORDERS)
    assert paid == pytest.approx(sum(o["paid"] for o in ORDERS), abs=0.01)
    # the item report gives one line per item with the merchant's SKU code, price and quantity
    lines = sql(out, "SELECT product_id, quantity, unit_price FROM order_items ORDER BY order_id, line_no")
    assert len(lines) == sum(len(o["lines"]) for o in ORDERS)
    assert sum(q for _, q, _ in lines) == sum(q for o in ORDERS for _, q in o["lines"])
    assert {p for p, _, _ in lines} == {"SKU-COAT-01", "SKU-SCARF-02", "SKU-CREAM-03", "SKU-SHOE-04"}
    prices = dict(sql(out, "SELECT product_id, list_price_cny FROM products"))
    assert prices == {"SKU-COAT-01": 599.0, "SKU-SCARF-02": 199.0, "SKU-CREAM-03": 129.0, "SKU-SHOE-04": 359.0}
    # statuses, refunds
    status = dict(sql(out, "SELECT status, count(*) FROM orders GROUP BY 1"))
    for s in ("completed", "refunded", "cancelled", "shipped", "paid"):
        assert status.get(s, 0) == sum(1 for o in ORDERS if o["status"] == s)
    # carrier and receipt time into shipments
    ships = sql(out, "SELECT carrier, status, delivered_at IS NOT NULL FROM shipments")
    assert len(ships) == len(SHIPPED)
    assert sorted(c for c, _, _ in ships) == sorted(o["carrier"] for o in SHIPPED)
    assert sum(1 for _, s, _ in ships if s == "delivered") == sum(1 for o in SHIPPED if o["received"])
    # region and city: the province and city only, in their official names
    pairs = set(sql(out, "SELECT DISTINCT region, city FROM orders"))
    assert pairs == {_official(o) for o in ORDERS}
    assert not leaks(out, planted())
    assert rep.tables["shipments"] == len(SHIPPED)


def test_gbk_and_utf8_exports_give_the_same_tables(tmp_path: Path) -> None:
    for enc in ("utf8", "gbk"):
        _import("pinduoduo", (export("pinduoduo_orders", enc),), tmp_path / enc)
    for table in ("orders", "order_items", "shipments", "customers"):
        assert (tmp_path / "utf8" / f"{table}.parquet").read_bytes() == \
               (tmp_path / "gbk" / f"{table}.parquet").read_bytes(), table


@pytest.mark.parametrize("encoding", ["utf8", "gbk"])
def test_pinduoduo_export(tmp_path: Path, encoding: str) -> None:
    out = tmp_path / "shop"
    rep = _import("pinduoduo", (export("pinduoduo_orders", encoding),), out)
    # one item per Pinduoduo order: paid = goods of the first line + shipping - the shop's discount
    expect = {f"251101-{o['n'] * 104729 + 300000000000000:015d}":
              round(o["lines"][0][0][2] * o["lines"][0][1] + o["ship"] - o["disc"], 2) for o in ORDERS}
    got = dict(sql(out, "SELECT order_id, paid_amount FROM orders"))
    assert got == pytest.approx(expect)
    assert {c for (c,) in sql(out, "SELECT DISTINCT channel FROM orders")} == {"pinduoduo"}
    status = dict(sql(out, "SELECT status, count(*) FROM orders GROUP BY 1"))
    assert status["refunded"] == sum(1 for o in ORDERS if o["status"] == "refunded")
    assert status["completed"] == sum(1 for o in ORDERS if o["status"] == "completed")
    assert len(sql(out, "SELECT * FROM shipments")) == len(SHIPPED)
    # the recipient's phone is the buyer: one pseudonym per phone, never the number
    assert len(sql(out, "SELECT DISTINCT customer_id FROM orders")) == len({o["buyer"]["phone"] for o in ORDERS})
    assert set(sql(out, "SELECT DISTINCT region, city FROM orders")) == {_official(o) for o in ORDERS}
    assert not leaks(out, planted())
    assert "商家备忘" in rep.personal_data_dropped


@pytest.mark.parametrize("encoding", ["utf8", "gbk"])
def test_douyin_export(tmp_path: Path, encoding: str) -> None:
    out = tmp_path / "shop"
    _import("douyin", (export("douyin_orders", encoding),), out)
    (n, paid), = sql(out, "SELECT count(*), round(sum(paid_amount), 2) FROM orders")
    assert n == len(ORDERS)
    # the order amount repeated on each sub-order row is taken once
    assert paid == pytest.approx(sum(o["paid"] for o in ORDERS), abs=0.01)
    (units, value), = sql(out, "SELECT sum(quantity), round(sum(quantity * unit_price), 2) FROM order_items")
    assert units == sum(q for o in ORDERS for _, q in o["lines"])
    assert value == pytest.approx(sum(p[2] * q for o in ORDERS for p, q in o["lines"]), abs=0.01)
    assert {c for (c,) in sql(out, "SELECT DISTINCT channel FROM orders")} == {"douyin"}
    assert len(sql(out, "SELECT * FROM shipments")) == len(SHIPPED)
    assert not leaks(out, planted())


@pytest.mark.parametrize("encoding", ["utf8", "gbk"])
def test_jd_through_the_shipped_generic_example(tmp_path: Path, encoding: str) -> None:
    out = tmp_path / "shop"
    rep = _import("generic", (export("jd_orders", encoding),), out, mapping="jd")
    (n, paid), = sql(out, "SELECT count(*), round(sum(paid_amount), 2) FROM orders")
    assert n == len(ORDERS)
    assert paid == pytest.approx(sum(o["paid"] for o in ORDERS), abs=0.01)
    assert {c for (c,) in sql(out, "SELECT DISTINCT channel FROM orders")} == {"jd"}
    assert rep.mapping == "generic_jd.yaml"
    assert not leaks(out, planted())


@pytest.mark.parametrize("encoding", ["utf8", "gbk"])
def test_phone_numbers_as_member_ids_in_a_transaction_log(tmp_path: Path, encoding: str) -> None:
    out = tmp_path / "shop"
    _import("transactions", (export("transactions_log", encoding),), out)
    ids = {c for (c,) in sql(out, "SELECT DISTINCT customer_id FROM orders")}
    assert ids == {KEY.pseudonym(o["buyer"]["phone"]) for o in ORDERS}
    assert not leaks(out, planted())


def test_shopify_export(tmp_path: Path) -> None:
    out = tmp_path / "shop"
    fx = tmp_path / "fx.yaml"
    fx.write_text("fx_rates: {USD: 7.2}\n", encoding="utf-8")
    _import("shopify", (export("shopify_orders"),), out, mapping=fx)
    # every order is kept (voided ones as cancelled), its total converted at the mapping's rate
    (n, paid_usd), = sql(out, "SELECT count(*), round(sum(paid_amount), 2) FROM orders")
    assert n == len(ORDERS)
    assert paid_usd == pytest.approx(sum(round(o["paid"] / 7.2, 2) for o in ORDERS), abs=0.01)
    status = dict(sql(out, "SELECT status, count(*) FROM orders GROUP BY 1"))
    assert status["cancelled"] == sum(1 for o in ORDERS if o["status"] == "cancelled")
    assert not leaks(out, planted())
    # a Western street address is personal data as well
    assert privacy.kind_of("12 Baker Street") == "address"


def test_an_item_report_needs_the_order_number(tmp_path: Path) -> None:
    bad = tmp_path / "items.csv"
    bad.write_text("标题,价格,购买数量\n羊毛大衣,599,1\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        _import("taobao", (export("taobao_orders"), bad), tmp_path / "shop")
    msg = str(err.value)
    assert "items.csv" in msg and "订单编号" in msg and "--items" in msg


@pytest.mark.parametrize("kind, name", [("pinduoduo", "pinduoduo_orders"), ("douyin", "douyin_orders")])
def test_suggest_recognises_the_platform(kind: str, name: str) -> None:
    text = importers.suggest_mapping(export(name, "gbk"))
    assert f"look like a {kind} export" in text
    assert f"channel: {kind}" in text
