"""What a finished run says to someone who will not open it: :class:`RunSummary`.

Built from the run folder alone (``run.json`` and the notebooks' ``*.findings.json``), so a
summary can be made for any run on disk, long after it ended.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ALERT = ("red", "amber")


@dataclass
class Alert:
    """A red or amber headline finding: its notebook's title, the sentence and the status."""

    notebook: str
    title: str
    status: str
    text: str


@dataclass
class Failure:
    """A notebook that did not succeed, with a one-line reason."""

    notebook: str
    title: str
    status: str
    reason: str


@dataclass
class RunSummary:
    """The facts a notification, an archive row or a roll-up needs about one run.

    ``status`` is ``succeeded`` or ``failed`` (the run's), ``as_of`` the last day of the reported
    period (``YYYY-MM-DD``, or None when no notebook recorded its period), ``language`` the report's
    language, ``kpis`` the registry KPIs the overview recorded (key → the KPI's dict from the
    findings JSON), ``alerts`` the red and amber headline findings (red first), ``failures`` the
    notebooks that did not succeed.
    """

    run_dir: Path
    status: str
    language: str
    as_of: str | None
    start: str | None
    n_notebooks: int
    n_succeeded: int
    started: str
    params: dict[str, Any]
    alerts: list[Alert] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    kpis: dict[str, dict[str, Any]] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    shop: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def index(self) -> Path:
        return self.run_dir / "index.html"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def one_line(error: dict[str, Any] | None) -> str:
    """``ename: evalue`` of a notebook's error, first line only, at most 200 characters."""
    if not error:
        return ""
    text = ": ".join(str(x) for x in (error.get("ename"), error.get("evalue")) if x)
    return (text.splitlines() or [""])[0][:200]


def summarise(run_dir: str | Path) -> RunSummary:
    """The :class:`RunSummary` of the run in ``run_dir`` (a folder holding ``run.json``).

    Raises ``FileNotFoundError`` when ``run.json`` is missing or unreadable.
    """
    run_dir = Path(run_dir)
    manifest = _read_json(run_dir / "run.json")
    if manifest is None:
        raise FileNotFoundError(f"{run_dir / 'run.json'} is missing or not a JSON object")
    rows = manifest.get("notebooks") or []
    lang = str((manifest.get("effective_params") or {}).get("language") or "zh")
    period = next((r["period"] for r in rows if r.get("period")), None) or {}
    alerts: list[Alert] = []
    failures: list[Failure] = []
    kpis: dict[str, dict[str, Any]] = {}
    for row in rows:
        title = str(row.get("title") or row["name"])
        if row.get("status") != "succeeded":
            failures.append(Failure(row["name"], title, str(row.get("status")), one_line(row.get("error"))))
        for f in row.get("headline_findings") or []:
            if f.get("status") in ALERT and f.get("text"):
                alerts.append(Alert(row["name"], title, f["status"], str(f["text"])))
        record = _read_json(run_dir / f"{row['name']}.findings.json") if row.get("name") else None
        recorded = (record or {}).get("kpis") or []
        items = recorded.items() if isinstance(recorded, dict) else ((k.get("key"), k) for k in recorded
                                                                     if isinstance(k, dict))
        for key, kpi in items:
            if not key:
                continue
            # the overview shows every headline KPI; a KPI seen on its own page first is kept only
            # until the overview's arrives (both are the registry's one definition)
            if key not in kpis or str(row["name"]).startswith("00_"):
                kpis[key] = kpi
    alerts.sort(key=lambda a: ALERT.index(a.status))
    return RunSummary(
        run_dir=run_dir, status=str(manifest.get("status") or ("failed" if failures else "succeeded")),
        language=lang, as_of=period.get("end"), start=period.get("start"), n_notebooks=len(rows),
        n_succeeded=sum(1 for r in rows if r.get("status") == "succeeded"),
        started=str(manifest.get("started") or ""), params=dict(manifest.get("params") or {}),
        alerts=alerts, failures=failures, kpis=kpis, manifest=manifest)
