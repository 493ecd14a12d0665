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
from workbench.present import charts, customer_service_charts
from workbench.stats.result import Estimate
from workbench.text import fmt
from workbench.topics import kpi, service

nb = wb.setup("05_customer_service", globals())
LEVEL = 0.95              # confidence level of every interval on this page
level = fmt.level(LEVEL)
RESPONSE_MINUTES, RESOLUTION_HOURS = 60, 24       # service targets
HANDLE_MINUTES, TARGET_MINUTES, SERVICE_LEVEL = 10, 5, 0.8   # staffing assumptions (no handling time in the data)
DRIVER_DAYS = 365         # the satisfaction model looks at the rated tickets of this many days
nb.say("note.targets", response=RESPONSE_MINUTES, resolution=RESOLUTION_HOURS, low_csat=service.LOW_CSAT,
       handle=HANDLE_MINUTES, service_level=SERVICE_LEVEL, target=TARGET_MINUTES)


def interval_text(frame, tag, digits=1):
    """The rows' ``tag`` (p50, p90) intervals written as a reader writes a range, or "too few (n = …)"."""
    return [fmt.span(lo, hi, "number", nb.lang, digits) if n >= need
            else Estimate(float("nan"), n=int(n), min_n=int(need)).value_text(nb.lang)
            for lo, hi, n, need in zip(frame[f"{tag}_low"], frame[f"{tag}_high"], frame["n"], frame[f"{tag}_min_n"])]


def numbers(values, digits=1):
    """Numbers written with ``digits`` decimals."""
    return [fmt.number(v, nb.lang, digits) for v in values]


# %%
@nb.section("volume", needs=service.NEEDS)
def volume(f):
    vol = service.volume(nb.data, f, "category")
    summary = service.volume_summary(vol, "category", LEVEL)
    if summary is None:
        nb.say("note.no_tickets")
        return
    nb.show(charts.bar(vol.rename(columns={"category": "ticket_category"}), x="ticket_category", y="tickets",
                       lang=nb.lang, title=nb.text("title.volume")))
    prof = service.hourly_profile(nb.data, f)
    days = [nb.label(f"dow{d}", context="customer_service") for d in range(7)]
    prof = prof.assign(weekday=pd.Categorical(prof["weekday"].map(dict(enumerate(days))), categories=days, ordered=True))
    nb.show(charts.heatmap(prof, x="hour", y="weekday", z="tickets_per_hour", lang=nb.lang, fmt=".1f",
                           title=nb.text("title.heatmap")))
    nb.finding("tickets", estimate=summary.top_share, days=f.days, tickets=summary.tickets,
               per_1000=summary.per_1000_orders, category=summary.top)


# %%
@nb.section("times", needs=service.NEEDS_TIMES)
def times(f):
    k = kpi.kpi(nb.data, f, "first_response_minutes", LEVEL)
    nb.finding("first_response", headline=True, estimate=k.value, kpi=k, change=k.change, delta=k.change, status=k.status,
               status_reason=k.reason, message=None if math.isfinite(k.change) else "finding.first_response_no_change")
    t = service.response_times(nb.data, f, "category", LEVEL)
    if t["p50"].isna().all():
        nb.say("note.no_answered")
        return
    res = t[t["measure"] == "resolution_hours"]
    long = (res.rename(columns={"p50": "median"})
            .melt(id_vars=["category"], value_vars=["median", "p90"], var_name="statistic", value_name="resolution_hours")
            .assign(low=res["p50_low"].tolist() + res["p90_low"].tolist(),
                    high=res["p50_high"].tolist() + res["p90_high"].tolist())
            .rename(columns={"category": "ticket_category"}))
    nb.show(charts.bar(long, x="ticket_category", y="resolution_hours", color="statistic", barmode="group",
                       low="low", high="high", bounds=(0, float("inf")), lang=nb.lang,
                       title=nb.text("title.resolution", level=level)))
    shown = t.assign(p50=numbers(t["p50"]), p90=numbers(t["p90"]),
                     median_interval=interval_text(t, "p50"), p90_interval=interval_text(t, "p90"))
    nb.table(shown[["category", "measure", "n", "p50", "median_interval", "p90", "p90_interval", "open"]]
             .rename(columns={"category": "ticket_category", "n": "n_obs", "p50": "median", "open": "open_tickets",
                              "median_interval": nb.text("title.median_interval", level=level),
                              "p90_interval": nb.text("title.p90_interval", level=level)}),
             units={"n_obs": "count", "open_tickets": "count"},
             values=["ticket_category", "measure"], rows=14)
    slow = service.slowest_category(t, LEVEL)
    if slow is not None:
        nb.finding("slow_category", headline=True, estimate=slow.median, status="red" if slow.separated else "amber",
                   category=slow.category, p90=slow.p90, others=slow.others_median_hours)


# %%
@nb.section("levels", needs=service.NEEDS_CSAT)
def levels(f):
    lv = service.service_levels(nb.data, f, "channel", RESPONSE_MINUTES, RESOLUTION_HOURS, LEVEL)
    if lv.empty:
        nb.say("note.no_tickets")
        return
    rates = ["sla_rate", "csat", "escalation_rate"]
    long = (lv.melt(id_vars=["channel"], value_vars=rates, var_name="statistic", value_name="service_rate")
            .assign(low=lv.melt(id_vars=["channel"], value_vars=[f"{r}_low" for r in rates])["value"],
                    high=lv.melt(id_vars=["channel"], value_vars=[f"{r}_high" for r in rates])["value"]))
    long["statistic"] = long["statistic"].map(lambda v: nb.label(v, context="customer_service"))
    nb.show(charts.bar(long, x="channel", y="service_rate", color="statistic", barmode="group", low="low", high="high",
                       bounds=(0, 1), percent=True, lang=nb.lang,
                       title=nb.text("title.levels", minutes=RESPONSE_MINUTES, level=level)))
    overall = service.overall_levels(lv, LEVEL)
    nb.finding("sla", headline=True, estimate=overall["sla_rate"], minutes=RESPONSE_MINUTES, csat=overall["csat"],
               escalation=overall["escalation_rate"])


# %%
@nb.section("drivers", needs=service.NEEDS_DRIVERS)
def drivers(f):
    model = nb.memo(service.dissatisfaction_drivers, f, DRIVER_DAYS, LEVEL)

    def term(row):
        kind = row["kind"] if row["kind"] != "covariate" else row["term"]
        return nb.text(f"term.{kind}", name=row["term"])

    table = model.odds_ratios.assign(factor=lambda d: d.apply(term, axis=1))
    nb.show(customer_service_charts.odds_ratios(
        table[table["estimable"]], "odds_ratio", "factor", "low", "high", nb.text(
            "title.odds", base_category=model.baseline_category, base_channel=model.baseline_channel,
            low_csat=service.LOW_CSAT, level=level), nb.text("title.odds_axis"), nb.text("title.term_axis")))
    unclear = table.loc[~table["estimable"], "factor"].tolist()
    if unclear:
        nb.say("note.not_estimable", factors="、".join(unclear) if nb.lang == "zh" else ", ".join(unclear))
    top = model.strongest_group()
    nb.finding("driver", estimate=model.estimate("log2_resolution_hours"), wait=model.estimate("log2_wait_hours"),
               top=table.set_index("term").loc[top, "factor"] if top else "", top_ratio=model.estimate(top) if top else "",
               base_category=model.baseline_category, base_channel=model.baseline_channel,
               low_csat=service.LOW_CSAT, days=DRIVER_DAYS, message=None if top else "finding.driver_times")


# %%
@nb.section("staffing", needs=service.NEEDS)
def staffing(f):
    plan = service.staffing(nb.data, f, handle_minutes=HANDLE_MINUTES, target_minutes=TARGET_MINUTES,
                            service_level=SERVICE_LEVEL)
    p = plan.plan
    nb.show(charts.bar(p, x="hour", y="agents", lang=nb.lang, text="agents", title=nb.text(
        "title.agents", service_level=SERVICE_LEVEL, target=TARGET_MINUTES, handle=HANDLE_MINUTES)))
    nb.show(charts.line(p, x="hour", y="tickets_per_hour", lang=nb.lang,
                        title=nb.text("title.tickets_line", weeks=plan.forecast_weeks)))
    peak = plan.peak()
    nb.finding("peak_agents", value=peak["agents"], unit="count", hour=int(peak["hour"]), agents=int(peak["agents"]),
               tickets=peak["tickets_per_hour"], agents_high=int(peak["agents_high"]), high=peak["high"],
               band=fmt.level(plan.band_level), n=plan.n, weeks=plan.weeks)
