"""Static or live: whether a notebook's kernel has a front end that can show widgets.

A page is *live* (filter bar, sections redrawn in place) in JupyterLab and Voila, and *static*
(charts and tables written once as output, no widgets) when nobody can interact with it:
``workbench run``, plain ``papermill``, ``jupyter nbconvert --execute``, Jupyter Scheduler,
Airflow's papermill operator. None of the latter sets an environment variable, so the decision
does not rely on one: every one of them executes through nbclient, which starts the kernel
with IPython's history in memory (``--HistoryManager.hist_file=:memory:``, nbclient's
``ipython_hist_file`` default), while JupyterLab and Voila start kernels through a kernel
manager with the history on disk. ``WORKBENCH_BATCH=1`` (set by ``workbench run``) and
``WORKBENCH_BATCH=0`` force either mode.
"""

from __future__ import annotations

import os


def headless() -> bool:
    """True when the page must render static output (no front end will ever show a widget)."""
    forced = os.environ.get("WORKBENCH_BATCH")
    if forced in ("1", "0"):
        return forced == "1"
    if "VOILA_PREHEAT" in os.environ:  # Voila sets it for every kernel it starts
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return True
    ip = get_ipython()
    if ip is None or not hasattr(ip, "kernel"):
        return True  # plain Python or a terminal IPython: nothing renders widgets
    history = getattr(getattr(ip, "history_manager", None), "hist_file", None)
    return str(history) == ":memory:"


def self_contained() -> bool:
    """True when static output must carry plotly.js itself (not under ``workbench run``, which
    ships it once beside the reports)."""
    return os.environ.get("WORKBENCH_BATCH") != "1"
