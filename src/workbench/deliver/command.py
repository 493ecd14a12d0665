"""The ``workbench run`` command with delivery (``--notify``, ``--pdf``, ``--keep``, several ``--data``)
and the ``workbench schedule`` command.

Exit codes of ``workbench run``:

== ===========================================================================================
0  every notebook succeeded and every delivery (PDF, notification) worked
1  the report was written but a notebook failed or timed out (with several shops: any shop)
2  refused before anything ran (unknown notebook, bad parameter, unusable data)
5  every notebook succeeded, but a PDF or a notification failed (see ``run.json``)
6  a notebook failed, and a PDF or a notification failed too
130 interrupted
== ===========================================================================================

A delivery failure never hides the run's own result: the report is written first, then the PDFs,
then the notifications, and each outcome is recorded in the run's ``run.json``
(``pdf``, ``notifications``).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from workbench.deliver import archive, notify, pdf
from workbench.deliver.shops import Shop, ShopRun, run_shops, shops_from, summary_of, write_rollup
from workbench.deliver.summary import summarise
from workbench.errors import ParameterError, WorkbenchError

DELIVERY_KEYS = ("notify", "pdf", "keep", "shops", "report_url")
DELIVERY_FAILED, BOTH_FAILED = 5, 6


class _Prefixed:
    """A text stream that writes each line with ``[shop]`` in front (progress of several shops)."""

    def __init__(self, prefix: str, stream: TextIO) -> None:
        self.prefix, self.stream, self._lock = prefix, stream, threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            for line in text.splitlines(keepends=True):
                self.stream.write(f"[{self.prefix}] {line}" if line.strip() else line)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def split_params_file(path: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``--params`` YAML split into (notebook parameters, delivery options)."""
    if not path:
        return {}, {}
    from workbench.run.parameters import _read_params_file

    values = dict(_read_params_file(Path(path)))
    delivery = {k: values.pop(k) for k in DELIVERY_KEYS if k in values}
    return values, delivery


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise ParameterError(f"'notify' in the parameters file must be a target or a list of targets, got {value!r}")


def deliver(run_dir: Path, *, targets: Sequence[notify.Target], make_pdf: bool, report_url: str | None,
            shop: str | None = None, settings: Mapping[str, str] | None = None,
            stream: TextIO | None = None) -> bool:
    """PDFs, then notifications, for the finished run in ``run_dir``; each outcome into ``run.json``.

    Returns True when every delivery asked for worked.
    """
    stream = stream or sys.stderr
    ok = True
    attachments: list[Path] = []
    if make_pdf:
        try:
            printed = pdf.write_pdfs(run_dir)
        except pdf.PdfError as exc:
            printed = [pdf.Printed("*", error=str(exc))]
        failed = [p for p in printed if p.error]
        ok &= not failed
        archive.record(run_dir, "pdf", [{"page": p.page, "pdf": str(p.pdf.relative_to(run_dir)) if p.pdf else None,
                                         "error": p.error} for p in printed])
        for p in failed:
            print(f"warning: PDF not written: {p.error}", file=stream)
        attachments = [p.pdf for p in printed if p.pdf and p.pdf.stem in ("00_overview", "index")]
    if targets:
        summary = summarise(run_dir)
        summary.shop = shop
        sent = notify.send_all(targets, summary, settings, report_url, attachments)
        archive.record(run_dir, "notifications", [d.as_dict() for d in sent])
        for d in sent:
            if not d.ok:
                ok = False
                print(f"warning: notification to {d.target} failed: {d.error}", file=stream)
    return ok


def _exit(run_code: int, delivered: bool) -> int:
    if delivered:
        return run_code
    return {0: DELIVERY_FAILED, 1: BOTH_FAILED}.get(run_code, run_code)


def run(args: Any) -> int:
    """``workbench run`` with delivery; see the module's exit codes."""
    from workbench.run import batch
    from workbench.run.folder import reports_root
    from workbench.run.parameters import collect_params

    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # see workbench.run.pool._BOOT
    try:
        yaml_values, delivery = split_params_file(getattr(args, "params_file", None))
        targets = [notify.parse_target(t) for t in [*(getattr(args, "notify", None) or []),
                                                     *_as_list(delivery.get("notify"))]]
        make_pdf = bool(getattr(args, "pdf", False) or delivery.get("pdf"))
        keep = getattr(args, "keep", None)
        keep = int(delivery["keep"]) if keep is None and delivery.get("keep") is not None else keep
        if keep is not None and keep < 1:
            raise ParameterError(f"--keep must be at least 1, got {keep}")
        report_url = getattr(args, "report_url", None) or delivery.get("report_url") \
            or os.environ.get("WORKBENCH_REPORT_URL")
        if make_pdf:
            pdf.browser()  # no browser: refuse now, not after an hour of notebooks
        settings = notify.settings_from() if targets else {}
        data = getattr(args, "data", None)
        data = [data] if isinstance(data, str) else list(data or [])
        shops = shops_from(data if len(data) > 1 or delivery.get("shops") else [], delivery.get("shops"))
        options = {name: getattr(args, name, None) for name in ("start", "end", "period", "as_of", "engine")}
        if not shops:
            options["data"] = data[0] if data else None
        values = {**yaml_values, **collect_params(None, getattr(args, "param", None) or [], options)}
        root = Path(args.out).resolve() if (shops and getattr(args, "out", None)) else reports_root().resolve()
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if not shops:
        try:
            with batch.handle_stop():
                result = batch.run_from_args(args, values)
        except (WorkbenchError, OSError, KeyboardInterrupt) as exc:  # 2 refused, 3 environment, 128+signal
            return batch.stop_code(exc)
        batch.print_result(result)
        delivered = deliver(result.run_dir, targets=targets, make_pdf=make_pdf, report_url=report_url,
                            settings=settings)
        if not getattr(args, "out", None):
            _archive(root, keep)
        return _exit(result.exit_code, delivered)

    def one(shop: Shop, jobs: int) -> ShopRun:
        shop_root = root / shop.name
        shop_root.mkdir(parents=True, exist_ok=True)
        shop_args = _Namespace(args, out=None)
        result = batch.run_from_args(shop_args, {**values, "data": shop.data}, root=shop_root, jobs=jobs,
                                     progress=_Prefixed(shop.name, sys.stderr))
        delivered = deliver(result.run_dir, targets=targets, make_pdf=make_pdf, report_url=report_url,
                            shop=shop.name, settings=settings, stream=_Prefixed(shop.name, sys.stderr))
        _archive(shop_root, keep)
        return ShopRun(shop, _exit(result.exit_code, delivered), result.run_dir, summary_of(result.run_dir))

    try:
        with batch.handle_stop():
            runs = run_shops(shops, one, getattr(args, "jobs", None))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    lang = str(values.get("language") or "zh")
    page = write_rollup(runs, root, lang)
    for r in runs:
        where = r.run_dir / "index.html" if r.run_dir else r.error
        print(f"{r.shop.name}: exit {r.exit_code}: {where}", file=sys.stderr)
    print(page)
    codes = [r.exit_code for r in runs]
    if all(c == 0 for c in codes):
        return 0
    if all(c in (0, DELIVERY_FAILED) for c in codes):
        return DELIVERY_FAILED
    return 1


def _archive(root: Path, keep: int | None) -> None:
    removed = archive.prune(root, keep) if keep else []
    archive.write_index(root)
    if removed:
        print(f"removed {len(removed)} old runs (--keep {keep})", file=sys.stderr)


class _Namespace:
    """``args`` with some attributes replaced."""

    def __init__(self, base: Any, **override: Any) -> None:
        self._base, self._override = base, override

    def __getattr__(self, name: str) -> Any:
        if name in self._override:
            return self._override[name]
        return getattr(self._base, name)


# ----- workbench schedule -----------------------------------------------------------------------------
def schedule(args: Any, parser: Any = None) -> int:
    """``workbench schedule add|list|remove|run-due|install``; ``parser`` (the ``workbench`` parser)
    checks the run options of ``add``."""
    from workbench.deliver import schedule as sched

    store = sched.Store(getattr(args, "file", None))
    action = args.action
    if action == "add":
        check = (lambda a: sched.check_run_args(parser, a)) if parser is not None else None
        s = sched.add(store, args.name, args.cron, list(args.run_args or []), timezone=args.tz,
                      replace=args.replace, check=check)
        nxt = s.next_time(dt.datetime.now(dt.timezone.utc))
        print(f"added schedule {s.name} to {store.path}: {s.cron} ({s.timezone}), next run "
              f"{nxt.isoformat(timespec='minutes') if nxt else 'never within a year'}")
        return 0
    if action == "remove":
        sched.remove(store, args.name)
        print(f"removed schedule {args.name} from {store.path}")
        return 0
    if action == "list":
        rows = sched.listing(store)
        if not rows:
            print(f"no schedules in {store.path}")
        for r in rows:
            last = f"last run {r['last_run']} (exit {r['last_exit']})" if r["last_run"] else "not run yet"
            print(f"{r['name']}: {r['cron']} ({r['timezone']}) next {r['next']}; {last}; workbench run {r['args']}")
        return 0
    if action == "run-due":
        results = sched.run_due(store)
        worst = 0
        for r in results:
            if r["action"] == "ran":
                print(f"{r['name']}: ran for {r['due']}, exit {r['exit']}")
                worst = max(worst, 1 if r["exit"] else 0)
            elif r["action"] == "busy":
                print(f"{r['name']}: still running from an earlier start; skipped")
        return worst
    if action == "install":
        return sched.install(store, systemd=args.systemd, print_only=args.print_only)
    raise ParameterError(f"unknown schedule action {action!r}")
