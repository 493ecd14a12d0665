"""Finding and ordering notebooks (workbench.run.discover)."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_notebooks import make_notebook

from workbench.errors import NotebookError
from workbench.run import discover

pytestmark = pytest.mark.usefixtures("isolated_jupyter")


def test_resolve_notebooks_by_stem_number_and_path_overview_last(tmp_path: Path) -> None:
    for stem in ("00_overview", "01_sales", "02_products", "10_people"):
        make_notebook(tmp_path / f"{stem}.ipynb")
    (tmp_path / "helper.ipynb").write_text("{}")
    names = [p.stem for p in discover.resolve_notebooks(None, folder=tmp_path)]
    assert names == ["01_sales", "02_products", "10_people", "00_overview"]
    chosen = discover.resolve_notebooks(["00_overview", "2", "01_sales.ipynb", str(tmp_path / "10_people.ipynb")],
                                      folder=tmp_path)
    assert [p.stem for p in chosen] == ["01_sales", "02_products", "10_people", "00_overview"]
    with pytest.raises(NotebookError) as info:
        discover.resolve_notebooks(["03_nope"], folder=tmp_path)
    assert "01_sales" in str(info.value) and "10_people" in str(info.value)
