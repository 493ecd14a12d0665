"""The package's layers: import-linter's contracts hold, and the statistics layer is light to import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    proc = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_importing_statistics_loads_no_engine_chart_or_notebook_runtime() -> None:
    code = ("import sys, workbench.stats, workbench.stats.result; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'duckdb', 'plotly', 'IPython', 'ipywidgets', 'pandas', 'scipy', 'statsmodels', 'nbformat'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
