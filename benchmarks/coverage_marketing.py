"""Coverage of the marketing response model's intervals (``03_marketing``) on generated shops (issue 13).

    python benchmarks/coverage_marketing.py --seeds 1-8 --scale 0.3
    python benchmarks/coverage_marketing.py --timing 3     # the page's response sections on the sample shop

For each shop, :func:`workbench.topics.marketing.fit_response` is compared with truth.json
``marketing_response.by_marketing_channel`` (beta, gamma_cny, lambda): coverage k/n of the decay and
marginal-ROAS 95% intervals (marginal ROAS at today's spend under the planted parameters and the
model's baseline GMV), the same for the channels the model calls identified and the others apart
(with mean decay width, median high/low ratio of marginal ROAS and sd/se on the logit and log scales
the intervals are built on), decay intervals outside [0, 1], points outside their own intervals, the ratio
of the total lift at today's spend to the planted one (median), and how many shops and channels the
model calls identified.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from coverage_logistics import seeds_of, shop


def _logit(x: float) -> float:
    return float(np.log(x / (1 - x)))


def rows(seed: int, scale: float) -> tuple[list[dict], dict]:
    import workbench
    from workbench.topics import marketing

    folder = shop(seed, scale)
    planted = json.loads((folder / "truth.json").read_text())["effects"]["marketing_response"]["by_marketing_channel"]
    t0 = time.perf_counter()
    m = marketing.fit_response(workbench.load(folder))
    seconds = time.perf_counter() - t0
    theta = np.concatenate([[planted[c]["beta"] for c in m.channels], [np.log(planted[c]["gamma_cny"]) for c in m.channels],
                            [planted[c]["lambda"] for c in m.channels]])
    cur = m.current_spend[m.channels].to_numpy()
    table = marketing.marginal_roas_table(m)
    true_mroas = m.marginal_roas(cur, theta)
    p = m.params.set_index("marketing_channel")
    mshrink = m.marginal_roas_shrink()
    out = []
    for j, c in enumerate(m.channels):
        r, t = p.loc[c], table.iloc[j]
        out.append({"seed": seed, "channel": c, "identified": bool(r["identified"]), "mroas_shrink": mshrink[c],
                    "param_shrink": float(m.shrink.loc[c].min()),
                    "decay_cov": r["decay_low"] <= planted[c]["lambda"] <= r["decay_high"],
                    "decay_out": r["decay_low"] < 0 or r["decay_high"] > 1,
                    "decay_self": not (r["decay_low"] <= r["decay"] <= r["decay_high"]),
                    "mroas_cov": t["marginal_roas_low"] <= true_mroas[j] <= t["marginal_roas_high"],
                    "mroas_self": not (t["marginal_roas_low"] <= t["marginal_roas"] <= t["marginal_roas_high"]),
                    # errors on the scales the intervals are symmetric on: logit decay, log marginal ROAS
                    "decay_z": (_logit(r["decay"]) - _logit(planted[c]["lambda"]))
                    / ((_logit(r["decay_high"]) - _logit(r["decay_low"])) / 3.92),
                    "mroas_z": np.log(t["marginal_roas"] / true_mroas[j])
                    / (np.log(t["marginal_roas_high"] / t["marginal_roas_low"]) / 3.92),
                    "decay_width": r["decay_high"] - r["decay_low"],
                    "mroas_fold": t["marginal_roas_high"] / t["marginal_roas_low"]})
    shopwide = {"seed": seed, "lift_ratio": m.steady_response(cur).sum() / m.steady_response(cur, theta).sum(),
                "identified": m.identified, "seconds": seconds}
    return out, shopwide


def timing(runs: int) -> None:
    """Seconds of what the 03 page computes for its response sections on the sample shop (the fit, the
    curves, the marginal ROAS table and, when identified, the reallocation): median and range of ``runs``."""
    import workbench
    from workbench.topics import marketing

    ds = workbench.load(Path(__file__).resolve().parents[1] / "data" / "sample")
    seconds = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fit = marketing.analyse_response(ds)
        seconds.append(time.perf_counter() - t0)
    print(f"03 response sections on the sample shop: median {np.median(seconds):.1f} s over {runs} runs "
          f"(range {min(seconds):.1f}-{max(seconds):.1f}); identified channels "
          f"{len(fit.model.channels) - len(fit.unidentified())}/{len(fit.model.channels)}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1-8")
    ap.add_argument("--scale", type=float, default=0.3)
    ap.add_argument("--csv", default="", help="also write the per channel-shop rows to this CSV file")
    ap.add_argument("--timing", type=int, default=0, help="only time the page's response sections, this many runs")
    a = ap.parse_args(argv)
    if a.timing:
        timing(a.timing)
        return
    per, shops = [], []
    for s in seeds_of(a.seeds):
        r, w = rows(s, a.scale)
        per += r
        shops.append(w)
    f, w = pd.DataFrame(per), pd.DataFrame(shops)
    n = len(f)
    print(f"marketing response, seeds {a.seeds}, scale {a.scale}, nominal 95%, {n} channel-shops")
    print(f"  decay coverage {int(f['decay_cov'].sum())}/{n} ({f['decay_cov'].mean():.0%}); outside [0, 1]: "
          f"{int(f['decay_out'].sum())}/{n}; point outside its interval: {int(f['decay_self'].sum())}/{n}")
    print(f"  marginal ROAS coverage {int(f['mroas_cov'].sum())}/{n} ({f['mroas_cov'].mean():.0%}); point outside "
          f"its interval: {int(f['mroas_self'].sum())}/{n}")
    for name, g in (("identified", f[f["identified"]]), ("not identified", f[~f["identified"]])):
        if len(g):
            print(f"  {name} channels ({len(g)}): decay {int(g['decay_cov'].sum())}/{len(g)} "
                  f"({g['decay_cov'].mean():.0%}, width {g['decay_width'].mean():.2f}, sd/se {g['decay_z'].std():.2f}); "
                  f"marginal ROAS {int(g['mroas_cov'].sum())}/{len(g)} ({g['mroas_cov'].mean():.0%}, "
                  f"high/low {g['mroas_fold'].median():.1f}x median, sd/se {g['mroas_z'].std():.2f})")
    if a.csv:
        f.to_csv(a.csv, index=False)
    q = f["mroas_shrink"].quantile([0.1, 0.5, 0.9]).round(2).tolist()
    print(f"  marginal ROAS spread, posterior / prior: deciles 1, 5, 9 = {q}; "
          f"<= 0.5 in {int((f['mroas_shrink'] <= 0.5).sum())}/{n}")
    print(f"  total lift / planted: median {w['lift_ratio'].median():.2f} (range {w['lift_ratio'].min():.2f}-"
          f"{w['lift_ratio'].max():.2f})")
    print(f"  identified: {int(f['identified'].sum())}/{n} channels, {int(w['identified'].sum())}/{len(w)} shops "
          f"(reallocation shown only then); fit {w['seconds'].median():.1f} s per shop (median)")


if __name__ == "__main__":
    main()
