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
from workbench.topics import logistics as lg
from workbench.stats import fmt_money

nb = wb.setup("06_logistics", globals())

# %%
@nb.section("on_time", en="Which carriers deliver on time?", zh="哪些承运商能按时送达？", needs=lg.NEEDS)
def on_time(f):
    table = lg.on_time_by(nb.data, f, "carrier")
    if table.empty:
        nb.say("No shipments in this period and channel selection.", "所选周期和渠道内没有发货记录。")
        return
    nb.show(charts.interval_bar(table, x="carrier", y="on_time_rate", low="on_time_rate_low", high="on_time_rate_high",
                            percent=True, lang=nb.lang, units={"on_time_rate": "%"},
                            title=nb.text("On-time delivery rate by carrier, with 95% intervals",
                                          "各承运商准时送达率（含 95% 置信区间）")))
    delivered = int(table["delivered"].sum())
    rate, low, high = lg.rate_ci(table["on_time"].sum(), delivered)
    nb.finding("on_time_rate", headline=True, value=rate, unit="share",
               en=f"{rate:.1%} of delivered orders arrived on time (95% CI {low:.1%}–{high:.1%}, "
                  f"n = {int(delivered):,}).",
               zh=f"已签收订单中 {rate:.1%} 按时送达（95% 置信区间 {low:.1%}–{high:.1%}，n = {int(delivered):,}）。")

# %%
@nb.section("scorecard", en="How do the carriers rank on time, speed, loss and cost?",
            zh="承运商在准时、时效、丢损和成本上如何排名？", needs=lg.NEEDS)
def scorecard(f):
    card = lg.carrier_scorecard(nb.data, f)
    cols = ["score_rank", "carrier", "shipments", "on_time_rate", "median_days", "lost_rate", "damaged_rate",
            "cost_per_order"]
    nb.say("Domestic parcels; score = 0.4 × on-time − 0.2 × each of delivery days, loss and cost (z-scores).",
           "仅国内包裹；综合得分 = 0.4 × 准时率 − 0.2 × 配送天数、丢损率、单均运费（均为标准化得分）。")
    nb.table(card.table[cols], formats={"on_time_rate": ".1%", "median_days": ".1f", "lost_rate": ".2%",
                                        "damaged_rate": ".2%", "cost_per_order": ",.2f", "shipments": ",d"})
    w = card.table.iloc[-1]
    sure_en = ("its interval lies below every other carrier's" if card.worst_clearly_last
               else "but its interval overlaps another carrier's, so the gap may be noise")
    sure_zh = "其置信区间低于所有其他承运商" if card.worst_clearly_last else "但其区间与其他承运商重叠，差距可能是噪声"
    nb.finding("worst_carrier", headline=True, value=w["on_time_rate"], unit="share", status="red",
               en=f"{w['carrier']} ranks last: on time {w['on_time_rate']:.1%} (95% CI {w['on_time_rate_low']:.1%}–"
                  f"{w['on_time_rate_high']:.1%}, n = {int(w['delivered']):,}); {sure_en}.",
               zh=f"{w['carrier']} 综合排名最后：准时率 {w['on_time_rate']:.1%}（95% 置信区间 "
                  f"{w['on_time_rate_low']:.1%}–{w['on_time_rate_high']:.1%}，n = {int(w['delivered']):,}），{sure_zh}。")

# %%
@nb.section("where", en="Where are deliveries late: which warehouses and regions?",
            zh="哪些仓库和地区延误最多？", needs=lg.NEEDS_REGION)
def where(f):
    for by, en, zh in (("warehouse", "On-time rate by shipping warehouse, with 95% intervals",
                        "各发货仓准时率（含 95% 置信区间）"),
                       ("region", "On-time rate by destination region, with 95% intervals",
                        "各目的地区准时率（含 95% 置信区间）")):
        table = lg.on_time_by(nb.data, f, by)
        if table.empty:
            continue
        nb.show(charts.interval_bar(table, x=by, y="on_time_rate", low="on_time_rate_low", high="on_time_rate_high",
                                percent=True, lang=nb.lang, units={"on_time_rate": "%"}, title=nb.text(en, zh)))
        enough = table[table["delivered"] >= 30]
        if by == "region" and not enough.empty:
            w = enough.iloc[0]
            nb.finding("worst_region", value=w["on_time_rate"], unit="share",
                       en=f"Deliveries to {w['region']} are on time least often: {w['on_time_rate']:.1%} "
                          f"(95% CI {w['on_time_rate_low']:.1%}–{w['on_time_rate_high']:.1%}, n = {int(w['delivered']):,}).",
                       zh=f"{w['region']} 方向的准时率最低：{w['on_time_rate']:.1%}（95% 置信区间 "
                          f"{w['on_time_rate_low']:.1%}–{w['on_time_rate_high']:.1%}，n = {int(w['delivered']):,}）。")

# %%
@nb.section("times", en="How long do deliveries take, and how many are lost or damaged?",
            zh="配送需要多久，丢件和破损有多少？", needs=lg.NEEDS)
def times(f):
    dist = lg.delivery_time_distribution(nb.data, f, "carrier")
    if dist.empty:
        nb.say("No delivered shipments in this selection.", "所选范围内没有已签收的发货。")
        return
    nb.show(charts.line(dist, x="delivery_days", y="share", color="carrier", lang=nb.lang,
                        units={"delivery_days": nb.text("days", "天"), "share": "%"},
                        title=nb.text("Delivery time distribution by carrier (share of delivered parcels)",
                                      "各承运商配送时长分布（占已签收比例）")).update_yaxes(tickformat=".0%"))
    mix = lg.outcome_mix(nb.data, f, "carrier").assign(outcome=lambda d: d["outcome"].map(nb.label))
    nb.show(charts.bar(mix, x="carrier", y="share", color="outcome", lang=nb.lang, units={"share": "%"},
                       title=nb.text("Shipment outcomes by carrier (share of shipments)",
                                     "各承运商发货结果构成（占发货单比例）")).update_yaxes(tickformat=".0%"))
    table = lg.on_time_by(nb.data, f, "carrier")
    n = int(table["shipments"].sum())
    lost = table["lost"].sum() + table["damaged"].sum()
    share, lo, hi = lg.rate_ci(lost, n)
    med = (table["median_days"] * table["delivered"]).sum() / max(table["delivered"].sum(), 1)
    nb.finding("lost_damaged", value=share, unit="share",
               en=f"{int(lost):,} of {n:,} parcels were lost or damaged ({share:.2%}, 95% CI {lo:.2%}–{hi:.2%}); "
                  f"a typical parcel took {med:.1f} days (median, weighted over carriers).",
               zh=f"{n:,} 个包裹中有 {int(lost):,} 个丢失或破损（{share:.2%}，95% 置信区间 {lo:.2%}–{hi:.2%}）；"
                  f"包裹配送时长中位数约 {med:.1f} 天。")

# %%
@nb.section("lateness_cost", en="What does a late delivery cost in ratings and repeat purchases?",
            zh="延误在评分和复购上代价多大？", needs=lg.NEEDS_REPEAT_EFFECT)
def lateness_cost(f):
    cost = nb.memo(lg.lateness_cost, 365)
    buckets = cost.by_days.assign(late_bucket=lambda d: d["late_bucket"].map(nb.label))
    nb.show(charts.interval_bar(buckets, x="late_bucket", y="repeat_rate", low="repeat_rate_low", high="repeat_rate_high",
                            percent=True, lang=nb.lang, units={"repeat_rate": "%"},
                            title=nb.text(f"Repeat purchase within {cost.window_days} days by how late the order arrived "
                                          "(95% intervals)",
                                          f"按延误天数分组的 {cost.window_days} 天内复购率（含 95% 置信区间）")))
    nb.say("Whole history; the effects below are regressions with channel, month, order value, the customer's "
           "prior orders and parcel damage as controls, so they do not move with the filter bar.",
           "基于全部历史数据；下列效应由回归估计，控制了渠道、月份、订单金额、顾客历史订单数和包裹破损，不随筛选条件变化。")
    r, d, p, o = cost.rating, cost.rating_per_day_floor, cost.repeat, cost.repeat_odds
    if r.ok:
        nb.finding("late_rating", headline=True, value=r.estimate, unit="stars",
                   en=f"A late delivery lowers the order's review rating by {-r.estimate:.2f} stars "
                      f"(95% CI {-r.high:.2f}–{-r.low:.2f}, n = {r.n:,} reviewed orders, {r.n_late:,} late; "
                      f"on-time orders average {r.baseline:.2f}); each day late costs {-d.estimate:.2f} stars "
                      f"({-d.high:.2f}–{-d.low:.2f}, allowing for reviews already at one star).",
                   zh=f"延误使该订单的评分平均降低 {-r.estimate:.2f} 星（95% 置信区间 {-r.high:.2f}–{-r.low:.2f}，"
                      f"n = {r.n:,} 个有评价的订单，其中 {r.n_late:,} 个延误；准时订单平均 {r.baseline:.2f} 星）；"
                      f"每延误一天降低 {-d.estimate:.2f} 星（{-d.high:.2f}–{-d.low:.2f}，已考虑一星评价无法再降的情况）。")
    elif "reviews" not in nb.data.sources:
        nb.say("The rating effect needs the reviews table.", "评分影响需要 reviews 表。")
    if p.ok:
        nb.finding("late_repeat", value=p.estimate, unit="share",
                   en=f"After a late delivery the chance of buying again within {cost.window_days} days changes by "
                      f"{p.estimate * 100:+.1f} points (95% CI {p.low * 100:+.1f} to {p.high * 100:+.1f}; "
                      f"baseline {p.baseline:.1%}, n = {p.n:,} orders); odds ratio {o.estimate:.2f} "
                      f"({o.low:.2f}–{o.high:.2f}).",
                   zh=f"延误后 {cost.window_days} 天内复购概率变化 {p.estimate * 100:+.1f} 个百分点（95% 置信区间 "
                      f"{p.low * 100:+.1f} 至 {p.high * 100:+.1f}；准时订单复购率 {p.baseline:.1%}，n = {p.n:,}）；"
                      f"优势比 {o.estimate:.2f}（{o.low:.2f}–{o.high:.2f}）。")

# %%
@nb.section("returns", en="What comes back, why, and how much is refunded?",
            zh="哪些商品被退回、为什么、退款多少？", needs=lg.NEEDS_RETURNS)
def returns(f):
    by_channel = lg.returns_by(nb.data, f, "channel")
    if by_channel.empty or by_channel["orders"].sum() == 0:
        nb.say("No orders in this selection.", "所选范围内没有订单。")
        return
    nb.show(charts.interval_bar(by_channel, x="channel", y="return_rate", low="return_rate_low", high="return_rate_high",
                            color="channel", percent=True, lang=nb.lang, units={"return_rate": "%"},
                            title=nb.text("Share of orders returned by channel, with 95% intervals",
                                          "各渠道订单退货率（含 95% 置信区间）")))
    reasons = lg.return_reasons(nb.data, f, "channel").assign(reason=lambda d: d["reason"].map(nb.label))
    if not reasons.empty:
        nb.show(charts.bar(reasons, x="channel", y="returns", color="reason", lang=nb.lang,
                           units={"returns": nb.text("returns", "件")},
                           title=nb.text("Returns by reason and channel (count)", "各渠道退货原因（件数）")))
    if nb.data.has("products", ["category"]) and nb.data.has("returns", ["product_id"]) and "order_items" in nb.data.sources:
        cat = lg.returns_by(nb.data, f, "category")
        nb.table(cat[["category", "lines", "returns", "return_rate", "refund_cny"]],
                 formats={"return_rate": ".1%", "refund_cny": ",.0f", "lines": ",d", "returns": ",d"})
    n, k = int(by_channel["orders"].sum()), int(by_channel["returned_orders"].sum())
    refund = by_channel["refund_cny"].sum()
    rate, lo, hi = lg.rate_ci(k, n)
    top = reasons.groupby("reason")["returns"].sum().sort_values(ascending=False) if not reasons.empty else None
    top_en = f"; the most common reason is '{top.index[0]}'" if top is not None and len(top) else ""
    top_zh = f"；最常见原因是“{top.index[0]}”" if top is not None and len(top) else ""
    nb.finding("return_rate", value=rate, unit="share",
               en=f"{rate:.1%} of orders were returned (95% CI {lo:.1%}–{hi:.1%}, n = {n:,}), refunding "
                  f"{fmt_money(refund, 'en')}{top_en}.",
               zh=f"{rate:.1%} 的订单发生退货（95% 置信区间 {lo:.1%}–{hi:.1%}，n = {n:,}），退款 {fmt_money(refund)}{top_zh}。")
