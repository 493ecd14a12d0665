"""From parameters to filters: the period, the comparison period and the channels."""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from workbench.errors import EmptyPeriodError
from workbench.sql.filters import Filters, compare_window


def resolve_filters(p: Mapping[str, Any], span: tuple[dt.date, dt.date] | None) -> Filters:
    """Turn validated parameters into concrete :class:`Filters`.

    Explicit ``start``/``end`` win; otherwise ``period`` counts back from ``as_of`` (default: the
    last day with data). Raises :class:`EmptyPeriodError` when the period lies outside the data.
    """
    if span is None:
        raise EmptyPeriodError("the data holds no dated rows; load a dataset with orders (or traffic, "
                               "tickets, reviews) first")
    first, last = span
    as_of = dt.date.fromisoformat(p["as_of"]) if p.get("as_of") else last
    period = p.get("period", "last-28d")
    if p.get("start") or p.get("end"):
        start = dt.date.fromisoformat(p["start"]) if p.get("start") else first
        end = dt.date.fromisoformat(p["end"]) if p.get("end") else as_of
    elif period == "all":
        start, end = first, as_of
    elif period == "mtd":
        start, end = as_of.replace(day=1), as_of
    elif period == "qtd":
        start, end = as_of.replace(month=(as_of.month - 1) // 3 * 3 + 1, day=1), as_of
    elif period == "ytd":
        start, end = as_of.replace(month=1, day=1), as_of
    else:
        n = int(period.removeprefix("last-").removesuffix("d"))
        start, end = as_of - dt.timedelta(days=n - 1), as_of
    if end < first or start > last:
        raise EmptyPeriodError(
            f"the period {start} to {end} holds no data: the data covers {first} to {last}; "
            f"choose dates inside that range (parameters start/end, or as_of)")
    cs, ce = compare_window(start, end, p.get("compare", "previous"))
    channels = () if p.get("channels", "all") == "all" else tuple(p["channels"].split(","))
    return Filters(start=start, end=end, channels=channels, compare=p.get("compare", "previous"),
                   compare_start=cs, compare_end=ce)
