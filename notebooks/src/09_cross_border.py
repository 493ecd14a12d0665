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
from workbench.stats.result import Estimate
from workbench.topics import crossborder as cb
from workbench.topics.kpi import kpi

nb = wb.setup("09_cross_border", globals())


def versus(change):
    """"+12.0% on the comparison period", or that there is no comparison (from the catalogue)."""
    return nb.text("word.versus", change=change) if change is not None and math.isfinite(change) else \
        nb.text("word.no_comparison")


def no_cross_border(f):
    """Say so (in the page's language) when the period and channels hold no cross-border order."""
    if cb.has_cross_border(nb.data, f):
        return False
    nb.say("note.no_cross_border")
    return True

# %%
@nb.section("markets", needs=cb.NEEDS)
def markets(f):
    gmv = kpi(nb.data, f, "cross_border_gmv")
    if no_cross_border(f):
        nb.finding("cross_border_gmv", message="finding.cross_border_none", headline=True, estimate=gmv.value, kpi=gmv,
                   change=gmv.change, status=gmv.status, status_reason=gmv.reason)
        return
    table = cb.market_totals(nb.data, f).rename(columns={"rate": "effective_rate"})
    nb.show(charts.bar(table, x="market", y="gmv_cny", color="currency", lang=nb.lang,
                       title=nb.text("title.markets")))
    nb.table(table[["market", "currency", "orders", "gmv_local", "effective_rate", "gmv_cny", "aov_local"]],
             values=["market"], units={"orders": "count", "gmv_local": "count", "effective_rate": "number",
                                       "gmv_cny": "money", "aov_local": "number"})
    top = table.iloc[0]
    nb.finding("cross_border_gmv", headline=True, estimate=gmv.value, kpi=gmv, change=gmv.change, status=gmv.status,
               status_reason=gmv.reason, gmv=gmv.value, versus=versus(gmv.change), markets=table["market"].nunique(),
               orders=table["orders"].sum(), top=top["market"], top_share=top["gmv_cny"] / table["gmv_cny"].sum())

# %%
@nb.section("fx", needs=cb.NEEDS_FX)
def fx(f):
    if no_cross_border(f):
        return
    if f.comparison() is None:
        nb.say("note.no_comparison")
        return
    d = cb.fx_decomposition(nb.data, f)
    totals = d.totals.assign(factor=lambda t: t["factor"].map(nb.label))
    nb.show(charts.bar(totals, x="factor", y="contribution_cny", lang=nb.lang, title=nb.text("title.fx_split")))
    monthly = cb.constant_fx_monthly(nb.data, f).assign(
        measure=lambda t: t["measure"].map(lambda m: nb.label(m, context="cross_border_measure")))
    nb.show(charts.line(monthly.rename(columns={"value": "amount_cny"}), x="month", y="amount_cny", color="measure",
                        lang=nb.lang,
                        title=nb.text("title.constant_fx")))
    fxc = d.fx_change.dropna(subset=["change"])
    move = ""
    if len(fxc):
        mover = fxc.loc[fxc["change"].abs().idxmax()]
        move = nb.text("word.biggest_move", currency=mover["currency"], change=mover["change"],
                       before=mover["rate_comparison"], after=mover["rate_current"])
    fx_part = d.contribution("fx")
    nb.finding("fx_effect", headline=True,
               estimate=Estimate(fx_part, method="lmdi", unit="money", min_n=0),
               change=fx_part / abs(d.gmv_change_cny) if d.gmv_change_cny else None,
               total=d.gmv_change_cny, fx=fx_part, volume=d.contribution("volume"),
               price=d.contribution("local_price"), move=move)

# %%
@nb.section("margin", needs=cb.NEEDS_COST)
def margin(f):
    if no_cross_border(f):
        return
    table = cb.landed_margin(nb.data, f)
    has_cost = cb.has_product_cost(nb.data)
    items = (["product_cost"] if has_cost else []) + ["shipping", "duty", "platform_fee", "margin"]
    long = table.melt(id_vars="market", value_vars=items, var_name="cost_item", value_name="amount_cny")
    long["cost_item"] = long["cost_item"].map(nb.label)
    nb.show(charts.bar(long, x="market", y="amount_cny", color="cost_item", lang=nb.lang,
                       title=nb.text("title.landed")))
    if not has_cost:
        nb.say("note.no_costs")
    nb.table(table[["market", "orders", "gmv_cny", "margin", "margin_rate", "margin_per_order",
                    "margin_per_order_low", "margin_per_order_high"]], values=["market"],
             units={"orders": "count", "gmv_cny": "money", "margin": "money", "margin_rate": "share",
                    "margin_per_order": "money", "margin_per_order_low": "money", "margin_per_order_high": "money"})
    enough = table[table["orders"] >= 20]
    worst = (enough if len(enough) else table).sort_values("margin_rate").iloc[0]
    total_rate = table["margin"].sum() / table["gmv_cny"].sum()
    nb.finding("landed_margin" if has_cost else "landed_margin_no_cost",
               estimate=Estimate(total_rate, n=int(table["orders"].sum()), method="total", unit="share", min_n=0),
               rate=total_rate, market=worst["market"], worst_rate=worst["margin_rate"],
               per_order=cb.margin_per_order(worst))

# %%
@nb.section("delivery", needs=cb.NEEDS_TIMES)
def delivery(f):
    if no_cross_border(f):
        return
    table = cb.delivery_by_market(nb.data, f)
    if table.empty:
        nb.say("note.no_shipments")
        return
    long = table.melt(id_vars="market", value_vars=["clearance_days", "median_days", "p90_days"],
                      var_name="measure", value_name="days").assign(measure=lambda t: t["measure"].map(nb.label))
    nb.show(charts.bar(long, x="market", y="days", color="measure", barmode="group", lang=nb.lang,
                       title=nb.text("title.delivery")))
    enough = table[table["delivered"] >= 20]
    slow = (enough if len(enough) else table).sort_values("median_days", ascending=False).iloc[0]
    rate = cb.on_time(slow)
    nb.finding("slowest_market", estimate=rate, market=slow["market"], median=slow["median_days"],
               clearance=slow["clearance_days"], on_time=rate)

# %%
@nb.section("scorecard", needs=cb.NEEDS)
def scorecard(f):
    if no_cross_border(f):
        return
    card = cb.market_scorecard(nb.data, f)
    cols = ["market", "currency", "orders", "gmv_cny", "growth", "margin_rate", "median_days", "on_time_rate",
            "return_rate", "fx_volatility"]
    nb.table(card[[c for c in cols if c in card]], values=["market"],
             units={"orders": "count", "gmv_cny": "money", "growth": "change", "margin_rate": "share",
                    "median_days": "days", "on_time_rate": "share", "return_rate": "share", "fx_volatility": "share"})
    returns = cb.returns_by_market(nb.data, f)
    if not returns.empty:
        nb.show(charts.bar(returns, x="market", y="return_rate", low="return_rate_low", high="return_rate_high",
                           bounds=(0.0, 1.0), percent=True, lang=nb.lang, title=nb.text("title.returns")))
    if "margin_rate" in card:
        enough = card[card["orders"] >= 20]
        best = (enough if len(enough) else card).sort_values("margin_rate", ascending=False).iloc[0]
        nb.finding("best_market",
                   estimate=Estimate(best["margin_rate"], n=int(best["orders"]), method="total", unit="share",
                                     min_n=0),
                   market=best["market"], rate=best["margin_rate"], gmv=best["gmv_cny"], orders=best["orders"],
                   versus=versus(best["growth"]))
