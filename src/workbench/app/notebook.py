"""The notebook contract: one setup call turns the parameters cell into a working page.

A topic notebook looks like this::

    # parameters (tagged cell)
    data = ""; start = ""; end = ""; period = "last-28d"; as_of = ""
    channels = "all"; compare = "previous"; language = "zh"; findings_path = ""

    import workbench as wb
    nb = wb.setup("01_sales_traffic", globals())

    @nb.section("trend", needs={"orders": ["paid_amount"]})    # question: sales_traffic.section.trend
    def trend(f):
        k = kpi.kpi(nb.data, f, "gmv")                          # the registry's GMV, as on every page
        nb.show(charts.line(k.daily, "date", "value", title=nb.text("title.trend"), lang=nb.lang))
        nb.finding("gmv", kpi=k, gmv=k.value)                    # sentence: sales_traffic.finding.gmv

Each section runs at once and again whenever the filter bar changes (in JupyterLab and
Voila); under ``workbench run`` (batch mode) there is no filter bar and charts are shown so
that a static HTML report renders them offline. A section whose tables are missing says so
in one line and the rest of the notebook runs. Findings are shown at the top and written
to ``findings_path`` as JSON after every change, atomically.
"""

from __future__ import annotations

import html
import json
import os
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from workbench.app import params as params_mod
from workbench.app.findings import Finding, findings_html, peak_memory_mb, write_record
from workbench.app.mode import headless, self_contained
from workbench.app.paths import default_data, open_dataset, repo_root  # noqa: F401  (re-exported)
from workbench.app.period import resolve_filters
from workbench.app.style import STYLE
from workbench.app.widgets import filter_bar
from workbench.data.loader import Dataset
from workbench.errors import EmptyPeriodError, MissingTableError, WorkbenchError
from workbench.present import charts
from workbench.sql import common as queries
from workbench.sql import engine
from workbench.sql.common import Filters
from workbench.text import catalogue
from workbench.text.labels import label
from workbench.text.pages import namespace as page_namespace
from workbench.text.pages import topic as topic_of

#: Set to ``queue`` by ``workbench serve`` for its kernels: its dashboard template loads plotly.js
#: itself and draws charts written as ``window.wbPlot(id, figure)`` (see :meth:`Notebook.show`).
PAGE_PLOTLY_ENV = "WORKBENCH_PAGE_PLOTLY"


@dataclass
class Section:
    key: str
    title: str
    needs: dict[str, Iterable[str]]
    draw: Callable[[Filters], Any]
    status: str = "pending"
    message: str = ""
    output: Any = None
    seconds: float = 0.0


@dataclass
class Notebook:
    """What a notebook works with after :func:`setup`: parameters, data, filters and output helpers."""

    name: str
    params: dict[str, Any]
    data: Dataset
    filters: Filters
    batch: bool
    sections: list[Section] = field(default_factory=list)
    findings: dict[str, Finding] = field(default_factory=dict)
    _findings_handle: Any = None
    _findings_widget: Any = None
    _current: str = ""
    _memo: dict = field(default_factory=dict)
    _plotly_included: bool = False
    _hold_findings: bool = False
    kpis: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def lang(self) -> str:
        return self.params["language"]

    @property
    def title(self) -> str:
        return topic_of(self.name).title(self.lang)

    def text(self, key: str, **values: Any) -> str:
        """A catalogue message (``nb.text("title.on_time", n=…)``: see :meth:`t`)."""
        return self.t(key, **values)

    def label(self, key: object, context: str | None = None) -> str:
        """The label of a key or data value in the page's language (``label.<context>.<key>`` first)."""
        return label(key, self.lang, context)

    # ----- sections -------------------------------------------------------------------------
    def section(self, key: str, needs: Mapping[str, Iterable[str]] | None = None) -> Callable[[Callable], Callable]:
        """Decorate a function ``draw(filters)`` as a section: a question, then its answer.

        The question is the catalogue message ``<page>.section.<key>``. The function runs at once
        and after every filter change. ``needs`` ({table: [columns]}) is checked first: what is
        missing is said in one line and the section is skipped.
        """
        title = self.t(f"section.{key}")

        def register(draw: Callable[[Filters], Any]) -> Callable:
            sec = Section(key, title, dict(needs or {}), draw)
            self.sections.append(sec)
            self._run_section(sec, first=True)
            return draw
        return register

    def _run_section(self, sec: Section, first: bool = False) -> None:
        from IPython.display import HTML, display

        if first:
            display(HTML(f"<h2 class='wb-question'>{html.escape(sec.title)}</h2>"))
        for k in [k for k, f in self.findings.items() if f.section == sec.key]:
            del self.findings[k]
        for k in [k for k, v in self.kpis.items() if v["section"] == sec.key]:
            del self.kpis[k]
        t0 = time.perf_counter()
        self._current = sec.key
        try:
            if sec.output is not None:
                sec.output.clear_output(wait=True)
                with sec.output:
                    self._redraw_safely(sec)
            else:
                self._draw(sec)
        finally:
            self._current = ""
            sec.seconds = time.perf_counter() - t0
            if first and not self.batch:
                sec.output = self._redraw_area()
            elif sec.output is not None:  # the redrawn answer replaces the first one (CSS: .wb-live)
                sec.output.add_class("wb-live")
                sec.output.remove_class("wb-stale")
            if not self._hold_findings:
                self._publish_findings()

    @staticmethod
    def _redraw_area() -> Any:
        """The empty ``ipywidgets.Output`` that a live section redraws into, shown below its first answer.

        A section's first answer is plain output (charts, tables, sentences), not widget state: a
        page's widget models then stay a few kilobytes, so that the front end restores them at
        once, even on a busy machine. (With the answers inside ``Output`` widgets, every chart's
        JSON travelled in the widget state; the page's request for that state then took longer
        than ipywidgets' 4 s control-comm timeout under CPU load, the front end fell back to
        fetching model by model, and sections showed "Error displaying widget: model not found":
        ipywidgets #3580, #3633.) Once a section has been redrawn its output area gets the class
        ``wb-live`` and the page's CSS (:data:`workbench.app.style.STYLE`) hides the first answer.
        """
        import ipywidgets as widgets
        from IPython.display import display

        area = widgets.Output()
        area.add_class("wb-redraw-area")
        display(area)
        return area

    def _draw(self, sec: Section) -> None:
        from IPython.display import HTML, display

        missing = self.data.missing(sec.needs)
        if missing:
            sec.status, sec.message = "skipped", self.t("app.skipped_needs", needs=self._describe_needs(missing))
            display(HTML(f"<p class='wb-skipped'>⚠ {html.escape(sec.message)}</p>"))
            return
        try:
            sec.draw(self.filters)
            sec.status, sec.message = "ok", ""
        except (MissingTableError, EmptyPeriodError) as exc:
            sec.status, sec.message = "skipped", str(exc)
            display(HTML(f"<p class='wb-skipped'>⚠ {html.escape(str(exc))}</p>"))

    def _redraw_safely(self, sec: Section) -> None:
        """Redraw ``sec`` inside its output area. ipywidgets' ``Output`` would swallow an error and
        print its traceback into the page; instead the section says in one line that it could not
        be updated, its status becomes ``error`` and the traceback goes to the kernel's log."""
        try:
            self._draw(sec)
        except Exception as exc:  # noqa: BLE001 - any failure of one section must not reach the viewer as a traceback
            from IPython.display import HTML, display

            sec.status, sec.message = "error", format_exception_brief(exc)
            print(f"workbench: section {self.name}/{sec.key} failed on redraw:\n{traceback.format_exc()}",
                  file=sys.__stderr__, flush=True)
            display(HTML(f"<p class='wb-error' role='alert'>⚠ {html.escape(self.t('app.section_failed'))}</p>"))

    def _describe_needs(self, missing: list[str]) -> str:
        """``orders.region`` and ``traffic`` as a reader reads them: 订单表的“地区”字段、流量表."""
        parts = []
        for item in missing:
            table, _, column = item.partition(".")
            name = self.t(f"table.{table}") if catalogue.has(f"table.{table}", self.lang) else table
            parts.append(self.t("app.need_column", table=name, label=self.label(column)) if column
                         else self.t("app.need_table", table=name))
        return self.t("app.need_joiner").join(parts)

    def redraw(self, filters: Filters | None = None,
               progress: Callable[[int, int], None] | None = None) -> None:
        """Re-run every section for ``filters`` (the filter bar calls this).

        Sections redraw one after the other; until its turn a section is marked stale
        (``wb-stale``: dimmed on the page), so old and new answers are never mistaken for each
        other. The findings box is replaced once, as one block, when every section is done.
        ``progress(done, total)`` is called before each section (the filter bar's status line).
        """
        if filters is not None:
            self.filters = filters
        for sec in self.sections:
            if sec.output is not None:
                sec.output.add_class("wb-stale")
        self._hold_findings = True
        try:
            with engine.reusing():  # a statement that several sections run is asked once per redraw
                for i, sec in enumerate(self.sections):
                    if progress is not None:
                        progress(i + 1, len(self.sections))
                    self._run_section(sec)
        finally:
            self._hold_findings = False
            for sec in self.sections:
                if sec.output is not None:
                    sec.output.remove_class("wb-stale")
            self._publish_findings()

    def memo(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(self.data, *args)``, computed once per notebook for the same arguments.

        For models fitted on the whole history (an elasticity, a churn model) that a filter
        change should not refit; ``args`` must be hashable (Filters are).
        """
        key = (getattr(fn, "__module__", ""), getattr(fn, "__qualname__", repr(fn)), args)
        if key not in self._memo:
            self._memo[key] = fn(self.data, *args)
        return self._memo[key]

    # ----- output helpers -------------------------------------------------------------------
    def show(self, fig: Any) -> None:
        """Show a plotly figure: interactive in JupyterLab/Voila, self-contained HTML in batch reports."""
        from IPython.display import display

        from workbench.present.charts import localise_dates

        localise_dates(fig, self.lang)
        if self.batch:
            div_id = "wb-" + uuid.uuid4().hex[:12]
            spec = fig.to_json()
            loader = ""
            if self_contained() and not self._plotly_included:  # plain papermill / nbconvert: carry plotly.js once
                loader = _plotly_js_tag()
                self._plotly_included = True
            bundle = {
                "application/vnd.plotly.v1+json": json.loads(spec),
                "text/html": (loader + f"<div id='{div_id}' class='wb-chart' style='height:{fig.layout.height or 450}px'>"
                              f"</div><script>(function(){{var s={spec};"
                              f"Plotly.newPlot('{div_id}', s.data, s.layout, {{responsive: true, "
                              f"displaylogo: false}});}})();</script>"),
                "text/plain": f"<figure: {fig.layout.title.text or ''}>",
            }
            display(bundle, raw=True)
        elif os.environ.get(PAGE_PLOTLY_ENV) == "queue":
            # under ``workbench serve``: the page loads plotly.js once and draws through window.wbPlot
            # (the dashboard template), so a chart needs no JupyterLab renderer extension
            div_id = "wb-" + uuid.uuid4().hex[:12]
            display({"text/html": f"<div id='{div_id}' class='wb-chart' style='height:{fig.layout.height or 450}px'>"
                                  f"</div><script>window.wbPlot('{div_id}', {fig.to_json()});</script>",
                     "text/plain": f"<figure: {fig.layout.title.text or ''}>"}, raw=True)
        else:
            fig.show()

    def table(self, frame: Any, formats: Mapping[str, str] | None = None, rows: int = 20,
              units: Mapping[str, str] | None = None, values: Iterable[str] = (),
              context: str | None = None) -> None:
        """Show a small frame as a table (first ``rows`` rows), headers labelled in the page's language.

        ``units`` maps columns to units of :mod:`workbench.text.fmt` (``share``, ``money``, ``count``,
        ``days``…) and formats them as a reader writes them; ``values`` names columns whose values
        are keys to label (channels, categories, statuses). ``formats`` (Python format specs) is
        the older form.
        """
        from IPython.display import HTML, display

        from workbench.text import fmt as text_fmt

        shown = frame.head(rows).copy()
        for col, spec in (formats or {}).items():
            if col in shown:
                shown[col] = shown[col].map(lambda v, f=spec: "" if v != v else format(v, f))
        for col, unit in (units or {}).items():
            if col in shown:
                shown[col] = shown[col].map(lambda v, u=unit: text_fmt.value(v, u, self.lang))
        for col in values:
            if col in shown:
                shown[col] = shown[col].map(lambda v: "" if v is None or v != v else self.label(v, context))
        numeric = [c in (units or {}) or c in (formats or {}) or pd_is_numeric(frame[c]) for c in shown.columns]
        shown.columns = [self.label(c, context) for c in shown.columns]
        display(HTML(table_html(shown, numeric)))

    def say(self, key: str, **values: Any) -> None:
        """A sentence of explanation under a chart (not recorded as a finding).

        ``nb.say("note.scorecard", **values)`` says the catalogue message ``<page>.note.scorecard``.
        """
        from IPython.display import Markdown, display

        display(Markdown(self.t(key, **values)))

    def t(self, key: str, **values: Any) -> str:
        """The catalogue message ``<page>.<key>`` (else the shared ``key``) in the page's language."""
        own = f"{self.page}.{key}"
        return catalogue.message(own if catalogue.has(own, self.lang) else key, self.lang, **values)

    @property
    def page(self) -> str:
        """The catalogue namespace of this notebook: its stem without the number (``logistics``)."""
        return page_namespace(self.name)

    def finding(self, key: str, *, value: float | None = None, unit: str | None = None, change: float | None = None,
                status: str | None = None, headline: bool = False, estimate: Any = None, message: str | None = None,
                status_reason: str | None = None, kpi: Any = None, **values: Any) -> None:
        """Record and show a finding: a sentence computed from the data and the figure behind it.

        The sentence is the catalogue message ``<page>.finding.<key>`` (or ``message``) filled from
        ``values``; when ``estimate`` is too few to estimate and the page has ``<that message>_too_few``,
        that sentence is used instead, with ``{n}`` the estimate's n; ``estimate`` (an :class:`~workbench.stats.result.Estimate`) is the figure written
        to the findings JSON, and is available to the template as ``{estimate}``. ``headline``
        findings feed the overview; ``change`` is a relative change (0.12 for +12%); ``status`` is
        green, amber or red when the page judges one. ``kpi`` (a :class:`~workbench.topics.kpi.Kpi`)
        gives the figure, change, status and metric of a registry KPI at once, so that the KPI reads
        the same on every page. ``value``/``unit`` give a figure that has no interval (a count).
        """
        from IPython.display import HTML, display

        metric = None
        if kpi is not None:
            estimate = kpi.value if estimate is None else estimate
            change = kpi.change if change is None else change
            status = kpi.status if status is None else status
            status_reason = kpi.reason if status_reason is None else status_reason
            metric = kpi.key
            self.record_kpi(kpi)

        if estimate is not None:
            values.setdefault("estimate", estimate)
        name = message or f"finding.{key}"
        if getattr(estimate, "too_few", False) and catalogue.has(f"{self.page}.{name}_too_few", self.lang):
            name += "_too_few"  # the page's own sentence for a figure too thin to estimate
            values.setdefault("n", estimate.n)
        text = self.t(name, **values)
        fig: dict[str, Any] = {"estimate": None if value is None else float(value), "unit": unit}
        if estimate is not None:
            fig = estimate.as_dict()
            fig.pop("too_few", None)
            if unit is not None:
                fig["unit"] = unit
        self.findings[key] = Finding(key, text, self._current, change=None if change is None else float(change),
                                     status=status, status_reason=status_reason, headline=headline, metric=metric,
                                     **fig)
        display(HTML(f"<p class='wb-finding'>▶ {html.escape(text)}</p>"))

    def record_kpi(self, kpi: Any) -> None:
        """Note that this page shows registry KPI ``kpi`` (a :class:`~workbench.topics.kpi.Kpi`): the
        findings JSON lists it under ``kpis``, so that every page's figure of a KPI can be compared."""
        self.kpis[kpi.key] = {"section": self._current, **kpi.as_dict()}

    # ----- findings record ------------------------------------------------------------------
    def record(self) -> dict[str, Any]:
        """The machine-readable record of this run: parameters, filters, sections and findings."""
        f = self.filters
        return {
            "notebook": self.name,
            "title": self.title,
            "language": self.lang,
            "params": {k: v for k, v in self.params.items() if k != "findings_path"},
            "period": {"start": str(f.start), "end": str(f.end),
                       "compare_start": str(f.compare_start) if f.compare_start else None,
                       "compare_end": str(f.compare_end) if f.compare_end else None,
                       "channels": list(f.channels) or ["all"]},
            "sections": [{"key": s.key, "title": s.title, "status": s.status, "message": s.message,
                          "seconds": round(s.seconds, 3)} for s in self.sections],
            "findings": [x.as_dict() for x in self.findings.values()],
            "kpis": list(self.kpis.values()),
            "peak_memory_mb": round(peak_memory_mb(), 1),
        }

    def _publish_findings(self) -> None:
        from IPython.display import HTML

        if self._findings_widget is not None:  # dashboards: Voila ignores later display updates
            self._findings_widget.value = self._findings_html()
        elif self._findings_handle is not None:
            self._findings_handle.update(HTML(self._findings_html()))
        path = self.params.get("findings_path")
        if path:
            write_record(path, self.record())

    def _findings_html(self) -> str:
        skipped = [s.title for s in self.sections if s.status == "skipped"]
        return findings_html(self.findings.values(), skipped, self.lang)

    # ----- header and filter bar ------------------------------------------------------------
    def _header(self) -> None:
        from IPython.display import HTML, display

        t = topic_of(self.name)
        display(HTML(STYLE + f"<h1 class='wb-title'>{html.escape(self.title)}</h1>"
                     f"<p class='wb-question-main'>{html.escape(t.question(self.lang))}</p>"))
        if self.batch:
            display(HTML(f"<p class='wb-filters'>{html.escape(self.describe_filters())}</p>"))
            self._findings_handle = display(HTML(self._findings_html()), display_id=True)
        else:
            import ipywidgets as widgets

            display(filter_bar(self))
            self._findings_widget = widgets.HTML(self._findings_html())
            display(self._findings_widget)

    def describe_filters(self) -> str:
        f = self.filters
        chans = ", ".join(self.label(c) for c in f.channels) if f.channels else self.label("all")
        cmp = (self.t("app.compare_window", name=self.label(f.compare), start=f.compare_start, end=f.compare_end)
               if f.compare_start else self.label("none"))
        return self.t("app.filters", period_label=self.label("period"), start=f.start, end=f.end, days=f.days,
                      channels_label=self.label("channels"), channels=chans, compare_label=self.label("compare"),
                      compare=cmp)


def pd_is_numeric(column: Any) -> bool:
    """Whether a column holds numbers (they are right-aligned in a table)."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return is_numeric_dtype(column) and not is_bool_dtype(column)


def table_html(frame: Any, numeric: list[bool]) -> str:
    """A small table: numbers right-aligned, text left-aligned, short values kept on one line."""
    def cells(values: Iterable[Any], tag: str) -> str:
        out = []
        for v, num in zip(values, numeric):
            text = "" if v is None or (isinstance(v, float) and v != v) else str(v)
            cls = "num" if num else ("short" if len(text) <= 12 else "text")
            out.append(f"<{tag} class='{cls}'>{html.escape(text)}</{tag}>")
        return "".join(out)

    head = cells(frame.columns, "th")
    body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in frame.itertuples(index=False))
    return f"<table class='wb-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _plotly_js_tag() -> str:
    """plotly.js inline, for a static page that has no report folder beside it (works offline)."""
    from importlib import resources

    js = (resources.files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")
    # hide an AMD loader (require.js in nbconvert's templates) so that plotly.js sets window.Plotly
    return ("<script>window._wbDefine = window.define; window.define = undefined;</script>"
            f"<script type='text/javascript'>{js}</script>"
            "<script>window.define = window._wbDefine;</script>")


def _install_error_display() -> None:
    """Show a :class:`WorkbenchError` as its message, not a traceback (the cell still fails)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is None:
        return

    def handler(shell: Any, etype: type, evalue: BaseException, tb: Any, tb_offset: Any = None) -> list[str]:
        message = [f"{etype.__name__}: {evalue}"]
        shell._showtraceback(etype, evalue, message)
        return message

    ip.set_custom_exc((WorkbenchError,), handler)


def _url_values() -> dict[str, str]:
    """Parameters given in a dashboard's URL (empty outside Voila); validated like any other."""
    from workbench.app.url import url_parameters

    return url_parameters()


def setup(name: str, namespace: Mapping[str, Any]) -> Notebook:
    """Turn a notebook's parameters into a :class:`Notebook`: data, filters, theme and header.

    ``name`` is the notebook's file stem (``"01_sales_traffic"``); ``namespace`` is ``globals()``
    of the notebook, from which the parameters in :data:`workbench.app.params.SPEC` are read and
    validated. Static output (no filter bar) when no front end can show widgets (:mod:`workbench.app.mode`).
    Raises :class:`~workbench.errors.ParameterError`, :class:`~workbench.errors.DataError` or
    :class:`~workbench.errors.EmptyPeriodError` with a message that says what to fix.
    """
    _install_error_display()
    batch = headless()
    values = {k: namespace[k] for k in params_mod.SPEC if k in namespace}
    values.update(_url_values())
    try:
        p = params_mod.validate(values)
        charts.use_theme()
        ds = open_dataset(p["data"], p.get("engine", ""))
        filters = resolve_filters(p, queries.data_range(ds))
    except WorkbenchError as exc:
        if not batch:  # dashboards hide tracebacks: say what is wrong in the page itself
            from IPython.display import HTML, display

            display(HTML(STYLE + f"<div class='wb-error' role='alert'>⚠ {html.escape(str(exc))}</div>"))
        raise
    nb = Notebook(name=name, params=p, data=ds, filters=filters, batch=batch)
    nb._header()
    nb._publish_findings()
    return nb


def format_exception_brief(exc: BaseException) -> str:
    """One line for an unexpected error (used where a traceback must not reach a viewer)."""
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()
