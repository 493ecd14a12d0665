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
from workbench.topics import social
from workbench.present.charts import interval_bar
from workbench.stats import fmt_money

nb = wb.setup("08_social_commerce", globals())

# %%
@nb.section("kols", en="Which KOLs pay back their fees and commission?", zh="哪些达人收回了坑位费和佣金？",
            needs=social.NEEDS_KOL)
def kols(f):
    r = social.kol_ranking(nb.data, f)
    shown = r.table[r.table["roi_low"].notna()]
    if shown.empty:
        nb.say("Too few streams per KOL in this period for an interval; choose a longer period.",
               "本周期内每位达人的场次太少，无法给出区间；请选择更长的周期。")
        shown = r.table
    nb.show(interval_bar(shown, x="handle", y="roi", low="roi_low", high="roi_high", lang=nb.lang,
                         units={"roi": nb.text("CNY of GMV per CNY of cost", "每 1 元投入的成交额")},
                         title=nb.text("ROI by KOL: attributed GMV per CNY of fees and commission (95% intervals)",
                                       "各达人投产比：每 1 元坑位费与佣金带来的成交额（含 95% 置信区间）")))
    nb.table(r.table[["rank", "handle", "streams", "viewers", "orders", "gmv", "cost", "roi", "roi_low", "roi_high",
                      "conversion", "new_customers", "return_rate"]],
             formats={"rank": ".0f", "gmv": ",.0f", "cost": ",.0f", "roi": ".2f", "roi_low": ".2f", "roi_high": ".2f",
                      "conversion": ".2%", "return_rate": ".1%", "viewers": ",d", "orders": ",d"})
    if r.best is None:
        return
    b = r.table[r.table["kol_id"] == r.best].iloc[0]
    w = r.table[r.table["kol_id"] == r.worst].iloc[0]
    clear_en = "" if r.best_clearly_first and r.worst_clearly_last else " (intervals overlap with others: treat the order as tentative)"
    clear_zh = "" if r.best_clearly_first and r.worst_clearly_last else "（区间与其他达人有重叠，排名仅供参考）"
    nb.finding("kol_best_worst", headline=True, value=b["roi"], unit="ratio",
               en=f"{b['handle']} pays back best: ROI {b['roi']:.2f} (95% CI {b['roi_low']:.2f}–{b['roi_high']:.2f}, "
                  f"{int(b['streams'])} streams); {w['handle']} worst: ROI {w['roi']:.2f} "
                  f"({w['roi_low']:.2f}–{w['roi_high']:.2f}, {int(w['streams'])} streams){clear_en}.",
               zh=f"{b['handle']} 回报最高：投产比 {b['roi']:.2f}（95% 置信区间 {b['roi_low']:.2f}–{b['roi_high']:.2f}，"
                  f"{int(b['streams'])} 场）；{w['handle']} 最低：投产比 {w['roi']:.2f}（{w['roi_low']:.2f}–"
                  f"{w['roi_high']:.2f}，{int(w['streams'])} 场）{clear_zh}。")

# %%
@nb.section("streams", en="Which livestreams convert their viewers?", zh="哪些直播把观众转化成了买家？",
            needs=social.NEEDS_STREAM)
def streams(f):
    table = social.livestream_table(nb.data, f)
    if table.empty:
        nb.say("No livestreams in this period and channel selection.", "所选周期和渠道内没有直播。")
        return
    nb.show(charts.bar(table.head(15), x="livestream_id", y="gmv", color="kol_id", lang=nb.lang,
                       units={"gmv": "CNY"},
                       title=nb.text("Attributed GMV of the 15 largest livestreams (CNY)",
                                     "成交额最高的 15 场直播的归因成交额（元）")))
    viewers, orders = int(table["viewers"].sum()), int(table["orders"].sum())
    nb.finding("stream_conversion", value=orders / viewers if viewers else None, unit="share",
               en=f"{len(table):,} livestreams reached {viewers:,} viewers and brought {orders:,} orders "
                  f"({orders / max(viewers, 1):.2%} of viewers bought; {fmt_money(table['gmv'].sum(), 'en')} GMV).",
               zh=f"{len(table):,} 场直播触达 {viewers:,} 名观众，带来 {orders:,} 笔订单（观众转化率 "
                  f"{orders / max(viewers, 1):.2%}，成交额 {fmt_money(table['gmv'].sum())}）。")

# %%
@nb.section("incrementality", en="Do livestreams add sales, beyond what is attributed to them?",
            zh="直播是否带来真正的增量，而不只是归因成交？", needs=social.NEEDS_STREAM)
def incrementality(f):
    inc = social.incrementality(nb.data, f)
    bars = pd.DataFrame({"window": ["attributed_gmv", "during", "after"],
                         "gmv": [inc.attributed, inc.during, inc.after],
                         "low": [inc.attributed, inc.during_low, inc.after_low],
                         "high": [inc.attributed, inc.during_high, inc.after_high]})
    nb.show(interval_bar(bars, x="window", y="gmv", low="low", high="high", lang=nb.lang, units={"gmv": "CNY"},
                         title=nb.text("Attributed GMV against the channel's sales lift on stream days and the 3 days "
                                       "after (CNY, 95% intervals)",
                                       "归因成交额与直播当天及其后 3 天渠道成交增量对比（元，含 95% 置信区间）")))
    nb.say(f"Baseline: {inc.method}.", "基线：同一渠道、前后 5 周内同星期几、当天及前 3 天无直播（且非大促）的日均成交额。")
    nb.finding("stream_lift", value=inc.during, unit="CNY",
               en=f"On {inc.n_days} stream days the channels sold {fmt_money(inc.during, 'en')} more than on comparable "
                  f"days (95% CI {fmt_money(inc.during_low, 'en')} to {fmt_money(inc.during_high, 'en')}), against "
                  f"{fmt_money(inc.attributed, 'en')} attributed to the streams; the 3 days after added "
                  f"{fmt_money(inc.after, 'en')} ({fmt_money(inc.after_low, 'en')} to {fmt_money(inc.after_high, 'en')}).",
               zh=f"{inc.n_days} 个直播日渠道成交额比可比日多 {fmt_money(inc.during)}（95% 置信区间 "
                  f"{fmt_money(inc.during_low)} 至 {fmt_money(inc.during_high)}），归因成交额为 {fmt_money(inc.attributed)}；"
                  f"直播后 3 天另增 {fmt_money(inc.after)}（{fmt_money(inc.after_low)} 至 {fmt_money(inc.after_high)}）。")

# %%
@nb.section("private", en="Do customers reached in private traffic come back more?",
            zh="私域触达的顾客复购更多吗？", needs=social.NEEDS_PRIVATE)
def private(f):
    res = nb.memo(social.private_traffic_effect, 30, 180)
    rep, val = res["repeat"], res["value"]
    if rep.n_treated == 0:
        nb.say("Not enough customers reached in private traffic to compare.", "私域触达的顾客太少，无法比较。")
        return
    bars = pd.DataFrame({"group": ["private", "others"], "repeat_rate": [rep.treated_mean, rep.control_mean]})
    nb.show(charts.bar(bars, x="group", y="repeat_rate", lang=nb.lang, units={"repeat_rate": "%"},
                       title=nb.text("Repeat purchase in days 31–210 after the first order, matched comparison",
                                     "首单后第 31–210 天复购率（匹配比较）")).update_yaxes(tickformat=".0%"))
    nb.say("Whole history; customers matched on first-purchase month, first channel and first-order value.",
           "基于全部历史；按首购月份、首购渠道和首单金额分层匹配。")
    nb.finding("private_repeat", value=rep.difference, unit="share",
               en=f"Customers reached in private traffic differ from matched others by {rep.difference * 100:+.1f} points "
                  f"in repeat purchase (95% CI {rep.low * 100:+.1f} to {rep.high * 100:+.1f}; n = {rep.n_treated:,} vs "
                  f"{rep.n_control:,}) and by {fmt_money(val.difference, 'en')} in spend each over 180 days "
                  f"({fmt_money(val.low, 'en')} to {fmt_money(val.high, 'en')}).",
               zh=f"私域触达顾客的复购率与匹配的其他顾客相差 {rep.difference * 100:+.1f} 个百分点（95% 置信区间 "
                  f"{rep.low * 100:+.1f} 至 {rep.high * 100:+.1f}；n = {rep.n_treated:,} 对 {rep.n_control:,}），"
                  f"180 天内人均消费相差 {fmt_money(val.difference)}（{fmt_money(val.low)} 至 {fmt_money(val.high)}）。")

# %%
@nb.section("referrals", en="How many orders does one share bring?", zh="一次分享能带来多少订单？",
            needs=social.NEEDS_REFERRAL)
def referrals(f):
    r = social.referrals(nb.data, f)
    nb.show(charts.bar(r.distribution, x="orders_brought", y="referrers", lang=nb.lang,
                       units={"orders_brought": nb.text("orders, 10 = 10 or more", "单，10 表示 10 单及以上"),
                              "referrers": nb.text("customers", "人")},
                       title=nb.text("Sharing customers by the number of orders their shares brought",
                                     "按分享带来订单数统计的分享者人数")))
    nb.finding("referral_orders", value=r.orders_per_referrer, unit="orders",
               en=f"{r.referrers:,} sharing customers brought {r.referred_orders:,} orders ({r.share_of_orders:.1%} of "
                  f"all, {fmt_money(r.referred_gmv, 'en')}): {r.orders_per_referrer:.2f} orders each (95% CI "
                  f"{r.low:.2f}–{r.high:.2f}); {r.new_customer_share:.0%} of them were first orders.",
               zh=f"{r.referrers:,} 位分享者带来 {r.referred_orders:,} 笔订单（占全部 {r.share_of_orders:.1%}，"
                  f"{fmt_money(r.referred_gmv)}）：人均 {r.orders_per_referrer:.2f} 单（95% 置信区间 {r.low:.2f}–{r.high:.2f}）；"
                  f"其中 {r.new_customer_share:.0%} 是新客首单。")
