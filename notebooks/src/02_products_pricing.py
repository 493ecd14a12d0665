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
from workbench.topics import products
from pandas import Timestamp as wb_date
from workbench.stats import fmt_money, fmt_pct

nb = wb.setup("02_products_pricing", globals())

# %%
@nb.section("abc", en="Which products carry the business?", zh="哪些商品撑起了生意？", needs=products.NEEDS_SALES)
def abc(f):
    classes = products.abc_classes(nb.data, f, "gmv")
    if classes.empty:
        nb.say("No product sales in this period.", "本期没有商品销售。")
        return
    fig = charts.line(classes, x="rank_share", y="cum_share", lang=nb.lang,
                      title=nb.text("Pareto curve: cumulative share of GMV by share of products (ranked by GMV)",
                                    "帕累托曲线：按成交额排序的商品占比与累计成交额占比"),
                      units={"rank_share": "%", "cum_share": "%"})
    fig.update_xaxes(tickformat=".0%").update_yaxes(tickformat=".0%")
    nb.show(fig)
    summary = products.abc_summary(classes, "gmv")
    by_margin = products.abc_classes(nb.data, f, "margin")
    if not by_margin.empty:
        both = classes[["product_id", "abc"]].merge(by_margin[["product_id", "abc"]], on="product_id",
                                                    suffixes=("", "_margin"))
        summary = summary.merge(both.groupby("abc").apply(lambda d: (d["abc_margin"] == "A").mean(),
                                                          include_groups=False).rename("share_A_by_margin"),
                                on="abc", how="left")
    nb.table(summary, formats={"share_of_products": ".0%", "share_of_gmv": ".0%", "share_A_by_margin": ".0%"})
    a = summary.set_index("abc").loc["A"] if "A" in set(summary["abc"]) else None
    if a is not None:
        nb.finding("abc", headline=True, value=a["share_of_products"], unit="share",
                   en=f"{int(a['n_products'])} products ({a['share_of_products']:.0%} of those sold) make "
                      f"{a['share_of_gmv']:.0%} of GMV (class A, n = {len(classes):,} products).",
                   zh=f"{int(a['n_products'])} 个商品（占在售商品的 {a['share_of_products']:.0%}）贡献了 "
                      f"{a['share_of_gmv']:.0%} 的成交额（A 类，共 {len(classes):,} 个商品）。")
    if not by_margin.empty:
        gap = classes.merge(by_margin[["product_id", "abc"]], on="product_id", suffixes=("", "_margin"))
        n_gap = int(((gap["abc"] == "A") & (gap["abc_margin"] == "C")).sum())
        nb.finding("abc_margin", value=n_gap, unit="products",
                   en=f"{n_gap} class-A products by GMV fall into class C by margin: they sell but earn little.",
                   zh=f"按成交额属 A 类、按毛利却属 C 类的商品有 {n_gap} 个：卖得多、赚得少。")

# %%
@nb.section("growth_share", en="Which categories are growing, and which carry the share?",
            zh="哪些品类在增长，哪些品类占比最大？", needs=products.NEEDS_SALES)
def growth_share(f):
    gs = products.growth_share(nb.data, f)
    if gs.empty:
        nb.say("No product sales in this period.", "本期没有商品销售。")
        return
    shown = gs.assign(quadrant=gs["quadrant"].map(nb.label))
    import plotly.express as px
    fig = px.scatter(shown, x="share", y="growth", size="gmv", color="quadrant", text="category",
                     title=nb.text("Growth and share of categories (bubble size: GMV in CNY)",
                                   "品类增长-份额矩阵（气泡大小：成交额）"),
                     labels={"share": nb.text("Share of GMV (%)", "成交额占比 (%)"),
                             "growth": nb.text("Growth on the comparison period (%)", "较对比期增长 (%)"),
                             "quadrant": nb.label("quadrant")})
    fig.update_xaxes(tickformat=".0%").update_yaxes(tickformat=".0%").update_traces(textposition="top center")
    nb.show(fig)
    nb.table(shown, formats={"gmv": ",.0f", "gmv_comparison": ",.0f", "share": ".1%", "growth": "+.1%"})
    fast = gs.dropna(subset=["growth"])
    if len(fast):
        top = fast.loc[fast["growth"].idxmax()]
        nb.finding("fastest_category", value=top["growth"], unit="share", change=top["growth"],
                   en=f"{top['category']} has the best growth ({fmt_pct(top['growth'])}, {fmt_money(top['gmv'], 'en')}, "
                      f"{top['share']:.0%} of GMV).",
                   zh=f"增长表现最好的品类是{top['category']}（{fmt_pct(top['growth'])}，成交额 {fmt_money(top['gmv'])}，"
                      f"占 {top['share']:.0%}）。")

# %%
@nb.section("launches", en="How do new products take off in their first 90 days?", zh="新品上市 90 天表现如何？",
            needs=products.NEEDS_LAUNCH)
def launches(f):
    curves = nb.memo(products.launch_curves, str(f.end), 90)
    if curves.empty:
        nb.say("No product was launched inside the data.", "数据期内没有上市的新品。")
        return
    bench = products.launch_benchmark(curves)
    long = bench.melt(id_vars="days_since_launch", value_vars=["q25", "median", "q75"], var_name="series",
                      value_name="cum_units")
    nb.show(charts.line(long, x="days_since_launch", y="cum_units", color="series", lang=nb.lang,
                        title=nb.text("Cumulative units of new products by day since launch (median and quartiles)",
                                      "新品上市后累计销量（中位数与四分位）"),
                        units={"days_since_launch": nb.text("days", "天"), "cum_units": nb.text("units", "件")}))
    recent = curves[curves["launch_date"] >= wb_date(f.start)]
    n = curves["product_id"].nunique()
    day90 = bench[bench["days_since_launch"] == bench["days_since_launch"].max()].iloc[0]
    nb.finding("launch_curve", value=day90["median"], unit="units",
               en=f"A typical launch sells {day90['median']:,.0f} units in its first "
                  f"{int(day90['days_since_launch']) + 1} days (middle half {day90['q25']:,.0f}–{day90['q75']:,.0f}; "
                  f"n = {int(day90['n_products'])} of {n} launches; {recent['product_id'].nunique()} launched in this period).",
               zh=f"新品上市前 {int(day90['days_since_launch']) + 1} 天的典型销量为 {day90['median']:,.0f} 件"
                  f"（中间一半 {day90['q25']:,.0f}–{day90['q75']:,.0f}；n = {int(day90['n_products'])}，共 {n} 个新品）。")

# %%
@nb.section("listing", en="Do better listings sell more, at the same price and category?",
            zh="详情页做得更好，同品类同价位下卖得更多吗？", needs=products.NEEDS_LISTING)
def listing(f):
    lq = nb.memo(products.listing_quality)
    if lq is None:
        nb.say("Too few products carry listing attributes (20 at least).", "带有详情页属性的商品太少（至少 20 个）。")
        return
    eff = lq.effects.assign(term=lq.effects["term"].map(nb.label), err=lambda d: d["effect_high"] - d["effect"])
    nb.show(charts.bar(eff, x="term", y="effect", error="err", lang=nb.lang,
                       title=nb.text("Change in units per day per listing attribute (per 10 title characters, per image, "
                                     "with video, per 100 description characters), 95% CI",
                                     "各详情页属性对日均销量的影响（每 10 字标题、每张图、有视频、每 100 字详情），95% 置信区间"),
                       units={"effect": "%"}))
    nb.table(eff[["term", "effect", "effect_low", "effect_high", "p_value"]],
             formats={"effect": "+.1%", "effect_low": "+.1%", "effect_high": "+.1%", "p_value": ".3f"})
    best = lq.effects.loc[lq.effects["effect"].idxmax()]
    nb.finding("listing", value=best["effect"], unit="share",
               en=f"Of the listing attributes, {nb.label(best['term']).lower()} matters most: {fmt_pct(best['effect'])} "
                  f"units per day (95% CI {fmt_pct(best['effect_low'])} to {fmt_pct(best['effect_high'])}, "
                  f"n = {lq.n} products, category and price held equal).",
               zh=f"详情页属性中影响最大的是{nb.label(best['term'])}：日均销量 {fmt_pct(best['effect'])}"
                  f"（95% 置信区间 {fmt_pct(best['effect_low'])}–{fmt_pct(best['effect_high'])}，n = {lq.n} 个商品，"
                  f"已控制品类与价格）。")

# %%
@nb.section("elasticity", en="How strongly do buyers react to price, and what would +5% do?",
            zh="买家对价格有多敏感？涨价 5% 会怎样？", needs=products.NEEDS_ELASTICITY)
def elasticity(f):
    table = products.elasticity_table(nb.memo(products.price_elasticities, f.channels))
    if table.empty:
        nb.say("Not enough price variation to estimate elasticities.", "价格变动不足，无法估计弹性。")
        return
    shown = table.assign(err=table["elasticity_high"] - table["elasticity"])
    nb.show(charts.bar(shown, x="category", y="elasticity", error="err", lang=nb.lang,
                       title=nb.text("Price elasticity of demand by category (% change in units per 1% price), 95% CI",
                                     "各品类需求价格弹性（价格变动 1% 时销量变动 %），95% 置信区间"),
                       units={"elasticity": "%/%"}))
    gmv = products.product_totals(nb.data, f).groupby("category", as_index=False)["gmv"].sum()
    scen = products.price_change_scenario(table, gmv, 0.05)
    nb.table(table.merge(scen, on="category"),
             formats={"elasticity": "+.2f", "elasticity_low": "+.2f", "elasticity_high": "+.2f", "n_obs": ",.0f",
                      "units_change": "+.1%", "units_change_low": "+.1%", "units_change_high": "+.1%",
                      "gmv_change": "+.1%", "gmv_change_low": "+.1%", "gmv_change_high": "+.1%",
                      "gmv_change_cny": "+,.0f"})
    most = table.loc[table["elasticity"].idxmin()]
    least = table.loc[table["elasticity"].idxmax()]
    s_most = scen.set_index("category").loc[most["category"]]
    nb.finding("elasticity", headline=True, value=most["elasticity"], unit="elasticity",
               en=f"{most['category']} is the most price-sensitive category: elasticity {most['elasticity']:.2f} "
                  f"(95% CI {most['elasticity_low']:.2f} to {most['elasticity_high']:.2f}, n = {int(most['n_obs']):,} "
                  f"category-days); a 5% price rise would change its units by {fmt_pct(s_most['units_change'])} and "
                  f"GMV by {fmt_pct(s_most['gmv_change'])}. {least['category']} is the least ({least['elasticity']:.2f}).",
               zh=f"对价格最敏感的品类是{most['category']}：弹性 {most['elasticity']:.2f}（95% 置信区间 "
                  f"{most['elasticity_low']:.2f}–{most['elasticity_high']:.2f}，n = {int(most['n_obs']):,} 个品类日）；"
                  f"涨价 5% 将使销量变化 {fmt_pct(s_most['units_change'])}、成交额变化 {fmt_pct(s_most['gmv_change'])}。"
                  f"最不敏感的是{least['category']}（{least['elasticity']:.2f}）。")

# %%
@nb.section("stockouts", en="What did running out of stock cost?", zh="缺货损失了多少销售？",
            needs=products.NEEDS_STOCKOUT)
def stockouts(f):
    est = nb.memo(products.stockout_losses, str(f.start), str(f.end))
    if est.stockout_days == 0:
        nb.finding("stockouts", value=0, unit="CNY", en="No product ran out of stock in this period.",
                   zh="本期没有商品缺货。")
        return
    top = est.by_product.head(15).assign(err=lambda d: (d["lost_units_high"] - d["lost_units"]) * d["lost_gmv"]
                                         / d["lost_units"].where(d["lost_units"] > 0))
    nb.show(charts.bar(top, x="product_id", y="lost_gmv", error="err", lang=nb.lang,
                       title=nb.text("GMV lost to stock-outs by product, estimated from in-stock demand (CNY), 95% CI",
                                     "各商品缺货损失的成交额（按有货日需求估算，元），95% 置信区间"),
                       units={"lost_gmv": "CNY"}))
    nb.table(est.by_product[["product_id", "category", "stockout_days", "baseline_units_per_day", "lost_units",
                             "lost_gmv"]],
             formats={"baseline_units_per_day": ".2f", "lost_units": ",.0f", "lost_gmv": ",.0f"}, rows=10)
    nb.finding("stockouts", headline=True, value=est.lost_gmv, unit="CNY",
               en=f"{est.stockout_days:,} product-days out of stock cost about {fmt_money(est.lost_gmv, 'en')} of GMV "
                  f"(95% CI {fmt_money(est.lost_gmv_low, 'en')}–{fmt_money(est.lost_gmv_high, 'en')}; "
                  f"{est.lost_units:,.0f} units, {len(est.by_product)} products).",
               zh=f"缺货共 {est.stockout_days:,} 个商品日，约损失成交额 {fmt_money(est.lost_gmv)}"
                  f"（95% 置信区间 {fmt_money(est.lost_gmv_low)}–{fmt_money(est.lost_gmv_high)}；"
                  f"{est.lost_units:,.0f} 件，涉及 {len(est.by_product)} 个商品）。")
