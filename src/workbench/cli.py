"""The ``workbench`` command.

    workbench sample --out DIR [--seed N] [--scale S]     generate the sample shop
    workbench validate PATH                               check a dataset, report, exit 1 when unusable
    workbench dictionary [--out FILE]                     write the data dictionary
    workbench run [NOTEBOOK ...] [options]                run notebooks in batch, write a report
    workbench import KIND SOURCE --out DIR                turn a platform export into the model
    workbench serve [--port P] [--ip A]                   dashboards (Voila) on 127.0.0.1 (login beyond it)
    workbench serve passwd                                set the dashboards' login password
    workbench lab                                         JupyterLab on the notebooks
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workbench.errors import WorkbenchError


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
    return 1 if ds.errors else 0


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
    from workbench.run import batch

    return batch.main(args)


def _cmd_import(args: argparse.Namespace) -> int:
    from workbench.data import importers

    return importers.main(args)


def _cmd_serve(args: argparse.Namespace) -> int:
    from workbench.serve import server as serve

    return serve.main(args)


def _cmd_lab(args: argparse.Namespace) -> int:
    from workbench.serve import server as serve

    return serve.lab(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench", description="E-commerce operations workbench")
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
    p.add_argument("--data", help="data folder (default: the sample shop)")
    p.add_argument("--start", help="first day, YYYY-MM-DD")
    p.add_argument("--end", help="last day, YYYY-MM-DD")
    p.add_argument("--period", help="relative period such as last-28d, mtd, ytd")
    p.add_argument("--as-of", dest="as_of", help="reference day of a relative period, YYYY-MM-DD")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="any notebook parameter (repeatable)")
    p.add_argument("--params", dest="params_file", help="YAML file of parameters")
    p.add_argument("--out", help="report folder (default: reports/<as-of date>)")
    p.add_argument("--jobs", type=int, help="notebooks run at once (default: number of cores)")
    p.add_argument("--timeout", type=float, default=600.0, help="time limit per notebook in seconds")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("import", help="turn a platform export into the data model (Parquet)")
    p.add_argument("kind", nargs="?", help="taobao, shopify, transactions or generic")
    p.add_argument("source", nargs="?", help="the export file (CSV or Excel)")
    p.add_argument("--out", help="dataset folder to write or update")
    p.add_argument("--mapping", help="mapping YAML for the generic importer")
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
    p.add_argument("--reports", help="reports folder whose batch pages are served as snapshots (default: reports/)")
    p.add_argument("--no-snapshots", dest="snapshots", action="store_false", help="always compute live")
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
    p.add_argument("--notebooks", help=argparse.SUPPRESS)  # a folder of dashboards other than notebooks/ (tests)
    p.add_argument("--password-stdin", action="store_true", help="passwd: read the password from stdin")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("lab", help="open JupyterLab on the notebooks")
    p.add_argument("--port", type=int, default=8888)
    p.set_defaults(func=_cmd_lab)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``workbench`` console command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
