"""workbench: analysis workbench for e-commerce operations teams.

Read a shop's data with :func:`load`, generate the sample shop with
:func:`workbench.data.sample.generate`, and open the notebooks in ``notebooks/``.

The package is layered; arrows point one way (checked by import-linter, see ``pyproject.toml``)::

    data -> sql -> stats -> topics -> present -> app -> run / serve / cli
    (text and errors sit underneath: every layer may use them)

The root is lazy (PEP 562): ``import workbench.stats`` loads neither DuckDB nor plotly nor the
notebook runtime; ``workbench.load`` and ``workbench.setup`` import their layer on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Dataset": "workbench.data.loader",
    "load": "workbench.data.loader",
    "setup": "workbench.app.notebook",
    "DataError": "workbench.errors",
    "MissingTableError": "workbench.errors",
    "ParameterError": "workbench.errors",
    "WorkbenchError": "workbench.errors",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
