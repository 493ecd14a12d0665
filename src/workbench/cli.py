"""The ``workbench`` command.

    workbench sample --out DIR [--seed N] [--scale S]     generate the sample shop
    workbench validate PATH                               check a dataset, report, exit 2 when unusable
    workbench dictionary [--out FILE]                     write the data dictionary
    workbench run [NOTEBOOK ...] [options]                run notebooks in batch, write a report
                  [--engine spark[:MASTER]]            (the queries on Spark instead of DuckDB)
                  [--notify T] [--pdf] [--keep N] [--data SHOP ...]   and deliver it
    workbench schedule add|list|remove|run-due|install    runs kept in a YAML file, run when due
    workbench import KIND SOURCE --out DIR                turn a platform export into the model
    workbench serve [--port P] [--ip A]                   dashboards (Voila) on 127.0.0.1 (login beyond it)
    workbench serve passwd                                set the dashboards' login password
    workbench lab                                         JupyterLab on the notebooks
    workbench forecast SERIES.csv --horizon H [--freq D|W|M] [--level 80,95] --out FORECAST.csv
                                                          forecast a series, backtested against seasonal naive
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workbench.errors import EXIT_CODES, EXIT_INTERRUPTED, EXIT_OK, EXIT_REFUSED, WorkbenchError, exit_code


def _cmd_sample(args: argparse.Namespace) -> int:
    from workbench.data.sample import generate

    truth = generate(args.out, seed=args.seed, scale=args.scale)
    counts = truth.get("row_counts", {})
    print(f"wrote the sample shop to {args.out} (seed {args.seed}, scale {args.scale:g}): "
          + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from workbench.data.loader import load

    ds = load(args.path, strict=False)
    print(ds.report())
    if not ds.errors:  # usable data: which notebooks and sections it can feed
        from workbench.app.sections import coverage_report
        from workbench.run import resolve_notebooks

        print(coverage_report(ds, resolve_notebooks()))
    return EXIT_REFUSED if ds.errors else EXIT_OK


def _cmd_dictionary(args: argparse.Namespace) -> int:
    from workbench.data.schema import data_dictionary_markdown

    text = data_dictionary_markdown()
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from workbench.deliver import command

    return command.run(args)


def _cmd_schedule(args: argparse.Namespace) -> int:
    from workbench.deliver import command

    return command.schedule(args, build_parser())


def _cmd_import(args: argparse.Namespace) -> int:
    from workbench.data import importers

    return importers.main(args)


def _cmd_serve(args: argparse.Namespace) -> int:
    from workbench.serve import server as serve

    return serve.main(args)


def _cmd_assets(args: argparse.Namespace) -> int:
    """Fetch plotly's lighter bundle for the dashboards (or say whether it is there)."""
    from workbench.serve import plotly_bundle

    have = plotly_bundle.light_bundle()
    if args.check or have is not None:
        print(f"plotly.js basic bundle: {have or 'not fetched (the dashboards load the full plotly.js)'}")
        return EXIT_OK
    print(f"plotly.js basic bundle: {plotly_bundle.fetch()}")
    return EXIT_OK


def _cmd_lab(args: argparse.Namespace) -> int:
    from workbench.serve import server as serve

    return serve.lab(args)


# ----- workbench forecast -------------------------------------------------------------------------------
_DATE_NAMES = ("date", "ds", "day", "week", "month", "period", "time", "日期", "月份")
_VALUE_NAMES = ("value", "y", "sales", "gmv", "units", "orders", "quantity", "qty", "amount", "revenue", "销量",
                "销售额")


def _series_columns(frame, date_col: str | None, value_col: str | None) -> tuple[str, str]:
    """The date and value columns of a series file: the ones given, else detected by name, then by content."""
    import pandas as pd

    cols = list(frame.columns)
    for given, what in ((date_col, "--date-col"), (value_col, "--value-col")):
        if given is not None and given not in cols:
            raise WorkbenchError(f"{what} {given!r} is not a column of the file; its columns are {', '.join(cols)}")
    if date_col is None:
        named = [c for c in cols if str(c).strip().lower() in _DATE_NAMES]
        parsed = [c for c in cols if frame[c].dtype == object
                  and pd.to_datetime(frame[c], errors="coerce", format="mixed").notna().mean() > 0.9]
        date_col = (named or parsed or [None])[0]
        if date_col is None:
            raise WorkbenchError(f"no date column found among {', '.join(map(str, cols))}; name it with --date-col")
    if value_col is None:
        numeric = [c for c in cols if c != date_col and pd.to_numeric(frame[c], errors="coerce").notna().mean() > 0.9]
        named = [c for c in numeric if str(c).strip().lower() in _VALUE_NAMES]
        value_col = (named or numeric or [None])[0]
        if value_col is None:
            raise WorkbenchError(f"no numeric value column found besides {date_col!r}; name it with --value-col")
    return date_col, value_col


def _infer_freq(dates) -> str:
    import numpy as np

    gaps = np.diff(np.sort(dates.dropna().unique()).astype("datetime64[D]").astype(int))
    step = float(np.median(gaps)) if len(gaps) else 1.0
    return "D" if step < 4 else ("W" if step < 20 else "M")


def _cmd_forecast(args: argparse.Namespace) -> int:
    import pandas as pd

    from workbench.stats import forecast as fc

    path = Path(args.series)
    if not path.exists():
        raise WorkbenchError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, sep=None, engine="python", encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise WorkbenchError(f"{path}: cannot be read as a CSV file ({exc}); save it as UTF-8 CSV") from None
    date_col, value_col = _series_columns(frame, args.date_col, args.value_col)
    dates = pd.to_datetime(frame[date_col], errors="coerce", format="mixed")
    freq = (args.freq or _infer_freq(dates)).upper()
    if freq not in fc.SEASON:
        raise WorkbenchError(f"--freq {args.freq!r}: expected D, W or M")
    try:
        levels = tuple(sorted(float(x) / 100 for x in str(args.level).split(",") if x.strip()))
    except ValueError:
        raise WorkbenchError(f"--level {args.level!r}: expected per cents such as 80,95") from None
    if not levels or not all(0 < lv < 1 for lv in levels):
        raise WorkbenchError(f"--level {args.level!r}: each level must be between 0 and 100 (such as 80,95)")
    if args.horizon < 1:
        raise WorkbenchError("--horizon must be at least 1 period")
    try:
        index, values = fc.check_series(frame[date_col], frame[value_col], freq, allow_negative=args.allow_negative)
    except fc.ForecastInputError as exc:
        raise WorkbenchError(f"{path} (date column {date_col!r}, value column {value_col!r}): {exc}") from None
    chosen = fc.choose(values, index, freq, args.horizon, levels=levels)
    out = chosen.forecast.frame
    table = pd.DataFrame({"date": pd.DatetimeIndex(out["date"]).strftime("%Y-%m-%d"), "forecast": out["forecast"]})
    for lv in levels:
        tag = fc.level_tag(lv)
        table[f"low_{tag}"], table[f"high_{tag}"] = out[f"low_{tag}"], out[f"high_{tag}"]
    from workbench.data import safefile

    numbers = [c for c in table.columns if c != "date"]
    table[numbers] = table[numbers].astype(float).round(4)
    safefile.write_csv(table, args.out)
    m = fc.SEASON[freq]
    spec = chosen.forecast.frame.attrs.get("spec", chosen.method)
    print(f"series: {len(values)} points at frequency {freq} from {path.name} ({date_col!r}, {value_col!r}); "
          f"season {m}")
    for key, b in chosen.candidates.items():
        print(f"backtest {key:<9} MASE {b.mase:.3f} vs seasonal naive {b.mase_naive:.3f} (ratio {b.ratio:.2f}); "
              f"coverage 80% {b.coverage_80:.0%}, 95% {b.coverage_95:.0%}; {b.origins} origin(s) of "
              f"{min(args.horizon, len(values))} periods")
    verdict = {"best_backtest": "beats seasonal naive in the backtest",
               "naive_best": "no method beat seasonal naive in the backtest, so seasonal naive is used",
               "no_backtest": "too short for a backtest of this horizon: seasonal naive is used"}[chosen.reason]
    print(f"method: {spec} ({verdict})")
    print(f"wrote {len(table)} periods with {', '.join(fc.level_tag(lv) + '%' for lv in levels)} "
          f"prediction intervals to {args.out}")
    return 0


def _seconds(text: str) -> float:
    """A positive, finite number of seconds (``--timeout``); argparse turns the ValueError into a usage error."""
    import math

    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(text)
    return value


_seconds.__name__ = "number of seconds (positive)"


ENGINE_HELP = ("where the queries run: duckdb (default), spark (local[2]) or spark:MASTER with MASTER local[N], "
               "spark://host:7077 or a Spark Connect address sc://host:15002 (needs pip install 'workbench[spark]')")


def build_parser() -> argparse.ArgumentParser:
    epilog = "exit codes:\n" + "\n".join(f"  {code:>3}  {text}" for code, text in EXIT_CODES.items())
    parser = argparse.ArgumentParser(prog="workbench", description="E-commerce operations workbench",
                                     epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="generate the sample shop with planted effects")
    p.add_argument("--out", default="data/sample", help="output folder (default: data/sample)")
    p.add_argument("--seed", type=int, default=20240101, help="random seed (same seed, same files)")
    p.add_argument("--scale", type=float, default=1.0, help="size: 1 is about 100,000 orders")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("validate", help="check a dataset against the data model and list what it can feed")
    p.add_argument("path", help="folder of <table>.parquet/.csv files or a DuckDB file")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("dictionary", help="write the data dictionary generated from the model")
    p.add_argument("--out", default="docs/data-dictionary.md", help="file to write, or - for stdout")
    p.set_defaults(func=_cmd_dictionary)

    p = sub.add_parser("run", help="run notebooks in batch and write a static report")
    p.add_argument("notebooks", nargs="*", help="notebook names or paths (default: every notebook)")
    p.add_argument("--data", action="append",
                   help="data folder (default: the sample shop); repeat it to run several shops")
    p.add_argument("--start", help="first day, YYYY-MM-DD")
    p.add_argument("--end", help="last day, YYYY-MM-DD")
    p.add_argument("--period", help="relative period such as last-28d, mtd, ytd")
    p.add_argument("--as-of", dest="as_of", help="reference day of a relative period, YYYY-MM-DD")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="any notebook parameter (repeatable)")
    p.add_argument("--params", dest="params_file", help="YAML file of parameters")
    p.add_argument("--engine", metavar="ENGINE", help=ENGINE_HELP)
    p.add_argument("--out", help="report folder (default: reports/<as-of date>)")
    p.add_argument("--jobs", type=int, help="notebooks run at once (default: number of cores)")
    p.add_argument("--timeout", type=_seconds, default=None,
                   help="time limit per notebook in seconds (default: 600, and 600 more per million orders "
                        "beyond the first million)")
    p.add_argument("--notify", action="append", metavar="TARGET",
                   help="when the run ends, tell TARGET: wecom, dingtalk, feishu, lark, slack, webhook or "
                        "email:ADDRESS (repeatable; addresses and secrets come from WORKBENCH_* variables)")
    p.add_argument("--pdf", action="store_true", help="also print every page to pdf/<page>.pdf (needs Chromium)")
    p.add_argument("--keep", type=int, metavar="N", help="keep only the N newest runs in the reports folder")
    p.add_argument("--report-url", dest="report_url", metavar="URL",
                   help="where the reports folder is published, for links in notifications")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("schedule", help="runs kept in a YAML file and run when due (cron or a systemd timer)")
    p.add_argument("--file", help="the schedule file (default: workbench-schedule.yaml here)")
    ssub = p.add_subparsers(dest="action", required=True)
    q = ssub.add_parser("add", help="add a schedule: NAME --cron \"30 2 * * *\" -- [run options]")
    q.add_argument("name")
    q.add_argument("--cron", required=True, help="five cron fields, in the time zone of --tz")
    q.add_argument("--tz", default="Asia/Shanghai", help="time zone of the cron times (default Asia/Shanghai)")
    q.add_argument("--replace", action="store_true", help="replace a schedule of that name")
    q.add_argument("run_args", nargs="*", help="options of workbench run, after --")
    q = ssub.add_parser("remove", help="remove a schedule")
    q.add_argument("name")
    ssub.add_parser("list", help="list the schedules, their next and last runs")
    ssub.add_parser("run-due", help="run the schedules that are due (what cron or the timer calls)")
    q = ssub.add_parser("install", help="install run-due in the crontab (or a systemd user timer)")
    q.add_argument("--systemd", action="store_true", help="a systemd user timer instead of a crontab line")
    q.add_argument("--print-only", dest="print_only", action="store_true", help="print, do not install")
    p.set_defaults(func=_cmd_schedule)

    p = sub.add_parser("import", help="turn a platform export into the data model (Parquet)")
    p.add_argument("kind", nargs="?", help="taobao, pinduoduo, douyin, shopify, transactions or generic")
    p.add_argument("source", nargs="?", help="the export file (CSV or Excel); for taobao the order report (订单报表)")
    p.add_argument("--items", help="the item report of the same export (taobao: 宝贝报表), one row per item")
    p.add_argument("--out", help="dataset folder to write or update")
    p.add_argument("--mapping", help="mapping YAML for the generic importer (or `jd`, the shipped example)")
    p.add_argument("--suggest", metavar="SOURCE", help="propose a mapping YAML from a file's headers")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("serve", help="serve the notebooks as dashboards (Voila) on 127.0.0.1; "
                                      "`workbench serve passwd` sets the login password")
    p.add_argument("action", nargs="?", choices=["passwd"], help="passwd: set the dashboards' password and stop")
    p.add_argument("--port", type=int, default=8866)
    p.add_argument("--ip", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; any other requires a login)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="a host name viewers use to reach the server (repeatable; e.g. the proxy's name)")
    p.add_argument("--login", action="store_true", help="require a login on 127.0.0.1 too")
    p.add_argument("--behind-proxy", action="store_true",
                   help="trust the reverse proxy's X-Forwarded-For/-Proto headers (client address, https)")
    p.add_argument("--data", help="data folder (default: the sample shop)")
    p.add_argument("--engine", metavar="ENGINE", help=ENGINE_HELP)
    p.add_argument("--reports", help="reports folder whose batch pages are served as snapshots (default: reports/)")
    p.add_argument("--no-snapshots", dest="snapshots", action="store_false", help="always compute live")
    p.add_argument("--no-draw-ahead", dest="draw_ahead", action="store_false",
                   help="do not draw snapshot charts ahead with headless Chromium (plotly.js draws them in the browser)")
    p.add_argument("--no-preheat", dest="preheat", action="store_false", help="start kernels on request")
    p.add_argument("--preheat", dest="preheat_mode", default="auto", metavar="WHICH",
                   help="auto (default): notebooks without a snapshot, at most --preheat-max; all; none; "
                        "or notebooks such as 00_overview,01_sales_traffic")
    p.add_argument("--preheat-max", type=int, default=2, help="most notebooks preheated in auto mode (default 2)")
    p.add_argument("--max-kernels", type=int, default=4, help="most live dashboards at once (default 4)")
    p.add_argument("--kernels-per-client", type=int, default=2,
                   help="most live dashboards one client (address) may hold (default 2)")
    p.add_argument("--reclaim-after", type=float, default=30.0,
                   help="seconds a kernel no page is connected to stays before it may be reclaimed (default 30)")
    p.add_argument("--room-wait", type=float, default=None,
                   help="seconds a page waits for a free kernel under the caps before it is refused with "
                        "HTTP 429 (default 10, or $WORKBENCH_ROOM_WAIT)")
    p.add_argument("--notebooks", help=argparse.SUPPRESS)  # a folder of dashboards other than notebooks/ (tests)
    p.add_argument("--password-stdin", action="store_true", help="passwd: read the password from stdin")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("assets", help="fetch plotly's lighter plotly.js bundle (with npm), so that live "
                                       "dashboards show their first chart sooner")
    p.add_argument("--check", action="store_true", help="only say whether it is there")
    p.set_defaults(func=_cmd_assets)

    p = sub.add_parser("lab", help="open JupyterLab on the notebooks")
    p.add_argument("--port", type=int, default=8888)
    p.set_defaults(func=_cmd_lab)

    p = sub.add_parser("forecast", help="forecast a series (CSV of dates and values) with prediction intervals")
    p.add_argument("series", help="CSV file with a date column and a value column")
    p.add_argument("--horizon", type=int, required=True, help="periods to forecast")
    p.add_argument("--freq", choices=["D", "W", "M", "d", "w", "m"], help="D, W or M (default: from the dates)")
    p.add_argument("--level", default="80,95", help="prediction levels in per cent (default: 80,95)")
    p.add_argument("--out", required=True, help="CSV file to write the forecast to")
    p.add_argument("--date-col", dest="date_col", help="name of the date column (default: detected)")
    p.add_argument("--value-col", dest="value_col", help="name of the value column (default: detected)")
    p.add_argument("--allow-negative", dest="allow_negative", action="store_true",
                   help="accept negative values (for a series that can be negative, such as a profit)")
    p.set_defaults(func=_cmd_forecast)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``workbench`` console command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    run_args: list[str] = []
    if argv[:1] == ["schedule"] and "--" in argv:  # argparse loses "--" inside nested sub-commands
        cut = argv.index("--")
        argv, run_args = argv[:cut], argv[cut + 1:]
    args = build_parser().parse_args(argv)
    if run_args:
        if getattr(args, "action", None) != "add":
            print("error: only 'workbench schedule add' takes run options after --", file=sys.stderr)
            return 2
        args.run_args = [*(args.run_args or []), *run_args]
    try:
        return int(args.func(args) or 0)
    except (WorkbenchError, OSError) as exc:  # a message with the fix, never a traceback
        if isinstance(exc, OSError) and not isinstance(exc, WorkbenchError):
            from workbench.errors import environment_problem

            exc = environment_problem(exc, getattr(exc, "filename", None) or ".")
        print(f"error: {exc}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
