"""Snapshot first: a dashboard request answered from the latest batch report that matches it.

``workbench run`` writes, per run folder (``reports/<date>[-N]/``), ``run.json`` (its effective
parameters, the data's path and fingerprint, when it finished) and one static page
``<stem>.html`` per notebook (:mod:`workbench.run.batch`). :class:`SnapshotIndex` reads every
complete run folder under the reports root and answers: for notebook *N*, URL parameters *P*
(language included), is there a page computed with exactly those parameters on exactly the data
the server serves (same path, same fingerprint)? The newest such page wins.

:func:`snapshot_page` turns that page into what the viewer gets: plotly.js from the server
(cached), and a bar on top that states the as-of date and when it was computed (in the page's
language), links to the live dashboard and to the other language, and a filter form whose
change opens the live dashboard with the new values.

No kernel is involved: the first chart is drawn as soon as plotly.js is parsed.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from workbench.app import params as params_mod
from workbench.app.url import URL_PARAMETERS
from workbench.errors import ParameterError

#: Seconds between two looks at the reports root for new runs.
RESCAN_INTERVAL = 20.0

#: The parameters that decide what a page shows (a URL may set them; the key of a snapshot).
KEY_NAMES: tuple[str, ...] = tuple(sorted(URL_PARAMETERS))

_PLOTLY_TAG = re.compile(r'<script src="assets/plotly\.min\.js"></script>')
_BODY_TAG = re.compile(r"<body[^>]*>")

Key = tuple[tuple[str, str], ...]


def default_reports_root() -> Path:
    """Where ``workbench run`` writes by default: ``$WORKBENCH_REPORTS``, else ``reports/`` of the checkout or cwd.

    (The same rule as :func:`workbench.run.folder.reports_root`, which this layer may not import.)
    """
    from workbench.app.paths import repo_root

    env = os.environ.get("WORKBENCH_REPORTS")
    if env:
        return Path(env)
    root = repo_root()
    return (root if root is not None else Path.cwd()) / "reports"


def normalise(values: Mapping[str, Any]) -> Key:
    """The canonical form of a set of page parameters (names of :data:`KEY_NAMES` only).

    Defaults are filled in and values converted (:func:`workbench.app.params.validate`), channels
    sorted, and a period given by ``start`` and ``end`` ignores ``period``/``as_of``; so
    ``?language=zh`` and no query at all, or ``channels=jd,tmall`` and ``channels=tmall,jd``, have
    the same key. Raises :class:`ParameterError` for a value that is not valid.
    """
    chosen = {k: v for k, v in values.items() if k in URL_PARAMETERS}
    full = params_mod.validate(chosen, allowed=set(URL_PARAMETERS))
    if full.get("channels") not in ("all", "", None):
        full["channels"] = ",".join(sorted(str(full["channels"]).split(",")))
    if full.get("start") and full.get("end"):
        full["period"], full["as_of"] = "", ""
    return tuple((name, _text(full.get(name, ""))) for name in KEY_NAMES)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass(frozen=True)
class Snapshot:
    """One notebook's static page in one run folder.

    ``notebook`` is the stem (``01_sales_traffic``), ``page`` the HTML file, ``key`` the run's
    normalised parameters (:func:`normalise`), ``language`` the page's, ``finished`` when the run
    ended (ISO 8601 with offset), ``start``/``end`` the period the page shows (None when the
    notebook recorded none).
    """

    notebook: str
    page: Path
    run_dir: Path
    key: Key
    language: str
    finished: str
    start: str | None
    end: str | None

    @property
    def params(self) -> dict[str, str]:
        """The parameters as ``{name: text}``."""
        return dict(self.key)


class SnapshotIndex:
    """The snapshots under ``root`` for the data at ``data`` (rescanned at most every RESCAN_INTERVAL s)."""

    def __init__(self, root: Path, data: Path, rescan_interval: float = RESCAN_INTERVAL) -> None:
        self.root = Path(root)
        self.data = Path(data).expanduser().resolve()
        self.rescan_interval = rescan_interval
        self._lock = threading.Lock()
        self._scanned_at = -1e9
        self._signature: tuple[Any, ...] | None = None
        self._by_key: dict[tuple[str, Key], Snapshot] = {}

    # ----- scanning ------------------------------------------------------------------------------
    def _run_dirs(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir()
                      if p.is_dir() and not p.is_symlink() and not p.name.startswith(".") and (p / "run.json").is_file()
                      and (p / "index.html").is_file())

    def refresh(self, force: bool = False) -> None:
        """Read the run folders again if ``force``, or if the interval passed and the folders changed."""
        now = time.monotonic()
        if not force and now - self._scanned_at < self.rescan_interval:
            return
        with self._lock:
            self._scanned_at = now
            from workbench.data.loader import fingerprint

            runs = self._run_dirs()
            signature = (tuple((p.name, (p / "run.json").stat().st_mtime_ns) for p in runs), fingerprint(self.data))
            if signature == self._signature and not force:
                return
            self._signature = signature
            self._by_key = self._scan(runs, signature[1])

    def _scan(self, runs: list[Path], data_fingerprint: str) -> dict[tuple[str, Key], Snapshot]:
        found: dict[tuple[str, Key], Snapshot] = {}
        for run_dir in runs:
            try:
                manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
                data = manifest.get("data") or {}
                if Path(str(data.get("path", ""))).expanduser().resolve() != self.data:
                    continue
                if data.get("fingerprint") != data_fingerprint:
                    continue  # the data changed since this run: its pages are out of date
                key = normalise(manifest.get("effective_params") or {})
            except (OSError, ValueError, ParameterError, TypeError):
                continue  # not a run folder we can read: ignored, never served
            finished = str(manifest.get("finished") or "")
            for row in manifest.get("notebooks") or []:
                page_name = (row.get("outputs") or {}).get("html")
                if row.get("status") != "succeeded" or not page_name:
                    continue
                page = run_dir / str(page_name)
                if not page.is_file() or page.parent != run_dir:
                    continue
                period = row.get("period") or {}
                snap = Snapshot(notebook=str(row["name"]), page=page, run_dir=run_dir, key=key,
                                language=dict(key)["language"], finished=finished,
                                start=period.get("start") if isinstance(period, dict) else None,
                                end=period.get("end") if isinstance(period, dict) else None)
                slot = (snap.notebook, key)
                if slot not in found or found[slot].finished <= finished:
                    found[slot] = snap
        return found

    # ----- lookups -------------------------------------------------------------------------------
    def find(self, notebook: str, values: Mapping[str, Any]) -> Snapshot | None:
        """The newest snapshot of ``notebook`` (stem) for page parameters ``values``, or None.

        Raises :class:`ParameterError` when ``values`` are not valid parameters.
        """
        self.refresh()
        return self._by_key.get((notebook, normalise(values)))

    def notebooks(self, values: Mapping[str, Any] | None = None) -> set[str]:
        """The notebooks (stems) that have a snapshot for ``values`` (default: the default parameters)."""
        self.refresh()
        key = normalise(values or {})
        return {nb for nb, k in self._by_key if k == key}

    def snapshots(self) -> list[Snapshot]:
        """Every snapshot found, newest run first."""
        self.refresh()
        return sorted(self._by_key.values(), key=lambda snap: snap.finished, reverse=True)

    def __len__(self) -> int:
        self.refresh()
        return len(self._by_key)


# ----- the page a viewer gets --------------------------------------------------------------------
def _computed_at(finished: str, lang: str) -> str:
    try:
        when = dt.datetime.fromisoformat(finished)
    except ValueError:
        return finished
    return when.strftime("%Y-%m-%d %H:%M") if lang == "zh" else when.strftime("%d %b %Y %H:%M")


def query_for(params: Mapping[str, str], **changes: str) -> str:
    """The shortest query string for ``params`` (defaults left out) with ``changes`` applied."""
    merged = {**params, **changes}
    default = dict(normalise({}))
    kept = {k: v for k, v in merged.items() if k in URL_PARAMETERS and v != default.get(k)}
    if kept.get("start") and kept.get("end"):
        kept.pop("period", None)
        kept.pop("as_of", None)
    if "threshold_pct" in kept:
        kept["threshold_pct"] = f"{float(kept['threshold_pct']):g}"
    return urlencode(sorted(kept.items()), safe=",")


def snapshot_bar(snap: Snapshot, base_url: str) -> str:
    """The bar shown on top of a snapshot page (all words from the catalogue, in the page's language)."""
    from workbench.data import schema
    from workbench.text.catalogue import label, message

    lang = snap.language
    other = "en" if lang == "zh" else "zh"
    params = snap.params
    live = f"{base_url}voila/live/{snap.notebook}.ipynb"
    page = f"{base_url}voila/render/{snap.notebook}.ipynb"
    as_of = snap.end or params.get("end") or params.get("as_of") or ""
    head = message("serve.snapshot.as_of", lang, as_of=as_of, computed=_computed_at(snap.finished, lang)) \
        if as_of else message("serve.snapshot.computed", lang, computed=_computed_at(snap.finished, lang))
    esc = html.escape
    live_q = query_for(params)
    other_q = query_for(params, language=other)
    chosen = set(params.get("channels", "all").split(",")) if params.get("channels") not in ("", "all") \
        else set(schema.CHANNELS)
    boxes = "".join(
        f"<label class='wb-snap-chan'><input type='checkbox' name='channel' value='{esc(c)}'"
        f"{' checked' if c in chosen else ''}> {esc(label(c, lang))}</label>" for c in schema.CHANNELS)
    compares = "".join(
        f"<option value='{esc(c)}'{' selected' if params.get('compare') == c else ''}>{esc(label(c, lang))}</option>"
        for c in params_mod.COMPARISONS)
    return f"""
<div id="wb-snapshot" class="wb-snapshot" data-notebook="{esc(snap.notebook)}" data-language="{esc(lang)}"
     data-finished="{esc(snap.finished)}" role="region" aria-label="{esc(message('serve.snapshot.region', lang))}">
  <div class="wb-snap-row">
    <a class="wb-snap-home" href="{esc(base_url)}?language={esc(lang)}">{esc(message('serve.snapshot.home', lang))}</a>
    <span class="wb-snap-asof">{esc(head)}</span>
    <a class="wb-snap-live" href="{esc(live + ('?' + live_q if live_q else ''))}">{esc(message('serve.snapshot.go_live', lang))}</a>
    <a class="wb-snap-lang" hreflang="{other}" href="{esc(page + ('?' + other_q if other_q else ''))}">{esc(message('serve.snapshot.other_language', lang))}</a>
  </div>
  <form class="wb-snap-filters" method="get" action="{esc(live)}">
    <input type="hidden" name="language" value="{esc(lang)}">
    <label>{esc(label('start', lang))} <input type="date" name="start" value="{esc(snap.start or '')}"></label>
    <label>{esc(label('end', lang))} <input type="date" name="end" value="{esc(snap.end or '')}"></label>
    <label>{esc(label('compare', lang))} <select name="compare">{compares}</select></label>
    <fieldset class="wb-snap-chans"><legend>{esc(label('channels', lang))}</legend>{boxes}</fieldset>
    <input type="hidden" name="channels" value="">
    <span class="wb-snap-hint">{esc(message('serve.snapshot.filters_hint', lang))}</span>
  </form>
</div>
<style>
.wb-snapshot{{position:sticky;top:0;z-index:1000;background:#f6f8fa;border-bottom:1px solid #d0d7de;
  padding:6px 12px;font:14px/1.5 system-ui,"Noto Sans CJK SC",sans-serif}}
.wb-snap-row{{display:flex;flex-wrap:wrap;gap:12px;align-items:center}}
.wb-snap-asof{{font-weight:600;flex:1 1 auto}}
.wb-snap-live{{background:#1f6feb;color:#fff;padding:2px 10px;border-radius:4px;text-decoration:none}}
.wb-snap-filters{{display:flex;flex-wrap:wrap;gap:8px 14px;align-items:center;margin-top:4px}}
.wb-snap-chans{{border:0;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:4px 10px}}
.wb-snap-chans legend{{float:left;margin-right:6px}}
.wb-snap-hint{{color:#57606a;font-size:12px}}
@media (max-width: 700px){{.wb-snapshot{{position:static}}}}
.wb-live-frame{{position:fixed;left:0;top:0;width:100vw;height:100vh;border:0;visibility:hidden;z-index:-1;background:#fff}}
html.wb-live-shown .wb-live-frame{{visibility:visible;z-index:2000}}
html.wb-live-shown body{{overflow:hidden}}
</style>
<script>
/* Live on demand: when the viewer reaches for the filters, the live dashboard (same parameters) starts in
   a hidden frame. A filter change waits for it, is applied to its filter bar, and the live page takes
   the window. If it cannot start (the server is full, two minutes pass), the change opens the live page. */
(function () {{
  var form = document.querySelector('#wb-snapshot form');
  if (!form) return;
  var hint = form.querySelector('.wb-snap-hint');
  var texts = {{connecting: {json.dumps(message('serve.snapshot.connecting', lang))},
               ready: {json.dumps(message('serve.snapshot.live_ready', lang))}}};
  var liveUrl = form.getAttribute('action') + {json.dumps('?' + live_q if live_q else '')};
  var frame = null, ready = false, pending = [], gaveUp = false, startedAt = 0, doneSince = 0;
  function query() {{
    var picked = Array.prototype.map.call(form.querySelectorAll('input[name=channel]:checked'), function (b) {{
      return b.value; }});
    var all = form.querySelectorAll('input[name=channel]').length === picked.length;
    var q = new URLSearchParams();
    q.set('language', form.language.value);
    if (form.start.value && form.end.value) {{ q.set('start', form.start.value); q.set('end', form.end.value); }}
    if (form.compare.value !== 'previous') q.set('compare', form.compare.value);
    if (!all) q.set('channels', picked.join(','));
    return picked.length ? q.toString().replace(/%2C/g, ',') : null;
  }}
  function liveDoc() {{
    try {{ return frame && frame.contentDocument; }} catch (e) {{ return null; }}
  }}
  function apply(field) {{  /* the same change, made in the live page's filter bar */
    var doc = liveDoc(), bar = doc.querySelector('.wb-filter-bar');
    var el;
    if (field.name === 'start' || field.name === 'end') {{
      el = bar.querySelectorAll('.widget-datepicker input')[field.name === 'start' ? 0 : 1];
      el.value = field.value;
      el.dispatchEvent(new Event('change', {{bubbles: true}}));
    }} else if (field.name === 'compare') {{
      el = bar.querySelector('select');
      el.selectedIndex = field.selectedIndex;
      el.dispatchEvent(new Event('change', {{bubbles: true}}));
    }} else if (field.name === 'channel') {{
      var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name=channel]'));
      el = bar.querySelectorAll('.wb-channels input[type=checkbox]')[boxes.indexOf(field)];
      if (el.checked !== field.checked) el.click();
    }}
  }}
  function takeOver() {{
    document.documentElement.classList.add('wb-live-shown');
    frame.removeAttribute('aria-hidden');
    frame.removeAttribute('tabindex');
    var q = query();
    if (q !== null) history.replaceState(null, '', form.getAttribute('action') + '?' + q);
  }}
  function giveUp() {{
    gaveUp = true;
    if (pending.length) {{ var q = query(); if (q !== null) window.location.assign(form.getAttribute('action') + '?' + q); }}
  }}
  function watch() {{
    var doc = liveDoc();
    if (doc && doc.querySelector('.wb-filter-bar') && !doc.getElementById('loading')) {{
      ready = true;
      hint.textContent = texts.ready;
      var changes = pending; pending = [];
      changes.forEach(apply);
      if (changes.length) takeOver();
      return;
    }}
    /* Voila has finished but no filter bar came within 15 s: a page without filters */
    var done = doc && doc.readyState === 'complete' && doc.getElementById('rendered_cells') && !doc.getElementById('loading');
    if (done && !doneSince) doneSince = Date.now();
    if (Date.now() - startedAt > 120000 || (doc && doc.querySelector('.wb-message, .wb-refused'))
        || (done && Date.now() - doneSince > 15000)) {{
      giveUp(); return;
    }}
    setTimeout(watch, 250);
  }}
  function attach() {{
    if (frame || gaveUp) return;
    startedAt = Date.now();
    frame = document.createElement('iframe');
    frame.className = 'wb-live-frame';
    frame.setAttribute('aria-hidden', 'true');
    frame.setAttribute('tabindex', '-1');
    frame.setAttribute('title', {json.dumps(message('serve.snapshot.go_live', lang))});
    frame.src = liveUrl;
    document.body.appendChild(frame);
    hint.textContent = texts.connecting;
    setTimeout(watch, 250);
  }}
  ['pointerover', 'focusin', 'touchstart'].forEach(function (kind) {{
    form.addEventListener(kind, attach, {{once: true, passive: true}});
  }});
  form.addEventListener('change', function (event) {{
    if (query() === null) return;  /* no channel chosen: nothing to compute */
    if (gaveUp) {{ window.location.assign(form.getAttribute('action') + '?' + query()); return; }}
    attach();
    if (ready) {{ apply(event.target); takeOver(); }} else {{ pending.push(event.target); }}
  }});
}})();
</script>
"""


def snapshot_page(snap: Snapshot, base_url: str, assets_url: str, drawn: Path | None = None) -> str:
    """The snapshot's HTML with plotly.js loaded from ``assets_url`` and :func:`snapshot_bar` on top.

    With ``drawn`` (the page with its charts drawn ahead, :mod:`workbench.serve.drawn`), that page
    is served instead: its charts show at once and plotly.js makes them interactive once loaded.
    """
    from workbench.serve.plotly_bundle import page_bundle

    src = f"{html.escape(assets_url)}{page_bundle(snap.page)}"  # the basic bundle when it draws every chart
    if drawn is not None:
        from workbench.serve.drawn import live_charts

        text = live_charts(drawn.read_text(encoding="utf-8"), src)
    else:
        text = snap.page.read_text(encoding="utf-8")
        tag = f'<script src="{src}"></script>'
        text, replaced = _PLOTLY_TAG.subn(tag, text, count=1)
        if not replaced:
            text = text.replace("<head>", "<head>" + tag, 1)
    bar = snapshot_bar(snap, base_url)
    match = _BODY_TAG.search(text)
    if match:
        return text[:match.end()] + bar + text[match.end():]
    return bar + text


class PageCache:
    """Rendered snapshot pages kept in memory, keyed by page, its modification time and the base URL.

    With a ``drawer`` (:class:`workbench.serve.drawn.Drawer`), a page whose charts have been drawn
    ahead is served in that form; until then the plain page is served and the drawing is queued.
    """

    def __init__(self, size: int = 64, drawer: Any = None) -> None:
        self.size = size
        self.drawer = drawer
        self._pages: dict[tuple[Any, ...], bytes] = {}
        self._lock = threading.Lock()

    def get(self, snap: Snapshot, base_url: str, assets_url: str) -> bytes:
        """The page as UTF-8 bytes (rendered on first use)."""
        drawn = self.drawer.drawn(snap.page) if self.drawer is not None else None
        key = (str(snap.page), os.stat(snap.page).st_mtime_ns, snap.key, base_url, assets_url, drawn)
        with self._lock:
            hit = self._pages.get(key)
        if hit is not None:
            return hit
        body = snapshot_page(snap, base_url, assets_url, drawn).encode("utf-8")
        with self._lock:
            if len(self._pages) >= self.size:
                self._pages.pop(next(iter(self._pages)))
            self._pages[key] = body
        return body
