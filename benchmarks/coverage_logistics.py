"""Coverage of the on-time intervals of ``06_logistics`` on generated shops (issue 13).

    python benchmarks/coverage_logistics.py --seeds 1-8 --scale 0.3

For each seed a shop is generated (``workbench sample``, cached, see :func:`shop`) and the
per-carrier on-time table of the page (:func:`workbench.topics.logistics.on_time_by`, 95%, day-clustered)
is compared with two estimands:

* ``outside slowdowns``: the carrier's planted on-time probability ``1 - late_probability`` (truth.json),
  with the Spring Festival slowdowns left out of the table (``exclude=``);
* ``all days`` (what the page shows): the planted probability of the period's parcels,
  ``1 - late_probability - extra_late_probability_in_slowdown × (share of the carrier's delivered parcels
  ordered on slowdown days)``.

Prints coverage k/n, mean bias, mean width and sd/se (the spread of the errors over the implied
standard error, 1 when the intervals are honest) for the Wilson interval and the day-clustered one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd


def seeds_of(text: str) -> list[int]:
    """``"1-8"`` or ``"1,4,9"`` to a list of seeds."""
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(x) for x in text.split(",")]


def shop(seed: int, scale: float) -> Path:
    """The generated shop of ``seed`` at ``scale``, generated once into ``$WORKBENCH_SEED_CACHE`` (default
    ``<tmp>/workbench-seeds``) under the generator's source hash, the same cache the tests use."""
    import hashlib
    import os
    import tempfile

    import workbench.data.sample as sample

    key = hashlib.sha256(Path(sample.__file__).read_bytes()).hexdigest()[:12]
    root = Path(os.environ.get("WORKBENCH_SEED_CACHE", Path(tempfile.gettempdir()) / "workbench-seeds"))
    out = root / f"{key}-s{seed}-x{scale}"
    if not (out / "truth.json").exists():
        from workbench.data.sample import generate

        generate(out, seed=seed, scale=scale)
    return out


def rows(seed: int, scale: float) -> pd.DataFrame:
    import workbench
    from workbench.sql import logistics as q
    from workbench.sql.filters import Filters
    from workbench.stats.intervals import wilson_interval
    from workbench.topics import logistics as lg

    folder = shop(seed, scale)
    ds = workbench.load(folder)
    planted = json.loads((folder / "truth.json").read_text())["effects"]["late_carrier"]
    f = Filters(dt.date(2024, 1, 1), dt.date(2025, 12, 31))
    slow = planted["spring_festival_slowdowns"]
    out = []
    for label, exclude in (("outside slowdowns", slow), ("all days", ())):
        table = lg.on_time_by(ds, f, "carrier", exclude=exclude)
        daily = q.on_time_by_period(ds, f, "carrier", "day", exclude)
        daily["slow"] = False
        for a, b in slow:
            daily.loc[daily["period"].between(pd.Timestamp(a), pd.Timestamp(b)), "slow"] = True
        for r in table.itertuples():
            p = 1 - planted["late_probability"][r.carrier]
            d = daily[daily["carrier"] == r.carrier]
            slow_share = float(d.loc[d["slow"], "delivered"].sum() / d["delivered"].sum())
            truth = p - planted["extra_late_probability_in_slowdown"] * slow_share
            wl, wh = wilson_interval(r.on_time, r.delivered)
            out.append({"seed": seed, "estimand": label, "carrier": r.carrier, "truth": truth,
                        "estimate": r.on_time_rate, "se": np.sqrt(truth * (1 - truth) / r.delivered),
                        "wilson": (wl, wh), "clustered": (r.on_time_rate_low, r.on_time_rate_high)})
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1-8")
    ap.add_argument("--scale", type=float, default=0.3)
    a = ap.parse_args(argv)
    frame = pd.concat([rows(s, a.scale) for s in seeds_of(a.seeds)], ignore_index=True)
    print(f"on-time rate by carrier, seeds {a.seeds}, scale {a.scale}, nominal 95%")
    for (label, kind), g in ((k, frame[frame["estimand"] == k[0]]) for k in
                             [(e, m) for e in ("outside slowdowns", "all days") for m in ("wilson", "clustered")]):
        lo = g[kind].map(lambda t: t[0]).to_numpy()
        hi = g[kind].map(lambda t: t[1]).to_numpy()
        cover = int(((lo <= g["truth"]) & (g["truth"] <= hi)).sum())
        err = (g["estimate"] - g["truth"]).to_numpy()
        se = ((hi - lo) / (2 * 1.96))
        print(f"  {label:18s} {kind:9s} coverage {cover}/{len(g)} ({cover / len(g):.0%})  bias {err.mean():+.4f}  "
              f"width {np.mean(hi - lo):.4f}  sd/se(binomial) {np.std(err / g['se'].to_numpy()):.2f}  "
              f"sd/se(interval) {np.std(err / se):.2f}")


if __name__ == "__main__":
    main()
