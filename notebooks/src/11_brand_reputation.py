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
min_reviews = 10          # reviews a product needs to be compared

# %%
import math

import workbench as wb
from workbench.errors import EmptyPeriodError
from workbench.present import charts
from workbench.present import reputation_charts as rc
from workbench.stats.result import Estimate
from workbench.text import fmt
from workbench.topics import reputation as rep

nb = wb.setup("11_brand_reputation", globals())
pct = fmt.level(level)

# %%
@nb.section("ratings", needs=rep.NEEDS)
def ratings(f):
    try:
        s = rep.rating_summary(nb.data, f, level)
    except EmptyPeriodError:
        nb.say("note.no_reviews")
        return
    trend = rep.rating_trend(nb.data, f, level=level)
    nb.show(rc.band(trend, "week", "rating", "rating_low", "rating_high", lang=nb.lang, bounds=rep.STARS,
                    title=nb.text("title.rating_trend", level=pct), y_title=nb.text("title.rating_axis")))
    k = s.rating
    values = dict(estimate=k.value, kpi=k, status=k.status, status_reason=k.reason, headline=True,
                  rating=k.value, negative=s.negative)
    if not k.value.ok:
        nb.finding("rating", message="finding.rating_too_few", estimate=k.value, kpi=k, status=k.status,
                   status_reason=k.reason, headline=True, n=k.value.n or 0)
    elif k.reason is None and math.isfinite(k.change):
        nb.finding("rating", change=k.change, delta=k.change, **values)
    else:
        nb.finding("rating", message="finding.rating_alone", reason=nb.text(f"reason.{k.reason}"), **values)


# %%
@nb.section("products", needs=rep.NEEDS)
def products(f):
    ranked = rep.rating_by(nb.data, f, "product_id", min_reviews=min_reviews, level=level)
    if ranked.empty:
        nb.say("note.no_products", min=min_reviews)
        return
    worst = ranked.head(10).rename(columns={"name": "product_name"})
    nb.show(charts.bar(worst, x="rating", y="product_name", low="rating_low", high="rating_high",
                       bounds=rep.STARS, orientation="h", lang=nb.lang,
                       title=nb.text("title.worst_products", n=len(worst), level=pct)))
    if len(worst) < 10:
        nb.say("note.fewer_products", n=len(worst), min=min_reviews)
    w = worst.iloc[0]
    est = Estimate(w["rating"], w["rating_low"], w["rating_high"], level=level, n=int(w["reviews"]),
                   method="mean-t", unit="stars", bounds=rep.STARS)
    nb.finding("worst_product", estimate=est, name=w["product_name"], rating=est, negative=w["negative_share"])


# %%
@nb.section("sentiment", needs=rep.NEEDS_TEXT)
def sentiment(f):
    nb.memo(rep.sentiment_lookup)
    try:
        a = rep.sentiment_agreement(nb.data, f, level)
    except EmptyPeriodError:
        nb.say("note.no_texts")
        return
    trend = rep.sentiment_trend(nb.data, f, by="language", level=level)
    nb.show(rc.band(trend, "week", "sentiment", "sentiment_low", "sentiment_high", color="group", lang=nb.lang,
                    bounds=(-1, 1), title=nb.text("title.sentiment_trend", level=pct),
                    y_title=nb.text("title.sentiment_axis")))
    table = a.by_language.assign(
        agreement_interval=[fmt.span(lo, hi, "share", nb.lang) for lo, hi in
                            zip(a.by_language["agreement_low"], a.by_language["agreement_high"])])
    nb.table(table.rename(columns={"n": "reviews", "spearman": "spearman_rho"})
             [["language", "reviews", "spearman_rho", "agreement", "agreement_interval", "coverage"]],
             units={"reviews": "count", "spearman_rho": "number", "agreement": "share", "coverage": "share"},
             values=["language"])
    nb.say("note.method")
    if not a.spearman.ok:
        nb.finding("sentiment_agreement", message="finding.sentiment_too_few", estimate=a.spearman, n=a.n)
        return
    strong = a.spearman.low > 0.3
    nb.finding("sentiment_agreement", message=None if strong else "finding.sentiment_agreement_weak",
               estimate=a.spearman, rho=a.spearman, agree=a.agreement, coverage=a.coverage)


# %%
@nb.section("sentiment_alerts", needs=rep.NEEDS_TEXT)
def sentiment_alerts(f):
    nb.memo(rep.sentiment_lookup)
    drops = rep.sentiment_drops(nb.data, f, level=level)
    tested, not_judged = drops.attrs["tested"], drops.attrs["not_judged"]
    if len(not_judged):
        nb.say("note.not_judged", n=len(not_judged), min=rep.MIN_BASELINE,
               names=nb.t("list_sep").join(not_judged["name"].head(5)))
    if tested == 0:
        nb.finding("sentiment_drop", message="finding.sentiment_drop_untested",
                   estimate=Estimate(0, n=0, method="cusum", unit="count", min_n=0), min=rep.MIN_BASELINE)
        return
    if drops.empty:
        nb.finding("sentiment_drop", message="finding.sentiment_drop_none", status="green",
                   estimate=Estimate(0, n=tested, method="cusum", unit="count", min_n=0), tested=tested)
        return
    top = drops.head(3)
    trend = rep.sentiment_trend(nb.data, f, by="product_id", level=level)
    nb.show(rc.band(trend[trend["group"].isin(top["product_id"])], "week", "sentiment", "sentiment_low",
                    "sentiment_high", color="group", lang=nb.lang, bounds=(-1, 1),
                    names=dict(zip(drops["product_id"], drops["name"])), marks=top["change_date"],
                    title=nb.text("title.drop_trend", level=pct), y_title=nb.text("title.sentiment_axis")))
    shown = drops.assign(drop_interval=[fmt.span(lo, hi, "number", nb.lang)
                                        for lo, hi in zip(drops["drop_low"], drops["drop_high"])])
    nb.table(shown.rename(columns={"name": "product_name"})
             [["product_name", "change_date", "alarm_date", "baseline_sentiment", "sentiment_after", "drop",
               "drop_interval", "reviews_after"]],
             units={"baseline_sentiment": "number", "sentiment_after": "number", "drop": "number",
                    "reviews_after": "count"})
    d = drops.iloc[0]
    est = rep.drop_estimate(d, level)
    nb.finding("sentiment_drop", estimate=est, status="red", headline=True, name=d["name"],
               change_date=str(d["change_date"]), alarm_date=str(d["alarm_date"]), before=d["baseline_sentiment"],
               after=d["sentiment_after"], drop=est, alarms=len(drops), tested=tested,
               negative_before=d["negative_before"], negative_after=d["negative_after"])


# %%
@nb.section("complaints", needs=rep.NEEDS_TEXT)
def complaints(f):
    every = rep.complaint_terms(nb.data, f, top=10)
    # a Chinese page lists the terms of Chinese reviews; the English page lists both languages
    langs = ("zh",) if nb.lang == "zh" else ("zh", "en")
    terms = every[every["language"].isin(langs)]
    if terms.empty:
        nb.say("note.no_negative_texts")
        return
    shown = terms.rename(columns={"term": "complaint_term"})
    nb.show(charts.bar(shown, x="mentions", y="complaint_term", color="language" if len(langs) > 1 else None,
                       orientation="h", lang=nb.lang, title=nb.text("title.complaint_terms")))
    others = rep.negative_reviews(nb.data, f, exclude=langs)
    if others:
        nb.say("note.other_language", n=others)
    rising_all = rep.rising_terms(nb.data, f, top=5)
    rising = rising_all[rising_all["language"].isin(langs)]
    if len(rising):
        nb.say("note.rising_terms")
        nb.table(rising.rename(columns={"term": "complaint_term", "share": "share_of_negative"}),
                 units={"mentions": "count", "share_of_negative": "share", "share_before": "share",
                        "lift": "ratio"}, values=["language"])
    by_product = rep.complaint_terms(nb.data, f, by_product=True, top=3)
    worst = rep.rating_by(nb.data, f, "product_id", min_reviews=min_reviews, level=level)
    if len(worst) and len(by_product):
        w = worst.iloc[0]
        mine = by_product[(by_product["product_id"] == w["group"]) & by_product["language"].isin(langs)]
        if len(mine):
            nb.say("note.worst_product_terms", name=w["name"])
            nb.table(mine.rename(columns={"term": "complaint_term", "share": "share_of_negative"})
                     [["language", "complaint_term", "mentions", "share_of_negative"]],
                     units={"mentions": "count", "share_of_negative": "share"}, values=["language"])
    # the finding names the top term of the language most negative reviews are written in (the same on both pages)
    main = every.groupby("language")["reviews"].max().idxmax()
    top = every[every["language"] == main].sort_values(["mentions", "term"], ascending=[False, True]).iloc[0]
    share = rep.term_share(top, level)
    values = dict(estimate=share, term=top["term"], mentions=int(top["mentions"]), share=share)
    rising_main = rising_all[rising_all["language"] == main]
    if len(rising_main):
        up = rising_main.iloc[0]
        nb.finding("complaints", message="finding.complaints_rising", up=up["term"], before=up["share_before"],
                   after=up["share"], **values)
    else:
        nb.finding("complaints", **values)


# %%
@nb.section("promoters", needs={**rep.NEEDS, **rep.NEEDS_CHANNEL})
def promoters(f):
    scores = rep.promoter_score(nb.data, f, by="channel", level=level)
    nb.show(charts.bar(scores.rename(columns={"group": "channel"}), x="channel", y="nps", low="nps_low",
                       high="nps_high", bounds=(-100, 100), lang=nb.lang,
                       title=nb.text("title.nps_by_channel", level=pct)))
    total = rep.promoter_total(nb.data, f, level)
    gap = rep.nps_difference(scores, level)
    if not total.ok:
        nb.finding("nps", message="finding.nps_too_few", estimate=total, n=total.n or 0)
    elif gap is None:
        nb.finding("nps", estimate=total, nps=total)
    else:
        nb.finding("nps", message="finding.nps_gap" if gap.separated else "finding.nps_gap_unclear",
                   estimate=total, nps=total, best=gap.best, worst=gap.worst, gap=gap.gap)
