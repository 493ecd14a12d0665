"""Fixtures of the batch tests (tests/run); the notebooks they run are built by batch_notebooks.py."""

from __future__ import annotations

import pytest


@pytest.fixture
def isolated_jupyter(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jupyter's and IPython's folders in a temporary place; no report ever lands in the checkout."""
    home = tmp_path_factory.mktemp("jupyter")
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.setenv("WORKBENCH_REPORTS", str(home / "reports-must-stay-unused"))
