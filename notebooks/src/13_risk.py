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
from workbench.present import charts, risk_charts
from workbench.stats.result import Estimate
from workbench.text import fmt
from workbench.topics import kpi, risk

nb = wb.setup("13_risk", globals())
register_file = risk.register_path(nb.data.source)
nb.say("note.register_own" if register_file != risk.default_register_path() else "note.register_default")

# %%
@nb.section("alerts", needs=risk.NEEDS_ORDERS)
def alerts(f):
    a = nb.memo(risk.assess, f)
    if a.alerts:
        nb.table(risk_charts.alert_table(a.alerts, nb.lang), rows=30)
    flagged = {x.values["metric"] for x in a.alerts if x.key == "kpi"}
    for k in a.registry:
        if k.key in flagged:  # the KPI alerts shown are the registry's own figures
            nb.record_kpi(k)
    kpi_red = sum(x.key == "kpi" and x.level == "alert" for x in a.alerts)
    kpi_amber = sum(x.key == "kpi" and x.level != "alert" for x in a.alerts)
    n_alert = a.n_alerts
    red_calendar = [x.values["metric"] for x in a.alerts
                    if x.key == "kpi" and x.level == "alert" and x.values["metric"] in kpi.LIKE_FOR_LIKE]
    c = nb.memo(kpi.campaign_context, f) if red_calendar else None
    if c is not None and c.uneven and "gmv" in c.without_campaigns and c.without_campaigns["gmv"].status != "red":
        lfl = c.without_campaigns["gmv"]
        nb.say("note.calendar", cmp_days=len(c.comparison), cur_days=len(c.current),
               cmp_campaigns=nb.t("list_sep").join(nb.label(k) for k in c.comparison_kinds) or nb.t("none_word"),
               lfl=lfl.change, status=nb.label(lfl.status, context="kpi_status"))
    est = Estimate(n_alert, n=len(a.alerts), method="count", unit="count")
    if not a.alerts:
        nb.finding("alerts", headline=True, estimate=est, status="green", message="finding.alerts_none")
        return
    nb.finding("alerts", headline=True, estimate=est, status="red" if n_alert else "amber",
               alerts=n_alert, watches=len(a.alerts) - n_alert, red_kpis=kpi_red, amber_kpis=kpi_amber,
               first=risk_charts.alert_sentence(a.alerts[0], nb.lang))

# %%
@nb.section("refunds", needs=risk.NEEDS_REFUNDS)
def refunds(f):
    a = nb.memo(risk.assess, f)
    nb.show(charts.band_chart(a.refunds, "refunds", lang=nb.lang, flag_low=False, title=nb.text("title.refunds"),
                              y_title=nb.text("title.refunds_y")))
    k = a.refund_summary
    spikes = risk.spike_days(a.refunds)
    if a.refund_where is not None and len(a.refund_where):
        where = a.refund_where.head(8)
        where = where.assign(value=[nb.label(v, context=d) for d, v in zip(where["dimension"], where["value"])])
        nb.table(where, values=["dimension"], context="risk",
                 units={"refunds": "count", "usual": "number", "excess": "number"})
    if len(spikes):
        top = spikes.iloc[0]
        nb.finding("refund_spike", headline=True, status="red",
                   estimate=Estimate(float(top["refunds"]), n=int(top["orders"]), method="robust-z", unit="count"),
                   days=nb.t("list_sep").join(str(d.date()) for d in spikes["date"]), day=str(top["date"].date()),
                   refunds=int(top["refunds"]), usual=float(top["baseline"]), z=float(top["robust_z"]))
    else:
        nb.finding("refund_spike", status="green", message="finding.refund_spike_none",
                   estimate=Estimate(0, method="robust-z", unit="count"))
    nb.finding("refund_rate", headline=True, estimate=k.value, kpi=k, change=k.change, status=k.status,
               status_reason=k.reason, rate=k.value, delta=k.change)


# %%
@nb.section("kpi_anomalies", needs=risk.NEEDS_ORDERS)
def kpi_anomalies(f):
    a = nb.memo(risk.assess, f)
    gmv = a.kpis[a.kpis["metric"] == "gmv"]
    nb.show(charts.band_chart(gmv, "value", lang=nb.lang, title=nb.text("title.gmv_band"),
                              y_title=nb.text("title.gmv_band_y")))
    per = gmv[gmv["in_period"]]
    low = per[(per["robust_z"] < -risk.Z_ALERT) & per["campaign"].isna()]
    high = per[per["robust_z"] > risk.Z_ALERT]
    nb.finding("kpi_anomalies", estimate=Estimate(len(low), n=len(per), method="robust-z", unit="count"),
               low=len(low), high=len(high), days=len(per), z=risk.Z_ALERT)

# %%
@nb.section("suspicious", needs=risk.NEEDS_SUSPICIOUS)
def suspicious(f):
    a = nb.memo(risk.assess, f)
    rings = a.rings
    out = a.refund_outliers
    n_out = int(out["flagged"].sum()) if out is not None and len(out) else 0
    if rings is None or rings.empty:
        nb.finding("rings", estimate=Estimate(0, method="count", unit="count"), message="finding.rings_none",
                   outliers=n_out)
        return
    shown = rings.head(10).assign(tail_p=lambda d: d["tail_p"].map(lambda p: risk_charts.p_text(p, nb.lang)))
    nb.table(shown[["address_token", "accounts", "orders", "coupon_orders", "top_coupon", "top_coupon_share",
                    "refund_orders", "tail_p"]],
             units={"accounts": "count", "orders": "count", "coupon_orders": "count", "top_coupon_share": "share",
                    "refund_orders": "count"})
    flagged = rings[rings["score"] >= 6]
    if len(flagged):
        r = flagged.iloc[0]
        nb.finding("rings", status="red",
                   estimate=Estimate(float(flagged["accounts"].sum()), n=int(flagged["orders"].sum()),
                                     method="poisson-tail", unit="count"),
                   rings=len(flagged), accounts=int(r["accounts"]), share=float(r["top_coupon_share"]),
                   orders=int(r["orders"]), coupon=str(r["top_coupon"]), p=risk_charts.p_text(r["tail_p"], nb.lang),
                   outliers=n_out)
    else:
        nb.finding("rings", estimate=Estimate(0, method="count", unit="count"), message="finding.rings_unflagged",
                   addresses=len(rings), outliers=n_out)

# %%
@nb.section("stock", needs=risk.NEEDS_STOCK)
def stock(f):
    a = nb.memo(risk.assess, f)
    cover = a.cover
    if cover is None or cover.empty:
        nb.say("note.no_cover")
        return
    low = cover.head(15).assign(product=lambda d: d["name"].fillna(d["product_id"]))
    nb.show(charts.bar(low, x="product", y="cover_days", color="level", low="cover_low", high="cover_high",
                       bounds=(0, float("inf")), lang=nb.lang,
                       title=nb.text("title.cover" if cover.attrs["method"] == "forecast" else "title.cover_recent",
                                     day=str(cover.attrs["as_of"]), n=len(low))))
    if cover.attrs["method"] == "forecast":
        nb.say("note.cover_forecast", reorder=int(cover["reorder_now"].sum()),
               lead=cover.attrs["lead_time_days"], service=fmt.level(cover.attrs["service_level"]))
    else:
        nb.say("note.cover_recent")
    n_red = int((cover["level"] == "alert").sum())
    gmv_at_risk = float(cover.loc[cover["level"] == "alert", "gmv_28d"].sum())
    nb.finding("stock_out", status="red" if n_red else "green", message=None if n_red else "finding.stock_out_none",
               estimate=Estimate(n_red, n=len(cover), method="count", unit="count"),
               red=n_red, total=len(cover), cover_red=risk.COVER_RED, gmv=gmv_at_risk)

# %%
@nb.section("concentration", needs=risk.NEEDS_CONCENTRATION)
def concentration(f):
    a = nb.memo(risk.assess, f)
    table = risk.concentration_table(a.concentration)
    fig = charts.bar(table, x="dimension", y="hhi", low="hhi_low", high="hhi_high", bounds=(0, 1), lang=nb.lang,
                     title=nb.text("title.concentration"))
    fig.add_hline(y=0.15, line_dash="dot", line_color="#f08c00")
    fig.add_hline(y=0.25, line_dash="dot", line_color="#c2255c")
    nb.show(fig)
    nb.table(table[["dimension", "hhi", "hhi_low", "hhi_high", "equivalent_n", "top", "top_share", "groups", "level"]],
             values=["dimension", "top", "level"],
             units={"hhi": "number", "hhi_low": "number", "hhi_high": "number", "top_share": "share",
                    "groups": "count"}, formats={"equivalent_n": ".1f"})
    worst = max(a.concentration, key=lambda c: c.hhi)
    nb.finding("concentration", estimate=worst.estimate, hhi=worst.estimate, dimension=worst.dimension,
               equivalent=worst.equivalent_n, top=worst.top, share=worst.top_share)

# %%
@nb.section("currency", needs=risk.NEEDS_CURRENCY)
def currency(f):
    a = nb.memo(risk.assess, f)
    fx = a.currency
    if fx is None or fx.empty:
        nb.finding("currency", estimate=Estimate(0, method="total", unit="money"), message="finding.currency_none")
        return
    nb.show(charts.bar(fx, x="currency", y="exposure_cny", lang=nb.lang, title=nb.text("title.currency")))
    nb.table(fx, units={"exposure_cny": "money", "orders": "count", "share_of_gmv": "share", "rate_change": "change",
                        "var_30d_cny": "money"}, formats={"vol_daily": ".2%"})
    var = float(fx["var_30d_cny"].sum())
    nb.finding("currency", estimate=Estimate(var, method="var-normal", unit="money"),
               share=float(fx["share_of_gmv"].sum()), orders=int(fx["orders"].sum()), var=var)

# %%
@nb.section("register", needs=risk.NEEDS_REGISTER)
def register(f):
    a = nb.memo(risk.assess, f)
    lang = nb.lang
    reg = risk.apply_indicators(risk.load_register(register_file), a.indicators)
    reg = reg.assign(no=range(1, len(reg) + 1), risk=reg[f"risk_{lang}"])
    nb.show(risk_charts.matrix_chart(reg, lang=nb.lang, title=nb.text("title.matrix")))
    shown = reg.assign( register_owner=reg[f"owner_{lang}"],
                       mitigation=reg[f"mitigation_{lang}"],
                       likelihood_source=reg["likelihood_source"],
                       level=reg["level"].fillna("none_indicator"))
    # two tables of few, labelled columns: the ranking, then what to do about each risk
    nb.table(shown[["no", "risk", "category", "likelihood", "impact", "exposure", "likelihood_source", "level"]],
             values=["category", "likelihood_source", "level"], context="risk",
             units={"likelihood": "count", "impact": "count", "exposure": "count"})
    nb.table(shown[["no", "risk", "register_owner", "mitigation"]], context="risk")
    top = reg.iloc[0]
    nb.finding("top_risk", estimate=Estimate(top["exposure"], method="likelihood-x-impact", unit="count"),
               risk=top[f"risk_{lang}"], likelihood=top["likelihood"], source=top["likelihood_source"],
               impact=top["impact"], owner=top[f"owner_{lang}"])
