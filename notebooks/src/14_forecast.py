# %%
# Parameters: every knob of this notebook, with its default (see `workbench run --help`).
data = ""                 # folder of the shop's tables; empty: the sample shop
start = ""                # YYYY-MM-DD; empty: from `period`
end = ""                  # YYYY-MM-DD; empty: from `period` (the forecast starts the day after)
period = "last-28d"       # last-7d, last-28d, last-90d, last-365d, mtd, qtd, ytd, all
as_of = ""                # reference day of `period`; empty: last day with orders
channels = "all"          # "all" or e.g. "tmall,jd,douyin"
compare = "previous"      # previous, last_year, none
language = "zh"           # zh or en
engine = ""               # duckdb, spark or spark:MASTER (local[N], spark://…, sc://…); empty: duckdb
horizon_weeks = 8         # how far ahead to forecast, in weeks
freq = "D"                # D (days), W (weeks) or M (months): the periods the forecast is shown in
lead_time_days = 14       # days from placing a purchase order to the goods being sellable
service_level = 0.95      # chance of no stock-out while an order is on its way
findings_path = ""        # set by `workbench run`

# %%
import workbench as wb
from workbench.errors import ParameterError
from workbench.present import charts, forecast_charts
from workbench.text import fmt
from workbench.topics import forecast as fc

nb = wb.setup("14_forecast", globals())
HORIZON = int(horizon_weeks) * 7
FREQ = str(freq).upper()
if FREQ not in fc.FREQS:
    raise ParameterError(f"parameter 'freq' = {freq!r}: expected D, W or M")
HISTORY_SHOWN = {"D": 84, "W": 26, "M": 12}[FREQ]  # periods of history drawn before the forecast


def kinds(keys):
    """The event kinds of a forecast period as the page writes them."""
    return "、".join(nb.label(k) for k in keys.split()) if nb.lang == "zh" else ", ".join(
        nb.label(k) for k in keys.split())


def backtest_values(r):
    """The backtest figures a finding quotes."""
    b, mb = r.backtest, r.model_backtest
    return {"mase": r.mase, "ratio": r.ratio, "coverage": r.coverage_95, "origins": b.origins if b else 0,
            "naive_mase": mb.mase_naive if mb else float("nan")}


# %%
@nb.section("shop", needs=fc.NEEDS_UNITS)
def shop(f):
    for metric in fc.METRICS:
        r = nb.memo(fc.forecast, fc.origin_filters(f), metric, "total", "total", HORIZON, FREQ)
        names = {"actual": nb.label("actual"), "forecast": nb.label("forecast"),
                 "band_95": nb.text("title.band", level=fmt.level(0.95)),
                 "band_80": nb.text("title.band", level=fmt.level(0.8))}
        nb.show(forecast_charts.fan(r.history.tail(HISTORY_SHOWN), r.forecast, names,
                                    nb.text(f"title.{metric}", freq=nb.text(f"freq.{FREQ}"), weeks=horizon_weeks),
                                    nb.label("date"), nb.label(metric)))
        if r.method == "seasonal_naive":
            nb.say("note.naive_shown", metric=nb.text(f"metric.{metric}"), **backtest_values(r))
        nb.finding(f"forecast_{metric}", headline=metric == "gmv", estimate=r.total, low80=r.total_80,
                   weeks=horizon_weeks, metric=nb.text(f"metric.{metric}"),
                   message="finding.forecast" if r.method == "calendar" else "finding.forecast_naive",
                   **backtest_values(r))
    nb.say("note.method", level=fmt.level(0.95))


# %%
@nb.section("events", needs=fc.NEEDS)
def events(f):
    r = nb.memo(fc.forecast, fc.origin_filters(f), "gmv", "total", "total", HORIZON, FREQ)
    ev = r.events
    if ev.empty:
        nb.say("note.no_events", weeks=horizon_weeks)
        return
    shown = ev.assign(event=ev["kind"].map(nb.label),
                      name=[nb.label(k) if s == "holiday" else n for k, n, s in zip(ev["kind"], ev["name"], ev["source"])],
                      source=ev["source"].map(lambda s: nb.text(f"source.{s}")),
                      start=ev["start"].dt.strftime("%Y-%m-%d"), end=ev["end"].dt.strftime("%Y-%m-%d"))
    nb.table(shown[["event", "name", "start", "end", "source"]], context="forecast")
    rows = r.forecast[r.forecast["event"] != ""]
    peak = rows.loc[rows["forecast"].idxmax()] if len(rows) else r.forecast.loc[r.forecast["forecast"].idxmax()]
    nb.finding("events", value=len(ev), unit="count", events=len(ev), weeks=horizon_weeks,
               day=f"{peak['date']:%Y-%m-%d}", kinds=kinds(peak["event"]) or nb.text("source.none"),
               gmv=peak["forecast"])


# %%
def _breakdown(f, by):
    table = nb.memo(fc.breakdown, fc.origin_filters(f), "gmv", by, HORIZON, FREQ)
    if table.empty:
        nb.say("note.no_breakdown")
        return
    shown = table.rename(columns={"key": by})
    nb.show(charts.interval_bar(shown, x=by, y="forecast", low="low_95", high="high_95", lang=nb.lang,
                                bounds=(0.0, float("inf")), color=by,
                                title=nb.text("title.breakdown", by=nb.label(by), weeks=horizon_weeks,
                                              level=fmt.level(0.95))).update_layout(showlegend=False)
            .update_xaxes(title=nb.label(by)).update_yaxes(title=nb.label("gmv")))
    cols = table.assign(key=table["key"], method=table["method"].map(lambda m: nb.label(m, context="forecast")),
                        beats_naive=table["beats_naive"].map(lambda b: nb.text("yes" if b else "no")))
    nb.table(cols[["key", "forecast", "low_95", "high_95", "method", "mase_ratio", "coverage_95", "beats_naive"]]
             .rename(columns={"key": by}), values=[by], context="forecast",
             units={"forecast": "money", "low_95": "money", "high_95": "money", "mase_ratio": "ratio",
                    "coverage_95": "share"})
    top = table.iloc[0]
    nb.finding(f"{by}_forecast", estimate=fc.row_estimate(top, "gmv"), name=nb.label(top["key"]),
               weeks=horizon_weeks, beat=int(table["beats_naive"].sum()), keys=len(table), message="finding.breakdown")


@nb.section("channels", needs=fc.NEEDS)
def channels_section(f):
    _breakdown(f, "channel")


@nb.section("categories", needs=fc.NEEDS_CATEGORY)
def categories(f):
    _breakdown(f, "category")


# %%
@nb.section("replenishment", needs=fc.NEEDS_STOCK)
def replenishment(f):
    table = nb.memo(fc.replenishment, fc.origin_filters(f), int(lead_time_days), float(service_level), HORIZON)
    if table.empty:
        nb.say("note.no_products")
        return
    urgent = table.head(15)
    nb.show(charts.bar(urgent.assign(name=urgent["name"].fillna(urgent["product_id"])).rename(
                           columns={"days_of_cover": "cover_days"}), x="name", y="cover_days",
                       lang=nb.lang, title=nb.text("title.cover", lead=int(lead_time_days)))
            .update_xaxes(title=nb.label("product_id")).update_yaxes(title=nb.text("title.cover_axis")))
    shown = urgent.assign(name=urgent["name"].fillna(urgent["product_id"]),
                          method=urgent["method"].map(lambda m: nb.label(m, context="forecast")),
                          reorder_now=urgent["reorder_now"].map(lambda b: nb.text("yes" if b else "no")))
    nb.table(shown[["name", "category", "method", "units_per_day", "safety_stock", "reorder_point", "stock_on_hand",
                    "days_of_cover", "reorder_now"]], values=["category"], context="forecast",
             units={"units_per_day": "number", "safety_stock": "count", "reorder_point": "count",
                    "stock_on_hand": "count", "days_of_cover": "days"})
    nb.say("note.replenishment", lead=int(lead_time_days), service=float(service_level),
           slow=int((table["method"] != "ses").sum()), products=len(table))
    reorder = int(table["reorder_now"].sum())
    share = reorder / len(table)
    nb.finding("reorder", headline=True, value=share, unit="share", share=share, reorder=reorder,
               products=len(table), lead=int(lead_time_days), service=float(service_level),
               status="red" if share > 0.2 else ("amber" if reorder else "green"))
