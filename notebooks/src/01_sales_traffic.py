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
from workbench import charts, sales
from workbench.stats import fmt_money, fmt_pct

nb = wb.setup("01_sales_traffic", globals())

# %%
@nb.section("kpis", en="How did the headline numbers move?", zh="核心指标变化如何？", needs=sales.NEEDS)
def kpis(f):
    table = sales.kpi_table(nb.data, f)
    nb.table(table.assign(metric=table["metric"].map(nb.label)),
             formats={"current": ",.2f", "comparison": ",.2f", "change": "+.1%"})
    gmv = table.set_index("metric").loc["gmv"]
    orders = table.set_index("metric").loc["orders"]
    nb.finding("gmv", headline=True, value=gmv["current"], unit="CNY", change=gmv["change"],
               en=f"GMV was {fmt_money(gmv['current'], 'en')} over {f.days} days, {fmt_pct(gmv['change'])} on the "
                  f"comparison period ({int(orders['current']):,} orders).",
               zh=f"{f.days} 天成交额 {fmt_money(gmv['current'])}，较对比期 {fmt_pct(gmv['change'])}"
                  f"（订单 {int(orders['current']):,} 笔）。")

# %%
@nb.section("trend", en="How are sales moving day by day?", zh="每日销售走势如何？", needs=sales.NEEDS)
def trend(f):
    daily = sales.daily_with_comparison(nb.data, f, "gmv")
    daily["period"] = daily["period"].map(nb.label)
    nb.show(charts.line(daily, x="date", y="value", color="period", lang=nb.lang,
                        title=nb.text("GMV per day, this period against the comparison period (CNY)",
                                      "每日成交额：本期与对比期（元）"),
                        units={"value": "CNY"}))

# %%
@nb.section("channels", en="Which channels moved the number?", zh="哪些渠道带来了变化？", needs=sales.NEEDS)
def channels_section(f):
    moves = sales.breakdown(nb.data, f, "channel")
    nb.show(charts.bar(moves, x="channel", y="delta", color="channel", lang=nb.lang,
                       title=nb.text("Change in GMV by channel against the comparison period (CNY)",
                                     "各渠道成交额相对对比期的变化（元）")))
    top = moves.iloc[0]
    if top["share_of_change"] == top["share_of_change"]:
        nb.finding("top_channel", value=top["delta"], unit="CNY",
                   en=f"{nb.label(top['channel'])} moved GMV most: {fmt_money(top['delta'], 'en')} "
                      f"({fmt_pct(top['share_of_change'], signed=False, digits=0)} of the total change).",
                   zh=f"变化最大的渠道是{nb.label(top['channel'])}：{fmt_money(top['delta'])}"
                      f"（占总变化的 {fmt_pct(top['share_of_change'], signed=False, digits=0)}）。")

# %%
@nb.section("funnel", en="Where does the funnel leak?", zh="转化漏斗哪里流失最多？", needs=sales.NEEDS_FUNNEL)
def funnel(f):
    rates = sales.funnel_rates(nb.data, f, "source")
    steps = rates[rates["step"] != "sessions"].assign(step=lambda d: d["step"].map(nb.label),
                                                      err=lambda d: d["rate_high"] - d["rate"])
    nb.show(charts.bar(steps, x="step", y="rate", color="source", barmode="group", error="err", lang=nb.lang,
                       title=nb.text("Step conversion by traffic source, with 95% intervals",
                                     "各流量来源的分步转化率（含 95% 置信区间）"),
                       units={"rate": "%"}))
    leak = sales.biggest_leak(rates)
    nb.finding("funnel_leak", value=leak["loss"], unit="share",
               en=f"The funnel loses most at '{nb.label(leak['step'])}': {leak['loss']:.1%} of "
                  f"{int(leak['previous_count']):,} visits drop out there.",
               zh=f"漏斗流失最多的环节是“{nb.label(leak['step'])}”：{int(leak['previous_count']):,} 次访问中"
                  f"有 {leak['loss']:.1%} 在此流失。")
