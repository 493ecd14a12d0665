"""The one executor: every query of the SQL layer runs through :func:`query` with bound parameters.

Values (dates, channels, thresholds) are never spliced into SQL text; they are passed as named
parameters (``$start``, ``$end``, ``$c0``…) that the engine binds. Identifiers that a caller may
choose (a ``by`` column) are checked against an allow-list with :func:`identifier` first.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from workbench.errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd

    from workbench.data.loader import Dataset


def query(ds: "Dataset", sql: str, params: dict[str, Any] | None = None) -> "pd.DataFrame":
    """Run ``sql`` over the dataset's views with ``params`` bound; a pandas frame comes back.

    Only the parameters that the statement names are passed (a shared filter may bind more).
    """
    if getattr(ds, "engine", "duckdb") == "spark":  # workbench.sql.spark: the same statement on Spark
        from workbench.sql import spark

        return spark.query(ds, sql, params)
    used = {k: v for k, v in (params or {}).items() if f"${k}" in sql}
    for seen in _RECORDINGS:
        seen.append((sql, used))
    return ds.con.execute(sql, used).df()


def scalar(ds: "Dataset", sql: str, params: dict[str, Any] | None = None) -> Any:
    """The single value of a one-row, one-column query (None when it returns no row)."""
    if getattr(ds, "engine", "duckdb") == "spark":
        from workbench.sql import spark

        return spark.scalar(ds, sql, params)
    used = {k: v for k, v in (params or {}).items() if f"${k}" in sql}
    for seen in _RECORDINGS:
        seen.append((sql, used))
    row = ds.con.execute(sql, used).fetchone()
    return None if row is None else row[0]


_RECORDINGS: list[list[tuple[str, dict[str, Any]]]] = []


@contextmanager
def recording() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Inside the block, every statement :func:`query` and :func:`scalar` run is appended, with its
    bound parameters, to the list this yields (``with engine.recording() as seen: …``); the
    portable-SQL test replays them through the transpiler. Off (no cost) outside such a block."""
    seen: list[tuple[str, dict[str, Any]]] = []
    _RECORDINGS.append(seen)
    try:
        yield seen
    finally:
        _RECORDINGS.remove(seen)


def identifier(name: str, allowed: Iterable[str]) -> str:
    """``name`` when it is one of ``allowed`` (a column a caller may group by), else :class:`ParameterError`."""
    allowed = tuple(allowed)
    if name not in allowed:
        raise ParameterError(f"cannot group by {name!r}; choose one of {', '.join(allowed)}")
    return name
