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
from workbench.topics import reputation as rep
from workbench.stats import fmt_pct

nb = wb.setup("11_brand_reputation", globals())

# %%
@nb.section("ratings", en="How do customers rate us, and is it getting worse?", zh="顾客打分如何，是否在变差？",
            needs=rep.NEEDS)
def ratings(f):
    s = rep.rating_summary(nb.data, f)
    trend = rep.rating_trend(nb.data, f, by="category")
    nb.show(charts.ci_band_chart(trend, "week", "rating", "rating_low", "rating_high", color="group", lang=nb.lang,
                              title=nb.text("Average rating per week by category, with 95% intervals",
                                            "各品类每周平均评分（含 95% 置信区间）"),
                              y_title=nb.text("Average rating (stars, 1–5)", "平均评分（星，1–5）")))
    nb.finding("rating", headline=True, value=s.mean, unit="stars", change=s.change,
               en=f"Average rating {s.mean:.2f} stars (95% CI {s.low:.2f}–{s.high:.2f}, n = {s.n:,} reviews), "
                  f"{fmt_pct(s.change)} on the comparison period; {s.negative_share:.1%} of reviews are negative "
                  f"(1–2 stars; 95% CI {s.negative_low:.1%}–{s.negative_high:.1%}).",
               zh=f"平均评分 {s.mean:.2f} 星（95% 区间 {s.low:.2f}–{s.high:.2f}，n = {s.n:,} 条评价），较对比期 "
                  f"{fmt_pct(s.change)}；差评（1–2 星）占 {s.negative_share:.1%}（95% 区间 "
                  f"{s.negative_low:.1%}–{s.negative_high:.1%}）。")


# %%
@nb.section("products", en="Which products are rated worst?", zh="哪些商品评分最差？", needs=rep.NEEDS)
def products(f):
    worst = rep.rating_by(nb.data, f, "product_id").head(10)
    if worst.empty:
        nb.say("Not enough reviews per product in this period (20 needed).", "本期各商品评价数不足（至少 20 条）。")
        return
    shown = worst.assign(err=worst["rating_high"] - worst["rating"])
    nb.show(charts.bar(shown, x="rating", y="group", error="err", orientation="h", lang=nb.lang,
                       title=nb.text("The 10 products with the lowest average rating, with 95% intervals",
                                     "平均评分最低的 10 个商品（含 95% 置信区间）"),
                       units={"rating": nb.text("stars", "星")}))
    w = worst.iloc[0]
    nb.finding("worst_product", value=w["rating"], unit="stars",
               en=f"Lowest rated: {w['group']} at {w['rating']:.2f} stars (95% CI {w['rating_low']:.2f}–"
                  f"{w['rating_high']:.2f}, n = {int(w['reviews'])}); {w['negative_share']:.0%} negative.",
               zh=f"评分最低的商品是 {w['group']}：{w['rating']:.2f} 星（95% 区间 {w['rating_low']:.2f}–"
                  f"{w['rating_high']:.2f}，n = {int(w['reviews'])}），差评占 {w['negative_share']:.0%}。")


# %%
@nb.section("sentiment", en="Does the text of reviews agree with the stars?", zh="评价文字的情感与星级一致吗？",
            needs=rep.NEEDS_TEXT)
def sentiment(f):
    nb.memo(rep.sentiment_lookup)
    a = rep.sentiment_agreement(nb.data, f)
    trend = rep.sentiment_trend(nb.data, f, by="language")
    nb.show(charts.ci_band_chart(trend, "week", "sentiment", "sentiment_low", "sentiment_high", color="group",
                              lang=nb.lang,
                              title=nb.text("Text sentiment per week by language (lexicon method; −1 negative to "
                                            "+1 positive), with 95% intervals",
                                            "各语言每周文本情感（词典法；−1 负面至 +1 正面，含 95% 置信区间）"),
                              y_title=nb.text("Mean sentiment (−1 to +1)", "平均情感（−1 至 +1）")))
    nb.table(a.by_language.assign(language=a.by_language["language"].map(nb.label))
             [["language", "n", "spearman", "agreement", "agreement_low", "agreement_high", "coverage"]],
             formats={"n": ",d", "spearman": ".2f", "agreement": ".1%", "agreement_low": ".1%",
                      "agreement_high": ".1%", "coverage": ".0%"})
    nb.say("Method: Chinese is segmented with jieba, English split into words; lexicon words score ±1 "
           "(×1.5 after an intensifier, sign flipped after a negation); sentiment = (pos − neg) / (pos + neg).",
           "方法：中文用 jieba 分词，英文按单词切分；情感词典中的词计 ±1（程度副词后 ×1.5，否定词后取反）；"
           "情感值 = (正面 − 负面) / (正面 + 负面)。")
    nb.finding("sentiment_agreement", value=a.spearman, unit="rho",
               en=f"Text sentiment agrees with the stars: Spearman ρ = {a.spearman:.2f} (95% CI {a.spearman_low:.2f}–"
                  f"{a.spearman_high:.2f}, n = {a.n:,}); the polarity matches in {a.agreement:.1%} of clear cases "
                  f"(95% CI {a.agreement_low:.1%}–{a.agreement_high:.1%}, n = {a.polar_n:,}); the lexicon covers "
                  f"{a.coverage:.0%} of texts.",
               zh=f"文本情感与星级一致：Spearman ρ = {a.spearman:.2f}（95% 区间 {a.spearman_low:.2f}–"
                  f"{a.spearman_high:.2f}，n = {a.n:,}）；明确表态的评价中 {a.agreement:.1%} 极性一致（95% 区间 "
                  f"{a.agreement_low:.1%}–{a.agreement_high:.1%}，n = {a.polar_n:,}）；词典覆盖 {a.coverage:.0%} 的文本。")


# %%
@nb.section("sentiment_alerts", en="Has sentiment about any product dropped beyond normal variation?",
            zh="是否有商品的评价情感异常下滑？", needs=rep.NEEDS_TEXT)
def sentiment_alerts(f):
    nb.memo(rep.sentiment_lookup)
    drops = rep.sentiment_drops(nb.data, f)
    if drops.empty:
        nb.finding("sentiment_drop", value=0, unit="products", status="green",
                   en=f"No product's sentiment dropped beyond normal variation ({drops.attrs['tested']} products "
                      "tested, CUSUM against each product's own baseline).",
                   zh=f"没有商品的评价情感出现超出正常波动的下滑（检验 {drops.attrs['tested']} 个商品，"
                      "按各商品自身基线做 CUSUM）。")
        return
    trend = rep.sentiment_trend(nb.data, f, by="product_id")
    shown = trend[trend["group"].isin(drops["product_id"].head(3))]
    fig = charts.ci_band_chart(shown, "week", "sentiment", "sentiment_low", "sentiment_high", color="group",
                            lang=nb.lang,
                            title=nb.text("Weekly text sentiment of the products with an alert, with 95% intervals",
                                          "触发预警商品的每周文本情感（含 95% 置信区间）"),
                            y_title=nb.text("Mean sentiment (−1 to +1)", "平均情感（−1 至 +1）"))
    for d in drops.head(3)["change_date"]:
        fig.add_vline(x=str(d), line_dash="dot", line_color="#c2255c")
    nb.show(fig)
    nb.table(drops.drop(columns=["cusum_min"]),
             formats={"baseline_sentiment": "+.2f", "sentiment_after": "+.2f", "drop": "+.2f", "drop_low": "+.2f",
                      "drop_high": "+.2f"})
    d = drops.iloc[0]
    nb.finding("sentiment_drop", headline=True, value=d["drop"], unit="sentiment", status="red",
               en=f"Alert: sentiment about {d['product_id']} fell from {d['baseline_sentiment']:+.2f} to "
                  f"{d['sentiment_after']:+.2f} from {d['change_date']} (drop {d['drop']:+.2f}, 95% CI "
                  f"{d['drop_low']:+.2f} to {d['drop_high']:+.2f}, n = {d['reviews_after']} reviews; alarm raised "
                  f"{d['alarm_date']}). {len(drops)} of {drops.attrs['tested']} products alarm.",
               zh=f"预警：{d['product_id']} 的评价情感自 {d['change_date']} 起由 {d['baseline_sentiment']:+.2f} 降至 "
                  f"{d['sentiment_after']:+.2f}（降幅 {d['drop']:+.2f}，95% 区间 {d['drop_low']:+.2f} 至 "
                  f"{d['drop_high']:+.2f}，n = {d['reviews_after']} 条；{d['alarm_date']} 触发预警）。共 "
                  f"{len(drops)}/{drops.attrs['tested']} 个商品预警。")


# %%
@nb.section("complaints", en="What are the complaints about?", zh="顾客在抱怨什么？", needs=rep.NEEDS_TEXT)
def complaints(f):
    terms = rep.complaint_terms(nb.data, f, top=10)
    if terms.empty:
        nb.say("No negative reviews with text in this period.", "本期没有带文字的差评。")
        return
    shown = terms.assign(language=terms["language"].map(nb.label))
    fig = charts.bar(shown, x="mentions", y="term", color="language", orientation="h", lang=nb.lang,
                     title=nb.text("Most frequent terms in negative reviews (1–2 stars), by language",
                                   "差评（1–2 星）中出现最多的词语（按语言）"),
                     units={"mentions": nb.text("reviews", "条评价")})
    fig.update_yaxes(categoryorder="total ascending")
    nb.show(fig)
    rising = rep.rising_terms(nb.data, f, top=5)
    if len(rising):
        nb.table(rising.assign(language=rising["language"].map(nb.label)),
                 formats={"share": ".1%", "share_before": ".1%", "lift": ".2f"})
    by_product = rep.complaint_terms(nb.data, f, by_product=True, top=3)
    worst = rep.rating_by(nb.data, f, "product_id")
    if len(worst) and len(by_product):
        pid = worst.iloc[0]["group"]
        nb.table(by_product[by_product["product_id"] == pid], formats={"share": ".0%"})
    top = terms.sort_values("mentions", ascending=False).iloc[0]
    up = rising.iloc[0] if len(rising) else None
    nb.finding("complaints", value=top["share"], unit="share",
               en=f"The most frequent complaint term is '{top['term']}' ({int(top['mentions'])} negative reviews, "
                  f"{top['share']:.0%} of them)"
                  + (f"; '{up['term']}' rose most ({up['share_before']:.0%} → {up['share']:.0%})." if up is not None
                     else "."),
               zh=f"差评中最常见的词是“{top['term']}”（{int(top['mentions'])} 条，占差评 {top['share']:.0%}）"
                  + (f"；上升最多的是“{up['term']}”（{up['share_before']:.0%} → {up['share']:.0%}）。"
                     if up is not None else "。"))


# %%
@nb.section("promoters", en="Would customers recommend us, and does it differ by channel?",
            zh="顾客愿意推荐我们吗？各渠道有何不同？", needs={**rep.NEEDS, **rep.NEEDS_CHANNEL})
def promoters(f):
    scores = rep.promoter_score(nb.data, f, by="channel")
    shown = scores.assign(err=scores["nps_high"] - scores["nps"])
    nb.show(charts.bar(shown, x="group", y="nps", error="err", lang=nb.lang,
                       title=nb.text("Net promoter-style score from ratings by channel (5★ minus 1–3★), with 95% "
                                     "intervals", "各渠道净推荐值（5 星占比减 1–3 星占比，含 95% 置信区间）"),
                       units={"nps": nb.text("points, −100 to 100", "分，−100 至 100")}))
    total = rep.promoter_score(nb.data, f, by=None).iloc[0]
    gap = rep.nps_difference(scores)
    gap_en = gap_zh = ""
    if gap:
        gap_en = (f" {nb.label(gap[0])} leads {nb.label(gap[1])} by {gap[2]:.0f} points "
                  f"(95% CI {gap[3]:.0f} to {gap[4]:.0f}).")
        gap_zh = f"{nb.label(gap[0])}比{nb.label(gap[1])}高 {gap[2]:.0f} 分（95% 区间 {gap[3]:.0f} 至 {gap[4]:.0f}）。"
    nb.finding("nps", value=total["nps"], unit="points",
               en=f"Net promoter-style score {total['nps']:.0f} (95% CI {total['nps_low']:.0f} to "
                  f"{total['nps_high']:.0f}, n = {int(total['reviews']):,}).{gap_en}",
               zh=f"净推荐值 {total['nps']:.0f}（95% 区间 {total['nps_low']:.0f} 至 {total['nps_high']:.0f}，"
                  f"n = {int(total['reviews']):,}）。{gap_zh}")
