"""The parameters of a batch: gathered, checked against the notebooks, and the as-of date of a run.

:func:`collect_params` merges a YAML file, ``NAME=VALUE`` texts and the command's options;
:func:`check_params` checks and converts them against :data:`workbench.app.params.SPEC` and each
notebook's own ``parameters`` cell (:func:`notebook_parameters`) before anything runs.
:func:`run_label` is the date a run is named after (its ``end``, else ``as_of``, else the data's
last day, :func:`data_last_day`); :func:`check_data` loads and checks the data once per batch (its
warnings go to ``run.json``, and the kernels skip their checks while the files are unchanged);
:func:`validate_large_data` is the older, large-data-only form of that.
"""

from __future__ import annotations

import ast
import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.app import params as params_mod
from workbench.errors import NotebookError, ParameterError, WorkbenchError

RESERVED = {"findings_path"}
"""Parameters the runner sets itself; a user may not pass them."""


def collect_params(params_file: str | os.PathLike | None = None, assignments: Sequence[str] = (),
                   options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge parameters from a YAML file, then ``NAME=VALUE`` texts, then dedicated options.

    Later sources win. ``options`` holds the values of ``--data``, ``--start``... (None when not
    given). Text from ``NAME=VALUE`` is converted with :func:`workbench.app.params.coerce_text` for
    known names; names and values are checked later by :func:`check_params`.
    Raises :class:`ParameterError` for an unreadable file or an assignment without ``=``.
    """
    merged: dict[str, Any] = {}
    if params_file:
        merged.update(_read_params_file(Path(params_file)))
    for text in assignments:
        name, sep, value = str(text).partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"-p expects NAME=VALUE, got {text!r}\nvalid parameters:\n{params_mod.describe()}")
        try:
            merged[name] = params_mod.coerce_text(name, value)
        except ValueError as exc:
            raise ParameterError(f"parameter '{name}' = {value!r}: {exc}\nvalid parameters:\n"
                                 f"{params_mod.describe()}") from None
    for name, value in (options or {}).items():
        if value is not None:
            merged[name] = value
    return merged


def _read_params_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ParameterError(f"cannot read the parameters file {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ParameterError(f"the parameters file {path} is not valid YAML: {exc}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict) or not all(isinstance(k, str) for k in loaded):
        raise ParameterError(f"the parameters file {path} must be a mapping of NAME: VALUE, "
                             f"got {type(loaded).__name__}")
    return loaded


@dataclass
class CheckedParams:
    """Parameters after :func:`check_params`.

    ``given``: the values passed, converted; ``effective``: every :data:`~workbench.app.params.SPEC`
    parameter with defaults filled in; ``per_notebook``: what to inject into each notebook
    (by stem), ``findings_path`` excluded; ``data_path``: the data the notebooks will read.
    """

    given: dict[str, Any]
    effective: dict[str, Any]
    per_notebook: dict[str, dict[str, Any]]
    data_path: Path


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The parameters declared in a notebook's ``parameters`` cell: name -> default value.

    Read with :func:`papermill.inspect_notebook`; a default that is not a literal comes back as
    its source text wrapped in :class:`_Expression`. Raises :class:`NotebookError` when the
    notebook cannot be read.
    """
    import papermill

    try:
        declared = papermill.inspect_notebook(str(path))
    except Exception as exc:  # nbformat, JSON or papermill errors: all mean "cannot use this file"
        raise NotebookError(f"cannot read notebook {path}: {exc}") from None
    out: dict[str, Any] = {}
    for name, info in declared.items():
        try:
            out[name] = ast.literal_eval(str(info.get("default", "None")))
        except (ValueError, SyntaxError):
            out[name] = _Expression(str(info.get("default")))
    return out


@dataclass(frozen=True)
class _Expression:
    """A parameter default that is an expression: any value is accepted for it."""

    source: str


def _convert_like(default: Any, value: Any) -> Any:
    """Convert ``value`` to the type of a notebook parameter's ``default``; ValueError if it cannot."""
    if isinstance(default, _Expression) or default is None:
        return value
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off"):
            return False
        raise ValueError("expected true or false")
    if isinstance(default, int):
        if isinstance(value, bool):
            raise ValueError("expected a whole number")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        text = str(value).strip()
        if text.lstrip("-").isdigit():
            return int(text)
        raise ValueError("expected a whole number")
    if isinstance(default, float):
        if isinstance(value, bool):
            raise ValueError("expected a number")
        if isinstance(value, (int, float)):
            return float(value)
        try:
            return float(str(value).strip())
        except ValueError:
            raise ValueError("expected a number") from None
    if isinstance(default, str):
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()
        raise ValueError("expected text")
    if isinstance(default, (list, tuple, dict)):
        if isinstance(value, str):
            import yaml

            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError:
                raise ValueError(f"expected a {type(default).__name__}") from None
        if isinstance(default, dict) and isinstance(value, dict):
            return value
        if isinstance(default, (list, tuple)) and isinstance(value, (list, tuple)):
            return list(value)
        raise ValueError(f"expected a {type(default).__name__}")
    return value


def _describe_extras(declared: Mapping[str, Mapping[str, Any]]) -> str:
    rows: dict[str, list[str]] = {}
    for stem, names in declared.items():
        for name, default in names.items():
            if name not in params_mod.SPEC:
                shown = default.source if isinstance(default, _Expression) else repr(default)
                rows.setdefault(f"  {name:<14} default {shown:<12}", []).append(stem)
    if not rows:
        return ""
    return "\nnotebook parameters:\n" + "\n".join(f"{k} in {', '.join(v)}" for k, v in sorted(rows.items()))


def check_params(notebooks: Sequence[Path], values: Mapping[str, Any],
                 declared: Mapping[str, Mapping[str, Any]] | None = None) -> CheckedParams:
    """Check and convert ``values`` for a batch of ``notebooks``, before anything runs.

    A name must be in :data:`workbench.app.params.SPEC` (converted by its converter) or declared in
    the parameters cell of at least one of the notebooks (converted to the type of that
    notebook's default). A relative ``data`` path is made absolute (notebooks run in their own
    folder) and must exist. ``declared`` (stem -> name -> default) skips reading the notebooks.
    Raises :class:`ParameterError` naming every problem and listing the valid parameters.
    """
    from workbench.app.notebook import default_data

    if declared is None:
        declared = {p.stem: notebook_parameters(p) for p in notebooks}
    extras = {name for names in declared.values() for name in names if name not in params_mod.SPEC}
    problems: list[str] = []
    spec_values: dict[str, Any] = {}
    extra_values: dict[str, dict[str, Any]] = {stem: {} for stem in declared}
    for name, value in values.items():
        if name in RESERVED:
            problems.append(f"parameter '{name}' is set by `workbench run` itself; leave it out")
        elif name in params_mod.SPEC:
            try:
                spec_values[name] = params_mod.SPEC[name].convert(value)
            except (ValueError, TypeError) as exc:
                problems.append(f"parameter '{name}' = {value!r}: {exc}")
        elif name in extras:
            for stem, names in declared.items():
                if name in names:
                    try:
                        extra_values[stem][name] = _convert_like(names[name], value)
                    except ValueError as exc:
                        problems.append(f"parameter '{name}' = {value!r} for {stem}: {exc}")
        else:
            problems.append(f"unknown parameter '{name}'")
    data_path = default_data()
    if spec_values.get("data"):
        data_path = Path(spec_values["data"]).expanduser()
        data_path = data_path if data_path.is_absolute() else (Path.cwd() / data_path)
        spec_values["data"] = str(data_path)
    if not data_path.exists():
        problems.append(f"the data {data_path} does not exist; pass --data FOLDER (or create the sample shop "
                        f"with `workbench sample`)")
    allowed = set(params_mod.SPEC) - RESERVED
    listing = "\nvalid parameters:\n" + params_mod.describe(allowed) + _describe_extras(declared)
    if problems:
        raise ParameterError("; ".join(problems) + listing)
    try:
        effective = params_mod.validate(spec_values, allowed=allowed)
    except ParameterError as exc:  # cross-checks such as start after end
        raise ParameterError(str(exc).split("\nvalid parameters:")[0] + listing) from None
    for name in RESERVED:
        effective.pop(name, None)
    per_notebook = {stem: {**spec_values, **extra_values[stem]} for stem in declared}
    given = {**spec_values, **{k: v for stem_values in extra_values.values() for k, v in stem_values.items()}}
    return CheckedParams(given=given, effective=effective, per_notebook=per_notebook, data_path=data_path)


# ----- the as-of date of a run ---------------------------------------------------------------------
def run_label(effective: Mapping[str, Any], today: dt.date | None = None, last_day: dt.date | None = None) -> str:
    """The date a run is named after (YYYY-MM-DD): its ``end``, else its ``as_of``, else the data's
    last day (``last_day``, the as-of date the notebooks use by default), else today."""
    return (effective.get("end") or effective.get("as_of") or (last_day.isoformat() if last_day else "")
            or (today or dt.date.today()).isoformat())


def data_last_day(data: str) -> dt.date | None:
    """The last day with data (the notebooks' default as-of date), or None when it cannot be read."""
    from workbench.app.notebook import default_data
    from workbench.data.loader import load
    from workbench.sql.common import data_range

    try:
        span = data_range(load(Path(data) if data else default_data(), checks=False))
    except WorkbenchError:
        return None
    return span[1] if span else None


#: Data folders larger than this are validated once by the runner, not once per notebook.
VALIDATE_ONCE_BYTES = 100_000_000


def validate_large_data(data: str) -> str | None:
    """Validate large data once for the whole batch; return its fingerprint, or None for small data.

    Each notebook validates the data it loads, which costs little on the sample but about a
    minute per notebook at 10 million orders. Above :data:`VALIDATE_ONCE_BYTES` the runner loads
    and checks the data here, before anything runs (unusable data is refused with the loader's
    message), and tells the kernels the fingerprint of what it checked, so they skip the checks
    while the files stay unchanged.
    """
    from workbench.app.notebook import default_data
    from workbench.data.loader import fingerprint, load

    path = Path(data) if data else default_data()
    if not path.exists():
        return None
    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    if sum(p.stat().st_size for p in files) < VALIDATE_ONCE_BYTES:
        return None
    before = fingerprint(path)
    load(path)  # raises DataError naming file, column, rows and fix
    return before


@dataclass
class DataCheck:
    """The data of a batch as checked once before anything runs.

    ``fingerprint`` of the files when checked (see :func:`workbench.data.loader.fingerprint`);
    ``last_day`` with data (the default as-of date), or None; ``problems`` the loader's warnings and
    notes as plain dicts (severity, file, table, column, message, fix, count) for ``run.json`` and the
    index; ``validated`` is the fingerprint the kernels may trust to skip their own checks (None when
    nothing was loaded).
    """

    path: Path
    fingerprint: str
    last_day: dt.date | None
    problems: list[dict[str, Any]]
    validated: str | None
    orders: int = 0  #: rows of the orders table (0 without one), for the default time limit


def check_data(data: str) -> DataCheck:
    """Load and check the batch's data once: refuse unusable data before any kernel starts.

    Raises :class:`~workbench.errors.DataError` (file, column, rows, fix) when the data cannot be
    used; returns a :class:`DataCheck` with its warnings otherwise. A path that does not exist is
    left to :func:`check_params`, which names it.
    """
    from workbench.app.notebook import default_data
    from workbench.data import schema
    from workbench.data.loader import fingerprint, load
    from workbench.sql.common import data_range

    path = Path(data) if data else default_data()
    if not path.exists():
        return DataCheck(path, "missing", None, [], None)
    before = fingerprint(path)
    if path.is_dir() and not any(next(path.glob(f"{name}.*"), None) for name in schema.TABLES):
        return DataCheck(path, before, None, [], None)  # no tables at all: each section says what it lacks
    ds = load(path, strict=True)
    try:
        span = data_range(ds)
        problems = [{"severity": p.severity, "file": p.file, "table": p.table, "column": p.column,
                     "message": p.message, "fix": p.fix, "count": p.count} for p in ds.problems]
        orders = ds.row_count("orders")
    finally:
        ds.close()
    # checked here once: the kernels skip the row checks while the files keep this fingerprint
    # (a file changed since is checked again by the kernel that loads it)
    return DataCheck(path, before, span[1] if span else None, problems, before, orders)
