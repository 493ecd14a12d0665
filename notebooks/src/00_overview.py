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
threshold_pct = 5.0       # not used: each KPI's thresholds live in the metric registry (sql/metrics.py)
findings_path = ""        # set by `workbench run`

# %%
import pandas as pd
from IPython.display import HTML, display

import workbench as wb
from workbench.present import charts, overview_charts, risk_charts
from workbench.sql import metrics
from workbench.stats.result import Estimate
from workbench.text.pages import TOPICS, topic
from workbench.topics import overview, risk

nb = wb.setup("00_overview", globals())
# batch: the other notebooks' findings lie beside this one's; dashboard: none, compute directly
records = overview.read_findings(overview.findings_folder(nb.params["findings_path"]))
static_links = bool(records) or nb.batch
if records:
    nb.say("note.source_batch", n=len(records))
else:
    nb.say("note.source_direct")


def assessment(ds, f):
    """The risk page's indicators for ``f``, on the headline KPIs already evaluated (the same registry KPIs)."""
    return risk.assess(ds, f, registry=nb.memo(overview.headlines, f)[0])


def kpi_sentence(k):
    """One sentence for a red or amber KPI: value with interval, change, the threshold it passed."""
    m = metrics.metric(k.key)
    return nb.t("item.kpi", name=overview_charts.kpi_name(k.key, nb.lang), value=k.value,
                comparison=k.comparison, change=k.change, status=nb.t(f"status_word.{k.status}"),
                threshold=m.red if k.status == "red" else m.amber)


# %%
@nb.section("headlines", needs=overview.NEEDS)
def headlines(f):
    items, table = nb.memo(overview.headlines, f)
    if not items:
        nb.say("note.no_kpis")
        return
    display(HTML(overview_charts.kpi_tiles(items, nb.lang, static_links)))
    for k in items:
        nb.record_kpi(k)
    nb.say("note.thresholds")
    counts = overview.status_counts(items)
    red = [overview_charts.kpi_name(k.key, nb.lang) for k in items if k.status == "red"]
    worst = "red" if counts["red"] else "amber" if counts["amber"] else "green"
    nb.finding("status", headline=True, status=worst, message="finding.status" if red else "finding.status_no_red",
               estimate=Estimate(counts["red"], n=len(items), method="count", unit="count"),
               total=len(items), red=counts["red"], amber=counts["amber"], green=counts["green"],
               none=counts["none"], names=nb.t("list_sep").join(red))


# %%
@nb.section("attention", needs=overview.NEEDS)
def attention(f):
    items, _ = nb.memo(overview.headlines, f)
    bad = overview.flagged(items)
    rows = [{"group": nb.t("group.kpi"), "topic": topic(k.page).title(nb.lang), "status": overview_charts.status_text(k.status, None, nb.lang),
             "finding": kpi_sentence(k)} for k in bad]
    if records:  # the other pages' own red and amber findings (the KPIs are listed above from the registry)
        others = overview.recorded_alerts(records, overview.other_alert_keys())
        rows += [{"group": nb.t("group.alert"), "topic": topic(t).title(nb.lang), "status": overview_charts.status_text(s, None, nb.lang),
                  "finding": x} for t, s, x in zip(others["topic"], others["status"], others["text"])]
        n_red, n_amber = int((others["status"] == "red").sum()), int((others["status"] == "amber").sum())
    else:  # dashboards: the risk page's alerts computed here (its KPI alerts are the registry's, listed above)
        found = [a for a in nb.memo(assessment, f).alerts if a.key != "kpi"]
        rows += [{"group": nb.t("group.alert"), "topic": topic("13_risk").title(nb.lang),
                  "status": overview_charts.status_text("red" if a.level == "alert" else "amber", None, nb.lang),
                  "finding": risk_charts.alert_sentence(a, nb.lang)} for a in found]
        n_red, n_amber = sum(a.level == "alert" for a in found), sum(a.level != "alert" for a in found)
    if rows:
        nb.table(pd.DataFrame(rows), rows=40, context="overview")
    red_kpis = sum(k.status == "red" for k in bad)
    nb.finding("attention", headline=True, status="red" if red_kpis or n_red else "amber" if rows else "green",
               estimate=Estimate(red_kpis, n=len(items), method="count", unit="count"),
               red_kpis=red_kpis, amber_kpis=len(bad) - red_kpis, red_alerts=n_red, amber_alerts=n_amber)


# %%
@nb.section("campaigns", needs=overview.NEEDS)
def campaigns(f):
    c = nb.memo(overview.campaign_context, f)
    if c is None:
        nb.say("note.no_comparison")
        return
    kinds = lambda ks: nb.t("list_sep").join(nb.label(k) for k in ks) or nb.t("none_word")  # noqa: E731
    if not c.uneven:
        if len(c.current):
            nb.finding("campaigns_even", days=len(c.current), campaigns=kinds(c.current_kinds))
        else:
            nb.finding("campaigns_even", message="finding.campaigns_none")
        return
    items, _ = nb.memo(overview.headlines, f)
    reported = {k.key: k for k in items}
    rows = []
    for key, lfl in c.without_campaigns.items():
        for basis, k in (("as_reported", reported.get(key)), ("without_campaigns", lfl),
                         ("vs_last_year", c.last_year.get(key))):
            if k is not None:
                rows.append({"kpi": overview_charts.kpi_name(key, nb.lang), "basis": basis, "change": k.change,
                             "status": k.status})
    frame = pd.DataFrame(rows)
    nb.show(charts.bar(frame, x="kpi", y="change", color="basis", barmode="group", percent=True, lang=nb.lang,
                       title=nb.text("title.like_for_like")))
    gmv, was = c.without_campaigns.get("gmv"), reported.get("gmv")
    if gmv is None or was is None:
        return
    mostly = abs(gmv.change) < abs(was.change) / 2  # the calendar explains most of the change
    nb.finding("campaigns", headline=True, message="finding.campaigns" if mostly else "finding.campaigns_still",
               estimate=gmv.value, change=gmv.change, status=gmv.status,
               cmp_days=len(c.comparison), cmp_campaigns=kinds(c.comparison_kinds),
               cmp_share=c.comparison_campaign_share, cur_days=len(c.current), cur_campaigns=kinds(c.current_kinds),
               reported=was.change, per_day=gmv.value, per_day_before=gmv.comparison, lfl=gmv.change)
    ly = c.last_year.get("gmv")
    if ly is not None and ly.comparison is not None:
        nb.finding("last_year", estimate=ly.value, change=ly.change, status=ly.status, this_year=ly.value,
                   last_year=ly.comparison, lfl=ly.change)


# %%
@nb.section("topics")
def topics(f):
    found = overview.top_findings(records, per_topic=3)
    display(HTML(overview_charts.topics_html(found, nb.lang, static_links, set(records))))
    others = [t for t in TOPICS if t != overview.OVERVIEW]
    missing = [topic(t).title(nb.lang) for t in others if t not in records]
    if not records:
        nb.finding("topics_dashboard", total=len(others))
    elif missing:
        nb.finding("topics", total=len(others), recorded=len(others) - len(missing),
                   message="finding.topics_missing", missing=nb.t("list_sep").join(missing))
    else:
        nb.finding("topics", total=len(others), recorded=len(others))
