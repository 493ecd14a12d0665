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
import pandas as pd

import workbench as wb
from workbench.present import charts
from workbench.stats.result import Estimate
from workbench.text import fmt
from workbench.topics import crm
from workbench.topics.kpi import kpi

nb = wb.setup("12_crm", globals())
LEVEL = fmt.level(0.95)
nb.say("note.method")


def crm_label(value):
    """A segment or tier key in the page's words ("lost" is a lost customer here, "none" no tier)."""
    return nb.label(value, context="crm")


# %%
@nb.section("rfm", needs=crm.NEEDS)
def rfm(f):
    seg = crm.rfm_segments(nb.data, f)
    if seg.empty:
        nb.say("note.no_active")
        return
    shown = seg.assign(segment=seg["segment"].map(crm_label))
    nb.show(charts.bar(shown, x="segment", y="gmv", lang=nb.lang,
                       title=nb.text("title.rfm_gmv", window=365)))
    nb.table(shown[["segment", "customers", "share", "gmv_per_customer", "orders_per_customer", "recency_days"]],
             units={"customers": "count", "share": "share", "gmv_per_customer": "count",
                    "orders_per_customer": "number", "recency_days": "count"})
    champ = crm.champions(seg)
    nb.finding("champions_share", headline=True,
               estimate=Estimate.of(champ.gmv_share, unit="share", n=champ.active, method="total"),
               champions=champ.customers, active=champ.active, customers_share=champ.share_of_customers,
               gmv_share=champ.gmv_share)


# %%
@nb.section("movement", needs=crm.NEEDS)
def movement(f):
    moves = crm.rfm_movement(nb.data, f)
    if moves.empty:
        nb.say("note.no_movement")
        return
    shown = moves.assign(segment_from=moves["segment_from"].map(crm_label),
                         segment_to=moves["segment_to"].map(crm_label))
    nb.show(charts.heatmap(shown, x="segment_to", y="segment_from", z="customers", lang=nb.lang, fmt=",.0f",
                           title=nb.text("title.movement")))
    nb.finding("slipped", estimate=crm.slipped(moves), before=str(crm.movement_start(f)), after=str(f.end))


# %%
@nb.section("cohorts", needs=crm.NEEDS)
def cohorts(f):
    grid = crm.cohort_retention(nb.data, f, months=12)
    if grid.empty:
        nb.say("note.no_purchases")
        return
    nb.show(charts.heatmap(grid, x="months_since_first", y="cohort", z="retention", lang=nb.lang,
                           title=nb.text("title.cohorts")))
    rate, n_cohorts = crm.month1_retention(grid)
    if n_cohorts:
        nb.finding("month1_retention", estimate=rate, cohorts=n_cohorts)


# %%
@nb.section("repurchase", needs=crm.NEEDS)
def repurchase(f):
    k = kpi(nb.data, f, "repeat_rate")
    nb.finding("repeat_rate", headline=True, estimate=k.value, kpi=k, change=k.change, status=k.status,
               status_reason=k.reason, delta=k.change,
               message="finding.repeat_rate" if k.comparison is not None else "finding.repeat_rate_alone")
    rep = crm.repurchase(nb.data, f, window_days=90)
    if len(rep.gaps):
        nb.show(charts.bar(rep.gaps, x="days_between", y="purchases", lang=nb.lang, title=nb.text("title.gaps")))
    nb.finding("first_repeat", estimate=rep.rate, window=rep.window_days, gap=rep.gap_days,
               gap_low=rep.gap_days.low, gap_high=rep.gap_days.high, gaps=rep.gap_days.n)


# %%
@nb.section("channels", needs=crm.NEEDS_CHANNEL)
def channels_section(f):
    by = crm.retention_by_channel(nb.data, f, window_days=90)
    if by.empty:
        nb.say("note.no_channel_window")
        return
    nb.show(charts.interval_bar(by, x="acquisition_channel", y="repeat_rate", low="repeat_rate_low",
                                high="repeat_rate_high", percent=True, lang=nb.lang,
                                title=nb.text("title.channel_repeat", window=90, level=LEVEL)))
    curves = crm.retention_curves_by_channel(nb.data, f, months=12)
    curves = curves[curves["months_since_first"] > 0]
    nb.show(charts.line(curves, x="months_since_first", y="retention", color="acquisition_channel", lang=nb.lang,
                        title=nb.text("title.channel_curves")).update_yaxes(tickformat=".0%"))
    best, worst = by.iloc[0], by.iloc[-1]
    if len(by) == 1:  # one acquisition channel: nothing to compare it with
        nb.finding("channel_retention", headline=True, estimate=crm.row_share(worst), window=90,
                   message="finding.channel_retention_one", channel=worst["acquisition_channel"])
        return
    nb.finding("channel_retention", headline=True, estimate=crm.row_share(worst), window=90,
               worst_channel=worst["acquisition_channel"], worst=crm.row_share(worst),
               best_channel=best["acquisition_channel"], best=crm.row_share(best))


# %%
@nb.section("delay", needs=crm.NEEDS_DELAY)
def delay(f):
    d = nb.memo(crm.delay_effect, 365)
    rates = pd.DataFrame({"delivery": [nb.label("on_time"), nb.label("late")],
                          "repeat_rate": [d.on_time.estimate, d.late.estimate],
                          "repeat_rate_low": [d.on_time.low, d.late.low],
                          "repeat_rate_high": [d.on_time.high, d.late.high]})
    nb.show(charts.interval_bar(rates, x="delivery", y="repeat_rate", low="repeat_rate_low", high="repeat_rate_high",
                                percent=True, lang=nb.lang, title=nb.text("title.delay", window=d.window_days,
                                                                          level=LEVEL)))
    nb.say("note.delay_scope")
    nb.finding("delay_effect", estimate=d.odds.value, window=d.window_days, late=d.late, on_time=d.on_time)


# %%
@nb.section("tiers", needs=crm.NEEDS_TIER)
def tiers(f):
    tv = crm.tier_value(nb.data, f)
    if tv.empty or tv["buyers"].sum() == 0:
        nb.say("note.no_member_buyers")
        return
    shown = tv.assign(member_tier=tv["member_tier"].map(crm_label))
    nb.show(charts.interval_bar(shown, x="member_tier", y="gmv_per_customer", low="gmv_per_customer_low",
                                high="gmv_per_customer_high", bounds=(0, float("inf")), lang=nb.lang,
                                title=nb.text("title.tiers", level=LEVEL)))
    nb.table(shown[["member_tier", "members", "buyers", "active_share", "gmv_per_customer", "orders_per_customer"]],
             units={"members": "count", "buyers": "count", "active_share": "share", "gmv_per_customer": "count",
                    "orders_per_customer": "number"})
    tier, value = crm.top_tier(tv)
    nb.finding("top_tier", estimate=value, tier=crm_label(tier))


# %%
@nb.section("clv", needs=crm.NEEDS)
def lifetime_value(f):
    res = nb.memo(crm.clv, f.end, f.channels)
    if not res.ok:
        nb.say(f"note.clv_{res.status}", n=res.n, repeat=res.repeat, reason=nb.text(f"reason.{res.reason}"))
        nb.finding("clv", message="finding.clv_withheld", estimate=res.value, status_reason=res.status,
                   reason=nb.text(f"reason.{res.reason}"))
        return
    check = res.holdout.melt(id_vars=["calibration_purchases", "customers"], value_vars=["predicted", "actual"],
                             var_name="series", value_name="purchases")
    check["series"] = check["series"].map(nb.label)
    nb.show(charts.bar(check, x="calibration_purchases", y="purchases", color="series", barmode="group", lang=nb.lang,
                       title=nb.text("title.holdout", weeks=res.holdout_weeks)))
    models = res.model_table()
    models = models.assign(chosen=models["chosen"].map({True: "chosen_model", False: "not_chosen"}))
    nb.say("note.clv_choice", weeks=res.holdout_weeks, model=nb.text(f"model.{res.method}"))
    nb.table(models[["model", "chosen", "loglik", "aic", "inner_error", "holdout_error"]],
             units={"loglik": "number", "aic": "number", "inner_error": "change", "holdout_error": "change"},
             values=["model", "chosen"], context="crm")
    seg = crm.clv_by_segment(res, nb.data, f)
    if len(seg):
        nb.table(seg.assign(segment=seg["segment"].map(crm_label)),
                 units={"customers": "count", "clv": "count", "expected_purchases": "number", "p_alive": "share"})
    bg = res.bgnbd.params
    if res.method == "pareto":
        nb.say("note.clv_params_pareto", model=nb.text("model.pareto"), r=bg["r"], alpha=bg["alpha"], s=bg["s"],
               beta=bg["beta"], n=res.n, horizon=res.horizon_weeks)
    else:
        nb.say("note.clv_params", model=nb.text(f"model.{res.method}"), r=bg["r"], alpha=bg["alpha"], a=bg["a"],
               b=bg["b"], n=res.n, horizon=res.horizon_weeks)
    # with the model's own error (measured on the split inside the calibration period) when there was one
    inner = res.inner_errors.get(res.method) if res.choice == "inner-split" else None
    extra = {"inner": inner, "model_only": res.holdout_model_only} if inner is not None else {}
    nb.finding("clv", message="finding.clv" if inner is not None else "finding.clv_no_model_error", headline=True,
               estimate=res.value, horizon=res.horizon_weeks, predicted=res.predicted, holdout=res.holdout_total,
               actual=res.holdout_actual, error=res.holdout_error, weeks=res.holdout_weeks, **extra)
