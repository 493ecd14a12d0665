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
from workbench.text import catalogue, fmt
from workbench.topics import sales

nb = wb.setup("01_sales_traffic", globals())

# %%
@nb.section("kpis", needs=sales.NEEDS)
def kpis(f):
    found = sales.kpis(nb.data, f)
    nb.table(pd.DataFrame([{
        "metric": nb.t(f"kpi.{k.key}"), "current": k.value.value_text(nb.lang),
        "interval": k.value.interval_text(nb.lang),
        "comparison": k.comparison.value_text(nb.lang) if k.comparison is not None else fmt.DASH,
        "change": fmt.value(k.change, "change", nb.lang), "status": k.status} for k in found.values()]),
        values=["status"], context="sales")
    for key in sales.HEADLINE:
        if key not in found:
            continue
        k = found[key]
        common = {"kpi": k, "headline": key == "gmv"}
        if k.status == "none":
            nb.finding(key, message="finding.kpi_alone", metric=nb.t(f"kpi.{key}"),
                       reason=nb.t(f"reason.{k.reason}"), **common)
        else:
            nb.finding(key, days=f.days, pct=k.change, **common)
    buyers = sales.buyer_types(nb.data, f).set_index("customer_type")["buyers"]
    nb.finding("buyers", value=float(buyers.sum()), unit="count", total=buyers.sum(), new=buyers["new"],
               returning=buyers["returning"])

# %%
@nb.section("trend", needs=sales.NEEDS)
def trend(f):
    daily = sales.daily_with_comparison(nb.data, f, "gmv")
    nb.show(charts.line(daily.assign(period=daily["period"].map(nb.label)), x="date", y="gmv", color="period",
                        lang=nb.lang, title=nb.text("title.trend" if f.comparison() else "title.trend_alone")))

# %%
@nb.section("weeks_months", needs=sales.NEEDS)
def weeks_months(f):
    weekly = sales.kpi_series(nb.data, f, "week")
    nb.show(charts.bar(weekly.assign(period=weekly["period"].map(nb.label)), x="bucket", y="gmv", color="period",
                       barmode="group", lang=nb.lang,
                       title=nb.text("title.weeks" if f.comparison() else "title.weeks_alone")))
    monthly = sales.kpi_series(nb.data, f, "month")
    wide = monthly.pivot_table(index="bucket", columns="period", values=["gmv", "orders", "aov"]).reset_index()
    wide.columns = ["_".join(c).strip("_") for c in wide.columns]
    nb.table(wide.assign(bucket=wide["bucket"].dt.strftime("%Y-%m")),
             units={c: "count" for c in wide.columns if c != "bucket"})
    best = sales.best_week(weekly)
    if best is not None:
        nb.finding("best_week", value=best["gmv"], unit="money", week=f"{best['bucket']:%Y-%m-%d}",
                   gmv=best["gmv"], orders=best["orders"])

# %%
def movers(f, by):
    """Draw and word how GMV moved by one dimension (one helper for the five breakdown sections)."""
    keep = (lambda v: catalogue.has(f"label.{v}", nb.lang)) if by == "region" else None
    moves = sales.breakdown(nb.data, f, by, keep=keep)
    if moves.empty:
        nb.say("note.no_orders")
        return
    shown = moves.assign(**{by: moves[by].map(lambda v: nb.label(v, context="sales"))})
    if f.comparison() is None:
        nb.show(charts.bar(shown, x=by, y="gmv", color=by if by == "channel" else None, lang=nb.lang,
                           title=nb.text("title.gmv_by", dimension=nb.t(f"dimension.{by}"))))
        nb.table(shown[[by, "gmv", "orders"]], rows=10, units={"gmv": "count", "orders": "count"}, context="sales")
        nb.say("note.no_comparison_movers")
        return
    nb.show(charts.bar(shown, x=by, y="delta", color=by if by == "channel" else None, lang=nb.lang,
                       title=nb.text(f"title.movers_{by}")))
    nb.table(shown[[by, "gmv", "gmv_comparison", "delta", "change", "share_of_change", "orders"]], rows=10,
             units={"gmv": "count", "gmv_comparison": "count", "delta": "count", "change": "change",
                    "share_of_change": "share", "orders": "count"}, context="sales")
    top = sales.top_mover(moves, by)
    if top is not None:
        nb.finding(f"top_{by}", message=f"finding.top_mover_{top.direction}", estimate=top.delta,
                   change=top.change, dimension=nb.t(f"dimension.{by}"), name=nb.label(top.value, context="sales"),
                   amount=abs(top.delta.estimate), pct=top.change, share=top.share)


# %%
@nb.section("channels", needs=sales.BREAKDOWN_NEEDS["channel"])
def channels_section(f):
    movers(f, "channel")

# %%
@nb.section("categories", needs=sales.BREAKDOWN_NEEDS["category"])
def categories_section(f):
    movers(f, "category")

# %%
@nb.section("regions", needs=sales.BREAKDOWN_NEEDS["region"])
def regions_section(f):
    movers(f, "region")

# %%
@nb.section("customer_types", needs=sales.BREAKDOWN_NEEDS["customer_type"])
def customer_types_section(f):
    movers(f, "customer_type")

# %%
@nb.section("member_tiers", needs=sales.BREAKDOWN_NEEDS["member_tier"])
def member_tiers_section(f):
    movers(f, "member_tier")

# %%
@nb.section("funnel", needs=sales.NEEDS_FUNNEL)
def funnel(f):
    rates = sales.funnel_rates(nb.data, f, "source")
    if rates.empty:
        nb.say("note.no_traffic")
        return
    steps = rates[rates["step"] != "sessions"]
    nb.show(charts.bar(steps.assign(step=steps["step"].map(nb.label)), x="step", y="rate", color="source",
                       barmode="group", low="rate_low", high="rate_high", bounds=(0.0, 1.0), percent=True,
                       lang=nb.lang, title=nb.text("title.funnel", level=fmt.level(0.95))))
    overall = sales.overall_conversion(rates, "source")
    nb.table(overall, values=["source"], context="sales",
             units={"sessions": "count", "paid_orders": "count", "rate": "share", "rate_low": "share",
                    "rate_high": "share"})
    leak = sales.biggest_leak(rates)
    if leak is not None:
        nb.finding("funnel_leak", estimate=leak.loss, step=nb.label(leak.step))
    best = sales.best_converting(overall, "source")
    if best is not None:
        nb.finding("best_source", estimate=best[1], source=nb.label(best[0]))

# %%
@nb.section("decomposition", needs=sales.NEEDS_DECOMPOSITION)
def decomposition(f):
    parts = sales.decompose_gmv_by_channel(nb.data, f)
    summary = sales.summarise_decomposition(parts)
    if summary is None:
        nb.say("note.no_comparison")
        return
    factor_name = lambda v: nb.t(f"factor.{v}")
    nb.show(charts.bar(parts.assign(channel=parts["channel"].map(nb.label), factor=parts["factor"].map(factor_name)),
                       x="channel", y="contribution_cny", color="factor", lang=nb.lang,
                       title=nb.text("title.decomposition")))
    totals = sales.factor_totals(parts)
    nb.table(totals.assign(factor=totals["factor"].map(factor_name)), units={"contribution_cny": "count"})
    common = {"estimate": summary.main, "headline": True, "delta": summary.delta,
              "factor": nb.t(f"factor.{summary.main_factor}"), "main": summary.main}
    if summary.top is not None:
        nb.finding("decomposition", channel=nb.label(summary.top_channel),
                   top_factor=nb.t(f"factor.{summary.top_factor}"), top=summary.top, **common)
    else:
        nb.finding("decomposition", message="finding.decomposition_total", **common)

# %%
@nb.section("pattern_breaks", needs=sales.NEEDS)
def pattern_breaks(f):
    pb = nb.memo(sales.pattern_breaks, f.channels)
    days = pb.in_period(f).dropna(subset=["baseline"])
    if days.empty:
        nb.say("note.short_history")
        return
    nb.show(charts.band_chart(days, y="actual", title=nb.text("title.pattern_breaks"),
                              y_title=nb.text("title.pattern_breaks_y"), lang=nb.lang))
    nb.say("note.pattern_method", z=pb.threshold)
    flagged = pb.breaks(f)
    nb.table(flagged.assign(date=flagged["date"].dt.strftime("%Y-%m-%d"), campaign=flagged["campaign"].fillna(""))[
        ["date", "actual", "baseline", "excess", "excess_pct", "robust_z", "campaign"]], rows=10,
        units={"actual": "count", "baseline": "count", "excess": "count", "excess_pct": "change", "robust_z": "number"})
    if flagged.empty:
        nb.finding("pattern_breaks", message="finding.pattern_breaks_none", value=0, unit="days", days=len(days),
                   z=pb.threshold)
        return
    top = flagged.iloc[0]
    values = {"value": len(flagged), "unit": "days", "days": len(days), "breaks": len(flagged), "z": pb.threshold,
              "date": f"{top['date']:%Y-%m-%d}", "excess": top["excess"], "pct": top["excess_pct"]}
    if top["campaign"]:
        nb.finding("pattern_breaks", message="finding.pattern_breaks_campaign", campaign=top["campaign"], **values)
    else:
        nb.finding("pattern_breaks", **values)
