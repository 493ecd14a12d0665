"""workbench: analysis workbench for e-commerce operations teams.

Read a shop's data with :func:`load`, generate the sample shop with
:func:`workbench.sample.generate`, and open the notebooks in ``notebooks/``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from workbench.errors import DataError, MissingTableError, ParameterError, WorkbenchError  # noqa: E402
from workbench.loader import Dataset, load  # noqa: E402

__all__ = ["Dataset", "load", "DataError", "MissingTableError", "ParameterError", "WorkbenchError", "__version__"]

from workbench import charts, queries  # noqa: E402
from workbench.notebook import setup  # noqa: E402

__all__ += ["setup", "charts", "queries"]
