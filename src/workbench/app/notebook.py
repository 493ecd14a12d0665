"""The notebook contract: one setup call turns the parameters cell into a working page.

A topic notebook looks like this::

    # parameters (tagged cell)
    data = ""; start = ""; end = ""; period = "last-28d"; as_of = ""
    channels = "all"; compare = "previous"; language = "zh"; findings_path = ""

    import workbench as wb
    nb = wb.setup("01_sales_traffic", globals())

    @nb.section("trend", en="How are sales moving?", zh="销售走势如何？", needs={"orders": []})
    def trend(f):
        daily = wb.queries.daily_kpis(nb.data, f)
        nb.show(wb.charts.line(daily, "date", "gmv", title=nb.text("GMV by day", "每日成交额"), lang=nb.lang))
        nb.finding("gmv", en="...", zh="...", value=...)

Each section runs at once and again whenever the filter bar changes (in JupyterLab and
Voila); under ``workbench run`` (batch mode) there is no filter bar and charts are shown so
that a static HTML report renders them offline. A section whose tables are missing says so
in one line and the rest of the notebook runs. Findings are shown at the top and written
to ``findings_path`` as JSON after every change, atomically.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from workbench.app import params as params_mod
from workbench.data.loader import Dataset, fingerprint, load
from workbench.errors import EmptyPeriodError, MissingTableError, WorkbenchError
from workbench.present import charts
from workbench.sql import common as queries
from workbench.sql.common import Filters
from workbench.text import catalogue
from workbench.text.labels import label, pick
from workbench.text.pages import namespace as page_namespace
from workbench.text.pages import topic as topic_of

_DATASETS: dict[str, Dataset] = {}


def repo_root() -> Path | None:
    """The checkout this package was installed from (editable install), if any."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "notebooks").is_dir():
            return parent
    return None


def default_data() -> Path:
    """The data folder used when a notebook's ``data`` parameter is empty.

    ``WORKBENCH_DATA`` when set, otherwise ``data/sample`` of the checkout.
    """
    env = os.environ.get("WORKBENCH_DATA")
    if env:
        return Path(env)
    root = repo_root()
    if root is not None:
        return root / "data" / "sample"
    return Path.cwd() / "data" / "sample"


def open_dataset(data: str | os.PathLike | None) -> Dataset:
    """Load (once per process) the dataset at ``data`` or at :func:`default_data`."""
    path = Path(data) if data else default_data()
    key = str(path.resolve())
    if key not in _DATASETS:
        # a batch validates large data once and says so; unchanged files need no second check
        validated = os.environ.get("WORKBENCH_VALIDATED")
        checks = not validated or validated != fingerprint(path)
        _DATASETS[key] = load(path, checks=checks)
    return _DATASETS[key]


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
    cs, ce = queries.compare_window(start, end, p.get("compare", "previous"))
    channels = () if p.get("channels", "all") == "all" else tuple(p["channels"].split(","))
    return Filters(start=start, end=end, channels=channels, compare=p.get("compare", "previous"),
                   compare_start=cs, compare_end=ce)


@dataclass
class Finding:
    """One sentence computed from the data, with the figure behind it (the findings JSON contract).

    ``estimate``, ``low``, ``high``, ``level``, ``n``, ``unit`` and ``method`` are the figure's
    :class:`~workbench.stats.result.Estimate`; ``status`` is red, amber, green or none (with
    ``status_reason``); ``change`` is a relative change against the comparison period.
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

    def as_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and v != v else v) for k, v in self.__dict__.items()}


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

    @property
    def lang(self) -> str:
        return self.params["language"]

    @property
    def title(self) -> str:
        return topic_of(self.name).title(self.lang)

    def text(self, en: str, zh: str | None = None, **values: Any) -> str:
        """A catalogue message (``nb.text("title.on_time", n=…)``: see :meth:`t`).

        The older form ``nb.text(en, zh)`` picks one of two inline texts.
        """
        if zh is None:
            return self.t(en, **values)
        return pick(self.lang, en, zh)

    def label(self, key: object, context: str | None = None) -> str:
        """The label of a key or data value in the page's language (``label.<context>.<key>`` first)."""
        return label(key, self.lang, context)

    # ----- sections -------------------------------------------------------------------------
    def section(self, key: str, en: str | None = None, zh: str | None = None,
                needs: Mapping[str, Iterable[str]] | None = None) -> Callable[[Callable], Callable]:
        """Decorate a function ``draw(filters)`` as a section: a question, then its answer.

        The question is the catalogue message ``<page>.section.<key>``. The function runs at once
        and after every filter change. ``needs`` ({table: [columns]}) is checked first: what is
        missing is said in one line and the section is skipped.
        """
        title = pick(self.lang, en or "", zh or "") if (en or zh) else self.t(f"section.{key}")

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
            if not self.batch:
                import ipywidgets as widgets

                sec.output = widgets.Output()
                display(sec.output)
        for k in [k for k, f in self.findings.items() if f.section == sec.key]:
            del self.findings[k]
        t0 = time.perf_counter()
        self._current = sec.key
        try:
            if sec.output is not None:
                sec.output.clear_output(wait=True)
                with sec.output:
                    self._draw(sec)
            else:
                self._draw(sec)
        finally:
            self._current = ""
            sec.seconds = time.perf_counter() - t0
            self._publish_findings()

    def _draw(self, sec: Section) -> None:
        from IPython.display import HTML, display

        missing = self.data.missing(sec.needs)
        if missing:
            sec.status, sec.message = "skipped", self.t("app.skipped_needs", needs=", ".join(missing))
            display(HTML(f"<p class='wb-skipped'>⚠ {html.escape(sec.message)}</p>"))
            return
        try:
            sec.draw(self.filters)
            sec.status, sec.message = "ok", ""
        except (MissingTableError, EmptyPeriodError) as exc:
            sec.status, sec.message = "skipped", str(exc)
            display(HTML(f"<p class='wb-skipped'>⚠ {html.escape(str(exc))}</p>"))

    def redraw(self, filters: Filters | None = None) -> None:
        """Re-run every section for ``filters`` (the filter bar calls this)."""
        if filters is not None:
            self.filters = filters
        for sec in self.sections:
            self._run_section(sec)

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

        if self.batch:
            div_id = "wb-" + uuid.uuid4().hex[:12]
            spec = fig.to_json()
            bundle = {
                "application/vnd.plotly.v1+json": json.loads(spec),
                "text/html": (f"<div id='{div_id}' class='wb-chart' style='height:{fig.layout.height or 450}px'>"
                              f"</div><script>(function(){{var s={spec};"
                              f"Plotly.newPlot('{div_id}', s.data, s.layout, {{responsive: true, "
                              f"displaylogo: false}});}})();</script>"),
                "text/plain": f"<figure: {fig.layout.title.text or ''}>",
            }
            display(bundle, raw=True)
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
        shown.columns = [self.label(c, context) for c in shown.columns]
        display(HTML(shown.to_html(index=False, classes="wb-table", border=0, na_rep="")))

    def say(self, en: str, zh: str | None = None, **values: Any) -> None:
        """A sentence of explanation under a chart (not recorded as a finding).

        ``nb.say("note.scorecard", **values)`` says the catalogue message ``<page>.note.scorecard``;
        the older form ``nb.say(en, zh)`` picks one of two inline texts.
        """
        from IPython.display import Markdown, display

        display(Markdown(self.t(en, **values) if zh is None else pick(self.lang, en, zh)))

    def t(self, key: str, **values: Any) -> str:
        """The catalogue message ``<page>.<key>`` (else the shared ``key``) in the page's language."""
        own = f"{self.page}.{key}"
        return catalogue.message(own if catalogue.has(own, self.lang) else key, self.lang, **values)

    @property
    def page(self) -> str:
        """The catalogue namespace of this notebook: its stem without the number (``logistics``)."""
        return page_namespace(self.name)

    def finding(self, key: str, en: str | None = None, zh: str | None = None, value: float | None = None,
                unit: str | None = None, change: float | None = None, status: str | None = None,
                headline: bool = False, *, estimate: Any = None, message: str | None = None,
                status_reason: str | None = None, **values: Any) -> None:
        """Record and show a finding: a sentence computed from the data and the figure behind it.

        The sentence is the catalogue message ``<page>.finding.<key>`` (or ``message``) filled from
        ``values``; ``estimate`` (an :class:`~workbench.stats.result.Estimate`) is the figure written
        to the findings JSON, and is available to the template as ``{estimate}``. ``headline``
        findings feed the overview; ``change`` is a relative change (0.12 for +12%); ``status`` is
        green, amber or red when the page judges one. (``en``/``zh`` sentences are the older form.)
        """
        from IPython.display import HTML, display

        if en is not None or zh is not None:
            text = pick(self.lang, en or "", zh or "")
        else:
            if estimate is not None:
                values.setdefault("estimate", estimate)
            text = self.t(message or f"finding.{key}", **values)
        fig: dict[str, Any] = {"estimate": None if value is None else float(value), "unit": unit}
        if estimate is not None:
            fig = estimate.as_dict()
            fig.pop("too_few", None)
            if unit is not None:
                fig["unit"] = unit
        self.findings[key] = Finding(key, text, self._current, change=None if change is None else float(change),
                                     status=status, status_reason=status_reason, headline=headline, **fig)
        display(HTML(f"<p class='wb-finding'>▶ {html.escape(text)}</p>"))

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
            "peak_memory_mb": round(_peak_memory_mb(), 1),
        }

    def _publish_findings(self) -> None:
        from IPython.display import HTML

        if self._findings_widget is not None:  # dashboards: Voila ignores later display updates
            self._findings_widget.value = self._findings_html()
        elif self._findings_handle is not None:
            self._findings_handle.update(HTML(self._findings_html()))
        path = self.params.get("findings_path")
        if path:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(target.suffix + ".tmp")
            tmp.write_text(json.dumps(self.record(), ensure_ascii=False, indent=2, default=str), encoding="utf-8")
            os.replace(tmp, target)

    def _findings_html(self) -> str:
        items = "".join(f"<li>{html.escape(x.text)}</li>" for x in self.findings.values())
        skipped = [s for s in self.sections if s.status == "skipped"]
        skip = ""
        if skipped:
            skip = (f"<p class='wb-skipped'>{label('skipped', self.lang)}: "
                    + html.escape("; ".join(s.title for s in skipped)) + "</p>")
        return (f"<div class='wb-findings'><h3>{label('findings', self.lang)}</h3>"
                f"<ul>{items or '<li>…</li>'}</ul>{skip}</div>")

    # ----- header and filter bar ------------------------------------------------------------
    def _header(self) -> None:
        from IPython.display import HTML, display

        t = topic_of(self.name)
        display(HTML(_STYLE + f"<h1 class='wb-title'>{html.escape(self.title)}</h1>"
                     f"<p class='wb-question-main'>{html.escape(pick(self.lang, t.question_en, t.question_zh))}</p>"))
        if self.batch:
            display(HTML(f"<p class='wb-filters'>{html.escape(self.describe_filters())}</p>"))
            self._findings_handle = display(HTML(self._findings_html()), display_id=True)
        else:
            import ipywidgets as widgets

            display(self._filter_bar())
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

    def _filter_bar(self) -> Any:
        import ipywidgets as widgets

        from workbench.data import schema

        f = self.filters
        start = widgets.DatePicker(value=f.start, description=self.label("start"))
        end = widgets.DatePicker(value=f.end, description=self.label("end"))
        options = [(self.label(c), c) for c in schema.CHANNELS]
        chans = widgets.SelectMultiple(options=options, value=f.channels or tuple(schema.CHANNELS), rows=4,
                                       description=self.label("channels"))
        cmp = widgets.Dropdown(options=[(self.label(c), c) for c in params_mod.COMPARISONS], value=f.compare,
                               description=self.label("compare"))
        status = widgets.HTML()

        def changed(_: Any = None) -> None:
            if not start.value or not end.value or start.value > end.value or not chans.value:
                status.value = self.t("app.choose_valid")
                return
            cs, ce = queries.compare_window(start.value, end.value, cmp.value)
            picked = tuple(chans.value)
            new = Filters(start=start.value, end=end.value,
                          channels=() if len(picked) == len(schema.CHANNELS) else picked,
                          compare=cmp.value, compare_start=cs, compare_end=ce)
            status.value = "…"
            t0 = time.perf_counter()
            self.redraw(new)
            status.value = f"<span class='wb-redraw'>{(time.perf_counter() - t0) * 1000:.0f} ms</span>"

        for w in (start, end, chans, cmp):
            w.observe(changed, names="value")
        bar = widgets.HBox([widgets.VBox([start, end, cmp]), chans, status])
        bar.add_class("wb-filter-bar")
        self._widgets = {"start": start, "end": end, "channels": chans, "compare": cmp, "status": status}
        return bar


_STYLE = """<style>
.wb-title{margin-bottom:0}.wb-question-main{color:#555;margin-top:4px}
.wb-findings{background:#f4f8ff;border-left:4px solid #1f6feb;padding:6px 14px;margin:10px 0}
.wb-finding{margin:4px 0 14px 0;font-weight:500}.wb-skipped{color:#9a6700}
.wb-error{background:#fff5f5;border-left:4px solid #c92a2a;padding:8px 14px;white-space:pre-wrap}
.wb-table{border-collapse:collapse;font-size:13px}.wb-table td,.wb-table th{padding:3px 10px;text-align:right}
</style>"""


def _peak_memory_mb() -> float:
    """Peak resident memory of this process (the kernel running the notebook), in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
    validated. Batch mode (static output, no filter bar) is on when ``WORKBENCH_BATCH=1``.
    Raises :class:`~workbench.errors.ParameterError`, :class:`~workbench.errors.DataError` or
    :class:`~workbench.errors.EmptyPeriodError` with a message that says what to fix.
    """
    _install_error_display()
    batch = os.environ.get("WORKBENCH_BATCH") == "1"
    values = {k: namespace[k] for k in params_mod.SPEC if k in namespace}
    values.update(_url_values())
    try:
        p = params_mod.validate(values)
        charts.use_theme()
        ds = open_dataset(p["data"])
        filters = resolve_filters(p, queries.data_range(ds))
    except WorkbenchError as exc:
        if not batch:  # dashboards hide tracebacks: say what is wrong in the page itself
            from IPython.display import HTML, display

            display(HTML(_STYLE + f"<div class='wb-error' role='alert'>⚠ {html.escape(str(exc))}</div>"))
        raise
    nb = Notebook(name=name, params=p, data=ds, filters=filters, batch=batch)
    nb._header()
    nb._publish_findings()
    return nb


def format_exception_brief(exc: BaseException) -> str:
    """One line for an unexpected error (used where a traceback must not reach a viewer)."""
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()
