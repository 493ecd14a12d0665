"""Finding and ordering the notebooks of a batch.

:func:`resolve_notebooks` turns names given on the command line (stems, numbers, file names,
paths) into notebook files, in :func:`run_order`: by file name, ``00_*`` notebooks (the overview,
which reads the others' findings) last. :func:`notebooks_folder` is where they are looked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from workbench.errors import NotebookError

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"


def notebooks_folder() -> Path:
    """The ``notebooks/`` folder of the checkout (or of the current directory outside one)."""
    from workbench.app.notebook import repo_root

    root = repo_root()
    return (root if root is not None else Path.cwd()) / "notebooks"


def is_overview(path: Path) -> bool:
    """True for ``00_*`` notebooks: they read the others' findings, so they run last."""
    return path.stem.startswith("00_")


def run_order(paths: Sequence[Path]) -> list[Path]:
    """``paths`` sorted by file name, ``00_*`` notebooks last."""
    return sorted(paths, key=lambda p: (is_overview(p), p.name))


def resolve_notebooks(names: Sequence[str] | None = None, folder: Path | None = None) -> list[Path]:
    """Turn notebook names into notebook files, in run order.

    ``names`` may hold stems (``01_sales_traffic``), numbers (``01``), file names or paths;
    none means every ``NN_*.ipynb`` in ``folder`` (default: :func:`notebooks_folder`).
    Raises :class:`NotebookError` listing the available notebooks when a name matches nothing.
    """
    folder = Path(folder) if folder is not None else notebooks_folder()
    available = sorted(folder.glob(NOTEBOOK_GLOB)) if folder.is_dir() else []
    if not names:
        if not available:
            raise NotebookError(f"no notebooks (files {NOTEBOOK_GLOB}) in {folder}")
        return run_order(available)
    by_stem = {p.stem: p for p in available}
    chosen: dict[str, Path] = {}
    for name in names:
        path = _match(str(name), folder, by_stem)
        if path is None:
            listing = "\n".join(f"  {p.stem}" for p in available) or "  (none)"
            raise NotebookError(f"unknown notebook '{name}'; available notebooks in {folder}:\n{listing}")
        if path.stem in chosen and chosen[path.stem] != path:
            raise NotebookError(f"two notebooks are both called {path.stem}: {chosen[path.stem]} and {path}; "
                                "their reports would overwrite each other")
        chosen[path.stem] = path
    return run_order(list(chosen.values()))


def _match(name: str, folder: Path, by_stem: Mapping[str, Path]) -> Path | None:
    stem = name.removesuffix(".ipynb")
    if stem in by_stem:
        return by_stem[stem]
    if stem.isdigit():
        hits = [p for s, p in by_stem.items() if s.split("_", 1)[0] == stem.zfill(2)]
        if len(hits) == 1:
            return hits[0]
    candidate = Path(name).expanduser()
    if candidate.suffix == ".ipynb" and candidate.is_file():
        return candidate.resolve()
    return None
