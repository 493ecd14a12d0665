"""Importers: Taobao (GBK, both shapes), Shopify and a bare transaction log, built here in the tests.

Each import must load with ``workbench.load`` without errors, keep the export's totals, carry no
personal data into any Parquet file, be idempotent, merge a newer overlapping export without
double counting, and fail on a missing essential column with a message naming file, column, fix.
"""

from __future__ import annotations

import csv
import html
import random
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

import workbench
from workbench import cli
from workbench.data.importers import import_file, suggest_mapping
from workbench.data.importers.pseudonym import KEY_ENV, PseudonymKey
from workbench.errors import DataError

ROOT = Path(__file__).resolve().parents[2]
KEY = PseudonymKey("test-key-not-secret", "test")

SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄"]
GIVEN = ["小明", "丽丽", "建国", "秀英", "伟", "芳", "静", "强"]
CITIES = [("浙江省", "杭州市"), ("广东省", "深圳市"), ("上海", "上海市"), ("北京", "北京市"), ("四川省", "成都市")]
TAOBAO_HEADERS = ["订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "总金额", "买家实际支付金额",
                  "订单状态", "收货人姓名", "收货地址", "联系手机", "订单创建时间", "订单付款时间", "宝贝标题", "宝贝总数量",
                  "店铺名称"]
TAOBAO_STATUSES = ["交易成功"] * 6 + ["交易关闭", "卖家已发货，等待买家确认", "买家已付款，等待卖家发货", "退款成功",
                                    "等待买家付款"]
TITLES = ["羊毛大衣 黑色", "真丝围巾", "保湿面霜 50ml", "运动鞋 42码", "蓝牙耳机"]


@pytest.fixture(autouse=True)
def _pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed key through the environment, so no test writes a key file into $HOME."""
    monkeypatch.setenv(KEY_ENV, KEY.secret)


def _yuan(x: float, rng: random.Random) -> str:
    sign = rng.choice(["￥", "", "￥"])
    return f"{sign}{x:,.2f}"


def taobao_buyers(n: int = 12) -> list[dict]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 3) % len(GIVEN)]
        prov, city = CITIES[i % len(CITIES)]
        out.append({"nick": f"买家{i:03d}号_tb", "name": name, "phone": f"139{rng.randrange(10**8):08d}",
                    "alipay": f"buyer{i}@alipay-example.cn",
                    "address": f"{prov} {city} 某某区 幸福路{100 + i}号{i + 1}栋{i + 2}0{i % 9}室"})
    return out


def taobao_orders(first: int, n: int, seed: int = 1) -> list[dict]:
    """Orders as the test knows them (the truth the export is made from)."""
    rng = random.Random(seed)
    buyers = taobao_buyers()
    orders = []
    for k in range(first, first + n):
        b = buyers[k % len(buyers)]
        items = [(rng.choice(TITLES), rng.randint(1, 3), round(rng.uniform(20, 800), 2))
                 for _ in range(rng.choice([1, 1, 2, 3]))]
        goods = round(sum(q * p for _, q, p in items), 2)
        ship = rng.choice([0.0, 0.0, 8.0, 12.0])
        coupon = rng.choice([0.0, 0.0, 10.0, 20.0]) if goods > 100 else 0.0
        status = TAOBAO_STATUSES[k % len(TAOBAO_STATUSES)]
        day = 1 + k % 27
        orders.append({"id": f"{3600000000000 + k}", "buyer": b, "items": items, "goods": goods, "ship": ship,
                       "paid": round(goods + ship - coupon, 2), "status": status,
                       "created": f"2024-04-{day:02d} {k % 24:02d}:{k % 60:02d}:11",
                       "paid_at": "" if status == "等待买家付款" else f"2024-04-{day:02d} {k % 24:02d}:{k % 60:02d}:59"})
    return orders


def write_taobao(path: Path, orders: list[dict], shape: str = "order", encoding: str = "gbk",
                 drop_header: str | None = None) -> Path:
    """A Taobao-style export: one order per row (订单报表) or one item per row (宝贝明细)."""
    rng = random.Random(3)
    if shape == "order":
        headers = list(TAOBAO_HEADERS)
        rows = []
        for o in orders:
            b = o["buyer"]
            rows.append([f'="{o["id"]}"', b["nick"], b["alipay"], _yuan(o["goods"], rng), _yuan(o["ship"], rng),
                         _yuan(o["goods"] + o["ship"], rng), _yuan(o["paid"], rng), o["status"], b["name"],
                         b["address"], b["phone"], o["created"], o["paid_at"],
                         "，".join(t for t, _, _ in o["items"]), str(sum(q for _, q, _ in o["items"])), "某某旗舰店"])
    else:
        headers = ["订单编号", "买家会员名", "收货人姓名", "联系手机", "收货地址", "订单付款时间", "订单创建时间", "订单状态",
                   "商品标题", "商家编码", "单价", "购买数量", "实付金额", "邮费"]
        rows = []
        for o in orders:
            b = o["buyer"]
            share = (o["paid"] - o["ship"]) / o["goods"]
            for t, q, p in o["items"]:
                rows.append([o["id"], b["nick"], b["name"], b["phone"], b["address"], o["paid_at"], o["created"],
                             o["status"], t, "SKU-" + str(TITLES.index(t)), f"{p:.2f}", str(q),
                             f"￥{q * p * share:,.2f}", f"{o['ship']:.2f}"])
    if drop_header:
        i = headers.index(drop_header)
        headers = headers[:i] + headers[i + 1:]
        rows = [r[:i] + r[i + 1:] for r in rows]
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows(rows)
    return path


SHOPIFY_HEADERS = ["Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
                   "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code",
                   "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
                   "Lineitem price", "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
                   "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street",
                   "Billing Address1", "Billing City", "Billing Zip", "Billing Country", "Billing Phone",
                   "Shipping Name", "Shipping Street", "Shipping Address1", "Shipping City", "Shipping Zip",
                   "Shipping Province", "Shipping Country", "Shipping Phone", "Notes", "Cancelled at",
                   "Payment Method", "Refunded Amount", "Vendor", "Id", "Tags", "Risk Level", "Source",
                   "Lineitem discount", "Phone"]
SHOPIFY_PEOPLE = [("Jane Roe", "jane.roe@example.com", "+1 415 555 0100", "12 Market Street"),
                  ("John Smith", "JOHN.SMITH@example.org", "+44 20 7946 0958", "221B Baker Street"),
                  ("Maria Garcia", "maria.g@example.net", "+34 600 123 456", "Calle Mayor 5"),
                  ("Wei Chen", "wei.chen@example.com", "+1 206 555 0199", "400 Pine Avenue")]


def shopify_orders(first: int, n: int) -> list[dict]:
    rng = random.Random(11)
    statuses = ["paid", "paid", "paid", "refunded", "partially_refunded", "voided", "pending"]
    out = []
    for k in range(first, first + n):
        person = SHOPIFY_PEOPLE[k % len(SHOPIFY_PEOPLE)]
        items = [(f"Silk scarf {c}", f"SCARF-{c}", rng.randint(1, 2), round(rng.uniform(15, 120), 2))
                 for c in rng.sample(["red", "blue", "green", "ivory"], rng.choice([1, 2, 3]))]
        lines = round(sum(q * p for _, _, q, p in items), 2)
        discount = 5.0 if k % 3 == 0 else 0.0
        subtotal = round(lines - discount, 2)
        shipping, taxes = 7.5, round(subtotal * 0.08, 2)
        total = round(subtotal + shipping + taxes, 2)
        status = statuses[k % len(statuses)]
        refunded = total if status == "refunded" else (10.0 if status == "partially_refunded" else 0.0)
        out.append({"name": f"#{1000 + k}", "person": person, "items": items, "discount": discount,
                    "subtotal": subtotal, "shipping": shipping, "taxes": taxes, "total": total, "status": status,
                    "refunded": refunded, "at": f"2024-05-{1 + k % 28:02d} {k % 24:02d}:15:00 -0400",
                    "currency": "USD"})
    return out


def write_shopify(path: Path, orders: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=SHOPIFY_HEADERS)
        w.writeheader()
        for o in orders:
            name, email, phone, street = o["person"]
            for i, (title, sku, q, p) in enumerate(o["items"]):
                row = {h: "" for h in SHOPIFY_HEADERS}
                row.update({"Name": o["name"], "Email": email if i == 0 else email.lower(),
                            "Created at": o["at"], "Lineitem quantity": q, "Lineitem name": title,
                            "Lineitem price": p, "Lineitem sku": sku, "Lineitem discount": 0,
                            "Lineitem requires shipping": "true", "Lineitem taxable": "true", "Vendor": "Acme"})
                if i == 0:  # Shopify fills order fields on the first line item only
                    row.update({"Financial Status": o["status"], "Paid at": "" if o["status"] == "pending" else o["at"],
                                "Currency": o["currency"], "Subtotal": o["subtotal"], "Shipping": o["shipping"],
                                "Taxes": o["taxes"], "Total": o["total"], "Discount Amount": o["discount"],
                                "Discount Code": "WELCOME5" if o["discount"] else "",
                                "Billing Name": name, "Billing Street": street, "Billing Address1": street,
                                "Billing City": "Springfield", "Billing Zip": "94103", "Billing Country": "US",
                                "Billing Phone": phone, "Shipping Name": name, "Shipping Street": street,
                                "Shipping Address1": street, "Shipping City": "Springfield", "Shipping Zip": "94103",
                                "Shipping Province": "CA", "Shipping Country": "US", "Shipping Phone": phone,
                                "Phone": phone, "Notes": f"call {name} before delivery",
                                "Refunded Amount": o["refunded"], "Payment Method": "Shopify Payments",
                                "Id": str(5000000 + int(o["name"][1:])), "Source": "web"})
                w.writerow(row)
    return path


def transaction_rows(first_day: int, days: int) -> list[tuple[str, str, int, float]]:
    """A CDNOW-style log: customer, date (YYYYMMDD), quantity, amount."""
    rng = random.Random(5)
    rows = []
    for d in range(first_day, first_day + days):
        for c in rng.sample(range(1, 40), 6):
            q = rng.randint(1, 4)
            rows.append((f"{c:05d}", f"199703{d:02d}", q, round(q * rng.uniform(8, 30), 2)))
    return rows


def write_transactions(path: Path, rows: list[tuple]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["customer_id", "date", "quantity", "amount"])
        w.writerows(rows)
    return path


def parquet_text(folder: Path) -> tuple[bytes, str]:
    """All bytes of the Parquet files, and every value decoded as text (compression hides raw strings)."""
    raw, text = b"", []
    for p in sorted(folder.glob("*.parquet")):
        raw += p.read_bytes()
        t = pq.read_table(p)
        text += [t.schema.to_string()]
        for col in t.columns:
            text += [str(v) for v in col.to_pylist()]
    return raw, "\n".join(text)


def assert_no_personal_data(folder: Path, secrets: list[str]) -> None:
    raw, text = parquet_text(folder)
    for s in secrets:
        for variant in {s, s.lower()}:
            assert variant not in text, f"personal data {variant!r} found in the Parquet values"
            assert variant.encode("utf-8") not in raw, f"personal data {variant!r} found in the Parquet bytes"


def sql(folder: Path, query: str) -> list[tuple]:
    return duckdb.sql(query.replace("{d}", str(folder))).fetchall()


# ---------------------------------------------------------------- Taobao

def test_taobao_gbk_one_order_per_row(tmp_path: Path) -> None:
    orders = taobao_orders(0, 40)
    src = write_taobao(tmp_path / "订单报表.csv", orders)
    out = tmp_path / "shop"
    rep = import_file("taobao", src, out)

    ds = workbench.load(out)  # raises on any error
    assert not ds.errors
    assert rep.encoding in ("gb18030", "gbk")
    kept = [o for o in orders if o["status"] != "等待买家付款"]
    got = ds.sql("SELECT count(*) AS n, sum(paid_amount) AS paid, sum(shipping_fee) AS ship FROM orders").iloc[0]
    assert got["n"] == len(kept)
    assert got["paid"] == pytest.approx(sum(o["paid"] for o in kept), abs=0.01)
    assert got["ship"] == pytest.approx(sum(o["ship"] for o in kept), abs=0.01)
    units = ds.sql("SELECT sum(quantity) FROM order_items").iloc[0, 0]
    assert units == sum(q for o in kept for _, q, _ in o["items"])
    # line values add up to what was paid for the goods
    lines = ds.sql("SELECT sum(quantity * unit_price) FROM order_items").iloc[0, 0]
    assert lines == pytest.approx(sum(o["paid"] - o["ship"] for o in kept), abs=0.05)
    status = dict(ds.sql("SELECT status, count(*) FROM orders GROUP BY 1").itertuples(index=False))
    expect = {"交易成功": "completed", "交易关闭": "cancelled", "卖家已发货，等待买家确认": "shipped",
              "买家已付款，等待卖家发货": "paid", "退款成功": "refunded"}
    for zh, en in expect.items():
        assert status[en] == sum(1 for o in kept if o["status"] == zh)
    assert rep.dropped_rows == {"status mapped to drop (e.g. not paid yet)": len(orders) - len(kept)}
    # discounts: goods + shipping - paid
    disc = ds.sql("SELECT sum(discount_amount) FROM orders").iloc[0, 0]
    assert disc == pytest.approx(sum(o["goods"] + o["ship"] - o["paid"] for o in kept), abs=0.05)
    # province and city kept, the rest of the address dropped
    # (the official names of the province list: "北京" in an address is 北京市)
    pairs = set(ds.sql("SELECT DISTINCT region, city FROM orders").itertuples(index=False, name=None))
    assert pairs == {("浙江省", "杭州市"), ("广东省", "深圳市"), ("上海市", "上海市"), ("北京市", "北京市"),
                     ("四川省", "成都市")}
    buyers = taobao_buyers()
    assert_no_personal_data(out, [b[k] for b in buyers for k in ("nick", "name", "phone", "alipay", "address")]
                            + ["幸福路"])
    assert set(rep.personal_data_dropped) >= {"收货人姓名", "联系手机", "收货地址", "买家支付宝账号"}
    assert "买家会员名 (replaced by a pseudonym)" in rep.personal_data_dropped
    # same buyer, same pseudonym
    assert ds.sql("SELECT count(DISTINCT customer_id) FROM orders").iloc[0, 0] == len(
        {o["buyer"]["nick"] for o in kept})
    nick = kept[0]["buyer"]["nick"]
    n_nick = sum(1 for o in kept if o["buyer"]["nick"] == nick)
    assert ds.sql(f"SELECT count(*) FROM orders WHERE customer_id = '{KEY.pseudonym(nick)}'").iloc[0, 0] == n_nick
    assert (out / "import_report.json").exists()


def test_taobao_one_item_per_row(tmp_path: Path) -> None:
    orders = taobao_orders(0, 30, seed=4)
    src = write_taobao(tmp_path / "宝贝明细.csv", orders, shape="item", encoding="gb18030")
    out = tmp_path / "shop"
    rep = import_file("taobao", src, out)
    ds = workbench.load(out)
    kept = [o for o in orders if o["status"] != "等待买家付款"]
    assert ds.row_count("orders") == len(kept)
    assert ds.row_count("order_items") == sum(len(o["items"]) for o in kept)
    paid = ds.sql("SELECT sum(paid_amount) FROM orders").iloc[0, 0]
    # per-line 实付金额 is summed, the repeated shipping fee is taken once per order
    assert paid == pytest.approx(sum(o["paid"] - o["ship"] for o in kept), abs=0.05)
    assert ds.sql("SELECT sum(shipping_fee) FROM orders").iloc[0, 0] == pytest.approx(sum(o["ship"] for o in kept))
    assert any("paid_amount (summed over the item rows)" in a for a in rep.assumptions)
    assert any("shipping_fee (taken once per order)" in a for a in rep.assumptions)
    assert set(ds.sql("SELECT product_id FROM products")["product_id"]) <= {f"SKU-{i}" for i in range(len(TITLES))}
    assert ds.sql("SELECT sum(quantity) FROM order_items").iloc[0, 0] == sum(
        q for o in kept for _, q, _ in o["items"])
    assert_no_personal_data(out, [b[k] for b in taobao_buyers() for k in ("nick", "name", "phone")])


def test_missing_essential_column_names_file_column_and_fix(tmp_path: Path) -> None:
    src = write_taobao(tmp_path / "no_buyer.csv", taobao_orders(0, 5), drop_header="买家会员名")
    with pytest.raises(DataError) as err:
        import_file("taobao", src, tmp_path / "shop")
    msg = str(err.value)
    assert "no_buyer.csv" in msg and "买家会员名" in msg and "customer_id" in msg and "Fix:" in msg
    assert not (tmp_path / "shop" / "orders.parquet").exists()
    # through the command: a clean message, exit code 2, no traceback
    proc = subprocess.run([sys.executable, "-m", "workbench.cli", "import", "taobao", str(src), "--out",
                           str(tmp_path / "shop")], check=False, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "买家会员名" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_status_value_is_a_clear_error(tmp_path: Path) -> None:
    orders = taobao_orders(0, 5)
    orders[2]["status"] = "神秘状态"
    src = write_taobao(tmp_path / "odd.csv", orders, encoding="gb18030")
    with pytest.raises(DataError, match="神秘状态.*values: status"):
        import_file("taobao", src, tmp_path / "shop")


# ---------------------------------------------------------------- Shopify

def usd_rate(folder: Path) -> Path:
    """A mapping override that gives the export's currency a rate (7.2 CNY per USD)."""
    path = folder / "usd.yaml"
    path.write_text("fx_rates: {USD: 7.2}\n", encoding="utf-8")
    return path


def test_shopify_export(tmp_path: Path) -> None:
    orders = shopify_orders(0, 21)
    src = write_shopify(tmp_path / "orders_export_1.csv", orders)
    out = tmp_path / "shop"
    # USD needs a rate, which an export does not carry and the workbench does not invent
    no_rate = import_file("shopify", src, tmp_path / "no-rate")
    assert no_rate.fx["USD"].startswith("no rate known")
    with pytest.raises(DataError, match="USD have no exchange rate"):
        workbench.load(tmp_path / "no-rate")
    rep = import_file("shopify", src, out, usd_rate(tmp_path))
    ds = workbench.load(out)
    assert not ds.errors
    assert ds.row_count("orders") == len(orders)
    got = ds.sql("SELECT sum(paid_amount), sum(discount_amount), sum(shipping_fee), sum(gross_amount) FROM orders"
                 ).iloc[0].tolist()
    assert got[0] == pytest.approx(sum(o["total"] for o in orders), abs=0.01)
    assert got[1] == pytest.approx(sum(o["discount"] for o in orders), abs=0.01)
    assert got[2] == pytest.approx(sum(o["shipping"] for o in orders), abs=0.01)
    assert got[3] == pytest.approx(sum(o["subtotal"] + o["discount"] for o in orders), abs=0.01)
    assert ds.row_count("order_items") == sum(len(o["items"]) for o in orders)
    assert ds.sql("SELECT sum(quantity) FROM order_items").iloc[0, 0] == sum(
        q for o in orders for _, _, q, _ in o["items"])
    status = dict(ds.sql("SELECT status, count(*) FROM orders GROUP BY 1").itertuples(index=False))
    assert status["refunded"] == sum(o["status"] == "refunded" for o in orders)
    assert status["cancelled"] == sum(o["status"] == "voided" for o in orders)
    assert status["paid"] == sum(o["status"] == "pending" for o in orders)
    refunds = ds.sql("SELECT count(*), sum(refund_amount) FROM returns").iloc[0].tolist()
    assert refunds[0] == sum(o["refunded"] > 0 for o in orders)
    assert refunds[1] == pytest.approx(sum(o["refunded"] for o in orders))
    assert "USD" in rep.fx and "from the mapping" in rep.fx["USD"]
    gmv = ds.sql("SELECT sum(gmv_cny) FROM orders_cny").iloc[0, 0]
    assert gmv == pytest.approx(7.2 * sum(o["total"] for o in orders), rel=1e-6)
    # an e-mail in upper and lower case is one customer
    assert ds.row_count("customers") == len(SHOPIFY_PEOPLE)
    assert ds.sql("SELECT DISTINCT country FROM orders")["country"].tolist() == ["US"]
    assert_no_personal_data(out, [x for p in SHOPIFY_PEOPLE for x in p] + ["94103"])  # the city is kept on purpose
    assert "Billing Name" in rep.personal_data_dropped and "Phone" in rep.personal_data_dropped


def test_shopify_fixed_rate_from_mapping(tmp_path: Path) -> None:
    src = write_shopify(tmp_path / "orders_export.csv", shopify_orders(0, 7))
    override = tmp_path / "rates.yaml"
    override.write_text("fx_rates: {USD: 7.0}\nchannel: wechat_mini\n", encoding="utf-8")
    rep = import_file("shopify", src, tmp_path / "shop", override)
    ds = workbench.load(tmp_path / "shop")
    assert set(ds.sql("SELECT DISTINCT fx_rate FROM orders_cny")["fx_rate"]) == {7.0}
    assert set(ds.sql("SELECT DISTINCT channel FROM orders")["channel"]) == {"wechat_mini"}
    assert "from the mapping" in rep.fx["USD"]


# ---------------------------------------------------------------- transaction log

def test_bare_transaction_log(tmp_path: Path) -> None:
    rows = transaction_rows(1, 20)
    src = write_transactions(tmp_path / "cdnow_like.csv", rows)
    out = tmp_path / "shop"
    rep = import_file("transactions", src, out)
    ds = workbench.load(out)
    assert not ds.errors
    # one order per customer and day
    assert ds.row_count("orders") == len({(c, d) for c, d, _, _ in rows})
    assert ds.sql("SELECT sum(paid_amount) FROM orders").iloc[0, 0] == pytest.approx(sum(r[3] for r in rows))
    assert ds.row_count("customers") == len({r[0] for r in rows})
    assert set(ds.sql("SELECT DISTINCT channel, status, currency FROM orders").itertuples(index=False)) == {
        ("offline_store", "completed", "CNY")}
    assert not ds.has("order_items")  # the log names no products
    text = " ".join(rep.assumptions)
    for stated in ("offline_store", "completed", "CNY", "no order number", "YYYYMMDD"):
        assert stated in text
    assert str(ds.sql("SELECT min(order_date) FROM orders_cny").iloc[0, 0])[:10] == "1997-03-01"


def test_uci_like_log_drops_cancellations_and_anonymous_rows(tmp_path: Path) -> None:
    src = tmp_path / "online_retail.csv"
    rows = [["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"],
            ["536365", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", "6", "12/1/2010 8:26", "2.55", "17850",
             "United Kingdom"],
            ["536365", "71053", "WHITE METAL LANTERN", "6", "12/1/2010 8:26", "3.39", "17850", "United Kingdom"],
            ["536366", "22633", "HAND WARMER UNION JACK", "6", "12/13/2010 8:28", "1.85", "13047", "United Kingdom"],
            ["C536379", "D", "Discount", "-1", "12/1/2010 9:41", "27.5", "14527", "United Kingdom"],
            ["536414", "22139", "RETROSPOT TEA SET", "56", "12/1/2010 11:52", "0", "", "United Kingdom"]]
    with open(src, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    override = tmp_path / "uk.yaml"
    override.write_text("currency: GBP\ntimezone: Europe/London\nchannel: cross_border\nfx_rates: {GBP: 9.2}\n",
                        encoding="utf-8")
    rep = import_file("transactions", src, tmp_path / "shop", override)
    ds = workbench.load(tmp_path / "shop")
    assert ds.row_count("orders") == 2 and ds.row_count("order_items") == 3
    assert ds.sql("SELECT sum(paid_amount) FROM orders").iloc[0, 0] == pytest.approx(6 * 2.55 + 6 * 3.39 + 6 * 1.85)
    assert rep.dropped_rows["no buyer"] == 1
    assert any(k.startswith("quantity zero or negative") for k in rep.dropped_rows)
    assert "MM/DD/YYYY" in " ".join(rep.assumptions)
    # 8:26 in London is 16:26 in Shanghai
    t = ds.sql("SELECT strftime(min(ordered_at), '%H:%M') FROM orders").iloc[0, 0]
    assert t == "16:26"
    assert "GBP" in rep.fx


# ---------------------------------------------------------------- idempotence and merging

def test_reimport_is_byte_identical(tmp_path: Path) -> None:
    src = write_shopify(tmp_path / "orders_export.csv", shopify_orders(0, 14))
    out = tmp_path / "shop"
    import_file("shopify", src, out, usd_rate(tmp_path))
    first = {p.name: p.read_bytes() for p in out.glob("*.parquet")}
    rep = import_file("shopify", src, out, usd_rate(tmp_path))
    second = {p.name: p.read_bytes() for p in out.glob("*.parquet")}
    assert first == second
    assert rep.merge["replaced"] == 14 and rep.merge["added"] == 0
    # and a fresh folder gives the same bytes too
    import_file("shopify", src, tmp_path / "again", usd_rate(tmp_path))
    assert {p.name: p.read_bytes() for p in (tmp_path / "again").glob("*.parquet")} == first


def test_newer_overlapping_export_does_not_double_count(tmp_path: Path) -> None:
    out = tmp_path / "shop"
    march = taobao_orders(0, 30)
    import_file("taobao", write_taobao(tmp_path / "a.csv", march), out)
    april = taobao_orders(20, 25)  # orders 20..44: 10 overlap
    for o in april:
        if o["id"] == march[22]["id"]:
            o["status"] = "退款成功"  # the newer export knows the order was refunded
    rep = import_file("taobao", write_taobao(tmp_path / "b.csv", april), out)
    ds = workbench.load(out)
    merged = {o["id"]: o for o in march}
    merged.update({o["id"]: o for o in april})
    kept = [o for o in merged.values() if o["status"] != "等待买家付款"]
    assert ds.row_count("orders") == len(kept)
    assert ds.sql("SELECT sum(paid_amount) FROM orders").iloc[0, 0] == pytest.approx(sum(o["paid"] for o in kept),
                                                                                     abs=0.01)
    assert ds.sql(f"SELECT status FROM orders WHERE order_id = '{march[22]['id']}'").iloc[0, 0] == "refunded"
    assert ds.sql("SELECT count(*) FROM (SELECT order_id FROM order_items GROUP BY 1, line_no HAVING count(*) > 1)"
                  ).iloc[0, 0] == 0
    assert rep.merge["replaced"] == sum(1 for o in april if o["id"] in {m["id"] for m in march}
                                        and o["status"] != "等待买家付款"
                                        and next(m for m in march if m["id"] == o["id"])["status"] != "等待买家付款")
    # importing the older export again after the newer one: the last import wins, still no double count
    import_file("taobao", tmp_path / "a.csv", out)
    assert workbench.load(out).row_count("orders") == len(kept)


def test_pseudonyms_are_stable_across_imports_and_keyed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = write_taobao(tmp_path / "t.csv", taobao_orders(0, 10))
    import_file("taobao", src, tmp_path / "one")
    import_file("taobao", src, tmp_path / "two")
    ids = "SELECT list(customer_id ORDER BY customer_id) FROM '{d}/customers.parquet'"
    assert sql(tmp_path / "one", ids) == sql(tmp_path / "two", ids)
    monkeypatch.setenv(KEY_ENV, "another-key")
    import_file("taobao", src, tmp_path / "three")
    assert sql(tmp_path / "three", ids) != sql(tmp_path / "one", ids)
    with pytest.raises(DataError, match="another pseudonym key"):
        import_file("taobao", src, tmp_path / "one")


def test_key_file_is_created_outside_the_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.data.importers.pseudonym import load_key

    monkeypatch.delenv(KEY_ENV)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    key = load_key()
    path = tmp_path / "cfg" / "workbench" / "pseudonym.key"
    assert path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"
    assert load_key().secret == key.secret  # read back, not made anew


# ---------------------------------------------------------------- mapping suggestion and generic import

def test_suggest_proposes_the_taobao_mapping(tmp_path: Path) -> None:
    headers = ["订单编号", "买家会员名", "付款时间", "实付金额", "商品数量", "订单状态", "商品标题", "收货地址", "联系手机",
               "备注栏"]
    src = tmp_path / "export.csv"
    with open(src, "w", encoding="gbk", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerow(["1", "买家甲", "2024-06-01 10:00:00", "￥128.00", "2", "交易成功", "保湿面霜", "浙江省 杭州市 某路1号",
                    "13900000000", ""])
        w.writerow(["2", "买家乙", "2024-06-02 11:00:00", "￥1,024.50", "1", "交易关闭", "蓝牙耳机", "上海 上海市 某路2号",
                    "13900000001", ""])
    text = suggest_mapping(src)
    m = yaml.safe_load(text)
    assert m["columns"] == {"订单编号": "order_id", "买家会员名": "customer_id", "付款时间": "ordered_at",
                            "实付金额": "paid_amount", "商品数量": "quantity", "订单状态": "status",
                            "商品标题": "product_name", "收货地址": "address", "联系手机": "pii", "备注栏": "ignore"}
    assert m["values"]["status"] == {"交易成功": "completed", "交易关闭": "cancelled"}
    assert m["currency"] == "CNY" and m["channel"] == "tmall"
    # the proposal imports as it stands
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(text, encoding="utf-8")
    assert cli.main(["import", "generic", str(src), "--mapping", str(mapping), "--out", str(tmp_path / "shop")]) == 0
    ds = workbench.load(tmp_path / "shop")
    assert ds.sql("SELECT sum(paid_amount) FROM orders").iloc[0, 0] == pytest.approx(1152.5)
    assert_no_personal_data(tmp_path / "shop", ["买家甲", "13900000000", "某路1号"])


def test_suggest_recognises_shopify_headers(tmp_path: Path) -> None:
    src = write_shopify(tmp_path / "orders_export.csv", shopify_orders(0, 3))
    m = yaml.safe_load(suggest_mapping(src))
    cols = m["columns"]
    assert (cols["Name"], cols["Email"], cols["Total"], cols["Lineitem sku"], cols["Billing Name"]) == (
        "order_id", "customer_id", "paid_amount", "product_id", "pii")
    assert cols["Shipping Phone"] == "pii"


def test_generic_mapping_with_channel_values(tmp_path: Path) -> None:
    src = tmp_path / "erp.csv"
    with open(src, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["单号", "会员", "平台", "时间", "金额", "状态"])
        w.writerow(["A1", "m1", "京东", "2024/07/01 09:00", "100", "完成"])
        w.writerow(["A2", "m2", "抖音小店", "2024/07/01 10:00", "50", "取消"])
    mapping = tmp_path / "erp.yaml"
    mapping.write_text("""
columns: {单号: order_id, 会员: customer_id, 平台: channel, 时间: ordered_at, 金额: paid_amount, 状态: status}
values:
  channel: {抖音小店: douyin}
  status: {完成: completed, 取消: cancelled}
customer_ids: keep
""", encoding="utf-8")
    import_file("generic", src, tmp_path / "shop", mapping)
    ds = workbench.load(tmp_path / "shop")
    rows = sorted(ds.sql("SELECT order_id, customer_id, channel, status FROM orders").itertuples(index=False))
    assert [tuple(r) for r in rows] == [("A1", "m1", "jd", "completed"), ("A2", "m2", "douyin", "cancelled")]
    with pytest.raises(DataError, match="needs a mapping file"):
        import_file("generic", src, tmp_path / "other")


# ---------------------------------------------------------------- every notebook on each import

@pytest.mark.slow
def test_partial_dataset_notebooks(tmp_path: Path) -> None:
    """Each imported export (orders only, more or less) runs through every notebook without a failure."""
    datasets = {
        "taobao": import_file("taobao", write_taobao(tmp_path / "tb.csv", taobao_orders(0, 300)), tmp_path / "tb").out,
        "shopify": import_file("shopify", write_shopify(tmp_path / "sh.csv", shopify_orders(0, 200)),
                               tmp_path / "sh", usd_rate(tmp_path)).out,
        "transactions": import_file("transactions", write_transactions(tmp_path / "tx.csv", transaction_rows(1, 28)),
                                    tmp_path / "tx").out,
    }
    from workbench import run

    failures = []
    for kind, data in datasets.items():
        result = run.run_batch(run.resolve_notebooks(), {"data": str(data), "period": "all"},
                               out=tmp_path / f"run-{kind}", jobs=2, timeout=300)
        failures += [f"{r.name} on {kind}: {(r.error or {}).get('evalue', '')[:300]}"
                     for r in result.notebooks if r.status != "succeeded"]
        # every section that could not run said so, and the index shows the skipped sections
        skipped = [s for r in result.notebooks for s in (r.findings or {}).get("sections", [])
                   if s["status"] == "skipped"]
        assert skipped and all(s["message"] for s in skipped)
        index = (result.run_dir / "index.html").read_text(encoding="utf-8")
        assert all(html.escape(s["title"], quote=True) in index for s in skipped)
    assert not failures, "\n".join(failures)
