"""Statistics layer: estimators and intervals that know nothing of data or SQL.

Arrays and frames in, numbers and :class:`~workbench.stats.result.Estimate` results out. The
package is lazy: ``import workbench.stats`` costs milliseconds; a name is imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Estimate": "workbench.stats.result",
    "add_rate_interval": "workbench.stats.intervals",
    "pct_change": "workbench.stats.intervals",
    "ratio_of_means_interval": "workbench.stats.intervals",
    "wilson_interval": "workbench.stats.intervals",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workbench.stats' has no attribute {name!r}")
