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
from workbench.topics import service

nb = wb.setup("05_customer_service", globals())

# %% [markdown]
# Service targets used below: first response within 60 minutes, resolution within 24 hours; a score
# of 1–3 counts as not satisfied (CSAT counts 4–5 as satisfied). Staffing assumes 10 minutes of agent work per ticket and a target
# of 80% of tickets answered within 5 minutes (the data holds no handling time: change these in
# `service.staffing` if yours differ).

# %%
@nb.section("volume", en="How many tickets come in, about what, and when?",
            zh="工单有多少、关于什么、何时进来？", needs=service.NEEDS)
def volume(f):
    vol = service.volume(nb.data, f, "category")
    if vol.empty:
        nb.say("No tickets in this period.", "本期没有工单。")
        return
    nb.show(charts.bar(vol.assign(category=vol["category"].map(nb.label)), x="category", y="tickets", lang=nb.lang,
                       title=nb.text("Tickets by category in the period", "本期各类别工单数")))
    prof = service.hourly_profile(nb.data, f)
    nb.show(charts.heatmap(prof, x="hour", y="weekday", z="tickets_per_hour", lang=nb.lang, fmt=".1f",
                           title=nb.text("Average tickets per hour by weekday (0 = Monday) and hour of day",
                                         "按星期（0 = 周一）和小时的平均每小时工单数")))
    total = int(vol["tickets"].sum())
    top = vol.iloc[0]
    per = (f", {total / top['tickets'] * top['per_1000_orders']:.1f} per 1,000 orders"
           if "per_1000_orders" in vol and top["per_1000_orders"] == top["per_1000_orders"] else "")
    per_zh = (f"，每千单 {total / top['tickets'] * top['per_1000_orders']:.1f} 张"
              if "per_1000_orders" in vol and top["per_1000_orders"] == top["per_1000_orders"] else "")
    nb.finding("tickets", value=total, unit="tickets",
               en=f"{total:,} tickets in {f.days} days{per}; the largest category is {nb.label(top['category'])} "
                  f"({top['share']:.1%}).",
               zh=f"{f.days} 天共 {total:,} 张工单{per_zh}；最多的类别是{nb.label(top['category'])}（{top['share']:.1%}）。")


# %%
@nb.section("times", en="How quickly are tickets answered and resolved?",
            zh="工单响应和解决有多快？", needs=service.NEEDS_TIMES)
def times(f):
    t = service.response_times(nb.data, f, "category")
    if t.empty:
        nb.say("No answered tickets in this period.", "本期没有已响应的工单。")
        return
    res = t[t["measure"] == "resolution_hours"]
    long = res.melt(id_vars=["category"], value_vars=["p50", "p90"], var_name="statistic", value_name="hours")
    hi = res.melt(id_vars=["category"], value_vars=["p50_high", "p90_high"], value_name="high")["high"].to_numpy()
    long = long.assign(err=hi - long["hours"].to_numpy(), category=long["category"].map(nb.label),
                       statistic=long["statistic"].map({"p50": nb.label("median"), "p90": nb.label("p90")}))
    nb.show(charts.bar(long, x="category", y="hours", color="statistic", barmode="group", error="err", lang=nb.lang,
                       units={"hours": "h"},
                       title=nb.text("Resolution time by category: median and 90th percentile (hours, 95% intervals)",
                                     "各类别工单解决时长：中位数与 90 分位数（小时，含 95% 置信区间）")))
    nb.table(t.assign(category=t["category"].map(nb.label), measure=t["measure"].map(nb.label))
             [["category", "measure", "n", "p50", "p50_low", "p50_high", "p90", "p90_low", "p90_high", "open"]],
             formats={c: ".1f" for c in ("p50", "p50_low", "p50_high", "p90", "p90_low", "p90_high")}, rows=14)
    slow = service.slowest_category(t)
    if slow is None:
        return
    nb.finding("slow_category", headline=True, value=slow.median_hours, unit="hours",
               en=f"{nb.label(slow.category)} tickets take longest to resolve: median {slow.median_hours:.1f} h "
                  f"(95% CI {slow.median_low:.1f}–{slow.median_high:.1f}), 90th percentile {slow.p90_hours:.1f} h "
                  f"({slow.p90_low:.1f}–{slow.p90_high:.1f}), n = {slow.n:,}; the next slowest category's median is "
                  f"{slow.others_median_hours:.1f} h.",
               zh=f"{nb.label(slow.category)}类工单解决最慢：中位数 {slow.median_hours:.1f} 小时（95% 置信区间 "
                  f"{slow.median_low:.1f}–{slow.median_high:.1f}），90 分位数 {slow.p90_hours:.1f} 小时"
                  f"（{slow.p90_low:.1f}–{slow.p90_high:.1f}），n = {slow.n:,}；其次的类别中位数为 "
                  f"{slow.others_median_hours:.1f} 小时。")


# %%
@nb.section("levels", en="Do we meet our service targets, and are customers satisfied?",
            zh="服务目标是否达成，客户是否满意？", needs=service.NEEDS_CSAT)
def levels(f):
    lv = service.service_levels(nb.data, f, "channel")
    if lv.empty:
        nb.say("No tickets in this period.", "本期没有工单。")
        return
    long = lv.melt(id_vars=["channel"], value_vars=["sla_rate", "csat", "escalation_rate"], var_name="statistic",
                   value_name="rate")
    hi = lv.melt(id_vars=["channel"], value_vars=["sla_rate_high", "csat_high", "escalation_rate_high"],
                 value_name="high")["high"].to_numpy()
    long = long.assign(err=hi - long["rate"].to_numpy(), statistic=long["statistic"].map(nb.label))
    nb.show(charts.bar(long, x="channel", y="rate", color="statistic", barmode="group", error="err", lang=nb.lang,
                       units={"rate": "share"},
                       title=nb.text("First response within 60 min, CSAT (4–5) and escalation rate by channel, 95% intervals",
                                     "各渠道 60 分钟内首次响应率、满意率（4–5 分）和升级率（含 95% 置信区间）")))
    tot = lv[["tickets", "responded_in_time", "rated", "satisfied", "escalations"]].sum()
    sla_lo, sla_hi = service.wilson(int(tot["responded_in_time"]), int(tot["tickets"]))
    cs_lo, cs_hi = service.wilson(int(tot["satisfied"]), int(tot["rated"]))
    sla = tot["responded_in_time"] / tot["tickets"]
    csat = tot["satisfied"] / tot["rated"] if tot["rated"] else float("nan")
    nb.finding("sla", headline=True, value=sla, unit="share",
               en=f"{sla:.1%} of tickets got a first answer within 60 minutes (95% CI {sla_lo:.1%}–{sla_hi:.1%}, "
                  f"n = {int(tot['tickets']):,}); CSAT {csat:.1%} ({cs_lo:.1%}–{cs_hi:.1%}, n = {int(tot['rated']):,} rated).",
               zh=f"{sla:.1%} 的工单在 60 分钟内得到首次响应（95% 置信区间 {sla_lo:.1%}–{sla_hi:.1%}，"
                  f"n = {int(tot['tickets']):,}）；满意率 {csat:.1%}（{cs_lo:.1%}–{cs_hi:.1%}，n = {int(tot['rated']):,} 张已评价）。")


# %%
@nb.section("drivers", en="What makes customers unhappy with service?",
            zh="什么让客户对服务不满意？", needs=service.NEEDS_DRIVERS)
def drivers(f):
    model = nb.memo(service.dissatisfaction_drivers, f)
    nb.show(charts.odds_ratio_chart(
        model.odds_ratios, lang=nb.lang,
        title=nb.text(f"Odds of a 1–3 score by category and channel (vs {nb.label(model.baseline_category)}, "
                      f"{nb.label(model.baseline_channel)}) and per doubling of waiting times, 95% intervals",
                      f"各类别、渠道（相对于{nb.label(model.baseline_category)}、{nb.label(model.baseline_channel)}）"
                      "及等待时间每翻一倍对 1–3 分（不满意）的优势比（含 95% 置信区间）")))
    ors = model.odds_ratios.set_index("term")
    top = model.odds_ratios[model.odds_ratios["kind"] != "waiting"].iloc[0]
    wait, res = ors.loc["log2_wait_hours"], ors.loc["log2_resolution_hours"]
    nb.finding("driver", value=res["odds_ratio"], unit="odds_ratio",
               en=f"Slow resolution drives dissatisfaction: each doubling of the resolution time multiplies the odds "
                  f"of a 1–3 score by {res['odds_ratio']:.2f} (95% CI {res['low']:.2f}–{res['high']:.2f}), a doubling "
                  f"of the first-response wait by {wait['odds_ratio']:.2f} ({wait['low']:.2f}–{wait['high']:.2f}); "
                  f"at equal times, {nb.label(top['term'])} has the highest odds against {nb.label(model.baseline_category)}"
                  f"/{nb.label(model.baseline_channel)}: {top['odds_ratio']:.2f} ({top['low']:.2f}–{top['high']:.2f}); "
                  f"n = {model.n:,} rated tickets over the last year.",
               zh=f"解决慢是不满意的主因：解决时长每翻一倍，1–3 分的优势乘以 {res['odds_ratio']:.2f}（95% 置信区间 "
                  f"{res['low']:.2f}–{res['high']:.2f}），首次响应等待每翻一倍乘以 {wait['odds_ratio']:.2f}"
                  f"（{wait['low']:.2f}–{wait['high']:.2f}）；在时长相同时，{nb.label(top['term'])}相对"
                  f"{nb.label(model.baseline_category)}/{nb.label(model.baseline_channel)}的优势比最高："
                  f"{top['odds_ratio']:.2f}（{top['low']:.2f}–{top['high']:.2f}）；近一年 n = {model.n:,} 张已评价工单。")


# %%
@nb.section("staffing", en="How many agents do we need at each hour of the day?",
            zh="每个时段需要多少客服？", needs=service.NEEDS)
def staffing(f):
    plan = service.staffing(nb.data, f)
    p = plan.plan
    nb.show(charts.bar(p, x="hour", y="agents", lang=nb.lang, text="agents",
                       title=nb.text(f"Agents needed per hour of the busiest weekday (Erlang C: 80% answered within "
                                     f"{plan.target_minutes:.0f} min, {plan.handle_minutes:.0f} min per ticket)",
                                     f"最忙工作日各时段所需客服人数（Erlang C：80% 工单 {plan.target_minutes:.0f} 分钟内响应，"
                                     f"每单处理 {plan.handle_minutes:.0f} 分钟）")))
    nb.show(charts.line(p, x="hour", y="tickets_per_hour", lang=nb.lang,
                        title=nb.text(f"Expected tickets per hour on the busiest weekday of the next {plan.forecast_weeks} weeks",
                                      f"未来 {plan.forecast_weeks} 周最忙工作日每小时预计工单数")))
    peak = p.sort_values("agents").iloc[-1]
    nb.finding("peak_agents", value=peak["agents"], unit="agents",
               en=f"The busiest hour ({int(peak['hour'])}:00) needs {int(peak['agents'])} agent(s) for "
                  f"{peak['tickets_per_hour']:.1f} tickets an hour expected ({int(peak['agents_high'])} if arrivals reach "
                  f"the upper 80% band of {peak['high']:.0f}); forecast from {plan.n:,} tickets of the last {plan.weeks} weeks.",
               zh=f"最忙时段（{int(peak['hour'])}:00）预计每小时 {peak['tickets_per_hour']:.1f} 张工单，需要 "
                  f"{int(peak['agents'])} 名客服（若达到 80% 上限 {peak['high']:.0f} 张则需 {int(peak['agents_high'])} 名）；"
                  f"预测基于近 {plan.weeks} 周 {plan.n:,} 张工单。")
