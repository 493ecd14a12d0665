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
from collections.abc import MutableMapping


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


#: The thread counts of numerical libraries in the kernels that ``workbench run`` and ``workbench
#: serve`` start: one each. Our matrices are small (a few hundred days by a few dozen columns), so
#: OpenBLAS' threads only add hand-overs; and those kernels run beside each other (a batch of
#: notebooks, a dashboard per viewer), so threads of their own contend for the same cores. On the
#: 2-core machine with other kernels busy, 200 design-matrix products took 2.19 s with OpenBLAS'
#: default threads and 0.29 s with one (``benchmarks/blas_threads.py``). A value already set in the
#: environment is kept.
KERNEL_THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def with_kernel_threads(env: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """``env`` with :data:`KERNEL_THREADS` added where it does not set them already (changed in place)."""
    for key, value in KERNEL_THREADS.items():
        env.setdefault(key, value)
    return env
