"""Coverage of the monthly resolution-time percentiles of ``05_customer_service`` on generated shops (issue 13).

    python benchmarks/coverage_service.py --seeds 1-8 --scale 0.3

For each shop, month of 2024–2025 and ticket category, :func:`workbench.topics.service.response_times`
gives the median and 90th percentile of resolution hours with exact order-statistic 95% intervals; the
planted values are the lognormal quantiles ``median × exp(0.8 z_p)`` (truth.json ``slow_support_category``,
σ = 0.8). Prints coverage k/n by percentile and by tickets per cell, and how many cells read "too few".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json

import numpy as np
import pandas as pd

from coverage_logistics import seeds_of, shop

SIGMA = 0.8
Z = {"p50": 0.0, "p90": 1.2815515655446004}


def cells(seed: int, scale: float) -> pd.DataFrame:
    import workbench
    from workbench.sql.filters import Filters
    from workbench.topics import service

    folder = shop(seed, scale)
    ds = workbench.load(folder)
    medians = json.loads((folder / "truth.json").read_text())["effects"]["slow_support_category"][
        "median_resolution_hours"]
    out = []
    for month in pd.date_range("2024-01-01", "2025-11-01", freq="MS"):
        f = Filters(month.date(), (month + pd.offsets.MonthEnd(0)).date())
        t = service.response_times(ds, f, "category")
        t = t[t["measure"] == "resolution_hours"]
        for r in t.itertuples():
            for tag in ("p50", "p90"):
                truth = medians[r.category] * np.exp(SIGMA * Z[tag])
                low, high = getattr(r, f"{tag}_low"), getattr(r, f"{tag}_high")
                out.append({"seed": seed, "tag": tag, "n": int(r.n), "too_few": not np.isfinite(low),
                            "covered": bool(low <= truth <= high) if np.isfinite(low) else None})
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1-8")
    ap.add_argument("--scale", type=float, default=0.3)
    a = ap.parse_args(argv)
    frame = pd.concat([cells(s, a.scale) for s in seeds_of(a.seeds)], ignore_index=True)
    frame["size"] = pd.cut(frame["n"], [0, 5, 10, 35, 100, 10**9], labels=["1-5", "6-10", "11-35", "36-100", ">100"])
    print(f"monthly resolution-time percentiles, seeds {a.seeds}, scale {a.scale}, nominal 95%, exact order statistics")
    for (tag, size), g in frame.groupby(["tag", "size"], observed=True):
        shown = g[~g["too_few"]]
        k = int(shown["covered"].sum())
        cov = f"{k}/{len(shown)} ({k / len(shown):.0%})" if len(shown) else "-"
        print(f"  {tag} n {size:>7s}: cells {len(g):4d}, too few {int(g['too_few'].sum()):4d}, coverage {cov}")
    for tag, g in frame.groupby("tag"):
        shown = g[~g["too_few"]]
        print(f"  {tag} all shown: {int(shown['covered'].sum())}/{len(shown)} ({shown['covered'].mean():.1%})")


if __name__ == "__main__":
    main()
