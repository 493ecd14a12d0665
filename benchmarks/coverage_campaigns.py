"""Coverage of the campaign-uplift intervals of ``04_campaigns`` on generated shops (issue 13).

    python benchmarks/coverage_campaigns.py --seeds 1-8 --scale 0.3

For each shop, :func:`workbench.topics.campaigns.all_uplifts` (95%, placebo-calibrated) is compared
with truth.json ``campaign_uplift.campaigns[*].expected_ratio − 1`` (and the pre-campaign dips with
``pre_dip.expected_ratio − 1``). Prints coverage k/n per campaign and pooled, mean bias and mean width,
for the calibrated intervals and for the plain path intervals they replace (``--plain`` adds the latter).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from coverage_logistics import seeds_of, shop


def rows(seed: int, scale: float, plain: bool) -> list[dict]:
    import workbench
    from workbench.stats import counterfactual as cf
    from workbench.topics import campaigns

    folder = shop(seed, scale)
    ds = workbench.load(folder)
    truth = json.loads((folder / "truth.json").read_text())["effects"]["campaign_uplift"]["campaigns"]
    t0 = time.perf_counter()
    placebo = campaigns.baseline_placebos(ds)
    kinds = {"calibrated": placebo}
    if plain:
        kinds["paths"] = cf.Placebos([], np.zeros((0, 0)), np.zeros((0, 0, 0)))
    out = []
    for kind, pb in kinds.items():
        table = campaigns.all_uplifts(ds, placebo=pb)
        for r in table.itertuples():
            c = truth.get(r.campaign_id)
            if c is None:
                continue
            out.append({"seed": seed, "kind": kind, "what": "uplift", "campaign": r.campaign_id,
                        "truth": c["expected_ratio"] - 1, "estimate": r.uplift, "low": r.uplift_low,
                        "high": r.uplift_high, "placebos": len(pb), "method": r.method})
            if c.get("pre_dip"):
                out.append({"seed": seed, "kind": kind, "what": "dip", "campaign": r.campaign_id,
                            "truth": c["pre_dip"]["expected_ratio"] - 1, "estimate": r.pull_forward,
                            "low": r.pull_forward_low, "high": r.pull_forward_high, "placebos": len(pb),
                            "method": r.method})
    print(f"  seed {seed}: {len(placebo)} placebo windows, {time.perf_counter() - t0:.0f} s", flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1-8")
    ap.add_argument("--scale", type=float, default=0.3)
    ap.add_argument("--plain", action="store_true", help="also the uncalibrated path intervals")
    a = ap.parse_args(argv)
    f = pd.DataFrame([r for s in seeds_of(a.seeds) for r in rows(s, a.scale, a.plain)])
    f["covered"] = (f["low"] <= f["truth"]) & (f["truth"] <= f["high"])
    f["width"] = f["high"] - f["low"]
    f["error"] = f["estimate"] - f["truth"]
    print(f"campaign uplift, seeds {a.seeds}, scale {a.scale}, nominal 95%")
    for (kind, what), g in f.groupby(["kind", "what"]):
        print(f"  {kind:10s} {what:6s} pooled coverage {int(g['covered'].sum())}/{len(g)} ({g['covered'].mean():.0%}), "
              f"bias {g['error'].mean():+.3f}, width {g['width'].mean():.3f}")
    per = f[f["what"] == "uplift"].groupby(["kind", "campaign"]).agg(
        covered=("covered", "sum"), n=("covered", "size"), bias=("error", "mean"), width=("width", "mean"))
    print(per.to_string(float_format=lambda x: f"{x:+.3f}"))


if __name__ == "__main__":
    main()
