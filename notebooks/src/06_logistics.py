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
import workbench as wb
from workbench.present import charts
from workbench.text import fmt
from workbench.topics import logistics as lg
from workbench.topics.kpi import kpi

nb = wb.setup("06_logistics", globals())
LEVEL = fmt.level(0.95)

# %%
@nb.section("on_time", needs=lg.NEEDS)
def on_time(f):
    table = lg.on_time_by(nb.data, f, "carrier")
    if table.empty:
        nb.say("note.no_shipments")
        return
    nb.show(charts.interval_bar(table, x="carrier", y="on_time_rate", low="on_time_rate_low",
                                high="on_time_rate_high", percent=True, lang=nb.lang,
                                title=nb.text("title.on_time_by_carrier", level=LEVEL)))
    k = kpi(nb.data, f, "on_time_rate")
    nb.finding("on_time_rate", headline=True, estimate=k.value, kpi=k, change=k.change, status=k.status,
               status_reason=k.reason, delta=k.change,
               message="finding.on_time_rate" if k.comparison is not None else "finding.on_time_rate_alone")

# %%
@nb.section("scorecard", needs=lg.NEEDS)
def scorecard(f):
    card = lg.carrier_scorecard(nb.data, f)
    nb.say("note.scorecard")
    cols = ["score_rank", "carrier", "shipments", "on_time_rate", "median_days", "lost_rate", "damaged_rate",
            "cost_per_order"]
    nb.table(card.table[cols], units={"score_rank": "count", "shipments": "count", "on_time_rate": "share",
                                      "median_days": "number", "lost_rate": "share", "damaged_rate": "share",
                                      "cost_per_order": "number"})
    nb.finding("worst_carrier", headline=True, estimate=card.worst_rate, carrier=card.worst,
               status="red" if card.worst_clearly_last else "amber",
               message="finding.worst_carrier" if card.worst_clearly_last else "finding.worst_carrier_overlaps")

# %%
@nb.section("where", needs=lg.NEEDS_REGION)
def where(f):
    for by in ("warehouse", "region"):
        table = lg.on_time_by(nb.data, f, by)
        if table.empty:
            continue
        nb.show(charts.interval_bar(table, x=by, y="on_time_rate", low="on_time_rate_low", high="on_time_rate_high",
                                    percent=True, lang=nb.lang, title=nb.text(f"title.on_time_by_{by}", level=LEVEL)))
    worst = lg.worst_group(lg.on_time_by(nb.data, f, "region"), "region")
    if worst.name is not None:
        nb.finding("worst_region", estimate=worst.rate, region=worst.name)

# %%
@nb.section("times", needs=lg.NEEDS)
def times(f):
    dist = lg.delivery_time_distribution(nb.data, f, "carrier")
    if dist.empty:
        nb.say("note.no_delivered")
        return
    nb.show(charts.line(dist, x="delivery_days", y="share", color="carrier", lang=nb.lang,
                        title=nb.text("title.delivery_time")).update_yaxes(tickformat=".0%"))
    mix = lg.outcome_mix(nb.data, f, "carrier").assign(
        outcome=lambda d: d["outcome"].map(lambda v: nb.label(v, context="logistics")))
    nb.show(charts.bar(mix, x="carrier", y="share", color="outcome", lang=nb.lang, percent=True,
                       title=nb.text("title.outcomes")))
    p = lg.parcels(lg.on_time_by(nb.data, f, "carrier"))
    nb.finding("lost_damaged", estimate=p.lost_damaged, lost=p.lost, shipments=p.shipments, median=p.median_days)

# %%
@nb.section("lateness_cost", needs=lg.NEEDS_REPEAT_EFFECT)
def lateness_cost(f):
    cost = nb.memo(lg.lateness_cost, 365)
    buckets = cost.by_days.assign(late_bucket=lambda d: d["late_bucket"].map(nb.label))
    nb.show(charts.interval_bar(buckets, x="late_bucket", y="repeat_rate", low="repeat_rate_low",
                                high="repeat_rate_high", percent=True, lang=nb.lang,
                                title=nb.text("title.repeat_by_lateness", window=cost.window_days, level=LEVEL)))
    nb.say("note.lateness_models")
    rating, per_day = cost.rating, cost.rating_per_day_floor
    if rating.ok:
        nb.finding("late_rating", headline=True, estimate=rating.value, drop=rating.value.scaled(-1),
                   n_late=rating.n_treated,
                   baseline=rating.baseline, per_day=per_day.value.scaled(-1))
    elif "reviews" not in nb.data.sources:
        nb.say("note.rating_needs_reviews")
    if cost.repeat.ok:
        nb.finding("late_repeat", estimate=cost.repeat.value, window=cost.window_days, baseline=cost.repeat.baseline,
                   odds=cost.repeat_odds.value)

# %%
@nb.section("returns", needs=lg.NEEDS_RETURNS)
def returns(f):
    by_channel = lg.returns_by(nb.data, f, "channel")
    if by_channel.empty or by_channel["orders"].sum() == 0:
        nb.say("note.no_orders")
        return
    nb.show(charts.interval_bar(by_channel, x="channel", y="return_rate", low="return_rate_low",
                                high="return_rate_high", color="channel", percent=True, lang=nb.lang,
                                title=nb.text("title.return_rate", level=LEVEL)))
    reasons = lg.return_reasons(nb.data, f)
    if not reasons.empty:
        nb.show(charts.bar(reasons.assign(reason=lambda d: d["reason"].map(nb.label)), x="channel", y="returns",
                           color="reason", lang=nb.lang, title=nb.text("title.return_reasons")))
    if nb.data.has("products", ["category"]) and nb.data.has("returns", ["product_id"]) \
            and "order_items" in nb.data.sources:
        cat = lg.returns_by(nb.data, f, "category")
        nb.table(cat[["category", "lines", "returns", "return_rate", "refund_cny"]], values=["category"],
                 units={"lines": "count", "returns": "count", "return_rate": "share", "refund_cny": "count"})
    summary = lg.returns_summary(by_channel, reasons)
    nb.finding("return_rate", estimate=summary.rate, refund=summary.refund_cny, reason=summary.top_reason,
               message="finding.return_rate" if summary.top_reason else "finding.return_rate_no_reason")
