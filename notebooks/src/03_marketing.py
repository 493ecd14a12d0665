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
ab_test = ""              # A/B test to read: "visitors_a,conversions_a,visitors_b,conversions_b"; empty: sizing table

# %%
import math

import pandas as pd

import workbench as wb
from workbench.present import charts
from workbench.topics import marketing

nb = wb.setup("03_marketing", globals())
PAGE = nb.page


def named(column):
    """The page's label of a column, used as the column's name in a chart (axis, legend and hover)."""
    return nb.label(column, context=PAGE)


def names(channels):
    """Marketing channels written as a list in the page's language ("搜索广告、社交" / "search ads, social")."""
    return ("、" if nb.lang == "zh" else ", ").join(nb.label(c) for c in channels)

# %%
@nb.section("delivery", needs=marketing.NEEDS_SPEND)
def delivery(f):
    kpis = marketing.channel_kpis(nb.data, f)
    summary = marketing.delivery_summary(kpis, f.days)
    if summary is None:
        nb.say("note.no_spend")
        return
    weekly = marketing.spend_over_time(nb.data, f, "week")
    nb.show(charts.bar(weekly, x="week", y="spend_cny", color="marketing_channel", lang=nb.lang,
                       title=nb.text("title.weekly_spend")))
    nb.table(kpis.drop(columns=["ctr_low", "ctr_high"]), values=["marketing_channel"], context=PAGE,
             units={"spend_cny": "money", "impressions": "count", "clicks": "count", "ctr": "share",
                    "cpc": "money", "attributed_orders": "count", "cpa": "money", "attributed_gmv_cny": "money",
                    "roas": "ratio"})
    nb.finding("spend", headline=True, estimate=summary.spend, days=f.days, channel=summary.top_channel,
               share=summary.top_share, ctr=summary.top_ctr, impressions=summary.top_impressions)

# %%
@nb.section("roas", needs=marketing.NEEDS_ROAS)
def roas(f):
    k = marketing.roas(nb.data, f)
    daily = k.daily.dropna(subset=["value"]).rename(columns={"value": "roas"})
    if len(daily):
        nb.show(charts.line(daily, x="date", y="roas", lang=nb.lang, title=nb.text("title.roas")))
    if k.status == "none":
        nb.finding("roas", headline=True, estimate=k.value, kpi=k, status=k.status, status_reason=k.reason,
                   message="finding.roas_no_comparison", reason=nb.text(f"reason.{k.reason}"))
    else:
        nb.finding("roas", headline=True, estimate=k.value, kpi=k, change=k.change, delta=k.change, status=k.status,
                   status_word=nb.label(k.status))
    nb.say("note.attribution")

# %%
@nb.section("response", needs=marketing.NEEDS_RESPONSE)
def response(f):
    fit = nb.memo(marketing.analyse_response, f.channels)
    if fit is None:
        nb.say("note.no_response", days=120)
        return
    nb.show(charts.line(fit.curves, x="daily_spend", y="response_gmv", color="marketing_channel", lang=nb.lang,
                        title=nb.text("title.response")))
    known = fit.marginal_roas[fit.marginal_roas["identified"]]  # a channel not identified has the priors' interval
    if len(known):
        nb.show(charts.bar(known, x="marketing_channel", y="marginal_roas", low="marginal_roas_low",
                           high="marginal_roas_high", bounds=(0.0, math.inf), lang=nb.lang,
                           title=nb.text("title.marginal_roas")))
    nb.table(fit.model.params[["marketing_channel", "beta", "gamma", "decay", "decay_low", "decay_high"]],
             values=["marketing_channel"], context=PAGE,
             units={"beta": "share", "gamma": "money", "decay": "number", "decay_low": "number",
                    "decay_high": "number"})
    if fit.identified:
        best, worst = fit.best_and_worst()
        nb.finding("marginal_roas", estimate=fit.marginal(best), best=best, worst=worst,
                   worst_value=fit.marginal(worst), days=fit.model.n, r2=fit.model.r2)
    else:
        nb.say("note.not_identified", channels=names(fit.unidentified()), days=fit.model.n)
    nb.say(f"method.{fit.model.method}")

# %%
@nb.section("reallocation", needs=marketing.NEEDS_RESPONSE)
def reallocation(f):
    fit = nb.memo(marketing.analyse_response, f.channels)
    if fit is None:
        nb.say("note.no_model")
        return
    plan = fit.reallocation
    if plan is None:
        nb.say("note.reallocation_withheld", channels=names(fit.unidentified()))
        return
    spend_plan = named("spend_plan")
    long = (plan.table.melt(id_vars="marketing_channel", value_vars=["current_spend", "proposed_spend"],
                            var_name=spend_plan, value_name="daily_spend")
            .assign(**{spend_plan: lambda d: d[spend_plan].map(named)}))
    nb.show(charts.bar(long, x="marketing_channel", y="daily_spend", color=spend_plan, barmode="group", lang=nb.lang,
                       title=nb.text("title.reallocation", limit=plan.max_change)))
    nb.finding("reallocation", headline=True, estimate=fit.gain(30), gain=fit.gain(30),
               probability=plan.prob_positive)
    nb.say(f"method.{plan.method}")

# %%
@nb.section("ab_test", needs={})
def ab_section(f):
    given = marketing.parse_ab(ab_test)
    if given is None:
        sizing = marketing.ab_sizing(nb.data, f)
        if sizing.reason is not None:
            nb.say(f"note.sizing_{sizing.reason}")
            return
        nb.table(sizing.table, context=PAGE, units={"lift": "change", "visitors_per_arm": "count"})
        nb.finding("ab_sizing", estimate=sizing.base, base=sizing.base, lift=0.1, needed=sizing.needed(0.1))
        return
    t = marketing.ab_test(*given)
    nb.table(pd.DataFrame({"variant": ["A", "B"], "visitors": [t.visitors_a, t.visitors_b],
                           "conversions": [t.conversions_a, t.conversions_b], "rate": [t.rate_a, t.rate_b]}),
             context=PAGE, units={"visitors": "count", "conversions": "count", "rate": "share"})
    verdict = "significant" if t.p_value < 0.05 else "not_significant"
    nb.finding("ab_test", estimate=t.difference_estimate, rate_b=t.rate_b_estimate, rate_a=t.rate_a_estimate,
               difference=t.difference_estimate, p=t.p_value, verdict=nb.label(verdict, context=PAGE),
               detectable=t.detectable_difference)
