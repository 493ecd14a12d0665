"""Notebook parameters: one specification, checked the same way everywhere.

Every notebook's tagged ``parameters`` cell holds the names in :data:`SPEC` with their
defaults. The batch runner (command line and ``--params`` YAML), the dashboards (URL query
strings) and :func:`workbench.setup` all pass values through :func:`validate`, so a value
that is not valid is refused before anything runs, and nothing a user types is executed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from workbench.data import schema
from workbench.errors import ParameterError

PERIODS = ("last-7d", "last-28d", "last-90d", "last-365d", "mtd", "qtd", "ytd", "all")
COMPARISONS = ("previous", "last_year", "none")
LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its default, a description and the function that checks and converts a value."""

    name: str
    default: Any
    description: str
    convert: Callable[[Any], Any]


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError("expected text")
    return v.strip()


def _date_or_empty(v: Any) -> str:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.strftime("%Y-%m-%d")
    v = _str(v)
    if v and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        raise ValueError("expected a date as YYYY-MM-DD or empty")
    if v:
        dt.date.fromisoformat(v)
    return v


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        v = _str(v).lower()
        if v not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return v
    return check


def _period(v: Any) -> str:
    v = _str(v).lower()
    if v in PERIODS or re.fullmatch(r"last-\d{1,4}d", v):
        return v
    raise ValueError(f"expected one of {', '.join(PERIODS)} or last-<N>d")


def _channels(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        v = ",".join(map(str, v))
    v = _str(v).lower().replace(" ", "")
    if v in ("", "all"):
        return "all"
    items = [c for c in v.split(",") if c]
    bad = [c for c in items if c not in schema.CHANNELS]
    if bad:
        raise ValueError(f"unknown channel {', '.join(bad)}; expected 'all' or a comma-separated list of "
                         f"{', '.join(schema.CHANNELS)}")
    return ",".join(dict.fromkeys(items))


def _engine(v: Any) -> str:
    """``""`` (``$WORKBENCH_ENGINE``, else duckdb), ``duckdb``, ``spark`` or ``spark:MASTER``."""
    from workbench.sql.spark import parse_engine

    v = _str(v)
    if not v:
        return ""
    try:
        name, master = parse_engine(v)
    except ParameterError as exc:
        raise ValueError(str(exc).removeprefix(f"unknown engine {v!r}; ")) from None
    return name if name == "duckdb" or v.lower() == "spark" else f"spark:{master}"


def _number(v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError("expected a number")
    if isinstance(v, (int, float)):
        return float(v)
    v = _str(v)
    if not re.fullmatch(r"-?\d+(\.\d+)?", v):
        raise ValueError("expected a number")
    return float(v)


SPEC: dict[str, ParamSpec] = {p.name: p for p in (
    ParamSpec("data", "", "Folder of the shop's tables (empty: the sample shop in data/sample).", _str),
    ParamSpec("start", "", "First day of the period, YYYY-MM-DD (empty: from `period`).", _date_or_empty),
    ParamSpec("end", "", "Last day of the period, YYYY-MM-DD (empty: from `period`).", _date_or_empty),
    ParamSpec("period", "last-28d", f"Relative period against `as_of`: {', '.join(PERIODS)} or last-<N>d.",
              _period),
    ParamSpec("as_of", "", "Reference day for a relative period (empty: the last day with orders).",
              _date_or_empty),
    ParamSpec("channels", "all", "Sales channels: 'all' or a comma-separated list.", _channels),
    ParamSpec("compare", "previous", f"Comparison period: {', '.join(COMPARISONS)}.", _choice(COMPARISONS)),
    ParamSpec("language", "zh", "Labels and findings: zh (Chinese) or en (English).", _choice(LANGUAGES)),
    ParamSpec("threshold_pct", 5.0, "Change in per cent beyond which a KPI turns amber/red (overview).", _number),
    ParamSpec("engine", "", "Where the queries run: duckdb, spark (local[2]) or spark:MASTER (local[N], "
              "spark://host:7077, sc://host:15002); empty: $WORKBENCH_ENGINE, else duckdb.", _engine),
    ParamSpec("findings_path", "", "Where to record this run's findings as JSON (set by `workbench run`).", _str),
)}


def defaults() -> dict[str, Any]:
    """The default value of every parameter."""
    return {name: p.default for name, p in SPEC.items()}


def validate(values: Mapping[str, Any], allowed: set[str] | None = None) -> dict[str, Any]:
    """Check and convert parameter ``values``; return the full, converted set (defaults filled in).

    ``allowed`` restricts the names (a notebook's own parameters cell may hold fewer or more
    than :data:`SPEC`; extra names are checked against the notebook's defaults by the runner).
    Raises :class:`ParameterError` naming every bad value and listing the valid parameters.
    """
    names = allowed if allowed is not None else set(SPEC)
    out = defaults()
    problems = []
    for name, value in values.items():
        if name not in names:
            problems.append(f"unknown parameter '{name}'")
            continue
        spec = SPEC.get(name)
        if spec is None:  # a notebook-specific parameter: the runner checks its type
            out[name] = value
            continue
        try:
            out[name] = spec.convert(value)
        except (ValueError, TypeError) as exc:
            problems.append(f"parameter '{name}' = {value!r}: {exc}")
    if out.get("start") and out.get("end") and out["start"] > out["end"]:
        problems.append(f"start {out['start']} is after end {out['end']}")
    if problems:
        raise ParameterError("; ".join(problems) + "\nvalid parameters:\n" + describe(names))
    return out


def describe(names: set[str] | None = None) -> str:
    """One line per parameter: name, default and what it means."""
    rows = []
    for name, p in SPEC.items():
        if names is None or name in names:
            rows.append(f"  {name:<14} default {p.default!r:<12} {p.description}")
    return "\n".join(rows)


def coerce_text(name: str, text: str) -> Any:
    """Convert a value typed on a command line or in a URL (always text) for parameter ``name``."""
    spec = SPEC.get(name)
    if spec is None:
        return text
    if isinstance(spec.default, float):
        return _number(text)
    return text
