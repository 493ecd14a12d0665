"""Personal data planted in the exports of every platform reaches no file that an import or a batch writes.

The shipped test exports (tests/fixtures/exports: Taobao order and item reports, Pinduoduo, Douyin,
JD through the generic importer, Shopify, a transaction log whose member ids are phone numbers)
carry buyers' names, phone numbers, e-mails, ID-card numbers and street addresses in every column
a platform puts them in, and some where it does not (a phone number in a coupon column, an ID
number in a note, an e-mail in a buyer's message). All of them are imported into one dataset; then
every file under the dataset, and every file a full batch over it writes (pages, findings JSON,
CSV, Parquet, notebooks), is read as text and searched for each planted value.
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
