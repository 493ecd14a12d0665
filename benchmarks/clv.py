"""Lifetime-value models on generated shops: which model the calibration period chooses, and how the
hold-out compares with the prediction interval the page shows.

    python benchmarks/clv.py --seeds 3 --scale 0.3 [--folder /tmp/clv-sweep] [--propensity]

Prints per shop: the chosen model, every model's error inside the calibration period and on the
26-week hold-out, the hold-out's predicted total with its 95% prediction interval (with the model's own
error measured inside the calibration period, and without it) against the actual, and the mean CLV with
its confidence and prediction intervals; then how often the actual fell inside each interval, with the
probability of so few under Binomial(n, 0.95).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--scale", type=float, default=0.3)
    ap.add_argument("--folder", default="/tmp/clv-sweep")
    ap.add_argument("--propensity", action="store_true",
                    help="the 30-day purchase-propensity model instead: AUC and calibration deciles per shop")
    args = ap.parse_args()
    if args.propensity:
        propensity(args)
        return
    import workbench as wb
    from workbench.data.sample import generate
    from workbench.topics import crm

    inside, inside_model_only, widths = [], [], []
    for seed in range(args.first, args.first + args.seeds):
        shop = Path(args.folder) / f"s{seed}-x{args.scale}"
        if not (shop / "orders.parquet").exists():
            generate(shop, seed=seed, scale=args.scale)
        ds = wb.load(shop)
        last = pd.Timestamp(ds.sql("SELECT max(order_date) AS d FROM orders_cny")["d"].iloc[0]).date()
        t0 = time.perf_counter()
        r = crm.clv(ds, last)
        if not r.ok:
            print(f"seed {seed}: {r.status} ({r.reason})")
            continue
        h = r.holdout_total
        m = r.holdout_model_only
        inside.append(h.low <= r.holdout_actual <= h.high)
        inside_model_only.append(m.low <= r.holdout_actual <= m.high)
        widths.append((h.high - h.low) / h.estimate)
        errs = ", ".join(f"{m} inner {row.inner_error:+.1%} hold-out {row.holdout_error:+.1%}"
                         for m, row in r.model_table().set_index("model").iterrows())
        print(f"seed {seed}: chose {r.method} ({r.choice}); {errs}")
        print(f"  hold-out {h.estimate:,.0f} (95% PI with model error {h.low:,.0f}-{h.high:,.0f}, "
              f"without {m.low:,.0f}-{m.high:,.0f}) vs actual {r.holdout_actual:,.0f} "
              f"({r.holdout_error:+.1%}); mean CLV {r.value.estimate:,.0f} (CI {r.value.low:,.0f}-{r.value.high:,.0f}, "
              f"PI {r.predicted.low:,.0f}-{r.predicted.high:,.0f}); {time.perf_counter() - t0:.0f} s", flush=True)
    if inside:
        from scipy.stats import binom

        n = len(inside)
        for name, hits in (("with the model error", inside), ("parameter and customer-level only", inside_model_only)):
            k = sum(hits)
            print(f"\nactual hold-out total inside the 95% prediction interval ({name}) in {k}/{n} shops "
                  f"(P(so few | 95%) = {binom.cdf(k, n, 0.95):.3f})", end="")
        print(f"\nwidth of the interval with the model error: median {np.median(widths):.0%} of the prediction")


def propensity(args: argparse.Namespace) -> None:
    """Per shop: the propensity model's hold-out AUC, mean predicted against observed rate, and how many
    score deciles' observed rate (Wilson 95%) holds the decile's mean prediction; then the totals."""
    import workbench as wb
    from workbench.data.sample import generate
    from workbench.topics import personalisation as pz

    within = total = 0
    for seed in range(args.first, args.first + args.seeds):
        shop = Path(args.folder) / f"s{seed}-x{args.scale}"
        if not (shop / "orders.parquet").exists():
            generate(shop, seed=seed, scale=args.scale)
        ds = wb.load(shop)
        last = pd.Timestamp(ds.sql("SELECT max(order_date) AS d FROM orders_cny")["d"].iloc[0]).date()
        t0 = time.perf_counter()
        prop = pz.propensity(ds, last)
        cal = prop.calibration
        within, total = within + prop.deciles_within, total + len(cal)
        gap = ", ".join(f"{r.predicted_rate:.3f}/{r.observed_rate:.3f}" for r in cal.itertuples())
        print(f"seed {seed}: AUC {prop.auc.estimate:.3f}; mean predicted {prop.mean_predicted:.3f} vs observed "
              f"{prop.base_rate_test.estimate:.3f} (shift {prop.seasonal_shift:+.2f}); deciles within "
              f"{prop.deciles_within}/{len(cal)}; predicted/observed by decile {gap}; "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    if total:
        print(f"\ndeciles whose observed rate interval holds the prediction: {within}/{total}")


if __name__ == "__main__":
    main()
