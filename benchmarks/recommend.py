"""Recommenders on a sweep of generated shops: the hybrid against bestsellers and "buy again".

    python benchmarks/recommend.py --seeds 10 --scale 0.3 [--horizon 28] [--folder /tmp/rec-sweep]

Generates (or reuses) one shop per seed, runs :func:`workbench.topics.personalisation.compare_recommenders`
at each shop's last day and prints, per shop, hit rate / recall / NDCG at 10 of each recommender and
the hybrid's paired hit-rate difference against each baseline with its 95% interval; then how often the
hybrid wins beyond the hold-out noise (the interval above zero), against each baseline and both.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--scale", type=float, default=0.3)
    ap.add_argument("--horizon", type=int, default=28)
    ap.add_argument("--folder", default="/tmp/rec-sweep")
    args = ap.parse_args()
    import workbench as wb
    from workbench.data.sample import generate
    from workbench.topics import personalisation as pz

    rows = []
    for seed in range(args.first, args.first + args.seeds):
        shop = Path(args.folder) / f"s{seed}-x{args.scale}"
        if not (shop / "orders.parquet").exists():
            generate(shop, seed=seed, scale=args.scale)
        ds = wb.load(shop)
        last = pd.Timestamp(ds.sql("SELECT max(order_date) AS d FROM orders_cny")["d"].iloc[0]).date()
        t0 = time.perf_counter()
        c = pz.compare_recommenders(ds, last, horizon_days=args.horizon)
        v = c.metrics.set_index(["recommender", "metric"])["value"]
        rows.append({"seed": seed, "n": c.n, "hybrid_hit": v["hybrid", "hit_rate"], "popular_hit": v["popular", "hit_rate"],
                     "buy_again_hit": v["buy_again", "hit_rate"], "hybrid_ndcg": v["hybrid", "ndcg"],
                     "popular_ndcg": v["popular", "ndcg"], "hybrid_recall": v["hybrid", "recall"],
                     "popular_recall": v["popular", "recall"],
                     "vs_popular": c.vs_popular.estimate, "vs_popular_low": c.vs_popular.low,
                     "vs_popular_high": c.vs_popular.high, "vs_buy_again": c.vs_buy_again.estimate,
                     "vs_buy_again_low": c.vs_buy_again.low, "params": f"m={c.params.m:g} beta={c.params.beta:g} "
                     f"gamma={c.params.gamma:g} omega={c.params.omega:g}", "seconds": round(time.perf_counter() - t0, 1)})
        print(pd.DataFrame(rows[-1:]).round(3).to_string(index=False, header=len(rows) == 1), flush=True)
    out = pd.DataFrame(rows)
    beat_pop = (out["vs_popular_low"] > 0).mean()
    beat_again = (out["vs_buy_again_low"] > 0).mean()
    both = ((out["vs_popular_low"] > 0) & (out["vs_buy_again_low"] > 0)).mean()
    print(f"\nshops {len(out)}, scale {args.scale}, hold-out {args.horizon} days, k = 10")
    print(f"hybrid beats bestsellers beyond the noise in {beat_pop:.0%}, buy-again in {beat_again:.0%}, both in {both:.0%}")
    print(f"mean hit rate: hybrid {out['hybrid_hit'].mean():.3f}, bestsellers {out['popular_hit'].mean():.3f}, "
          f"buy-again {out['buy_again_hit'].mean():.3f}; mean difference vs bestsellers {out['vs_popular'].mean():+.3f} "
          f"(sd across shops {out['vs_popular'].std():.3f})")


if __name__ == "__main__":
    main()
