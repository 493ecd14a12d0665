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
import warnings

import workbench as wb
from workbench.present import campaigns_charts, charts
from workbench.text import fmt
from workbench.topics import campaigns, kpi
from workbench.topics import forecast as fc

warnings.filterwarnings("ignore", module="statsmodels")
nb = wb.setup("04_campaigns", globals())
LEVEL = 0.95              # confidence level of every interval on this page
level = fmt.level(LEVEL)


def day(ts):
    """A date as the page writes it (2025-11-11)."""
    return f"{ts:%Y-%m-%d}"


# %%
@nb.section("calendar", needs=campaigns.NEEDS_CALENDAR)
def calendar(f):
    cal = campaigns.calendar(nb.data)
    if cal.empty:
        nb.say("note.empty_calendar")
        return
    labels = {"start_date": nb.label("start_date"), "end_date": nb.label("end_date"), "kind": nb.label("kind"),
              "name": nb.label("name"), "date": nb.label("date")}
    nb.show(campaigns_charts.timeline(cal.assign(kind=cal["kind"].map(nb.label)), "start_date", "end_date", "kind",
                                      "name", nb.text("title.calendar"), labels, shade=(f.start, f.end)))
    in_period = campaigns.calendar(nb.data, f)
    nb.table(in_period.drop(columns=["campaign_id"]).assign(start_date=in_period["start_date"].map(day),
                                                            end_date=in_period["end_date"].map(day)),
             units={"days": "count", "discount_rate": "share", "budget_cny": "money"}, values=["kind"])
    nxt = fc.next_event(nb.data, f.end)
    if nxt is None:
        nb.finding("calendar", value=len(in_period), unit="count", message="finding.calendar_no_next",
                   campaigns=len(in_period))
    else:
        nb.finding("calendar", value=len(in_period), unit="count", campaigns=len(in_period), name=nxt["name"],
                   start=day(nxt["start"]), days=int(nxt["days"]))
    if not nb.data.missing({"orders": ["campaign_id"]}):
        k = kpi.kpi(nb.data, f, "campaign_share", LEVEL)
        nb.finding("campaign_share", headline=True, estimate=k.value, kpi=k, change=k.change, delta=k.change, status=k.status,
                   status_reason=k.reason, message=None if math.isfinite(k.change) else "finding.campaign_share_no_change")


def measured(ds, channels):
    """Every campaign's uplift with its daily band, calibrated on one set of placebo baselines per channel choice
    (the table and the latest campaign's chart both read them: one fit per campaign)."""
    return campaigns.measured_uplifts(ds, channels, placebo=nb.memo(campaigns.baseline_placebos, channels))


def uplifts(ds, channels):
    """Every campaign's uplift, one row per campaign."""
    return campaigns.uplift_table(nb.memo(measured, channels))


# %%
@nb.section("uplift", needs=campaigns.NEEDS_UPLIFT)
def uplift(f):
    table = nb.memo(uplifts, f.channels)
    if table.empty:
        nb.say("note.no_uplift")
        return
    nb.show(charts.bar(table, x="name", y="incremental_gmv", low="incremental_low", high="incremental_high",
                       lang=nb.lang, title=nb.text("title.uplift", level=level)))
    interval = nb.text("title.uplift_interval", level=level)
    shown = table.assign(start_date=table["start_date"].map(day),
                         interval=[fmt.span(lo, hi, "change", nb.lang) for lo, hi in
                                   zip(table["uplift_low"], table["uplift_high"])])
    nb.table(shown[["name", "start_date", "gmv", "counterfactual", "incremental_gmv", "uplift", "interval",
                    "pull_forward", "hangover"]].rename(columns={"interval": interval}),
             units={"gmv": "money", "counterfactual": "money", "incremental_gmv": "money", "uplift": "change",
                    "pull_forward": "change", "hangover": "change"}, context="campaigns")
    placebos = len(nb.memo(campaigns.baseline_placebos, f.channels))
    nb.say("note.method" if placebos >= campaigns.MIN_PLACEBOS else "note.method_paths", pre=7, reps=300,
           placebos=placebos)
    best, gmv, lift = campaigns.best_campaign(table, LEVEL)
    nb.finding("best_campaign", headline=True, estimate=gmv, name=best["name"], uplift=lift)
    typical = campaigns.typical_pull_forward(table)
    nb.finding("pull_forward", value=typical["pull_forward"], unit="change", **typical)


# %%
@nb.section("campaign_detail", needs=campaigns.NEEDS_UPLIFT)
def campaign_detail(f):
    table = nb.memo(uplifts, f.channels)
    pick = campaigns.latest_campaign(table, f.end)
    if pick is None:
        nb.say("note.no_uplift")
        return
    u = nb.memo(measured, f.channels)[pick]
    nb.show(campaigns_charts.band(
        u.daily, "date", {"actual": nb.label("actual"), "counterfactual": nb.label("counterfactual")}, "lower", "upper",
        nb.text("title.band", level=level), nb.text("title.detail", name=u.name, level=level), nb.label("date"),
        nb.text("title.orders_per_day"), shade=(u.start_date, u.end_date)))
    nb.finding("latest_campaign", estimate=u.incremental_gmv, name=u.name,
               start=day(u.start_date), end=day(u.end_date), gmv=u.gmv, uplift=u.uplift, pre=u.pull_forward)


# %%
@nb.section("next_campaign", needs={**fc.NEEDS_UNITS, **campaigns.NEEDS_CALENDAR})
def next_campaign(f):
    # the same calendar model as the forecast page (14), with the campaign in its calendar
    plan = nb.memo(fc.campaign_plan, None)
    if plan is None:
        nb.say("note.no_plan")
        return
    d = plan.daily
    nb.show(campaigns_charts.band(
        d, "date", {"gmv": nb.text("title.forecast_gmv")}, "gmv_low", "gmv_high", nb.text("title.band", level=level),
        nb.text("title.forecast", name=plan.name, uplift=plan.planned_uplift.estimate, level=level), nb.label("date"),
        nb.text("title.gmv_axis")))
    interval = nb.text("title.gmv_interval", level=level)
    shown = d.assign(date=d["date"].map(day), units_needed=d["units"],
                     interval=[fmt.span(lo, hi, "money", nb.lang) for lo, hi in zip(d["gmv_low"], d["gmv_high"])])
    nb.table(shown[["date", "gmv", "interval", "orders", "units_needed", "agents"]].rename(columns={"interval": interval}),
             units={"gmv": "money", "orders": "count", "units_needed": "count", "agents": "count"})
    if len(plan.products):
        top = plan.products.head(10)
        shown = top.assign(name=top["name"].fillna(top["product_id"])).rename(
            columns={"units": "units_forecast", "units_to_stock": "units_needed"})
        nb.table(shown[["name", "category", "units_forecast", "units_needed"]],
                 units={"units_forecast": "count", "units_needed": "count"}, values=["category"])
    if plan.source == "projected":
        nb.say("note.projected", name=plan.name)
    nb.say("note.assumptions", service=fmt.level(plan.assumptions["service_level"]), **plan.assumptions)
    nb.finding("next_campaign_plan", estimate=plan.total_gmv, name=plan.name, start=day(plan.start_date),
               end=day(plan.end_date), uplift=plan.planned_uplift, orders=plan.total_orders,
               source=nb.text(f"source.{plan.uplift_source}"), units=plan.units_needed, agents=plan.peak_agents)
