"""Batch layer: ``workbench run`` runs every notebook through papermill workers into a run folder.

One module per concern, papermill-style:

- :mod:`~workbench.run.discover`: finding and ordering the notebooks (``00_*`` last);
- :mod:`~workbench.run.parameters`: the batch's parameters, checked against the notebooks'
  parameters cells, and the as-of date a run is named after;
- :mod:`~workbench.run.pool`: the long-lived worker processes, time limits, killing a kernel;
- :mod:`~workbench.run.worker`: what runs inside a worker (papermill, kernel-start retries, export);
- :mod:`~workbench.run.folder`: atomic run folders, ``reports/latest``, ``run.json`` written last;
- :mod:`~workbench.run.results`: what a batch reports, and its progress lines;
- :mod:`~workbench.run.batch`: :func:`run_batch`, the orchestration, and :func:`main`, the command.
"""

from __future__ import annotations

from workbench.run.batch import main, run_batch
from workbench.run.discover import NOTEBOOK_GLOB, is_overview, notebooks_folder, resolve_notebooks, run_order
from workbench.run.folder import claim_run_dir, point_latest, remove_stale_temp_dirs, reports_root
from workbench.run.parameters import (
    RESERVED,
    CheckedParams,
    check_params,
    collect_params,
    data_last_day,
    notebook_parameters,
    run_label,
    validate_large_data,
)
from workbench.run.results import NotebookResult, Progress, RunResult

__all__ = [
    "NOTEBOOK_GLOB", "RESERVED", "CheckedParams", "NotebookResult", "Progress", "RunResult",
    "check_params", "claim_run_dir", "collect_params", "data_last_day", "is_overview", "main", "notebook_parameters",
    "notebooks_folder", "point_latest", "remove_stale_temp_dirs", "reports_root", "resolve_notebooks", "run_batch",
    "run_label", "run_order", "validate_large_data",
]
