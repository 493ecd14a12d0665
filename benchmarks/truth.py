"""The sweep of generated shops: does every interval a reader sees cover its planted truth?

    python benchmarks/truth.py --seeds 20 --scale 0.3            # seeds 1..20
    python benchmarks/truth.py --seeds 5 --scale 0.3 --only elasticity,kol_roi
    python benchmarks/truth.py --seeds 20 --markdown benchmarks/truth-results.md

Generates N shops (``workbench.data.sample.generate(seed=k, scale=S)``, k = 1..N), runs on each the
same topic functions the notebooks call, and compares what they report with the generator's
``truth.json``. Printed, per planted effect (and per group where it has groups):

- coverage k/n: how many reported intervals hold the truth (target for a 95% interval: 90–98%);
- mean bias: mean of estimate − truth; mean width: mean of high − low;
- sd/se: the spread of the errors over the implied standard error, (high − low) / (2 z); near 1
  when the interval's width is honest, above 1 when it is too narrow;

per ranking (worst carrier, best/worst KOL, most/least elastic category, churn by channel, slowest
support category): right in k/n shops; for rankings a page may leave open (most/least elastic
category, named only when the data tell it apart): right, undecided and wrong counted apart; and for the sentiment monitor: alarm within 4 weeks of the
defect in k/n shops, false alarms per shop-year.

Figures are printed, never asserted; ``tests/truth/`` checks a few seeds with tolerances from a
binomial bound. Each check runs on its own: a check that fails on a shop is counted, not fatal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import sys
import tempfile
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

Z95 = 1.959964


@dataclass
class Case:
    """One interval against its truth: ``effect`` (e.g. ``price_elasticity``), ``group`` (e.g. a category)."""

    effect: str
    group: str
    truth: float
    estimate: float
    low: float
    high: float
    level: float = 0.95

    @property
    def covered(self) -> bool:
        return bool(self.low <= self.truth <= self.high)

    @property
    def se(self) -> float:
        from scipy.stats import norm

        return (self.high - self.low) / (2 * float(norm.ppf(0.5 + self.level / 2)))


@dataclass
class Outcome:
    """What one check found on one shop: interval cases, rankings (name → right?) and counts."""

    cases: list[Case] = field(default_factory=list)
    rankings: dict[str, bool] = field(default_factory=dict)
    counts: dict[str, float] = field(default_factory=dict)
    #: rankings a page may leave open: name → "right", "wrong" or "undecided" (the page said the data
    #: do not tell the leaders apart); right/wrong count only the shops where the page named one
    verdicts: dict[str, str] = field(default_factory=dict)

    def verdict(self, name: str, decided: bool, right: bool) -> None:
        self.verdicts[name] = "undecided" if not decided else "right" if right else "wrong"

    def case(self, effect: str, group: str, truth: float, estimate: float, low: float, high: float,
             level: float = 0.95) -> None:
        vals = [truth, estimate, low, high]
        if all(v is not None and np.isfinite(float(v)) for v in vals):
            self.cases.append(Case(effect, str(group), float(truth), float(estimate), float(low), float(high), level))
        else:
            self.counts[f"{effect}: no interval"] = self.counts.get(f"{effect}: no interval", 0) + 1


CHECKS: dict[str, Callable] = {}


def check(name: str) -> Callable:
    """Register ``fn(ds, truth, out)`` as the check ``name``."""
    def deco(fn: Callable) -> Callable:
        CHECKS[name] = fn
        return fn
    return deco


def _span(ds) -> tuple[dt.date, dt.date]:
    r = ds.sql("SELECT min(order_date) AS a, max(order_date) AS b FROM orders_cny").iloc[0]
    return pd.Timestamp(r["a"]).date(), pd.Timestamp(r["b"]).date()


def _all(ds):
    from workbench.sql.common import Filters

    a, b = _span(ds)
    return Filters(a, b)


# ------------------------------------------------------------------------------------------------ checks
@check("elasticity")
def _elasticity(ds, truth, out: Outcome) -> None:
    from workbench.topics import products

    planted = truth["price_elasticity"]["by_category"]
    est = {e.category: e for e in products.price_elasticities(ds)}
    for cat, true in planted.items():
        if cat in est:
            e = est[cat]
            out.case("price_elasticity", cat, true, e.estimate, e.low, e.high)
    if set(planted) <= set(est):
        out.rankings["most elastic category"] = min(est, key=lambda c: est[c].estimate) == min(planted, key=planted.get)
        out.rankings["least elastic category"] = max(est, key=lambda c: est[c].estimate) == max(planted, key=planted.get)
        most, least = products.elasticity_extremes(list(est.values()))
        # as the page says it: named only when the data tell it apart from every other category
        out.verdict("most elastic category (as the page says it)", most.decided,
                    most.category == min(planted, key=planted.get))
        out.verdict("least elastic category (as the page says it)", least.decided,
                    least.category == max(planted, key=planted.get))
        # a page that leaves it open names its contenders: is the true extreme among them?
        out.rankings["least elastic category among the contenders named"] = max(planted, key=planted.get) in least.contenders


@check("kol_roi")
def _kol(ds, truth, out: Outcome) -> None:
    from workbench.topics import social

    planted = truth["kol_roi"]
    ranking = social.kol_ranking(ds, _all(ds))
    table = ranking.table.set_index("kol_id")
    for kol, roi in planted["roi"].items():
        if kol in table.index:
            r = table.loc[kol]
            out.case("kol_roi", "all", roi, r["roi"], r["roi_low"], r["roi_high"])
    out.rankings["best KOL"] = ranking.best == planted["best"]
    out.rankings["worst KOL"] = ranking.worst == planted["worst"]


@check("carriers")
def _carriers(ds, truth, out: Outcome) -> None:
    from workbench.topics import logistics as lg

    planted = truth["late_carrier"]
    table = lg.on_time_by(ds, _all(ds), "carrier", exclude=planted["spring_festival_slowdowns"])
    for row in table.itertuples():
        if row.carrier in planted["late_probability"]:
            out.case("on_time_rate (outside slowdowns)", "all", 1 - planted["late_probability"][row.carrier],
                     row.on_time_rate, row.on_time_rate_low, row.on_time_rate_high)
    implied = planted.get("expected_on_time_rate_all_days")
    if implied:
        whole = lg.on_time_by(ds, _all(ds), "carrier")
        for row in whole.itertuples():
            if row.carrier in implied:
                out.case("on_time_rate (all days, as shown)", "all", implied[row.carrier], row.on_time_rate,
                         row.on_time_rate_low, row.on_time_rate_high)
    card = lg.carrier_scorecard(ds, _all(ds))
    out.rankings["worst carrier"] = card.worst == planted["carrier"]


@check("delay")
def _delay(ds, truth, out: Outcome) -> None:
    from workbench.topics import logistics as lg

    planted = truth["delay_effect"]
    frame = lg.order_lateness_frame(ds, 365)
    e = lg.rating_drop_per_late_day(frame)
    out.case("rating per late day", "all", planted["rating_per_late_day"], e.estimate, e.low, e.high)
    e = lg.lateness_effect_on_repeat(None, 365, frame=frame, odds_ratio=True)
    out.case("repeat odds ratio if late", "all", planted["repeat_odds_ratio_if_late"], e.estimate, e.low, e.high)


@check("campaigns")
def _campaigns(ds, truth, out: Outcome) -> None:
    from workbench.topics import campaigns

    planted = truth["campaign_uplift"]["campaigns"]
    up = campaigns.all_uplifts(ds)
    for row in up.itertuples():
        c = planted.get(row.campaign_id)
        if c is None:
            continue
        days = (dt.date.fromisoformat(c["end"]) - dt.date.fromisoformat(c["start"])).days + 1
        group = "one-day" if days == 1 else c["kind"]
        out.case("campaign uplift", group, c["expected_ratio"] - 1, row.uplift, row.uplift_low, row.uplift_high)
        if c.get("pre_dip"):
            out.case("pre-campaign dip", "all", c["pre_dip"]["expected_ratio"] - 1, row.pull_forward,
                     row.pull_forward_low, row.pull_forward_high)


@check("marketing")
def _marketing(ds, truth, out: Outcome) -> None:
    from workbench.topics import marketing

    planted = truth["marketing_response"]["by_marketing_channel"]
    model = marketing.fit_response(ds)
    if model is None:
        out.counts["marketing: no model"] = 1
        return
    p = model.params.set_index("marketing_channel")
    said = {c: "identified" if p.loc[c, "identified"] else "not identified" for c in model.channels}
    for c in model.channels:
        out.case("adstock decay", said[c], planted[c]["lambda"], p.loc[c, "decay"], p.loc[c, "decay_low"],
                 p.loc[c, "decay_high"])
    theta = np.concatenate([[planted[c]["beta"] for c in model.channels],
                            [np.log(planted[c]["gamma_cny"]) for c in model.channels],
                            [planted[c]["lambda"] for c in model.channels]])
    table = marketing.marginal_roas_table(model)
    true_roas = model.marginal_roas(model.current_spend[model.channels].to_numpy(), theta)
    for t, row in zip(true_roas, table.itertuples()):
        out.case("marginal ROAS", said[row.marketing_channel], t, row.marginal_roas, row.marginal_roas_low,
                 row.marginal_roas_high)


@check("stockouts")
def _stockouts(ds, truth, out: Outcome) -> None:
    from workbench.topics import products

    for item in truth["stockouts"]["items"]:
        days = (dt.date.fromisoformat(item["end"]) - dt.date.fromisoformat(item["start"])).days + 1
        # the planted spell's window: over the whole history the product's other stock-out days count too
        by = products.stockout_losses(ds, item["start"], item["end"]).by_product.set_index("product_id")
        if item["product_id"] in by.index:
            r = by.loc[item["product_id"]]
            out.case("stock-out lost units", "all", item["lost_units_per_day"] * days, r["lost_units"],
                     r["lost_units_low"], r["lost_units_high"])
        else:
            out.counts["stock-out not found"] = out.counts.get("stock-out not found", 0) + 1


@check("churn")
def _churn(ds, truth, out: Outcome) -> None:
    from workbench.topics import crm
    from workbench.sql.common import Filters

    block = truth["churn_by_channel"]
    _, end = _span(ds)
    f = Filters(start=end - dt.timedelta(days=89), end=end)
    by = crm.retention_by_channel(ds, f, window_days=365).set_index("acquisition_channel")
    implied = block.get("expected_repeat_rate_365d")
    planted = implied or block["continuation_probability"]
    label = "365-day repeat rate" if implied else "365-day repeat rate vs continuation (estimand mismatch)"
    for ch, p in planted.items():
        if ch in by.index:
            r = by.loc[ch]
            out.case(label, "all", p, r["repeat_rate"], r["repeat_rate_low"], r["repeat_rate_high"])
    order_true = sorted(planted, key=planted.get, reverse=True)
    out.rankings["churn by channel (full order)"] = list(by.index) == order_true
    out.rankings["churn by channel (best and worst)"] = (by.index[0] == order_true[0]
                                                         and by.index[-1] == order_true[-1])


@check("fx")
def _fx(ds, truth, out: Outcome) -> None:
    from workbench.topics import crossborder as cb

    move = truth["fx_move"]
    start, end = pd.Timestamp(move["start"]), pd.Timestamp(move["end"])
    before = ((start - pd.Timedelta(days=30)).date().isoformat(), (start - pd.Timedelta(days=1)).date().isoformat())
    after = ((end + pd.Timedelta(days=1)).date().isoformat(), (end + pd.Timedelta(days=30)).date().isoformat())
    e = cb.currency_move(ds, move["currency"], before, after).change
    out.case("FX move", "all", move["percent_change"] / 100, e.estimate, e.low, e.high)


@check("service")
def _service(ds, truth, out: Outcome) -> None:
    from workbench.sql.common import Filters
    from workbench.topics import service

    planted = truth["slow_support_category"]
    first, last = ds.sql("SELECT min(CAST(created_at AS DATE)), max(CAST(created_at AS DATE)) FROM tickets").iloc[0]
    times = service.response_times(ds, Filters(start=first, end=last), "category")
    res = times[times["measure"] == "resolution_hours"].set_index("category")
    for cat, hours in planted["median_resolution_hours"].items():
        if cat in res.index:
            r = res.loc[cat]
            out.case("median resolution hours", "all", hours, r["p50"], r["p50_low"], r["p50_high"])
    slow = service.slowest_category(times)
    out.rankings["slowest support category"] = slow.category == planted["category"]


@check("price_gap")
def _price_gap(ds, truth, out: Outcome) -> None:
    from workbench.topics import omnichannel as om

    planted = truth["price_gap"]
    gaps = om.price_gaps(ds, _all(ds))
    for pid in planted["products"]:
        row = gaps[(gaps["product_id"] == pid) & (gaps["channel"] == planted["channel"])]
        if len(row) == 1:
            r = row.iloc[0]
            out.case("price gap", "all", planted["price_ratio_vs_other_channels"] - 1, r["gap"], r["gap_low"],
                     r["gap_high"])
            out.rankings.setdefault("price gap flagged", True)
            out.rankings["price gap flagged"] &= bool(r["flagged"])
        else:
            out.rankings["price gap flagged"] = False


@check("listing")
def _listing(ds, truth, out: Outcome) -> None:
    from workbench.topics import products

    planted = truth["listing_quality"]
    lq = products.listing_quality(ds)
    if lq is None:
        return
    eff = lq.effects.set_index("term")
    r = eff.loc["has_video"]
    out.case("listing video effect (log)", "all", math.log1p(planted["video_effect"]), r["coef"], r["coef_low"],
             r["coef_high"])
    r = eff.loc["title_length"]
    out.case("listing title effect (log)", "all", planted["title_length_effect"], r["coef"], r["coef_low"],
             r["coef_high"])


@check("refund_spike")
def _refunds(ds, truth, out: Outcome) -> None:
    from workbench.sql.common import Filters
    from workbench.topics import risk

    spike = truth["refund_spike"]
    s, e = dt.date.fromisoformat(spike["start"]), dt.date.fromisoformat(spike["end"])
    daily = risk.refund_daily(ds, Filters(s - dt.timedelta(days=90), e + dt.timedelta(days=14)))
    flagged = {d.date() for d in risk.spike_days(daily)["date"]}
    window = {s + dt.timedelta(days=i) for i in range((e - s).days + 1)}
    out.rankings["refund spike: a planted day flagged"] = bool(flagged & window)
    out.counts["refund spike: days flagged outside the window"] = len(flagged - window)
    rings = risk.shared_addresses(ds, Filters(s - dt.timedelta(days=30), e + dt.timedelta(days=14)))
    token = ds.sql("SELECT 'pii-' || substr(md5(?), 1, 12) AS t", [spike["shared_address"]])["t"].iloc[0]
    out.rankings["fraud ring: top shared address"] = bool(len(rings) and rings.iloc[0]["address_token"] == token)


@check("sentiment")
def _sentiment(ds, truth, out: Outcome) -> None:
    from workbench.sql.common import Filters
    from workbench.topics import reputation as rep

    drop = truth["sentiment_drop"]
    date = dt.date.fromisoformat(drop["date"])
    for weeks in (4, 8):
        after = rep.sentiment_drops(ds, Filters(date, date + dt.timedelta(weeks=weeks)))
        hit = after[after["product_id"] == drop["product_id"]]
        out.rankings[f"sentiment alarm within {weeks} weeks"] = bool(
            len(hit) and hit.iloc[0]["alarm_date"] <= date + dt.timedelta(weeks=weeks))
        if weeks == 4:
            others = after[after["product_id"] != drop["product_id"]]
    # a year without the defect: every alarm there is a false one
    quiet = rep.sentiment_drops(ds, Filters(date - dt.timedelta(days=365), date - dt.timedelta(days=1)))
    out.counts["sentiment false alarms per shop-year"] = float(len(quiet))
    out.counts["sentiment other alarms in the defect window"] = float(len(others))
    out.counts["sentiment products tested"] = float(quiet.attrs.get("tested", 0))
    untested = quiet.attrs.get("not_judged")
    if untested is not None:
        out.counts["sentiment products not judged"] = float(len(untested))


# ------------------------------------------------------------------------------------------------ sweep
def run_shop(seed: int, scale: float, only: set[str] | None, workdir: Path, verbose: bool) -> dict[str, Outcome]:
    """Generate one shop and run every (selected) check on it."""
    import workbench
    from workbench.data.sample import generate

    folder = workdir / f"shop-{seed}"
    t0 = time.perf_counter()
    generate(folder, seed=seed, scale=scale)
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))["effects"]
    ds = workbench.load(folder)
    if verbose:
        print(f"seed {seed}: generated in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    results: dict[str, Outcome] = {}
    for name, fn in CHECKS.items():
        if only and name not in only:
            continue
        out = Outcome()
        t1 = time.perf_counter()
        try:
            fn(ds, truth, out)
        except Exception as exc:  # counted, printed to stderr, and the sweep goes on
            out.counts[f"{name}: failed ({type(exc).__name__})"] = 1
            if verbose:
                traceback.print_exc()
        if verbose:
            print(f"  {name}: {time.perf_counter() - t1:.1f} s", file=sys.stderr)
        results[name] = out
    ds.close() if hasattr(ds, "close") else None
    return results


def summarise(shops: list[dict[str, Outcome]]) -> str:
    """The printed table (Markdown) of a sweep."""
    cases: dict[tuple[str, str], list[Case]] = defaultdict(list)
    ranks: dict[str, list[bool]] = defaultdict(list)
    counts: dict[str, list[float]] = defaultdict(list)
    verdicts: dict[str, list[str]] = defaultdict(list)
    for shop in shops:
        for out in shop.values():
            for c in out.cases:
                cases[(c.effect, "all")].append(c)
                if c.group != "all":
                    cases[(c.effect, c.group)].append(c)
            for k, v in out.rankings.items():
                ranks[k].append(v)
            for k, v in out.counts.items():
                counts[k].append(v)
            for k, v in out.verdicts.items():
                verdicts[k].append(v)
    lines = [f"Shops: {len(shops)}.", "",
             "| planted effect | group | coverage | mean bias | mean width | sd(errors)/mean(se) |",
             "|---|---|---|---|---|---|"]
    for (effect, group), cs in sorted(cases.items(), key=lambda kv: (kv[0][0], kv[0][1] != "all", kv[0][1])):
        k, n = sum(c.covered for c in cs), len(cs)
        err = np.array([c.estimate - c.truth for c in cs])
        se = np.array([c.se for c in cs])
        width = np.array([c.high - c.low for c in cs])
        ratio = float(np.std(err, ddof=1) / np.mean(se)) if n > 2 and np.mean(se) > 0 else math.nan
        lines.append(f"| {effect} | {group} | {k}/{n} ({100 * k / n:.0f}%) | {err.mean():+.3g} | "
                     f"{width.mean():.3g} | {ratio:.2f} |")
    lines += ["", "| ranking or alarm | right in |", "|---|---|"]
    for name, vals in sorted(ranks.items()):
        lines.append(f"| {name} | {sum(vals)}/{len(vals)} shops |")
    if verdicts:
        lines += ["", "| ranking as the page says it | right | undecided (said so) | wrong | right when named |",
                  "|---|---|---|---|---|"]
        for name, vals in sorted(verdicts.items()):
            r, u, w = (vals.count(v) for v in ("right", "undecided", "wrong"))
            named = f"{r}/{r + w} ({100 * r / (r + w):.0f}%)" if r + w else "none named"
            lines.append(f"| {name} | {r}/{len(vals)} | {u}/{len(vals)} | {w}/{len(vals)} | {named} |")
    lines += ["", "| count | mean per shop | shops with any |", "|---|---|---|"]
    for name, vals in sorted(counts.items()):
        lines.append(f"| {name} | {np.mean(vals):.2f} | {sum(v > 0 for v in vals)}/{len(vals)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20, help="number of shops (seeds 1..N, or from --first)")
    ap.add_argument("--first", type=int, default=1, help="first seed")
    ap.add_argument("--scale", type=float, default=0.3, help="scale of each shop (1 = about 100,000 orders)")
    ap.add_argument("--only", default="", help="comma-separated checks: " + ",".join(CHECKS))
    ap.add_argument("--markdown", default="", help="also write the table to this file, with command and date")
    ap.add_argument("--verbose", action="store_true", help="timings and tracebacks on stderr")
    args = ap.parse_args(argv)
    only = {s for s in args.only.split(",") if s} or None
    unknown = (only or set()) - set(CHECKS)
    if unknown:
        ap.error(f"unknown checks {sorted(unknown)}; known: {', '.join(CHECKS)}")
    t0 = time.perf_counter()
    shops = []
    cmd = "python benchmarks/truth.py " + " ".join(argv if argv is not None else sys.argv[1:])

    def write(table: str) -> None:
        if args.markdown:  # after every shop, so that an interrupted sweep leaves its table so far
            Path(args.markdown).write_text(
                f"# The sweep of generated shops\n\n`{cmd}`, run {dt.date.today().isoformat()} "
                f"({time.perf_counter() - t0:.0f} s, seeds {args.first}–{args.first + len(shops) - 1}, "
                f"scale {args.scale}).\n\n{table}\n", encoding="utf-8")

    with tempfile.TemporaryDirectory(prefix="workbench-truth-") as tmp:
        for seed in range(args.first, args.first + args.seeds):
            shops.append(run_shop(seed, args.scale, only, Path(tmp), args.verbose))
            shutil.rmtree(Path(tmp) / f"shop-{seed}", ignore_errors=True)
            print(f"seed {seed} done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
            write(summarise(shops))
    table = summarise(shops)
    print(table)
    write(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
