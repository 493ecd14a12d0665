"""Personal data planted in the exports of every platform reaches no file that an import or a batch writes.

The shipped test exports (tests/fixtures/exports: Taobao order and item reports, Pinduoduo, Douyin,
JD through the generic importer, Shopify, a transaction log whose member ids are phone numbers)
carry buyers' names, phone numbers, e-mails, ID-card numbers and street addresses in every column
a platform puts them in, and some where it does not (a phone number in a coupon column, an ID
number in a note, an e-mail in a buyer's message). All of them are imported into one dataset; then
every file under the dataset, and every file a full batch over it writes (pages, findings JSON,
CSV, Parquet, notebooks), is read as text and searched for each planted value. Each platform is
also imported on its own, and a batch runs over native tables whose personal data sits where no
sample looks (late rows, inside review texts and codes).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))
from exports_kit import export, leaks, planted

from workbench.data import importers

ROOT = Path(__file__).resolve().parents[1]
IMPORTS = [
    ("taobao", "taobao_orders", "gbk", {"items": "taobao_items"}),
    ("pinduoduo", "pinduoduo_orders", "gbk", {}),
    ("douyin", "douyin_orders", "utf8", {}),
    ("generic", "jd_orders", "gbk", {"mapping": "jd"}),
    ("shopify", "shopify_orders", "utf8", {"mapping": "fx"}),
    ("transactions", "transactions_log", "gbk", {}),
]


def import_everything(tmp: Path) -> Path:
    """Import every platform's test export into one dataset folder; return it."""
    fx = tmp / "fx.yaml"
    fx.write_text("fx_rates: {USD: 7.2}\n", encoding="utf-8")
    shop = tmp / "shop"
    for kind, name, enc, extra in IMPORTS:
        mapping = {"fx": fx, "jd": "jd"}.get(extra.get("mapping"))
        items = export(extra["items"], enc) if "items" in extra else None
        importers.import_file(kind, export(name, enc), shop, mapping, items=items)
    return shop


def test_no_planted_personal_data_in_the_imported_dataset(tmp_path: Path) -> None:
    shop = import_everything(tmp_path)
    secrets = planted()
    assert len(secrets) > 50
    files = [f for f in shop.rglob("*") if f.is_file()]
    assert {f.name for f in files} >= {"orders.parquet", "order_items.parquet", "customers.parquet",
                                       "shipments.parquet", "import_report.json"}
    assert leaks(shop, secrets) == {}


@pytest.mark.parametrize("kind, name, enc, extra", IMPORTS, ids=[i[1] for i in IMPORTS])
def test_each_platform_alone_leaves_no_planted_personal_data(tmp_path: Path, kind: str, name: str, enc: str,
                                                             extra: dict) -> None:
    """Each input kind on its own (so one platform's masking cannot hide behind another's merge)."""
    fx = tmp_path / "fx.yaml"
    fx.write_text("fx_rates: {USD: 7.2}\n", encoding="utf-8")
    mapping = {"fx": fx, "jd": "jd"}.get(extra.get("mapping"))
    items = export(extra["items"], enc) if "items" in extra else None
    source = export(name, enc)
    shop = tmp_path / "shop"
    importers.import_file(kind, source, shop, mapping, items=items)
    raw = source.read_bytes().decode("utf-8" if enc == "utf8" else "gbk")
    secrets = [s for s in planted() if s in raw]
    assert len(secrets) >= 10, name                      # the export does carry personal data
    assert leaks(shop, secrets) == {}


NATIVE_PLANTED = ["13812340001", "13812340002", "buyer99@mail-example.cn", "11010519491231002X",
                  "广东省深圳市南山区科技园路3号502室", "科技园路3号502室"]


def native_shop(tmp: Path) -> Path:
    """The sample shop as native tables, with personal data planted where no sample looks (late rows,
    inside review texts, coupon codes and a buyer id)."""
    import pandas as pd

    from workbench.data.sample import generate

    shop = tmp / "native"
    generate(shop, scale=0.05, seed=7)
    reviews = pd.read_parquet(shop / "reviews.parquet")
    late = len(reviews) - 3
    reviews["text"] = reviews["text"].astype(object)
    reviews.loc[late, "text"] = "快递员说地址广东省深圳市南山区科技园路3号502室不对，电话13812340001"
    reviews.loc[late + 1, "text"] = "开发票用身份证11010519491231002X"
    reviews.to_parquet(shop / "reviews.parquet")
    orders = pd.read_parquet(shop / "orders.parquet")
    orders["coupon_code"] = orders["coupon_code"].astype(object)
    orders.loc[len(orders) - 2, "coupon_code"] = "VIP13812340002"
    orders.loc[len(orders) - 1, "coupon_code"] = "buyer99@mail-example.cn"
    orders.to_parquet(shop / "orders.parquet")
    return shop


@pytest.mark.slow
def test_no_planted_personal_data_in_anything_a_batch_over_native_tables_writes(tmp_path: Path) -> None:
    shop = native_shop(tmp_path)
    out = tmp_path / "reports"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "WORKBENCH_SCAN_DIR": str(tmp_path / "scans")}
    proc = subprocess.run([sys.executable, "-m", "workbench.cli", "run", "--data", str(shop), "--period", "all",
                           "--out", str(out), "--jobs", "2"], check=False, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=1800)
    assert "Traceback" not in proc.stderr
    written = [f for f in out.rglob("*") if f.is_file()]
    assert any(f.suffix == ".html" for f in written)
    assert leaks(out, NATIVE_PLANTED) == {}
    assert not any(s in proc.stdout + proc.stderr for s in NATIVE_PLANTED)


@pytest.mark.slow
def test_no_planted_personal_data_in_anything_a_batch_writes(tmp_path: Path) -> None:
    shop = import_everything(tmp_path)
    out = tmp_path / "reports"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-m", "workbench.cli", "run", "--data", str(shop), "--period", "all",
                           "--out", str(out), "--jobs", "2"], check=False, cwd=ROOT, env=env, capture_output=True,
                          text=True,
                          timeout=1800)
    assert "Traceback" not in proc.stderr
    written = [f for f in out.rglob("*") if f.is_file()]
    assert any(f.suffix == ".html" for f in written) and any(f.name.endswith(".findings.json") for f in written)
    secrets = planted()
    assert leaks(out, secrets) == {}
    assert leaks(shop, secrets) == {}
    assert secrets[0] not in proc.stdout + proc.stderr
