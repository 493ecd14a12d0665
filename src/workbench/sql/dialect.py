"""The one dialect: SQL fragments written once (DuckDB SQL) that the transpiler turns into the same
meaning on other engines (Spark SQL through sqlglot; ``tests/sql/test_portable.py`` checks it).

Every query of the SQL layer is written in DuckDB's dialect with bound ``$name`` parameters. A few
things DuckDB writes its own way, and sqlglot passes them through or rewrites them into something
Spark reads differently (date minus date is an integer in DuckDB and an interval in Spark; Sunday is
day 0 in one and 1 in the other; ``quantile_cont`` becomes a ``percentile_cont`` Spark refuses). For
those the queries call the builders here, which return a fragment of SQL text (no values: values
stay bound parameters):

=========================  ===============================================  =====================
builder                    DuckDB text                                      Spark SQL (sqlglot)
=========================  ===============================================  =====================
``days_between(a, b)``     ``date_diff('day', a, b)``                        ``DATEDIFF(DAY, a, b)``
``days_elapsed(a, b)``     ``date_diff('microsecond', a, b) / 86400000000.0``  ``DATEDIFF(MICROSECOND…``
``add_days(t, n)``         ``t + CAST(n AS INTEGER) * INTERVAL 1 DAY``      the same
``weekday(x)``             days since Monday 2001-01-01, modulo 7            the same
``quantile(x, p)``         ``percentile(x, p)`` (a macro over               ``PERCENTILE(x, p)``
                           ``quantile_cont``, :data:`MACROS`)               (exact, interpolated)
``in_list(col, values)``   ``col IN ($p0, $p1, …)``                          the same
``series(lo, hi)``         ``unnest(generate_series(lo, hi))`` in a          ``EXPLODE(SEQUENCE…)``
                           SELECT list (integers, both ends included)
=========================  ===============================================  =====================
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from workbench.data.views import MACROS as VIEW_MACROS

#: DuckDB macros every dataset connection defines (:func:`workbench.data.views.create_derived_views`),
#: so that a statement can name a function Spark has natively with the same meaning: ``percentile(x, p)``
#: is DuckDB's ``quantile_cont`` and Spark's ``percentile`` (exact, linear interpolation)
MACROS = VIEW_MACROS

#: A Monday: weekdays count from it (0 = Monday … 6 = Sunday) on every engine
_MONDAY = "DATE '2001-01-01'"


def days_between(a: str, b: str) -> str:
    """Whole days from date ``a`` to date ``b`` (``b - a``; negative when ``b`` is earlier).

    Both must be DATE expressions (``CAST(x AS DATE)`` a timestamp first); the result is an integer.
    """
    return f"date_diff('day', {a}, {b})"


def days_elapsed(a: str, b: str) -> str:
    """Days, with fractions, from timestamp ``a`` to timestamp ``b`` (microsecond resolution)."""
    return f"(date_diff('microsecond', {a}, {b}) / 86400000000.0)"


def add_days(t: str, n: str) -> str:
    """Timestamp or date ``t`` plus ``n`` days (``n`` an integer expression or parameter)."""
    return f"({t} + CAST({n} AS INTEGER) * INTERVAL 1 DAY)"


def weekday(x: str) -> str:
    """Day of the week of ``x`` (a date or timestamp, local time): 0 = Monday … 6 = Sunday."""
    return f"((({days_between(_MONDAY, f'CAST({x} AS DATE)')}) % 7 + 7) % 7)"


def quantile(x: str, p: str) -> str:
    """The ``p`` quantile of ``x`` in an aggregate, linear interpolation between order statistics
    (DuckDB's ``quantile_cont``, Spark's ``percentile``); ``p`` a literal or parameter in [0, 1]."""
    return f"percentile({x}, {p})"


def in_list(column: str, values: Iterable[Any], prefix: str) -> tuple[str, dict[str, Any]]:
    """``column IN ($<prefix>0, …)`` with one bound parameter per value, and those parameters.

    No values gives ``FALSE`` (nothing matches), never an empty ``IN ()``.
    """
    values = list(values)
    if not values:
        return "FALSE", {}
    names = [f"{prefix}{i}" for i in range(len(values))]
    return f"{column} IN ({', '.join('$' + n for n in names)})", dict(zip(names, values))


def series(lo: str, hi: str) -> str:
    """Integers ``lo`` … ``hi`` (both included), one row each: only as a whole item of a SELECT list
    (``SELECT c.id, {series('0', 'c.days')} AS k FROM c``), never inside another expression."""
    return f"unnest(generate_series({lo}, {hi}))"
