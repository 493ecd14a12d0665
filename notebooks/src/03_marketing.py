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
ab_test = ""              # A/B test to read: "visitors_a,conversions_a,visitors_b,conversions_b"; empty: sizing table

# %%
import pandas as pd

import workbench as wb
from workbench.present import charts
from workbench.topics import marketing
from workbench.topics import sales
from workbench.stats import fmt_money, fmt_pct

nb = wb.setup("03_marketing", globals())

# %%
@nb.section("delivery", en="Where does the marketing money go, and what does the platform say it returns?",
            zh="营销费用花在哪里，平台归因的回报如何？", needs=marketing.NEEDS_SPEND)
def delivery(f):
    kpis = marketing.channel_kpis(nb.data, f)
    if kpis.empty:
        nb.say("No marketing spend in this period.", "本期没有营销花费。")
        return
    weekly = marketing.spend_over_time(nb.data, f, "week")
    nb.show(charts.bar(weekly.assign(marketing_channel=weekly["marketing_channel"].map(nb.label)), x="week",
                       y="spend_cny", color="marketing_channel", lang=nb.lang, units={"spend_cny": "CNY"},
                       title=nb.text("Marketing spend per week by channel (CNY)", "各营销渠道每周花费（元）")))
    nb.table(kpis.assign(marketing_channel=kpis["marketing_channel"].map(nb.label)).drop(columns=["ctr_low", "ctr_high"]),
             formats={"spend_cny": ",.0f", "impressions": ",.0f", "clicks": ",.0f", "ctr": ".2%", "cpc": ",.2f",
                      "attributed_orders": ",.0f", "cpa": ",.1f", "attributed_gmv_cny": ",.0f", "roas": ".2f"})
    total = kpis["spend_cny"].sum()
    top = kpis.iloc[0]
    nb.finding("spend", headline=True, value=total, unit="CNY",
               en=f"Marketing spend was {fmt_money(total, 'en')} over {f.days} days; {nb.label(top['marketing_channel'])} "
                  f"took {top['spend_cny'] / total:.0%} (CTR {top['ctr']:.2%}, 95% CI {top['ctr_low']:.2%}–"
                  f"{top['ctr_high']:.2%}" + (f"; platform ROAS {top['roas']:.2f})." if top["roas"] == top["roas"] else ")."),
               zh=f"{f.days} 天营销花费 {fmt_money(total)}；{nb.label(top['marketing_channel'])}占 "
                  f"{top['spend_cny'] / total:.0%}（点击率 {top['ctr']:.2%}，95% 置信区间 {top['ctr_low']:.2%}–"
                  f"{top['ctr_high']:.2%}" + (f"；平台归因 ROAS {top['roas']:.2f}）。" if top["roas"] == top["roas"] else "）。"))

# %%
@nb.section("response", en="How does GMV respond to each channel's spend, and what does the next yuan return?",
            zh="成交额如何随各渠道投放变化？多投一元能带来多少？", needs=marketing.NEEDS_RESPONSE)
def response(f):
    fit = nb.memo(marketing.analyse_response, f.channels)
    if fit is None:
        nb.say("Not enough history (120 days of spend and orders) to fit response curves.",
               "历史数据不足（需 120 天投放与订单），无法拟合响应曲线。")
        return
    model, curves = fit.model, fit.curves
    nb.show(charts.line(curves.assign(marketing_channel=curves["marketing_channel"].map(nb.label)), x="daily_spend",
                        y="response_gmv", color="marketing_channel", lang=nb.lang,
                        units={"daily_spend": "CNY", "response_gmv": "CNY"},
                        title=nb.text("Response curves: GMV per day driven by a steady daily spend (carry-over included)",
                                      "响应曲线：持续日投放带来的日成交额（含延续效应）")))
    mroas = fit.marginal_roas
    nb.table(mroas.assign(marketing_channel=mroas["marketing_channel"].map(nb.label)),
             formats={"current_spend": ",.0f", "marginal_roas": ".2f", "marginal_roas_low": ".2f",
                      "marginal_roas_high": ".2f", "response_gmv": ",.0f"})
    nb.table(model.params.assign(marketing_channel=model.params["marketing_channel"].map(nb.label))[
        ["marketing_channel", "beta", "gamma", "decay", "decay_low", "decay_high"]],
        formats={"beta": ".3f", "gamma": ",.0f", "decay": ".2f", "decay_low": ".2f", "decay_high": ".2f"})
    best, worst = mroas.loc[mroas["marginal_roas"].idxmax()], mroas.loc[mroas["marginal_roas"].idxmin()]
    nb.finding("marginal_roas", value=best["marginal_roas"], unit="ratio",
               en=f"At today's spend the next yuan returns most in {nb.label(best['marketing_channel'])}: marginal ROAS "
                  f"{best['marginal_roas']:.2f} (95% CI {best['marginal_roas_low']:.2f}–{best['marginal_roas_high']:.2f}); "
                  f"least in {nb.label(worst['marketing_channel'])} ({worst['marginal_roas']:.2f}). Model fitted on "
                  f"n = {model.n} days, R² {model.r2:.2f}.",
               zh=f"按当前投放，多投一元回报最高的是{nb.label(best['marketing_channel'])}：边际 ROAS "
                  f"{best['marginal_roas']:.2f}（95% 置信区间 {best['marginal_roas_low']:.2f}–{best['marginal_roas_high']:.2f}）；"
                  f"最低的是{nb.label(worst['marketing_channel'])}（{worst['marginal_roas']:.2f}）。模型基于 n = {model.n} 天，"
                  f"R² {model.r2:.2f}。")

# %%
@nb.section("reallocation", en="How should the same budget be split?", zh="同样的预算应如何分配？",
            needs=marketing.NEEDS_RESPONSE)
def reallocation(f):
    fit = nb.memo(marketing.analyse_response, f.channels)
    if fit is None:
        nb.say("No response model (see above).", "没有响应模型（见上）。")
        return
    plan = fit.reallocation
    long = plan.table.melt(id_vars="marketing_channel", value_vars=["current_spend", "proposed_spend"],
                           var_name="plan", value_name="daily_spend")
    long = long.assign(marketing_channel=long["marketing_channel"].map(nb.label), plan=long["plan"].map(nb.label))
    nb.show(charts.bar(long, x="marketing_channel", y="daily_spend", color="plan", barmode="group", lang=nb.lang,
                       units={"daily_spend": "CNY"},
                       title=nb.text(f"Daily spend now and as the curves suggest (total unchanged, each channel within "
                                     f"±{plan.max_change:.0%}, CNY)",
                                     f"当前与建议的日投放（总额不变，各渠道变动不超过 ±{plan.max_change:.0%}，元）")))
    nb.finding("reallocation", headline=True, value=plan.gain * 30, unit="CNY",
               en=f"Moving budget as shown would add about {fmt_money(plan.gain * 30, 'en')} GMV per 30 days at the same "
                  f"spend (95% interval {fmt_money(plan.gain_low * 30, 'en')} to {fmt_money(plan.gain_high * 30, 'en')}; "
                  f"a gain in {plan.prob_positive:.0%} of parameter draws).",
               zh=f"按图示调整预算，总花费不变，每 30 天约可多带来成交额 {fmt_money(plan.gain * 30)}"
                  f"（95% 区间 {fmt_money(plan.gain_low * 30)}–{fmt_money(plan.gain_high * 30)}；"
                  f"{plan.prob_positive:.0%} 的参数抽样下为正收益）。")

# %%
@nb.section("ab_test", en="Did the test variant convert better, and was the test large enough?",
            zh="实验版本转化更好吗？样本量够吗？", needs={})
def ab_section(f):
    given = marketing.parse_ab(ab_test)
    if given is None:
        base = float("nan")
        if nb.data.has("traffic"):
            conv = sales.overall_conversion(sales.funnel_rates(nb.data, f, "channel"), "channel")
            base = conv["paid_orders"].sum() / conv["sessions"].sum() if len(conv) else float("nan")
        if not base == base or base <= 0:
            base = 0.03
        table = marketing.sample_size_table(base)
        nb.table(table, formats={"lift": "+.0%", "visitors_per_arm": ",.0f"})
        nb.finding("ab_sizing", value=table["visitors_per_arm"].iloc[2], unit="visitors",
                   en=f"No test given (parameter ab_test). At the shop's conversion of {base:.2%}, detecting a 10% lift "
                      f"needs {table['visitors_per_arm'].iloc[2]:,} visitors per variant (80% power, 5% significance).",
                   zh=f"未提供实验数据（参数 ab_test）。按当前转化率 {base:.2%}，检测 10% 的提升每组需 "
                      f"{table['visitors_per_arm'].iloc[2]:,} 名访客（80% 检验效能，5% 显著性）。")
        return
    t = marketing.ab_test(*given)
    verdict_en = "significant" if t.p_value < 0.05 else "not significant"
    verdict_zh = "显著" if t.p_value < 0.05 else "不显著"
    nb.table(pd.DataFrame({"variant": ["A", "B"], "visitors": [t.visitors_a, t.visitors_b],
                                     "conversions": [t.conversions_a, t.conversions_b], "rate": [t.rate_a, t.rate_b]}),
             formats={"visitors": ",.0f", "conversions": ",.0f", "rate": ".2%"})
    nb.finding("ab_test", value=t.difference, unit="share",
               en=f"B converts {t.rate_b:.2%} against A's {t.rate_a:.2%}: {t.difference * 100:+.2f} points "
                  f"(95% CI {t.low * 100:+.2f} to {t.high * 100:+.2f}), p = {t.p_value:.3f}, {verdict_en}. "
                  f"Power {t.power:.0%}; {t.needed_per_arm:,} visitors per variant would give 80% "
                  f"({'reached' if t.enough else 'not reached'}).",
               zh=f"B 版转化率 {t.rate_b:.2%}，A 版 {t.rate_a:.2%}：相差 {t.difference * 100:+.2f} 个百分点（95% 置信区间 "
                  f"{t.low * 100:+.2f}–{t.high * 100:+.2f}），p = {t.p_value:.3f}，{verdict_zh}。检验效能 {t.power:.0%}；"
                  f"每组 {t.needed_per_arm:,} 名访客可达 80%（{'已达到' if t.enough else '未达到'}）。")
