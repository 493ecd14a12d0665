"""The batch on Spark against the batch on DuckDB: wall time, the ratio, and whether the findings agree.

    python benchmarks/spark.py [--data data/sample] [--master local[2]] [--jobs N] [NOTEBOOK ...]

Runs ``workbench run`` twice over the same data and notebooks, once with ``--engine duckdb`` and
once with ``--engine spark:MASTER`` (each in a fresh report folder, both with one fresh mart folder,
so the Spark run's time includes building the mart once), then prints each run's wall time,
the Spark/DuckDB ratio, each notebook's seconds on both engines, and how many findings agree to
1e-9 relative, differ, or are missing on Spark (a section whose statement Spark refuses: see
``tests/sql/test_spark.py``). Needs ``pip install 'workbench[spark]'`` and Java 17 for a local master.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ("estimate", "low", "high", "n", "change")


def batch(engine: str, data: str, notebooks: list[str], out: Path, env: dict[str, str], jobs: int | None) -> float:
    """Wall seconds of one ``workbench run`` (its exit code and last lines printed when it fails)."""
    cmd = [sys.executable, "-m", "workbench.cli", "run", *notebooks, "--data", data, "--engine", engine,
           "--out", str(out)]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode not in (0, 1):
        print(f"{engine}: exit {done.returncode}\n{done.stderr[-2000:]}", file=sys.stderr)
    return seconds


def findings(run_dir: Path) -> dict[str, dict]:
    out = {}
    for path in sorted(run_dir.glob("*.findings.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        for f in record.get("findings", []):
            out[f"{path.name.split('.')[0]}/{f['key']}"] = f
    return out


def seconds_per_notebook(run_dir: Path) -> dict[str, float]:
    try:
        manifest = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {n["name"]: float(n.get("seconds") or 0) for n in manifest.get("notebooks", [])}


def same(a: dict, b: dict) -> bool:
    for k in FIGURES:
        x, y = a.get(k), b.get(k)
        if x is None and y is None:
            continue
        if x is None or y is None or not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12):
            return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebook names (default: every notebook)")
    parser.add_argument("--data", default=str(ROOT / "data" / "sample"))
    parser.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    parser.add_argument("--jobs", type=int, help="notebooks at once (default: the number of cores)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="workbench-spark-bench-") as tmp:
        env = {**os.environ, "WORKBENCH_MART_DIR": str(Path(tmp) / "marts")}
        env.pop("WORKBENCH_ENGINE", None)
        runs = {}
        for engine in ("duckdb", f"spark:{args.master}"):
            out = Path(tmp) / engine.split(":")[0]
            runs[engine] = (batch(engine, args.data, args.notebooks, out, env, args.jobs), out)
        (t_duck, d_dir), (t_spark, s_dir) = runs["duckdb"], runs[f"spark:{args.master}"]
        d, s = findings(d_dir), findings(s_dir)
        equal = [k for k in d if k in s and same(d[k], s[k])]
        differ = [k for k in d if k in s and not same(d[k], s[k])]
        missing = [k for k in d if k not in s]
        per_d, per_s = seconds_per_notebook(d_dir), seconds_per_notebook(s_dir)
    print(f"data {args.data}, {len(per_d) or len(args.notebooks)} notebooks, {os.cpu_count()} cores")
    print(f"duckdb batch: {t_duck:.1f} s")
    print(f"spark {args.master} batch: {t_spark:.1f} s (mart build and one JVM per kernel included)")
    print(f"ratio spark/duckdb: {t_spark / t_duck:.2f}")
    for name in per_d:
        print(f"  {name:<22} duckdb {per_d[name]:6.1f} s   spark {per_s.get(name, float('nan')):6.1f} s")
    print(f"findings: {len(equal)} equal to 1e-9, {len(differ)} differ, {len(missing)} missing on Spark "
          f"(of {len(d)} on DuckDB)")
    for k in differ:
        print(f"  differs: {k}: duckdb {[d[k].get(f) for f in FIGURES]} spark {[s[k].get(f) for f in FIGURES]}")
    if missing:
        print(f"  missing on Spark: {', '.join(missing)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
