"""The report archive: ``reports/index.html`` over every run, and the retention of old runs.

A run is a folder under the reports root holding ``run.json`` (what :mod:`workbench.run.batch`
publishes). The archive lists them newest first with status, period, parameters and headline KPIs
(value and interval as the overview recorded them), and draws each headline KPI across runs.
:func:`prune` keeps the newest ``keep`` runs and never the one ``latest`` points at; it removes
nothing that is not a run.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.deliver.summary import RunSummary, summarise
from workbench.present.report import esc as _esc
from workbench.text import catalogue, fmt

HEADLINE_KPIS = ("gmv", "orders", "conversion", "aov", "refund_rate", "repeat_rate", "on_time_rate", "rating")
PLOTLY_ASSET = "assets/plotly.min.js"


@dataclass
class Entry:
    """A run on disk and its summary."""

    path: Path
    summary: RunSummary

    @property
    def started(self) -> str:
        return self.summary.started


def _t(key: str, lang: str, **values: Any) -> str:
    return catalogue.message(f"deliver.archive.{key}", lang, **values)




def runs(root: str | Path) -> list[Entry]:
    """Every run directly under ``root`` (folders with a readable ``run.json``), newest first."""
    root = Path(root)
    out = []
    if not root.is_dir():
        return out
    for child in root.iterdir():
        if child.name.startswith(".") or child.is_symlink() or not child.is_dir():
            continue
        try:
            out.append(Entry(child, summarise(child)))
        except FileNotFoundError:
            continue
    out.sort(key=lambda e: (e.started, e.path.name), reverse=True)
    return out


def latest_target(root: Path) -> Path | None:
    """The run ``root/latest`` points at (a symlink, or a file holding the folder name), if any."""
    link = root / "latest"
    try:
        if link.is_symlink():
            return (root / link.readlink()).resolve()
        if link.is_file():
            return (root / link.read_text(encoding="utf-8").strip()).resolve()
    except OSError:
        return None
    return None


def prune(root: str | Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` runs under ``root`` (never ``latest``'s); the removed folders."""
    if keep < 1:
        from workbench.errors import ParameterError

        raise ParameterError(f"--keep must be at least 1, got {keep}")
    root = Path(root)
    protected = latest_target(root)
    removed = []
    for entry in runs(root)[keep:]:
        if protected is not None and entry.path.resolve() == protected:
            continue
        if not (entry.path / "run.json").is_file():
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    return removed


def _kpi_cell(kpi: dict[str, Any] | None, lang: str) -> str:
    if not kpi:
        return "<td class='num muted'>—</td>"
    value = kpi.get("value") or {}
    est, lo, hi = value.get("estimate"), value.get("low"), value.get("high")
    unit = kpi.get("unit") or value.get("unit") or "number"
    if est is None:
        return "<td class='num muted'>—</td>"
    text = fmt.value(est, unit, lang)
    span = f"<div class='muted small'>{_esc(fmt.span(lo, hi, unit, lang))}</div>" if lo is not None and hi is not None \
        else ""
    status = kpi.get("status") or "none"
    return f"<td class='num kpi-{_esc(status)}'>{_esc(text)}{span}</td>"


def _kpi_keys(entries: list[Entry]) -> list[str]:
    seen = [k for e in entries for k in e.summary.kpis]
    keys = [k for k in HEADLINE_KPIS if k in seen]
    return keys or list(dict.fromkeys(seen))[:6]


def history_frame(entries: list[Entry], key: str) -> Any:
    """``as_of``, ``value``, ``low``, ``high`` of KPI ``key`` per run (runs without it left out)."""
    import pandas as pd

    rows = []
    for e in entries:
        kpi = e.summary.kpis.get(key) or {}
        v = kpi.get("value") or {}
        if v.get("estimate") is None:
            continue
        rows.append({"as_of": e.summary.as_of or e.path.name, "value": v.get("estimate"), "low": v.get("low"),
                     "high": v.get("high"), "unit": kpi.get("unit") or v.get("unit") or "number"})
    return pd.DataFrame(rows, columns=["as_of", "value", "low", "high", "unit"])


STYLE = """body{font-family:"Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei",sans-serif;margin:24px;
color:#1f2933;max-width:1200px}h1{font-size:24px}table{border-collapse:collapse;width:100%;margin:12px 0}
th,td{border-bottom:1px solid #e4e7eb;padding:6px 8px;text-align:left;vertical-align:top}td.num{text-align:right;
white-space:nowrap}.muted{color:#7b8794}.small{font-size:12px}.status-succeeded{color:#1f7a4d}.status-failed{color:#b42318}
.kpi-red{color:#b42318}.kpi-amber{color:#b54708}.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));
gap:8px}ul.params{margin:0;padding-left:16px;font-size:12px}@media(max-width:600px){body{margin:8px}th,td{padding:4px}}"""


def render(root: str | Path, lang: str | None = None, plotly_src: str | None = None) -> str:
    """The archive page for the runs under ``root`` (in ``lang``, default the newest run's language)."""
    from workbench.present.archive_charts import kpi_history

    root = Path(root)
    entries = runs(root)
    lang = lang or (entries[0].summary.language if entries else "zh")
    keys = _kpi_keys(entries)
    latest = latest_target(root)
    head = "".join(f"<th>{_esc(catalogue.message('kpi.name.' + k, lang))}</th>" for k in keys)
    rows = []
    for e in entries:
        s = e.summary
        tag = f" <span class='muted small'>({_esc(_t('latest', lang))})</span>" \
            if latest is not None and e.path.resolve() == latest else ""
        params = "".join(f"<li><code>{_esc(k)}</code> = {_esc(v)}</li>" for k, v in sorted(s.params.items()))
        period = f"{_esc(s.start)} – {_esc(s.as_of)}" if s.as_of else "—"
        status_word = catalogue.message("report." + ("succeeded" if s.ok else "failed"), lang)
        rows.append(
            f"<tr><td><a href='{_esc(e.path.name)}/index.html'>{_esc(s.started.replace('T', ' ')[:16])}</a>{tag}</td>"
            f"<td>{period}</td><td class='status-{_esc(s.status)}'>{_esc(status_word)} "
            f"<span class='muted small'>{s.n_succeeded}/{s.n_notebooks}</span></td>"
            f"<td>{f'<ul class=params>{params}</ul>' if params else _esc(_t('defaults', lang))}</td>"
            + "".join(_kpi_cell(s.kpis.get(k), lang) for k in keys) + "</tr>")
    charts = []
    src = plotly_src
    for k in keys:
        frame = history_frame(entries, k)
        if len(frame) < 1:
            continue
        fig = kpi_history(frame, catalogue.message("kpi.name." + k, lang), lang, unit=str(frame["unit"].iloc[0]))
        charts.append(fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False,
                                                                                   "responsive": True}))
    script = f"<script src='{_esc(src)}'></script>" if src and charts else ""
    body = (f"<p>{_esc(_t('intro', lang))}</p><table><thead><tr><th>{_esc(_t('run', lang))}</th>"
            f"<th>{_esc(_t('period', lang))}</th><th>{_esc(_t('status', lang))}</th><th>{_esc(_t('params', lang))}</th>"
            f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            + (f"<h2>{_esc(_t('history', lang))}</h2><div class='charts'>{''.join(charts)}</div>" if charts else "")
            ) if entries else f"<p>{_esc(_t('none', lang))}</p>"
    return (f"<!doctype html><html lang='{_esc(lang)}'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{_esc(_t('title', lang))}</title>"
            f"<style>{STYLE}</style>{script}</head><body><h1>{_esc(_t('title', lang))}</h1>{body}</body></html>")


def write_index(root: str | Path, lang: str | None = None) -> Path:
    """Write ``root/index.html`` (atomically) and ``root/assets/plotly.min.js`` when charts need it."""
    from workbench.present.report import plotly_js_path, write_text_atomic

    root = Path(root)
    asset = root / PLOTLY_ASSET
    if not asset.exists():
        asset.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plotly_js_path(), asset)
    path = root / "index.html"
    write_text_atomic(path, render(root, lang, plotly_src=PLOTLY_ASSET))
    return path


def record(run_dir: Path, key: str, value: Any) -> None:
    """Add ``key: value`` to a run's ``run.json`` (rewritten atomically); nothing else changes."""
    from workbench.present.report import write_text_atomic

    path = Path(run_dir) / "run.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest[key] = value
    write_text_atomic(path, json.dumps(manifest, ensure_ascii=False, indent=2, default=str))
