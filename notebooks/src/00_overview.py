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
threshold_pct = 5.0       # a move beyond this many per cent in the bad direction turns amber (twice: red)
findings_path = ""        # set by `workbench run`

# %%
from IPython.display import HTML, display

import workbench as wb
from workbench.present import charts
from workbench.topics import overview
from workbench.text.pages import TOPICS, topic

nb = wb.setup("00_overview", globals())
threshold = nb.params["threshold_pct"]
# batch: the other notebooks' findings lie beside this one's; dashboard: none, compute directly
records = overview.read_findings(overview.findings_folder(nb.params["findings_path"]))
static_links = bool(records) or nb.batch
nb.say(f"Source: {'the findings recorded by ' + str(len(records)) + ' topic notebooks in this run' if records else 'computed directly from the data'}; "
       f"status turns amber beyond a {threshold:g}% move in the bad direction and red beyond {2 * threshold:g}%.",
       f"来源：{'本次运行中 ' + str(len(records)) + ' 个主题笔记本记录的发现' if records else '直接由数据计算'}；"
       f"指标朝不利方向变化超过 {threshold:g}% 为黄色，超过 {2 * threshold:g}% 为红色。")

# %%
@nb.section("headlines", en="How are the headline numbers of every topic moving?", zh="各主题的核心指标走势如何？")
def headlines(f):
    direct = nb.memo(overview.direct_headlines, f, threshold)
    sparks = dict(zip(direct["topic"], direct["spark"]))
    table = overview.recorded_headlines(records, threshold) if records else direct
    if table.empty:
        nb.say("No headline numbers: the data hold none of the tables the topics need.",
               "暂无核心指标：数据中没有各主题所需的表。")
        return
    display(HTML(overview.headline_tiles_html(table, nb.lang, static_links, sparks)))
    nb.show(charts.status_chart(table, lang=nb.lang,
                                  title=nb.text("Change of each headline number on the comparison period (%), "
                                                "coloured by status", "各核心指标较对比期的变化（%，颜色表示状态）")))
    counts = table["status"].value_counts()
    red, amber, green = (int(counts.get(s, 0)) for s in ("red", "amber", "green"))
    worst = table[table["status"] == "red"]
    names = ", ".join(f"{topic(t).title(nb.lang)} · {nb.label(m)}" for t, m in
                      zip(worst["topic"], worst["metric"]))
    nb.finding("status", headline=True, value=red, unit="red", status="red" if red else "amber" if amber else "green",
               en=f"Of {len(table)} headline numbers, {red} are red, {amber} amber and {green} green "
                  f"(threshold {threshold:g}%)" + (f"; red: {names}." if red else "."),
               zh=f"{len(table)} 个核心指标中红色 {red} 个、黄色 {amber} 个、绿色 {green} 个（阈值 {threshold:g}%）"
                  + (f"；红色：{names}。" if red else "。"))


# %%
@nb.section("attention", en="What needs attention now?", zh="现在需要关注什么？")
def attention(f):
    alerts = overview.recorded_alerts(records) if records else nb.memo(overview.direct_alerts, f, nb.lang)
    if alerts.empty:
        nb.finding("alerts", value=0, unit="alerts", status="green",
                   en="No topic raised an alert for the period.", zh="本期各主题均无预警。")
        return
    shown = alerts.assign(topic=alerts["topic"].map(lambda t: topic(t).title(nb.lang)),
                          status=alerts["status"].map(nb.label))[["topic", "status", "text"]]
    nb.table(shown.rename(columns={"text": "finding"}), rows=30)
    top = " ".join(f"[{topic(t).title(nb.lang)}] {x}" for t, x in zip(alerts["topic"].head(6),
                                                                               alerts["text"].head(6)))
    n_red = int((alerts["status"] == "red").sum())
    nb.finding("alerts", headline=True, value=n_red, unit="alerts", status="red" if n_red else "amber",
               en=f"{n_red} red and {len(alerts) - n_red} amber alerts across the topics. {top}",
               zh=f"各主题共 {n_red} 项红色预警、{len(alerts) - n_red} 项黄色关注。{top}")


# %%
@nb.section("topics", en="What did each topic find?", zh="各主题有哪些主要发现？")
def topics(f):
    found = overview.top_findings(records, per_topic=3, threshold_pct=threshold)
    display(HTML(overview.topics_html(found, nb.lang, static_links, set(records))))
    others = [t for t in TOPICS if t != overview.OVERVIEW]
    missing = [t for t in others if t not in records]
    firsts = found.drop_duplicates("topic")
    lead = " ".join(f"[{topic(t).title(nb.lang)}] {x}" for t, x in zip(firsts["topic"], firsts["text"]))
    nb.finding("topics", value=len(others) - len(missing), unit="topics",
               en=(f"{len(others) - len(missing)} of {len(others)} topics recorded findings in this run"
                   + (f" (not run: {', '.join(missing)})" if missing else "") + f". Top finding of each: {lead}")
               if records else f"{len(others)} topics, each linked to its dashboard.",
               zh=(f"本次运行 {len(others)} 个主题中有 {len(others) - len(missing)} 个记录了发现"
                   + (f"（未运行：{'、'.join(missing)}）" if missing else "") + f"。各主题首要发现：{lead}")
               if records else f"共 {len(others)} 个主题，均可链接到各自的看板。")
