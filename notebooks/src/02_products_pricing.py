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
engine = ""               # duckdb, spark or spark:MASTER (local[N], spark://…, sc://…); empty: duckdb
findings_path = ""        # set by `workbench run`

# %%
import math

import workbench as wb
from workbench.present import charts
from workbench.present import products_pricing_charts as pp_charts
from workbench.topics import products

nb = wb.setup("02_products_pricing", globals())
PAGE = nb.page


def named(column):
    """The page's label of a column, used as the column's name in a chart (axis, legend and hover)."""
    return nb.label(column, context=PAGE)


def categories(values):
    """Categories written as a list in the page's language ("美妆、零食" / "makeup, snacks")."""
    return ("、" if nb.lang == "zh" else ", ").join(nb.label(c) for c in values)

# %%
@nb.section("discount", needs=products.NEEDS_DISCOUNT)
def discount(f):
    k = products.discount_depth(nb.data, f)
    daily = k.daily.dropna(subset=["value"]).rename(columns={"value": "discount_depth"})
    if len(daily):
        fig = charts.line(daily, x="date", y="discount_depth", lang=nb.lang, title=nb.text("title.discount"))
        nb.show(fig.update_yaxes(tickformat=".0%"))
    if k.status == "none":
        nb.finding("discount_depth", headline=True, estimate=k.value, kpi=k, status=k.status, status_reason=k.reason,
                   message="finding.discount_depth_no_comparison", reason=nb.text(f"reason.{k.reason}"))
    else:
        nb.finding("discount_depth", headline=True, estimate=k.value, kpi=k, change=k.change, delta=k.change, status=k.status,
                   status_word=nb.label(k.status))

# %%
@nb.section("abc", needs=products.NEEDS_SALES)
def abc(f):
    classes = products.abc_classes(nb.data, f, "gmv")
    if classes.empty:
        nb.say("note.no_sales")
        return
    fig = charts.line(classes, x="rank_share", y="cum_share", lang=nb.lang, title=nb.text("title.pareto"))
    nb.show(fig.update_xaxes(tickformat=".0%").update_yaxes(tickformat=".0%"))
    by_margin = products.abc_classes(nb.data, f, "margin") if nb.data.has("products", ["unit_cost_cny"]) else None
    summary = products.abc_summary(classes, "gmv", by_margin)
    nb.table(summary, values=["abc_class"], context=PAGE,
             units={"n_products": "count", "share_of_products": "share", "share_of_gmv": "share",
                    "share_a_by_margin": "share"})
    head = products.abc_headline(classes, by_margin)
    if head is None:
        return
    nb.finding("abc", headline=True, estimate=head.share_of_gmv, n_a=head.n_products,
               share_products=head.share_of_products, n_total=len(classes))
    if head.a_but_c_by_margin:
        nb.finding("abc_margin", n=head.a_but_c_by_margin)
    elif head.a_but_c_by_margin == 0:
        nb.finding("abc_margin", message="finding.abc_margin_none")

# %%
@nb.section("growth_share", needs=products.NEEDS_SALES)
def growth_share(f):
    gs = products.growth_share(nb.data, f)
    if gs.empty:
        nb.say("note.no_sales")
        return
    shown = gs.dropna(subset=["growth"])
    if len(shown):
        nb.show(pp_charts.bubble(shown, x="share", y="growth", size="gmv", color="quadrant", text="category",
                                 title=nb.text("title.growth_share"), lang=nb.lang, percent_x=True, percent_y=True))
    else:
        nb.say("note.no_comparison_growth")
    nb.table(gs, values=["category", "quadrant"], context=PAGE,
             units={"gmv": "money", "gmv_comparison": "money", "share": "share", "growth": "change"})
    if not len(shown):
        return
    top = shown.loc[shown["growth"].idxmax()]
    nb.finding("fastest_category" if top["growth"] > 0 else "least_decline", change=top["growth"],
               category=top["category"], growth=top["growth"], gmv=top["gmv"], share=top["share"])

# %%
@nb.section("launches", needs=products.NEEDS_LAUNCH)
def launches(f):
    curves = nb.memo(products.launch_curves, str(f.end), 90)
    if curves.empty:
        nb.say("note.no_launches")
        return
    bench = products.launch_benchmark(curves)
    series = named("launch_series")
    long = (bench.melt(id_vars="days_since_launch", value_vars=["q25", "median", "q75"], var_name=series,
                       value_name="cum_units")
            .assign(**{series: lambda d: d[series].map(lambda v: nb.label(v, context=PAGE))}))
    nb.show(charts.line(long, x="days_since_launch", y="cum_units", color=series, lang=nb.lang,
                        title=nb.text("title.launches")))
    head = products.launch_summary(curves, f.start)
    nb.finding("launch_curve", estimate=head.typical, days=head.days, median=head.typical, q25=head.q25,
               q75=head.q75, launches=head.launches, recent=head.recent)

# %%
@nb.section("listing", needs=products.NEEDS_LISTING)
def listing(f):
    lq = nb.memo(products.listing_quality)
    if lq is None:
        nb.say("note.few_listings", n=20)
        return
    eff = lq.effects.assign(term=lq.effects["term"].map(lambda v: nb.label(v, context=PAGE)))
    nb.show(charts.bar(eff.rename(columns={"term": named("term"), "effect": named("effect")}), x=named("term"),
                       y=named("effect"), low="effect_low", high="effect_high", bounds=(-1.0, math.inf),
                       percent=True, lang=nb.lang, title=nb.text("title.listing")))
    nb.table(eff[["term", "effect", "effect_low", "effect_high", "p_value"]], context=PAGE,
             units={"effect": "change", "effect_low": "change", "effect_high": "change", "p_value": "number"})
    best = lq.effects.loc[lq.effects["effect"].idxmax(), "term"]
    nb.finding("listing", estimate=lq.effect(best), term=nb.label(best, context=PAGE), effect=lq.effect(best))
    nb.say(f"method.{lq.method}")

# %%
@nb.section("elasticity", needs=products.NEEDS_ELASTICITY)
def elasticity(f):
    fitted = nb.memo(products.price_elasticities, f.channels)
    table = products.elasticity_table(fitted)
    if table.empty:
        nb.say("note.no_price_variation")
        return
    nb.show(charts.bar(table, x="category", y="elasticity", low="elasticity_low", high="elasticity_high",
                       lang=nb.lang, title=nb.text("title.elasticity")))
    gmv = products.product_totals(nb.data, f).groupby("category", as_index=False)["gmv"].sum()
    scen = products.price_change_scenario(table, gmv, 0.05)
    shown = table.merge(scen, on="category")[["category", "elasticity", "elasticity_low", "elasticity_high", "n_days",
                                              "units_change", "gmv_change", "gmv_change_cny"]]
    nb.table(shown, values=["category"], context=PAGE,
             units={"elasticity": "number", "elasticity_low": "number", "elasticity_high": "number",
                    "n_days": "count", "units_change": "change", "gmv_change": "change", "gmv_change_cny": "money"})
    most_x, least_x = products.elasticity_extremes(fitted)  # named only when the data tell it apart
    most = next(e for e in fitted if e.category == most_x.category)
    least = next(e for e in fitted if e.category == least_x.category)
    units, gmv_change = products.price_change_of(most, 0.05)
    nb.finding("elasticity", headline=True, estimate=most.value, category=most.category, units=units,
               gmv=gmv_change, rise=0.05, decided=most_x.decided, contenders=categories(most_x.contenders),
               message=None if most_x.decided else "finding.elasticity_undecided")
    nb.say("note.least_elastic" if least_x.decided else "note.least_elastic_undecided", least=least.category,
           least_value=least.value, contenders=categories(least_x.contenders))
    nb.say(f"method.{most.method}")

# %%
@nb.section("stockouts", needs=products.NEEDS_STOCKOUT)
def stockouts(f):
    est = nb.memo(products.stockout_losses, str(f.start), str(f.end))
    if est.stockout_days == 0:
        nb.finding("stockouts_none", estimate=est.lost_gmv)
        return
    top = est.by_product.head(10)
    nb.show(charts.bar(top.rename(columns={"product_name": named("product_name")}), x=named("product_name"),
                       y="lost_gmv", low="lost_gmv_low", high="lost_gmv_high",
                       bounds=(0.0, math.inf), lang=nb.lang, title=nb.text("title.stockouts", n=len(top))))
    if len(top) < 10:
        nb.say("note.fewer_stockouts", n=len(top))
    nb.table(top[["product_name", "category", "stockout_days", "baseline_units_per_day", "lost_units",
                  "lost_units_low", "lost_units_high", "lost_gmv"]], values=["category"], context=PAGE,
             units={"stockout_days": "count", "baseline_units_per_day": "number", "lost_units": "count",
                    "lost_units_low": "count", "lost_units_high": "count", "lost_gmv": "money"})
    nb.finding("stockouts", headline=True, estimate=est.lost_gmv, days=est.stockout_days, gmv=est.lost_gmv,
               units=est.lost_units, products=len(est.by_product))
    nb.say(f"method.{est.method}", window=est.window)
