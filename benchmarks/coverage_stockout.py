"""Coverage of the stock-out lost-units intervals of ``02_products_pricing`` on generated shops (issue 13).

    python benchmarks/coverage_stockout.py --seeds 1-8 --scale 0.3

For each planted stock-out (truth.json ``stockouts``), :func:`workbench.topics.products.stockout_losses`
restricted to the planted window gives the product's lost units with a 95% interval; the estimand is
``lost_units_per_day × days`` (the expected loss given the day's orders). Prints coverage k/n, mean
relative bias and sd/se (spread of the errors over the interval's implied standard error).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json

import numpy as np
import pandas as pd

from coverage_logistics import seeds_of, shop


def rows(seed: int, scale: float) -> list[dict]:
    import workbench
    from workbench.topics import products

    folder = shop(seed, scale)
    ds = workbench.load(folder)
    out = []
    for item in json.loads((folder / "truth.json").read_text())["effects"]["stockouts"]["items"]:
        days = (dt.date.fromisoformat(item["end"]) - dt.date.fromisoformat(item["start"])).days + 1
        est = products.stockout_losses(ds, item["start"], item["end"]).by_product.set_index("product_id")
        if item["product_id"] not in est.index:
            out.append({"seed": seed, "found": False})
            continue
        r = est.loc[item["product_id"]]
        truth = item["lost_units_per_day"] * days
        out.append({"seed": seed, "found": True, "truth": truth, "estimate": r["lost_units"],
                    "low": r["lost_units_low"], "high": r["lost_units_high"]})
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1-8")
    ap.add_argument("--scale", type=float, default=0.3)
    a = ap.parse_args(argv)
    f = pd.DataFrame([r for s in seeds_of(a.seeds) for r in rows(s, a.scale)])
    g = f[f["found"]]
    cover = int(((g["low"] <= g["truth"]) & (g["truth"] <= g["high"])).sum())
    se = (g["high"] - g["estimate"]) / 1.96
    print(f"stock-out lost units, seeds {a.seeds}, scale {a.scale}, nominal 95%: found {len(g)}/{len(f)}, "
          f"coverage {cover}/{len(g)} ({cover / len(g):.0%}), bias {np.mean(g['estimate'] / g['truth'] - 1):+.1%}, "
          f"width {np.mean((g['high'] - g['low']) / g['truth']):.0%} of the truth, "
          f"sd/se {np.std((g['estimate'] - g['truth']) / se):.2f}")


if __name__ == "__main__":
    main()
