"""Findings: the sentences a page writes, each with the figure behind it, and the JSON record of a run."""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from workbench.text.labels import label


@dataclass
class Finding:
    """One sentence computed from the data, with the figure behind it (the findings JSON contract).

    ``estimate``, ``low``, ``high``, ``level``, ``n``, ``unit`` and ``method`` are the figure's
    :class:`~workbench.stats.result.Estimate`; ``status`` is red, amber, green or none (with
    ``status_reason``); ``change`` is a relative change against the comparison period; ``metric``
    names the registry KPI (:mod:`workbench.sql.metrics`) when the figure is one.
    """

    key: str
    text: str
    section: str
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    level: float | None = None
    n: int | None = None
    unit: str | None = None
    method: str | None = None
    change: float | None = None
    status: str | None = None
    status_reason: str | None = None
    headline: bool = False
    metric: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and v != v else v) for k, v in self.__dict__.items()}


def write_record(path: str | os.PathLike, record: dict[str, Any]) -> None:
    """Write ``record`` as JSON to ``path`` atomically (a reader never sees half a file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, target)


def findings_html(findings: Iterable[Finding], skipped_titles: list[str], lang: str) -> str:
    """The findings box at the top of a page: each finding's sentence, then the skipped sections."""
    items = "".join(f"<li>{html.escape(x.text)}</li>" for x in findings)
    skip = ""
    if skipped_titles:
        skip = (f"<p class='wb-skipped'>{label('skipped', lang)}: " + html.escape("; ".join(skipped_titles)) + "</p>")
    return (f"<div class='wb-findings'><h3>{label('findings', lang)}</h3>"
            f"<ul>{items or '<li>…</li>'}</ul>{skip}</div>")


def peak_memory_mb() -> float:
    """Peak resident memory of this process (the kernel running the notebook), in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
