"""Helpers the tests share (importable as ``testkit``): a tiny hand-made shop, and the catalogue keys a notebook names.

Fixtures live in ``conftest.py``; plain functions live here, because several folders have a
``conftest.py`` and ``from conftest import ...`` would pick whichever comes first on the path.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_SOURCES = ROOT / "notebooks" / "src"


def tiny_tables() -> dict[str, pd.DataFrame]:
    """A small, valid shop: 3 customers, 2 products, 4 orders (one in USD), their lines and rates."""
    customers = pd.DataFrame({
        "customer_id": ["c1", "c2", "c3"],
        "signup_date": ["2025-01-01", "2025-01-02", "2025-01-03"],
        "acquisition_channel": ["tmall", "jd", "cross_border"],
        "name": ["张三", "李四", "Jane Roe"],
        "phone": ["13800000001", "13800000002", "+1 555 0100"],
    })
    products = pd.DataFrame({
        "product_id": ["p1", "p2"], "category": ["护肤", "服饰"], "list_price_cny": [100.0, 250.0],
    })
    orders = pd.DataFrame({
        "order_id": ["o1", "o2", "o3", "o4"],
        "customer_id": ["c1", "c2", "c1", "c3"],
        "channel": ["tmall", "jd", "tmall", "cross_border"],
        "ordered_at": ["2025-01-01 10:00:00", "2025-01-02 11:30:00", "2025-01-05 20:00:00", "2025-01-06 09:00:00"],
        "status": ["completed", "completed", "refunded", "completed"],
        "currency": ["CNY", "CNY", "CNY", "USD"],
        "gross_amount": [100.0, 250.0, 200.0, 40.0],
        "discount_amount": [0.0, 25.0, 0.0, 0.0],
        "paid_amount": [100.0, 225.0, 200.0, 40.0],
    })
    items = pd.DataFrame({
        "order_id": ["o1", "o2", "o3", "o4"], "line_no": [1, 1, 1, 1],
        "product_id": ["p1", "p2", "p1", "p1"], "quantity": [1, 1, 2, 1],
        "unit_price": [100.0, 225.0, 100.0, 40.0],
    })
    fx = pd.DataFrame({"date": ["2025-01-01"], "currency": ["USD"], "rate_to_cny": [7.2]})
    return {"customers": customers, "products": products, "orders": orders, "order_items": items,
            "fx_rates": fx}


def write_csvs(folder: Path, tables: dict[str, pd.DataFrame], encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False, encoding=encoding)
    return folder


def notebook_keys(stem: str) -> set[str]:
    """Every catalogue key (``<page>.<key>``) that notebook ``stem``'s source names literally.

    Read from the source's calls (``@nb.section("k")``, ``nb.text``/``nb.say("k")``,
    ``nb.finding("k", message=...)``) and from string literals that are keys (``"title.x"``,
    ``"note.x"``, ``"finding.x"``, ``"word.x"``), for keys a page chooses at run time.
    """
    import ast
    import re

    from workbench.text.pages import namespace

    src = (NOTEBOOK_SOURCES / f"{stem}.py").read_text(encoding="utf-8")
    page = namespace(stem)
    keys: set[str] = set()
    for node in ast.walk(ast.parse(src)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "nb"):
            continue
        first = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
        message_kw = next((k.value for k in node.keywords if k.arg == "message"), None)
        branches = [message_kw.body, message_kw.orelse] if isinstance(message_kw, ast.IfExp) else [message_kw]
        if not all(b is None or isinstance(b, ast.Constant) for b in branches):
            continue  # a message chosen at run time: its keys are listed by the page's own test
        messages = {b.value if b is not None else None for b in branches}
        if node.func.attr == "section" and first:
            keys.add(f"section.{first}")
        elif node.func.attr in ("text", "say", "t") and isinstance(first, str):
            keys.add(first)
        elif node.func.attr == "finding" and first:
            keys |= {m or f"finding.{first}" for m in messages}
    keys |= set(re.findall(r'"((?:title|note|word|finding)\.[a-z0-9_]+)"', src))
    for names, prefix in re.findall(r'for by in \(([^)]*)\):.*?f"(title\.[a-z_]+)\{by\}"', src, re.DOTALL):
        keys |= {f"{prefix}{n}" for n in re.findall(r'"([a-z_]+)"', names)}
    return {f"{page}.{k}" for k in keys}


def missing_keys(stem: str) -> list[str]:
    """The keys of :func:`notebook_keys` that either language lacks (``lang:key``)."""
    from workbench.text import catalogue

    return sorted(f"{lang}:{k}" for k in notebook_keys(stem) for lang in catalogue.LANGUAGES
                  if not (catalogue.has(k, lang) or catalogue.has(k.split(".", 1)[1], lang)))
