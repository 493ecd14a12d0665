"""Where things are: the checkout, the default data folder, and the datasets a kernel has opened."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from workbench.data.loader import Dataset, fingerprint, load

_DATASETS: dict[str, Dataset] = {}


def repo_root() -> Path | None:
    """The checkout this package was installed from (editable install), if any."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "notebooks").is_dir():
            return parent
    return None


def default_data() -> Path:
    """The data folder used when a notebook's ``data`` parameter is empty.

    ``WORKBENCH_DATA`` when set, otherwise ``data/sample`` of the checkout.
    """
    env = os.environ.get("WORKBENCH_DATA")
    if env:
        return Path(env)
    root = repo_root()
    if root is not None:
        return root / "data" / "sample"
    return Path.cwd() / "data" / "sample"


def open_dataset(data: str | os.PathLike | None, engine: str = "") -> Dataset:
    """Load (once per process and engine) the dataset at ``data`` or at :func:`default_data`.

    ``engine`` (the notebooks' parameter; empty: ``$WORKBENCH_ENGINE``, else ``duckdb``) is where its
    queries run: ``spark`` or ``spark:MASTER`` attaches a Spark session (:func:`workbench.sql.spark.attach`),
    raising :class:`~workbench.errors.EnvironmentProblem` with the fix when Spark cannot start here.
    """
    from workbench.sql.spark import parse_engine

    path = Path(data) if data else default_data()
    name, master = parse_engine(engine or os.environ.get("WORKBENCH_ENGINE", ""))
    key = f"{path.resolve()}|{name}:{master or ''}"
    if key not in _DATASETS:
        if name == "spark":
            from workbench.sql import spark

            spark.check_available(master)  # before loading: a missing Java says so at once
        # a batch validates large data once and says so; unchanged files need no second check
        validated = os.environ.get("WORKBENCH_VALIDATED")
        checks = not validated or validated != fingerprint(path)
        ds = load(path, checks=checks)
        if name == "spark":
            spark.attach(ds, master)
        _DATASETS[key] = ds
    return _DATASETS[key]


#: Browsers tried in order when ``$WORKBENCH_CHROMIUM`` is not set.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_executable() -> str | None:
    """The headless Chromium to print or draw pages with, or None when there is none.

    ``$WORKBENCH_CHROMIUM`` when set (a name on ``PATH`` or a path; None if it is neither), else the
    first of :data:`BROWSERS` on ``PATH``.
    """
    env = os.environ.get("WORKBENCH_CHROMIUM")
    if env:
        return shutil.which(env) or (env if Path(env).is_file() else None)
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None
