"""The sentiment monitor's alarm threshold h against detection and false alarms, on generated shops.

    python benchmarks/sentiment_h.py --seeds 20 --scale 1 --h 6,7,8

For each shop (``workbench.data.sample.generate(seed=k, scale=S)``) and each h, runs
``reputation.sentiment_drops(..., h=h)`` as the sweep's sentiment check does (``benchmarks/truth.py``):
the 4 weeks after the planted defect (is the defect product alarmed, after how many days) and the
year before it (every alarm there is a false one). Prints one line per shop and a summary per h:
shops alarmed within 4 weeks, false alarms per shop-year (mean and the most in one shop).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--h", default="6,7,8", help="comma-separated thresholds")
    args = ap.parse_args(argv)
    import workbench
    from workbench.data.sample import generate
    from workbench.sql.common import Filters
    from workbench.topics import reputation as rep

    hs = [float(x) for x in args.h.split(",")]
    hits: dict[float, list[bool]] = {h: [] for h in hs}
    false: dict[float, list[int]] = {h: [] for h in hs}
    with tempfile.TemporaryDirectory(prefix="workbench-senti-") as tmp:
        for seed in range(args.first, args.first + args.seeds):
            folder = Path(tmp) / f"shop-{seed}"
            generate(folder, seed=seed, scale=args.scale)
            drop = json.loads((folder / "truth.json").read_text(encoding="utf-8"))["effects"]["sentiment_drop"]
            ds = workbench.load(folder)
            date = dt.date.fromisoformat(drop["date"])
            line = [f"seed {seed}:"]
            for h in hs:
                after = rep.sentiment_drops(ds, Filters(date, date + dt.timedelta(weeks=4)), h=h)
                hit = after[after["product_id"] == drop["product_id"]]
                days = (hit.iloc[0]["alarm_date"] - date).days if len(hit) else None
                quiet = rep.sentiment_drops(ds, Filters(date - dt.timedelta(days=365), date - dt.timedelta(days=1)),
                                            h=h)
                hits[h].append(days is not None)
                false[h].append(len(quiet))
                line.append(f"h={h:g}: alarm after {days} days, {len(quiet)} false")
            print(" ".join(line), flush=True)
            shutil.rmtree(folder, ignore_errors=True)
    print("\n| h | alarm within 4 weeks | false alarms per shop-year (mean) | most in one shop |\n|---|---|---|---|")
    for h in hs:
        n = len(hits[h])
        print(f"| {h:g} | {sum(hits[h])}/{n} shops | {sum(false[h]) / n:.2f} | {max(false[h])} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
