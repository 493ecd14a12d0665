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
import plotly.express as px

import workbench as wb
from workbench.present import charts
from workbench.topics import crm
from workbench.stats import fmt_money

nb = wb.setup("12_crm", globals())

# %% [markdown]
# RFM scores use the 365 days up to the period's end: recency and spend in quintiles, frequency by
# order count (1, 2, 3, 4–5, 6+). Lifetime value uses the BG/NBD and Gamma-Gamma models, fitted once
# on the whole history and checked on a 26-week hold-out.

# %%
@nb.section("rfm", en="Which customer groups do we have, and what are they worth?",
            zh="我们有哪些客户群，各自价值多少？", needs=crm.NEEDS)
def rfm(f):
    seg = crm.rfm_segments(nb.data, f)
    if seg.empty:
        nb.say("No customer bought in the 365 days before the period's end.", "截至本期末的 365 天内没有购买客户。")
        return
    shown = seg.assign(segment=seg["segment"].map(nb.label))
    nb.show(charts.bar(shown, x="segment", y="gmv", text="customers", lang=nb.lang, units={"gmv": "CNY"},
                       title=nb.text("GMV of the last 365 days by RFM segment (CNY; label: customers)",
                                     "近 365 天各 RFM 分群成交额（元；标注为客户数）")))
    nb.table(shown[["segment", "customers", "share", "gmv_per_customer", "orders_per_customer", "recency_days"]],
             formats={"customers": ",.0f", "share": ".1%", "gmv_per_customer": ",.0f", "orders_per_customer": ".2f",
                      "recency_days": ".0f"})
    champ = seg.set_index("segment").reindex(["champions"]).iloc[0]
    n_champ = 0 if champ["customers"] != champ["customers"] else int(champ["customers"])
    share = 0.0 if n_champ == 0 else champ["gmv_share"]
    total = int(seg["customers"].sum())
    nb.finding("champions_share", headline=True, value=share, unit="share",
               en=f"Champions are {n_champ:,} of {total:,} active customers "
                  f"({n_champ / total:.1%}) and bring {share:.1%} of the last 365 days' GMV.",
               zh=f"重要价值客户 {n_champ:,} 人，占 {total:,} 名活跃客户的 {n_champ / total:.1%}，"
                  f"贡献近 365 天成交额的 {share:.1%}。")


# %%
@nb.section("movement", en="Did customers move up or down between the two periods?",
            zh="与对比期相比，客户分群如何迁移？", needs=crm.NEEDS)
def movement(f):
    moves = crm.rfm_movement(nb.data, f)
    if moves.empty:
        nb.say("Not enough data for segment movement.", "数据不足，无法计算分群迁移。")
        return
    shown = moves.assign(segment_from=moves["segment_from"].map(nb.label),
                         segment_to=moves["segment_to"].map(nb.label))
    fig = px.density_heatmap(shown, x="segment_to", y="segment_from", z="customers", histfunc="sum",
                             text_auto=True, color_continuous_scale="Blues",
                             title=nb.text("Customers moving from segment (before) to segment (now)",
                                           "客户从上期分群迁移到本期分群（人）"),
                             labels={"segment_to": nb.label("segment_to"), "segment_from": nb.label("segment_from")})
    nb.show(fig)
    good = moves[moves["segment_from"].isin(["champions", "loyal"])]
    slipped = good[good["segment_to"].isin(["at_risk", "cant_lose", "hibernating", "lost", "need_attention"])]
    n_good, n_slip = int(good["customers"].sum()), int(slipped["customers"].sum())
    rate = n_slip / n_good if n_good else float("nan")
    nb.finding("slipped", value=rate, unit="share",
               en=f"Of {n_good:,} champions and loyal customers at {f.compare_end or f.start}, {n_slip:,} "
                  f"({rate:.1%}) have slipped to a weaker segment by {f.end}.",
               zh=f"{f.compare_end or f.start} 的 {n_good:,} 名重要价值及忠诚客户中，到 {f.end} 有 {n_slip:,} 人"
                  f"（{rate:.1%}）降级到较弱分群。")


# %%
@nb.section("cohorts", en="How many new customers come back, month after month?",
            zh="新客户在之后各月的留存如何？", needs=crm.NEEDS)
def cohorts(f):
    grid = crm.cohort_retention(nb.data, f, months=12)
    if grid.empty:
        nb.say("No purchases up to the period's end.", "本期末之前没有购买记录。")
        return
    nb.show(charts.heatmap(grid, x="months_since_first", y="cohort", z="retention", lang=nb.lang,
                           title=nb.text("Share of each first-purchase month's customers buying again k months later",
                                         "各首购月客户在第 k 个月再次购买的比例")))
    m1 = grid[grid["months_since_first"] == 1]
    if len(m1):
        rate = m1["customers"].sum() / m1["cohort_size"].sum()
        n = int(m1["cohort_size"].sum())
        nb.finding("month1_retention", value=rate, unit="share",
                   en=f"On average {rate:.1%} of new customers buy again in the month after their first purchase "
                      f"(n = {n:,} customers in {len(m1)} cohorts).",
                   zh=f"平均 {rate:.1%} 的新客户在首购次月再次购买（{len(m1)} 个月度群组，共 {n:,} 人）。")


# %%
@nb.section("repurchase", en="How often and how soon do customers buy again?",
            zh="客户复购比例和间隔如何？", needs=crm.NEEDS)
def repurchase(f):
    rep = crm.repurchase(nb.data, f, window_days=90)
    if len(rep.gaps):
        nb.show(charts.bar(rep.gaps, x="days_between", y="purchases", lang=nb.lang, units={"days_between": "days"},
                           title=nb.text("Days between a customer's consecutive purchases (15-day bins; 360 = 360+)",
                                         "相邻两次购买的间隔天数（每 15 天一档；360 表示 360 天以上）")))
    nb.finding("repeat_rate", headline=True, value=rep.repeat_rate, unit="share",
               en=f"{rep.repeat_rate:.1%} of first-time buyers buy again within {rep.window_days} days "
                  f"(95% CI {rep.low:.1%}–{rep.high:.1%}, n = {rep.n:,}); the median gap between purchases is "
                  f"{rep.median_days_between:.0f} days (middle half {rep.p25_days_between:.0f}–"
                  f"{rep.p75_days_between:.0f}, n = {rep.n_gaps:,}).",
               zh=f"首购客户中 {rep.repeat_rate:.1%} 在 {rep.window_days} 天内复购（95% 置信区间 {rep.low:.1%}–"
                  f"{rep.high:.1%}，n = {rep.n:,}）；复购间隔中位数 {rep.median_days_between:.0f} 天"
                  f"（中间一半为 {rep.p25_days_between:.0f}–{rep.p75_days_between:.0f} 天，n = {rep.n_gaps:,}）。")


# %%
@nb.section("channels", en="Do customers from some acquisition channels leave sooner?",
            zh="哪些获客渠道的客户流失更快？", needs=crm.NEEDS_CHANNEL)
def channels_section(f):
    by = crm.retention_by_channel(nb.data, f, window_days=90)
    if by.empty:
        nb.say("No customers with a full 90-day window.", "没有满 90 天观察期的客户。")
        return
    shown = by.assign(err=by["repeat_rate_high"] - by["repeat_rate"],
                      acquisition_channel=by["acquisition_channel"].map(nb.label))
    nb.show(charts.bar(shown, x="acquisition_channel", y="repeat_rate", error="err", lang=nb.lang,
                       units={"repeat_rate": "share"},
                       title=nb.text("Repeat purchase within 90 days by acquisition channel, with 95% intervals",
                                     "各获客渠道客户 90 天内复购率（含 95% 置信区间）")))
    curves = crm.retention_curves_by_channel(nb.data, f, months=12)
    curves = curves[curves["months_since_first"] > 0]
    nb.show(charts.line(curves, x="months_since_first", y="retention", color="acquisition_channel", lang=nb.lang,
                        units={"retention": "share"},
                        title=nb.text("Share of customers buying in month k after the first purchase, by acquisition channel",
                                      "各获客渠道客户首购后第 k 个月仍购买的比例")))
    best, worst = by.iloc[0], by.iloc[-1]
    nb.finding("channel_retention", headline=True, value=worst["repeat_rate"], unit="share",
               en=f"Customers won on {nb.label(worst['acquisition_channel'])} come back least: "
                  f"{worst['repeat_rate']:.1%} buy again within 90 days (95% CI {worst['repeat_rate_low']:.1%}–"
                  f"{worst['repeat_rate_high']:.1%}, n = {int(worst['customers']):,}) against "
                  f"{best['repeat_rate']:.1%} for {nb.label(best['acquisition_channel'])} "
                  f"({best['repeat_rate_low']:.1%}–{best['repeat_rate_high']:.1%}, n = {int(best['customers']):,}).",
               zh=f"{nb.label(worst['acquisition_channel'])}获取的客户回购最少：90 天内复购率 {worst['repeat_rate']:.1%}"
                  f"（95% 置信区间 {worst['repeat_rate_low']:.1%}–{worst['repeat_rate_high']:.1%}，"
                  f"n = {int(worst['customers']):,}），而{nb.label(best['acquisition_channel'])}为 "
                  f"{best['repeat_rate']:.1%}（{best['repeat_rate_low']:.1%}–{best['repeat_rate_high']:.1%}，"
                  f"n = {int(best['customers']):,}）。")


# %%
@nb.section("delay", en="Does a late first delivery cost us the customer?",
            zh="首单延迟送达会让客户流失吗？", needs=crm.NEEDS_DELAY)
def delay(f):
    d = nb.memo(crm.delay_effect, f)
    rates = pd.DataFrame({"delivery": [nb.text("On time", "准时"), nb.text("Late", "延迟")],
                          "repeat_rate": [d.repeat_rate_on_time, d.repeat_rate_late],
                          "customers": [d.n_on_time, d.n_late]})
    nb.show(charts.bar(rates, x="delivery", y="repeat_rate", text="customers", lang=nb.lang, units={"repeat_rate": "share"},
                       title=nb.text(f"Share of new customers buying again within {d.window_days} days, by whether the "
                                     "first delivery was late (label: customers)",
                                     f"首单是否延迟送达与新客 {d.window_days} 天内复购率（标注为客户数）")))
    nb.finding("delay_effect", value=d.odds_ratio, unit="odds_ratio",
               en=f"A late first delivery lowers the odds that a new customer comes back within {d.window_days} days "
                  f"by a factor of {d.odds_ratio:.2f} (95% CI {d.low:.2f}–{d.high:.2f}, adjusted for acquisition "
                  f"channel): {d.repeat_rate_late:.1%} of {d.n_late:,} late against {d.repeat_rate_on_time:.1%} of "
                  f"{d.n_on_time:,} on time.",
               zh=f"首单延迟送达使新客 {d.window_days} 天内回购的优势变为 {d.odds_ratio:.2f} 倍（95% 置信区间 {d.low:.2f}–"
                  f"{d.high:.2f}，已按获客渠道调整）：延迟的 {d.n_late:,} 人中 {d.repeat_rate_late:.1%} 回购，"
                  f"准时的 {d.n_on_time:,} 人中为 {d.repeat_rate_on_time:.1%}。")


# %%
@nb.section("tiers", en="What is each member tier worth?", zh="各会员等级价值如何？", needs=crm.NEEDS_TIER)
def tiers(f):
    tv = crm.tier_value(nb.data, f)
    if tv.empty or tv["buyers"].sum() == 0:
        nb.say("No member bought in this period.", "本期没有会员购买。")
        return
    shown = tv.assign(err=tv["gmv_per_customer_high"] - tv["gmv_per_customer"],
                      member_tier=tv["member_tier"].map(nb.label))
    nb.show(charts.bar(shown, x="member_tier", y="gmv_per_customer", error="err", lang=nb.lang,
                       units={"gmv_per_customer": "CNY"},
                       title=nb.text("GMV per buying member in the period by tier (CNY), with 95% intervals",
                                     "本期各会员等级购买者人均消费（元，含 95% 置信区间）")))
    nb.table(shown[["member_tier", "members", "buyers", "active_share", "gmv_per_customer", "orders_per_customer"]],
             formats={"members": ",.0f", "buyers": ",.0f", "active_share": ".1%", "gmv_per_customer": ",.0f",
                      "orders_per_customer": ".2f"})
    top = tv[tv["buyers"] > 0].sort_values("gmv_per_customer").iloc[-1]
    nb.finding("top_tier", value=top["gmv_per_customer"], unit="CNY",
               en=f"{nb.label(top['member_tier'])} members spend most per buyer: "
                  f"{fmt_money(top['gmv_per_customer'], 'en')} (95% CI {fmt_money(top['gmv_per_customer_low'], 'en')}–"
                  f"{fmt_money(top['gmv_per_customer_high'], 'en')}, n = {int(top['buyers']):,} buyers).",
               zh=f"{nb.label(top['member_tier'])}会员人均消费最高：{fmt_money(top['gmv_per_customer'])}"
                  f"（95% 置信区间 {fmt_money(top['gmv_per_customer_low'])}–{fmt_money(top['gmv_per_customer_high'])}，"
                  f"n = {int(top['buyers']):,} 人）。")


# %%
@nb.section("clv", en="What is a customer worth over the next year?", zh="客户未来一年价值多少？", needs=crm.NEEDS)
def lifetime_value(f):
    res = nb.memo(crm.clv, f.end, f.channels)
    weeks = (res.holdout_end - res.calibration_end).days // 7
    check = res.holdout.melt(id_vars=["calibration_purchases", "customers"], value_vars=["predicted", "actual"],
                             var_name="series", value_name="purchases")
    check["series"] = check["series"].map(nb.label)
    nb.show(charts.bar(check, x="calibration_purchases", y="purchases", color="series", barmode="group", lang=nb.lang,
                       title=nb.text(f"Hold-out check: purchases per customer in the {weeks} weeks after calibration, "
                                     "predicted vs actual, by repeat purchases before (7 = 7+)",
                                     f"验证期（{weeks} 周）每位客户购买次数：模型预测与实际（按校准期复购次数分组，7 表示 7 次以上）")))
    err = res.holdout_predicted / res.holdout_actual - 1 if res.holdout_actual else float("nan")
    seg = crm.clv_by_segment(res, nb.data, f)
    if len(seg):
        nb.table(seg.assign(segment=seg["segment"].map(nb.label)),
                 formats={"customers": ",.0f", "clv": ",.0f", "expected_purchases": ".2f", "p_alive": ".1%"})
    bg = res.bgnbd.params
    nb.say(f"BG/NBD r = {bg['r']:.3f}, alpha = {bg['alpha']:.3f}, a = {bg['a']:.3f}, b = {bg['b']:.3f} "
           f"(n = {res.n:,}); {res.method}.",
           f"BG/NBD 参数 r = {bg['r']:.3f}，alpha = {bg['alpha']:.3f}，a = {bg['a']:.3f}，b = {bg['b']:.3f}"
           f"（n = {res.n:,}）；未来 52 周成交额，未贴现，区间来自参数不确定性。")
    nb.finding("clv", headline=True, value=res.mean_clv, unit="CNY",
               en=f"A customer is worth {fmt_money(res.mean_clv, 'en')} of GMV over the next 52 weeks on average "
                  f"(95% CI {fmt_money(res.mean_clv_low, 'en')}–{fmt_money(res.mean_clv_high, 'en')}, "
                  f"n = {res.n:,} customers); on the hold-out the model predicted {res.holdout_predicted:,.0f} "
                  f"purchases against {res.holdout_actual:,.0f} actual ({err:+.1%}).",
               zh=f"平均每位客户未来 52 周成交额约 {fmt_money(res.mean_clv)}（95% 置信区间 {fmt_money(res.mean_clv_low)}–"
                  f"{fmt_money(res.mean_clv_high)}，n = {res.n:,} 人）；验证期模型预测购买 {res.holdout_predicted:,.0f} 次，"
                  f"实际 {res.holdout_actual:,.0f} 次（偏差 {err:+.1%}）。")
