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
import warnings

import plotly.express as px
from pandas import Timedelta, Timestamp as wb_ts

import workbench as wb
from workbench.topics import campaigns
from workbench.stats import fmt_money, fmt_pct

warnings.filterwarnings("ignore", module="statsmodels")
nb = wb.setup("04_campaigns", globals())
wb_day = Timedelta(days=1)

# %%
@nb.section("calendar", en="Which campaigns fall in this period, and which are next?", zh="本期有哪些大促，下一个是什么？",
            needs=campaigns.NEEDS_CALENDAR)
def calendar(f):
    cal = campaigns.calendar(nb.data)
    if cal.empty:
        nb.say("The campaigns table is empty.", "活动表为空。")
        return
    shown = cal.assign(kind=cal["kind"].map(nb.label), end_plus=cal["end_date"] + wb_day)
    fig = px.timeline(shown, x_start="start_date", x_end="end_plus", y="kind", color="kind", text="name",
                      title=nb.text("Campaign calendar (bars span the campaign days; shaded: this period)",
                                    "大促日历（条形为活动日期，阴影为本期）"),
                      labels={"kind": nb.label("kind"), "start_date": nb.label("date")})
    fig.add_vrect(x0=str(f.start), x1=str(f.end), fillcolor="#1f6feb", opacity=0.08, line_width=0)
    fig.update_xaxes(title=nb.label("date")).update_layout(showlegend=False)
    nb.show(fig)
    in_period = campaigns.calendar(nb.data, f)
    nxt = campaigns.next_campaign(nb.data, wb_ts(f.end))
    nb.table(in_period.assign(kind=in_period["kind"].map(nb.label), start_date=in_period["start_date"].dt.date,
                              end_date=in_period["end_date"].dt.date).drop(columns=["campaign_id"]))
    nb.finding("calendar", value=len(in_period), unit="campaigns",
               en=f"{len(in_period)} campaign(s) fall in this period"
                  + (f"; the next is {nxt['name']} from {nxt['start_date']:%Y-%m-%d} ({int(nxt['days'])} days)."
                     if nxt is not None else "."),
               zh=f"本期有 {len(in_period)} 个活动"
                  + (f"；下一个是{nxt['name']}，{nxt['start_date']:%Y-%m-%d} 开始（{int(nxt['days'])} 天）。"
                     if nxt is not None else "。"))

# %%
@nb.section("uplift", en="What did each campaign add, against what would have happened without it?",
            zh="每次大促相对“没有大促”带来了多少增量？", needs=campaigns.NEEDS_UPLIFT)
def uplift(f):
    table = nb.memo(campaigns.all_uplifts, f.channels)
    if table.empty:
        nb.say("No campaign has eight weeks of clean history before it.", "没有活动在开始前具备八周的干净历史数据。")
        return
    shown = table.assign(label=table["name"], err_plus=table["incremental_high"] - table["incremental_gmv"],
                         err_minus=table["incremental_gmv"] - table["incremental_low"])
    fig = px.bar(shown, x="label", y="incremental_gmv", error_y="err_plus", error_y_minus="err_minus",
                 title=nb.text("Incremental GMV of each campaign against its counterfactual (CNY), 95% interval",
                               "各次大促相对反事实基线的增量成交额（元），95% 区间"),
                 labels={"label": nb.label("campaign"), "incremental_gmv": nb.text("Incremental GMV (CNY)", "增量成交额（元）")})
    nb.show(fig)
    cols = ["name", "start_date", "gmv", "counterfactual", "incremental_gmv", "uplift", "uplift_low", "uplift_high",
            "pull_forward", "hangover", "n_train"]
    nb.table(table[cols].assign(start_date=table["start_date"].dt.date),
             formats={"gmv": ",.0f", "counterfactual": ",.0f", "incremental_gmv": "+,.0f", "uplift": "+.0%",
                      "uplift_low": "+.0%", "uplift_high": "+.0%", "pull_forward": "+.0%", "hangover": "+.0%"})
    best = table.loc[table["incremental_gmv"].idxmax()]
    nb.finding("best_campaign", headline=True, value=best["incremental_gmv"], unit="CNY", change=best["uplift"],
               en=f"{best['name']} added the most: {fmt_money(best['incremental_gmv'], 'en')} "
                  f"({fmt_pct(best['uplift'], digits=0)} on its counterfactual, 95% interval "
                  f"{fmt_pct(best['uplift_low'], digits=0)} to {fmt_pct(best['uplift_high'], digits=0)}).",
               zh=f"增量最大的是{best['name']}：{fmt_money(best['incremental_gmv'])}（较反事实基线 "
                  f"{fmt_pct(best['uplift'], digits=0)}，95% 区间 {fmt_pct(best['uplift_low'], digits=0)}–"
                  f"{fmt_pct(best['uplift_high'], digits=0)}）。")
    dips = table["pull_forward"] < 0
    nb.finding("pull_forward", value=table["pull_forward"].median(), unit="share",
               en=f"In the week before a campaign orders typically run {fmt_pct(table['pull_forward'].median(), digits=0)} "
                  f"against the counterfactual (buyers wait for the deal; {int(dips.sum())} of {len(table)} campaigns "
                  f"show a dip), and {fmt_pct(table['hangover'].median(), digits=0)} in the week after.",
               zh=f"大促前一周订单量通常较反事实基线 {fmt_pct(table['pull_forward'].median(), digits=0)}（买家等待优惠；"
                  f"{len(table)} 次中有 {int(dips.sum())} 次出现回落），活动后一周为 {fmt_pct(table['hangover'].median(), digits=0)}。")

# %%
@nb.section("campaign_detail", en="How did the latest campaign unfold day by day?", zh="最近一次大促每天的表现如何？",
            needs=campaigns.NEEDS_UPLIFT)
def campaign_detail(f):
    table = nb.memo(campaigns.all_uplifts, f.channels)
    if table.empty:
        nb.say("No campaign can be measured.", "没有可评估的活动。")
        return
    inside = table[table["start_date"] <= wb_ts(f.end)]
    pick = (inside if len(inside) else table).sort_values("start_date").iloc[-1]
    u = nb.memo(campaigns.campaign_uplift, pick["campaign_id"], f.channels)
    d = u.daily
    fig = px.line(d.melt(id_vars=["date"], value_vars=["actual", "counterfactual"], var_name="series", value_name="orders")
                  .assign(series=lambda x: x["series"].map(nb.label)), x="date", y="orders", color="series",
                  title=nb.text(f"{u.name}: orders per day against the counterfactual, 95% band (livestream orders "
                                f"left out)", f"{u.name}：每日订单量与反事实基线（95% 区间，不含直播订单）"),
                  labels={"orders": nb.text("Orders per day", "每日订单数"), "date": nb.label("date"), "series": ""})
    fig.add_scatter(x=list(d["date"]) + list(d["date"][::-1]), y=list(d["upper"]) + list(d["lower"][::-1]),
                    fill="toself", fillcolor="rgba(232,89,12,0.15)", line=dict(width=0), name="95%",
                    hoverinfo="skip")
    fig.add_vrect(x0=u.start_date, x1=u.end_date + wb_day, fillcolor="#2f9e44", opacity=0.08, line_width=0)
    nb.show(fig)
    nb.finding("latest_campaign", value=u.incremental_gmv, unit="CNY", change=u.uplift,
               en=f"{u.name} ({u.start_date:%Y-%m-%d} to {u.end_date:%Y-%m-%d}) made {fmt_money(u.gmv, 'en')}, "
                  f"{fmt_money(u.incremental_gmv, 'en')} above its counterfactual (95% interval "
                  f"{fmt_money(u.incremental_low, 'en')} to {fmt_money(u.incremental_high, 'en')}); the week before ran "
                  f"{fmt_pct(u.pull_forward, digits=0)} ({fmt_pct(u.pull_forward_low, digits=0)} to "
                  f"{fmt_pct(u.pull_forward_high, digits=0)}).",
               zh=f"{u.name}（{u.start_date:%Y-%m-%d} 至 {u.end_date:%Y-%m-%d}）成交 {fmt_money(u.gmv)}，高于反事实基线 "
                  f"{fmt_money(u.incremental_gmv)}（95% 区间 {fmt_money(u.incremental_low)}–{fmt_money(u.incremental_high)}）；"
                  f"活动前一周 {fmt_pct(u.pull_forward, digits=0)}（{fmt_pct(u.pull_forward_low, digits=0)}–"
                  f"{fmt_pct(u.pull_forward_high, digits=0)}）。")

# %%
@nb.section("next_campaign", en="What should the next campaign plan for?", zh="下一次大促需要准备多少？",
            needs=campaigns.NEEDS_UPLIFT)
def next_campaign(f):
    def plan_next(ds, channels):  # the measured uplifts come from the memo of the section above
        nxt = campaigns.next_campaign(ds)
        return None if nxt is None else campaigns.plan_campaign(ds, nb.memo(campaigns.all_uplifts, channels), nxt)

    plan = nb.memo(plan_next, ())
    if plan is None:
        nb.say("No upcoming campaign to plan, or no past campaign to learn from.", "没有即将到来的活动或可参考的历史活动。")
        return
    d = plan.daily
    fig = px.line(d, x="date", y="gmv", title=nb.text(
        f"{plan.name}: forecast GMV per day at a planned uplift of {fmt_pct(plan.planned_uplift, digits=0)}, 95% "
        f"prediction interval (CNY)", f"{plan.name}：计划增量 {fmt_pct(plan.planned_uplift, digits=0)} 下的每日成交额预测"
        f"（95% 预测区间，元）"), labels={"gmv": nb.text("GMV (CNY)", "成交额（元）"), "date": nb.label("date")})
    fig.add_scatter(x=list(d["date"]) + list(d["date"][::-1]), y=list(d["gmv_high"]) + list(d["gmv_low"][::-1]),
                    fill="toself", fillcolor="rgba(31,111,235,0.15)", line=dict(width=0), name="95%")
    nb.show(fig)
    nb.table(d.assign(date=d["date"].dt.date)[["date", "gmv", "gmv_low", "gmv_high", "orders", "orders_low",
                                               "orders_high", "units", "agents"]],
             formats={c: ",.0f" for c in ["gmv", "gmv_low", "gmv_high", "orders", "orders_low", "orders_high", "units"]})
    nb.say(f"Assumptions: {plan.assumptions}.", f"假设：{plan.assumptions}。")
    nb.finding("next_campaign_plan", value=plan.total_gmv, unit="CNY",
               en=f"{plan.name} ({plan.start_date:%Y-%m-%d} to {plan.end_date:%Y-%m-%d}) is forecast at "
                  f"{fmt_money(plan.total_gmv, 'en')} (95% PI {fmt_money(plan.total_gmv_low, 'en')}–"
                  f"{fmt_money(plan.total_gmv_high, 'en')}, uplift from {plan.uplift_source}); stock "
                  f"{plan.units_needed:,.0f} units and staff up to {plan.peak_agents} service agents a day.",
               zh=f"{plan.name}（{plan.start_date:%Y-%m-%d} 至 {plan.end_date:%Y-%m-%d}）预计成交 {fmt_money(plan.total_gmv)}"
                  f"（95% 预测区间 {fmt_money(plan.total_gmv_low)}–{fmt_money(plan.total_gmv_high)}）；"
                  f"需备货 {plan.units_needed:,.0f} 件，客服高峰每日 {plan.peak_agents} 人。")
