# %%
# Parameters: every knob of this notebook, with its default (see `workbench run --help`).
data = ""                 # folder of the shop's tables; empty: the sample shop
start = ""                # YYYY-MM-DD; empty: from `period`
end = ""                  # YYYY-MM-DD; empty: from `period`
period = "last-28d"       # last-7d, last-28d, last-90d, last-365d, mtd, qtd, ytd, all
as_of = ""                # reference day of `period`; empty: last day with orders
channels = "all"          # "all" or e.g. "tmall,jd,douyin"
compare = "previous"      # previous, last_year, none
language = "zh"           # zh or en
engine = ""               # duckdb, spark or spark:MASTER (local[N], spark://…, sc://…); empty: duckdb
findings_path = ""        # set by `workbench run`
level = 0.95              # confidence level of every interval on the page
segments_wanted = 5       # behaviour segments to form (fewer when the customers do not support them)
top_k = 10                # recommendations per customer in the offline test
targets = 1000            # customers in the exported target list

# %%
import math
from pathlib import Path

import pandas as pd

import workbench as wb
from workbench.errors import EmptyPeriodError
from workbench.present import charts
from workbench.present import personalisation_charts as pc
from workbench.text import fmt
from workbench.topics import kpi
from workbench.topics import personalisation as pz

nb = wb.setup("10_personalisation", globals())
pct = fmt.level(level)
nb.say("note.scope")

# %%
@nb.section("buyers", needs=pz.NEEDS)
def buyers(f):
    k = kpi.kpi(nb.data, f, "buyers", level)
    daily = k.daily.rename(columns={"value": "buyers"})
    nb.show(charts.line(daily, x="date", y="buyers", lang=nb.lang, title=nb.text("title.buyers_daily")))
    values = dict(estimate=k.value, kpi=k, status=k.status, status_reason=k.reason, headline=True, buyers=k.value)
    if k.reason is None and math.isfinite(k.change):
        nb.finding("buyers", change=k.change, delta=k.change, **values)
    else:
        nb.finding("buyers", message="finding.buyers_alone", reason=nb.text(f"reason.{k.reason}"), **values)


# %%
@nb.section("segments", needs=pz.NEEDS_SEGMENTS)
def segments(f):
    try:
        seg = nb.memo(pz.segments, f.end, segments_wanted, f.channels)
    except EmptyPeriodError:
        nb.say("note.too_few_customers", min=2 * pz.MIN_SEGMENT, days=pz.MIN_HISTORY_DAYS)
        return
    prof = seg.profile
    nb.show(charts.bar(prof.assign(segment=prof["segment"].map(nb.label)), x="segment", y="gmv_per_customer",
                       lang=nb.lang, title=nb.text("title.segments")))
    if seg.k < seg.requested:
        nb.say("note.fewer_segments", k=seg.k, requested=seg.requested, n=seg.n, min=pz.MIN_SEGMENT)
    shown = prof.rename(columns={"share": "customer_share", "tenure_days": "customer_tenure_days",
                                 "categories": "categories_bought"})
    cols = ["segment", "customers", "customer_share", "gmv_share", "gmv_per_customer", "orders_365d", "recency_days",
            "customer_tenure_days", "discount_share", "categories_bought", "top_channel"]
    cols += [c for c in ("top_category", "top_region") if c in shown]
    nb.table(shown[cols], units={"customers": "count", "customer_share": "share", "gmv_share": "share",
                                 "gmv_per_customer": "count", "orders_365d": "count", "recency_days": "count",
                                 "customer_tenure_days": "count", "discount_share": "share",
                                 "categories_bought": "count"},
             values=["segment", "top_channel", "top_category", "top_region"])
    top = prof.iloc[0]
    share = seg.share(top["segment"], level)
    nb.finding("top_segment", estimate=share, segment=top["segment"], customers=int(top["customers"]), active=seg.n,
               share=share, gmv_share=top["gmv_share"], gmv=top["gmv_per_customer"], channel=top["top_channel"])


# %%
@nb.section("recommend", needs=pz.NEEDS_ITEMS)
def recommend(f):
    try:
        cmp = nb.memo(pz.compare_recommenders, f.end, top_k, 28, f.channels, level)
    except EmptyPeriodError:
        nb.say("note.too_few_repeat", min=50, days=28)
        return
    hits = cmp.metrics[cmp.metrics["metric"] == "hit_rate"]
    nb.show(charts.bar(hits.assign(recommender=hits["recommender"].map(nb.label)), x="recommender", y="value",
                       low="low", high="high", bounds=(0, 1), percent=True, lang=nb.lang,
                       title=nb.text("title.compare", k=cmp.k, days=cmp.horizon_days, cutoff=str(cmp.cutoff),
                                     level=pct, n=cmp.n)))
    wide = cmp.metrics.pivot(index="recommender", columns="metric", values="value").reindex(pz.RECOMMENDERS)
    nb.table(wide.reset_index()[["recommender", *pz.RANK_METRICS]],
             units={m: "share" for m in pz.RANK_METRICS}, values=["recommender"])
    if cmp.eligible > cmp.n:  # a large customer base: the hold-out is scored on a random sample of it
        nb.say("note.scored_sample", n=cmp.n, eligible=cmp.eligible, days=cmp.horizon_days)
    affinity = nb.text("affinity.off") if cmp.params.m >= 1e6 else nb.text("affinity.on", m=cmp.params.m)
    nb.say("note.hybrid", affinity=affinity, beta=cmp.params.beta, gamma=cmp.params.gamma, omega=cmp.params.omega,
           n=cmp.validation_n, days=cmp.horizon_days)
    rules = nb.memo(pz.association_rules, f.end, f.channels)
    if len(rules):
        nb.table(rules.head(10)[["antecedent_name", "consequent_name", "pair_customers", "confidence", "lift"]]
                 .rename(columns={"antecedent_name": "antecedent", "consequent_name": "consequent",
                                  "pair_customers": "co_buyers"}),
                 units={"co_buyers": "count", "confidence": "share", "lift": "ratio"})
    est = cmp.estimates
    nb.finding("recommender", message=f"finding.recommender_{cmp.verdict}", estimate=est[("hybrid", "hit_rate")],
               headline=True, k=cmp.k, hybrid=est[("hybrid", "hit_rate")], popular=est[("popular", "hit_rate")],
               buy_again=est[("buy_again", "hit_rate")], vs_popular=cmp.vs_popular, vs_buy_again=cmp.vs_buy_again,
               days=cmp.horizon_days)


# %%
@nb.section("propensity", needs=pz.NEEDS)
def propensity(f):
    try:
        prop = nb.memo(pz.propensity, f.end, f.channels)
    except EmptyPeriodError:
        nb.say("note.too_few_buyers")
        return
    nb.show(pc.calibration(prop.calibration, lang=nb.lang,
                           title=nb.text("title.calibration", cutoff=str(prop.test_cutoff), level=pct)))
    ranked = pz.target_list(prop, n=targets)
    nb.say("note.targets")
    nb.table(pz.target_summary(ranked), units={"top_n": "count", "mean_p": "share", "expected_buyers": "count",
                                               "recency_days": "count", "gmv_365d": "count"})
    if nb.params.get("findings_path"):
        out = Path(nb.params["findings_path"]).with_name("10_personalisation_targets.csv")
        shown = {"rank": "target_rank", "customer_id": "customer_code"}
        pz.export_target_list(ranked, out, headers={c: nb.label(shown.get(c, c)) for c in ranked.columns})
        nb.say("note.targets_written", n=len(ranked))
    lift = pz.lift_at(prop, 0.1, level)
    quality = "good" if prop.auc.estimate >= 0.75 else "fair" if prop.auc.estimate >= 0.65 else "weak"
    nb.finding("propensity", estimate=prop.auc, headline=True, quality=nb.text(f"quality.{quality}"), auc=prop.auc,
               top=lift.rate, base=prop.base_rate_test, lift=lift.lift, predicted=lift.predicted,
               within=prop.deciles_within, deciles=len(prop.calibration), mean_predicted=prop.mean_predicted)
