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
from workbench.topics import crossborder as cb
from workbench.present.charts import interval_bar
from workbench.stats import fmt_money, fmt_pct

nb = wb.setup("09_cross_border", globals())

# %%
@nb.section("markets", en="How big is each market, in its own currency and in CNY?",
            zh="各市场规模多大（本币与人民币）？", needs=cb.NEEDS)
def markets(f):
    table = cb.market_totals(nb.data, f)
    if table.empty:
        nb.say("No cross-border orders in this period and channel selection.", "所选周期和渠道内没有跨境订单。")
        return
    nb.show(charts.bar(table, x="market", y="gmv_cny", color="currency", lang=nb.lang, units={"gmv_cny": "CNY"},
                       title=nb.text("Cross-border GMV by destination market (CNY)", "各目的市场跨境成交额（元）")))
    nb.table(table[["market", "currency", "orders", "gmv_local", "rate", "gmv_cny", "aov_local"]],
             formats={"orders": ",d", "gmv_local": ",.0f", "rate": ".4f", "gmv_cny": ",.0f", "aov_local": ",.2f"})
    top = table.iloc[0]
    total = table["gmv_cny"].sum()
    nb.finding("cross_border_gmv", headline=True, value=total, unit="CNY",
               en=f"Cross-border GMV was {fmt_money(total, 'en')} from {int(table['orders'].sum()):,} orders in "
                  f"{table['market'].nunique()} markets; {top['market']} is largest ({top['gmv_cny'] / total:.0%}).",
               zh=f"跨境成交额 {fmt_money(total)}，来自 {table['market'].nunique()} 个市场的 "
                  f"{int(table['orders'].sum()):,} 笔订单；最大市场 {top['market']}（占 {top['gmv_cny'] / total:.0%}）。")

# %%
@nb.section("fx", en="How much of the change in CNY revenue is the exchange rate?",
            zh="人民币收入的变化有多少来自汇率？", needs=cb.NEEDS_FX)
def fx(f):
    d = cb.fx_decomposition(nb.data, f)
    totals = d.totals.assign(factor=lambda t: t["factor"].map(nb.label))
    nb.show(charts.bar(totals, x="factor", y="contribution_cny", lang=nb.lang, units={"contribution_cny": "CNY"},
                       title=nb.text("Change in cross-border GMV against the comparison period, split into volume, "
                                     "local price and exchange rate (CNY)",
                                     "跨境成交额相对对比期的变化：订单量、本币价格与汇率的贡献（元）")))
    monthly = cb.constant_fx_monthly(nb.data, f).assign(measure=lambda t: t["measure"].map(nb.label))
    nb.show(charts.line(monthly, x="month", y="value", color="measure", lang=nb.lang, units={"value": "CNY"},
                        title=nb.text("Monthly cross-border GMV at actual and at fixed exchange rates (CNY)",
                                      "按实际汇率与固定汇率计算的月度跨境成交额（元）")))
    fxc = d.fx_change.dropna(subset=["change"])
    fx_part = float(totals["contribution_cny"].iloc[2])
    mover = fxc.reindex(fxc["change"].abs().sort_values(ascending=False).index).iloc[0] if len(fxc) else None
    move_en = (f"; the biggest currency move was {mover['currency']} {fmt_pct(mover['change'])} "
               f"({mover['rate_comparison']:.4f} → {mover['rate_current']:.4f} CNY)") if mover is not None else ""
    move_zh = (f"；变动最大的货币是 {mover['currency']}，{fmt_pct(mover['change'])}"
               f"（{mover['rate_comparison']:.4f} → {mover['rate_current']:.4f} 元）") if mover is not None else ""
    nb.finding("fx_effect", headline=True, value=fx_part, unit="CNY",
               change=d.gmv_change_cny and fx_part / abs(d.gmv_change_cny),
               en=f"Cross-border GMV changed by {fmt_money(d.gmv_change_cny, 'en')}: exchange rates account for "
                  f"{fmt_money(fx_part, 'en')}, volume {fmt_money(float(totals['contribution_cny'].iloc[0]), 'en')}, "
                  f"local prices {fmt_money(float(totals['contribution_cny'].iloc[1]), 'en')}{move_en}.",
               zh=f"跨境成交额变化 {fmt_money(d.gmv_change_cny)}：其中汇率贡献 {fmt_money(fx_part)}，订单量 "
                  f"{fmt_money(float(totals['contribution_cny'].iloc[0]))}，本币价格 "
                  f"{fmt_money(float(totals['contribution_cny'].iloc[1]))}{move_zh}。")

# %%
@nb.section("margin", en="What is left per market after product cost, shipping, duty and fees?",
            zh="扣除商品成本、运费、关税和平台费后各市场还剩多少？", needs=cb.NEEDS_COST)
def margin(f):
    table = cb.landed_margin(nb.data, f)
    if table.empty:
        nb.say("No cross-border orders in this selection.", "所选范围内没有跨境订单。")
        return
    items = ["product_cost", "shipping", "duty", "platform_fee", "margin"]
    long = table.melt(id_vars="market", value_vars=items, var_name="cost_item", value_name="amount_cny")
    long["cost_item"] = long["cost_item"].map(nb.label)
    nb.show(charts.bar(long, x="market", y="amount_cny", color="cost_item", lang=nb.lang,
                       units={"amount_cny": "CNY"},
                       title=nb.text("Where each market's GMV goes: landed cost and margin (CNY)",
                                     "各市场成交额去向：到岸成本与毛利（元）")))
    nb.table(table[["market", "orders", "gmv_cny", "margin", "margin_rate", "margin_per_order",
                    "margin_per_order_low", "margin_per_order_high"]],
             formats={"orders": ",d", "gmv_cny": ",.0f", "margin": ",.0f", "margin_rate": ".1%",
                      "margin_per_order": ",.1f", "margin_per_order_low": ",.1f", "margin_per_order_high": ",.1f"})
    enough = table[table["orders"] >= 20]
    worst = (enough if len(enough) else table).sort_values("margin_rate").iloc[0]
    total_rate = table["margin"].sum() / table["gmv_cny"].sum()
    nb.finding("landed_margin", value=total_rate, unit="share",
               en=f"After landed costs cross-border keeps {total_rate:.1%} of GMV; {worst['market']} keeps least: "
                  f"{worst['margin_rate']:.1%}, {worst['margin_per_order']:,.1f} CNY per order (95% CI "
                  f"{worst['margin_per_order_low']:,.1f}–{worst['margin_per_order_high']:,.1f}, n = {int(worst['orders']):,}).",
               zh=f"扣除到岸成本后跨境毛利率 {total_rate:.1%}；{worst['market']} 最低：{worst['margin_rate']:.1%}，"
                  f"单均 {worst['margin_per_order']:,.1f} 元（95% 置信区间 {worst['margin_per_order_low']:,.1f}–"
                  f"{worst['margin_per_order_high']:,.1f}，n = {int(worst['orders']):,}）。")

# %%
@nb.section("delivery", en="How long do customs and delivery take, market by market?",
            zh="各市场清关和配送要多久？", needs=cb.NEEDS_TIMES)
def delivery(f):
    table = cb.delivery_by_market(nb.data, f)
    if table.empty:
        nb.say("No cross-border shipments in this selection.", "所选范围内没有跨境发货。")
        return
    long = table.melt(id_vars="market", value_vars=["clearance_days", "median_days", "p90_days"],
                      var_name="measure", value_name="days").assign(measure=lambda t: t["measure"].map(nb.label))
    nb.show(charts.bar(long, x="market", y="days", color="measure", barmode="group", lang=nb.lang,
                       units={"days": nb.text("days", "天")},
                       title=nb.text("Customs clearance (median) and delivery time (median, 90th percentile) by market",
                                     "各市场清关时长（中位数）与配送时长（中位数、90 分位）")))
    enough = table[table["delivered"] >= 20]
    slow = (enough if len(enough) else table).sort_values("median_days", ascending=False).iloc[0]
    nb.finding("slowest_market", value=slow["median_days"], unit="days",
               en=f"{slow['market']} is slowest: a median {slow['median_days']:.1f} days from dispatch to delivery "
                  f"(customs {slow['clearance_days']:.1f} days), on time {slow['on_time_rate']:.0%} (95% CI "
                  f"{slow['on_time_rate_low']:.0%}–{slow['on_time_rate_high']:.0%}, n = {int(slow['delivered']):,}).",
               zh=f"{slow['market']} 最慢：发货到签收中位数 {slow['median_days']:.1f} 天（清关 {slow['clearance_days']:.1f} 天），"
                  f"准时率 {slow['on_time_rate']:.0%}（95% 置信区间 {slow['on_time_rate_low']:.0%}–"
                  f"{slow['on_time_rate_high']:.0%}，n = {int(slow['delivered']):,}）。")

# %%
@nb.section("scorecard", en="Which markets are worth it?", zh="哪些市场值得做？", needs=cb.NEEDS)
def scorecard(f):
    card = cb.market_scorecard(nb.data, f)
    nb.table(card, formats={"orders": ",d", "gmv_cny": ",.0f", "growth": "+.1%", "margin_rate": ".1%",
                            "median_days": ".1f", "on_time_rate": ".1%", "return_rate": ".1%", "fx_volatility": ".1%"})
    returns = cb.returns_by_market(nb.data, f)
    if not returns.empty:
        nb.show(interval_bar(returns, x="market", y="return_rate", low="return_rate_low", high="return_rate_high",
                             percent=True, lang=nb.lang, units={"return_rate": "%"},
                             title=nb.text("Share of cross-border orders returned by market, with 95% intervals",
                                           "各市场跨境订单退货率（含 95% 置信区间）")))
    if "margin_rate" in card:
        enough = card[card["orders"] >= 20]
        best = (enough if len(enough) else card).sort_values("margin_rate", ascending=False).iloc[0]
        nb.finding("best_market", value=best["margin_rate"], unit="share",
                   en=f"{best['market']} earns the most per CNY sold: margin {best['margin_rate']:.1%} on "
                      f"{fmt_money(best['gmv_cny'], 'en')} ({int(best['orders']):,} orders), growth {fmt_pct(best['growth'])}.",
                   zh=f"{best['market']} 每元销售赚得最多：毛利率 {best['margin_rate']:.1%}，成交额 {fmt_money(best['gmv_cny'])}"
                      f"（{int(best['orders']):,} 笔），增长 {fmt_pct(best['growth'])}。")
