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
import pandas as pd

import workbench as wb
from workbench.present import charts
from workbench.topics import omnichannel as om
from workbench.present.charts import interval_bar
from workbench.stats import fmt_money, fmt_pct

nb = wb.setup("07_omnichannel", globals())

# %%
@nb.section("mix", en="Where do sales come from, and what is left after fees and discounts?",
            zh="销售来自哪些渠道，扣除平台费和折扣后还剩多少？", needs=om.NEEDS_MIX)
def mix(f):
    table = om.channel_mix(nb.data, f)
    if table.empty:
        nb.say("No orders in this selection.", "所选范围内没有订单。")
        return
    long = table.melt(id_vars="channel", value_vars=["margin_after_fees", "platform_fee_cny", "product_cost_cny"],
                      var_name="measure", value_name="amount").dropna().assign(
        measure=lambda d: d["measure"].map(nb.label))
    nb.show(charts.bar(long, x="channel", y="amount", color="measure", lang=nb.lang,
                       units={"amount": "CNY"},
                       title=nb.text("GMV by channel split into product cost, platform fees and margin (CNY)",
                                     "各渠道成交额拆分：商品成本、平台费与毛利（元）")))
    nb.table(table[["channel", "orders", "gmv", "gmv_share", "growth", "discount_cny", "platform_fee_cny",
                    "margin_after_fees", "margin_rate"]].assign(channel=lambda d: d["channel"].map(nb.label)),
             formats={"orders": ",d", "gmv": ",.0f", "gmv_share": ".1%", "growth": "+.1%", "discount_cny": ",.0f",
                      "platform_fee_cny": ",.0f", "margin_after_fees": ",.0f", "margin_rate": ".1%"})
    top = table.iloc[0]
    lean = table.sort_values("margin_rate").iloc[0]
    nb.finding("channel_mix", headline=True, value=top["gmv_share"], unit="share", change=top["growth"],
               en=f"{nb.label(top['channel'])} brings {top['gmv_share']:.0%} of GMV ({fmt_pct(top['growth'])} on the "
                  f"comparison period); {nb.label(lean['channel'])} keeps least after fees and product cost "
                  f"({lean['margin_rate']:.1%} of GMV, {int(lean['orders']):,} orders).",
               zh=f"{nb.label(top['channel'])}贡献 {top['gmv_share']:.0%} 的成交额（较对比期 {fmt_pct(top['growth'])}）；"
                  f"{nb.label(lean['channel'])}扣除平台费和商品成本后留存最少（毛利率 {lean['margin_rate']:.1%}，"
                  f"{int(lean['orders']):,} 笔订单）。")

# %%
@nb.section("multichannel", en="Are customers who buy in several channels worth more?",
            zh="多渠道购买的顾客价值更高吗？", needs=om.NEEDS_CUSTOMERS)
def multichannel(f):
    share = om.multichannel_share(nb.data, f)
    nb.show(charts.bar(share.assign(channels_used=share["channels_used"].map({1: "1", 2: "2", 3: "3+"})),
                       x="channels_used", y="gmv", lang=nb.lang, units={"gmv": "CNY"},
                       title=nb.text("GMV of the period's buyers by number of channels they bought in (CNY)",
                                     "按购买渠道数划分的本期买家成交额（元）")))
    res = nb.memo(om.multichannel_effect, 90, 365)
    ret, val = res["retention"], res["value"]
    if ret.n_treated == 0:
        nb.say("Too few multi-channel customers with a full year of history to compare.",
               "拥有完整一年历史的多渠道顾客太少，无法比较。")
        return
    nb.say("Whole history; multi-channel = two or more channels within 90 days of the first order; compared with "
           "single-channel customers of the same first-purchase month and first channel, over the following year.",
           "基于全部历史；多渠道指首单后 90 天内在两个及以上渠道购买；与首购月份和首购渠道相同的单渠道顾客比较其后一年的表现。")
    nb.finding("multichannel_value", value=val.difference, unit="CNY",
               en=f"Multi-channel customers differ by {fmt_money(val.difference, 'en')} each in spend over the next year "
                  f"(95% CI {fmt_money(val.low, 'en')} to {fmt_money(val.high, 'en')}) and "
                  f"by {ret.difference * 100:+.1f} points in the chance of buying again ({ret.low * 100:+.1f} to "
                  f"{ret.high * 100:+.1f}) compared with matched single-channel customers (n = {ret.n_treated:,} vs "
                  f"{ret.n_control:,}).",
               zh=f"多渠道顾客其后一年人均消费相差 {fmt_money(val.difference)}（95% 置信区间 {fmt_money(val.low)} 至 "
                  f"{fmt_money(val.high)}），复购概率相差 {ret.difference * 100:+.1f} 个百分点（{ret.low * 100:+.1f} 至 "
                  f"{ret.high * 100:+.1f}），对比匹配的单渠道顾客（n = {ret.n_treated:,} 对 {ret.n_control:,}）。")

# %%
@nb.section("o2o", en="How do online orders use the stores?", zh="线上订单如何借力门店？", needs=om.NEEDS_O2O)
def o2o(f):
    mix = om.fulfilment_mix(nb.data, f).assign(fulfilment=lambda d: d["fulfilment"].map(nb.label))
    nb.show(charts.bar(mix, x="fulfilment", y="orders", lang=nb.lang, units={"orders": nb.text("orders", "单")},
                       title=nb.text("Orders by fulfilment type", "各履约方式订单数")))
    stores = om.store_performance(nb.data, f)
    if stores.empty:
        nb.say("No store orders in this selection.", "所选范围内没有门店订单。")
        return
    nb.table(stores[["store_id", "city", "orders", "gmv", "in_store", "pickup_in_store", "ship_from_store",
                     "gmv_per_sqm", "local_share"]],
             formats={"orders": ",d", "gmv": ",.0f", "gmv_per_sqm": ",.0f", "local_share": ".0%"})
    catch = om.store_catchment(nb.data, f)
    if not catch.empty:
        nb.show(charts.bar(catch, x="store_id", y="share", color="city", lang=nb.lang, units={"share": "%"},
                           title=nb.text("Store catchment: share of each store's orders by buyer's city",
                                         "门店辐射范围：各门店订单按买家城市的构成")).update_yaxes(tickformat=".0%"))
    o2o_share = mix.loc[~mix["fulfilment"].isin([nb.label("delivery"), nb.label("in_store")]), "orders"].sum() \
        / mix["orders"].sum()
    best = stores.iloc[0]
    nb.finding("o2o_share", value=o2o_share, unit="share",
               en=f"{o2o_share:.1%} of orders used a store for an online order (pick-up or ship-from-store; "
                  f"n = {int(mix['orders'].sum()):,}); the largest store, {best['store_id']} in {best['city']}, sold "
                  f"{fmt_money(best['gmv'], 'en')} from {int(best['orders']):,} orders.",
               zh=f"{o2o_share:.1%} 的订单通过门店完成线上履约（自提或门店发货；n = {int(mix['orders'].sum()):,}）；"
                  f"最大门店 {best['store_id']}（{best['city']}）成交 {fmt_money(best['gmv'])}，{int(best['orders']):,} 笔。")

# %%
@nb.section("prices", en="Is the same product sold at different prices across channels?",
            zh="同一商品在不同渠道的价格是否一致？", needs=om.NEEDS_PRICE)
def prices(f):
    gaps = om.price_gaps(nb.data, f)
    flagged = gaps[gaps["flagged"]]
    if gaps.empty:
        nb.say("No product sales in this selection.", "所选范围内没有商品销售。")
        return
    shown = flagged.head(15) if len(flagged) else gaps.head(10)
    nb.show(interval_bar(shown.assign(label=shown["product_id"] + " · " + shown["channel"].map(nb.label)),
                         x="label", y="gap", low="gap_low", high="gap_high", color="channel", percent=True, lang=nb.lang,
                         units={"gap": "%"},
                         title=nb.text("Price gap to the same product in the other channels, with 95% intervals",
                                       "相对同一商品在其他渠道价格的价差（含 95% 置信区间）")))
    nb.table(shown[["product_id", "channel", "units", "unit_price_cny", "unit_price_cny_low", "unit_price_cny_high",
                    "reference_price", "gap", "gap_low", "gap_high"]].assign(channel=lambda d: d["channel"].map(nb.label)),
             formats={"units": ",.0f", "unit_price_cny": ",.2f", "unit_price_cny_low": ",.2f",
                      "unit_price_cny_high": ",.2f", "reference_price": ",.2f", "gap": "+.1%",
                      "gap_low": "+.1%", "gap_high": "+.1%"})
    products = gaps["product_id"].nunique()
    if len(flagged):
        top = flagged.iloc[0]
        nb.finding("price_gap", headline=True, value=float(len(flagged)), unit="products",
                   en=f"{flagged['product_id'].nunique()} of {products} products sell at a price 10% or more away from "
                      f"their price in the other channels; the largest gap: {top['product_id']} on {nb.label(top['channel'])} at "
                      f"{top['unit_price_cny']:,.2f} CNY, {fmt_pct(top['gap'])} against {top['reference_price']:,.2f} "
                      f"(95% CI {fmt_pct(top['gap_low'])} to {fmt_pct(top['gap_high'])}, n = {int(top['units']):,} units).",
                   zh=f"{products} 个商品中有 {flagged['product_id'].nunique()} 个在某渠道的成交价偏离其他渠道价格 10% 以上；"
                      f"价差最大：{top['product_id']} 在{nb.label(top['channel'])}售 {top['unit_price_cny']:,.2f} 元，"
                      f"较其他渠道 {top['reference_price']:,.2f} 元 {fmt_pct(top['gap'])}（n = {int(top['units']):,} 件）。")
    else:
        nb.finding("price_gap", value=0.0, unit="products",
                   en=f"No product's price differs by 10% or more between channels ({products} products checked).",
                   zh=f"检查了 {products} 个商品，未发现渠道间价差超过 10% 的商品。")

# %%
@nb.section("cannibalisation", en="Did the newest channel's growth come out of the others?",
            zh="新渠道的增长是否蚕食了其他渠道？", needs=om.NEEDS_CUSTOMERS)
def cannibalisation(f):
    channel = om.newest_channel(nb.data)
    picked_en = "the newest channel"
    picked_zh = "最新开设的渠道"
    if channel is None:
        mix = om.channel_mix(nb.data, f).dropna(subset=["growth"])
        if mix.empty:
            nb.say("No channel to examine in this selection.", "所选范围内没有可分析的渠道。")
            return
        channel = str(mix.sort_values("growth", ascending=False).iloc[0]["channel"])
        picked_en, picked_zh = "the fastest-growing channel", "增长最快的渠道"
    weekly = om.weekly_channel_gmv(nb.data, f, channel).assign(measure=lambda d: d["measure"].map(nb.label))
    nb.show(charts.line(weekly, x="week", y="gmv", color="measure", lang=nb.lang, units={"gmv": "CNY"},
                        title=nb.text(f"Weekly GMV of {nb.label(channel)} and of all other channels (CNY)",
                                      f"{nb.label(channel)}与其他渠道的每周成交额（元）")))
    c = nb.memo(om.cannibalisation, channel, None, 90)  # all adopters in the history: needs full windows
    nb.say("Whole history (each adopter needs 90 days before and after). " + c.caveat, "基于全部历史（每位新使用者需前后各 90 天数据）。顾客何时开始使用新渠道是自己选择的，开始使用的人可能本来就在改变购物习惯；"
                     "因此这是扣除共同趋势后的关联，而非因果证明。")
    if c.high < 0:
        reading_en = f"about {c.share_taken:.0%} of what they spend in the new channel looks taken from the others"
        reading_zh = f"其在新渠道的消费中约 {c.share_taken:.0%} 像是从其他渠道转移而来"
    elif c.low > 0:
        reading_en, reading_zh = "no sign of cannibalisation: adopters spent more elsewhere too", "未见蚕食迹象：新使用者在其他渠道也花得更多"
    else:
        reading_en, reading_zh = "the data cannot tell a shift from no shift", "数据无法区分是否存在转移"
    nb.finding("cannibalisation", value=c.shift, unit="CNY",
               en=f"For {picked_en}, {nb.label(channel)}: after their first order there, its {c.adopters:,} adopters "
                  f"changed their spending in the other channels by {fmt_money(c.shift, 'en')} each over {c.window_days} "
                  f"days relative to non-adopters (95% CI {fmt_money(c.low, 'en')} to {fmt_money(c.high, 'en')}): "
                  f"{reading_en}.",
               zh=f"{picked_zh}{nb.label(channel)}：{c.adopters:,} 位顾客在此首单后 {c.window_days} 天内，在其他渠道的人均消费"
                  f"相对未使用者变化 {fmt_money(c.shift)}（95% 置信区间 {fmt_money(c.low)} 至 {fmt_money(c.high)}），"
                  f"{reading_zh}。")
