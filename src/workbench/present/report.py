"""The files of a batch run besides the notebooks: report pages, ``run.json`` and ``index.html``.

:mod:`workbench.run.batch` executes notebooks; this module turns what they produced into a
report that opens offline:

* :func:`export_html` renders an executed notebook as HTML without code (nbconvert, in
  process) and :func:`make_offline` makes it load plotly.js from ``assets/plotly.min.js``
  (copied once per run by :func:`copy_plotly_js`) instead of any CDN;
* :func:`build_manifest` collects the run's facts (parameters, data fingerprint, package
  versions, each notebook's status, error, outputs, skipped sections and headline findings);
* :func:`write_run_files` writes ``run.json`` and then ``index.html`` (the manifest as a page).

Everything here works on plain data (dicts, paths, strings): nothing reads globals.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import platform
import re
import shutil
import threading
import uuid
from collections.abc import Iterable, Mapping
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from workbench.text import catalogue

PLOTLY_ASSET = "assets/plotly.min.js"
"""Where a run keeps plotly.js, relative to the run folder (and so to every report page)."""

STATUSES = ("succeeded", "failed", "timeout")

VERSIONED_PACKAGES = ("workbench", "pandas", "plotly", "statsmodels", "papermill", "duckdb", "voila",
                      "nbconvert", "ipykernel")



def _t(key: str, lang: str, **values: Any) -> str:
    return catalogue.message(f"report.{key}", lang, **values)


# ----- report pages ---------------------------------------------------------------------------
def plotly_js_path() -> Path:
    """The ``plotly.min.js`` shipped inside the installed plotly package (about 4.8 MB)."""
    path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js not found at {path}; reinstall plotly")
    return path


def copy_plotly_js(run_dir: Path) -> Path:
    """Copy plotly.js into ``run_dir/assets/`` (once per run) and return the copy's path."""
    target = run_dir / PLOTLY_ASSET
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        shutil.copyfile(plotly_js_path(), target)
    return target


def embed_plotly_outputs(nb: Any) -> int:
    """Give every plotly output that has only its JSON mime type a ``text/html`` rendering.

    ``nb`` is an executed notebook (nbformat node), changed in place. A figure shown with
    ``fig.show()`` under the ``plotly_mimetype`` renderer carries only
    ``application/vnd.plotly.v1+json``, which nbconvert drops; this adds a ``<div>`` and a
    script that calls the page's global ``Plotly.newPlot``. Returns the number of outputs changed.
    """
    changed = 0
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = output.get("data") or {}
            spec = data.get("application/vnd.plotly.v1+json")
            if spec is None or "text/html" in data:
                continue
            div_id = "wb-" + uuid.uuid4().hex[:12]
            height = ((spec.get("layout") or {}).get("height")) or 450
            payload = json.dumps(spec).replace("</", "<\\/")
            data["text/html"] = (
                f"<div id='{div_id}' class='wb-chart' style='height:{int(height)}px'></div>"
                f"<script>(function(){{var s={payload};Plotly.newPlot('{div_id}', s.data, s.layout, "
                f"{{responsive: true, displaylogo: false}});}})();</script>")
            changed += 1
    return changed


_EXTERNAL_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>\s*", re.IGNORECASE)
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
# nbconvert's loader of mermaid.js (imported from a CDN when a page has diagrams; ours have none)
_MERMAID_MODULE = re.compile(r"<script type=\"module\">(?:(?!</script>).)*?mermaid(?:(?!</script>).)*</script>\s*",
                             re.IGNORECASE | re.DOTALL)


def make_offline(page: str, plotly_src: str = PLOTLY_ASSET) -> str:
    """Make an nbconvert HTML page work without network; return the new page.

    Removes every ``<script src="http(s)://...">`` (require.js and MathJax from CDNs: they
    would block the page while the network times out, and nothing in a batch report needs
    them), nbconvert's mermaid loader (a module importing from a CDN), and inserts ``<script src="{plotly_src}"></script>`` as the first element of
    ``<head>``, so that plotly.js defines ``window.Plotly`` before any other script runs.
    """
    page = _EXTERNAL_SCRIPT.sub("", page)
    page = _MERMAID_MODULE.sub("", page)
    tag = f'<script src="{html.escape(plotly_src)}"></script>'
    match = _HEAD.search(page)
    if match is None:
        return f"<head>{tag}</head>" + page
    return page[:match.end()] + tag + page[match.end():]


def export_html(nb: Any, title: str, language: str = "zh", plotly_src: str = PLOTLY_ASSET) -> str:
    """Render an executed notebook as an offline HTML page without code; return the page.

    ``nb`` is an nbformat notebook node (changed in place: plotly outputs get an HTML
    rendering, the page title is set). Input cells and prompts are left out; charts load
    plotly.js from ``plotly_src`` relative to the page.
    """
    embed_plotly_outputs(nb)
    nb.metadata["title"] = title
    with _EXPORT_LOCK:
        body, _ = _exporter(language).from_notebook_node(nb)
    return make_offline(body, plotly_src)


_EXPORTERS: dict[str, Any] = {}
_EXPORT_LOCK = threading.Lock()


def _exporter(language: str) -> Any:
    """One HTML exporter per page language, made once per process (templates load once)."""
    if language not in _EXPORTERS:
        from nbconvert import HTMLExporter

        _EXPORTERS[language] = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                                            exclude_output_prompt=True, language_code=language)
    return _EXPORTERS[language]


def warm_up(language: str = "zh") -> None:
    """Export a small notebook once, so that the first real export does not pay for loading
    templates, the Markdown renderer and the syntax highlighter (about a second)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("x = 1")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n"),
                    nbformat.v4.new_output("display_data", data={"text/html": "<p>1</p>", "text/plain": "1"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title\n\n*text* `code`"), code]
    export_html(nb, "warm-up", language)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (never half a file)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# ----- manifest ---------------------------------------------------------------------------------
def data_fingerprint(path: Path) -> str:
    """A short hash of the data's file names, sizes and modification times (no data is read)."""
    from workbench.data.loader import fingerprint

    return fingerprint(path)


def package_versions(names: Iterable[str] = VERSIONED_PACKAGES) -> dict[str, str | None]:
    """The installed version of each distribution in ``names`` (None when absent), and Python's."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    out["python"] = platform.python_version()
    return out


def headline_findings(record: Mapping[str, Any] | None, fallback: int = 2) -> list[dict[str, Any]]:
    """The findings of a findings record to show in the index.

    Those marked ``headline`` come first; when there are none, the first ``fallback`` findings.
    """
    findings = list((record or {}).get("findings") or [])
    marked = [f for f in findings if f.get("headline")]
    return marked or findings[:fallback]


def skipped_sections(record: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The sections of a findings record whose status is ``skipped`` (key, title, message)."""
    return [{"key": s.get("key"), "title": s.get("title"), "message": s.get("message", "")}
            for s in (record or {}).get("sections") or [] if s.get("status") == "skipped"]


def build_manifest(*, params: Mapping[str, Any], effective_params: Mapping[str, Any], data_path: Path,
                   started: dt.datetime, finished: dt.datetime, notebooks: list[Mapping[str, Any]],
                   jobs: int, timeout: float) -> dict[str, Any]:
    """Assemble the run manifest (what ``run.json`` holds) from plain values.

    ``notebooks`` holds one dict per notebook with at least ``name``, ``title``, ``status``,
    ``seconds``, ``error``, ``outputs`` and ``findings`` (the notebook's findings record or
    None); the record is reduced here to its skipped sections and headline findings.
    """
    rows = []
    for nb in notebooks:
        record = nb.get("findings")
        rows.append({
            "name": nb["name"],
            "title": nb.get("title") or nb["name"],
            "source": nb.get("source"),
            "status": nb["status"],
            "seconds": round(float(nb.get("seconds") or 0.0), 2),
            "timings": nb.get("timings") or {},
            "error": nb.get("error"),
            "outputs": nb.get("outputs", {}),
            "period": (record or {}).get("period"),
            "skipped_sections": skipped_sections(record),
            "headline_findings": headline_findings(record),
        })
    failed = [r["name"] for r in rows if r["status"] != "succeeded"]
    return {
        "manifest_version": 1,
        "status": "failed" if failed else "succeeded",
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "seconds": round((finished - started).total_seconds(), 2),
        "params": dict(params),
        "effective_params": dict(effective_params),
        "data": {"path": str(data_path), "fingerprint": data_fingerprint(data_path)},
        "versions": package_versions(),
        "jobs": jobs,
        "timeout": timeout,
        "failed": failed,
        "notebooks": rows,
    }


# ----- index page -------------------------------------------------------------------------------
def _template() -> str:
    return (resources.files("workbench.present") / "templates" / "index.html").read_text(encoding="utf-8")


def esc(value: Any) -> str:
    """``value`` as text safe inside HTML and its attributes (None → empty)."""
    return html.escape("" if value is None else str(value), quote=True)


_esc = esc


def _row(nb: Mapping[str, Any], lang: str) -> str:
    status = nb["status"] if nb["status"] in STATUSES else "failed"
    page = (nb.get("outputs") or {}).get("html")
    title = _esc(nb.get("title") or nb["name"])
    name = (f"<a href='{_esc(page)}'>{title}</a>" if page
            else f"{title} <span class='muted'>({_esc(_t('no_page', lang))})</span>")
    findings = "".join(
        f"<li class='finding finding-{_esc(f.get('status') or 'none')}'>{_esc(f.get('text'))}</li>"
        for f in nb.get("headline_findings") or [])
    skipped = "".join(f"<li title='{_esc(s.get('message'))}'>{_esc(s.get('title') or s.get('key'))}</li>"
                      for s in nb.get("skipped_sections") or [])
    error = ""
    if nb.get("error"):
        err = nb["error"]
        head = ": ".join(_esc(x) for x in (err.get("ename"), err.get("evalue")) if x)
        cell = f"<pre>{_esc(err.get('cell'))}</pre>" if err.get("cell") else ""
        error = f"<div class='error'><strong>{_esc(_t('error', lang))}</strong> {head}{cell}</div>"
    return (f"<tr class='row-{status}'><td>{name}<div class='stem'>{_esc(nb['name'])}</div></td>"
            f"<td><span class='status status-{status}'>{_esc(_t(status, lang))}</span></td>"
            f"<td class='num'>{float(nb.get('seconds') or 0):.1f} s</td>"
            f"<td>{f'<ul>{findings}</ul>' if findings else ''}{error}</td>"
            f"<td>{f'<ul>{skipped}</ul>' if skipped else ''}</td></tr>")


def _data_notes(data: Mapping[str, Any], lang: str) -> str:
    """The index's lines on the data: changed during the run, and the count of the loader's warnings."""
    notes = []
    if data.get("changed_during_run") or data.get("consistent") is False:
        names = ", ".join(data.get("changed_during_run") or []) or "-"
        notes.append(f"<strong class='data-changed'>{_esc(_t('data_changed', lang, names=names))}</strong>")
    warnings = [w for w in data.get("warnings") or [] if w.get("severity") == "warning"]
    if warnings:
        rows = sum(int(w.get("count") or 0) for w in warnings)
        notes.append(f"<span class='data-warnings'>{_esc(_t('data_warnings', lang, n=len(warnings), rows=rows))}</span>")
    return "".join(f"<br>{n}" for n in notes)


def render_index(manifest: Mapping[str, Any]) -> str:
    """The run's ``index.html`` page for ``manifest`` (see :func:`build_manifest`).

    Self-contained (inline CSS, no scripts, no external resources); every text is escaped.
    The language of the labels follows the run's ``language`` parameter.
    """
    lang = (manifest.get("effective_params") or {}).get("language", "zh")
    rows = manifest.get("notebooks") or []
    ok = sum(1 for r in rows if r["status"] == "succeeded")
    period = next((r["period"] for r in rows if r.get("period")), None)
    when = manifest.get("started", "")
    heading = _t("heading", lang, start=period["start"], end=period["end"]) if period else _t("title", lang)
    params = manifest.get("params") or {}
    param_items = "".join(f"<li><code>{_esc(k)}</code> = {_esc(v)}</li>" for k, v in sorted(params.items()))
    versions = ", ".join(f"{k} {v}" for k, v in (manifest.get("versions") or {}).items() if v)
    data = manifest.get("data") or {}
    summary = _t("summary", lang, ok=ok, n=len(rows))
    values = {
        "lang": _esc(lang),
        "title": _esc(heading),
        "summary": _esc(summary),
        "summary_class": "all-ok" if ok == len(rows) else "some-failed",
        "run_label": _esc(_t("run_at", lang)),
        "run_at": _esc(when.replace("T", " ")),
        "took": _esc(_t("took", lang, seconds=float(manifest.get("seconds") or 0))),
        "data_label": _esc(_t("data", lang)),
        "data_path": _esc(data.get("path")),
        "fingerprint": _esc(_t("fingerprint", lang, value=data.get("fingerprint", ""))) + _data_notes(data, lang),
        "params_label": _esc(_t("parameters", lang)),
        "params": f"<ul class='params'>{param_items}</ul>" if param_items
                  else f"<p class='muted'>{_esc(_t('defaults', lang))}</p>",
        "th_notebook": _esc(_t("notebook", lang)),
        "th_status": _esc(_t("status", lang)),
        "th_duration": _esc(_t("duration", lang)),
        "th_findings": _esc(_t("findings", lang)),
        "th_skipped": _esc(_t("skipped", lang)),
        "rows": "\n".join(_row(r, lang) for r in rows),
        "versions_label": _esc(_t("versions", lang)),
        "versions": _esc(versions),
    }
    # one pass over the template: substituted text is never scanned again
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], _template())


def write_run_files(run_dir: Path, manifest: Mapping[str, Any]) -> None:
    """Write ``run.json`` and then ``index.html`` into ``run_dir`` (each atomically, index last)."""
    write_text_atomic(run_dir / "run.json", json.dumps(manifest, ensure_ascii=False, indent=2, default=str))
    write_text_atomic(run_dir / "index.html", render_index(manifest))
