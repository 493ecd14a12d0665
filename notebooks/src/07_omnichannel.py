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
from workbench.topics import omnichannel as om
from workbench.topics.kpi import kpi

nb = wb.setup("07_omnichannel", globals())


def versus(change):
    """"+12.0% on the comparison period", or that there is no comparison (from the catalogue)."""
    return nb.text("word.versus", change=change) if change is not None and math.isfinite(change) else \
        nb.text("word.no_comparison")

# %%
@nb.section("mix", needs=om.NEEDS_MIX)
def mix(f):
    table = om.channel_mix(nb.data, f)
    if table.empty:
        nb.say("note.no_orders")
        return
    has_cost = om.has_product_cost(nb.data)
    if not has_cost:  # without product cost what is left is not a margin: say what it is
        table = table.rename(columns={"margin_after_fees": "after_fees_cny"})
    left = "margin_after_fees" if has_cost else "after_fees_cny"
    parts = [left, "platform_fee_cny"] + (["product_cost_cny"] if has_cost else [])
    long = table.melt(id_vars="channel", value_vars=parts, var_name="measure", value_name="amount_cny").dropna()
    nb.show(charts.bar(long, x="channel", y="amount_cny", color="measure", lang=nb.lang,
                       title=nb.text("title.mix" if has_cost else "title.mix_no_cost")))
    columns = ["channel", "orders", "gmv", "gmv_share", "growth", "discount_cny", "platform_fee_cny"]
    columns += ["product_cost_cny", "margin_after_fees", "margin_rate"] if has_cost else ["after_fees_cny"]
    nb.table(table[columns], values=["channel"],
             units={"orders": "count", "gmv": "money", "gmv_share": "share", "growth": "change",
                    "discount_cny": "money", "platform_fee_cny": "money", "product_cost_cny": "money",
                    "margin_after_fees": "money", "after_fees_cny": "money", "margin_rate": "share"})
    top = table.iloc[0]
    share = om.gmv_share(table, top["channel"])
    if not has_cost:
        nb.say("note.no_costs")
        nb.finding("channel_mix", message="finding.channel_mix_no_cost", headline=True, estimate=share,
                   change=top["growth"], channel=top["channel"], share=share, versus=versus(top["growth"]))
        return
    lean = table.sort_values("margin_rate").iloc[0]
    nb.finding("channel_mix", headline=True, estimate=share, change=top["growth"], channel=top["channel"],
               share=share, versus=versus(top["growth"]), lean=lean["channel"], margin=lean["margin_rate"],
               orders=lean["orders"])

# %%
@nb.section("multichannel", needs=om.NEEDS_CUSTOMERS)
def multichannel(f):
    share = om.multichannel_share(nb.data, f)
    nb.show(charts.bar(share.assign(channels_used=share["channels_used"].map(
                           lambda k: nb.label(f"channels_used_{min(int(k), 3)}"))),
                       x="channels_used", y="gmv", lang=nb.lang, title=nb.text("title.multichannel")))
    res = nb.memo(om.multichannel_effect, 90, 365)
    ret, val = res["retention"], res["value"]
    if ret.n_treated == 0:
        nb.say("note.too_few_multichannel")
        return
    nb.say("note.multichannel_method", landmark=90, horizon=365)
    nb.finding("multichannel_value", estimate=val.difference, spend=val.difference, retention=ret.difference,
               controls=ret.n_control)

# %%
@nb.section("o2o", needs=om.NEEDS_O2O)
def o2o(f):
    mix = om.fulfilment_mix(nb.data, f)
    nb.show(charts.bar(mix, x="fulfilment", y="orders", lang=nb.lang, title=nb.text("title.fulfilment")))
    stores = om.store_performance(nb.data, f)
    if stores.empty:
        nb.say("note.no_store_orders")
        return
    nb.table(stores[["name", "city", "orders", "gmv", "in_store", "pickup_in_store", "ship_from_store",
                     "gmv_per_sqm", "local_share"]].rename(columns={"name": "store"}),
             values=["city"], units={"orders": "count", "gmv": "money", "in_store": "count",
                                     "pickup_in_store": "count", "ship_from_store": "count",
                                     "gmv_per_sqm": "money", "local_share": "share"})
    catch = om.store_catchment(nb.data, f)
    if not catch.empty:
        nb.show(charts.bar(catch, x="store", y="share", color="city", lang=nb.lang, percent=True,
                           title=nb.text("title.catchment")))
    share = kpi(nb.data, f, "o2o_share")
    best = stores.iloc[0]
    nb.finding("o2o_share", headline=True, estimate=share.value, kpi=share, change=share.change, status=share.status,
               status_reason=share.reason, share=share.value, store=best["name"], city=best["city"],
               gmv=best["gmv"], orders=best["orders"])

# %%
@nb.section("prices", needs=om.NEEDS_PRICE)
def prices(f):
    gaps = om.price_gaps(nb.data, f)
    if gaps.empty:
        nb.say("note.no_product_sales")
        return
    flagged = gaps[gaps["flagged"]]
    shown = (flagged if len(flagged) else gaps).head(10)
    nb.show(charts.bar(shown.assign(item=shown["product"] + " · " + shown["channel"].map(nb.label)),
                       x="item", y="gap", low="gap_low", high="gap_high", color="channel", percent=True,
                       bounds=(-1.0, float("inf")), lang=nb.lang,
                       title=nb.text("title.price_gaps" if len(flagged) else "title.price_gaps_largest")))
    if len(shown) < 10:
        nb.say("note.fewer_flagged", n=len(shown))
    nb.table(shown[["product", "channel", "units", "unit_price_cny", "unit_price_cny_low", "unit_price_cny_high",
                    "reference_price", "gap", "gap_low", "gap_high"]], values=["channel"],
             units={"units": "count", "unit_price_cny": "money", "unit_price_cny_low": "money",
                    "unit_price_cny_high": "money", "reference_price": "money", "gap": "change",
                    "gap_low": "change", "gap_high": "change"})
    products = gaps["product_id"].nunique()
    if len(flagged):
        top = flagged.iloc[0]
        nb.finding("price_gap", headline=True, estimate=om.gap_estimate(top),
                   products=products, flagged=flagged["product_id"].nunique(), product=top["product"],
                   channel=top["channel"], price=top["unit_price_cny"], reference=top["reference_price"],
                   gap=om.gap_estimate(top))
    else:
        nb.finding("price_gap", message="finding.price_gap_none", value=0.0, unit="count", products=products)

# %%
@nb.section("cannibalisation", needs=om.NEEDS_CUSTOMERS)
def cannibalisation(f):
    channel = om.newest_channel(nb.data)
    picked = "word.newest_channel"
    if channel is None:
        mix = om.channel_mix(nb.data, f).dropna(subset=["growth"])
        if mix.empty:
            nb.say("note.no_channel")
            return
        channel = str(mix.sort_values("growth", ascending=False).iloc[0]["channel"])
        picked = "word.fastest_channel"
    weekly = om.weekly_channel_gmv(nb.data, f, channel)
    nb.show(charts.line(weekly, x="week", y="gmv", color="measure", lang=nb.lang,
                        title=nb.text("title.weekly", channel=nb.label(channel))))
    c = nb.memo(om.cannibalisation, channel, None, 90)  # all adopters in the history: needs full windows
    nb.say("note.cannibalisation_method", days=c.window_days)
    nb.finding("cannibalisation", estimate=c.shift, picked=nb.text(picked), channel=channel,
               adopters=c.adopters, days=c.window_days, shift=c.shift,
               reading=nb.text(f"word.reading_{c.reading}", share=c.share_taken))
