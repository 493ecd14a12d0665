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
from workbench.topics import sales
from workbench.stats import fmt_money, fmt_pct

nb = wb.setup("01_sales_traffic", globals())

# %%
@nb.section("kpis", en="How did the headline numbers move?", zh="核心指标变化如何？", needs=sales.NEEDS)
def kpis(f):
    table = sales.kpi_table(nb.data, f)
    nb.table(table.assign(metric=table["metric"].map(nb.label)),
             formats={"current": ",.2f", "comparison": ",.2f", "change": "+.1%"})
    k = table.set_index("metric")
    gmv, orders, aov = k.loc["gmv"], k.loc["orders"], k.loc["aov"]
    nb.finding("gmv", headline=True, value=gmv["current"], unit="CNY", change=gmv["change"],
               en=f"GMV was {fmt_money(gmv['current'], 'en')} over {f.days} days, {fmt_pct(gmv['change'])} on the "
                  f"comparison period ({int(orders['current']):,} orders).",
               zh=f"{f.days} 天成交额 {fmt_money(gmv['current'])}，较对比期 {fmt_pct(gmv['change'])}"
                  f"（订单 {int(orders['current']):,} 笔）。")
    nb.finding("aov", value=aov["current"], unit="CNY", change=aov["change"],
               en=f"Average order value {aov['current']:,.1f} CNY ({fmt_pct(aov['change'])}); "
                  f"{int(k.loc['new_buyers', 'current']):,} new and {int(k.loc['returning_buyers', 'current']):,} "
                  f"returning buyers.",
               zh=f"客单价 {aov['current']:,.1f} 元（{fmt_pct(aov['change'])}）；新买家 "
                  f"{int(k.loc['new_buyers', 'current']):,} 人，老买家 {int(k.loc['returning_buyers', 'current']):,} 人。")

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
@nb.section("weeks_months", en="How do the weeks and months compare?", zh="按周、按月看表现如何？",
            needs=sales.NEEDS)
def weeks_months(f):
    weekly = sales.kpi_series(nb.data, f, "week")
    shown = weekly.assign(period=weekly["period"].map(nb.label))
    nb.show(charts.bar(shown, x="bucket", y="gmv", color="period", barmode="group", lang=nb.lang,
                       title=nb.text("GMV per week (weeks starting Monday; comparison shifted onto this period, CNY)",
                                     "每周成交额（周一起算，对比期已对齐到本期，元）"),
                       units={"gmv": "CNY"}))
    monthly = sales.kpi_series(nb.data, f, "month")
    wide = monthly.pivot_table(index="bucket", columns="period", values=["gmv", "orders", "aov"]).reset_index()
    wide.columns = ["_".join(c).strip("_") for c in wide.columns]
    nb.table(wide.assign(bucket=wide["bucket"].dt.strftime("%Y-%m")),
             formats={c: ",.0f" for c in wide.columns if c != "bucket"})
    cur = weekly[weekly["period"] == "current"]
    full = cur[cur["days"] == 7]
    if len(full):
        best = full.loc[full["gmv"].idxmax()]
        nb.finding("best_week", value=best["gmv"], unit="CNY",
                   en=f"The strongest full week began {best['bucket']:%Y-%m-%d}: {fmt_money(best['gmv'], 'en')} "
                      f"from {int(best['orders']):,} orders.",
                   zh=f"最强的完整周始于 {best['bucket']:%Y-%m-%d}：成交额 {fmt_money(best['gmv'])}，"
                      f"订单 {int(best['orders']):,} 笔。")

# %%
def movers(f, by, title_en, title_zh):
    """Draw the change in GMV by one dimension and word the top mover (a notebook helper, no analysis)."""
    moves = sales.breakdown(nb.data, f, by)
    if moves.empty:
        nb.say("No orders in this period.", "本期没有订单。")
        return
    shown = moves.assign(**{by: moves[by].map(nb.label)})
    nb.show(charts.bar(shown, x=by, y="delta", color=by if by == "channel" else None, lang=nb.lang,
                       title=nb.text(title_en, title_zh), units={"delta": "CNY"}))
    nb.table(shown[[by, "gmv", "gmv_comparison", "delta", "change", "share_of_change", "orders"]],
             formats={"gmv": ",.0f", "gmv_comparison": ",.0f", "delta": "+,.0f", "change": "+.1%",
                      "share_of_change": ".0%", "orders": ",.0f"}, rows=10)
    top = moves.iloc[0]
    if top["share_of_change"] == top["share_of_change"]:
        nb.finding(f"top_{by}", value=top["delta"], unit="CNY", change=top["change"],
                   en=f"By {nb.label(by).lower()}, {nb.label(top[by])} moved GMV most: {fmt_money(top['delta'], 'en')} "
                      f"({fmt_pct(top['change'])}; {fmt_pct(top['share_of_change'], signed=False, digits=0)} of the "
                      f"total change).",
                   zh=f"按{nb.label(by)}看，变化最大的是{nb.label(top[by])}：{fmt_money(top['delta'])}"
                      f"（{fmt_pct(top['change'])}，占总变化的 {fmt_pct(top['share_of_change'], signed=False, digits=0)}）。")


# %%
@nb.section("channels", en="Which channels moved the number?", zh="哪些渠道带来了变化？",
            needs=sales.BREAKDOWN_NEEDS["channel"])
def channels_section(f):
    movers(f, "channel", "Change in GMV by channel against the comparison period (CNY)",
           "各渠道成交额相对对比期的变化（元）")

# %%
@nb.section("categories", en="Which categories moved the number?", zh="哪些品类带来了变化？",
            needs=sales.BREAKDOWN_NEEDS["category"])
def categories_section(f):
    movers(f, "category", "Change in line value by category against the comparison period (CNY)",
           "各品类商品成交额相对对比期的变化（元）")

# %%
@nb.section("regions", en="Which regions moved the number?", zh="哪些地区带来了变化？",
            needs=sales.BREAKDOWN_NEEDS["region"])
def regions_section(f):
    movers(f, "region", "Change in GMV by destination region against the comparison period (CNY)",
           "各收货地区成交额相对对比期的变化（元）")

# %%
@nb.section("customer_types", en="Did new or returning customers move the number?", zh="新客还是老客带来了变化？",
            needs=sales.BREAKDOWN_NEEDS["customer_type"])
def customer_types_section(f):
    movers(f, "customer_type", "Change in GMV by new and returning buyers against the comparison period (CNY)",
           "新老客成交额相对对比期的变化（元）")

# %%
@nb.section("member_tiers", en="Which membership tiers moved the number?", zh="哪些会员等级带来了变化？",
            needs=sales.BREAKDOWN_NEEDS["member_tier"])
def member_tiers_section(f):
    movers(f, "member_tier", "Change in GMV by membership tier against the comparison period (CNY)",
           "各会员等级成交额相对对比期的变化（元）")

# %%
@nb.section("funnel", en="Where does the funnel leak?", zh="转化漏斗哪里流失最多？", needs=sales.NEEDS_FUNNEL)
def funnel(f):
    rates = sales.funnel_rates(nb.data, f, "source")
    if rates.empty:
        nb.say("No traffic recorded in this period.", "本期没有流量记录。")
        return
    steps = rates[rates["step"] != "sessions"].assign(step=lambda d: d["step"].map(nb.label),
                                                      err=lambda d: d["rate_high"] - d["rate"])
    nb.show(charts.bar(steps, x="step", y="rate", color="source", barmode="group", error="err", lang=nb.lang,
                       title=nb.text("Step conversion by traffic source, with 95% intervals",
                                     "各流量来源的分步转化率（含 95% 置信区间）"),
                       units={"rate": "%"}))
    overall = sales.overall_conversion(rates, "source")
    nb.table(overall.assign(source=overall["source"].map(nb.label)),
             formats={"sessions": ",.0f", "paid_orders": ",.0f", "rate": ".2%", "rate_low": ".2%",
                      "rate_high": ".2%"})
    leak = sales.biggest_leak(rates)
    nb.finding("funnel_leak", value=leak["loss"], unit="share",
               en=f"The funnel loses most at '{nb.label(leak['step'])}': {leak['loss']:.1%} of "
                  f"{int(leak['previous_count']):,} visits drop out there.",
               zh=f"漏斗流失最多的环节是“{nb.label(leak['step'])}”：{int(leak['previous_count']):,} 次访问中"
                  f"有 {leak['loss']:.1%} 在此流失。")
    best = overall.iloc[0]
    nb.finding("best_source", value=best["rate"], unit="share",
               en=f"{nb.label(best['source'])} converts best: {best['rate']:.2%} of sessions pay "
                  f"(95% CI {best['rate_low']:.2%}–{best['rate_high']:.2%}, n = {int(best['sessions']):,}).",
               zh=f"转化最好的来源是{nb.label(best['source'])}：{best['rate']:.2%} 的访问完成支付"
                  f"（95% 置信区间 {best['rate_low']:.2%}–{best['rate_high']:.2%}，n = {int(best['sessions']):,}）。")

# %%
@nb.section("decomposition", en="Was it visitors, conversion or order value, and in which channel?",
            zh="变化来自访客、转化率还是客单价？来自哪个渠道？",
            needs={"orders": ["paid_amount", "ordered_at", "channel"], "traffic": ["sessions"]})
def decomposition(f):
    parts = sales.decompose_gmv_by_channel(nb.data, f)
    if parts.empty:
        nb.say("Choose a comparison period to decompose the change.", "请选择对比期以分解变化。")
        return
    shown = parts.assign(channel=parts["channel"].map(nb.label), factor=parts["factor"].map(nb.label))
    nb.show(charts.bar(shown, x="channel", y="contribution_cny", color="factor", lang=nb.lang,
                       title=nb.text("Change in GMV by channel, split into visitors × conversion × order value (CNY)",
                                     "各渠道成交额变化拆解：访客 × 转化率 × 客单价（元）"),
                       units={"contribution_cny": "CNY"}))
    totals = sales.factor_totals(parts)
    nb.table(totals.assign(factor=totals["factor"].map(nb.label)), formats={"contribution_cny": "+,.0f"})
    split = parts[parts["factor"] != "other"]
    top = split.loc[split["contribution_cny"].abs().idxmax()] if len(split) else None
    main = totals.loc[totals["contribution_cny"].abs().idxmax()]
    delta = float(totals["contribution_cny"].sum())
    nb.finding("decomposition", headline=True, value=main["contribution_cny"], unit="CNY",
               en=f"Of the {fmt_money(delta, 'en')} change in GMV, {nb.label(main['factor']).lower()} accounts for "
                  f"{fmt_money(main['contribution_cny'], 'en')}"
                  + (f"; the largest single move is {nb.label(top['factor']).lower()} in {nb.label(top['channel'])} "
                     f"({fmt_money(top['contribution_cny'], 'en')})." if top is not None else "."),
               zh=f"成交额变化 {fmt_money(delta)} 中，{nb.label(main['factor'])}贡献 {fmt_money(main['contribution_cny'])}"
                  + (f"；单项最大的是{nb.label(top['channel'])}的{nb.label(top['factor'])}"
                     f"（{fmt_money(top['contribution_cny'])}）。" if top is not None else "。"))

# %%
@nb.section("pattern_breaks", en="Which days broke the usual pattern?", zh="哪些日子偏离了常规？", needs=sales.NEEDS)
def pattern_breaks(f):
    pb = nb.memo(sales.pattern_breaks, f.channels)
    days = pb.in_period(f)
    if days.empty:
        nb.say("Not enough history (four weeks at least) for a baseline.", "历史数据不足四周，无法建立基线。")
        return
    long = days.melt(id_vars=["date"], value_vars=["actual", "baseline"], var_name="series", value_name="gmv")
    long["series"] = long["series"].map(nb.label)
    fig = charts.line(long, x="date", y="gmv", color="series", lang=nb.lang, units={"gmv": "CNY"},
                      title=nb.text("GMV per day against its robust seasonal baseline; breaks marked (CNY)",
                                    "每日成交额与稳健季节基线（标记为异常日，元）"))
    flagged = pb.breaks(f)
    fig.add_scatter(x=flagged["date"], y=flagged["actual"], mode="markers", name=nb.text("break", "异常日"),
                    marker=dict(size=10, symbol="circle-open", color="#c2255c", line=dict(width=2)))
    nb.show(fig)
    flagged = flagged.merge(sales.campaign_days(nb.data), on="date", how="left")
    nb.table(flagged.assign(date=flagged["date"].dt.strftime("%Y-%m-%d"))[
        ["date", "actual", "baseline", "excess", "excess_pct", "robust_z", "campaign"]],
        formats={"actual": ",.0f", "baseline": ",.0f", "excess": "+,.0f", "excess_pct": "+.0%", "robust_z": "+.1f"},
        rows=10)
    if len(flagged):
        top = flagged.iloc[0]
        nb.finding("pattern_breaks", value=len(flagged), unit="days",
                   en=f"{len(flagged)} of {len(days)} days broke the pattern (|robust z| > {pb.threshold:g}); the "
                      f"largest, {top['date']:%Y-%m-%d}, was {fmt_money(top['excess'], 'en')} "
                      f"({fmt_pct(top['excess_pct'], digits=0)}) off its baseline.",
                   zh=f"{len(days)} 天中有 {len(flagged)} 天偏离常规（稳健 z 绝对值 > {pb.threshold:g}）；偏离最大的是 "
                      f"{top['date']:%Y-%m-%d}，较基线 {fmt_money(top['excess'])}（{fmt_pct(top['excess_pct'], digits=0)}）。")
    else:
        nb.finding("pattern_breaks", value=0, unit="days",
                   en=f"No day of the {len(days)} broke the weekly pattern (|robust z| > {pb.threshold:g}).",
                   zh=f"{len(days)} 天中没有偏离常规的日子（稳健 z 绝对值 > {pb.threshold:g}）。")
