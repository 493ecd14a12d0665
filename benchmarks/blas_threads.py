"""Time the small matrix products of our models with OpenBLAS' default threads and with one.

The forecasts' calendar regressions and the lifetime-value and campaign models multiply matrices of a few
hundred rows by a few dozen columns. Each figure is from a fresh Python process (the thread count is read
when numpy loads), and printed with the load average, since the difference grows with what else runs:

    python benchmarks/blas_threads.py
    python benchmarks/blas_threads.py --repeats 400

``workbench run`` and ``workbench serve`` start their kernels with one thread
(:data:`workbench.app.mode.KERNEL_THREADS`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

WORK = """
import time, numpy as np
rng = np.random.default_rng(0)
x, g, d = rng.random((700, 60)), rng.random((60, 60)), rng.random((60, 1000))
t = time.perf_counter()
for _ in range({repeats}):
    a = x.T @ x
    b = ((x @ g) * x).sum(axis=1)
    c = x[:90] @ d
print(time.perf_counter() - t)
"""


def run(threads: str | None, repeats: int) -> float:
    """Seconds for ``repeats`` rounds of the products in a fresh process with ``threads`` (None: the default)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                             "MKL_NUM_THREADS")}
    if threads is not None:
        env.update(OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    out = subprocess.run([sys.executable, "-c", WORK.format(repeats=repeats)], env=env, capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args()
    load = os.getloadavg()[0]
    default, one = run(None, args.repeats), run("1", args.repeats)
    print(f"{args.repeats} rounds of 700x60 products (load average {load:.1f}, {os.cpu_count()} cores)")
    print(f"  OpenBLAS default threads: {default:6.2f} s")
    print(f"  one thread:               {one:6.2f} s   ({default / one:.1f}x)")


if __name__ == "__main__":
    main()
