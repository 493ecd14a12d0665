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


#: Vectors of 2,048 rows fetched at a time by ``query(..., chunked=True)``.
CHUNK_VECTORS = 64


def query(ds: "Dataset", sql: str, params: dict[str, Any] | None = None, *, chunked: bool = False) -> "pd.DataFrame":
    """Run ``sql`` over the dataset's views with ``params`` bound; a pandas frame comes back.

    Only the parameters that the statement names are passed (a shared filter may bind more).
    ``chunked``: for long results of text columns, fetch ``CHUNK_VECTORS`` vectors at a time and
    concatenate: the frame ``df()`` gives, without its transient copy of every text value of the
    whole result as a Python object (at 10.5 million orders, 18 M purchase lines rose a kernel
    from 1.0 to 6.4 GB that way). A column NULL in one chunk and not in another may come back
    with another dtype, so it is for results whose columns have no NULLs.
    """
    if getattr(ds, "engine", "duckdb") == "spark":  # workbench.sql.spark: the same statement on Spark
        from workbench.sql import spark

        return spark.query(ds, sql, params)
    used = {k: v for k, v in (params or {}).items() if f"${k}" in sql}
    for seen in _RECORDINGS:
        seen.append((sql, used))

    def fetch() -> "pd.DataFrame":
        result = ds.con.execute(sql, used)
        if not chunked:
            return result.df()
        import pandas as pd

        parts = [result.fetch_df_chunk(CHUNK_VECTORS)]  # empty: typed as df() types an empty result
        while len(parts[-1]):
            parts.append(result.fetch_df_chunk(CHUNK_VECTORS))
        return parts[0] if len(parts) <= 2 else pd.concat(parts[:-1], ignore_index=True)

    key = _reuse_key(ds, "chunked" if chunked else "df", sql, used)
    if key is not None:
        store = _REUSE[-1]
        if key not in store:
            store[key] = fetch()
        return store[key].copy()  # a caller may change its frame; the kept one stays as the database returned it
    return fetch()


def scalar(ds: "Dataset", sql: str, params: dict[str, Any] | None = None) -> Any:
    """The single value of a one-row, one-column query (None when it returns no row)."""
    if getattr(ds, "engine", "duckdb") == "spark":
        from workbench.sql import spark

        return spark.scalar(ds, sql, params)
    used = {k: v for k, v in (params or {}).items() if f"${k}" in sql}
    for seen in _RECORDINGS:
        seen.append((sql, used))
    key = _reuse_key(ds, "scalar", sql, used)
    if key is not None and key in _REUSE[-1]:
        return _REUSE[-1][key]
    row = ds.con.execute(sql, used).fetchone()
    value = None if row is None else row[0]
    if key is not None:
        _REUSE[-1][key] = value
    return value


#: Inside :func:`reusing` blocks: the results of the statements run so far, by dataset, text and parameters.
_REUSE: list[dict[tuple, Any]] = []


def _frozen(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_frozen(v) for v in value))
    hash(value)  # dates, numbers, strings, None; anything else is not kept (TypeError)
    return (type(value).__name__, value)


def _reuse_key(ds: "Dataset", kind: str, sql: str, used: dict[str, Any]) -> tuple | None:
    if not _REUSE:
        return None
    try:
        return (id(ds), id(ds.con), kind, sql, tuple(sorted((k, _frozen(v)) for k, v in used.items())))
    except TypeError:
        return None


@contextmanager
def reusing() -> Iterator[None]:
    """Inside the block, a statement run a second time with the same parameters on the same dataset
    returns the first run's result (a copy of its frame) without asking the database again.

    For one redraw of a page (:meth:`workbench.app.notebook.Notebook.redraw`): its sections often
    ask the same question (the period's totals, the product names), and the data do not change
    while it runs. Nothing is kept after the block; a statement that writes must not run inside it.
    """
    _REUSE.append({})
    try:
        yield
    finally:
        _REUSE.pop()


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
