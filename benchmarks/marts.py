"""How long the mart layer takes, and what it saves: build, reuse, an appended day, and queries.

    python benchmarks/marts.py [--scale 10] [--data DIR] [--keep]

Generates a shop at ``--scale`` (1 is about 100,000 orders) unless ``--data`` names one, then
prints: the time to load and validate, the first mart build, a load of the unchanged data (reuse),
a load after one more day was appended (incremental), the rows of the daily cubes, the time of a
daily-by-channel GMV query and a category query through the mart (over the orders and over the
daily cubes) against the plain views over the files, and of the topic query ``totals_by`` (which
reads the cubes) per dimension. Figures, not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from workbench.data import schema  # noqa: E402
from workbench.data.loader import load  # noqa: E402
from workbench.data.sample import generate  # noqa: E402

QUERIES = {
    "GMV by day and channel": "SELECT order_date, channel, sum(gmv_cny) FROM orders_cny WHERE is_valid GROUP BY 1, 2",
    "GMV by day and channel, from the daily cube": "SELECT order_date, channel, sum(gmv_cny) FROM cube_orders "
                                                   "GROUP BY 1, 2",
    "units by category": "SELECT p.category, sum(i.quantity) FROM items_cny i JOIN products p USING (product_id) "
                         "WHERE i.is_valid GROUP BY 1",
    "units by category, from the daily cube": "SELECT category, sum(units) FROM cube_items GROUP BY 1",
}
#: the topic query that reads the cubes (workbench.sql.sales.totals_by), per dimension, over the last 28 days
TOPIC_DIMENSIONS = ("channel", "region", "customer_type", "category")


def load_average() -> str:
    """The machine's load average (1 and 5 minutes): the machine is shared, so print it beside a time."""
    one, five, _ = os.getloadavg()
    return f"[load {one:.1f}/{five:.1f}]"


def timed(fn):
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def split_last_day(full: Path, out: Path) -> str:
    """Write ``full`` without its last order day into ``out``; return that day."""
    out.mkdir(parents=True, exist_ok=True)
    orders = pd.read_parquet(full / "orders.parquet", columns=["order_id", "ordered_at"])
    days = pd.to_datetime(orders["ordered_at"]).dt.strftime("%Y-%m-%d")
    last = days.max()
    kept = set(orders.loc[days < last, "order_id"])
    for f in full.glob("*.parquet"):
        frame = pd.read_parquet(f)
        table = schema.TABLES.get(f.stem)
        col = table.time_column if table else None
        if f.stem == "order_items":
            frame = frame[frame["order_id"].isin(kept)]
        elif col and col in frame:
            frame = frame[pd.to_datetime(frame[col]).dt.strftime("%Y-%m-%d").fillna("") < last]
        frame.to_parquet(out / f.name, index=False)
    return last


def manifest_parts(ds, name: str) -> list[str]:
    """The Parquet parts of derived table ``name`` in ``ds``'s mart."""
    import json

    manifest = json.loads((Path(ds.mart["path"]) / "mart.json").read_text(encoding="utf-8"))
    return manifest["derived"].get(name, [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--data", help="an existing dataset folder (Parquet) instead of generating one")
    parser.add_argument("--keep", action="store_true", help="keep the generated data and marts")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="workbench-bench-marts-"))
    os.environ["WORKBENCH_MART_DIR"] = str(work / "marts")
    try:
        full = Path(args.data) if args.data else work / "full"
        if not args.data:
            _, s = timed(lambda: generate(full, seed=20240101, scale=args.scale))
            print(f"generated scale {args.scale:g} in {s:.1f} s {load_average()}", flush=True)
        shop = work / "shop"
        last = split_last_day(full, shop)
        os.environ["WORKBENCH_MARTS"] = "0"
        plain, s_plain = timed(lambda: load(shop))
        print(f"orders: {plain.row_count('orders'):,}; load and validate without marts: {s_plain:.1f} s {load_average()}", flush=True)
        os.environ["WORKBENCH_MARTS"] = "1"
        ds, s_first = timed(lambda: load(shop))
        print(f"load with the first mart build: {s_first:.1f} s (mart build {ds.mart['build']['seconds']:.1f} s) {load_average()}", flush=True)
        again, s_again = timed(lambda: load(shop))
        print(f"load of unchanged data: {s_again:.1f} s (mart {again.mart['build']['kind']}, "
              f"{again.mart['build']['seconds']:.1f} s) {load_average()}", flush=True)
        for f in full.glob("*.parquet"):
            shutil.copyfile(f, shop / f.name)
        nxt, s_next = timed(lambda: load(shop))
        print(f"load after appending {last}: {s_next:.1f} s (mart {nxt.mart['build']['kind']}, "
              f"{nxt.mart['build']['seconds']:.1f} s) {load_average()}", flush=True)
        for cube in ("cube_orders", "cube_items"):
            cells = int(nxt.sql(f"SELECT count(*) AS n FROM {cube}")["n"].iloc[0])
            print(f"{cube}: {cells:,} cells, {len(manifest_parts(nxt, cube))} part(s)")
        for name, sql in QUERIES.items():
            _, a = timed(lambda: plain.sql(sql))
            _, b = timed(lambda: nxt.sql(sql))
            print(f"query '{name}': {a:.2f} s on the plain views, {b:.2f} s on the mart")
        import datetime as dt

        from workbench.sql import sales
        from workbench.sql.common import data_range
        from workbench.sql.filters import Filters

        _, hi = data_range(nxt)
        period = Filters(hi - dt.timedelta(days=27), hi)
        for by in TOPIC_DIMENSIONS:
            _, a = timed(lambda: sales.totals_by(plain, period, by))
            _, b = timed(lambda: sales.totals_by(nxt, period, by))
            print(f"totals_by({by!r}), last 28 days: {a:.2f} s without marts, {b:.2f} s on the mart's cube")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")


if __name__ == "__main__":
    main()
