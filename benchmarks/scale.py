"""How far one machine goes: the whole batch on a generated shop of a given scale, on DuckDB.

    python benchmarks/scale.py --scale 10 [--data DIR] [--jobs 2] [--work DIR] [--keep] [--marts auto]

Generates a shop at ``--scale`` (1 is about 100,000 orders; 100 is about 10 million) unless
``--data`` names one (a folder of Parquet files), writes a copy without its last order day, and
times three batches of every notebook (``workbench run --data DIR --jobs J``), each in a fresh
report folder, with one mart folder for the three:

1. the first batch, the mart built from scratch (its build time is read from the mart's manifest);
2. a second batch on the unchanged data (the mart is reused: build time 0);
3. a batch after the last day was appended (the mart is extended: the new days only).

For each it prints the wall time, the mart's build kind and time, how many notebooks succeeded,
each notebook's time and its kernel's peak memory (the kernels record their own ``ru_maxrss``),
and the machine's load average at the start and the end: the machine is shared, so a figure
taken under load is an upper bound. Figures, not a test. ``--marts auto`` keeps the product's
default (a mart above 2 million orders, in-memory tables below); the default ``on`` reads every
scale through a mart, so scales compare like with like.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from marts import split_last_day  # noqa: E402

PY = sys.executable
WORKBENCH = str(Path(PY).parent / "workbench")


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} (1/5 min, {os.cpu_count()} cores)"


def mart_builds(mart_dir: Path) -> dict[str, dict]:
    """{version folder: its manifest's build record} of every mart under ``mart_dir``."""
    out = {}
    for manifest in mart_dir.glob("*/*/mart.json"):
        try:
            out[str(manifest.parent)] = json.loads(manifest.read_text(encoding="utf-8")).get("build", {})
        except (OSError, ValueError):
            continue
    return out


def batch(data: Path, jobs: int, out: Path, mart_dir: Path, label: str, env: dict[str, str]) -> dict:
    """Run one batch and print its figures; return them."""
    before = mart_builds(mart_dir)
    start_load = load_average()
    cmd = [WORKBENCH, "run", "--data", str(data), "--jobs", str(jobs), "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - t0
    new = {k: v for k, v in mart_builds(mart_dir).items() if k not in before}
    if new:
        build = next(iter(new.values()))
        mart = f"mart {build.get('kind')} in {build.get('seconds', 0):.1f} s"
    elif before:
        build, mart = {"kind": "reused", "seconds": 0.0}, "mart reused (0 s)"
    else:
        build, mart = {"kind": "none", "seconds": None}, "no mart (in-memory tables in each kernel)"
    notebooks = []
    manifest = out / "run.json"
    if manifest.exists():
        for x in json.loads(manifest.read_text(encoding="utf-8")).get("notebooks", []):
            f = out / f"{x['name']}.findings.json"
            peak = json.loads(f.read_text(encoding="utf-8")).get("peak_memory_mb") if f.exists() else None
            notebooks.append({"name": x["name"], "status": x.get("status"), "seconds": x.get("seconds") or 0.0,
                              "peak_mb": peak})
    ok = sum(1 for x in notebooks if x["status"] == "succeeded")
    peak = max((x["peak_mb"] or 0 for x in notebooks), default=0)
    print(f"{label}: {wall:.1f} s wall, {mart}, {ok}/{len(notebooks)} notebooks succeeded, "
          f"peak kernel {peak:,.0f} MB (exit {proc.returncode}); {start_load} at the start, "
          f"{load_average()} at the end", flush=True)
    for x in notebooks:
        mem = f"{x['peak_mb']:,.0f} MB" if x["peak_mb"] else "–"
        print(f"    {x['name']:<24} {str(x['status']):<10} {x['seconds']:7.1f} s  {mem}", flush=True)
    if proc.returncode not in (0, 1):
        print("    " + "\n    ".join((proc.stderr or proc.stdout).strip().splitlines()[-8:]), flush=True)
    return {"wall": wall, "build": build, "ok": ok, "n": len(notebooks), "peak_mb": peak,
            "notebooks": notebooks, "exit": proc.returncode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--data", help="an existing shop (Parquet) instead of generating one")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--work", help="working folder (default: a new temporary folder)")
    parser.add_argument("--marts", choices=("on", "auto"), default="on")
    parser.add_argument("--keep", action="store_true", help="keep the generated data, marts and reports")
    args = parser.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="workbench-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    mart_dir = work / "marts"
    env = {**os.environ, "WORKBENCH_MART_DIR": str(mart_dir),
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    if args.marts == "on":
        env["WORKBENCH_MARTS"] = "1"
    else:
        env.pop("WORKBENCH_MARTS", None)
    try:
        if args.data:
            full = Path(args.data)
        else:
            from workbench.data.sample import generate

            full = work / "full"
            start = load_average()
            t0 = time.perf_counter()
            generate(full, seed=20240101, scale=args.scale)
            print(f"generated scale {args.scale:g} in {time.perf_counter() - t0:.1f} s; {start} at the start, "
                  f"{load_average()} at the end", flush=True)
        import duckdb

        orders = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{full / 'orders.parquet'}')").fetchone()[0]
        size = sum(f.stat().st_size for f in full.glob("*.parquet")) / 1e6
        print(f"shop: {full} ({orders:,} orders, {size:,.0f} MB of Parquet); marts {args.marts}; "
              f"--jobs {args.jobs}", flush=True)
        shop = work / "shop"
        shutil.rmtree(shop, ignore_errors=True)
        last = split_last_day(full, shop)
        first = batch(shop, args.jobs, work / "run-1", mart_dir, "first batch (mart built)", env)
        again = batch(shop, args.jobs, work / "run-2", mart_dir, "second batch, unchanged data", env)
        for f in full.glob("*.parquet"):
            shutil.copyfile(f, shop / f.name)
        appended = batch(shop, args.jobs, work / "run-3", mart_dir, f"batch after appending {last}", env)
        b1, b3 = first["build"].get("seconds"), appended["build"].get("seconds")
        if b1 and b3 is not None:
            print(f"appended day: mart build {b3:.1f} s = {b3 / b1:.0%} of the first build ({b1:.1f} s)")
        what = f"{full.name}" if args.data else f"scale {args.scale:g}"
        print(f"summary {what} ({orders:,} orders): first {first['wall']:.0f} s, unchanged {again['wall']:.0f} s, "
              f"appended {appended['wall']:.0f} s; peak kernel {max(first['peak_mb'], appended['peak_mb']):,.0f} MB; "
              f"{load_average()}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
