"""The ``workbench`` command.

    workbench sample --out DIR [--seed N] [--scale S]     generate the sample shop
    workbench validate PATH                               check a dataset, report, exit 2 when unusable
    workbench dictionary [--out FILE]                     write the data dictionary
    workbench run [NOTEBOOK ...] [options]                run notebooks in batch, write a report
                  [--notify T] [--pdf] [--keep N] [--data SHOP ...]   and deliver it
    workbench schedule add|list|remove|run-due|install    runs kept in a YAML file, run when due
    workbench import KIND SOURCE --out DIR                turn a platform export into the model
    workbench serve [--port P]                            dashboards (Voila) on 127.0.0.1
    workbench lab                                         JupyterLab on the notebooks
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


def _cmd_lab(args: argparse.Namespace) -> int:
    from workbench.serve import server as serve

    return serve.lab(args)


def _seconds(text: str) -> float:
    """A positive, finite number of seconds (``--timeout``); argparse turns the ValueError into a usage error."""
    import math

    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(text)
    return value


_seconds.__name__ = "number of seconds (positive)"


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
    p.add_argument("--out", help="report folder (default: reports/<as-of date>)")
    p.add_argument("--jobs", type=int, help="notebooks run at once (default: number of cores)")
    p.add_argument("--timeout", type=_seconds, default=600.0, help="time limit per notebook in seconds")
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
    p.add_argument("kind", nargs="?", help="taobao, shopify, transactions or generic")
    p.add_argument("source", nargs="?", help="the export file (CSV or Excel)")
    p.add_argument("--out", help="dataset folder to write or update")
    p.add_argument("--mapping", help="mapping YAML for the generic importer")
    p.add_argument("--suggest", metavar="SOURCE", help="propose a mapping YAML from a file's headers")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("serve", help="serve the notebooks as dashboards (Voila) on 127.0.0.1")
    p.add_argument("--port", type=int, default=8866)
    p.add_argument("--data", help="data folder (default: the sample shop)")
    p.add_argument("--no-preheat", dest="preheat", action="store_false", help="start kernels on request")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("lab", help="open JupyterLab on the notebooks")
    p.add_argument("--port", type=int, default=8888)
    p.set_defaults(func=_cmd_lab)
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
