"""Performance figures of the workbench, printed (never asserted).

    python benchmarks/bench.py                 # generation + loading at scale 10, the batch, dashboards
    python benchmarks/bench.py --scale 100     # also scale 100 (about 10 million orders; takes a while)
    python benchmarks/bench.py --only batch    # one part: generate, load, batch, dashboard, redraw

Each figure is measured in a separate process so that peak memory (ru_maxrss of the child)
belongs to that step alone. The README quotes the figures of one run on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def _child(code: str, env: dict | None = None) -> dict:
    """Run ``code`` in a fresh Python; it prints one JSON line; add wall time and peak memory."""
    wrapper = (
        "import json, resource, time\n"
        "t0 = time.perf_counter()\n"
        f"{code}\n"
        "out = dict(result) if 'result' in dir() else {}\n"
        "out['seconds'] = time.perf_counter() - t0\n"
        "out['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print('BENCH ' + json.dumps(out, default=str))\n"
    )
    proc = subprocess.run([PY, "-c", wrapper], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})})
    for line in proc.stdout.splitlines():
        if "BENCH " in line:
            return json.loads(line[line.index("BENCH ") + 6:])
    raise RuntimeError(f"benchmark step failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


def bench_generate(scale: float, out: Path) -> None:
    r = _child(f"from workbench.data.sample import generate\n"
               f"truth = generate({str(out)!r}, scale={scale})\n"
               f"result = {{'rows': sum(truth['row_counts'].values()), 'orders': truth['row_counts']['orders']}}")
    size = sum(p.stat().st_size for p in out.glob("*.parquet")) / 1e6
    print(f"generate scale {scale:g}: {r['orders']:,} orders, {r['rows']:,} rows in {r['seconds']:.1f} s "
          f"({r['rows'] / r['seconds']:,.0f} rows/s), peak {r['peak_mb']:,.0f} MB, {size:,.1f} MB on disk")


def bench_load(scale: float, out: Path) -> None:
    r = _child(f"import workbench\nfrom workbench import queries\n"
               f"ds = workbench.load({str(out)!r})\n"
               f"t1 = time.perf_counter()\n"
               f"daily = ds.sql('SELECT order_date, channel, sum(gmv_cny) g, count(*) n FROM orders_cny "
               f"GROUP BY ALL')\n"
               f"result = {{'rows': sum(s.rows for s in ds.sources.values()), 'groups': len(daily), "
               f"'agg_seconds': time.perf_counter() - t1}}")
    print(f"load + validate scale {scale:g}: {r['rows']:,} rows in {r['seconds']:.1f} s "
          f"({r['rows'] / r['seconds']:,.0f} rows/s), daily x channel aggregation {r['agg_seconds']:.2f} s "
          f"({r['groups']:,} groups), peak {r['peak_mb']:,.0f} MB")


def bench_batch(data: Path | None, jobs: int | None, label: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(Path(PY).parent / "workbench"), "run", "--out", str(Path(tmp) / "run")]
        if jobs:
            cmd += ["--jobs", str(jobs)]
        if data:
            cmd += ["--data", str(data)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        manifest = Path(tmp) / "run" / "run.json"
        n = ok = 0
        peak = 0.0
        if manifest.exists():
            m = json.loads(manifest.read_text())
            nbs = m.get("notebooks", [])
            n = len(nbs)
            ok = sum(1 for x in nbs if x.get("status") == "succeeded")
            for x in nbs:  # each kernel records its own peak memory in its findings
                f = Path(tmp) / "run" / f"{x['name']}.findings.json"
                x["peak_mb"] = json.loads(f.read_text()).get("peak_memory_mb") if f.exists() else None
            peak = max((x.get("peak_mb") or 0) for x in nbs) if nbs else 0
        peak_txt = f", peak kernel {peak:,.0f} MB" if peak else ""
        print(f"batch {label} --jobs {jobs or os.cpu_count()}: {wall:.1f} s wall, {ok}/{n} notebooks succeeded"
              f"{peak_txt} (exit {proc.returncode})")
        if manifest.exists():
            for x in nbs:
                mem = f"{x['peak_mb']:,.0f} MB" if x.get("peak_mb") else ""
                print(f"    {x['name']:<22} {x.get('status'):<10} {x.get('seconds', 0):6.1f} s  {mem}")


def bench_dashboard() -> None:
    code = ("import sys\nsys.path.insert(0, 'benchmarks')\nfrom dashboard import measure_first_chart\n"
            "result = measure_first_chart()\n")
    try:
        r = _child(code)
    except RuntimeError as exc:
        print(f"dashboard: not measured ({str(exc).splitlines()[-1][:200]})")
        return
    for key, value in r.items():
        if key not in ("seconds", "peak_mb"):
            print(f"dashboard {key}: {value:.2f}" if isinstance(value, float) else f"dashboard {key}: {value}")


def bench_redraw() -> None:
    code = (
        "import os\nos.environ['WORKBENCH_BATCH'] = '0'\n"
        "import sys\nsys.path.insert(0, 'benchmarks')\nfrom redraw import measure_redraw\n"
        "result = measure_redraw()\n"
    )
    try:
        r = _child(code)
    except RuntimeError as exc:
        print(f"redraw: not measured ({str(exc).splitlines()[-1][:200]})")
        return
    first = r.get("first_section_ms", {})
    chart = r.get("first_chart_ms", {})
    for name, ms in sorted(r.get("per_notebook_ms", {}).items()):
        print(f"redraw {name}: first chart {chart.get(name, float('nan')):.0f} ms, first section "
              f"{first.get(name, float('nan')):.0f} ms, all sections {ms:.0f} ms (one filter change, live page)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, action="append", help="scales to generate and load (default 10)")
    ap.add_argument("--only", choices=["generate", "load", "batch", "dashboard", "redraw"], action="append")
    ap.add_argument("--keep", help="folder to keep generated data in (default: a temporary folder)")
    args = ap.parse_args()
    parts = set(args.only or ["generate", "load", "batch", "dashboard", "redraw"])
    scales = args.scale or [10.0]
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        for scale in scales:
            out = base / f"scale-{scale:g}"
            if "generate" in parts or ("load" in parts and not (out / "orders.parquet").exists()) \
                    or ("batch" in parts and scale >= 100):
                bench_generate(scale, out)
            if "load" in parts:
                bench_load(scale, out)
            if "batch" in parts and scale >= 100:
                bench_batch(out, None, f"scale {scale:g}")
    if "batch" in parts:
        bench_batch(None, 1, "sample data")
        bench_batch(None, None, "sample data")
    if "dashboard" in parts:
        bench_dashboard()
    if "redraw" in parts:
        bench_redraw()


if __name__ == "__main__":
    main()
