"""Section needs are read from the notebooks, and `workbench validate` reports coverage."""

from __future__ import annotations

from pathlib import Path

import pytest

import workbench
from workbench.app.sections import coverage, notebook_needs
from workbench.cli import main as cli
from workbench.run import resolve_notebooks


@pytest.mark.parametrize("path", resolve_notebooks(), ids=lambda p: p.stem)
def test_every_notebook_declares_sections_with_model_tables(path: Path) -> None:
    from workbench.data.schema import TABLES

    sections = notebook_needs(path)
    assert sections, f"{path.name} declares no sections"
    assert len({s.key for s in sections}) == len(sections)
    for sec in sections:
        for table, cols in sec.needs.items():
            assert table in TABLES, (sec.key, table)
            assert set(cols) <= set(TABLES[table].column_names), (sec.key, table, cols)


def test_orders_only_dataset_feeds_the_order_sections(tiny_shop: Path, capsys: pytest.CaptureFixture) -> None:
    rows = coverage(workbench.load(tiny_shop), resolve_notebooks())
    by_key = {(r["notebook"], r["section"]): r for r in rows}
    assert by_key[("01_sales_traffic", "kpis")]["ok"]
    assert not by_key[("01_sales_traffic", "funnel")]["ok"]
    assert "traffic" in by_key[("01_sales_traffic", "funnel")]["missing"]
    assert not any(r["ok"] for r in rows if r["notebook"] == "05_customer_service")
    assert cli(["validate", str(tiny_shop)]) == 0
    out = capsys.readouterr().out
    assert "What this data can feed" in out and "needs tickets" in out
