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
findings_path = ""        # set by `workbench run`

# %%
import workbench as wb
from workbench.present import charts
from workbench.topics import risk
from workbench.stats import fmt_money, fmt_pct

nb = wb.setup("13_risk", globals())
register_file = risk.register_path(nb.data.source)
own_register = register_file != risk.default_register_path()
nb.say(f"Risk register: {'risk_register.yaml beside the data' if own_register else 'the workbench default (put your own risk_register.yaml beside the data)'}.",
       f"风险登记表：{'数据目录中的 risk_register.yaml' if own_register else '工作台默认登记表（可在数据目录放置自己的 risk_register.yaml）'}。")

# %%
@nb.section("alerts", en="Is anything happening now?", zh="现在有风险正在发生吗？", needs=risk.NEEDS_ORDERS)
def alerts(f):
    a = nb.memo(risk.assess, f)
    if a.alerts:
        nb.table(risk.alert_table(a.alerts, nb.lang))
    n_alert = sum(x.level == "alert" for x in a.alerts)
    first = a.alerts[0].text(nb.lang) if a.alerts else ""
    nb.finding("alerts", headline=True, value=n_alert, unit="alerts", status="red" if n_alert else "green",
               en=(f"{n_alert} alerts and {len(a.alerts) - n_alert} watches in the period. First: {first}"
                   if a.alerts else "No alerts in the period: every indicator is within its normal range."),
               zh=(f"本期 {n_alert} 项预警、{len(a.alerts) - n_alert} 项关注。首要：{first}"
                   if a.alerts else "本期无预警：各项指标均在正常范围内。"))

# %%
@nb.section("refunds", en="Are refunds spiking?", zh="退款是否异常激增？", needs=risk.NEEDS_REFUNDS)
def refunds(f):
    a = nb.memo(risk.assess, f)
    nb.show(charts.band_chart(a.refunds, "refunds", lang=nb.lang, flag_low=False,
                            title=nb.text("Refunds per day against the seasonal baseline and its robust band",
                                          "每日退款笔数与季节性基线及稳健区间"),
                            y_title=nb.text("Refunds per day (count)", "每日退款（笔）")))
    s = a.refund_summary
    spikes = risk.spike_days(a.refunds)
    if len(spikes):
        top = spikes.iloc[0]
        en = (f"Refunds spiked on {', '.join(str(d.date()) for d in spikes['date'])}: the largest, "
              f"{int(top['refunds'])} on {top['date'].date()} against about {top['baseline']:.0f} usually "
              f"(robust z {top['robust_z']:.1f}). ")
        zh = (f"退款在 {'、'.join(str(d.date()) for d in spikes['date'])} 激增：最高 {top['date'].date()} "
              f"{int(top['refunds'])} 笔，通常约 {top['baseline']:.0f} 笔（稳健 z 值 {top['robust_z']:.1f}）。")
    else:
        en, zh = "No refund day passed the robust threshold. ", "没有退款日超过稳健阈值。"
    if a.refund_where is not None and len(a.refund_where):
        nb.table(a.refund_where.head(8).assign(dimension=lambda d: d["dimension"].map(nb.label),
                                               value=lambda d: d["value"].map(nb.label)),
                 formats={"usual": ".1f", "excess": "+.1f"})
    nb.finding("refund_rate", headline=True, value=s.rate, unit="share", change=s.change,
               status="red" if len(spikes) else None,
               en=en + f"Refund rate {s.rate:.1%} (95% CI {s.low:.1%}–{s.high:.1%}, n = {s.orders:,} orders), "
                       f"{fmt_pct(s.change)} on the comparison period.",
               zh=zh + f"退款率 {s.rate:.1%}（95% 区间 {s.low:.1%}–{s.high:.1%}，n = {s.orders:,} 单），"
                       f"较对比期 {fmt_pct(s.change)}。")

# %%
@nb.section("kpi_anomalies", en="Did sales fall outside their normal range?", zh="销售是否超出正常波动范围？",
            needs=risk.NEEDS_ORDERS)
def kpi_anomalies(f):
    a = nb.memo(risk.assess, f)
    gmv = a.kpis[a.kpis["metric"] == "gmv"]
    nb.show(charts.band_chart(gmv, "value", lang=nb.lang,
                            title=nb.text("GMV per day against the seasonal baseline and its robust band",
                                          "每日成交额与季节性基线及稳健区间"),
                            y_title=nb.text("GMV per day (CNY)", "每日成交额（元）")))
    per = gmv[gmv["in_period"]]
    low = per[(per["robust_z"] < -risk.Z_ALERT) & per["campaign"].isna()]
    high = per[per["robust_z"] > risk.Z_ALERT]
    nb.finding("kpi_anomalies", value=len(low), unit="days",
               en=f"{len(low)} days of the period had GMV below its normal range outside campaigns, "
                  f"{len(high)} above it (n = {len(per)} days; band = weekday median of 8 weeks ± "
                  f"{risk.Z_ALERT:g} robust standard deviations).",
               zh=f"本期非大促期间有 {len(low)} 天成交额低于正常范围，{len(high)} 天高于正常范围"
                  f"（共 {len(per)} 天；区间 = 近 8 周同星期中位数 ± {risk.Z_ALERT:g} 个稳健标准差）。")

# %%
@nb.section("suspicious", en="Are there fraud rings or coupon abuse?", zh="是否存在羊毛党或团伙刷单？",
            needs=risk.NEEDS_SUSPICIOUS)
def suspicious(f):
    a = nb.memo(risk.assess, f)
    rings = a.rings
    if rings is None or rings.empty:
        nb.finding("rings", value=0, unit="accounts",
                   en="No address is shared by three or more accounts that ordered in the period.",
                   zh="本期没有三个及以上下单账户共用同一地址的情况。")
        return
    nb.table(rings.head(10).drop(columns=["first_signup", "last_signup"]),
             formats={"top_coupon_share": ".0%", "tail_p": ".1e", "score": ".1f", "orders": ",.0f",
                      "coupon_orders": ",.0f", "refund_orders": ",.0f"})
    flagged = rings[rings["score"] >= 6]
    out = a.refund_outliers
    n_out = int(out["flagged"].sum()) if out is not None and len(out) else 0
    if len(flagged):
        r = flagged.iloc[0]
        nb.finding("rings", headline=False, value=float(flagged["accounts"].sum()), unit="accounts", status="red",
                   en=f"{len(flagged)} shared addresses look like rings; the strongest has {int(r['accounts'])} "
                      f"accounts with {r['top_coupon_share']:.0%} of {int(r['orders'])} orders on coupon "
                      f"{r['top_coupon']} (p = {r['tail_p']:.0e}). {n_out} customers refund unusually often.",
                   zh=f"{len(flagged)} 个共享地址疑似团伙；最可疑的地址有 {int(r['accounts'])} 个账户，"
                      f"{int(r['orders'])} 笔订单中 {r['top_coupon_share']:.0%} 使用优惠券 {r['top_coupon']}"
                      f"（p = {r['tail_p']:.0e}）。另有 {n_out} 位客户退款异常频繁。")
    else:
        nb.finding("rings", value=0, unit="accounts",
                   en=f"Shared addresses exist ({len(rings)}) but none is unusual enough to flag; "
                      f"{n_out} customers refund unusually often.",
                   zh=f"存在 {len(rings)} 个共享地址，但都未达到可疑阈值；{n_out} 位客户退款异常频繁。")

# %%
@nb.section("stock", en="Which products may run out?", zh="哪些商品可能断货？", needs=risk.NEEDS_STOCK)
def stock(f):
    a = nb.memo(risk.assess, f)
    cover = a.cover
    if cover is None or cover.empty:
        nb.say("No product sold in the last 28 days, so no stock-out risk can be measured.",
               "近 28 天没有商品售出，无法评估断货风险。")
        return
    low = cover.head(15)
    fig = charts.bar(low, x="product_id", y="cover_days", color="level", low="cover_low", high="cover_high",
                     bounds=(0, float("inf")), lang=nb.lang,
                        title=nb.text(f"Days of cover of the 15 lowest products on {cover.attrs['as_of']} "
                                      "(stock ÷ average daily sales of 28 days, with 95% upper bound)",
                                      f"{cover.attrs['as_of']} 可售天数最低的 15 个商品（库存 ÷ 近 28 天日均销量，"
                                      "含 95% 上限）"),
                        units={"cover_days": nb.text("days", "天")})
    nb.show(fig)
    n_red = int((cover["level"] == "alert").sum())
    gmv_at_risk = float(cover.loc[cover["level"] == "alert", "gmv_28d"].sum())
    nb.finding("stock_out", value=n_red, unit="products", status="red" if n_red else "green",
               en=f"{n_red} of {len(cover)} selling products have under {risk.COVER_RED:g} days of cover; they sold "
                  f"{fmt_money(gmv_at_risk, 'en')} in the last 28 days.",
               zh=f"{len(cover)} 个在售商品中有 {n_red} 个可售不足 {risk.COVER_RED:g} 天，近 28 天销售额 "
                  f"{fmt_money(gmv_at_risk)}。")

# %%
@nb.section("concentration", en="Do we depend too much on one platform, supplier or carrier?",
            zh="是否过度依赖某一平台、供应商或快递？", needs=risk.NEEDS_CONCENTRATION)
def concentration(f):
    a = nb.memo(risk.assess, f)
    table = risk.concentration_table(a.concentration)
    shown = table.assign(dimension=table["dimension"].map(nb.label))
    fig = charts.bar(shown, x="dimension", y="hhi", low="hhi_low", high="hhi_high", bounds=(0, 1), lang=nb.lang,
                        title=nb.text("Concentration index (HHI) by dimension, with 95% intervals; "
                                      "0.15 moderate, 0.25 high",
                                      "各维度集中度指数 (HHI) 及 95% 区间；0.15 为中度，0.25 为高度"),
                        units={"hhi": "0–1"})
    fig.add_hline(y=0.15, line_dash="dot", line_color="#f08c00")
    fig.add_hline(y=0.25, line_dash="dot", line_color="#c2255c")
    nb.show(fig)
    nb.table(table.assign(dimension=table["dimension"].map(nb.label), top=table["top"].map(nb.label),
                          level=table["level"].map(nb.label)),
             formats={"hhi": ".3f", "hhi_low": ".3f", "hhi_high": ".3f", "equivalent_n": ".1f", "top_share": ".0%",
                      "n": ",d"})
    worst = table.sort_values("hhi", ascending=False).iloc[0]
    nb.finding("concentration", value=worst["hhi"], unit="hhi",
               en=f"Most concentrated: {nb.label(worst['dimension']).lower()} (HHI {worst['hhi']:.2f}, 95% CI "
                  f"{worst['hhi_low']:.2f}–{worst['hhi_high']:.2f}, as if {worst['equivalent_n']:.1f} equal partners); "
                  f"{nb.label(worst['top'])} alone holds {worst['top_share']:.0%}.",
               zh=f"集中度最高的是{nb.label(worst['dimension'])}（HHI {worst['hhi']:.2f}，95% 区间 "
                  f"{worst['hhi_low']:.2f}–{worst['hhi_high']:.2f}，相当于 {worst['equivalent_n']:.1f} 个同等规模伙伴）；"
                  f"{nb.label(worst['top'])} 独占 {worst['top_share']:.0%}。")

# %%
@nb.section("currency", en="How exposed are we to exchange rates?", zh="汇率风险敞口有多大？",
            needs=risk.NEEDS_CURRENCY)
def currency(f):
    a = nb.memo(risk.assess, f)
    fx = a.currency
    if fx is None or fx.empty:
        nb.finding("currency", value=0, unit="CNY", en="No sales in foreign currencies in the period.",
                   zh="本期没有外币销售。")
        return
    nb.show(charts.bar(fx, x="currency", y="exposure_cny", lang=nb.lang,
                          title=nb.text("Sales in foreign currencies in the period (CNY)", "本期外币销售额（元）"),
                          units={"exposure_cny": "CNY"}))
    nb.table(fx, formats={"exposure_cny": ",.0f", "orders": ",.0f", "share_of_gmv": ".1%", "rate_change": "+.2%",
                          "vol_daily": ".2%", "var_30d_cny": ",.0f"})
    share = float(fx["share_of_gmv"].sum())
    var = float(fx["var_30d_cny"].sum())
    nb.finding("currency", value=var, unit="CNY",
               en=f"{share:.1%} of GMV is sold in foreign currencies ({int(fx['orders'].sum()):,} orders); at the "
                  f"period's pace a 30-day 95% value at risk is {fmt_money(var, 'en')}.",
               zh=f"{share:.1%} 的成交额以外币结算（{int(fx['orders'].sum()):,} 单）；按本期节奏，30 天 95% 风险值为 "
                  f"{fmt_money(var)}。")

# %%
@nb.section("register", en="Which risks matter most, given what the data show?", zh="结合数据，哪些风险最需要关注？",
            needs=risk.NEEDS_REGISTER)
def register(f):
    a = nb.memo(risk.assess, f)
    reg = risk.apply_indicators(risk.load_register(register_file), a.indicators)
    nb.show(charts.matrix_chart(reg, lang=nb.lang,
                              title=nb.text("Risk matrix: likelihood × impact (filled: likelihood from the data)",
                                            "风险矩阵：可能性 × 影响（实心：可能性来自数据）")))
    name, mit = ("risk_zh", "mitigation_zh") if nb.lang == "zh" else ("risk_en", "mitigation_en")
    nb.table(reg.assign(category=reg["category"].map(nb.label),
                        likelihood_source=reg["likelihood_source"].map(nb.label),
                        level=reg["level"].map(lambda v: nb.label(v) if v else ""))
             [["id", name, "category", "owner", "likelihood", "impact", "exposure", "likelihood_source", "level", mit]]
             .rename(columns={name: "risk", mit: "mitigation"}),
             formats={"likelihood": ".0f", "impact": ".0f", "exposure": ".0f"})
    top = reg.iloc[0]
    nb.finding("top_risk", value=top["exposure"], unit="score",
               en=f"The largest risk now is '{top['risk_en']}' (likelihood {top['likelihood']:.0f} from the "
                  f"{top['likelihood_source']} × impact {top['impact']:.0f}); owner: {top['owner']}.",
               zh=f"当前最大风险是“{top['risk_zh']}”（可能性 {top['likelihood']:.0f}，来自"
                  f"{'数据' if top['likelihood_source'] == 'data' else '登记表'} × 影响 {top['impact']:.0f}）；"
                  f"负责人：{top['owner']}。")
