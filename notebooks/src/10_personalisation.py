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
from pathlib import Path

import workbench as wb
from workbench.present import charts
from workbench.topics import personalisation as pz
from workbench.stats import fmt_money

nb = wb.setup("10_personalisation", globals())

# %% [markdown]
# Segments, recommendations and the propensity model look at the history up to the period's end
# (the last 365 days for segments) and are computed once per end date and channel selection.
# The target list carries customer ids only, never names, phones or addresses.

# %%
@nb.section("segments", en="Who are our customers? Which groups behave alike?",
            zh="我们的客户是谁？哪些人行为相似？", needs=pz.NEEDS_SEGMENTS)
def segments(f):
    seg = nb.memo(pz.segments, f.end, 5, f.channels)
    prof = seg.profile
    shown = prof.assign(segment=prof["segment"].map(nb.label), top_channel=prof["top_channel"].map(nb.label))
    nb.show(charts.bar(shown, x="segment", y="gmv_per_customer", text="customers", lang=nb.lang,
                       units={"gmv_per_customer": "CNY"},
                       title=nb.text("GMV per customer over 365 days by behaviour segment (CNY; label: customers)",
                                     "各行为分群近 365 天人均消费（元；标注为客户数）")))
    cols = ["segment", "customers", "share", "gmv_share", "gmv_per_customer", "orders_365d", "recency_days",
            "tenure_days", "discount_share", "categories", "top_channel"]
    cols += [c for c in ("top_category", "top_region") if c in shown]
    nb.table(shown[cols], formats={"customers": ",.0f", "share": ".1%", "gmv_share": ".1%", "gmv_per_customer": ",.0f",
                                   "orders_365d": ".0f", "recency_days": ".0f", "tenure_days": ".0f",
                                   "discount_share": ".1%", "categories": ".0f"})
    top = prof.iloc[0]
    nb.finding("top_segment", value=top["gmv_share"], unit="share",
               en=f"'{nb.label(top['segment'])}' ({int(top['customers']):,} customers, {top['share']:.1%} of the "
                  f"{seg.n:,} active) bring {top['gmv_share']:.1%} of the year's GMV at "
                  f"{fmt_money(top['gmv_per_customer'], 'en')} each, mostly via {nb.label(top['top_channel'])}.",
               zh=f"“{nb.label(top['segment'])}”（{int(top['customers']):,} 人，占 {seg.n:,} 名活跃客户的 "
                  f"{top['share']:.1%}）贡献全年成交额的 {top['gmv_share']:.1%}，人均 {fmt_money(top['gmv_per_customer'])}，"
                  f"主要通过{nb.label(top['top_channel'])}购买。")


# %%
@nb.section("recommend", en="What should we show each customer next? Does it beat showing bestsellers?",
            zh="下一步该给每位客户推荐什么？比推荐爆款更好吗？", needs=pz.NEEDS_ITEMS)
def recommend(f):
    hit = nb.memo(pz.evaluate_recommender, f.end, 10, f.channels)
    rules = nb.memo(pz.association_rules, f.end, f.channels)
    rates = [{"method": nb.label("rules"), "hit_rate": hit.rules_hit_rate, "err": hit.rules_high - hit.rules_hit_rate},
             {"method": nb.label("popular"), "hit_rate": hit.popular_hit_rate,
              "err": hit.popular_high - hit.popular_hit_rate}]
    import pandas as pd
    nb.show(charts.bar(pd.DataFrame(rates), x="method", y="hit_rate", error="err", lang=nb.lang,
                       units={"hit_rate": "share"},
                       title=nb.text(f"Hit rate at {hit.k} on each customer's held-out last purchase, 95% intervals "
                                     f"(n = {hit.n:,})",
                                     f"留出每位客户最后一次购买的前 {hit.k} 推荐命中率（含 95% 置信区间，n = {hit.n:,}）")))
    if len(rules):
        nb.table(rules.head(10)[["antecedent", "consequent", "pair_customers", "support", "confidence", "lift"]],
                 formats={"support": ".3%", "confidence": ".1%", "lift": ".2f"}, rows=10)
    verdict_en = ("beats" if hit.rules_beat_popular else
                  "does not beat" if hit.difference_high < 0 else "is not clearly better than")
    verdict_zh = ("优于" if hit.rules_beat_popular else "不如" if hit.difference_high < 0 else "并不明显优于")
    nb.finding("recommender", headline=True, value=hit.rules_hit_rate, unit="share",
               en=f"The co-purchase recommender {verdict_en} showing the {hit.k} bestsellers: hit rate "
                  f"{hit.rules_hit_rate:.1%} (95% CI {hit.rules_low:.1%}–{hit.rules_high:.1%}) against "
                  f"{hit.popular_hit_rate:.1%} ({hit.popular_low:.1%}–{hit.popular_high:.1%}); difference "
                  f"{hit.difference:+.1%} ({hit.difference_low:+.1%} to {hit.difference_high:+.1%}), n = {hit.n:,} customers.",
               zh=f"基于共同购买的推荐{verdict_zh}推荐 {hit.k} 个爆款：命中率 {hit.rules_hit_rate:.1%}（95% 置信区间 "
                  f"{hit.rules_low:.1%}–{hit.rules_high:.1%}），爆款为 {hit.popular_hit_rate:.1%}（{hit.popular_low:.1%}–"
                  f"{hit.popular_high:.1%}）；差值 {hit.difference:+.1%}（{hit.difference_low:+.1%} 至 "
                  f"{hit.difference_high:+.1%}），n = {hit.n:,} 位客户。")


# %%
@nb.section("propensity", en="Who is likely to buy in the next 30 days?",
            zh="哪些客户可能在未来 30 天购买？", needs=pz.NEEDS)
def propensity(f):
    prop = nb.memo(pz.propensity, f.end, f.channels)
    cal = prop.calibration.melt(id_vars=["decile"], value_vars=["predicted_rate", "observed_rate"],
                                var_name="series", value_name="rate")
    cal["series"] = cal["series"].map(nb.label)
    nb.show(charts.line(cal, x="decile", y="rate", color="series", lang=nb.lang, units={"rate": "share"},
                        title=nb.text(f"Calibration on the hold-out (cutoff {prop.test_cutoff}): predicted vs observed "
                                      "30-day purchase rate by score decile",
                                      f"验证集（截点 {prop.test_cutoff}）校准：各预测十分位的预测与实际 30 天购买率")))
    targets = pz.target_list(prop, n=1000)
    nb.table(targets.head(10), formats={"p_purchase_30d": ".1%", "gmv_365d": ",.0f"}, rows=10)
    if nb.params.get("findings_path"):
        out = Path(nb.params["findings_path"]).with_name("10_personalisation_targets.csv")
        pz.export_target_list(targets, out)
        nb.say(f"Ranked target list ({len(targets):,} customer ids, no personal data) written to {out.name}.",
               f"已导出排序后的目标名单（{len(targets):,} 个客户编号，不含个人信息）：{out.name}。")
    top_rate, lift = pz.lift_at(prop, 0.1)
    top_pred = float(prop.calibration["predicted_rate"].iloc[-1])
    quality_en = "well" if prop.auc >= 0.75 else "fairly" if prop.auc >= 0.65 else "poorly"
    quality_zh = "良好" if prop.auc >= 0.75 else "一般" if prop.auc >= 0.65 else "较弱"
    nb.finding("propensity", headline=True, value=prop.auc, unit="auc",
               en=f"The 30-day purchase model ranks customers {quality_en} on a later hold-out: AUC {prop.auc:.2f} (95% CI "
                  f"{prop.auc_low:.2f}–{prop.auc_high:.2f}, n = {prop.n_test:,}); the top 10% bought at {top_rate:.1%}, "
                  f"{lift:.1f}x the base rate of {prop.base_rate_test:.1%} (the model expected {top_pred:.1%}: read the "
                  "probabilities as a ranking more than as exact rates).",
               zh=f"30 天购买预测模型在后续验证期排序能力{quality_zh}：AUC {prop.auc:.2f}（95% 置信区间 {prop.auc_low:.2f}–"
                  f"{prop.auc_high:.2f}，n = {prop.n_test:,}）；得分前 10% 的客户实际购买率 {top_rate:.1%}，"
                  f"是平均水平 {prop.base_rate_test:.1%} 的 {lift:.1f} 倍（模型预期 {top_pred:.1%}：概率更适合用于排序而非精确比例）。")
