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

# %%
import math

import pandas as pd

import workbench as wb
from workbench.present import charts
from workbench.topics import social
from workbench.topics.kpi import kpi

nb = wb.setup("08_social_commerce", globals())


def versus(change):
    """"+12.0% on the comparison period", or that there is no comparison (from the catalogue)."""
    return nb.text("word.versus", change=change) if change is not None and math.isfinite(change) else \
        nb.text("word.no_comparison")

# %%
@nb.section("kols", needs=social.NEEDS_KOL)
def kols(f):
    r = social.kol_ranking(nb.data, f)
    shown = r.table[r.table["roi_low"].notna()]
    with_interval = not shown.empty
    if not with_interval:
        nb.say("note.too_few_streams")
        shown = r.table
    nb.show(charts.bar(shown.head(10), x="handle", y="roi", low="roi_low", high="roi_high",
                       bounds=(0.0, float("inf")), lang=nb.lang, title=nb.text("title.kol_roi")))
    if with_interval and len(shown) < 10:
        nb.say("note.fewer_kols", n=len(shown), total=len(r.table))
    table = r.table.assign(tier=r.table["tier"].map(lambda v: nb.label(v, context="kol_tier"))) \
        if "tier" in r.table else r.table
    table = table.sort_values(["rank", "roi"], ascending=[True, False], na_position="last")
    nb.table(table[[c for c in ("rank", "handle", "tier", "streams", "viewers", "orders", "gmv", "cost", "roi",
                                "roi_low", "roi_high", "conversion", "new_customers", "return_rate") if c in table]],
             units={"rank": "count", "streams": "count", "viewers": "count", "orders": "count", "gmv": "money",
                    "cost": "money", "roi": "ratio", "roi_low": "ratio", "roi_high": "ratio", "conversion": "share",
                    "new_customers": "count", "return_rate": "share"})
    if r.best is None:
        return
    clear = "word.clear" if r.best_clearly_first and r.worst_clearly_last else "word.overlap"
    best, worst = r.roi(r.best), r.roi(r.worst)
    handle = r.table.set_index("kol_id")["handle"]
    nb.finding("kol_best_worst", headline=True, estimate=best, best=handle[r.best], best_roi=best,
               worst=handle[r.worst], worst_roi=worst, clear=nb.text(clear))

# %%
@nb.section("streams", needs=social.NEEDS_STREAM)
def streams(f):
    share = kpi(nb.data, f, "livestream_share")
    nb.finding("livestream_share", headline=True, estimate=share.value, kpi=share, change=share.change, status=share.status,
               status_reason=share.reason, share=share.value, versus=versus(share.change))
    table = social.livestream_table(nb.data, f)
    if table.empty:
        nb.say("note.no_streams")
        return
    top = table.head(10)
    nb.show(charts.bar(top.assign(stream=top["handle"] + " · " + top["date"].astype(str)), x="stream", y="gmv",
                       color="handle", lang=nb.lang, title=nb.text("title.top_streams")))
    if len(top) < 10:
        nb.say("note.fewer_streams", n=len(top))
    conversion = social.stream_conversion(table)
    nb.finding("stream_conversion", estimate=conversion, streams=len(table), viewers=table["viewers"].sum(),
               orders=table["orders"].sum(), conversion=conversion, gmv=table["gmv"].sum())

# %%
@nb.section("incrementality", needs=social.NEEDS_STREAM)
def incrementality(f):
    inc = social.incrementality(nb.data, f)
    bars = pd.DataFrame({"window": [nb.label(w, context="social_window") for w in ("attributed_gmv", "during", "after")],
                         "gmv": [inc.attributed, inc.during.estimate, inc.after.estimate],
                         "low": [inc.attributed, inc.during.low, inc.after.low],
                         "high": [inc.attributed, inc.during.high, inc.after.high]})
    nb.show(charts.bar(bars, x="window", y="gmv", low="low", high="high", lang=nb.lang,
                       title=nb.text("title.lift", days=inc.after_days)))
    nb.say("note.baseline", weeks=inc.weeks, days=inc.after_days)
    nb.finding("stream_lift", estimate=inc.during, days=inc.n_days, during=inc.during, attributed=inc.attributed,
               after_days=inc.after_days, after=inc.after)

# %%
@nb.section("private", needs=social.NEEDS_PRIVATE)
def private(f):
    res = nb.memo(social.private_traffic_effect, 30, 180)
    rep, val = res["repeat"], res["value"]
    if rep.n_treated == 0:
        nb.say("note.too_few_private")
        return
    bars = pd.DataFrame({"group": [nb.label("private"), nb.label("others")],
                         "repeat_rate": [rep.treated_mean, rep.control_mean]})
    nb.show(charts.bar(bars, x="group", y="repeat_rate", lang=nb.lang, percent=True,
                       title=nb.text("title.private", start=31, end=210)))
    nb.say("note.private_method")
    nb.finding("private_repeat", estimate=rep.difference, repeat=rep.difference, controls=rep.n_control,
               days=180, spend=val.difference)

# %%
@nb.section("referrals", needs=social.NEEDS_REFERRAL)
def referrals(f):
    r = social.referrals(nb.data, f)
    nb.show(charts.bar(r.distribution, x="orders_brought", y="referrers", lang=nb.lang,
                       title=nb.text("title.referrals")))
    nb.finding("referral_orders", estimate=r.per_referrer, referrers=r.referrers, orders=r.referred_orders,
               share=r.share_of_orders, gmv=r.referred_gmv, per=r.per_referrer, new=r.new_customer_share)
