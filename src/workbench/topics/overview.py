"""The executive overview: every registered KPI with its status, what needs attention, and why.

What goes in: a :class:`~workbench.data.loader.Dataset` and :class:`~workbench.sql.filters.Filters`
(and, in a batch, the other notebooks' findings JSON). What comes out:

* :func:`headlines` — every KPI of the registry (:mod:`workbench.sql.metrics`) the data can feed,
  evaluated by :func:`workbench.topics.kpi.kpi`, so its value and status equal those of the topic
  page that explains it and of ``13_risk``; a tidy frame plus the :class:`~workbench.topics.kpi.Kpi`
  objects (value Estimate, change, status or ``none`` with a reason, daily history for a sparkline);
* :func:`campaign_context` (defined in :mod:`workbench.topics.kpi`, which ``13_risk`` shares) — whether the period or its comparison window holds campaign days
  (:func:`workbench.sql.calendar.campaign_days`) and, when they differ, the like-for-like
  comparisons: the KPIs without campaign days in either window, and against the same weekdays of
  last year;
* :func:`read_findings` / :func:`recorded_alerts` / :func:`top_findings` — the other notebooks'
  findings (the findings JSON contract: ``key``, ``estimate``, ``low``, ``high``, ``level``, ``n``,
  ``unit``, ``method``, ``status``, ``status_reason``, ``change``, ``headline``, ``text``).

The overview never imports another topic module: it reads the registry, the SQL layer and the
findings JSON. It writes no sentence: statuses and reasons are keys that the notebook turns into
words through the catalogue.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from workbench.data.loader import Dataset
from workbench.sql import metrics
from workbench.sql.filters import Filters
from workbench.topics import kpi as kpis_mod
from workbench.topics.kpi import Kpi

OVERVIEW = "00_overview"
#: Colours of the statuses (the overview's tiles use them).
STATUS_COLOURS = {"green": "#2f9e44", "amber": "#f08c00", "red": "#c2255c", "none": "#999", None: "#999"}
STATUS_ORDER = {"red": 0, "amber": 1, "green": 2, "none": 3}
NEEDS = {"orders": []}

HEADLINE_COLUMNS = ["key", "page", "unit", "better", "value", "low", "high", "n", "comparison", "change", "status",
                    "reason"]


# ------------------------------------------------------------------------------------------------
# headline KPIs (one registry, every page)
# ------------------------------------------------------------------------------------------------
def headline_kpis(ds: Dataset, f: Filters, level: float = 0.95) -> list[Kpi]:
    """:func:`workbench.topics.kpi.kpi` for every registered metric the dataset can feed, in registry order."""
    return kpis_mod.kpis(ds, f, metrics.available(ds), level)


def headline_frame(items: list[Kpi]) -> pd.DataFrame:
    """The KPIs as a tidy frame: ``key``, ``page``, ``unit``, ``better``, ``value``, ``low``, ``high``,
    ``n``, ``comparison``, ``change``, ``status`` (red/amber/green/none, never NaN), ``reason``."""
    rows = [{"key": k.key, "page": k.page, "unit": k.unit, "better": k.better, "value": k.value.estimate,
             "low": k.value.low, "high": k.value.high, "n": k.value.n,
             "comparison": k.comparison.estimate if k.comparison is not None else float("nan"),
             "change": k.change, "status": k.status, "reason": k.reason} for k in items]
    return pd.DataFrame(rows, columns=HEADLINE_COLUMNS)


def headlines(ds: Dataset, f: Filters, level: float = 0.95) -> tuple[list[Kpi], pd.DataFrame]:
    """Every available KPI (:func:`headline_kpis`) and its tidy frame (:func:`headline_frame`)."""
    items = headline_kpis(ds, f, level)
    return items, headline_frame(items)


def status_counts(items: list[Kpi]) -> dict[str, int]:
    """How many KPIs are red, amber, green and none (every status present, zero when absent)."""
    out = {s: 0 for s in kpis_mod.STATUSES}
    for k in items:
        out[k.status] += 1
    return out


def flagged(items: list[Kpi]) -> list[Kpi]:
    """The red and amber KPIs, red first, each group in the registry's order (the headline KPIs first)."""
    bad = [k for k in items if k.status in ("red", "amber")]
    return sorted(bad, key=lambda k: STATUS_ORDER[k.status])


# ------------------------------------------------------------------------------------------------
# why the period changed: campaigns in one window and not the other (shared with 13_risk via topics.kpi)
# ------------------------------------------------------------------------------------------------
CampaignContext = kpis_mod.CampaignContext
campaign_context = kpis_mod.campaign_context
LIKE_FOR_LIKE = kpis_mod.LIKE_FOR_LIKE


# ------------------------------------------------------------------------------------------------
# recorded findings (batch mode)
# ------------------------------------------------------------------------------------------------
def findings_folder(findings_path: str | Path | None) -> Path | None:
    """The run folder that holds the other notebooks' findings, from the overview's ``findings_path``."""
    if not findings_path:
        return None
    return Path(findings_path).parent


def read_findings(folder: str | Path | None, exclude: str = OVERVIEW) -> dict[str, dict]:
    """Every ``<stem>.findings.json`` in ``folder`` except the overview's own, by notebook stem.

    Unreadable or partial files are skipped (a notebook that failed leaves none or a broken one).
    Returns an empty dict when the folder is None or holds no findings.
    """
    out: dict[str, dict] = {}
    if folder is None or not Path(folder).is_dir():
        return out
    for path in sorted(Path(folder).glob("*.findings.json")):
        stem = path.name.removesuffix(".findings.json")
        if stem == exclude:
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("findings"), list):
            out[stem] = record
    return out


FINDING_COLUMNS = ["topic", "key", "text", "estimate", "low", "high", "n", "unit", "change", "status",
                   "status_reason", "headline", "section"]


def _row(stem: str, x: dict) -> dict:
    return {"topic": stem, "key": x.get("key"), "text": x.get("text", ""), "estimate": x.get("estimate"),
            "low": x.get("low"), "high": x.get("high"), "n": x.get("n"), "unit": x.get("unit"),
            "change": x.get("change"), "status": x.get("status") or "none", "status_reason": x.get("status_reason"),
            "headline": bool(x.get("headline")), "section": x.get("section")}


def _rank(finding: dict) -> tuple[int, int]:
    return STATUS_ORDER.get(finding.get("status") or "none", 3), 0 if finding.get("headline") else 1


def top_findings(records: dict[str, dict], per_topic: int = 3) -> pd.DataFrame:
    """The top findings of each recorded topic: red, then amber, then headline findings, then the rest
    in the notebook's order; at most ``per_topic`` each. Columns :data:`FINDING_COLUMNS` (the
    findings JSON fields; ``status`` is the finding's own, ``none`` when it judged none)."""
    rows = []
    for stem, rec in records.items():
        found = [x for x in rec.get("findings", []) if isinstance(x, dict) and x.get("text")]
        ranked = sorted(enumerate(found), key=lambda ix: (*_rank(ix[1]), ix[0]))[:per_topic]
        rows += [_row(stem, x) for _, x in ranked]
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)


def recorded_alerts(records: dict[str, dict], skip_keys: set[str] | frozenset[str] = frozenset()) -> pd.DataFrame:
    """Findings whose notebook marked them red or amber (columns :data:`FINDING_COLUMNS`, red first).

    ``skip_keys`` leaves out findings already listed elsewhere: the registry KPIs (the overview
    lists them from the registry itself) and summary findings such as a page's count of alerts.
    """
    rows = [_row(stem, x) for stem, rec in records.items() for x in rec.get("findings", [])
            if isinstance(x, dict) and x.get("status") in ("red", "amber") and x.get("key") not in skip_keys]
    out = pd.DataFrame(rows, columns=FINDING_COLUMNS)
    return out.sort_values("status", key=lambda s: s.map(STATUS_ORDER), kind="stable").reset_index(drop=True)


#: Findings that only count or summarise other items (never listed as an alert of their own).
SUMMARY_KEYS = frozenset({"alerts", "status", "topics", "kpi_alerts"})


def other_alert_keys() -> frozenset[str]:
    """Finding keys the attention list leaves out of the recorded alerts: the registry KPIs and summaries."""
    return frozenset(metrics.METRICS) | SUMMARY_KEYS


def link(stem: str, batch: bool) -> str:
    """Where a topic lives: the static report beside the overview (batch) or its dashboard."""
    return f"{stem}.html" if batch else f"/voila/render/{stem}.ipynb"
