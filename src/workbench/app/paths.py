"""Where things are: the checkout, the default data folder, and the datasets a kernel has opened."""

from __future__ import annotations

import os
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


def open_dataset(data: str | os.PathLike | None) -> Dataset:
    """Load (once per process) the dataset at ``data`` or at :func:`default_data`."""
    path = Path(data) if data else default_data()
    key = str(path.resolve())
    if key not in _DATASETS:
        # a batch validates large data once and says so; unchanged files need no second check
        validated = os.environ.get("WORKBENCH_VALIDATED")
        checks = not validated or validated != fingerprint(path)
        _DATASETS[key] = load(path, checks=checks)
    return _DATASETS[key]
